package redisreplay_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/replaydefer"
	"github.com/ztkit/ztkit/internal/replaykey"
	"github.com/ztkit/ztkit/internal/test/redistest"
	"github.com/ztkit/ztkit/internal/test/replaytest"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/redisreplay"
)

// RFC 9449 §6.1 example thumbprint, used as a realistic jkt.
const testJKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"

// Values that must never show up in an error message.
const (
	secretJKT = "jkt-must-not-leak-91c2"
	secretJTI = "jti-must-not-leak-7f3a"
)

// functionalTimeout is the store timeout for tests that are not about timeouts:
// generous, so that a loaded CI machine running -race does not turn into a flake.
const functionalTimeout = 5 * time.Second

// wantKey is the documented key for (jkt, jti).
func wantKey(prefix, jkt, jti string) string {
	sum := replaykey.Sum(jkt, jti)
	return prefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

func newStore(tb testing.TB, client redis.UniversalClient, opts ...redisreplay.Option) *redisreplay.Store {
	tb.Helper()
	s, err := redisreplay.New(client, opts...)
	require.NoError(tb, err)
	return s
}

// requireUnavailable checks that err denies the proof as unavailable, and leaks nothing.
func requireUnavailable(tb testing.TB, err error) {
	tb.Helper()
	require.Error(tb, err, "a check that could not be made must never accept the proof")
	require.ErrorIs(tb, err, dpop.ErrReplayCheckUnavailable)
	assert.NotErrorIs(tb, err, dpop.ErrReplayed)
	assert.NotContains(tb, err.Error(), secretJKT)
	assert.NotContains(tb, err.Error(), secretJTI)
}

func TestNew(t *testing.T) {
	// New does not contact Redis, so nothing needs to listen here.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = client.Close() })

	tests := []struct {
		name    string
		client  redis.UniversalClient
		opts    []redisreplay.Option
		wantErr bool
	}{
		{name: "defaults", client: client},
		{name: "all options", client: client, opts: []redisreplay.Option{redisreplay.WithKeyPrefix("svc:"), redisreplay.WithTimeout(time.Second)}},
		{name: "nil option ignored", client: client, opts: []redisreplay.Option{nil}},
		{name: "cluster client", client: redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})},
		{name: "nil client", client: nil, wantErr: true},
		{name: "nil *redis.Client", client: (*redis.Client)(nil), wantErr: true},
		{name: "nil *redis.ClusterClient", client: (*redis.ClusterClient)(nil), wantErr: true},
		{name: "nil *redis.Ring", client: (*redis.Ring)(nil), wantErr: true},
		{name: "empty prefix", client: client, opts: []redisreplay.Option{redisreplay.WithKeyPrefix("")}, wantErr: true},
		{name: "zero timeout", client: client, opts: []redisreplay.Option{redisreplay.WithTimeout(0)}, wantErr: true},
		{name: "negative timeout", client: client, opts: []redisreplay.Option{redisreplay.WithTimeout(-time.Second)}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := redisreplay.New(tt.client, tt.opts...)
			if tt.wantErr {
				require.ErrorIs(t, err, dpop.ErrInvalidConfig)
				assert.Nil(t, s)
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, s)
		})
	}
}

func TestCheckAndStoreFirstReplayExpiry(t *testing.T) {
	ctx := context.Background()
	client := redistest.Shared(t)
	prefix := redistest.Prefix(t, client)
	s := newStore(t, client, redisreplay.WithKeyPrefix(prefix), redisreplay.WithTimeout(functionalTimeout))
	key := wantKey(prefix, testJKT, "jti-1")

	expiry := time.Now().Add(90 * time.Second)
	require.NoError(t, s.CheckAndStore(ctx, testJKT, "jti-1", expiry), "first time")
	pttl, err := client.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.Greater(t, pttl, 85*time.Second, "key lives until the proof expires")
	assert.LessOrEqual(t, pttl, 90*time.Second)

	require.ErrorIs(t, s.CheckAndStore(ctx, testJKT, "jti-1", expiry), dpop.ErrReplayed, "second time")
	pttlAfter, err := client.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.LessOrEqual(t, pttlAfter, pttl, "a replay does not extend the record")

	// Expiry is Redis's job (checked through PTTL above); simulate it.
	require.NoError(t, client.Del(ctx, key).Err())
	require.NoError(t, s.CheckAndStore(ctx, testJKT, "jti-1", time.Now().Add(time.Minute)), "after expiry")
	assert.ErrorIs(t, s.CheckAndStore(ctx, testJKT, "jti-1", time.Now().Add(time.Minute)), dpop.ErrReplayed)
}

