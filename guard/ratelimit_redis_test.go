package guard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/internal/test/redistest"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/middleware"
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/risk/rediscounter"
)

// redisHashKey is the counters' key for hashing caller values, the same in
// every replica (as replicas of one service share it).
var redisHashKey = []byte("0123456789abcdef0123456789abcdef")

// redisReplica is replica on a Redis counter of its own, with its own
// go-redis client to addr, under prefix: what a replica process has.
func redisReplica(t *testing.T, rig *shoprig.Tokens, addr, prefix string, limits map[string][]risk.Limit, opts ...guard.Option) *guard.Guard {
	t.Helper()
	// One dial per call while Redis is down: go-redis's default (five
	// dials 100ms apart, each call retried) would only slow the test.
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: 1, DialTimeout: 200 * time.Millisecond, DialerRetries: 1})
	t.Cleanup(func() { _ = client.Close() })
	ctr, err := rediscounter.New(client, rediscounter.WithKeyPrefix(prefix), rediscounter.WithHashKey(redisHashKey),
		rediscounter.WithTimeout(5*time.Second)) // generous: -race on a loaded machine
	require.NoError(t, err)
	return replica(t, rig, ctr, limits, opts...)
}

// redisPrefix returns a key prefix no other test or run uses, and deletes
// its keys from the Redis at addr when the test ends.
func redisPrefix(t testing.TB, addr string) string {
	t.Helper()
	return redistest.Prefix(t, redistest.Client(t, addr))
}

// TestRateLimitRedisReplicasShareOneLimit: N replicas (goroutines, each
// with its own guard, limiter, go-redis client and rediscounter.Counter on
// the test Redis) fire at one customer's limit at once; exactly Max
// requests get through across all of them, every other one is a 429 with
// Retry-After; a second round in the same window gets none through, and
// the customer stays limited while another is not. The burst case
// releases many goroutines per replica at the same instant.
func TestRateLimitRedisReplicasShareOneLimit(t *testing.T) {
	addr := testenv.Require(t, testenv.RedisAddrVar)
	tests := []struct {
		name                         string
		replicas, workers, perWorker int
		limit                        int64
	}{
		{name: "replicas", replicas: 8, workers: 1, perWorker: 50, limit: 37},
		{name: "burst", replicas: 8, workers: 16, perWorker: 4, limit: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := shoprig.NewTokens(t)
			prefix := redisPrefix(t, addr)
			limits := map[string][]risk.Limit{"orders": {{Name: "orders_per_customer", Key: risk.KeyCustomer, Window: time.Minute, Max: tt.limit}}}
			req := bearerRequest(t, rig, "customer-1", "192.0.2.7")
			replicas := make([]*guard.Guard, tt.replicas)
			for i := range replicas {
				replicas[i] = redisReplica(t, rig, addr, prefix, limits)
				require.Nil(t, replicas[i].Check(t.Context(), bearerRequest(t, rig, "warm-up", "192.0.2.8")).Refusal) // loads the script
			}
			total := int64(tt.replicas * tt.workers * tt.perWorker)
			// fire releases every goroutine of every replica at once and
			// checks that want requests of total get through.
			fire := func(round string, want int64) {
				t.Helper()
				var allowed, limited, other atomic.Int64
				var wg sync.WaitGroup
				start := make(chan struct{})
				for _, g := range replicas {
					for range tt.workers {
						wg.Go(func() {
							<-start
							for range tt.perWorker {
								res := g.Check(context.Background(), req)
								switch {
								case res.Refusal == nil:
									allowed.Add(1)
								case res.Refusal.Class == guard.ClassRateLimited && res.Refusal.Reason == guard.ReasonRateLimited &&
									res.Refusal.HTTPStatus() == http.StatusTooManyRequests && res.Refusal.RetryAfterSeconds() == 60:
									limited.Add(1)
								default:
									other.Add(1)
								}
							}
						})
					}
				}
				began := time.Now()
				close(start)
				wg.Wait()
				t.Logf("%s: %d replicas × %d goroutines: %d allowed of %d (limit %d), %d limited, in %s", round,
					tt.replicas, tt.workers, allowed.Load(), total, tt.limit, limited.Load(), time.Since(began).Round(time.Millisecond))
				assert.Equal(t, want, allowed.Load(), "%s: exactly the limit across replicas", round)
				assert.Equal(t, total-want, limited.Load(), "%s: every other request is rate limited", round)
				assert.Zero(t, other.Load(), "%s: no other outcome (no counter error)", round)
			}
			fire("first", tt.limit)
			fire("again in the window", 0)

			// A fresh replica sees the shared count: the customer stays
			// limited, another customer is not.
			g := redisReplica(t, rig, addr, prefix, limits)
			res := g.Check(t.Context(), req)
			require.NotNil(t, res.Refusal)
			assert.Equal(t, guard.ReasonRateLimited, res.Refusal.Reason)
			assert.Nil(t, g.Check(t.Context(), bearerRequest(t, rig, "customer-2", "192.0.2.7")).Refusal)
		})
	}
}

