package vault_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/secrets"
)

// Each fault here happens to a private OpenBao server of the test's own, and
// is asserted from what the service sees: what Source.Current returns, what
// the OnRotate functions get, and whether the real Redis accepts the
// credential.

func failures(source, op, cause string) []attribute.KeyValue {
	return []attribute.KeyValue{
		sourceName(source),
		attribute.String("ztkit.secrets.operation", op),
		attribute.String("ztkit.secrets.cause", cause),
	}
}

// watchCurrent polls Current every few milliseconds until stop is called, and
// counts the errors it returned.
func watchCurrent(src *secrets.Source) (errs *atomic.Int64, stop func()) {
	errs = new(atomic.Int64)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			if _, err := src.Current(); err != nil {
				errs.Add(1)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return errs, func() { close(done); <-stopped }
}

// Vault stopped (then restarted and unsealed) or sealed (then unsealed) for
// about 6 s, with two credentials: one whose lease (10 s) outlives the
// outage, one whose lease (3 s) does not. The first is kept all along, its
// renewal retried until Vault is back and the same lease renewed; Current
// never fails. The second is kept while it is valid, then Current fails closed
// with ErrExpired and ErrUnavailable, and the Source recovers by itself, with
// a new credential, when Vault is back.
func TestVaultDownMidLease(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		down, up func(*baotest.Server) error
	}{
		{
			name: "stopped and restarted",
			down: (*baotest.Server).Stop,
			up: func(s *baotest.Server) error {
				if err := s.Start(); err != nil {
					return err
				}
				return s.Unseal()
			},
		},
		{name: "sealed and unsealed", down: (*baotest.Server).Seal, up: (*baotest.Server).Unseal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			addr := testenv.Require(t, testenv.VaultRedisAddrVar)
			pv := startPrivateVault(t, time.Minute, time.Hour)
			mp, reader := meters(t)
			long := pv.leaseSource(t, "outlives", 10*time.Second, time.Minute, secrets.WithMeterProvider(mp))
			short := pv.leaseSource(t, "expires", 3*time.Second, time.Minute, secrets.WithMeterProvider(mp))
			longRots, shortRots := watchRotations(long), watchRotations(short)
			longFirst, err := long.Current()
			require.NoError(t, err)
			shortFirst, err := short.Current()
			require.NoError(t, err)
			require.NoError(t, redisCall(ctx, addr, longFirst))
			require.NoError(t, redisCall(ctx, addr, shortFirst))

			longErrs, stopLong := watchCurrent(long)
			shortErrs, stopShort := watchCurrent(short)
			require.NoError(t, tc.down(pv.srv))

			// The short lease: kept while valid, then fail closed.
			time.Sleep(time.Until(shortFirst.Lease().ExpiresAt.Add(-100 * time.Millisecond)))
			stopShort()
			assert.Zero(t, shortErrs.Load(), "Current failed before the lease's end")
			assert.Positive(t, counter(t, reader, "ztkit.secrets.failures", failures("expires", "renew", "unavailable")...),
				"renewals failed while Vault was down")
			waitUntil(t, short, 2*time.Second, "fail closed at the lease's end", func(_ *secrets.Secret, err error) bool {
				return err != nil
			})
			s, err := short.Current()
			assert.Nil(t, s)
			assert.ErrorIs(t, err, secrets.ErrExpired)
			assert.ErrorIs(t, err, secrets.ErrUnavailable)
			assert.Positive(t, counter(t, reader, "ztkit.secrets.failures", failures("expires", "expire", "expired")...))
			// Vault, down, has not deleted the user: the Source fails closed
			// on the lease it was granted, not on what Redis still accepts.
			assert.NoError(t, redisCall(ctx, addr, shortFirst), "Redis still accepts the user Vault could not revoke")

			// The long lease: its renewal fails, and it is kept.
			require.Eventually(t, func() bool {
				return counter(t, reader, "ztkit.secrets.failures", failures("outlives", "renew", "unavailable")...) > 0
			}, time.Until(longFirst.Lease().ExpiresAt), 20*time.Millisecond, "a renewal failed while Vault was down")
			s, err = long.Current()
			require.NoError(t, err, "the credential is kept while it is valid")
			assert.NoError(t, redisCall(ctx, addr, s))

			// Vault back: both recover by themselves.
			require.NoError(t, tc.up(pv.srv))
			waitUntil(t, long, time.Until(longFirst.Lease().ExpiresAt), "renewed once Vault is back", func(s *secrets.Secret, err error) bool {
				return err == nil && s.Lease().ExpiresAt.After(longFirst.Lease().ExpiresAt)
			})
			stopLong()
			renewed, err := long.Current()
			require.NoError(t, err)
			assert.Equal(t, longFirst.Lease().ID, renewed.Lease().ID, "the same lease, renewed")
			assert.Zero(t, longErrs.Load(), "Current failed for a lease that outlived the outage")
			assert.Empty(t, longRots.all(), "no rotation for a lease that outlived the outage")
			assert.NoError(t, redisCall(ctx, addr, renewed))

			fresh := shortRots.next(t, 10*time.Second)
			now, err := short.Current()
			require.NoError(t, err)
			assert.True(t, now == fresh, "Current returns what OnRotate got")
			assert.NotEqual(t, shortFirst.Lease().ID, now.Lease().ID, "a new lease")
			assert.NoError(t, redisCall(ctx, addr, now), "Redis accepts the new credential")
			// Once back, Vault revokes the lease that ended while it was down.
			requireRedisGone(ctx, t, shortFirst, 5*time.Second)
		})
	}
}