func TestCheckAndStoreRealExpiry(t *testing.T) {
	ctx := context.Background()
	client := redistest.Shared(t)
	s := newStore(t, client, redisreplay.WithKeyPrefix(redistest.Prefix(t, client)), redisreplay.WithTimeout(functionalTimeout))

	// The shortest TTL the store writes is one second.
	require.NoError(t, s.CheckAndStore(ctx, testJKT, "jti", time.Now()))
	require.ErrorIs(t, s.CheckAndStore(ctx, testJKT, "jti", time.Now()), dpop.ErrReplayed)
	require.Eventually(t, func() bool {
		return s.CheckAndStore(ctx, testJKT, "jti", time.Now().Add(time.Minute)) == nil
	}, 5*time.Second, 50*time.Millisecond, "the record expires in Redis")
}

func TestCheckAndStorePastExpiryIsStillRecorded(t *testing.T) {
	ctx := context.Background()
	client := redistest.Shared(t)
	prefix := redistest.Prefix(t, client)
	s := newStore(t, client, redisreplay.WithKeyPrefix(prefix), redisreplay.WithTimeout(functionalTimeout))

	tests := []struct {
		name   string
		expiry time.Time
	}{
		{name: "zero", expiry: time.Time{}},
		{name: "past", expiry: time.Now().Add(-time.Hour)},
		{name: "now", expiry: time.Now()},
		{name: "in 10ms", expiry: time.Now().Add(10 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jti := "jti-" + tt.name
			require.NoError(t, s.CheckAndStore(ctx, testJKT, jti, tt.expiry))
			pttl, err := client.PTTL(ctx, wantKey(prefix, testJKT, jti)).Result()
			require.NoError(t, err)
			assert.Greater(t, pttl, 500*time.Millisecond, "kept for the one-second minimum")
			assert.LessOrEqual(t, pttl, time.Second)
			assert.ErrorIs(t, s.CheckAndStore(ctx, testJKT, jti, tt.expiry), dpop.ErrReplayed)
		})
	}
}

func TestCheckAndStorePairsAreDistinct(t *testing.T) {
	client := redistest.Shared(t)
	replaytest.PairsAreDistinct(t, func(t *testing.T) dpop.ReplayStore {
		return newStore(t, client, redisreplay.WithKeyPrefix(redistest.Prefix(t, client)), redisreplay.WithTimeout(functionalTimeout))
	})
}

func TestCheckAndStoreConcurrentSameProof(t *testing.T) {
	client := redistest.Shared(t)
	replaytest.ConcurrentSameProof(t, newStore(t, client, redisreplay.WithKeyPrefix(redistest.Prefix(t, client)), redisreplay.WithTimeout(functionalTimeout)), 100)
}

