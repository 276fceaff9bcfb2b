package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ztkit/ztkit/secrets"
)

// fastBackoff keeps retries within the short lifetimes of these tests.
var fastBackoff = secrets.WithBackoff(20*time.Millisecond, 100*time.Millisecond)

func newMemory(t *testing.T, ttl, maxTTL time.Duration) *secrets.Memory {
	t.Helper()
	m, err := secrets.NewMemory(nil, ttl, maxTTL)
	require.NoError(t, err)
	return m
}

func newSource(t *testing.T, p secrets.Provider, opts ...secrets.Option) *secrets.Source {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	src, err := secrets.NewSource(ctx, "test", p, append([]secrets.Option{fastBackoff}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSourceRenewsAndRotatesWithNoFailedRead(t *testing.T) {
	// Lifetimes of a second or more: the renewal's margin (30-40% of the TTL)
	// must outlast the scheduling delays of a loaded 2-core CI machine (a
	// 0.3 s TTL failed there).
	m := newMemory(t, time.Second, 3*time.Second)
	reader := sdkmetric.NewManualReader()
	src := newSource(t, m, secrets.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))

	first, err := src.Current()
	require.NoError(t, err)

	var (
		mu        sync.Mutex
		rotations int
		prev      = first
		oldValid  = true
	)
	src.OnRotate(func(s *secrets.Secret) {
		mu.Lock()
		defer mu.Unlock()
		rotations++
		// The credential being replaced must still work when the new one arrives.
		oldValid = oldValid && m.Valid(prev)
		prev = s
	})

	// Readers on the request path: every credential they get must be one the
	// backend accepts at that moment.
	var reads, failed atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				s, err := src.Current()
				reads.Add(1)
				if err != nil || !m.Valid(s) {
					failed.Add(1)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	assert.Zero(t, failed.Load(), "failed reads out of %d", reads.Load())
	assert.GreaterOrEqual(t, rotations, 2, "an 8 s run with a 3 s max TTL rotates at least twice")
	assert.True(t, oldValid, "each rotation arrived while the old credential was valid")

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	assert.GreaterOrEqual(t, sumCounter(rm, "ztkit.secrets.renewed", nil), int64(2))
	assert.GreaterOrEqual(t, sumCounter(rm, "ztkit.secrets.issued", nil), int64(3))
	assert.Zero(t, sumCounter(rm, "ztkit.secrets.failures", nil))
	exp, ok := gaugeValue(rm, "ztkit.secrets.expiry")
	require.True(t, ok, "expiry gauge observed")
	assert.Greater(t, exp, 0.0)
	assert.LessOrEqual(t, exp, 1.0, "seconds to the expiry of a credential with a 1 s TTL")
}

func TestSourceBackendDownServesThenFailsClosedThenRecovers(t *testing.T) {
	m := newMemory(t, 400*time.Millisecond, time.Minute)
	var logs syncBuffer
	src := newSource(t, m, secrets.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	before, err := src.Current()
	require.NoError(t, err)

	m.SetAvailable(false)
	// Still valid: served as is.
	got, err := src.Current()
	require.NoError(t, err)
	assert.Same(t, before, got)

	// Past its expiry with no replacement: fail closed, saying why.
	waitFor(t, 2*time.Second, func() bool { _, err := src.Current(); return err != nil }, "expiry")
	s, err := src.Current()
	assert.Nil(t, s)
	assert.ErrorIs(t, err, secrets.ErrExpired)
	assert.ErrorIs(t, err, secrets.ErrUnavailable, "the cause is kept")
	assert.Contains(t, logs.String(), "credential expired with no replacement")

	// Back: the Source recovers by itself.
	m.SetAvailable(true)
	waitFor(t, 2*time.Second, func() bool { _, err := src.Current(); return err == nil }, "recovery")
	after, err := src.Current()
	require.NoError(t, err)
	assert.True(t, m.Valid(after))
}

func TestSourceRevokedLeaseIsReissued(t *testing.T) {
	m := newMemory(t, 300*time.Millisecond, time.Minute)
	src := newSource(t, m)
	first, err := src.Current()
	require.NoError(t, err)

	rotated := make(chan *secrets.Secret, 1)
	src.OnRotate(func(s *secrets.Secret) { rotated <- s })
	m.Revoke(first.Lease().ID)

	select {
	case s := <-rotated:
		assert.True(t, m.Valid(s))
		assert.NotEqual(t, first.Lease().ID, s.Lease().ID)
	case <-time.After(2 * time.Second):
		t.Fatal("no new credential after the lease was revoked")
	}
}

func TestSourceRotateNow(t *testing.T) {
	m := newMemory(t, time.Minute, time.Hour)
	src := newSource(t, m)
	first, err := src.Current()
	require.NoError(t, err)
	var called atomic.Bool
	remove := src.OnRotate(func(*secrets.Secret) { called.Store(true) })

	require.NoError(t, src.Rotate(context.Background()))
	second, err := src.Current()
	require.NoError(t, err)
	assert.NotEqual(t, first.Lease().ID, second.Lease().ID)
	assert.True(t, called.Load(), "callback ran before Rotate returned")

	remove()
	called.Store(false)
	require.NoError(t, src.Rotate(context.Background()))
	assert.False(t, called.Load(), "removed callback is not called")

	m.SetAvailable(false)
	err = src.Rotate(context.Background())
	assert.ErrorIs(t, err, secrets.ErrUnavailable)
	third, err := src.Current()
	require.NoError(t, err, "a failed rotation keeps the credential")
	assert.NotNil(t, third)
}

func TestSourceSameValueIsNotARotation(t *testing.T) {
	src := newSource(t, secrets.Static(map[string]string{"key": "v"}), secrets.WithRefresh(30*time.Millisecond))
	var calls atomic.Int64
	src.OnRotate(func(*secrets.Secret) { calls.Add(1) })
	updated := src.Updated()
	select {
	case <-updated:
	case <-time.After(2 * time.Second):
		t.Fatal("a static source is refreshed")
	}
	assert.Zero(t, calls.Load())
	s, err := src.Current()
	require.NoError(t, err)
	v, ok := s.Reveal("key")
	assert.True(t, ok)
	assert.True(t, v == "v")
}

func TestSourceCallbackPanicIsContained(t *testing.T) {
	m := newMemory(t, time.Minute, time.Hour)
	reader := sdkmetric.NewManualReader()
	var logs syncBuffer
	src := newSource(t, m,
		secrets.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		secrets.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	var after atomic.Bool
	src.OnRotate(func(s *secrets.Secret) {
		v, _ := s.Reveal("password")
		panic("boom " + v)
	})
	src.OnRotate(func(*secrets.Secret) { after.Store(true) })
	require.NoError(t, src.Rotate(context.Background()))
	assert.True(t, after.Load(), "other callbacks still run")
	s, err := src.Current()
	require.NoError(t, err)
	v, _ := s.Reveal("password")
	assert.True(t, !strings.Contains(logs.String(), v), "the panic value is not logged")
	assert.Contains(t, logs.String(), "rotation callback panicked")

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	assert.Equal(t, int64(1), sumCounter(rm, "ztkit.secrets.failures", map[string]string{
		"ztkit.secrets.operation": "callback", "ztkit.secrets.cause": "panic"}))
}

func TestNewSourceErrors(t *testing.T) {
	m := newMemory(t, time.Minute, time.Hour)

	_, err := secrets.NewSource(context.Background(), "x", nil)
	assert.ErrorIs(t, err, secrets.ErrInvalidConfig)
	_, err = secrets.NewSource(context.Background(), "", m)
	assert.ErrorIs(t, err, secrets.ErrInvalidConfig)

	// Unavailable: retried until ctx is done.
	m.SetAvailable(false)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = secrets.NewSource(ctx, "x", m, fastBackoff)
	assert.ErrorIs(t, err, secrets.ErrUnavailable)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	// Unavailable at first, then up: NewSource waits for it.
	go func() { time.Sleep(100 * time.Millisecond); m.SetAvailable(true) }()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	src, err := secrets.NewSource(ctx2, "x", m, fastBackoff)
	require.NoError(t, err)
	require.NoError(t, src.Close())

	// Refused, or a broken provider: at once.
	_, err = secrets.NewSource(context.Background(), "x", providerFunc(func() (*secrets.Secret, error) {
		return nil, secrets.ErrRefused
	}))
	assert.ErrorIs(t, err, secrets.ErrRefused)
	_, err = secrets.NewSource(context.Background(), "x", providerFunc(func() (*secrets.Secret, error) {
		return nil, nil
	}))
	assert.ErrorIs(t, err, secrets.ErrInvalidSecret)
	_, err = secrets.NewSource(context.Background(), "x", providerFunc(func() (*secrets.Secret, error) {
		return secrets.NewSecret(nil, secrets.Lease{IssuedAt: time.Now().Add(-time.Hour), ExpiresAt: time.Now().Add(-time.Minute)}), nil
	}))
	assert.ErrorIs(t, err, secrets.ErrInvalidSecret)

	_, err = secrets.NewMemory(nil, 0, time.Second)
	assert.ErrorIs(t, err, secrets.ErrInvalidConfig)
	_, err = secrets.NewMemory(nil, time.Minute, time.Second)
	assert.ErrorIs(t, err, secrets.ErrInvalidConfig)
}

func TestSourceClose(t *testing.T) {
	src := newSource(t, newMemory(t, time.Minute, time.Hour))
	updated := src.Updated()
	require.NoError(t, src.Close())
	require.NoError(t, src.Close(), "Close twice")
	_, err := src.Current()
	assert.ErrorIs(t, err, secrets.ErrClosed)
	assert.ErrorIs(t, src.Rotate(context.Background()), secrets.ErrClosed)
	select {
	case <-updated:
	default:
		t.Fatal("Close wakes Updated waiters")
	}
}

// TestSourceMaxTTLReissuesBeforeExpiry: renewals that reach the maximum TTL
// stop being renewed and a new credential is issued while the old one is valid.
func TestSourceMaxTTLReissuesBeforeExpiry(t *testing.T) {
	m := newMemory(t, 200*time.Millisecond, 500*time.Millisecond)
	src := newSource(t, m)
	first, err := src.Current()
	require.NoError(t, err)
	firstExp := first.Lease().IssuedAt.Add(500 * time.Millisecond)
	rotated := make(chan time.Time, 1)
	src.OnRotate(func(*secrets.Secret) {
		select {
		case rotated <- time.Now():
		default:
		}
	})
	select {
	case at := <-rotated:
		assert.True(t, at.Before(firstExp), "rotated %v before the first lease's maximum TTL", firstExp.Sub(at))
	case <-time.After(2 * time.Second):
		t.Fatal("no rotation")
	}
}

type providerFunc func() (*secrets.Secret, error)

func (f providerFunc) Issue(context.Context) (*secrets.Secret, error) { return f() }
func (f providerFunc) Renew(context.Context, *secrets.Secret) (*secrets.Secret, error) {
	return nil, errors.New("not used")
}

func sumCounter(rm metricdata.ResourceMetrics, name string, want map[string]string) int64 {
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			if md.Name != name {
				continue
			}
			sum, ok := md.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
		points:
			for _, dp := range sum.DataPoints {
				for k, v := range want {
					got, ok := dp.Attributes.Value(attributeKey(k))
					if !ok || got.AsString() != v {
						continue points
					}
				}
				n += dp.Value
			}
		}
	}
	return n
}

func gaugeValue(rm metricdata.ResourceMetrics, name string) (float64, bool) {
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			if g, ok := md.Data.(metricdata.Gauge[float64]); ok && md.Name == name && len(g.DataPoints) > 0 {
				return g.DataPoints[0].Value, true
			}
		}
	}
	return 0, false
}

// syncBuffer is a log sink the Source's goroutine writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// invalidating is a Memory backend whose credentials all die when invalidate
// is called, as Vault's dynamic credentials do with the token that issued
// them.
type invalidating struct {
	*secrets.Memory
	mu sync.Mutex
	ch chan struct{}
}

func (p *invalidating) Invalidated() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ch
}

