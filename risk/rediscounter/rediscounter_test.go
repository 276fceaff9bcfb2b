package rediscounter_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/internal/test/redistest"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/risk/rediscounter"
)

// Values that must never show up in a key name or an error message.
const (
	secretCustomer = "customer-must-not-leak-4b1e"
	secretCard     = "card-fingerprint-must-not-leak-77d0"
)

// functionalTimeout is generous, so that a loaded machine running -race does not flake.
const functionalTimeout = 5 * time.Second

var testHashKey = []byte("0123456789abcdef0123456789abcdef")

func newCounter(tb testing.TB, client redis.UniversalClient, opts ...rediscounter.Option) *rediscounter.Counter {
	tb.Helper()
	c, err := rediscounter.New(client, opts...)
	require.NoError(tb, err)
	return c
}

func requireUnavailable(tb testing.TB, err error) {
	tb.Helper()
	require.Error(tb, err, "a count that could not be made must never read as zero")
	require.ErrorIs(tb, err, risk.ErrCounterUnavailable)
	assert.NotContains(tb, err.Error(), secretCustomer)
	assert.NotContains(tb, err.Error(), secretCard)
}

func TestNew(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = client.Close() })
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	t.Cleanup(func() { _ = cluster.Close() })

	tests := []struct {
		name    string
		client  redis.UniversalClient
		opts    []rediscounter.Option
		wantErr bool
	}{
		{name: "defaults", client: client},
		{name: "all options", client: client, opts: []rediscounter.Option{rediscounter.WithKeyPrefix("svc:"), rediscounter.WithTimeout(time.Second), rediscounter.WithHashKey(testHashKey)}},
		{name: "nil option ignored", client: client, opts: []rediscounter.Option{nil}},
		{name: "nil hash key keeps default", client: client, opts: []rediscounter.Option{rediscounter.WithHashKey(nil)}},
		{name: "cluster with hash tag", client: cluster, opts: []rediscounter.Option{rediscounter.WithKeyPrefix("ztkit:risk:{ctr}:")}},
		{name: "cluster without hash tag", client: cluster, wantErr: true},
		{name: "cluster with empty hash tag", client: cluster, opts: []rediscounter.Option{rediscounter.WithKeyPrefix("ztkit:{}:")}, wantErr: true},
		{name: "nil client", client: nil, wantErr: true},
		{name: "nil *redis.Client", client: (*redis.Client)(nil), wantErr: true},
		{name: "nil *redis.ClusterClient", client: (*redis.ClusterClient)(nil), wantErr: true},
		{name: "nil *redis.Ring", client: (*redis.Ring)(nil), wantErr: true},
		{name: "empty prefix", client: client, opts: []rediscounter.Option{rediscounter.WithKeyPrefix("")}, wantErr: true},
		{name: "short hash key", client: client, opts: []rediscounter.Option{rediscounter.WithHashKey([]byte("short"))}, wantErr: true},
		{name: "zero timeout", client: client, opts: []rediscounter.Option{rediscounter.WithTimeout(0)}, wantErr: true},
		{name: "negative timeout", client: client, opts: []rediscounter.Option{rediscounter.WithTimeout(-time.Second)}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := rediscounter.New(tt.client, tt.opts...)
			if tt.wantErr {
				require.ErrorIs(t, err, rediscounter.ErrInvalidConfig)
				assert.Nil(t, c)
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, c)
		})
	}
}

