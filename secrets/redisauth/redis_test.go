package redisauth_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/secrets"
)

// privateRedis starts a redis-server of the test's own whose default user is
// off, so that every connection must authenticate as a user the test
// created, and returns its address and a client of its admin user.
func privateRedis(t *testing.T) (string, *redis.Client) {
	t.Helper()
	bin := testenv.Require(t, testenv.RedisServerVar)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)

	adminPass := rand.Text()
	cmd := exec.Command(bin,
		"--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(),
		"--user", "default", "off",
		"--user", "admin", "on", ">"+adminPass, "~*", "&*", "+@all",
	)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	admin := redis.NewClient(&redis.Options{Addr: addr, Username: "admin", Password: adminPass, MaxRetries: -1})
	t.Cleanup(func() { _ = admin.Close() })
	require.Eventually(t, func() bool {
		return admin.Ping(context.Background()).Err() == nil
	}, 10*time.Second, 20*time.Millisecond, "private redis-server on %s did not answer PING", addr)
	return addr, admin
}

// aclBackend is a secrets.Provider that does what Vault's database engine
// does for Redis: each Issue creates a Redis ACL user with a random password
// under a lease of ttl, and the user is deleted when its lease ends (ACL
// DELUSER, which also closes the connections still authenticated as it).
type aclBackend struct {
	admin  *redis.Client
	prefix string
	ttl    time.Duration

	mu      sync.Mutex
	seq     int
	issued  []string
	deleted map[string]bool
	timers  []*time.Timer
	down    bool
}

func newACLBackend(t *testing.T, admin *redis.Client, ttl time.Duration) *aclBackend {
	b := &aclBackend{admin: admin, prefix: "ztkit-test-" + rand.Text()[:8] + "-", ttl: ttl, deleted: map[string]bool{}}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, tm := range b.timers {
			tm.Stop()
		}
	})
	return b
}

func (b *aclBackend) Issue(ctx context.Context) (*secrets.Secret, error) {
	now := time.Now()
	b.mu.Lock()
	if b.down {
		b.mu.Unlock()
		return nil, fmt.Errorf("%w: acl backend is down", secrets.ErrUnavailable)
	}
	b.seq++
	name := b.prefix + strconv.Itoa(b.seq)
	b.mu.Unlock()

	pass := rand.Text()
	// The error is not wrapped: Redis may quote the rule, password included.
	if err := b.admin.Do(ctx, "ACL", "SETUSER", name, "reset", "on", ">"+pass, "~*", "&*", "+@all").Err(); err != nil {
		return nil, fmt.Errorf("%w: ACL SETUSER failed", secrets.ErrUnavailable)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.issued = append(b.issued, name)
	b.timers = append(b.timers, time.AfterFunc(b.ttl, func() { b.delete(name) }))
	return secrets.NewSecret(map[string]string{"username": name, "password": pass},
		secrets.Lease{ID: name, IssuedAt: now, ExpiresAt: now.Add(b.ttl)}), nil
}

func (b *aclBackend) Renew(context.Context, *secrets.Secret) (*secrets.Secret, error) {
	return nil, secrets.ErrNotRenewable
}

func (b *aclBackend) delete(name string) {
	if err := b.admin.Do(context.Background(), "ACL", "DELUSER", name).Err(); err != nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deleted[name] = true
}

func (b *aclBackend) setAvailable(up bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.down = !up
}

// users returns the users issued so far, oldest first, and which of them
// were deleted.
func (b *aclBackend) users() ([]string, map[string]bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	deleted := make(map[string]bool, len(b.deleted))
	for k, v := range b.deleted {
		deleted[k] = v
	}
	return append([]string(nil), b.issued...), deleted
}

// commandCounter is a go-redis hook counting the commands a client sends by
// name (HELLO and AUTH carry credentials; the hook never looks at their
// arguments), and the connections it dials.
type commandCounter struct {
	dials atomic.Int64
	mu    sync.Mutex
	names map[string]int
}

func newCommandCounter() *commandCounter { return &commandCounter{names: map[string]int{}} }

func (c *commandCounter) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.names[name]
}

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c.dials.Add(1)
		return next(ctx, network, addr)
	}
}

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.mu.Lock()
		c.names[cmd.Name()]++
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// rotations counts the rotations of src.
func rotations(t *testing.T, src *secrets.Source) *atomic.Int64 {
	var n atomic.Int64
	remove := src.OnRotate(func(*secrets.Secret) { n.Add(1) })
	t.Cleanup(remove)
	return &n
}

// waitExpired waits until src fails closed.
func waitExpired(t *testing.T, src *secrets.Source, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		updated := src.Updated()
		if _, err := src.Current(); errors.Is(err, secrets.ErrExpired) {
			return
		}
		select {
		case <-updated:
		case <-deadline:
			t.Fatalf("the source did not expire within %v", within)
		}
	}
}
