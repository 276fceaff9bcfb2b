package tokens

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a [RemoteKeySet].
const (
	DefaultRefreshInterval    = 5 * time.Minute
	DefaultMinRefreshInterval = 30 * time.Second
	DefaultMaxStale           = time.Hour
	maxJWKSBody               = 1 << 20
	maxJWKSRedirects          = 3
)

// RemoteKeySetOption configures a [RemoteKeySet].
type RemoteKeySetOption interface{ applyRemote(*remoteConfig) }

type remoteConfig struct {
	client       *http.Client
	refresh      time.Duration
	minRefresh   time.Duration
	maxStale     time.Duration
	now          func() time.Time
	logger       *slog.Logger
	insecureHTTP bool
}

type remoteOptionFunc func(*remoteConfig)

func (f remoteOptionFunc) applyRemote(c *remoteConfig) { f(c) }

// WithHTTPClient sets the client that fetches the JWK Set. nil keeps a client
// with a ten-second timeout.
func WithHTTPClient(c *http.Client) RemoteKeySetOption {
	return remoteOptionFunc(func(rc *remoteConfig) {
		if c != nil {
			rc.client = c
		}
	})
}

// WithRefreshInterval sets how often the JWK Set is fetched in the background.
// The default is five minutes.
func WithRefreshInterval(d time.Duration) RemoteKeySetOption {
	return remoteOptionFunc(func(c *remoteConfig) { c.refresh = d })
}

// WithMinRefreshInterval sets how often, at most, a token with an unknown kid
// may cause a fetch, so that tokens with random kids cannot cause a fetch storm.
// The default is 30 seconds.
func WithMinRefreshInterval(d time.Duration) RemoteKeySetOption {
	return remoteOptionFunc(func(c *remoteConfig) { c.minRefresh = d })
}

// WithMaxStale sets how long after the last successful fetch the keys are still
// used while the issuer cannot be reached. Past it every lookup fails with
// [ErrKeySetUnavailable]. The default is one hour.
func WithMaxStale(d time.Duration) RemoteKeySetOption {
	return remoteOptionFunc(func(c *remoteConfig) { c.maxStale = d })
}

