// Package redistest starts private redis-server processes for tests that
// stop, freeze or restart Redis, which they must not do to the shared test
// server of scripts/test.
package redistest

import (
	"context"
	"crypto/rand"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/testenv"
)

// Server is a private redis-server process: no persistence, bound to
// loopback, its files in the test's temporary directory.
type Server struct {
	// Addr is the server's host:port.
	Addr string

	cmd    *exec.Cmd
	mu     sync.Mutex
	killed bool
}

// Start starts a private redis-server (the binary in testenv.RedisServerVar)
// on addr, or on a free loopback port when addr is empty, waits until it
// answers PING and kills it when the test ends. Starting on the address of a
// killed server restarts "the same" Redis for a client that kept its address.
func Start(tb testing.TB, addr string) *Server {
	tb.Helper()
	bin := testenv.Require(tb, testenv.RedisServerVar)
	if addr == "" {
		addr = ClosedPort(tb)
	}
	_, port, err := net.SplitHostPort(addr)
	require.NoError(tb, err)
	cmd := exec.Command(bin,
		"--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", tb.TempDir(),
	)
	require.NoError(tb, cmd.Start())
	s := &Server{Addr: addr, cmd: cmd}
	tb.Cleanup(s.Kill)

	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer func() { _ = client.Close() }()
	require.Eventually(tb, func() bool {
		return client.Ping(context.Background()).Err() == nil
	}, 10*time.Second, 20*time.Millisecond, "private redis-server on %s did not answer PING", addr)
	return s
}

// Kill stops the server for good (SIGKILL, which also ends a stopped
// process) and waits for it to exit. It can be called more than once.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killed {
		return
	}
	s.killed = true
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// Signal sends sig to the server (SIGSTOP freezes it: connections are
// accepted and never answered; SIGCONT resumes it), unless it was killed.
func (s *Server) Signal(tb testing.TB, sig syscall.Signal) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killed {
		return
	}
	require.NoError(tb, s.cmd.Process.Signal(sig))
}

// ClosedPort returns a loopback address nothing listens on (it was free a
// moment ago).
func ClosedPort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	addr := l.Addr().String()
	require.NoError(tb, l.Close())
	return addr
}

// Client returns a client for the Redis at addr, closed when the test ends.
func Client(tb testing.TB, addr string) *redis.Client {
	tb.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr})
	tb.Cleanup(func() { _ = client.Close() })
	return client
}

// Shared returns a client for the shared Redis of scripts/test
// (testenv.RedisAddrVar), closed when the test ends: without one the test
// skips, or fails under CI=true.
func Shared(tb testing.TB) *redis.Client {
	tb.Helper()
	client := Client(tb, testenv.Require(tb, testenv.RedisAddrVar))
	require.NoError(tb, client.Ping(context.Background()).Err(), "the shared test Redis does not answer")
	return client
}

// Prefix returns a key prefix no other test (or run) uses, and deletes the
// keys under it through client when the test ends.
func Prefix(tb testing.TB, client *redis.Client) string {
	tb.Helper()
	prefix := "ztkit-test:" + tb.Name() + ":" + rand.Text() + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		if keys, err := client.Keys(ctx, prefix+"*").Result(); err == nil && len(keys) > 0 {
			_ = client.Del(ctx, keys...).Err()
		}
	})
	return prefix
}
