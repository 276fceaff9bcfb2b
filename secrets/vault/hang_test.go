package vault_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/vault"
)

// blackHole is a TCP proxy to the shared test Vault that can stop answering:
// while it hangs, it holds every connection open and silent, as a network
// that drops packets does (no refusal, no reset, nothing until a timeout).
type blackHole struct {
	ln      net.Listener
	target  string
	hanging atomic.Bool

	mu    sync.Mutex
	conns map[net.Conn]struct{} // every open connection, both sides
}

func startBlackHole(t *testing.T) *blackHole {
	t.Helper()
	u, err := url.Parse(testenv.Require(t, testenv.VaultAddrVar))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b := &blackHole{ln: ln, target: u.Host, conns: map[net.Conn]struct{}{}}
	go b.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		b.closeAll()
	})
	return b
}

func (b *blackHole) addr() string { return "https://" + b.ln.Addr().String() }

func (b *blackHole) track(c net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.conns[c] = struct{}{}
}

func (b *blackHole) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.conns {
		_ = c.Close()
	}
	clear(b.conns)
}

func (b *blackHole) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.track(c)
		if b.hanging.Load() {
			continue // held open, never answered
		}
		go func() {
			up, err := net.Dial("tcp", b.target)
			if err != nil {
				_ = c.Close()
				return
			}
			b.track(up)
			go func() { _, _ = io.Copy(up, c) }()
			_, _ = io.Copy(c, up)
		}()
	}
}

// hang cuts every connection from Vault (the client's side stays open and
// silent) and holds new ones.
func (b *blackHole) hang() {
	b.hanging.Store(true)
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.conns {
		if c.RemoteAddr().String() == b.target {
			_ = c.Close()
			delete(b.conns, c)
		}
	}
}

// resume closes the held connections (their clients see a reset and retry)
// and forwards new ones again.
func (b *blackHole) resume() {
	b.hanging.Store(false)
	b.closeAll()
}

// Vault unreachable with no answer at all (packets dropped: no refusal, the
// client's requests hang until its timeout of 30 s): the Source's renewal
// hangs, and Current must still fail closed when the lease ends, not when the
// request gives up; and the Source recovers by itself once Vault answers.
func TestVaultHangsFailsClosedOnTime(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	ctx := context.Background()
	addr := testenv.Require(t, testenv.VaultRedisAddrVar)
	a := baotest.Admin(t)
	mount := baotest.RedisDatabase(t, a)
	role := baotest.RedisRole(t, a, mount, ttl, time.Minute)
	login := appRoleLogin(t, a, `path "`+mount+`/creds/*" { capabilities = ["read"] }`, time.Minute, time.Hour)
	bh := startBlackHole(t)
	cfg := config(t)
	cfg.Address = bh.addr()
	cfg.Timeout = 30 * time.Second
	c, err := vault.New(ctx, cfg, login, fastBackoff)
	require.NoError(t, err)
	defer c.Close()
	src, err := secrets.NewSource(ctx, "cache", c.Lease(mount+"/creds/"+role, nil), fastBackoff)
	require.NoError(t, err)
	defer src.Close()
	rots := watchRotations(src)
	first, err := src.Current()
	require.NoError(t, err)

	bh.hang()
	waitUntil(t, src, ttl+time.Second, "fail closed while the renewal hangs", func(_ *secrets.Secret, err error) bool {
		return err != nil
	})
	late := time.Since(first.Lease().ExpiresAt)
	assert.Less(t, late, 250*time.Millisecond, "Current failed closed this late after the lease's end")
	_, err = src.Current()
	assert.ErrorIs(t, err, secrets.ErrExpired)
	assert.ErrorIs(t, err, secrets.ErrUnavailable)

	bh.resume()
	fresh := rots.next(t, 5*time.Second)
	assert.NoError(t, redisCall(ctx, addr, fresh))
	now, err := src.Current()
	require.NoError(t, err)
	assert.True(t, now == fresh)
}