// WithLogger sets the logger for fetch failures. nil keeps a logger that
// discards everything.
func WithLogger(l *slog.Logger) RemoteKeySetOption {
	return remoteOptionFunc(func(c *remoteConfig) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithInsecureHTTP allows a JWK Set URL with the http scheme, for tests and
// for issuers reached over a channel secured otherwise (a mesh's mTLS).
func WithInsecureHTTP() RemoteKeySetOption {
	return remoteOptionFunc(func(c *remoteConfig) { c.insecureHTTP = true })
}

// RemoteKeySet is a [KeySource] for another issuer's keys, published as a JWK
// Set at a URL. It fetches the set when created, then in the background; a
// token with an unknown kid causes a fetch at most once per minimum refresh
// interval. A fetch follows at most three redirects, all within the URL's
// origin, and fails with [ErrCrossOriginRedirect] on any other. Only the keys
// [ParseJWKS] keeps verify tokens: never one whose "use" or "key_ops" says it
// is not for verifying signatures. While the issuer cannot be reached the last good keys are served
// for at most the maximum staleness, and then every lookup fails closed.
//
// It is safe for concurrent use. Close stops the background refresh.
type RemoteKeySet struct {
	url    string
	logURL string // without userinfo password
	cfg    remoteConfig

	state atomic.Pointer[remoteState]

	mu           sync.Mutex
	inflight     *fetchCall
	lastOnDemand time.Time

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closed    atomic.Bool
}

type remoteState struct {
	keys      map[string]*PublicKey
	fetchedAt time.Time
}

type fetchCall struct {
	done chan struct{}
	err  error
}

// NewRemoteKeySet fetches the JWK Set at jwksURL and returns a key set that keeps
// it fresh. It blocks until the first fetch succeeds, fails, or ctx is done: a
// verifier never starts without keys.
func NewRemoteKeySet(ctx context.Context, jwksURL string, opts ...RemoteKeySetOption) (*RemoteKeySet, error) {
	cfg := remoteConfig{
		client:     &http.Client{Timeout: 10 * time.Second},
		refresh:    DefaultRefreshInterval,
		minRefresh: DefaultMinRefreshInterval,
		maxStale:   DefaultMaxStale,
		now:        time.Now,
		logger:     slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o.applyRemote(&cfg)
	}
	u, err := url.Parse(jwksURL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return nil, fmt.Errorf("%w: JWK Set URL must be an absolute http(s) URL", ErrInvalidConfig)
	case u.Scheme == "http" && !cfg.insecureHTTP:
		return nil, fmt.Errorf("%w: JWK Set URL must use https (see WithInsecureHTTP)", ErrInvalidConfig)
	case cfg.refresh <= 0 || cfg.minRefresh <= 0 || cfg.maxStale <= 0:
		return nil, fmt.Errorf("%w: refresh intervals and staleness must be positive", ErrInvalidConfig)
	case cfg.maxStale < cfg.refresh:
		return nil, fmt.Errorf("%w: maximum staleness is shorter than the refresh interval", ErrInvalidConfig)
	}
	// The JWK Set is the trust anchor: follow a redirect only within the
	// origin of jwksURL (RFC 6454 §4: scheme, host and port), a few times.
	client := *cfg.client
	next := client.CheckRedirect
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(req.URL, u) {
			return ErrCrossOriginRedirect
		}
		if len(via) > maxJWKSRedirects {
			return fmt.Errorf("%w: more than %d redirects", ErrKeySetUnavailable, maxJWKSRedirects)
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	cfg.client = &client
	r := &RemoteKeySet{url: u.String(), logURL: u.Redacted(), cfg: cfg, done: make(chan struct{})}
	if err := r.fetch(ctx); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.loop(bg)
	return r, nil
}

// VerificationKey implements [KeySource].
func (r *RemoteKeySet) VerificationKey(ctx context.Context, kid string) (*PublicKey, error) {
	if r.closed.Load() {
		return nil, ErrClosed
	}
	if k, err := r.lookup(kid); k != nil || err != nil {
		return k, err
	}
	if err := r.fetchOnDemand(ctx); err != nil {
		if errors.Is(err, ErrUnknownKey) {
			return nil, err
		}
		r.cfg.logger.Warn("tokens: JWK Set refresh for an unknown kid failed", "url", r.logURL, "error", err)
	}
	k, err := r.lookup(kid)
	if k == nil && err == nil {
		err = ErrUnknownKey
	}
	return k, err
}

// lookup returns the key, nil and nil when the kid is unknown, or
// ErrKeySetUnavailable when the keys are too stale to use.
func (r *RemoteKeySet) lookup(kid string) (*PublicKey, error) {
	st := r.state.Load()
	if r.cfg.now().Sub(st.fetchedAt) > r.cfg.maxStale {
		return nil, fmt.Errorf("%w: JWK Set not refreshed for longer than %s", ErrKeySetUnavailable, r.cfg.maxStale)
	}
	return st.keys[kid], nil
}

// fetchOnDemand fetches for an unknown kid, at most once per minimum refresh
// interval; callers that arrive while a fetch is under way wait for it.
func (r *RemoteKeySet) fetchOnDemand(ctx context.Context) error {
	r.mu.Lock()
	call := r.inflight
	if call == nil {
		now := r.cfg.now()
		if !r.lastOnDemand.IsZero() && now.Sub(r.lastOnDemand) < r.cfg.minRefresh {
			r.mu.Unlock()
			return ErrUnknownKey
		}
		r.lastOnDemand = now
		call = &fetchCall{done: make(chan struct{})}
		r.inflight = call
		r.mu.Unlock()
		// Detached from this caller's cancellation: others wait on the same fetch.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		call.err = r.fetch(fctx)
		cancel()
		r.mu.Lock()
		r.inflight = nil
		r.mu.Unlock()
		close(call.done)
		return call.err
	}
	r.mu.Unlock()
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Refresh fetches the JWK Set now.
func (r *RemoteKeySet) Refresh(ctx context.Context) error {
	if r.closed.Load() {
		return ErrClosed
	}
	return r.fetch(ctx)
}

// Close stops the background refresh. It may be called more than once; later
// lookups fail with [ErrClosed].
func (r *RemoteKeySet) Close() error {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		r.cancel()
		<-r.done
	})
	return nil
}

func (r *RemoteKeySet) loop(ctx context.Context) {
	defer close(r.done)
	wait := r.cfg.refresh
	for {
		// ±10% jitter so that replicas do not fetch in step.
		jitter := time.Duration(rand.Int64N(int64(wait)/5+1)) - wait/10
		t := time.NewTimer(wait + jitter)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := r.fetch(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.cfg.logger.Warn("tokens: JWK Set refresh failed", "url", r.logURL, "error", err)
			wait = min(max(wait/2, time.Second), r.cfg.refresh) // retry sooner while failing
			continue
		}
		wait = r.cfg.refresh
	}
}

// fetch gets and parses the set and, when it holds usable keys, swaps it in.
// Keys unchanged since the last fetch keep their *PublicKey, so that the
// verifier's cache survives a refresh.
func (r *RemoteKeySet) fetch(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrKeySetUnavailable, err)
	}
	req.Header.Set("Accept", JWKSContentType+", application/json")
	resp, err := r.cfg.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: fetching JWK Set: %w", ErrKeySetUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: JWK Set fetch returned status %d", ErrKeySetUnavailable, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBody+1))
	if err != nil {
		return fmt.Errorf("%w: reading JWK Set: %v", ErrKeySetUnavailable, err)
	}
	if len(body) > maxJWKSBody {
		return fmt.Errorf("%w: JWK Set larger than %d bytes", ErrKeySetUnavailable, maxJWKSBody)
	}
	keys, err := ParseJWKS(body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeySetUnavailable, err)
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: JWK Set has no usable signature keys", ErrKeySetUnavailable)
	}
	old := r.state.Load()
	next := &remoteState{keys: make(map[string]*PublicKey, len(keys)), fetchedAt: r.cfg.now()}
	for _, k := range keys {
		if old != nil {
			if prev, ok := old.keys[k.KeyID]; ok && prev.Algorithm == k.Algorithm && sameKey(prev.Key, k.Key) {
				k = prev
			}
		}
		next.keys[k.KeyID] = k
	}
	r.state.Store(next)
	return nil
}

// sameOrigin reports whether a and b have the same origin (RFC 6454 §4):
// scheme and host compared without case, ports with the scheme's default
// filled in.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && effectivePort(a) == effectivePort(b)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

func sameKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