// TestRateLimitRedisStoppedMidRun runs two replicas on a private Redis,
// one whose limit fails closed (the default) and one whose limit fails
// open, kills Redis, and checks the fallback through guard.Check and the
// HTTP middleware: 503 rate_limit_unavailable for the closed limit, the
// request let through for the open one. Redis then starts again (empty) on
// the same port, and the same guards enforce their limits again without a
// restart.
func TestRateLimitRedisStoppedMidRun(t *testing.T) {
	const limit = 3
	srv := redistest.Start(t, "")
	rig := shoprig.NewTokens(t)
	prefix := redisPrefix(t, srv.Addr)
	limitsOf := func(failOpen bool) map[string][]risk.Limit {
		name := "orders_closed"
		if failOpen {
			name = "orders_open"
		}
		return map[string][]risk.Limit{"orders": {{Name: name, Key: risk.KeyCustomer, Window: time.Minute, Max: limit, FailOpen: failOpen}}}
	}
	closed := redisReplica(t, rig, srv.Addr, prefix, limitsOf(false))
	open := redisReplica(t, rig, srv.Addr, prefix, limitsOf(true))
	req := bearerRequest(t, rig, "customer-1", "192.0.2.7")

	mux := http.NewServeMux()
	mux.Handle("GET /orders/{id}", middleware.FromGuard(closed)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	serveHTTP := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, externalURL+"/orders/123", nil)
		r.Header.Set("Authorization", req.Authorization[0])
		r.RemoteAddr = "192.0.2.7:40000"
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		return rec
	}

	// enforced checks that each guard lets exactly limit requests of a
	// fresh customer through (one of the closed guard's over HTTP), then
	// limits it.
	enforced := func(customer string) {
		t.Helper()
		r := bearerRequest(t, rig, customer, "192.0.2.7")
		for _, g := range []*guard.Guard{closed, open} {
			for i := range limit {
				assert.Nil(t, g.Check(t.Context(), r).Refusal, "request %d", i)
			}
			res := g.Check(t.Context(), r)
			require.NotNil(t, res.Refusal)
			assert.Equal(t, guard.ReasonRateLimited, res.Refusal.Reason)
		}
	}
	enforced("customer-0")
	rec := serveHTTP()
	assert.Equal(t, http.StatusNoContent, rec.Code)
	for range limit - 1 {
		require.Nil(t, closed.Check(t.Context(), req).Refusal)
	}
	rec = serveHTTP()
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "60", rec.Header().Get("Retry-After"))

	srv.Kill()

	down := time.Now()
	for range 3 {
		res := closed.Check(t.Context(), req)
		require.NotNil(t, res.Refusal, "a closed limit never lets a request through unmetered")
		assert.Equal(t, guard.ClassUnavailable, res.Refusal.Class)
		assert.Equal(t, guard.ReasonRateLimitUnavailable, res.Refusal.Reason)
		assert.Equal(t, http.StatusServiceUnavailable, res.Refusal.HTTPStatus())

		rec := serveHTTP()
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Empty(t, rec.Header().Get("Retry-After"))

		assert.Nil(t, open.Check(t.Context(), req).Refusal, "a fail-open limit lets the request through")
	}

	t.Logf("Redis down: 9 decisions (3 closed, 3 closed over HTTP, 3 open) in %s", time.Since(down).Round(time.Millisecond))

	// Redis back, empty (no persistence), on the same port.
	srv2 := redistest.Start(t, srv.Addr)
	back := time.Now()
	require.Eventually(t, func() bool {
		return closed.Check(t.Context(), bearerRequest(t, rig, "probe", "192.0.2.7")).Refusal == nil
	}, 10*time.Second, 50*time.Millisecond, "recovery without restarting the guard")
	t.Logf("Redis back: limits enforced again %s after it answered PING", time.Since(back).Round(time.Millisecond))
	assert.Equal(t, http.StatusNoContent, serveHTTP().Code)
	enforced("customer-3")
	srv2.Kill()
}

