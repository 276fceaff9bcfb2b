package redisauth_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/redisauth"
	"github.com/ztkit/ztkit/secrets/vault"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/redisreplay"
)

// appRoleLogin returns the login of a new AppRole role on the shared OpenBao
// whose tokens may do what policy allows.
func appRoleLogin(t *testing.T, admin *api.Client, policy string) api.AuthMethod {
	t.Helper()
	mount := baotest.EnableAuth(t, admin, "approle")
	pol := "redisauth-" + rand.Text()[:10]
	require.NoError(t, admin.Sys().PutPolicy(pol, policy))
	t.Cleanup(func() { _ = admin.Sys().DeletePolicy(pol) })
	_, err := admin.Logical().Write("auth/"+mount+"/role/svc", map[string]any{
		"token_policies": pol, "token_ttl": "5m", "token_max_ttl": "15m",
	})
	require.NoError(t, err)
	rid, err := admin.Logical().Read("auth/" + mount + "/role/svc/role-id")
	require.NoError(t, err)
	sid, err := admin.Logical().Write("auth/"+mount+"/role/svc/secret-id", nil)
	require.NoError(t, err)
	roleID, _ := rid.Data["role_id"].(string)
	secretID, _ := sid.Data["secret_id"].(string)
	login, err := vault.AppRole(mount, roleID, secrets.NewSecret(map[string]string{"secret_id": secretID}, secrets.Lease{}))
	require.NoError(t, err)
	return login
}

// leaseWatch records what a Source does: each credential it hands out
// (renewals keep the lease ID and extend the expiry; rotations change both).
type leaseWatch struct {
	mu       sync.Mutex
	users    []string // every username issued, oldest first
	renewals int
}

func watchLeases(t *testing.T, src *secrets.Source) *leaseWatch {
	w := &leaseWatch{}
	cur, err := src.Current()
	require.NoError(t, err)
	user, _ := cur.Reveal("username")
	w.users = append(w.users, user)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := cur.Lease()
		for {
			updated := src.Updated()
			if sec, err := src.Current(); err == nil {
				l := sec.Lease()
				w.mu.Lock()
				switch {
				case l.ID != last.ID:
					user, _ := sec.Reveal("username")
					w.users = append(w.users, user)
				case l.ExpiresAt.After(last.ExpiresAt):
					w.renewals++
				}
				w.mu.Unlock()
				last = l
			}
			select {
			case <-updated:
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func (w *leaseWatch) get() ([]string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.users...), w.renewals
}

// The proof the issue asks for: a dynamic Redis credential from OpenBao's
// database engine, renewed and rotated, authenticates the go-redis client of
// ztkit's Redis DPoP replay store, which keeps working across several
// rotations with zero failed calls while OpenBao deletes the old users.
func TestVaultDynamicCredentialForTheReplayStore(t *testing.T) {
	redisAddr := testenv.Require(t, testenv.VaultRedisAddrVar)
	redisPassword := testenv.Require(t, testenv.VaultRedisPasswordVar)
	admin := baotest.Admin(t)
	mount := baotest.RedisDatabase(t, admin)
	// Leases of 2 s renewable up to 4 s: renewed at ~1.3 s, renewed again
	// (capped by the maximum TTL) at ~2.6 s, replaced by a new user before
	// 4 s; OpenBao deletes each user when its lease ends.
	role := baotest.RedisRole(t, admin, mount, 2*time.Second, 4*time.Second)
	credPath := mount + "/creds/" + role
	login := appRoleLogin(t, admin, `
path "`+credPath+`" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }
`)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := baotest.Config(t)
	cfg.MaxRetries = 0
	vc, err := vault.New(ctx, cfg, login, secrets.WithBackoff(50*time.Millisecond, 300*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = vc.Close() })
	src, err := secrets.NewSource(ctx, "replay-cache", vc.Lease(credPath, nil),
		secrets.WithBackoff(50*time.Millisecond, 300*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = src.Close() })
	leases := watchLeases(t, src)
	rotated := rotations(t, src)

	p, err := redisauth.New(src)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	client, counter := newClient(t, redisAddr, p)
	prefix := "ztkit-test:redisauth:" + rand.Text() + ":"
	store, err := redisreplay.New(client, redisreplay.WithKeyPrefix(prefix), redisreplay.WithTimeout(5*time.Second))
	require.NoError(t, err)

	redisAdmin := redis.NewClient(&redis.Options{Addr: redisAddr, Password: redisPassword})
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, err := redisAdmin.Keys(ctx, prefix+"*").Result(); err == nil && len(keys) > 0 {
			_ = redisAdmin.Del(ctx, keys...).Err()
		}
		_ = redisAdmin.Close()
	})

	const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" // RFC 9449 §6.1
	stop := make(chan struct{})
	calls, failures, first, wait := load(stop, func(ctx context.Context, w, i int) error {
		jti := strconv.Itoa(w) + "-" + strconv.Itoa(i)
		exp := time.Now().Add(time.Minute)
		if err := store.CheckAndStore(ctx, jkt, jti, exp); err != nil {
			return err
		}
		// Every tenth proof is presented again: the store must refuse it.
		if i%10 == 0 {
			if err := store.CheckAndStore(ctx, jkt, jti, exp); !errors.Is(err, dpop.ErrReplayed) {
				return errors.New("a replayed proof was not refused")
			}
		}
		return nil
	})

	const wantRotations = 3
	require.Eventually(t, func() bool { return rotated.Load() >= wantRotations },
		25*time.Second, 20*time.Millisecond, "the credential did not rotate %d times", wantRotations)
	// Keep the load on until OpenBao has deleted every user but the current
	// one: a connection still authenticated as one would be closed by Redis.
	users, _ := leases.get()
	old := users[:len(users)-1]
	require.Eventually(t, func() bool {
		for _, u := range old {
			if redisAdmin.Do(ctx, "ACL", "GETUSER", u).Err() != redis.Nil {
				return false
			}
		}
		return true
	}, 10*time.Second, 20*time.Millisecond, "OpenBao did not delete the old users")
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wait()

	users, renewals := leases.get()
	t.Logf("%d replay checks by %d goroutines on a pool of %d, %d rotations, %d renewals, %d users, %d dials, %d AUTH",
		calls.Load(), workers, poolSize, rotated.Load(), renewals, len(users), counter.dials.Load(), counter.count("auth"))
	assert.Zero(t, failures.Load(), "failed replay checks; first: %v", first.Load())
	assert.Positive(t, calls.Load())
	assert.GreaterOrEqual(t, renewals, 1, "the lease was never renewed")
	assert.GreaterOrEqual(t, counter.count("auth"), wantRotations, "connections were not re-authenticated")
	for _, u := range old {
		assert.ErrorIs(t, redisAdmin.Do(ctx, "ACL", "GETUSER", u).Err(), redis.Nil, "an old user still exists")
	}
}
