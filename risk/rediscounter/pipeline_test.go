package rediscounter_test

import (
	"context"
	"errors"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/replaydefer"
	"github.com/ztkit/ztkit/internal/test/redistest"
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/risk/rediscounter"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/redisreplay"
)

// deferred returns a context whose collector holds the replay check of
// (jkt, jti) by store, as guard.Check and dpop.Verifier leave it.
func deferred(t *testing.T, store *redisreplay.Store, jti string) (context.Context, *replaydefer.Collector) {
	t.Helper()
	ctx, col := replaydefer.NewContext(t.Context())
	require.True(t, store.DeferReplay(col, store, "jkt-1", jti, time.Now().Add(time.Minute)))
	return ctx, col
}

// TestCountCarriesDeferredReplay: a Count in a context holding a deferred
// replay check of a store on the same client sends the SET NX and the
// EVALSHA in one pipeline, one round trip, and settles the check: nil for a
// new proof, dpop.ErrReplayed for a replayed one, whose events are
// counted all the same. Both with and without ContextTimeoutEnabled.
func TestCountCarriesDeferredReplay(t *testing.T) {
	for _, inline := range []bool{true, false} {
		t.Run(map[bool]string{true: "context timeouts", false: "goroutine"}[inline], func(t *testing.T) {
			shared := redistest.Shared(t)
			client := redis.NewClient(&redis.Options{Addr: shared.Options().Addr, ContextTimeoutEnabled: inline})
			t.Cleanup(func() { _ = client.Close() })
			prefix := redistest.Prefix(t, shared)
			rc := newCounter(t, client, rediscounter.WithKeyPrefix(prefix+"ctr:"), rediscounter.WithTimeout(functionalTimeout))
			store, err := redisreplay.New(client, redisreplay.WithKeyPrefix(prefix+"jti:"), redisreplay.WithTimeout(functionalTimeout))
			require.NoError(t, err)
			w := []risk.Window{{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Hour, Add: 1}}
			h := &roundTrips{}
			client.AddHook(h)
			// Warm up: loads the script, and a connection in the pool.
			ctx, col := deferred(t, store, "warm-up")
			require.NoError(t, rc.Count(ctx, time.Now(), w))
			require.NoError(t, col.Resolve(ctx))
			require.NoError(t, shared.Del(t.Context(), prefix+"jti:"+keySuffix(t, shared, prefix+"jti:")).Err())
			h.n.Store(0)
			w[0].Count = 0

			ctx, col = deferred(t, store, "jti-1")
			require.NoError(t, rc.Count(ctx, time.Now(), w))
			assert.Equal(t, int64(2), w[0].Count)
			assert.Equal(t, int64(1), h.n.Load(), "one round trip for both")
			require.NoError(t, col.Resolve(ctx), "a new proof")
			assert.Equal(t, int64(1), h.n.Load(), "the verdict is known: nothing sent again")
			ttl, err := shared.PTTL(t.Context(), prefix+"jti:"+keySuffix(t, shared, prefix+"jti:")).Result()
			require.NoError(t, err)
			assert.InDelta(t, time.Minute, ttl, float64(5*time.Second), "the proof is remembered until its expiry")

			ctx, col = deferred(t, store, "jti-1")
			require.NoError(t, rc.Count(ctx, time.Now(), w))
			assert.Equal(t, int64(3), w[0].Count, "a replayed request's events count")
			assert.ErrorIs(t, col.Resolve(ctx), dpop.ErrReplayed)
			assert.Equal(t, int64(2), h.n.Load())
		})
	}
}

// keySuffix returns the part after prefix of the one key under prefix.
func keySuffix(t *testing.T, client *redis.Client, prefix string) string {
	t.Helper()
	keys, err := client.Keys(t.Context(), prefix+"*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	return keys[0][len(prefix):]
}

// TestCountLeavesOtherClientsReplay: a deferred check for another client
// stays pending (its collector sends it alone), and a Count without
// windows to send takes nothing.
func TestCountLeavesOtherClientsReplay(t *testing.T) {
	client := redistest.Shared(t)
	other := redistest.Client(t, client.Options().Addr)
	prefix := redistest.Prefix(t, client)
	rc := newCounter(t, client, rediscounter.WithKeyPrefix(prefix+"ctr:"), rediscounter.WithTimeout(functionalTimeout))
	store, err := redisreplay.New(other, redisreplay.WithKeyPrefix(prefix+"jti:"))
	require.NoError(t, err)
	ctx, col := deferred(t, store, "jti-1")
	w := []risk.Window{{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Hour, Add: 1}}
	require.NoError(t, rc.Count(ctx, time.Now(), w))
	keys, err := client.Keys(t.Context(), prefix+"jti:*").Result()
	require.NoError(t, err)
	assert.Empty(t, keys, "not sent by the counter")
	require.NoError(t, col.Resolve(ctx))
	keys, err = client.Keys(t.Context(), prefix+"jti:*").Result()
	require.NoError(t, err)
	assert.Len(t, keys, 1, "sent alone by Resolve")

	store, err = redisreplay.New(client, redisreplay.WithKeyPrefix(prefix+"jti:"))
	require.NoError(t, err)
	ctx, col = deferred(t, store, "jti-2")
	require.NoError(t, rc.Count(ctx, time.Now(), []risk.Window{{Event: "checkout", Key: risk.KeyCustomer, Length: time.Hour, Add: 1}}))
	require.NoError(t, col.Resolve(ctx), "a count with nothing to send leaves the check to Resolve")
	assert.ErrorIs(t, store.CheckAndStore(t.Context(), "jkt-1", "jti-2", time.Now().Add(time.Minute)), dpop.ErrReplayed)
}

// TestCountDeferredReplayNoScript: after SCRIPT FLUSH the pipelined
// EVALSHA answers NOSCRIPT; the count is made again with EVAL (a second
// round trip) and the replay check's verdict stands.
func TestCountDeferredReplayNoScript(t *testing.T) {
	srv := redistest.Start(t, "")
	client := redistest.Client(t, srv.Addr)
	rc := newCounter(t, client, rediscounter.WithTimeout(functionalTimeout))
	store, err := redisreplay.New(client)
	require.NoError(t, err)
	w := []risk.Window{{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Hour, Add: 1}}
	require.NoError(t, rc.Count(t.Context(), time.Now(), w))
	h := &roundTrips{}
	client.AddHook(h)
	ctx, col := deferred(t, store, "warm-up") // a connection in the pool
	require.NoError(t, rc.Count(ctx, time.Now(), w))
	require.NoError(t, col.Resolve(ctx))
	require.NoError(t, client.ScriptFlush(t.Context()).Err())
	h.n.Store(0)
	w[0].Count = 0
	ctx, col = deferred(t, store, "jti-1")
	require.NoError(t, rc.Count(ctx, time.Now(), w))
	assert.Equal(t, int64(3), w[0].Count)
	assert.Equal(t, int64(2), h.n.Load(), "the pipeline, then EVAL")
	require.NoError(t, col.Resolve(ctx))
}

// TestCountDeferredReplayRedisDown: Redis killed, the count fails and so
// does the replay check it carried: unavailable, never a new proof.
func TestCountDeferredReplayRedisDown(t *testing.T) {
	srv := redistest.Start(t, "")
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: 1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })
	rc := newCounter(t, client, rediscounter.WithTimeout(functionalTimeout))
	store, err := redisreplay.New(client)
	require.NoError(t, err)
	srv.Kill()
	ctx, col := deferred(t, store, "jti-1")
	w := []risk.Window{{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Hour, Add: 1}}
	requireUnavailable(t, rc.Count(ctx, time.Now(), w))
	requireNotNew(t, col.Resolve(ctx))
}

