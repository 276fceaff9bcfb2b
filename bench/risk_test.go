package bench

import (
	"context"
	"crypto/rand"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/risk/rediscounter"
)

// The risk benchmark times one checkout decision: risk.Engine (the policy of
// risk/testdata/policy.json: seven rules, two velocity windows, counted in
// one Counter call) with in-memory counters and with risk/rediscounter (one
// EVALSHA), beside what a user would assemble for the same two velocity
// checks on Redis: go-redis with a hand-written sorted-set sliding window
// (one pipeline: ZADD, ZREMRANGEBYSCORE, ZCARD, PEXPIRE for the customer's
// checkouts; ZREMRANGEBYSCORE, ZCARD for the card's failed payments), and
// redis_rate (GCRA, one call per key: two round trips). The hand-written
// ones only count and compare: they decide nothing else and hash no key.

// riskCustomers is how many customers the loop rotates through, so that
// no window grows without bound during a run.
const riskCustomers = 1000

// Thresholds of the policy's two velocity rules.
const (
	riskCheckoutsPerHour  = 5 // checkout-burst: more than 5 checkouts per customer in 1h
	riskFailuresPer10Min  = 3 // card-testing: more than 3 payment_failed per card in 10m
	riskCheckoutWindow    = time.Hour
	riskFailedCardsWindow = 10 * time.Minute
)

// riskDecider decides one checkout for customer i with card i: flagged is
// true when a velocity rule (or anything else) would stop it.
type riskDecider func(ctx context.Context, customer, card string) (flagged bool, err error)

func riskSignals(customer, card string) risk.Signals {
	p := &authn.Principal{Subject: customer, ACR: "pwd", AuthTime: time.Now(), Binding: authn.BoundToDPoPKey, KeyThumbprint: "dev-1"}
	return risk.Signals{
		Principal: p, Customer: customer, Card: card, Amount: 5000, Currency: "EUR",
		History: risk.History{Orders: 4, MaxAmount: 50000, Devices: []string{"dev-0", "dev-1"}},
	}
}

func riskEngine(tb testing.TB, ctr risk.Counter) *risk.Engine {
	tb.Helper()
	p, err := risk.LoadFile("../risk/testdata/policy.json")
	require.NoError(tb, err)
	var opts []risk.Option
	if ctr != nil {
		opts = append(opts, risk.WithCounter(ctr))
	}
	e, err := risk.New(p, opts...)
	require.NoError(tb, err)
	return e
}

// ztkitDecider builds each customer's signals once, outside the timed
// decision, as a service has them at hand when it decides.
func ztkitDecider(e *risk.Engine) riskDecider {
	signals := map[string]*risk.Signals{}
	var mu sync.Mutex
	return func(ctx context.Context, customer, card string) (bool, error) {
		mu.Lock()
		s := signals[customer]
		if s == nil {
			v := riskSignals(customer, card)
			s = &v
			signals[customer] = s
		}
		mu.Unlock()
		d := e.Decide(ctx, "checkout", *s)
		return d.Outcome != risk.Allow, nil
	}
}

// handZSet is the sliding window a user writes on go-redis: one sorted set
// per key, a unique member per event scored by its time.
func handZSet(client redis.UniversalClient, prefix string) riskDecider {
	var seq atomic.Uint64
	return func(ctx context.Context, customer, card string) (bool, error) {
		pipe := client.Pipeline()
		checkouts, failures := queueZSet(ctx, pipe, prefix, customer, card, &seq)
		if _, err := pipe.Exec(ctx); err != nil {
			return false, err
		}
		return zsetOver(checkouts, failures), nil
	}
}

// queueZSet queues handZSet's commands for one checkout on pipe and returns
// the two counts they read, for zsetOver once pipe has run.
func queueZSet(ctx context.Context, pipe redis.Pipeliner, prefix, customer, card string, seq *atomic.Uint64) (checkouts, failures *redis.IntCmd) {
	now := time.Now()
	ms := now.UnixMilli()
	ck := prefix + "checkout:customer:" + customer
	fk := prefix + "payment_failed:card:" + card
	member := strconv.FormatInt(now.UnixNano(), 36) + "-" + strconv.FormatUint(seq.Add(1), 36)
	pipe.ZAdd(ctx, ck, redis.Z{Score: float64(ms), Member: member})
	pipe.ZRemRangeByScore(ctx, ck, "-inf", "("+strconv.FormatInt(ms-riskCheckoutWindow.Milliseconds()+1, 10))
	checkouts = pipe.ZCard(ctx, ck)
	pipe.PExpire(ctx, ck, riskCheckoutWindow)
	pipe.ZRemRangeByScore(ctx, fk, "-inf", "("+strconv.FormatInt(ms-riskFailedCardsWindow.Milliseconds()+1, 10))
	failures = pipe.ZCard(ctx, fk)
	return checkouts, failures
}

