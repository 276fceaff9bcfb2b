// Package baotest gives tests the real OpenBao (Vault's API-compatible fork) that
// scripts/test starts, and private OpenBao servers of their own for fault tests.
//
// The shared server is a dev-mode server with TLS (see testenv.VaultAddrVar for what it
// has configured). A test that configures anything on it mounts its own auth method or
// engine at a random path with [EnableAuth] or [Mount], removed when the test ends, so
// tests stay independent and can run in parallel. A test that stops, seals or restarts
// a server starts its own with [StartServer].
//
// Root tokens, unseal keys and passwords are secrets: nothing here prints them.
package baotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/ztkit/ztkit/internal/test/testenv"
)

// cleanupTimeout bounds each request made while a test's cleanup runs.
const cleanupTimeout = 10 * time.Second

// Config returns a client configuration for the shared test server: its address and
// the CA that signed its certificate, no token. Tests that log in with their own
// credentials (a TLS client certificate, a JWT, an AppRole secret) start from it.
// It skips the test, or fails it under CI=true, when scripts/test started no server.
func Config(tb testing.TB) *api.Config {
	tb.Helper()
	addr := testenv.Require(tb, testenv.VaultAddrVar)
	caCert := testenv.Require(tb, testenv.VaultCACertVar)
	return newConfig(tb, addr, caCert)
}

// newConfig returns a client configuration for the server at addr whose certificate the
// CA in the PEM file caCert signed, whatever VAULT_* variables the environment holds.
func newConfig(tb testing.TB, addr, caCert string) *api.Config {
	tb.Helper()
	cfg := api.DefaultConfig() // reads VAULT_* variables: override what matters
	if cfg.Error != nil {
		tb.Fatalf("baotest: vault/api default config: %v", cfg.Error)
	}
	cfg.Address = addr
	cfg.AgentAddress = "" // VAULT_AGENT_ADDR would take precedence over Address
	if err := cfg.ConfigureTLS(&api.TLSConfig{CACert: caCert}); err != nil {
		tb.Fatalf("baotest: TLS configuration for %s: %v", addr, err)
	}
	return cfg
}

// Admin returns a client of the shared test server holding its root token. Each call
// returns a new client, which the test may change (namespace, headers, token) freely.
// It skips the test, or fails it under CI=true, when scripts/test started no server.
func Admin(tb testing.TB) *api.Client {
	tb.Helper()
	cfg := Config(tb)
	token := testenv.Require(tb, testenv.VaultTokenVar)
	return newClient(tb, cfg, token)
}

// newClient returns a client of cfg holding token, whatever VAULT_* variables the
// environment holds (api.NewClient reads VAULT_TOKEN and others).
func newClient(tb testing.TB, cfg *api.Config, token string) *api.Client {
	tb.Helper()
	c, err := api.NewClient(cfg)
	if err != nil {
		tb.Fatalf("baotest: new client of %s: %v", cfg.Address, err)
	}
	c.SetToken(token)
	c.ClearNamespace()
	return c
}

// EnableAuth enables the auth method kind ("cert", "jwt", "approle", ...) at a new
// random path on the server of admin, and disables it when the test ends. It returns
// the path ("jwt-0f1e2d3c"); the method's API lives under "auth/<path>/", its login at
// "auth/<path>/login".
func EnableAuth(tb testing.TB, admin *api.Client, kind string) string {
	tb.Helper()
	path := uniquePath(tb, kind)
	err := admin.Sys().EnableAuthWithOptionsWithContext(context.Background(), path, &api.EnableAuthOptions{Type: kind})
	if err != nil {
		tb.Fatalf("baotest: enable auth method %s at %s: %v", kind, path, err)
	}
	undo := snapshot(tb, admin)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := undo.Sys().DisableAuthWithContext(ctx, path); err != nil {
			tb.Logf("baotest: disable auth method at %s: %v", path, err)
		}
	})
	return path
}