// TestCountSlidesLikeMemoryCounter replays one sequence of events at injected
// times through the Redis counter and a MemoryCounter: both must give the
// same count at every step, as windows fill, slide and empty.
func TestCountSlidesLikeMemoryCounter(t *testing.T) {
	ctx := context.Background()
	client := redistest.Shared(t)
	rc := newCounter(t, client, rediscounter.WithKeyPrefix(redistest.Prefix(t, client)), rediscounter.WithTimeout(functionalTimeout))
	mc := risk.NewMemoryCounter(0)

	base := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	mk := func(add int64) []risk.Window {
		return []risk.Window{
			{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: 16 * time.Second, Add: add},
			{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Hour, Add: add},
			{Event: "payment_failed", Key: risk.KeyCard, Value: secretCard, Length: 10 * time.Minute, Add: add},
			{Event: "payment_failed", Key: risk.KeyCard, Value: "", Length: 10 * time.Minute, Add: add}, // no card
		}
	}
	// Steps in seconds after base; read-only steps add 0.
	steps := []struct {
		at  time.Duration
		add int64
	}{
		{0, 1}, {0, 1}, {500 * time.Millisecond, 1}, {time.Second, 0}, {3 * time.Second, 2},
		{15 * time.Second, 0}, {16 * time.Second, 0}, {16500 * time.Millisecond, 1}, {19 * time.Second, 0},
		{31 * time.Second, 0}, {40 * time.Second, 0}, {9 * time.Minute, 1}, {10*time.Minute + 500*time.Millisecond, 0},
		{11 * time.Minute, 0}, {59 * time.Minute, 0}, {61 * time.Minute, 0}, {2 * time.Hour, 1},
	}
	for _, s := range steps {
		now := base.Add(s.at)
		got, want := mk(s.add), mk(s.add)
		require.NoError(t, rc.Count(ctx, now, got), "at %s", s.at)
		require.NoError(t, mc.Count(ctx, now, want))
		for i := range got {
			assert.Equal(t, want[i].Count, got[i].Count, "at %s, window %d", s.at, i)
		}
	}
	// Spot checks, independent of MemoryCounter.
	w := mk(0)
	require.NoError(t, rc.Count(ctx, base.Add(2*time.Hour), w))
	assert.Equal(t, []int64{1, 1, 1, 0}, []int64{w[0].Count, w[1].Count, w[2].Count, w[3].Count})
}

// TestCountClockAhead: an event counted by a replica whose clock runs ahead
// is not counted by the others before their clocks reach it.
func TestCountClockAhead(t *testing.T) {
	ctx := context.Background()
	client := redistest.Shared(t)
	rc := newCounter(t, client, rediscounter.WithKeyPrefix(redistest.Prefix(t, client)), rediscounter.WithTimeout(functionalTimeout))
	base := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	w := func(add int64) []risk.Window {
		return []risk.Window{{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: 16 * time.Second, Add: add}}
	}
	ahead := w(1)
	require.NoError(t, rc.Count(ctx, base.Add(5*time.Second), ahead))
	assert.Equal(t, int64(1), ahead[0].Count)
	behind := w(1)
	require.NoError(t, rc.Count(ctx, base, behind))
	assert.Equal(t, int64(1), behind[0].Count, "the event ahead is not counted yet")
	later := w(0)
	require.NoError(t, rc.Count(ctx, base.Add(5*time.Second), later))
	assert.Equal(t, int64(2), later[0].Count)
}

// roundTrips counts the commands and pipelines a client sends.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestOneRoundTrip: one decision reading three windows is one EVALSHA.
func TestOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	client := redistest.Shared(t)
	rc := newCounter(t, client, rediscounter.WithKeyPrefix(redistest.Prefix(t, client)), rediscounter.WithTimeout(functionalTimeout))
	w := []risk.Window{
		{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Hour, Add: 1},
		{Event: "checkout", Key: risk.KeyCard, Value: secretCard, Length: time.Hour, Add: 1},
		{Event: "payment_failed", Key: risk.KeyCard, Value: secretCard, Length: 10 * time.Minute},
	}
	require.NoError(t, rc.Count(ctx, time.Now(), w)) // loads the script (NOSCRIPT, then EVAL) if needed
	h := &roundTrips{}
	client.AddHook(h)
	for range 5 {
		require.NoError(t, rc.Count(ctx, time.Now(), w))
	}
	assert.Equal(t, int64(5), h.n.Load(), "one round trip per call")
	assert.Equal(t, []int64{6, 6, 0}, []int64{w[0].Count, w[1].Count, w[2].Count})
}

// TestCountEdgeWindows: the same window twice in one call counts both
// additions in order; a window shorter than 16µs still counts (in 1µs
// buckets); a zero or negative length is left at 0 and not sent.
func TestCountEdgeWindows(t *testing.T) {
	ctx := context.Background()
	client := redistest.Shared(t)
	rc := newCounter(t, client, rediscounter.WithKeyPrefix(redistest.Prefix(t, client)), rediscounter.WithTimeout(functionalTimeout))
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	w := []risk.Window{
		{Event: "e", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Minute, Add: 1},
		{Event: "e", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Minute, Add: 1},
		{Event: "e", Key: risk.KeyCustomer, Value: secretCustomer, Length: 5 * time.Microsecond, Add: 3},
		{Event: "e", Key: risk.KeyCustomer, Value: secretCustomer, Length: 0, Add: 1, Count: 7},
		{Event: "e", Key: risk.KeyCustomer, Value: secretCustomer, Length: -time.Second, Add: 1, Count: 7},
	}
	require.NoError(t, rc.Count(ctx, now, w))
	assert.Equal(t, []int64{1, 2, 3, 0, 0}, []int64{w[0].Count, w[1].Count, w[2].Count, w[3].Count, w[4].Count})
	tiny := []risk.Window{{Event: "e", Key: risk.KeyCustomer, Value: secretCustomer, Length: 5 * time.Microsecond}}
	require.NoError(t, rc.Count(ctx, now.Add(15*time.Microsecond), tiny))
	assert.Equal(t, int64(3), tiny[0].Count, "16 buckets of 1µs")
	require.NoError(t, rc.Count(ctx, now.Add(16*time.Microsecond), tiny))
	assert.Zero(t, tiny[0].Count)
}