func TestCheckAndStoreKeys(t *testing.T) {
	ctx := context.Background()
	client := redistest.Shared(t)
	const jti = "a-very-recognisable-jti-value"

	t.Run("custom prefix", func(t *testing.T) {
		prefix := redistest.Prefix(t, client)
		s := newStore(t, client, redisreplay.WithKeyPrefix(prefix), redisreplay.WithTimeout(functionalTimeout))
		require.NoError(t, s.CheckAndStore(ctx, testJKT, jti, time.Now().Add(time.Minute)))

		keys, err := client.Keys(ctx, prefix+"*").Result()
		require.NoError(t, err)
		require.Equal(t, []string{wantKey(prefix, testJKT, jti)}, keys)
		assert.Len(t, keys[0], len(prefix)+43, "fixed-size key")
		assert.NotContains(t, keys[0], jti)
		assert.NotContains(t, keys[0], testJKT)
	})
	t.Run("default prefix", func(t *testing.T) {
		s := newStore(t, client, redisreplay.WithTimeout(functionalTimeout))
		jti := jti + "-" + rand.Text() // the default prefix is shared: stay unique
		key := wantKey("ztkit:dpop:jti:", testJKT, jti)
		t.Cleanup(func() { _ = client.Del(context.Background(), key).Err() })

		require.NoError(t, s.CheckAndStore(ctx, testJKT, jti, time.Now().Add(time.Minute)))
		n, err := client.Exists(ctx, key).Result()
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
	})
	t.Run("long jti", func(t *testing.T) {
		prefix := redistest.Prefix(t, client)
		s := newStore(t, client, redisreplay.WithKeyPrefix(prefix), redisreplay.WithTimeout(functionalTimeout))
		long := strings.Repeat("x", 64<<10)
		require.NoError(t, s.CheckAndStore(ctx, testJKT, long, time.Now().Add(time.Minute)))
		keys, err := client.Keys(ctx, prefix+"*").Result()
		require.NoError(t, err)
		require.Len(t, keys, 1)
		assert.Len(t, keys[0], len(prefix)+43, "an attacker's long jti does not make a long key")
	})
}

func TestCheckAndStoreErrorsDoNotLeak(t *testing.T) {
	client := redistest.Shared(t)
	replaytest.ErrorsDoNotLeak(t, newStore(t, client, redisreplay.WithKeyPrefix(redistest.Prefix(t, client)), redisreplay.WithTimeout(functionalTimeout)))
}

func TestCheckAndStoreFailsClosed(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	closedAddr := redistest.ClosedPort(t)

	tests := []struct {
		name  string
		store func(t *testing.T) *redisreplay.Store
		ctx   context.Context
		also  error
	}{
		{
			name:  "zero value",
			store: func(*testing.T) *redisreplay.Store { return &redisreplay.Store{} },
			ctx:   context.Background(),
		},
		{
			name:  "nil store",
			store: func(*testing.T) *redisreplay.Store { return nil },
			ctx:   context.Background(),
		},
		{
			name:  "closed port",
			store: func(t *testing.T) *redisreplay.Store { return newStore(t, redistest.Client(t, closedAddr)) },
			ctx:   context.Background(),
		},
		{
			name: "canceled context",
			store: func(t *testing.T) *redisreplay.Store {
				client := redistest.Shared(t)
				return newStore(t, client, redisreplay.WithKeyPrefix(redistest.Prefix(t, client)))
			},
			ctx:  canceled,
			also: context.Canceled,
		},
		{
			name: "closed client",
			store: func(t *testing.T) *redisreplay.Store {
				client := redis.NewClient(&redis.Options{Addr: testenv.Require(t, testenv.RedisAddrVar)})
				require.NoError(t, client.Close())
				return newStore(t, client)
			},
			ctx:  context.Background(),
			also: redis.ErrClosed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.store(t).CheckAndStore(tt.ctx, secretJKT, secretJTI, time.Now().Add(time.Minute))
			requireUnavailable(t, err)
			if tt.also != nil {
				assert.ErrorIs(t, err, tt.also)
			}
		})
	}
}

// TestRedisStoppedMidTest runs a private Redis, kills it while the store is in
// use, and checks that every later check denies instead of accepting.
func TestRedisStoppedMidTest(t *testing.T) {
	// go-redis keeps retrying a refused connection, so each check below runs
	// into the timeout: keep it short.
	const timeout = 150 * time.Millisecond
	srv := redistest.Start(t, "")
	client := redistest.Client(t, srv.Addr)
	s := newStore(t, client, redisreplay.WithTimeout(timeout))
	ctx := context.Background()
	expiry := time.Now().Add(time.Minute)

	require.NoError(t, s.CheckAndStore(ctx, secretJKT, secretJTI, expiry))
	require.ErrorIs(t, s.CheckAndStore(ctx, secretJKT, secretJTI, expiry), dpop.ErrReplayed)

	srv.Kill()

	for i := range 10 {
		jti := secretJTI + "-" + strconv.Itoa(i)
		requireUnavailable(t, s.CheckAndStore(ctx, secretJKT, jti, expiry))
	}
	// Including the proof accepted before Redis went away.
	requireUnavailable(t, s.CheckAndStore(ctx, secretJKT, secretJTI, expiry))
}

