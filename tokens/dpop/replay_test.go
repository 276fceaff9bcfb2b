package dpop_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/replaytest"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// RFC 9449 §6.1 example thumbprint, used as a realistic jkt.
const testJKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"

// fakeClock is a settable clock for [dpop.WithClock].
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newMemoryStore(tb testing.TB, opts ...dpop.MemoryOption) *dpop.MemoryReplayStore {
	tb.Helper()
	s, err := dpop.NewMemoryReplayStore(opts...)
	require.NoError(tb, err)
	return s
}

func TestMemoryReplayStoreFirstReplayExpiry(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := newMemoryStore(t, dpop.WithClock(clock.Now))
	expiry := clock.Now().Add(time.Minute)

	require.NoError(t, s.CheckAndStore(ctx, testJKT, "jti-1", expiry), "first time")
	require.ErrorIs(t, s.CheckAndStore(ctx, testJKT, "jti-1", expiry), dpop.ErrReplayed, "second time")

	clock.Advance(time.Minute - time.Nanosecond)
	require.ErrorIs(t, s.CheckAndStore(ctx, testJKT, "jti-1", expiry), dpop.ErrReplayed, "just before expiry")

	clock.Advance(time.Nanosecond)
	require.NoError(t, s.CheckAndStore(ctx, testJKT, "jti-1", clock.Now().Add(time.Minute)), "at expiry the pair is forgotten")
	assert.ErrorIs(t, s.CheckAndStore(ctx, testJKT, "jti-1", clock.Now().Add(time.Minute)), dpop.ErrReplayed, "and recorded again")
	assert.Equal(t, 1, s.Len())
	assert.Zero(t, s.Evictions())
}

func TestMemoryReplayStorePairsAreDistinct(t *testing.T) {
	replaytest.PairsAreDistinct(t, func(t *testing.T) dpop.ReplayStore { return newMemoryStore(t) })
}

func TestMemoryReplayStoreBound(t *testing.T) {
	const maxEntries = 8
	ctx := context.Background()
	clock := newFakeClock()
	s := newMemoryStore(t, dpop.WithMaxEntries(maxEntries), dpop.WithClock(clock.Now))
	expiry := clock.Now().Add(time.Hour)

	for i := range 3 * maxEntries {
		require.NoError(t, s.CheckAndStore(ctx, testJKT, "jti-"+strconv.Itoa(i), expiry))
		require.LessOrEqual(t, s.Len(), maxEntries, "after %d proofs", i+1)
	}
	assert.Equal(t, maxEntries, s.Len())
	assert.Equal(t, uint64(2*maxEntries), s.Evictions(), "every unexpired entry dropped is counted")

	// The newest maxEntries proofs are still remembered...
	for i := 2 * maxEntries; i < 3*maxEntries; i++ {
		assert.ErrorIs(t, s.CheckAndStore(ctx, testJKT, "jti-"+strconv.Itoa(i), expiry), dpop.ErrReplayed, "proof %d", i)
	}
	// ...and the oldest was evicted: this is the documented cost of the bound.
	assert.NoError(t, s.CheckAndStore(ctx, testJKT, "jti-0", expiry))
	assert.Equal(t, uint64(2*maxEntries+1), s.Evictions())
	assert.Equal(t, maxEntries, s.Len())
}

func TestMemoryReplayStoreExpiredEntriesAreNotEvictions(t *testing.T) {
	const maxEntries = 4
	ctx := context.Background()
	clock := newFakeClock()
	s := newMemoryStore(t, dpop.WithMaxEntries(maxEntries), dpop.WithClock(clock.Now))

	for i := range maxEntries {
		require.NoError(t, s.CheckAndStore(ctx, testJKT, "old-"+strconv.Itoa(i), clock.Now().Add(time.Second)))
	}
	clock.Advance(2 * time.Second)
	for i := range 3 * maxEntries {
		// Each proof outlives the next insertion but not the one after.
		require.NoError(t, s.CheckAndStore(ctx, testJKT, "new-"+strconv.Itoa(i), clock.Now().Add(1500*time.Millisecond)))
		clock.Advance(time.Second)
	}
	assert.Zero(t, s.Evictions(), "only expired entries were dropped")
	assert.LessOrEqual(t, s.Len(), maxEntries)
}