// TestCountRealExpiry checks that keys carry a TTL of about one window and
// vanish on their own, and that reads create nothing.
func TestCountRealExpiry(t *testing.T) {
	ctx := context.Background()
	client := redistest.Shared(t)
	prefix := redistest.Prefix(t, client)
	rc := newCounter(t, client, rediscounter.WithKeyPrefix(prefix), rediscounter.WithTimeout(functionalTimeout))

	read := []risk.Window{{Event: "login_failed", Key: risk.KeyIP, Value: "203.0.113.0/24", Length: time.Second}}
	require.NoError(t, rc.Count(ctx, time.Now(), read))
	assert.Zero(t, read[0].Count)
	keys, err := client.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	assert.Empty(t, keys, "a read creates no key")

	for range 3 {
		w := []risk.Window{{Event: "login_failed", Key: risk.KeyIP, Value: "203.0.113.0/24", Length: time.Second, Add: 1}}
		require.NoError(t, rc.Count(ctx, time.Now(), w))
	}
	read[0].Count = -1
	require.NoError(t, rc.Count(ctx, time.Now(), read))
	assert.Equal(t, int64(3), read[0].Count)

	keys, err = client.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	pttl, err := client.PTTL(ctx, keys[0]).Result()
	require.NoError(t, err)
	assert.Greater(t, pttl, 900*time.Millisecond)
	assert.LessOrEqual(t, pttl, time.Second+time.Second/16+time.Millisecond, "one window and one bucket")

	require.Eventually(t, func() bool {
		n, err := client.Exists(ctx, keys[0]).Result()
		return err == nil && n == 0
	}, 5*time.Second, 50*time.Millisecond, "the key expires in Redis")
	read[0].Count = -1
	require.NoError(t, rc.Count(ctx, time.Now(), read))
	assert.Zero(t, read[0].Count, "the window slid past every event")
}