func (p *invalidating) invalidate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.ch)
	p.ch = make(chan struct{})
}

func TestSourceInvalidatedIsReissued(t *testing.T) {
	p := &invalidating{Memory: newMemory(t, time.Minute, time.Hour), ch: make(chan struct{})}
	src := newSource(t, p)
	first, err := src.Current()
	require.NoError(t, err)
	rotated := make(chan *secrets.Secret, 4)
	src.OnRotate(func(s *secrets.Secret) { rotated <- s })

	p.invalidate()
	var second *secrets.Secret
	select {
	case second = <-rotated:
		assert.NotEqual(t, first.Lease().ID, second.Lease().ID)
	case <-time.After(2 * time.Second):
		t.Fatal("no new credential after the provider invalidated the old one")
	}

	// While the backend is down, the Source keeps the credential it has and
	// issues a new one once it is back.
	p.SetAvailable(false)
	p.invalidate()
	time.Sleep(200 * time.Millisecond)
	cur, err := src.Current()
	require.NoError(t, err)
	assert.Equal(t, second.Lease().ID, cur.Lease().ID)
	p.SetAvailable(true)
	select {
	case third := <-rotated:
		assert.NotEqual(t, second.Lease().ID, third.Lease().ID)
	case <-time.After(2 * time.Second):
		t.Fatal("no new credential once the backend was back")
	}
	select {
	case <-rotated:
		t.Fatal("one invalidation, one new credential")
	case <-time.After(200 * time.Millisecond):
	}
}

