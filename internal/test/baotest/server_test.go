package baotest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/baotest"
)

// A private server starts initialised and unsealed, seals and unseals, stops, and comes
// back sealed from a restart with its data.
func TestStartServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	start := time.Now()
	srv := baotest.StartServer(t, baotest.WithConfig(`default_lease_ttl = "1m"`))
	t.Logf("private OpenBao started, initialised and unsealed in %v", time.Since(start).Round(time.Millisecond))
	assert.NotEmpty(t, srv.CAPool)

	c := srv.Client()
	c.SetMaxRetries(0)
	kv := baotest.Mount(t, c, "kv-v2")
	_, err := c.KVv2(kv).Put(ctx, "k", map[string]any{"v": "before"})
	require.NoError(t, err)

	require.NoError(t, srv.Seal())
	_, err = c.KVv2(kv).Get(ctx, "k")
	assertStatus(t, err, http.StatusServiceUnavailable)
	require.NoError(t, srv.Unseal())
	got, err := c.KVv2(kv).Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "before", got.Data["v"])

	require.NoError(t, srv.Stop())
	_, err = c.KVv2(kv).Get(ctx, "k")
	require.Error(t, err)
	require.NoError(t, srv.Stop(), "a second Stop")

	start = time.Now()
	require.NoError(t, srv.Start())
	t.Logf("private OpenBao restarted in %v", time.Since(start).Round(time.Millisecond))
	_, err = c.KVv2(kv).Get(ctx, "k")
	assertStatus(t, err, http.StatusServiceUnavailable)
	h, err := c.Sys().HealthWithContext(ctx)
	require.NoError(t, err)
	assert.True(t, h.Sealed)

	require.NoError(t, srv.Unseal())
	got, err = c.KVv2(kv).Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "before", got.Data["v"])
}

// A private server's database engine issues Redis users too, and its leases outlive a
// restart.
func TestStartServerRedisLease(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := baotest.StartServer(t)
	c := srv.Client()
	mount := baotest.RedisDatabase(t, c)
	role := baotest.RedisRole(t, c, mount, 10*time.Second, time.Minute)
	creds, err := c.Logical().ReadWithContext(ctx, mount+"/creds/"+role)
	require.NoError(t, err)
	require.True(t, creds.Renewable)

	require.NoError(t, srv.Stop())
	require.NoError(t, srv.Start())
	require.NoError(t, srv.Unseal())
	renewed, err := c.Sys().RenewWithContext(ctx, creds.LeaseID, 0)
	require.NoError(t, err)
	assert.Equal(t, creds.LeaseID, renewed.LeaseID)
}

func assertStatus(t *testing.T, err error, status int) {
	t.Helper()
	var re *api.ResponseError
	if assert.ErrorAs(t, err, &re) {
		assert.Equal(t, status, re.StatusCode)
	}
}