// TestRateLimitRedisKilledUnderLoad kills a private Redis while replicas
// fire at a closed limit concurrently: up to the kill requests get through,
// every request that starts after it is refused as rate_limit_unavailable
// (none is let through unmetered), and once Redis is back every replica
// lets requests through again, without a restart.
func TestRateLimitRedisKilledUnderLoad(t *testing.T) {
	const replicas, workers = 4, 4
	srv := redistest.Start(t, "")
	rig := shoprig.NewTokens(t)
	prefix := redisPrefix(t, srv.Addr)
	limits := map[string][]risk.Limit{"orders": {{Name: "orders_per_customer", Key: risk.KeyCustomer, Window: time.Minute, Max: 1_000_000}}}
	req := bearerRequest(t, rig, "customer-1", "192.0.2.7")
	gs := make([]*guard.Guard, replicas)
	for i := range gs {
		gs[i] = redisReplica(t, rig, srv.Addr, prefix, limits)
	}

	var killed atomic.Bool
	var allowed, unavailable, afterKill, unmetered, other atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, g := range gs {
		for range workers {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					after := killed.Load()
					res := g.Check(context.Background(), req)
					switch {
					case res.Refusal == nil && after:
						unmetered.Add(1)
					case res.Refusal == nil:
						allowed.Add(1)
					case res.Refusal.Reason == guard.ReasonRateLimitUnavailable && res.Refusal.HTTPStatus() == http.StatusServiceUnavailable:
						unavailable.Add(1)
					default:
						other.Add(1)
					}
					if after {
						afterKill.Add(1)
					}
				}
			})
		}
	}
	require.Eventually(t, func() bool { return allowed.Load() >= 100 }, 10*time.Second, 5*time.Millisecond)
	srv.Kill()
	killed.Store(true)
	assert.Eventually(t, func() bool { return afterKill.Load() >= 100 }, 10*time.Second, 5*time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("killed under load: %d allowed before the kill, %d refused as unavailable (%d started after the kill), %d let through after it",
		allowed.Load(), unavailable.Load(), afterKill.Load(), unmetered.Load())
	assert.Zero(t, unmetered.Load(), "a request that started after the kill was let through")
	assert.Zero(t, other.Load(), "only allowed or rate_limit_unavailable")
	assert.GreaterOrEqual(t, unavailable.Load(), afterKill.Load())

	srv2 := redistest.Start(t, srv.Addr)
	back := time.Now()
	for i, g := range gs {
		assert.Eventually(t, func() bool { return g.Check(t.Context(), req).Refusal == nil }, 10*time.Second, 20*time.Millisecond,
			"replica %d recovers without a restart", i)
	}
	t.Logf("Redis back: every replica lets requests through again %s after it answered PING", time.Since(back).Round(time.Millisecond))
	srv2.Kill()
}