// A lease revoked out of band (sys/leases/revoke): Redis deletes the user at
// once; the Source learns it at its next renewal, which Vault refuses, and
// issues a new credential, with no call from the service. A service that sees
// the refusal first asks for one at once with Rotate.
func TestLeaseRevokedOutOfBand(t *testing.T) {
	t.Parallel()
	const ttl = 4 * time.Second
	ctx := context.Background()
	addr := testenv.Require(t, testenv.VaultRedisAddrVar)
	pv := startPrivateVault(t, time.Minute, time.Hour)
	mp, reader := meters(t)
	src := pv.leaseSource(t, "cache", ttl, time.Minute, secrets.WithMeterProvider(mp))
	rots := watchRotations(src)
	first, err := src.Current()
	require.NoError(t, err)
	require.NoError(t, redisCall(ctx, addr, first))

	require.NoError(t, pv.admin.Sys().RevokeWithContext(ctx, first.Lease().ID))
	assert.Error(t, redisCall(ctx, addr, first), "Redis deleted the user of the revoked lease")

	second := rots.next(t, ttl)
	assert.NotEqual(t, first.Lease().ID, second.Lease().ID)
	assert.NoError(t, redisCall(ctx, addr, second), "Redis accepts the new credential")
	assert.Equal(t, int64(1), counter(t, reader, "ztkit.secrets.failures", failures("cache", "renew", "refused")...))
	now, err := src.Current()
	require.NoError(t, err)
	assert.True(t, now == second)

	// The service's in-flight requests see WRONGPASS before the Source's
	// next renewal, and each asks for a new credential: the calls made while
	// a rotation runs share it, so a few are issued, not one per request.
	require.NoError(t, pv.admin.Sys().RevokeWithContext(ctx, second.Lease().ID))
	before := len(rots.all())
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			cred, err := src.Current()
			if err == nil && redisCall(ctx, addr, cred) != nil {
				assert.NoError(t, src.Rotate(ctx))
			}
		})
	}
	wg.Wait()
	after := rots.all()[before:]
	require.NotEmpty(t, after)
	assert.LessOrEqual(t, len(after), 5, "new credentials for 20 refused requests")
	now, err = src.Current()
	require.NoError(t, err)
	assert.True(t, now == after[len(after)-1])
	assert.NoError(t, redisCall(ctx, addr, now))
}

// The Client's Vault token revoked out of band, and Vault then briefly
// stopped: Vault revoked the token's leases with it (Redis deleted the user).
// At the Source's next renewal, once Vault is back, the Client sees the 403,
// logs in again, and the Source issues a new credential under the new token.
func TestTokenRevokedThenVaultDown(t *testing.T) {
	t.Parallel()
	const ttl = 4 * time.Second
	ctx := context.Background()
	addr := testenv.Require(t, testenv.VaultRedisAddrVar)
	pv := startPrivateVault(t, time.Minute, time.Hour)
	src := pv.leaseSource(t, "cache", ttl, time.Minute)
	rots := watchRotations(src)
	logins := watchRotations(pv.client.Token())
	first, err := src.Current()
	require.NoError(t, err)
	token, err := pv.client.Token().Current()
	require.NoError(t, err)

	require.NoError(t, pv.admin.Auth().Token().RevokeAccessorWithContext(ctx, token.Lease().ID))
	require.Eventually(t, func() bool { return redisCall(ctx, addr, first) != nil }, 2*time.Second, 20*time.Millisecond,
		"Vault revoked the token's lease with it")
	require.NoError(t, pv.srv.Stop())
	time.Sleep(time.Second)
	require.NoError(t, pv.srv.Start())
	require.NoError(t, pv.srv.Unseal())

	fresh := rots.next(t, ttl+5*time.Second)
	assert.NoError(t, redisCall(ctx, addr, fresh), "Redis accepts the credential issued after the new login")
	relogin := logins.next(t, time.Second)
	assert.NotEqual(t, token.Lease().ID, relogin.Lease().ID, "a new token")
	// When the new login happens within the Source's issue (its renewal timed
	// out first), the credential it issues may be replaced once more: the
	// Source took the Client's login channel before the issue.
	time.Sleep(300 * time.Millisecond)
	assert.LessOrEqual(t, len(rots.all()), 2)
	now, err := src.Current()
	require.NoError(t, err)
	assert.NoError(t, redisCall(ctx, addr, now))
}

// The Vault server down past the end of the Client's token: the token's
// Source fails closed too, and both recover by themselves once Vault is back
// (a new login, then a new credential under it).
func TestTokenExpiredWhileVaultDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := testenv.Require(t, testenv.VaultRedisAddrVar)
	pv := startPrivateVault(t, 3*time.Second, time.Hour)
	src := pv.leaseSource(t, "cache", 3*time.Second, time.Minute)
	rots := watchRotations(src)
	token, err := pv.client.Token().Current()
	require.NoError(t, err)

	require.NoError(t, pv.srv.Stop())
	waitUntil(t, pv.client.Token(), time.Until(token.Lease().ExpiresAt)+2*time.Second, "token expired", func(_ *secrets.Secret, err error) bool {
		return err != nil
	})
	_, err = pv.client.Token().Current()
	assert.ErrorIs(t, err, secrets.ErrExpired)
	assert.ErrorIs(t, err, secrets.ErrUnavailable)
	waitUntil(t, src, 5*time.Second, "credential expired", func(_ *secrets.Secret, err error) bool { return err != nil })
	_, err = src.Current()
	assert.ErrorIs(t, err, secrets.ErrExpired)

	require.NoError(t, pv.srv.Start())
	require.NoError(t, pv.srv.Unseal())
	fresh := rots.next(t, 10*time.Second)
	assert.NoError(t, redisCall(ctx, addr, fresh))
	_, err = pv.client.Token().Current()
	assert.NoError(t, err, "the Client logged in again")
}
