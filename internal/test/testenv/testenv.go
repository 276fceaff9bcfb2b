// Package testenv tells tests where the real servers started by scripts/test listen.
//
// A test that needs a server asks for its address here. When the variable that
// scripts/test sets is missing, the test is skipped on a developer's machine and
// fails under CI=true, so a broken test rig can never pass CI by skipping.
package testenv

import (
	"os"
	"testing"
)

// RedisAddrVar names the environment variable holding the test Redis address (host:port).
const RedisAddrVar = "ZTKIT_TEST_REDIS_ADDR"

// RedisServerVar names the environment variable holding the path of redis-server,
// for tests that start and stop a private Redis of their own.
const RedisServerVar = "ZTKIT_TEST_REDIS_SERVER"

// Require returns the value of the environment variable name. When it is unset or
// empty, Require fails the test under CI=true and skips it otherwise.
func Require(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s is not set under CI=true: run the tests through ./scripts/test", name)
	}
	tb.Skipf("%s is not set: run ./scripts/test to start the real server this test needs", name)
	return ""
}
