package httpsig_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/tokens/dpop/redisreplay"
)

// Two replicas share a Redis replay store: a nonce one of them accepted is
// refused by the other; with Redis unreachable, signatures with a nonce are
// refused as unavailable.
func TestReplayAcrossReplicasRedis(t *testing.T) {
	addr := testenv.Require(t, testenv.RedisAddrVar)
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = client.Close() })
	prefix := "ztkit-test:httpsig:" + rand.Text() + ":"
	t.Cleanup(func() {
		keys, err := client.Keys(context.Background(), prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			_ = client.Del(context.Background(), keys...).Err()
		}
	})
	f := newFixture(t)
	replica := func() *httpsig.Verifier {
		store, err := redisreplay.New(client, redisreplay.WithKeyPrefix(prefix), redisreplay.WithTimeout(10*time.Second))
		require.NoError(t, err)
		return f.verifier(t, httpsig.WithReplayStore(store), httpsig.WithRequiredParams("nonce"))
	}
	a, b := replica(), replica()

	r := f.request(t)
	in, sig := r.Header.Get("Signature-Input"), r.Header.Get("Signature")
	_, err := a.VerifyRequest(context.Background(), r)
	require.NoError(t, err)

	replay := f.request(t)
	replay.Header.Set("Signature-Input", in)
	replay.Header.Set("Signature", sig)
	_, err = b.VerifyRequest(context.Background(), replay)
	assert.ErrorIs(t, err, httpsig.ErrReplayed)

	// Redis unreachable: fail closed.
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = down.Close() })
	store, err := redisreplay.New(down, redisreplay.WithTimeout(200*time.Millisecond))
	require.NoError(t, err)
	_, err = f.verifier(t, httpsig.WithReplayStore(store)).VerifyRequest(context.Background(), f.request(t))
	assert.ErrorIs(t, err, httpsig.ErrUnavailable)
}