// zsetOver reports whether the counts queueZSet read cross a velocity
// threshold.
func zsetOver(checkouts, failures *redis.IntCmd) bool {
	return checkouts.Val() > riskCheckoutsPerHour || failures.Val() > riskFailuresPer10Min
}

// redisRate is github.com/go-redis/redis_rate (GCRA): one Allow per key, so
// two round trips; it limits a rate rather than counting a window.
func redisRate(client redis.UniversalClient, prefix string) riskDecider {
	l := redis_rate.NewLimiter(client)
	checkout := redis_rate.Limit{Rate: riskCheckoutsPerHour, Burst: riskCheckoutsPerHour, Period: riskCheckoutWindow}
	failures := redis_rate.Limit{Rate: riskFailuresPer10Min, Burst: riskFailuresPer10Min, Period: riskFailedCardsWindow}
	return func(ctx context.Context, customer, card string) (bool, error) {
		c, err := l.Allow(ctx, prefix+"checkout:"+customer, checkout)
		if err != nil {
			return false, err
		}
		f, err := l.AllowN(ctx, prefix+"payment_failed:"+card, failures, 0) // read only
		if err != nil {
			return false, err
		}
		return c.Allowed == 0 || f.Remaining == 0, nil
	}
}

type riskContender struct {
	name   string
	decide riskDecider
}

// riskTrips counts the commands and pipelines a client sends: its round trips.
type riskTrips struct{ n atomic.Int64 }

func (h *riskTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *riskTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *riskTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

func riskContenders(tb testing.TB) []riskContender {
	cs, _ := riskContendersTrips(tb)
	return cs
}

func riskContendersTrips(tb testing.TB) ([]riskContender, *riskTrips) {
	tb.Helper()
	addr := testenv.Require(tb, testenv.RedisAddrVar)
	// One client for every contender; ContextTimeoutEnabled lets go-redis
	// honour context deadlines itself (rediscounter then needs no goroutine).
	client := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	tb.Cleanup(func() { _ = client.Close() })
	prefix := "ztkit-bench:risk:" + rand.Text() + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			_ = client.Del(ctx, iter.Val()).Err()
		}
	})
	trips := &riskTrips{}
	client.AddHook(trips)
	rc, err := rediscounter.New(client, rediscounter.WithKeyPrefix(prefix+"ztkit:"), rediscounter.WithHashKey([]byte("bench-hash-key-0123456789abcdef")))
	require.NoError(tb, err)
	return []riskContender{
		{"ztkit-memory", ztkitDecider(riskEngine(tb, nil))},
		{"ztkit-redis", ztkitDecider(riskEngine(tb, rc))},
		{"go-redis-zset-hand", handZSet(client, prefix+"zset:")},
		{"redis_rate", redisRate(client, prefix+"rate:")},
	}, trips
}

// TestRiskEquivalence: every contender allows a customer's first five
// checkouts in the hour and stops the sixth. It logs the Redis round trips
// of one decision (after the first, which may load a script).
func TestRiskEquivalence(t *testing.T) {
	ctx := context.Background()
	contenders, trips := riskContendersTrips(t)
	want := map[string]int64{"ztkit-memory": 0, "ztkit-redis": 1, "go-redis-zset-hand": 1, "redis_rate": 2}
	for _, c := range contenders {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.decide(ctx, "cust-trips", "card-trips")
			require.NoError(t, err)
			before := trips.n.Load()
			_, err = c.decide(ctx, "cust-trips", "card-trips")
			require.NoError(t, err)
			t.Logf("%s: %d Redis round trips per decision", c.name, trips.n.Load()-before)
			assert.Equal(t, want[c.name], trips.n.Load()-before, "round trips per decision")

			for i := range riskCheckoutsPerHour {
				flagged, err := c.decide(ctx, "cust-eq", "card-eq")
				require.NoError(t, err)
				assert.False(t, flagged, "checkout %d", i+1)
			}
			flagged, err := c.decide(ctx, "cust-eq", "card-eq")
			require.NoError(t, err)
			assert.True(t, flagged, "the sixth checkout in an hour")
		})
	}
}

// BenchmarkRisk times one checkout decision per op, serially, rotating
// through riskCustomers customers and cards.
func BenchmarkRisk(b *testing.B) {
	ids := make([]string, riskCustomers)
	for i := range ids {
		ids[i] = "cust-" + strconv.Itoa(i)
	}
	for _, c := range riskContenders(b) {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			cpu := startCPU()
			for b.Loop() {
				id := ids[i%riskCustomers]
				if _, err := c.decide(ctx, id, id); err != nil {
					b.Fatal(err)
				}
				i++
			}
			cpu.report(b)
		})
	}
}
