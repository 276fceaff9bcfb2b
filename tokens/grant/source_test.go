package grant_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens/grant"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to start+d.
func (c *clock) Set(start time.Time, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = start.Add(d)
}

// fetcher issues tokens "t1", "t2", … of a fixed lifetime on the clock.
type fetcher struct {
	clock    *clock
	lifetime time.Duration
	calls    atomic.Int64
	gate     chan struct{} // when set, each fetch waits for a value or ctx
	fail     atomic.Bool
}

var errFetch = errors.New("fetch failed")

func (f *fetcher) Fetch(ctx context.Context) (*grant.Token, error) {
	n := f.calls.Add(1)
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.fail.Load() {
		return nil, errFetch
	}
	now := f.clock.Now()
	return &grant.Token{AccessToken: fmt.Sprintf("t%d", n), TokenType: grant.TokenTypeDPoP, IssuedAt: now, Expiry: now.Add(f.lifetime), Scopes: []string{"a"}}, nil
}

func newSource(t *testing.T, f *fetcher) *grant.Source {
	t.Helper()
	s, err := grant.NewSource(f, grant.WithClock(f.clock.Now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func accessToken(t *testing.T, s *grant.Source) string {
	t.Helper()
	tok, err := s.AccessToken(context.Background())
	require.NoError(t, err)
	return tok
}

func TestSourceSingleFlight(t *testing.T) {
	f := &fetcher{clock: newClock(), lifetime: time.Hour, gate: make(chan struct{})}
	s := newSource(t, f)
	var wg sync.WaitGroup
	var started sync.WaitGroup
	got := make([]string, 100)
	for i := range got {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			tok, err := s.AccessToken(context.Background())
			assert.NoError(t, err)
			got[i] = tok
		}()
	}
	started.Wait()
	require.Eventually(t, func() bool { return f.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(10 * time.Millisecond) // let the callers queue on the flight
	close(f.gate)
	wg.Wait()
	assert.EqualValues(t, 1, f.calls.Load())
	for _, tok := range got {
		assert.Equal(t, "t1", tok)
	}
}

// 100 goroutines against the test peer: one token request.
func TestSourceSingleFlightOneRequest(t *testing.T) {
	p := newPeer(t, false, func(p *peer) { p.secret = secret; p.gate = make(chan struct{}) })
	requireNonces(t)(p)
	cc, err := grant.NewClientCredentials(p.url, "checkout", basicAuth(), grant.WithInsecureHTTP(), grant.WithDPoP(newProofer(t)))
	require.NoError(t, err)
	s, err := grant.NewSource(cc)
	require.NoError(t, err)
	defer s.Close()
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := s.AccessToken(context.Background())
			assert.NoError(t, err)
			assert.Equal(t, "at-1", tok)
		}()
	}
	require.Eventually(t, func() bool { return p.requests.Load() == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(10 * time.Millisecond)
	close(p.gate)
	wg.Wait()
	assert.EqualValues(t, 2, p.requests.Load(), "one request and its nonce retry")
	assert.EqualValues(t, 1, p.issued.Load())
}

// A token of 1000 s is refreshed in the background from a point in
// [800 s, 900 s), and handed out until 990 s.
func TestSourceRefreshAhead(t *testing.T) {
	c := newClock()
	start := c.Now()
	f := &fetcher{clock: c, lifetime: 1000 * time.Second}
	s := newSource(t, f)
	assert.Equal(t, "t1", accessToken(t, s))
	c.Set(start, 799*time.Second)
	assert.Equal(t, "t1", accessToken(t, s))
	assert.EqualValues(t, 1, f.calls.Load(), "no refresh before 80%")

	c.Set(start, 900*time.Second)
	assert.Equal(t, "t1", accessToken(t, s), "the current token while the refresh runs")
	require.Eventually(t, func() bool { return accessToken(t, s) == "t2" }, 5*time.Second, time.Millisecond)
	assert.EqualValues(t, 2, f.calls.Load())
	tok, err := s.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, start.Add(900*time.Second), tok.IssuedAt)
}

func TestSourceRefreshJitter(t *testing.T) {
	// Refresh points of many sources spread over [80%, 90%).
	c := newClock()
	start := c.Now()
	var early, late int
	for range 40 {
		c.Set(start, 0)
		f := &fetcher{clock: c, lifetime: 1000 * time.Second}
		s := newSource(t, f)
		accessToken(t, s)
		c.Set(start, 850*time.Second)
		accessToken(t, s)
		require.NoError(t, s.Close()) // waits for the refresh it started
		if f.calls.Load() == 2 {
			early++
		} else {
			late++
		}
	}
	assert.Positive(t, early, "some refresh before 85%")
	assert.Positive(t, late, "some refresh after 85%")
}

func TestSourceStaleWaits(t *testing.T) {
	c := newClock()
	start := c.Now()
	f := &fetcher{clock: c, lifetime: 1000 * time.Second}
	s := newSource(t, f)
	assert.Equal(t, "t1", accessToken(t, s))
	c.Set(start, 990*time.Second)
	assert.Equal(t, "t2", accessToken(t, s), "a token in its last 10 s is not handed out")
}

func TestSourceBackgroundFailureKeepsToken(t *testing.T) {
	c := newClock()
	start := c.Now()
	f := &fetcher{clock: c, lifetime: 1000 * time.Second}
	var logs syncBuffer
	s, err := grant.NewSource(f, grant.WithClock(c.Now), grant.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	defer s.Close()
	accessToken(t, s)
	f.fail.Store(true)
	c.Set(start, 900*time.Second)
	assert.Equal(t, "t1", accessToken(t, s))
	require.Eventually(t, func() bool { return f.calls.Load() == 2 }, 5*time.Second, time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	assert.Equal(t, "t1", accessToken(t, s))
	assert.EqualValues(t, 2, f.calls.Load(), "no retry within a second")
	assert.Contains(t, logs.String(), `level=WARN msg="grant: refreshing a token ahead of expiry failed; the current token is still used" expiry=2026-12-07T01:16:40.000Z error="fetch failed"`)
	assert.NotContains(t, logs.String(), "t1")
	f.fail.Store(false)
	c.Set(start, 901*time.Second)
	accessToken(t, s)
	require.Eventually(t, func() bool { return accessToken(t, s) == "t3" }, 5*time.Second, time.Millisecond)

	f.fail.Store(true)
	c.Set(start, 2000*time.Second)
	_, err = s.AccessToken(context.Background())
	assert.ErrorIs(t, err, errFetch, "an expired token is not handed out")
}

func TestSourceErrorSharedNotCached(t *testing.T) {
	f := &fetcher{clock: newClock(), lifetime: time.Hour, gate: make(chan struct{})}
	f.fail.Store(true)
	s := newSource(t, f)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := s.Token(context.Background())
			errs <- err
		}()
	}
	require.Eventually(t, func() bool { return f.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(10 * time.Millisecond)
	close(f.gate)
	for range 3 {
		assert.ErrorIs(t, <-errs, errFetch)
	}
	f.fail.Store(false)
	assert.Equal(t, "t2", accessToken(t, s))
}

func TestSourceCallerCancelled(t *testing.T) {
	f := &fetcher{clock: newClock(), lifetime: time.Hour, gate: make(chan struct{})}
	s := newSource(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := s.AccessToken(ctx)
		done <- err
	}()
	require.Eventually(t, func() bool { return f.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	close(f.gate)
	assert.Equal(t, "t1", accessToken(t, s), "the fetch went on for the next caller")
	assert.EqualValues(t, 1, f.calls.Load())
}

func TestSourceClose(t *testing.T) {
	f := &fetcher{clock: newClock(), lifetime: time.Hour, gate: make(chan struct{})}
	s := newSource(t, f)
	done := make(chan error)
	go func() {
		_, err := s.AccessToken(context.Background())
		done <- err
	}()
	require.Eventually(t, func() bool { return f.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, s.Close(), "Close stops the fetch in flight")
	assert.ErrorIs(t, <-done, context.Canceled)
	require.NoError(t, s.Close())
	_, err := s.AccessToken(context.Background())
	assert.ErrorIs(t, err, grant.ErrClosed)

	_, err = grant.NewSource(nil)
	assert.ErrorIs(t, err, grant.ErrInvalidConfig)
	_, err = grant.NewSource(f, grant.WithScopes("a"))
	assert.ErrorIs(t, err, grant.ErrInvalidConfig)
	var zero grant.Source
	_, err = zero.AccessToken(context.Background())
	assert.ErrorIs(t, err, grant.ErrInvalidConfig)
}

func TestSourceTokenIsACopy(t *testing.T) {
	f := &fetcher{clock: newClock(), lifetime: time.Hour}
	s := newSource(t, f)
	a, err := s.Token(context.Background())
	require.NoError(t, err)
	a.Scopes[0], a.AccessToken = "changed", "changed"
	b, err := s.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "t1", b.AccessToken)
	assert.Equal(t, []string{"a"}, b.Scopes)
}

func TestOAuth2(t *testing.T) {
	c := newClock()
	f := &fetcher{clock: c, lifetime: time.Hour}
	s := newSource(t, f)
	ot, err := s.OAuth2().Token()
	require.NoError(t, err)
	assert.Equal(t, "t1", ot.AccessToken)
	assert.Equal(t, "DPoP", ot.TokenType)
	assert.Equal(t, "DPoP", ot.Type())
	assert.Equal(t, c.Now().Add(time.Hour), ot.Expiry)
	assert.EqualValues(t, 3600, ot.ExpiresIn)
	s.Close()
	_, err = s.OAuth2().Token()
	assert.ErrorIs(t, err, grant.ErrClosed)
}

func TestTokenRedacted(t *testing.T) {
	tok := &grant.Token{AccessToken: "secret-access-token", TokenType: "DPoP"}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %+v %#v %s %q %x", tok, tok, tok, tok, tok, tok)
	fmt.Fprintf(&out, "%v %+v %#v %s", *tok, *tok, *tok, []grant.Token{*tok})
	j2, err := json.Marshal(*tok)
	require.NoError(t, err)
	out.Write(j2)
	j, err := json.Marshal(tok)
	require.NoError(t, err)
	out.Write(j)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("got", "token", tok, "value", *tok)
	assert.NotContains(t, out.String(), "secret-access-token")
	assert.Contains(t, out.String(), "[REDACTED]")
}

func TestSourceRefusesTokensWithoutLifetime(t *testing.T) {
	now := time.Now()
	for name, tok := range map[string]*grant.Token{
		"nil":          nil,
		"empty":        {Expiry: now.Add(time.Hour), IssuedAt: now},
		"no expiry":    {AccessToken: "a", IssuedAt: now},
		"expiry first": {AccessToken: "a", IssuedAt: now, Expiry: now.Add(-time.Second)},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := grant.NewSource(grant.FetcherFunc(func(context.Context) (*grant.Token, error) { return tok, nil }))
			require.NoError(t, err)
			defer s.Close()
			_, err = s.Token(context.Background())
			assert.ErrorIs(t, err, grant.ErrMalformedResponse)
		})
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