func TestSourceCallbacksRunInRegistrationOrder(t *testing.T) {
	src := newSource(t, newMemory(t, time.Minute, time.Hour))
	var order []int
	removes := make([]func(), 0, 8)
	for i := range 8 {
		removes = append(removes, src.OnRotate(func(*secrets.Secret) { order = append(order, i) }))
	}
	removes[3]()
	seen := map[string]bool{}
	for range 5 {
		order = order[:0]
		require.NoError(t, src.Rotate(context.Background()))
		assert.Equal(t, []int{0, 1, 2, 4, 5, 6, 7}, order)
		cur, err := src.Current()
		require.NoError(t, err)
		assert.False(t, seen[cur.Lease().ID], "each Rotate issues a new credential")
		seen[cur.Lease().ID] = true
	}
}

// slowIssue delays every Issue of a Memory backend.
type slowIssue struct {
	*secrets.Memory
	issues atomic.Int64
}

func (p *slowIssue) Issue(ctx context.Context) (*secrets.Secret, error) {
	p.issues.Add(1)
	time.Sleep(50 * time.Millisecond)
	return p.Memory.Issue(ctx)
}

// Every in-flight request that finds the credential refused calls Rotate:
// the burst issues one new credential, not one per call.
func TestSourceRotateBurstIssuesOnce(t *testing.T) {
	p := &slowIssue{Memory: newMemory(t, time.Minute, time.Hour)}
	src := newSource(t, p)
	first, err := src.Current()
	require.NoError(t, err)
	var rotations atomic.Int64
	src.OnRotate(func(*secrets.Secret) { rotations.Add(1) })

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			assert.NoError(t, src.Rotate(context.Background()))
		})
	}
	wg.Wait()
	now, err := src.Current()
	require.NoError(t, err)
	assert.NotEqual(t, first.Lease().ID, now.Lease().ID)
	assert.Equal(t, int64(1+1), p.issues.Load(), "issues: the first and one for the burst")
	assert.Equal(t, p.issues.Load()-1, rotations.Load())
}