// TestConcurrentReplicas: many goroutines, each replica with its own client,
// count into the same windows; no increment is lost.
func TestConcurrentReplicas(t *testing.T) {
	ctx := context.Background()
	addr := testenv.Require(t, testenv.RedisAddrVar)
	admin := redistest.Shared(t)
	prefix := redistest.Prefix(t, admin)
	const replicas, perReplica, calls = 8, 8, 25
	now := time.Now()

	var wg sync.WaitGroup
	errs := make(chan error, replicas*perReplica*calls)
	for range replicas {
		rc := newCounter(t, redistest.Client(t, addr), rediscounter.WithKeyPrefix(prefix), rediscounter.WithHashKey(testHashKey), rediscounter.WithTimeout(functionalTimeout))
		for range perReplica {
			wg.Go(func() {
				for range calls {
					w := []risk.Window{
						{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Hour, Add: 1},
						{Event: "checkout", Key: risk.KeyCard, Value: secretCard, Length: time.Hour, Add: 2},
					}
					errs <- rc.Count(ctx, now, w)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	rc := newCounter(t, admin, rediscounter.WithKeyPrefix(prefix), rediscounter.WithHashKey(testHashKey))
	w := []risk.Window{
		{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Hour},
		{Event: "checkout", Key: risk.KeyCard, Value: secretCard, Length: time.Hour},
	}
	require.NoError(t, rc.Count(ctx, now, w))
	assert.Equal(t, int64(replicas*perReplica*calls), w[0].Count)
	assert.Equal(t, int64(2*replicas*perReplica*calls), w[1].Count)
}

// TestKeysHoldNoValue scans every key the counter wrote: none holds a value
// in clear, all have the same length, and the hash key changes them.
func TestKeysHoldNoValue(t *testing.T) {
	ctx := context.Background()
	client := redistest.Shared(t)
	ip := netip.MustParseAddr("198.51.100.7")
	s := risk.Signals{Customer: secretCustomer, Card: secretCard, IP: ip}
	values := []string{secretCustomer, secretCard, "198.51.100", "198.51.100.0/24", "c2VjcmV0"}

	scan := func(prefix string) []string {
		var all []string
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			all = append(all, iter.Val())
		}
		require.NoError(t, iter.Err())
		return all
	}
	write := func(prefix string, opts ...rediscounter.Option) []string {
		rc := newCounter(t, client, append([]rediscounter.Option{rediscounter.WithKeyPrefix(prefix), rediscounter.WithTimeout(functionalTimeout)}, opts...)...)
		eng, err := risk.LoadFile(filepath.Join("..", "testdata", "policy.json"))
		require.NoError(t, err)
		e, err := risk.New(eng, risk.WithCounter(rc))
		require.NoError(t, err)
		_ = e.Decide(ctx, "checkout", s)
		require.NoError(t, e.Record(ctx, "payment_failed", s))
		require.NoError(t, e.Record(ctx, "login_failed", s))
		return scan(prefix)
	}
	plain := write(redistest.Prefix(t, client))
	keyed := write(redistest.Prefix(t, client), rediscounter.WithHashKey(testHashKey))
	require.Len(t, plain, 3, "checkout per customer, payment_failed per card, login_failed per IP")
	require.Len(t, keyed, 3)
	for _, k := range append(plain, keyed...) {
		for _, v := range values {
			assert.True(t, !strings.Contains(k, v), "a key holds a value in clear")
		}
	}
	for _, k := range append(plain, keyed...) {
		fields, err := client.HGetAll(ctx, k).Result()
		require.NoError(t, err)
		require.NotEmpty(t, fields)
		for f, v := range fields {
			_, ferr := strconv.ParseInt(f, 10, 64)
			_, verr := strconv.ParseInt(v, 10, 64)
			assert.True(t, ferr == nil && verr == nil, "a window holds bucket numbers and counts only")
		}
	}
	suffixes := map[string]bool{}
	for _, k := range append(plain, keyed...) {
		suffixes[k[strings.LastIndexByte(k, ':')+1:]] = true
		assert.Len(t, k[strings.LastIndexByte(k, ':')+1:], 43)
	}
	assert.Len(t, suffixes, 6, "the hash key and the prefix change every key")
}

// TestNoScript: after SCRIPT FLUSH (as after a restart) the next call loads
// the script again and succeeds. It uses a private Redis, not to flush the
// shared one's scripts.
func TestNoScript(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, "")
	client := redistest.Client(t, srv.Addr)
	rc := newCounter(t, client, rediscounter.WithTimeout(functionalTimeout))
	w := []risk.Window{{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Hour, Add: 1}}
	require.NoError(t, rc.Count(ctx, time.Now(), w))
	require.NoError(t, client.ScriptFlush(ctx).Err())
	w[0].Count = 0
	require.NoError(t, rc.Count(ctx, time.Now(), w))
	assert.Equal(t, int64(2), w[0].Count)
}

func TestCountFailsClosed(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	closedAddr := redistest.ClosedPort(t)

	tests := []struct {
		name string
		ctr  func(t *testing.T) *rediscounter.Counter
		ctx  context.Context
		also error
	}{
		{name: "zero value", ctr: func(*testing.T) *rediscounter.Counter { return &rediscounter.Counter{} }, ctx: context.Background()},
		{name: "nil counter", ctr: func(*testing.T) *rediscounter.Counter { return nil }, ctx: context.Background()},
		{name: "closed port", ctr: func(t *testing.T) *rediscounter.Counter {
			return newCounter(t, redistest.Client(t, closedAddr), rediscounter.WithTimeout(200*time.Millisecond))
		}, ctx: context.Background()},
		{name: "canceled context", ctr: func(t *testing.T) *rediscounter.Counter {
			client := redistest.Shared(t)
			return newCounter(t, client, rediscounter.WithKeyPrefix(redistest.Prefix(t, client)))
		}, ctx: canceled, also: context.Canceled},
		{name: "closed client", ctr: func(t *testing.T) *rediscounter.Counter {
			client := redis.NewClient(&redis.Options{Addr: testenv.Require(t, testenv.RedisAddrVar)})
			require.NoError(t, client.Close())
			return newCounter(t, client)
		}, ctx: context.Background(), also: redis.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := []risk.Window{{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Hour, Add: 1, Count: 99}}
			err := tt.ctr(t).Count(tt.ctx, time.Now(), w)
			requireUnavailable(t, err)
			assert.Zero(t, w[0].Count)
			if tt.also != nil {
				assert.ErrorIs(t, err, tt.also)
			}
		})
	}
	t.Run("caller deadline", func(t *testing.T) {
		client := redistest.Shared(t)
		rc := newCounter(t, client, rediscounter.WithKeyPrefix(redistest.Prefix(t, client)), rediscounter.WithTimeout(functionalTimeout))
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		err := rc.Count(ctx, time.Now(), []risk.Window{{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Hour, Add: 1}})
		requireUnavailable(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("no window with a value: no round trip", func(t *testing.T) {
		rc := newCounter(t, redistest.Client(t, closedAddr))
		w := []risk.Window{{Event: "checkout", Key: risk.KeyCard, Length: time.Hour, Add: 1}}
		require.NoError(t, rc.Count(context.Background(), time.Now(), w))
		assert.Zero(t, w[0].Count)
	})
}

// policy has a high-risk action whose counter fallback is deny and one whose
// fallback is step_up, each with a velocity rule.
const policy = `{
  "acr_levels": ["pwd", "mfa"],
  "actions": [
    {"action": "checkout", "step_up": {"acr": "mfa", "max_age": "10m"}, "on_counter_error": "step_up",
     "rules": [
       {"id": "burst", "reason": "velocity_customer", "outcome": "step_up",
        "when": {"velocity": {"event": "checkout", "key": "customer", "window": "1h", "over": 3}}}
     ]},
    {"action": "refund", "on_counter_error": "deny",
     "rules": [
       {"id": "card-testing", "reason": "velocity_card", "outcome": "deny",
        "when": {"velocity": {"event": "payment_failed", "key": "card", "window": "10m", "over": 2}}}
     ]}
  ]
}`

// TestRedisStoppedMidRun runs the risk engine on a private Redis, kills it,
// checks that every decision takes its action's fallback (never allow), then
// starts Redis again on the same port and checks that the same engine and
// counter recover without a restart.
func TestRedisStoppedMidRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "risk.json")
	require.NoError(t, os.WriteFile(path, []byte(policy), 0o600))

	srv := redistest.Start(t, "")
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: 1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })
	rc := newCounter(t, client, rediscounter.WithTimeout(300*time.Millisecond), rediscounter.WithHashKey(testHashKey))
	eng, err := risk.Watch(ctx, path, risk.WithCounter(rc))
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })

	s := risk.Signals{
		Principal: &authn.Principal{Subject: secretCustomer, ACR: "pwd", AuthTime: time.Now()},
		Card:      secretCard,
	}
	for range 3 {
		d := eng.Decide(ctx, "checkout", s)
		assert.Equal(t, risk.Allow, d.Outcome)
	}
	d := eng.Decide(ctx, "checkout", s)
	assert.Equal(t, risk.StepUp, d.Outcome, "fourth checkout in an hour")
	assert.Equal(t, []risk.Reason{risk.ReasonVelocityCustomer}, d.Reasons)
	assert.Equal(t, risk.Allow, eng.Decide(ctx, "refund", s).Outcome)

	srv.Kill()

	for range 3 {
		d := eng.Decide(ctx, "checkout", s)
		assert.Equal(t, risk.StepUp, d.Outcome, "checkout falls back to step_up")
		assert.Equal(t, []risk.Reason{risk.ReasonCounterUnavailable}, d.Reasons)
		d = eng.Decide(ctx, "refund", s)
		assert.Equal(t, risk.Deny, d.Outcome, "refund falls back to deny, never allow")
		assert.Equal(t, []risk.Reason{risk.ReasonCounterUnavailable}, d.Reasons)
		requireUnavailable(t, eng.Record(ctx, "payment_failed", s))
	}
	tr := eng.Explain(ctx, "refund", s)
	requireUnavailable(t, tr.CounterError)

	// Redis back, empty (no persistence): the same engine recovers.
	srv2 := redistest.Start(t, srv.Addr)
	require.Eventually(t, func() bool {
		return eng.Decide(ctx, "refund", s).Outcome == risk.Allow
	}, 10*time.Second, 50*time.Millisecond, "recovery without restart")
	for range 2 {
		require.NoError(t, eng.Record(ctx, "payment_failed", s))
	}
	d = eng.Decide(ctx, "refund", s)
	assert.Equal(t, risk.Allow, d.Outcome, "two failures: not over 2")
	require.NoError(t, eng.Record(ctx, "payment_failed", s))
	d = eng.Decide(ctx, "refund", s)
	assert.Equal(t, risk.Deny, d.Outcome)
	assert.Equal(t, []risk.Reason{risk.ReasonVelocityCard}, d.Reasons)
	srv2.Kill()
}

