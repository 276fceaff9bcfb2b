package grant

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// Fetcher obtains a new token from a token endpoint every time it is called.
// *ClientCredentials is one; [NewSource] caches what a Fetcher returns. A
// token must have an AccessToken and an Expiry after its IssuedAt; a Source
// refuses others with [ErrMalformedResponse].
type Fetcher interface {
	Fetch(ctx context.Context) (*Token, error)
}

// FetcherFunc adapts a function to [Fetcher].
type FetcherFunc func(ctx context.Context) (*Token, error)

// Fetch calls f.
func (f FetcherFunc) Fetch(ctx context.Context) (*Token, error) { return f(ctx) }

// Refresh timing of a cached token, as fractions of its lifetime (Expiry
// minus IssuedAt).
const (
	// refreshFrom and refreshJitter: a token is refreshed ahead, in the
	// background, from a point drawn uniformly in [80%, 90%) of its lifetime,
	// so that replicas started together do not refresh together.
	refreshFrom   = 0.80
	refreshJitter = 0.10
	// staleMargin: a token is not handed out in its last tenth of lifetime
	// (at most 10 s), so that it does not expire on the way to the server.
	staleMargin = 10 * time.Second
	// retryDelay: after a background refresh failed, the next is not tried
	// before this delay; callers keep the still valid token meanwhile.
	retryDelay = time.Second
	// fetchTimeout bounds a fetch that no caller waits for any more.
	fetchTimeout = time.Minute
)

// lifetime is the life of a Source or an Exchanger: the background fetches
// it started, and whether it is closed.
type lifetime struct {
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex // orders goFetch's wg.Add before close's wg.Wait
	closed atomic.Bool
	wg     sync.WaitGroup
}

func newLifetime() *lifetime {
	ctx, cancel := context.WithCancel(context.Background())
	return &lifetime{ctx: ctx, cancel: cancel}
}

// goFetch runs f in a goroutine tracked by l; false when l is closed.
func (l *lifetime) goFetch(f func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return false
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
	return true
}

func (l *lifetime) isClosed() bool { return l.closed.Load() }

func (l *lifetime) close() {
	l.mu.Lock()
	l.closed.Store(true)
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
}

// flight is one fetch that concurrent callers share.
type flight struct {
	done chan struct{}
	tok  *Token
	err  error
}

// cell caches one token: the Source's, or one subject token's in an
// Exchanger.
type cell struct {
	fetch    func(ctx context.Context) (*Token, error)
	now      func() time.Time
	logger   *slog.Logger
	life     *lifetime
	notAfter time.Time // zero: no cap besides the token's own expiry

	// cur is the cached token and its schedule, read without a lock on
	// every call; it is replaced whole, under mu.
	cur atomic.Pointer[cached]

	mu      sync.Mutex
	retryAt time.Time // no background refresh before
	flight  *flight
}

// cached is a token and when to refresh it.
type cached struct {
	tok       *Token
	refreshAt time.Time // start a background refresh from
	staleAt   time.Time // hand the token out only before
}

