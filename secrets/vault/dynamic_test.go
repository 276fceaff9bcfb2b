package vault_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/vault"
)

// A dynamic Redis credential with a lease of seconds, as the service sees it:
// the lease is renewed (the same user, a later expiry, the renewal counter),
// a new user is issued before the lease's maximum TTL and handed to OnRotate
// while Redis still accepts the old one, the old user is deleted once its
// lease ends, and a loop of Redis calls made with whatever Current returns
// runs through several rotations with no failed call.
func TestDynamicRedisCredentialRenewedRotatedWithNoFailedCall(t *testing.T) {
	t.Parallel()
	const (
		ttl    = 3 * time.Second
		maxTTL = 9 * time.Second
		run    = 19 * time.Second // two rotations, at about 8.5 s and 17 s
	)
	ctx := context.Background()
	addr := testenv.Require(t, testenv.VaultRedisAddrVar)
	a := baotest.Admin(t)
	mount := baotest.RedisDatabase(t, a)
	role := baotest.RedisRole(t, a, mount, ttl, maxTTL)
	login := appRoleLogin(t, a, `path "`+mount+`/creds/*" { capabilities = ["read"] }`, time.Minute, time.Hour)
	c, err := vault.New(ctx, config(t), login, fastBackoff)
	require.NoError(t, err)
	defer c.Close()

	mp, reader := meters(t)
	src, err := secrets.NewSource(ctx, "cache", c.Lease(mount+"/creds/"+role, nil), secrets.WithMeterProvider(mp), fastBackoff)
	require.NoError(t, err)
	defer src.Close()
	first, err := src.Current()
	require.NoError(t, err)
	require.NoError(t, redisCall(ctx, addr, first), "Redis accepts the first credential")
	assert.Equal(t, ttl, first.Lease().TTL(), "the lease Vault granted")
	assert.True(t, first.Lease().Renewable)

	// At each rotation: is the new credential current, and does Redis still
	// accept the one it replaces?
	type rotation struct {
		old, new            *secrets.Secret
		isCurrent, oldWorks bool
	}
	var (
		mu   sync.Mutex
		rots []rotation
		prev = first
	)
	src.OnRotate(func(s *secrets.Secret) {
		cur, _ := src.Current()
		r := rotation{old: prev, new: s, isCurrent: cur == s, oldWorks: redisCall(ctx, addr, prev) == nil}
		mu.Lock()
		rots = append(rots, r)
		mu.Unlock()
		prev = s
	})

	// The lease is renewed: the same user with a later expiry.
	waitUntil(t, src, ttl, "first renewal", func(s *secrets.Secret, err error) bool {
		return err == nil && s.Lease().ID == first.Lease().ID && s.Lease().ExpiresAt.After(first.Lease().ExpiresAt)
	})
	renewed, _ := src.Current()
	assert.True(t, renewed.Lease().IssuedAt.After(first.Lease().IssuedAt))
	u1, _ := first.Reveal("username")
	u2, _ := renewed.Reveal("username")
	assert.Equal(t, u1, u2, "a renewal keeps the user")

	svc := startService(t, src, 20*time.Millisecond)
	time.Sleep(run)
	svc.stop()

	assert.Zero(t, svc.failed.Load(), "failed calls: %v", svc.failures())
	assert.Greater(t, svc.calls.Load(), int64(300))
	assert.GreaterOrEqual(t, counter(t, reader, "ztkit.secrets.renewed", sourceName("cache")), int64(4),
		"renewals between rotations")
	assert.Zero(t, counter(t, reader, "ztkit.secrets.failures", sourceName("cache")), "failures: %v", failureKinds(t, reader, "cache"))

	mu.Lock()
	got := append([]rotation(nil), rots...)
	mu.Unlock()
	require.GreaterOrEqual(t, len(got), 2, "rotations in %v with leases of at most %v", run, maxTTL)
	assert.Equal(t, int64(1+len(got)), counter(t, reader, "ztkit.secrets.issued", sourceName("cache")))
	for i, r := range got {
		assert.True(t, r.isCurrent, "rotation %d: OnRotate got the credential Current returns", i)
		assert.True(t, r.oldWorks, "rotation %d: Redis still accepted the old credential when OnRotate ran", i)
		assert.NotEqual(t, r.old.Lease().ID, r.new.Lease().ID, "rotation %d: a new lease", i)
		ou, _ := r.old.Reveal("username")
		nu, _ := r.new.Reveal("username")
		assert.NotEqual(t, ou, nu, "rotation %d: a new user", i)
	}
	// Each replaced user is deleted once its lease ends (at the latest, the
	// maximum TTL after it was issued).
	for _, r := range got {
		requireRedisGone(ctx, t, r.old, max(time.Until(r.old.Lease().IssuedAt.Add(maxTTL)), 0)+3*time.Second)
	}
	last, err := src.Current()
	require.NoError(t, err)
	assert.NoError(t, redisCall(ctx, addr, last), "Redis accepts the current credential")
}

// Vault revokes a dynamic credential when the token that issued it ends. A
// Client whose token reaches its maximum TTL logs in again; the credentials
// issued under the old token must be replaced before it expires, or Redis
// deletes their users while Current still hands them out.
func TestDynamicCredentialReplacedBeforeItsTokenEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := baotest.Admin(t)
	mount := baotest.RedisDatabase(t, a)
	role := baotest.RedisRole(t, a, mount, 30*time.Second, time.Minute)
	// Tokens of 3 s, at most 7 s: the Client logs in again at about 6 s.
	login := appRoleLogin(t, a, `path "`+mount+`/creds/*" { capabilities = ["read"] }`, 3*time.Second, 7*time.Second)
	c, err := vault.New(ctx, config(t), login, fastBackoff)
	require.NoError(t, err)
	defer c.Close()
	logins := watchRotations(c.Token())

	src, err := secrets.NewSource(ctx, "cache", c.Lease(mount+"/creds/"+role, nil), fastBackoff)
	require.NoError(t, err)
	defer src.Close()
	first, err := src.Current()
	require.NoError(t, err)
	rots := watchRotations(src)

	svc := startService(t, src, 20*time.Millisecond)
	time.Sleep(9 * time.Second)
	svc.stop()

	assert.Zero(t, svc.failed.Load(), "failed calls: %v", svc.failures())
	require.NotEmpty(t, logins.all(), "the Client logged in again before its token's max TTL")
	require.NotEmpty(t, rots.all(), "the credential was replaced when the token that issued it was")
	now, err := src.Current()
	require.NoError(t, err)
	assert.NotEqual(t, first.Lease().ID, now.Lease().ID)
	requireRedisGone(ctx, t, first, 3*time.Second)
}