// hanging is a Memory backend that can stop answering: its calls then
// return only when their context is done, as a request to a server that
// drops packets does.
type hanging struct {
	*secrets.Memory
	hang atomic.Bool
}

func (p *hanging) wait(ctx context.Context) error {
	if !p.hang.Load() {
		return nil
	}
	<-ctx.Done()
	return fmt.Errorf("%w: %w", secrets.ErrUnavailable, ctx.Err())
}

func (p *hanging) Issue(ctx context.Context) (*secrets.Secret, error) {
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	return p.Memory.Issue(ctx)
}

func (p *hanging) Renew(ctx context.Context, s *secrets.Secret) (*secrets.Secret, error) {
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	return p.Memory.Renew(ctx, s)
}

// A backend that does not answer cannot keep Current from failing closed
// when the lease ends: the Source bounds its calls by the lease.
func TestSourceHungBackendFailsClosedOnTime(t *testing.T) {
	p := &hanging{Memory: newMemory(t, 300*time.Millisecond, time.Minute)}
	src := newSource(t, p)
	first, err := src.Current()
	require.NoError(t, err)
	p.hang.Store(true)
	waitFor(t, time.Second, func() bool { _, err := src.Current(); return err != nil }, "fail closed")
	assert.Less(t, time.Since(first.Lease().ExpiresAt), 100*time.Millisecond, "failed closed late")
	_, err = src.Current()
	assert.ErrorIs(t, err, secrets.ErrExpired)
	assert.ErrorIs(t, err, secrets.ErrUnavailable)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// shortRenewal issues credentials with leases of a second, and renews them
// for only short: the backend's maximum TTL is near.
type shortRenewal struct {
	short   time.Duration
	n       atomic.Int64
	renewed atomic.Pointer[secrets.Secret] // the last renewal
}

func (p *shortRenewal) Issue(context.Context) (*secrets.Secret, error) {
	n := strconv.FormatInt(p.n.Add(1), 10)
	now := time.Now()
	return secrets.NewSecret(map[string]string{"password": "p" + n},
		secrets.Lease{ID: "lease-" + n, IssuedAt: now, ExpiresAt: now.Add(time.Second), Renewable: true}), nil
}

func (p *shortRenewal) Renew(_ context.Context, s *secrets.Secret) (*secrets.Secret, error) {
	l := s.Lease()
	l.IssuedAt = time.Now()
	l.ExpiresAt = l.IssuedAt.Add(p.short)
	r := s.WithLease(l)
	p.renewed.Store(r)
	return r, nil
}

// Near the backend's maximum TTL, a renewal comes back short; the new
// credential is issued when 30% to 40% of a full lifetime is left, or at once
// when less is, so that the old one stays valid beside it for as long as it
// can, however little the short renewal granted.
func TestSourceMaxTTLLeavesTheMostOverlap(t *testing.T) {
	for _, tc := range []struct {
		short    time.Duration
		min, max time.Duration // overlap of the old and new credentials
	}{
		// At once: the old credential's whole 100 ms (60-70% of them would leave 30-40 ms).
		{short: 100 * time.Millisecond, min: 60 * time.Millisecond, max: 100 * time.Millisecond},
		// With 300-400 ms left, not at once.
		{short: 800 * time.Millisecond, min: 100 * time.Millisecond, max: 400 * time.Millisecond},
	} {
		t.Run(tc.short.String(), func(t *testing.T) {
			t.Parallel()
			p := &shortRenewal{short: tc.short}
			src := newSource(t, p)
			overlap := make(chan time.Duration, 1)
			src.OnRotate(func(*secrets.Secret) {
				select {
				case overlap <- time.Until(p.renewed.Load().Lease().ExpiresAt):
				default:
				}
			})
			select {
			case d := <-overlap:
				assert.GreaterOrEqual(t, d, tc.min)
				assert.LessOrEqual(t, d, tc.max)
			case <-time.After(2 * time.Second):
				t.Fatal("no rotation")
			}
		})
	}
}

// droppingRenewal issues credentials with leases of a second, and its
// renewals come back with no expiry, as a backend's answer with a lease
// duration of 0 reads (a token renewed at its maximum TTL).
type droppingRenewal struct{ n atomic.Int64 }

func (p *droppingRenewal) Issue(context.Context) (*secrets.Secret, error) {
	n := strconv.FormatInt(p.n.Add(1), 10)
	now := time.Now()
	return secrets.NewSecret(map[string]string{"password": "p" + n},
		secrets.Lease{ID: "lease-" + n, IssuedAt: now, ExpiresAt: now.Add(time.Second), Renewable: true}), nil
}

func (p *droppingRenewal) Renew(_ context.Context, s *secrets.Secret) (*secrets.Secret, error) {
	return s.WithLease(secrets.Lease{ID: s.Lease().ID, IssuedAt: time.Now()}), nil
}

// A renewal cannot make an expiring credential eternal: one that comes back
// with no expiry is refused, and a new credential issued, rather than the old
// one served past its end as if it never expired.
func TestSourceRenewalWithNoExpiryIsRefused(t *testing.T) {
	p := &droppingRenewal{}
	src := newSource(t, p)
	rotated := make(chan struct{}, 1)
	src.OnRotate(func(*secrets.Secret) {
		select {
		case rotated <- struct{}{}:
		default:
		}
	})
	deadline := time.After(2 * time.Second)
	for {
		sec, err := src.Current()
		require.NoError(t, err)
		require.False(t, sec.Lease().ExpiresAt.IsZero(), "a renewal removed the credential's expiry")
		select {
		case <-rotated:
			return
		case <-deadline:
			t.Fatal("no new credential after a renewal with no expiry")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// A rotation callback that does not return (a connection pool's re-auth
// hung on a dead server, a callback that waits for the Source itself) holds
// the Source's goroutine; Current must still fail closed when the credential
// it serves expires, not serve it past its end.
func TestSourceBlockedCallbackStillFailsClosedOnTime(t *testing.T) {
	m := newMemory(t, 400*time.Millisecond, 400*time.Millisecond)
	src := newSource(t, m)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before the Source's Close, which waits for it
	got := make(chan *secrets.Secret, 1)
	src.OnRotate(func(s *secrets.Secret) {
		got <- s
		<-release
	})
	var sec *secrets.Secret
	select {
	case sec = <-got:
	case <-time.After(2 * time.Second):
		t.Fatal("no rotation")
	}
	time.Sleep(time.Until(sec.Lease().ExpiresAt) + 100*time.Millisecond)
	cur, err := src.Current()
	assert.ErrorIs(t, err, secrets.ErrExpired)
	assert.Nil(t, cur, "Current served a credential past its expiry")
}

// longLease issues renewable leases of 60 years (a Vault mount whose
// max_lease_ttl was raised to "never"), and counts the renewals.
type longLease struct{ renewals atomic.Int64 }

func (p *longLease) Issue(context.Context) (*secrets.Secret, error) {
	now := time.Now()
	return secrets.NewSecret(map[string]string{"password": "p"},
		secrets.Lease{ID: "lease", IssuedAt: now, ExpiresAt: now.Add(60 * 365 * 24 * time.Hour), Renewable: true}), nil
}

func (p *longLease) Renew(_ context.Context, s *secrets.Secret) (*secrets.Secret, error) {
	p.renewals.Add(1)
	l := s.Lease()
	l.IssuedAt = time.Now()
	return s.WithLease(l), nil
}

// The renewal point of a long lease (60% to 70% of it) must not overflow
// into the past: the Source would renew in a loop, hammering the backend.
func TestSourceLongLeaseIsNotRenewedAtOnce(t *testing.T) {
	p := &longLease{}
	newSource(t, p)
	time.Sleep(300 * time.Millisecond)
	assert.Zero(t, p.renewals.Load(), "renewed a lease of 60 years within 300 ms")
}