// Mount enables the secrets engine kind ("transit", "database", "kv", ...; "kv-v2" for
// KV version 2) at a new random path on the server of admin, and disables it when the
// test ends, which revokes every lease issued under it. It returns the path
// ("transit-0f1e2d3c"). A KV v2 mount is ready for writes when Mount returns.
func Mount(tb testing.TB, admin *api.Client, kind string) string {
	tb.Helper()
	in := &api.MountInput{Type: kind}
	if kind == "kv-v2" {
		in = &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}
	}
	path := uniquePath(tb, kind)
	ctx := context.Background()
	if err := admin.Sys().MountWithContext(ctx, path, in); err != nil {
		tb.Fatalf("baotest: mount secrets engine %s at %s: %v", kind, path, err)
	}
	undo := snapshot(tb, admin)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := undo.Sys().UnmountWithContext(ctx, path); err != nil {
			tb.Logf("baotest: unmount %s: %v", path, err)
		}
	})
	if kind == "kv-v2" {
		waitKVv2(tb, admin, path)
	}
	return path
}

// waitKVv2 waits until the new KV v2 mount at path has finished setting itself up:
// until then it refuses writes ("upgrading from non-versioned to versioned data").
func waitKVv2(tb testing.TB, admin *api.Client, path string) {
	tb.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := admin.Logical().ReadWithContext(ctx, path+"/config")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("baotest: KV v2 mount %s not ready: %v", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// RedisDatabase mounts the database engine at a new random path on the server of admin
// (see [Mount]) and configures its connection "redis" to the Redis in
// testenv.VaultRedisAddrVar, through OpenBao's built-in redis-database-plugin, for any
// role. It returns the mount path. It works on the shared server and on private ones.
func RedisDatabase(tb testing.TB, admin *api.Client) string {
	tb.Helper()
	addr := testenv.Require(tb, testenv.VaultRedisAddrVar)
	password := testenv.Require(tb, testenv.VaultRedisPasswordVar)
	host, portStr, ok := strings.Cut(addr, ":")
	port, err := strconv.Atoi(portStr)
	if !ok || err != nil {
		tb.Fatalf("baotest: %s is not host:port", testenv.VaultRedisAddrVar)
	}
	mount := Mount(tb, admin, "database")
	_, err = admin.Logical().WriteWithContext(context.Background(), mount+"/config/redis", map[string]any{
		"plugin_name":   "redis-database-plugin",
		"host":          host,
		"port":          port,
		"username":      "default",
		"password":      password,
		"tls":           false,
		"allowed_roles": "*",
	})
	if err != nil {
		// The error names the connection, never the password: OpenBao does not echo it.
		tb.Fatalf("baotest: configure %s/config/redis: %v", mount, err)
	}
	return mount
}

// RedisRole creates a role on the database engine at mount (the shared "database" or one
// from [RedisDatabase]) whose credentials are Redis users allowed every command on every
// key, with leases of ttl, renewable up to maxTTL. It returns the role's name: its
// credentials are read at "<mount>/creds/<name>". The role is deleted when the test ends.
func RedisRole(tb testing.TB, admin *api.Client, mount string, ttl, maxTTL time.Duration) string {
	tb.Helper()
	rules, err := json.Marshal([]string{"~*", "+@all"})
	if err != nil {
		tb.Fatalf("baotest: %v", err)
	}
	name := uniquePath(tb, "redis")
	path := mount + "/roles/" + name
	_, err = admin.Logical().WriteWithContext(context.Background(), path, map[string]any{
		"db_name":             "redis",
		"creation_statements": []string{string(rules)},
		"default_ttl":         int(ttl.Seconds()),
		"max_ttl":             int(maxTTL.Seconds()),
	})
	if err != nil {
		tb.Fatalf("baotest: create role %s: %v", path, err)
	}
	undo := snapshot(tb, admin)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if _, err := undo.Logical().DeleteWithContext(ctx, path); err != nil {
			tb.Logf("baotest: delete role %s: %v", path, err)
		}
	})
	return name
}

// snapshot returns a copy of admin as it is now (token, namespace), with no retries, for
// a cleanup: the test may change admin's token later, or stop its server.
func snapshot(tb testing.TB, admin *api.Client) *api.Client {
	tb.Helper()
	c, err := admin.Clone()
	if err != nil {
		tb.Fatalf("baotest: clone client: %v", err)
	}
	c.SetToken(admin.Token())
	c.SetNamespace(admin.Namespace())
	c.SetMaxRetries(0)
	return c
}

// uniquePath returns prefix followed by a dash and 8 random hex digits.
func uniquePath(tb testing.TB, prefix string) string {
	tb.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("baotest: random path: %v", err)
	}
	return fmt.Sprintf("%s-%s", prefix, hex.EncodeToString(b[:]))
}
