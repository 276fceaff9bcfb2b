package webhook_test

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/internal/test/redistest"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/redisreplay"
	"github.com/ztkit/ztkit/webhook"
)

// presentConcurrently verifies the same message from n goroutines, spread over
// the verifiers, and counts the outcomes.
func presentConcurrently(t *testing.T, verifiers []*webhook.Verifier, n int, h http.Header, body []byte) (accepted, replayed int) {
	t.Helper()
	var acc, rep, other atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(v *webhook.Verifier) {
			defer wg.Done()
			<-start
			_, err := v.Verify(context.Background(), h.Clone(), body)
			switch {
			case err == nil:
				acc.Add(1)
			case assert.ErrorIs(t, err, httpsig.ErrReplayed):
				rep.Add(1)
			default:
				other.Add(1)
			}
		}(verifiers[i%len(verifiers)])
	}
	close(start)
	wg.Wait()
	require.Zero(t, other.Load())
	return int(acc.Load()), int(rep.Load())
}

func TestConcurrentSameMessageAcceptedOnce(t *testing.T) {
	body := []byte(`{"type":"invoice.paid"}`)
	now := time.Now()
	ts := now.Unix()
	t.Run("standard", func(t *testing.T) {
		v := newStandard(t, newClock(now))
		h := standardHeader("msg_race", ts, standardV1(t, testSecret, "msg_race", ts, body))
		acc, rep := presentConcurrently(t, []*webhook.Verifier{v}, 64, h, body)
		assert.Equal(t, 1, acc)
		assert.Equal(t, 63, rep)
	})
	t.Run("stripe", func(t *testing.T) {
		v := newStripe(t, newClock(now))
		h := stripeHeader("t=" + strconv.FormatInt(ts, 10) + ",v1=" + stripeV1(stripeSecret, ts, body))
		acc, rep := presentConcurrently(t, []*webhook.Verifier{v}, 64, h, body)
		assert.Equal(t, 1, acc)
		assert.Equal(t, 63, rep)
	})
}

// redisStore returns a store of its own connection to the Redis client talks
// to, under prefix: one replica's store.
func redisStore(t *testing.T, client *redis.Client, prefix string) *redisreplay.Store {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: client.Options().Addr})
	t.Cleanup(func() { _ = c.Close() })
	s, err := redisreplay.New(c, redisreplay.WithKeyPrefix(prefix), redisreplay.WithTimeout(10*time.Second))
	require.NoError(t, err)
	return s
}

func TestRedisReplicas(t *testing.T) {
	client := redistest.Shared(t)
	prefix := redistest.Prefix(t, client)
	now := time.Now()
	body := []byte(`{"type":"invoice.paid"}`)
	ts := now.Unix()

	// Three replicas, each with its own client to the same Redis.
	var replicas []*webhook.Verifier
	for i := 0; i < 3; i++ {
		replicas = append(replicas, newStandard(t, newClock(now), webhook.WithReplayStore(redisStore(t, client, prefix)), webhook.WithScope("payments/acme")))
	}

	h := standardHeader("msg_redis", ts, standardV1(t, testSecret, "msg_redis", ts, body))
	_, err := replicas[0].Verify(context.Background(), h, body)
	require.NoError(t, err)
	for i, v := range replicas {
		_, err := v.Verify(context.Background(), h, body)
		assert.ErrorIs(t, err, httpsig.ErrReplayed, "replica %d", i)
	}

	// Records live until the message would be expired anyway.
	ttl, err := client.PTTL(context.Background(), onlyKey(t, client, prefix)).Result()
	require.NoError(t, err)
	want := time.Until(time.Unix(ts, 0).Add(webhook.DefaultTolerance))
	assert.InDelta(t, want.Seconds(), ttl.Seconds(), 2)

	// One new message presented to all replicas at once: exactly one accepts.
	h2 := standardHeader("msg_redis_race", ts, standardV1(t, testSecret, "msg_redis_race", ts, body))
	acc, rep := presentConcurrently(t, replicas, 48, h2, body)
	assert.Equal(t, 1, acc)
	assert.Equal(t, 47, rep)

	// Stripe through the same store: its own records.
	sv := newStripe(t, newClock(now), webhook.WithReplayStore(redisStore(t, client, prefix)))
	sh := stripeHeader("t=" + strconv.FormatInt(ts, 10) + ",v1=" + stripeV1(stripeSecret, ts, body))
	acc, rep = presentConcurrently(t, []*webhook.Verifier{sv}, 16, sh, body)
	assert.Equal(t, 1, acc)
	assert.Equal(t, 15, rep)
}

