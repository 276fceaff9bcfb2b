package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/secrets"
)

// The secrets benchmark times what a request pays to get the credential it
// uses (here an API key): ztkit's secrets.Source, which keeps the credential
// fresh in the background and hands it out with an atomic load, beside what a
// user does without it: read it from Vault on every use (vault/api's
// KVv2(...).Get), or cache it by hand behind a mutex with an expiry checked
// against time.Now on every read. Every contender returns the same key.

// secretsGoroutines is how many goroutines the parallel sub-benchmarks run:
// the "flat with 16 goroutines".
const secretsGoroutines = 16

// secretsField is the name of the credential's one field.
const secretsField = "api_key"

// keyGetter returns the API key to use now; every contender is one, and the
// equivalence test and the benchmark call the same value.
type keyGetter func(ctx context.Context) (string, error)

// ztkitCurrent is secrets.Source.Current and Secret.Reveal: what a request
// does for the key's value.
func ztkitCurrent(src *secrets.Source) keyGetter {
	return func(context.Context) (string, error) {
		s, err := src.Current()
		if err != nil {
			return "", err
		}
		v, ok := s.Reveal(secretsField)
		if !ok {
			return "", errNoKey
		}
		return v, nil
	}
}

// ztkitCurrentOnly is secrets.Source.Current alone: the atomic load the
// issue's ≤ 20 ns target is about.
func ztkitCurrentOnly(src *secrets.Source) keyGetter {
	return func(context.Context) (string, error) {
		_, err := src.Current()
		return "", err
	}
}

var errNoKey = errors.New("bench: no api_key")

// refreshFunc fetches the credential and says until when to cache it (a
// Vault read and the lease's or the refresh interval's end, in a service).
type refreshFunc func(ctx context.Context) (string, time.Time, error)

// mutexCache is the cache a user writes by hand: lock, check the expiry
// against time.Now, return the cached value, or fetch a new one under the
// lock when it expired.
type mutexCache struct {
	refresh refreshFunc

	mu      sync.Mutex
	value   string
	expires time.Time
}

func (c *mutexCache) get(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Now().Before(c.expires) {
		return c.value, nil
	}
	v, exp, err := c.refresh(ctx)
	if err != nil {
		return "", err
	}
	c.value, c.expires = v, exp
	return v, nil
}

// rwMutexCache is the same cache with a sync.RWMutex: readers share the read
// lock; a reader that finds the value expired takes the write lock, checks
// again and fetches.
type rwMutexCache struct {
	refresh refreshFunc

	mu      sync.RWMutex
	value   string
	expires time.Time
}

func (c *rwMutexCache) get(ctx context.Context) (string, error) {
	c.mu.RLock()
	if time.Now().Before(c.expires) {
		v := c.value
		c.mu.RUnlock()
		return v, nil
	}
	c.mu.RUnlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Now().Before(c.expires) {
		return c.value, nil
	}
	v, exp, err := c.refresh(ctx)
	if err != nil {
		return "", err
	}
	c.value, c.expires = v, exp
	return v, nil
}

// vaultKVGet reads the key from Vault's KV v2 engine on every use, as
// vault/api's documentation shows: KVv2(mount).Get(ctx, path), then the
// field out of the data map.
func vaultKVGet(c *api.Client, mount, path string) keyGetter {
	kv := c.KVv2(mount)
	return func(ctx context.Context) (string, error) {
		s, err := kv.Get(ctx, path)
		if err != nil {
			return "", err
		}
		v, ok := s.Data[secretsField].(string)
		if !ok {
			return "", errNoKey
		}
		return v, nil
	}
}

// secretsRig is the key and the contenders that need no server.
type secretsRig struct {
	key string
	src *secrets.Source
	mu  *mutexCache
	rw  *rwMutexCache
}

// newSecretsRig makes a random key, a Source of it, and the two hand-written
// caches, filled (their refresh returns the same key, valid for an hour, so
// no op of a benchmark refreshes).
func newSecretsRig(tb testing.TB) *secretsRig {
	tb.Helper()
	key := "sk_bench_" + rand.Text()
	src, err := secrets.NewSource(context.Background(), "bench-api-key", secrets.Static(map[string]string{secretsField: key}))
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, src.Close()) })
	refresh := func(context.Context) (string, time.Time, error) { return key, time.Now().Add(time.Hour), nil }
	r := &secretsRig{key: key, src: src, mu: &mutexCache{refresh: refresh}, rw: &rwMutexCache{refresh: refresh}}
	for _, fill := range []keyGetter{r.mu.get, r.rw.get} {
		_, err := fill(context.Background())
		require.NoError(tb, err)
	}
	return r
}