// TestMemoryReplayStoreRestoredPairSurvivesItsOldSlot covers a pair stored
// again after it expired: its old ring slot must not take the new record with it
// when it reaches the head of the ring.
func TestMemoryReplayStoreRestoredPairSurvivesItsOldSlot(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := newMemoryStore(t, dpop.WithMaxEntries(3), dpop.WithClock(clock.Now))
	long := clock.Now().Add(time.Hour)

	require.NoError(t, s.CheckAndStore(ctx, testJKT, "B", long))
	require.NoError(t, s.CheckAndStore(ctx, testJKT, "A", clock.Now().Add(time.Second)))
	clock.Advance(2 * time.Second)
	require.NoError(t, s.CheckAndStore(ctx, testJKT, "A", long), "A expired and is stored again")
	// Ring: B, A (stale), A. C evicts B; D then passes A's stale slot.
	require.NoError(t, s.CheckAndStore(ctx, testJKT, "C", long))
	require.NoError(t, s.CheckAndStore(ctx, testJKT, "D", long))

	assert.ErrorIs(t, s.CheckAndStore(ctx, testJKT, "A", long), dpop.ErrReplayed)
	assert.Equal(t, 3, s.Len())
	assert.Equal(t, uint64(1), s.Evictions(), "only B")
}

func TestMemoryReplayStorePastExpiryIsStillRecorded(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := newMemoryStore(t, dpop.WithClock(clock.Now))

	tests := []struct {
		name   string
		expiry time.Time
	}{
		{name: "zero", expiry: time.Time{}},
		{name: "past", expiry: clock.Now().Add(-time.Hour)},
		{name: "now", expiry: clock.Now()},
		{name: "in 10ms", expiry: clock.Now().Add(10 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jti := "jti-" + tt.name
			require.NoError(t, s.CheckAndStore(ctx, testJKT, jti, tt.expiry))
			assert.ErrorIs(t, s.CheckAndStore(ctx, testJKT, jti, tt.expiry), dpop.ErrReplayed)
		})
	}
	clock.Advance(time.Second - time.Nanosecond)
	for _, tt := range tests {
		assert.ErrorIs(t, s.CheckAndStore(ctx, testJKT, "jti-"+tt.name, clock.Now().Add(time.Minute)), dpop.ErrReplayed, "kept for one second: %s", tt.name)
	}
	clock.Advance(time.Nanosecond)
	for _, tt := range tests {
		assert.NoError(t, s.CheckAndStore(ctx, testJKT, "jti-"+tt.name, clock.Now().Add(time.Minute)), "forgotten after one second: %s", tt.name)
	}
}

func TestMemoryReplayStoreConcurrentSameProof(t *testing.T) {
	replaytest.ConcurrentSameProof(t, newMemoryStore(t), 64)
}

func TestMemoryReplayStoreConcurrentFlood(t *testing.T) {
	const (
		maxEntries = 64
		goroutines = 16
		perG       = 500
	)
	s := newMemoryStore(t, dpop.WithMaxEntries(maxEntries))
	expiry := time.Now().Add(time.Hour)

	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				if err := s.CheckAndStore(context.Background(), testJKT, strconv.Itoa(g)+"/"+strconv.Itoa(i), expiry); err != nil {
					t.Errorf("distinct proof refused: %v", err)
					return
				}
				if n := s.Len(); n > maxEntries {
					t.Errorf("Len() = %d, over the bound %d", n, maxEntries)
					return
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, maxEntries, s.Len())
	assert.Equal(t, uint64(goroutines*perG-maxEntries), s.Evictions())
}

func TestNewMemoryReplayStoreConfig(t *testing.T) {
	tests := []struct {
		name    string
		opts    []dpop.MemoryOption
		wantErr error
	}{
		{name: "defaults"},
		{name: "nil option ignored", opts: []dpop.MemoryOption{nil}},
		{name: "nil clock keeps time.Now", opts: []dpop.MemoryOption{dpop.WithClock(nil)}},
		{name: "one entry", opts: []dpop.MemoryOption{dpop.WithMaxEntries(1)}},
		{name: "zero entries", opts: []dpop.MemoryOption{dpop.WithMaxEntries(0)}, wantErr: dpop.ErrInvalidConfig},
		{name: "negative entries", opts: []dpop.MemoryOption{dpop.WithMaxEntries(-1)}, wantErr: dpop.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := dpop.NewMemoryReplayStore(tt.opts...)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, s)
				return
			}
			require.NoError(t, err)
			ctx := context.Background()
			expiry := time.Now().Add(time.Minute)
			require.NoError(t, s.CheckAndStore(ctx, testJKT, "jti", expiry))
			assert.ErrorIs(t, s.CheckAndStore(ctx, testJKT, "jti", expiry), dpop.ErrReplayed)
		})
	}
}