// TestRedisHung stops (SIGSTOP) a private Redis so that connections are accepted
// but never answered, with go-redis's default socket timeouts (three seconds,
// context deadlines ignored): the store's timeout must still bound each check.
func TestRedisHung(t *testing.T) {
	const timeout = 200 * time.Millisecond
	srv := redistest.Start(t, "")
	client := redistest.Client(t, srv.Addr)
	s := newStore(t, client, redisreplay.WithTimeout(timeout))
	ctx := context.Background()
	expiry := time.Now().Add(time.Minute)
	require.NoError(t, s.CheckAndStore(ctx, secretJKT, secretJTI, expiry))

	srv.Signal(t, syscall.SIGSTOP)
	t.Cleanup(func() { srv.Signal(t, syscall.SIGCONT) })

	for i := range 5 {
		err := s.CheckAndStore(ctx, secretJKT, secretJTI+"-"+strconv.Itoa(i), expiry)
		requireUnavailable(t, err)
		// The store's own timeout ended the call, not go-redis's three-second
		// socket timeout (which would be an i/o timeout, not a deadline).
		assert.ErrorIs(t, err, context.DeadlineExceeded, "check %d", i)
	}

	t.Run("caller deadline shorter than the timeout wins", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := s.CheckAndStore(ctx, secretJKT, secretJTI+"-short", expiry)
		requireUnavailable(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

// BenchmarkCheckAndStore measures a check against the test Redis, round trip included.
func BenchmarkCheckAndStore(b *testing.B) {
	client := redistest.Shared(b)
	s := newStore(b, client, redisreplay.WithKeyPrefix(redistest.Prefix(b, client)), redisreplay.WithTimeout(functionalTimeout))
	ctx := context.Background()
	expiry := time.Now().Add(time.Minute)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := s.CheckAndStore(ctx, testJKT, strconv.Itoa(i), expiry); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestDeferReplay: outside guard.Check there is no collector and
// DeferReplay records nothing (the caller checks itself); into a collector
// it sends nothing until the collector resolves it, with CheckAndStore's
// verdicts, and a collector takes one check only.
func TestDeferReplay(t *testing.T) {
	client := redistest.Shared(t)
	prefix := redistest.Prefix(t, client)
	s := newStore(t, client, redisreplay.WithKeyPrefix(prefix))
	exp := time.Now().Add(time.Minute)
	assert.False(t, s.DeferReplay(nil, s, secretJKT, secretJTI, exp), "no collector, nothing deferred")
	assert.False(t, (*redisreplay.Store)(nil).DeferReplay(nil, (*redisreplay.Store)(nil), secretJKT, secretJTI, exp))
	_, other := replaydefer.NewContext(t.Context())
	assert.False(t, s.DeferReplay(other, newStore(t, client), secretJKT, secretJTI, exp), "only for the store the caller holds")
	assert.False(t, s.DeferReplay(other, &mirrored{Store: s}, secretJKT, secretJTI, exp), "never past a wrapper")

	ctx, col := replaydefer.NewContext(t.Context())
	require.True(t, s.DeferReplay(col, s, secretJKT, secretJTI, exp))
	assert.False(t, s.DeferReplay(col, s, secretJKT, "other", exp), "one check per collector")
	n, err := client.Exists(ctx, wantKey(prefix, secretJKT, secretJTI)).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "nothing sent yet")
	require.NoError(t, col.Resolve(ctx))
	ttl, err := client.PTTL(ctx, wantKey(prefix, secretJKT, secretJTI)).Result()
	require.NoError(t, err)
	assert.InDelta(t, time.Minute, ttl, float64(5*time.Second))

	ctx, col = replaydefer.NewContext(t.Context())
	require.True(t, s.DeferReplay(col, s, secretJKT, secretJTI, exp))
	assert.ErrorIs(t, col.Resolve(ctx), dpop.ErrReplayed)
}

// TestVerifierDefersOnlyIntoCollector: a dpop.Verifier on this store checks
// replay itself (one SET NX) when the context has no collector, and, only
// inside one (guard.Check), leaves the check to it.
func TestVerifierDefersOnlyIntoCollector(t *testing.T) {
	client := redistest.Shared(t)
	prefix := redistest.Prefix(t, client)
	v, err := dpop.NewVerifier(dpop.WithReplayStore(newStore(t, client, redisreplay.WithKeyPrefix(prefix))))
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p, err := dpop.NewProofer(key, "")
	require.NoError(t, err)
	req := dpop.Request{Method: "GET", URL: "https://shop.example/orders"}
	proof := func() string {
		pr, err := p.Proof(dpop.ProofRequest{Method: req.Method, URL: req.URL})
		require.NoError(t, err)
		return pr
	}
	keys := func() int {
		k, err := client.Keys(t.Context(), prefix+"*").Result()
		require.NoError(t, err)
		return len(k)
	}

	one := proof()
	_, err = v.Verify(t.Context(), one, req)
	require.NoError(t, err)
	assert.Equal(t, 1, keys(), "checked at once without a collector")
	_, err = v.Verify(t.Context(), one, req)
	assert.ErrorIs(t, err, dpop.ErrReplayed)

	ctx, col := replaydefer.NewContext(t.Context())
	two := proof()
	_, err = v.Verify(ctx, two, req)
	require.NoError(t, err)
	assert.Equal(t, 1, keys(), "deferred into the collector")
	require.NoError(t, col.Resolve(ctx))
	assert.Equal(t, 2, keys())

	ctx, col = replaydefer.NewContext(t.Context())
	_, err = v.Verify(ctx, two, req)
	require.NoError(t, err, "deferred: the verdict is the collector's")
	assert.ErrorIs(t, col.Resolve(ctx), dpop.ErrReplayed)
}

// mirrored is a store of the user's own that embeds a Store (so that
// DeferReplay is promoted) and adds to its check: here it records the
// proof in a second store too, as a migration or a multi-region setup
// would.
type mirrored struct {
	*redisreplay.Store
	mirror *redisreplay.Store
	calls  int
}

func (m *mirrored) CheckAndStore(ctx context.Context, jkt, jti string, expiry time.Time) error {
	m.calls++
	if err := m.mirror.CheckAndStore(ctx, jkt, jti, expiry); err != nil {
		return err
	}
	return m.Store.CheckAndStore(ctx, jkt, jti, expiry)
}

// TestVerifierDoesNotDeferPastAWrapper: a store that embeds a Store is a
// store of the user's own, checked during authentication through its own
// CheckAndStore, never deferred through the promoted DeferReplay (which
// would skip what the wrapper adds).
func TestVerifierDoesNotDeferPastAWrapper(t *testing.T) {
	client := redistest.Shared(t)
	prefix := redistest.Prefix(t, client)
	mirrorPrefix := redistest.Prefix(t, client)
	w := &mirrored{
		Store:  newStore(t, client, redisreplay.WithKeyPrefix(prefix)),
		mirror: newStore(t, client, redisreplay.WithKeyPrefix(mirrorPrefix)),
	}
	v, err := dpop.NewVerifier(dpop.WithReplayStore(w))
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p, err := dpop.NewProofer(key, "")
	require.NoError(t, err)
	req := dpop.Request{Method: "GET", URL: "https://shop.example/orders"}
	proof, err := p.Proof(dpop.ProofRequest{Method: req.Method, URL: req.URL})
	require.NoError(t, err)

	ctx, col := replaydefer.NewContext(t.Context())
	_, err = v.Verify(ctx, proof, req)
	require.NoError(t, err)
	assert.Equal(t, 1, w.calls, "the wrapper's CheckAndStore is the check")
	require.NoError(t, col.Resolve(ctx), "nothing was deferred")
	mirrored, err := client.Keys(t.Context(), mirrorPrefix+"*").Result()
	require.NoError(t, err)
	assert.Len(t, mirrored, 1, "the wrapper recorded the proof in its mirror")
}