// get returns the cached token while it is fresh, starts a background
// refresh once its refresh point has passed, and otherwise waits for the
// single fetch in flight (starting one if there is none).
func (c *cell) get(ctx context.Context) (*Token, error) {
	if c.life.isClosed() {
		return nil, ErrClosed
	}
	now := c.now()
	if cur := c.cur.Load(); cur != nil && now.Before(cur.staleAt) {
		if !now.Before(cur.refreshAt) {
			c.mu.Lock()
			if c.flight == nil && !now.Before(c.retryAt) && c.cur.Load() == cur {
				c.startLocked(ctx, true)
			}
			c.mu.Unlock()
		}
		return cur.tok, nil
	}
	c.mu.Lock()
	if cur := c.cur.Load(); cur != nil && now.Before(cur.staleAt) {
		c.mu.Unlock() // a fetch ended since the check above
		return cur.tok, nil
	}
	f := c.flight
	if f == nil {
		if f = c.startLocked(ctx, false); f == nil {
			c.mu.Unlock()
			return nil, ErrClosed
		}
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// startLocked starts a fetch. It runs apart from the caller's
// cancellation (other callers may wait for it) but keeps its values, and
// stops when the Source or Exchanger closes.
func (c *cell) startLocked(ctx context.Context, background bool) *flight {
	f := &flight{done: make(chan struct{})}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	stop := context.AfterFunc(c.life.ctx, cancel)
	ok := c.life.goFetch(func() {
		defer cancel()
		defer stop()
		tok, err := c.fetch(fctx)
		switch {
		case err != nil:
		case tok == nil || tok.AccessToken == "":
			tok, err = nil, fmt.Errorf("%w: the fetcher returned no token", ErrMalformedResponse)
		case !tok.Expiry.After(tok.IssuedAt):
			tok, err = nil, fmt.Errorf("%w: the fetcher returned a token whose Expiry is not after its IssuedAt", ErrMalformedResponse)
		}
		var expiry time.Time
		c.mu.Lock()
		if err == nil {
			c.setLocked(tok)
		} else if background {
			c.retryAt = c.now().Add(retryDelay)
			if cur := c.cur.Load(); cur != nil {
				expiry = cur.tok.Expiry
			}
		}
		c.flight = nil
		c.mu.Unlock()
		if err != nil && background {
			c.logger.LogAttrs(fctx, slog.LevelWarn, "grant: refreshing a token ahead of expiry failed; the current token is still used",
				slog.Time("expiry", expiry), slog.String("error", err.Error()))
		}
		f.tok, f.err = tok, err
		close(f.done)
	})
	if !ok {
		stop()
		cancel()
		return nil
	}
	c.flight = f
	return f
}

// setLocked caches tok and schedules its refresh.
func (c *cell) setLocked(tok *Token) {
	life := tok.Expiry.Sub(tok.IssuedAt)
	margin := min(staleMargin, life/10)
	n := &cached{tok: tok, staleAt: tok.Expiry.Add(-margin)}
	if !c.notAfter.IsZero() && c.notAfter.Before(n.staleAt) {
		n.staleAt = c.notAfter
	}
	n.refreshAt = tok.IssuedAt.Add(time.Duration(float64(life) * (refreshFrom + refreshJitter*rand.Float64())))
	if n.refreshAt.After(n.staleAt) {
		n.refreshAt = n.staleAt
	}
	c.cur.Store(n)
	c.retryAt = time.Time{}
}

// Source caches the token of a [Fetcher] until it nears expiry. It refreshes
// ahead of time: the first call after a point drawn in [80%, 90%) of the
// token's lifetime starts a fetch in the background and still returns the
// current token; callers get the new one once it has arrived. A token is not
// handed out in the last tenth of its lifetime (at most its last 10 s):
// then, and before the first token, callers wait for the fetch. Concurrent
// callers share one fetch (a single flight), whose failure each of them
// receives; a failed background refresh is retried after a second while the
// current token is handed out.
//
// Source implements dpop.TokenSource, so it plugs into dpop.Transport and
// dpopgrpc.NewPerRPCCredentials; [Source.OAuth2] adapts it to
// golang.org/x/oauth2.
//
// A Source is safe for concurrent use. Create one with [NewSource]; the
// zero value is not usable. Close it to stop a fetch in progress.
type Source struct {
	c *cell
}

var _ dpop.TokenSource = (*Source)(nil)

// NewSource returns a Source of f's tokens. It fetches nothing until the
// first call. Its options are [WithClock] and [WithLogger]; others are
// refused with [ErrInvalidConfig].
func NewSource(f Fetcher, opts ...Option) (*Source, error) {
	if f == nil {
		return nil, fmt.Errorf("%w: NewSource needs a Fetcher", ErrInvalidConfig)
	}
	cfg, bad := newConfig(forSource, opts)
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w: options %v do not apply to NewSource", ErrInvalidConfig, bad)
	}
	return &Source{c: &cell{fetch: f.Fetch, now: cfg.now, logger: cfg.logger, life: newLifetime()}}, nil
}

// Token returns a fresh token, fetching one when there is none, and
// otherwise the cached one. The result is the caller's own copy. Errors are
// those of the Fetcher, ctx's error when ctx ends first, or [ErrClosed].
func (s *Source) Token(ctx context.Context) (*Token, error) {
	if s == nil || s.c == nil {
		return nil, fmt.Errorf("%w: Source not created by NewSource", ErrInvalidConfig)
	}
	t, err := s.c.get(ctx)
	if err != nil {
		return nil, err
	}
	return t.clone(), nil
}

// AccessToken implements dpop.TokenSource: the access token of
// [Source.Token].
func (s *Source) AccessToken(ctx context.Context) (string, error) {
	if s == nil || s.c == nil {
		return "", fmt.Errorf("%w: Source not created by NewSource", ErrInvalidConfig)
	}
	t, err := s.c.get(ctx)
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

// Close stops a fetch in progress and waits for it; later calls return
// [ErrClosed]. Close may be called more than once.
func (s *Source) Close() error {
	if s != nil && s.c != nil {
		s.c.life.close()
	}
	return nil
}

// OAuth2 returns s as a golang.org/x/oauth2 TokenSource, for code that
// expects one. Its tokens have s's TokenType ("DPoP" for a DPoP-bound token)
// and Expiry. oauth2.TokenSource.Token has no context: each call is made
// with context.Background, bounded by the fetch timeout of one minute.
//
// A DPoP token is useless without a proof made for each request: send it
// through dpop.Transport or package dpopgrpc, not through oauth2.Transport,
// which would send it without one (and the resource server refuses it).
func (s *Source) OAuth2() oauth2.TokenSource { return oauth2Source{s} }

type oauth2Source struct{ s *Source }

func (o oauth2Source) Token() (*oauth2.Token, error) {
	t, err := o.s.Token(context.Background())
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{
		AccessToken: t.AccessToken,
		TokenType:   t.TokenType,
		Expiry:      t.Expiry,
		ExpiresIn:   int64(t.Expiry.Sub(t.IssuedAt) / time.Second),
	}, nil
}

func (t *Token) clone() *Token {
	c := *t
	c.Scopes = slices.Clone(t.Scopes)
	return &c
}