// requireNotNew checks that verdict is a failure (the guard refuses the
// proof as dpop_replay_unavailable): the store's, or the pipeline not run.
func requireNotNew(t *testing.T, verdict error) {
	t.Helper()
	require.Error(t, verdict)
	assert.True(t, errors.Is(verdict, dpop.ErrReplayCheckUnavailable) || errors.Is(verdict, replaydefer.ErrNotRun), "%v", verdict)
	assert.NotErrorIs(t, verdict, dpop.ErrReplayed)
	assert.NotContains(t, verdict.Error(), "jti-1")
}

// TestCountDeferredReplayRedisHung: Redis frozen (SIGSTOP), a Count
// carrying a replay check ends near the shorter of the two timeouts (here
// the store's), with and without ContextTimeoutEnabled, and both fail
// closed.
func TestCountDeferredReplayRedisHung(t *testing.T) {
	const counterTimeout, storeTimeout = 2 * time.Second, 200 * time.Millisecond
	for _, ctxTimeouts := range []bool{false, true} {
		t.Run("ContextTimeoutEnabled="+strconv.FormatBool(ctxTimeouts), func(t *testing.T) {
			srv := redistest.Start(t, "")
			client := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: ctxTimeouts})
			t.Cleanup(func() { _ = client.Close() })
			rc := newCounter(t, client, rediscounter.WithTimeout(counterTimeout))
			store, err := redisreplay.New(client, redisreplay.WithTimeout(storeTimeout))
			require.NoError(t, err)
			w := []risk.Window{{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Hour, Add: 1}}
			require.NoError(t, rc.Count(t.Context(), time.Now(), w))

			srv.Signal(t, syscall.SIGSTOP)
			t.Cleanup(func() { srv.Signal(t, syscall.SIGCONT) })
			ctx, col := deferred(t, store, "jti-1")
			start := time.Now()
			requireUnavailable(t, rc.Count(ctx, time.Now(), w))
			assert.Less(t, time.Since(start), counterTimeout, "the store's shorter timeout bounds the pipeline")
			requireNotNew(t, col.Resolve(ctx))
		})
	}
}

// tagged is a redis.UniversalClient of the user's own, held by value: a
// struct with a slice, which Go cannot compare with ==.
type tagged struct {
	*redis.Client
	tags []string
}

// TestCountNonComparableClient: a client of a type that cannot be
// compared (a struct value holding a slice) never panics the Count that
// finds a deferred check (the guard's request would crash): the check is
// left to the collector, which sends it alone.
func TestCountNonComparableClient(t *testing.T) {
	shared := redistest.Shared(t)
	prefix := redistest.Prefix(t, shared)
	client := tagged{Client: shared, tags: []string{"shop"}}
	rc := newCounter(t, client, rediscounter.WithKeyPrefix(prefix+"ctr:"), rediscounter.WithTimeout(functionalTimeout))
	store, err := redisreplay.New(client, redisreplay.WithKeyPrefix(prefix+"jti:"), redisreplay.WithTimeout(functionalTimeout))
	require.NoError(t, err)
	w := []risk.Window{{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Hour, Add: 1}}
	ctx, col := deferred(t, store, "jti-1")
	require.NotPanics(t, func() { require.NoError(t, rc.Count(ctx, time.Now(), w)) })
	assert.Equal(t, int64(1), w[0].Count)
	require.NoError(t, col.Resolve(ctx), "a new proof, checked alone")
	ctx, col = deferred(t, store, "jti-1")
	require.NotPanics(t, func() { require.NoError(t, rc.Count(ctx, time.Now(), w)) })
	assert.ErrorIs(t, col.Resolve(ctx), dpop.ErrReplayed)
}
