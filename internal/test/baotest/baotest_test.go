package baotest_test

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/internal/test/testenv"
)

// The shared server has what testenv documents: the auth methods and engines, KV v2 at
// secret/ (readable and writable with the root token).
func TestSharedServerConfigured(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	admin := baotest.Admin(t)

	auths, err := admin.Sys().ListAuthWithContext(ctx)
	require.NoError(t, err)
	for path, kind := range map[string]string{"cert/": "cert", "jwt/": "jwt", "approle/": "approle"} {
		if assert.Contains(t, auths, path) {
			assert.Equal(t, kind, auths[path].Type)
		}
	}
	mounts, err := admin.Sys().ListMountsWithContext(ctx)
	require.NoError(t, err)
	for path, kind := range map[string]string{"secret/": "kv", "transit/": "transit", "database/": "database"} {
		if assert.Contains(t, mounts, path) {
			assert.Equal(t, kind, mounts[path].Type)
		}
	}
	assert.Equal(t, "2", mounts["secret/"].Options["version"])

	key := "baotest/" + t.Name()
	_, err = admin.KVv2("secret").Put(ctx, key, map[string]any{"v": "x"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.KVv2("secret").DeleteMetadata(context.Background(), key) })
	got, err := admin.KVv2("secret").Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "x", got.Data["v"])
}

// A client with no token reaches the shared server over TLS and is refused.
func TestConfigHasNoToken(t *testing.T) {
	t.Parallel()
	c, err := api.NewClient(baotest.Config(t))
	require.NoError(t, err)
	c.ClearToken()
	_, err = c.Logical().ReadWithContext(t.Context(), "secret/data/anything")
	var re *api.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 403, re.StatusCode)
}

// EnableAuth and Mount enable at unique paths and remove what they enabled when the
// test ends, even when the test has since dropped the client's token.
func TestEnableAuthAndMount(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	admin := baotest.Admin(t)
	var jwtPath, transitPath, kvPath string
	t.Run("enable", func(t *testing.T) {
		admin := baotest.Admin(t)
		defer admin.ClearToken()
		jwtPath = baotest.EnableAuth(t, admin, "jwt")
		transitPath = baotest.Mount(t, admin, "transit")
		kvPath = baotest.Mount(t, admin, "kv-v2")
		assert.NotEqual(t, jwtPath, baotest.EnableAuth(t, admin, "jwt"))

		auths, err := admin.Sys().ListAuthWithContext(ctx)
		require.NoError(t, err)
		assert.Contains(t, auths, jwtPath+"/")
		mounts, err := admin.Sys().ListMountsWithContext(ctx)
		require.NoError(t, err)
		assert.Equal(t, "transit", mounts[transitPath+"/"].Type)
		assert.Equal(t, "2", mounts[kvPath+"/"].Options["version"])

		_, err = admin.Logical().WriteWithContext(ctx, transitPath+"/keys/k", map[string]any{"type": "ecdsa-p256"})
		require.NoError(t, err)
		_, err = admin.KVv2(kvPath).Put(ctx, "k", map[string]any{"v": "1"})
		require.NoError(t, err)
	})
	auths, err := admin.Sys().ListAuthWithContext(ctx)
	require.NoError(t, err)
	assert.NotContains(t, auths, jwtPath+"/")
	mounts, err := admin.Sys().ListMountsWithContext(ctx)
	require.NoError(t, err)
	assert.NotContains(t, mounts, transitPath+"/")
	assert.NotContains(t, mounts, kvPath+"/")
}

// The shared database engine's role "cache" issues Redis users with renewable leases;
// renewing works, and revoking the lease deletes the user.
func TestSharedRedisCredentials(t *testing.T) {
	t.Parallel()
	admin := baotest.Admin(t)
	checkRedisCredentials(t, admin, "database/creds/cache", 30*time.Second)
}

// RedisDatabase and RedisRole give a test its own database mount and role.
func TestRedisDatabaseAndRole(t *testing.T) {
	t.Parallel()
	admin := baotest.Admin(t)
	mount := baotest.RedisDatabase(t, admin)
	role := baotest.RedisRole(t, admin, mount, 7*time.Second, 20*time.Second)
	checkRedisCredentials(t, admin, mount+"/creds/"+role, 7*time.Second)
	// The shared mount takes roles too.
	role = baotest.RedisRole(t, admin, "database", 9*time.Second, time.Minute)
	checkRedisCredentials(t, admin, "database/creds/"+role, 9*time.Second)
}

func checkRedisCredentials(t *testing.T, admin *api.Client, credsPath string, ttl time.Duration) {
	t.Helper()
	ctx := t.Context()
	redisAddr := testenv.Require(t, testenv.VaultRedisAddrVar)

	creds, err := admin.Logical().ReadWithContext(ctx, credsPath)
	require.NoError(t, err)
	require.NotNil(t, creds)
	assert.True(t, creds.Renewable)
	assert.Equal(t, int(ttl.Seconds()), creds.LeaseDuration)
	user, _ := creds.Data["username"].(string)
	pass, _ := creds.Data["password"].(string)
	require.NotEmpty(t, user)
	require.True(t, pass != "", "no password issued")

	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, Username: user, Password: pass, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	require.NoError(t, rdb.Set(ctx, "baotest:"+user, "1", time.Minute).Err())
	defer rdb.Del(context.Background(), "baotest:"+user)

	renewed, err := admin.Sys().RenewWithContext(ctx, creds.LeaseID, 0)
	require.NoError(t, err)
	assert.Equal(t, creds.LeaseID, renewed.LeaseID)
	assert.True(t, renewed.Renewable)

	require.NoError(t, admin.Sys().RevokeWithContext(ctx, creds.LeaseID))
	rdb2 := redis.NewClient(&redis.Options{Addr: redisAddr, Username: user, Password: pass, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb2.Close() })
	err = rdb2.Ping(ctx).Err()
	require.Error(t, err, "the revoked user still logs in")
	assert.Contains(t, err.Error(), "WRONGPASS")
}