func TestMemoryReplayStoreFailsClosed(t *testing.T) {
	const secretJTI = "jti-must-not-leak-7f3a"
	const secretJKT = "jkt-must-not-leak-91c2"
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name    string
		store   *dpop.MemoryReplayStore
		ctx     context.Context
		wantErr []error
	}{
		{name: "zero value", store: &dpop.MemoryReplayStore{}, ctx: context.Background(), wantErr: []error{dpop.ErrReplayCheckUnavailable}},
		{name: "nil store", store: nil, ctx: context.Background(), wantErr: []error{dpop.ErrReplayCheckUnavailable}},
		{name: "canceled context", store: newMemoryStore(t), ctx: canceled, wantErr: []error{dpop.ErrReplayCheckUnavailable, context.Canceled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.store.CheckAndStore(tt.ctx, secretJKT, secretJTI, time.Now().Add(time.Minute))
			require.Error(t, err)
			for _, want := range tt.wantErr {
				assert.ErrorIs(t, err, want)
			}
			assert.NotErrorIs(t, err, dpop.ErrReplayed)
			assert.NotContains(t, err.Error(), secretJTI)
			assert.NotContains(t, err.Error(), secretJKT)
			assert.Zero(t, tt.store.Len())
			assert.Zero(t, tt.store.Evictions())
		})
	}
}

func TestMemoryReplayStoreErrorsDoNotLeak(t *testing.T) {
	replaytest.ErrorsDoNotLeak(t, newMemoryStore(t))
}

func TestMemoryReplayStoreAllocsAtCapacity(t *testing.T) {
	const maxEntries = 1_000
	s := newMemoryStore(t, dpop.WithMaxEntries(maxEntries))
	ctx := context.Background()
	expiry := time.Now().Add(time.Hour)
	jtis := make([]string, 20*maxEntries)
	for i := range jtis {
		jtis[i] = "jti-" + strconv.Itoa(i)
	}
	i := 0
	check := func() {
		if err := s.CheckAndStore(ctx, testJKT, jtis[i], expiry); err != nil {
			t.Fatal(err)
		}
		i++
	}
	for range 2 * maxEntries { // fill, then churn the index into its steady state
		check()
	}
	allocs := testing.AllocsPerRun(len(jtis)-i-1, check)
	assert.LessOrEqual(t, allocs, 1.0, "steady state at capacity")
	assert.Equal(t, maxEntries, s.Len())
}

// BenchmarkMemoryReplayStore measures CheckAndStore on a full store, where every
// new proof evicts the oldest one (the flood case), and on replayed proofs. The
// default size (100,000) no longer fits in CPU caches, which dominates its cost.
func BenchmarkMemoryReplayStore(b *testing.B) {
	for _, maxEntries := range []int{1_000, 100_000} {
		b.Run("entries="+strconv.Itoa(maxEntries), func(b *testing.B) {
			benchmarkMemoryReplayStore(b, maxEntries)
		})
	}
}

func benchmarkMemoryReplayStore(b *testing.B, maxEntries int) {
	expiry := time.Now().Add(time.Hour)
	// Four times the bound, so that by the time a jti comes round again it has
	// long been evicted and is new to the store.
	jtis := make([]string, 4*maxEntries)
	for i := range jtis {
		jtis[i] = "jti-" + strconv.Itoa(i)
	}
	fill := func(b *testing.B) *dpop.MemoryReplayStore {
		s := newMemoryStore(b, dpop.WithMaxEntries(maxEntries))
		for _, jti := range jtis[:maxEntries] {
			require.NoError(b, s.CheckAndStore(context.Background(), testJKT, jti, expiry))
		}
		return s
	}

	b.Run("new-at-capacity", func(b *testing.B) {
		s := fill(b)
		ctx := context.Background()
		b.ReportAllocs()
		i := maxEntries
		for b.Loop() {
			if err := s.CheckAndStore(ctx, testJKT, jtis[i%len(jtis)], expiry); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("replayed", func(b *testing.B) {
		s := fill(b)
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := s.CheckAndStore(ctx, testJKT, jtis[i%maxEntries], expiry); !errors.Is(err, dpop.ErrReplayed) {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("new-at-capacity-parallel", func(b *testing.B) {
		s := fill(b)
		var next atomic.Int64
		next.Store(int64(maxEntries))
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				i := next.Add(1)
				// A goroutine that stalls for a whole lap may see its jti again.
				err := s.CheckAndStore(ctx, testJKT, jtis[int(i)%len(jtis)], expiry)
				if err != nil && !errors.Is(err, dpop.ErrReplayed) {
					b.Error(err)
					return
				}
			}
		})
	})
}