func (r *secretsRig) getters() []struct {
	name string
	get  keyGetter
} {
	return []struct {
		name string
		get  keyGetter
	}{
		{"ztkit-current", ztkitCurrentOnly(r.src)},
		{"ztkit", ztkitCurrent(r.src)},
		{"mutex-cache", r.mu.get},
		{"rwmutex-cache", r.rw.get},
		{"time-now", timeNowCheck(time.Now().Add(time.Hour))},
	}
}

// timeNowCheck is the caches' expiry check alone, time.Now().Before, with no
// lock and no value: the part of their cost that is the clock read.
func timeNowCheck(expires time.Time) keyGetter {
	return func(context.Context) (string, error) {
		if !time.Now().Before(expires) {
			return "", errNoKey
		}
		return "", nil
	}
}

// vaultKV writes the rig's key to a new KV v2 mount of the shared test
// OpenBao and returns the per-use reader. It skips (fails under CI=true)
// when scripts/test started no server.
func (r *secretsRig) vaultKV(tb testing.TB) keyGetter {
	tb.Helper()
	admin := baotest.Admin(tb)
	mount := baotest.Mount(tb, admin, "kv-v2")
	_, err := admin.KVv2(mount).Put(context.Background(), "payments/processor", map[string]any{secretsField: r.key})
	require.NoError(tb, err)
	return vaultKVGet(admin, mount, "payments/processor")
}

// TestSecretsEquivalence checks that every contender returns the rig's key,
// and that the hand-written caches fetch again once the value expired.
func TestSecretsEquivalence(t *testing.T) {
	ctx := context.Background()
	r := newSecretsRig(t)
	for _, g := range r.getters() {
		v, err := g.get(ctx)
		require.NoError(t, err, g.name)
		if g.name != "ztkit-current" && g.name != "time-now" { // these return no value
			assert.True(t, v == r.key, "%s returned another key", g.name)
		}
	}

	for _, c := range []struct {
		name    string
		refresh func(refreshFunc) keyGetter
	}{
		{"mutex-cache", func(f refreshFunc) keyGetter { return (&mutexCache{refresh: f}).get }},
		{"rwmutex-cache", func(f refreshFunc) keyGetter { return (&rwMutexCache{refresh: f}).get }},
	} {
		t.Run(c.name+"/expiry", func(t *testing.T) {
			n := 0
			get := c.refresh(func(context.Context) (string, time.Time, error) {
				n++
				return r.key, time.Now().Add(-time.Second), nil // expired at once
			})
			for range 3 {
				_, err := get(ctx)
				require.NoError(t, err)
			}
			assert.Equal(t, 3, n, "an expired value is fetched again")
		})
	}

	t.Run("vault-kv-get", func(t *testing.T) {
		v, err := r.vaultKV(t)(ctx)
		require.NoError(t, err)
		assert.True(t, v == r.key, "the KV read returned another key")
	})
}

// BenchmarkSecrets times one read of the current API key per op, serially
// and from 16 goroutines (b.SetParallelism), for each contender, and a
// Vault KV read per use against the real OpenBao (serially; skipped when
// scripts/test started no server, failed under CI=true).
func BenchmarkSecrets(b *testing.B) {
	r := newSecretsRig(b)
	for _, g := range r.getters() {
		b.Run("serial/"+g.name, func(b *testing.B) { benchKeySerial(b, g.get) })
	}
	b.Run("serial/vault-kv-get", func(b *testing.B) { benchKeySerial(b, r.vaultKV(b)) })
	for _, g := range r.getters() {
		b.Run("parallel16/"+g.name, func(b *testing.B) { benchKeyParallel(b, g.get) })
	}
}

func benchKeySerial(b *testing.B, get keyGetter) {
	ctx := context.Background()
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if _, err := get(ctx); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// benchKeyParallel runs get from secretsGoroutines goroutines
// (SetParallelism counts in multiples of GOMAXPROCS). ns/op is wall time over
// all ops; cpu-ns/op, the CPU time of every thread over all ops, is the
// figure to compare with the serial one: equal means no cost from sharing.
func benchKeyParallel(b *testing.B, get keyGetter) {
	ctx := context.Background()
	b.SetParallelism(max(1, secretsGoroutines/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	cpu := startCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := get(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
	cpu.report(b)
}