// TestRedisHung stops (SIGSTOP) a private Redis so that connections are
// accepted but never answered: the counter's timeout bounds each call, with
// go-redis's default socket timeouts (three seconds, contexts ignored) and
// with ContextTimeoutEnabled.
func TestRedisHung(t *testing.T) {
	const timeout = 200 * time.Millisecond
	for _, ctxTimeouts := range []bool{false, true} {
		t.Run("ContextTimeoutEnabled="+strconv.FormatBool(ctxTimeouts), func(t *testing.T) {
			srv := redistest.Start(t, "")
			client := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: ctxTimeouts})
			t.Cleanup(func() { _ = client.Close() })
			rc := newCounter(t, client, rediscounter.WithTimeout(timeout))
			ctx := context.Background()
			w := []risk.Window{{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Hour, Add: 1}}
			require.NoError(t, rc.Count(ctx, time.Now(), w))

			srv.Signal(t, syscall.SIGSTOP)
			t.Cleanup(func() { srv.Signal(t, syscall.SIGCONT) })
			for i := range 3 {
				start := time.Now()
				err := rc.Count(ctx, time.Now(), w)
				requireUnavailable(t, err)
				assert.Less(t, time.Since(start), timeout+time.Second, "call %d ended near the timeout", i)
				assert.Zero(t, w[0].Count)
			}
			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			start := time.Now()
			requireUnavailable(t, rc.Count(short, time.Now(), w))
			assert.Less(t, time.Since(start), timeout, "the caller's shorter deadline wins")
		})
	}
}