// onlyKey returns the one key under prefix.
func onlyKey(t *testing.T, client *redis.Client, prefix string) string {
	t.Helper()
	keys, err := client.Keys(context.Background(), prefix+"*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	return keys[0]
}

// deadRedisStore returns a redisreplay.Store of a Redis that does not answer.
func deadRedisStore(t *testing.T) *redisreplay.Store {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}) // nothing listens here
	t.Cleanup(func() { _ = client.Close() })
	store, err := redisreplay.New(client, redisreplay.WithTimeout(200*time.Millisecond))
	require.NoError(t, err)
	return store
}

func TestRedisDownFailsClosed(t *testing.T) {
	store := deadRedisStore(t)
	body := []byte(`{}`)
	v := newStandard(t, newClock(t0), webhook.WithReplayStore(store))
	_, err := v.Verify(context.Background(), standardHeader("msg_1", t0.Unix(), standardV1(t, testSecret, "msg_1", t0.Unix(), body)), body)
	require.ErrorIs(t, err, httpsig.ErrUnavailable)
	assert.ErrorIs(t, err, dpop.ErrReplayCheckUnavailable)
}

// TestReplayRecordOutlivesTheWindowOnAnyClock: the timestamp window is read on
// the verifier's clock (WithClock), a record's lifetime on the replay store's
// own, which may be another (redisreplay and the default store read
// time.Now). Whatever the two say, a message is refused as replayed for as long
// as the verifier would accept it.
func TestReplayRecordOutlivesTheWindowOnAnyClock(t *testing.T) {
	const year = 365 * 24 * time.Hour
	body := []byte(`{"type":"invoice.paid"}`)
	for name, skew := range map[string]time.Duration{
		"same clock":           0,
		"store a year ahead":   year,
		"store a year behind":  -year,
		"store a second ahead": time.Second,
	} {
		t.Run(name, func(t *testing.T) {
			clk := newClock(t0)
			storeClk := newClock(t0.Add(skew))
			store, err := dpop.NewMemoryReplayStore(dpop.WithClock(storeClk.Now))
			require.NoError(t, err)
			verifiers := map[string]*webhook.Verifier{
				"standard": newStandard(t, clk, webhook.WithReplayStore(store)),
				"stripe":   newStripe(t, clk, webhook.WithReplayStore(store)),
			}
			ts := t0.Unix()
			headers := map[string]http.Header{
				"standard": standardHeader("msg_clock", ts, standardV1(t, testSecret, "msg_clock", ts, body)),
				"stripe":   stripeHeader("t=" + strconv.FormatInt(ts, 10) + ",v1=" + stripeV1(stripeSecret, ts, body)),
			}
			for scheme, v := range verifiers {
				_, err := v.Verify(context.Background(), headers[scheme], body)
				require.NoError(t, err, scheme)
			}
			// Up to the end of the window, on both clocks at once.
			for _, step := range []time.Duration{2 * time.Second, time.Minute, webhook.DefaultTolerance - time.Minute - 2*time.Second} {
				clk.Add(step)
				storeClk.Add(step)
				for scheme, v := range verifiers {
					_, err := v.Verify(context.Background(), headers[scheme], body)
					require.ErrorIs(t, err, httpsig.ErrReplayed, "%s, %s after the timestamp", scheme, clk.Now().Sub(t0))
				}
			}
			clk.Add(time.Second)
			storeClk.Add(time.Second)
			for scheme, v := range verifiers {
				_, err := v.Verify(context.Background(), headers[scheme], body)
				require.ErrorIs(t, err, httpsig.ErrExpired, scheme)
			}
		})
	}
}

// TestReplayWithTheLargestTolerance: a tolerance as large as a Duration goes
// does not overflow the record's lifetime into the past.
func TestReplayWithTheLargestTolerance(t *testing.T) {
	body := []byte(`{}`)
	clk := newClock(t0)
	v := newStandard(t, clk, webhook.WithTolerance(time.Duration(math.MaxInt64)))
	h := standardHeader("msg_huge", t0.Unix(), standardV1(t, testSecret, "msg_huge", t0.Unix(), body))
	_, err := v.Verify(context.Background(), h, body)
	require.NoError(t, err)
	clk.Add(24 * time.Hour)
	_, err = v.Verify(context.Background(), h, body)
	require.ErrorIs(t, err, httpsig.ErrReplayed)
}