// BenchmarkCount measures one call of three windows against the test Redis,
// round trip included.
func BenchmarkCount(b *testing.B) {
	client := redistest.Shared(b)
	rc := newCounter(b, client, rediscounter.WithKeyPrefix(redistest.Prefix(b, client)), rediscounter.WithTimeout(functionalTimeout))
	ctx := context.Background()
	w := make([]risk.Window, 3)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v := strconv.Itoa(i % 1000)
		w[0] = risk.Window{Event: "checkout", Key: risk.KeyCustomer, Value: v, Length: time.Hour, Add: 1}
		w[1] = risk.Window{Event: "checkout", Key: risk.KeyCard, Value: v, Length: time.Hour, Add: 1}
		w[2] = risk.Window{Event: "payment_failed", Key: risk.KeyCard, Value: v, Length: 10 * time.Minute}
		if err := rc.Count(ctx, time.Now(), w); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestClockAheadDoesNotEraseOthersCounts checks that a replica whose clock
// runs ahead (by up to a window) does not delete the buckets the other
// replicas still count: it would lower their counts, so that a velocity
// rule or a rate limit let through what it should stop, on every replica.
func TestClockAheadDoesNotEraseOthersCounts(t *testing.T) {
	client := redistest.Shared(t)
	c := newCounter(t, client, rediscounter.WithKeyPrefix(redistest.Prefix(t, client)), rediscounter.WithTimeout(functionalTimeout))
	ctx := t.Context()
	now := time.Now()
	win := func(add int64) []risk.Window {
		return []risk.Window{{Event: "checkout", Key: risk.KeyCustomer, Value: secretCustomer, Length: time.Minute, Add: add}}
	}
	// Ten events spread over the last 40 seconds, on the right clock.
	for i := range 10 {
		require.NoError(t, c.Count(ctx, now.Add(-40*time.Second+time.Duration(i)*4*time.Second), win(1)))
	}
	ws := win(0)
	require.NoError(t, c.Count(ctx, now, ws))
	require.Equal(t, int64(10), ws[0].Count)

	// A replica 50 seconds ahead reads (and counts) the same window.
	for _, skew := range []time.Duration{30 * time.Second, 50 * time.Second, time.Minute} {
		require.NoError(t, c.Count(ctx, now.Add(skew), win(0)))
	}
	ws = win(0)
	require.NoError(t, c.Count(ctx, now, ws))
	assert.Equal(t, int64(10), ws[0].Count, "the replica ahead erased counts the others still read")
}
