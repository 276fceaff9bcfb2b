package grant

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ztkit/ztkit/internal/fifo"
	"github.com/ztkit/ztkit/internal/jsonscan"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// Exchanger exchanges subject tokens for access tokens (RFC 8693 token
// exchange) at one token endpoint, and caches each subject token's issued
// token: a service acting for its callers, such as checkout calling
// payments for a customer, exchanges each customer's token once and reuses
// the result until it nears expiry.
//
//	x, err := grant.NewExchanger("https://sts.shop.example/token", "spiffe://shop.example/checkout", grant.TLSClientAuth(),
//		grant.WithHTTPClient(mtlsClient), grant.WithDPoP(proofer),
//		grant.WithAudience("https://payments.shop.example"), grant.WithScopes("payments:charge"))
//	tok, err := x.Exchange(ctx, customerToken)
//
// Each request carries grant_type urn:ietf:params:oauth:grant-type:token-exchange,
// the subject token and its type, the requested token type when
// [WithRequestedTokenType] is set, the actor token when [WithActorToken] is set, and the audience, resource and scope
// options. The response must name its issued_token_type and be usable as
// an access token (DPoP with [WithDPoP], else Bearer).
//
// The cache is keyed by the SHA-256 of the request's parameters and the
// subject token, and bounded ([WithCacheSize]). An entry refreshes ahead of
// time and with a single flight like a [Source], and is dropped when the
// subject token expires (the exp of a JWT subject token, read without
// verifying it, only to stop using the exchanged token sooner), or when its
// issued token does, whichever comes first. Failures are not cached.
//
// An Exchanger is safe for concurrent use. Create one with [NewExchanger];
// the zero value is not usable. Close it to stop fetches in progress.
type Exchanger struct {
	e      *endpoint
	life   *lifetime
	logger *slog.Logger
	prefix []byte // the request parameters, hashed before the subject token

	actor     func(context.Context) (string, error)
	actorType string
	subjType  string
	reqType   string

	mu    sync.Mutex
	cache *fifo.Map[[sha256.Size]byte, *cell]
}

var _ dpop.TokenSource = (*Exchanger)(nil)

// NewExchanger returns an exchanger at the token endpoint at tokenURL
// (https, unless [WithInsecureHTTP]) for clientID, authenticated by auth.
// With [NoClientAuth], clientID may be "": the actor token or the mTLS
// certificate says who the client is.
// It returns an error matching [ErrInvalidConfig] when an argument or option
// is unusable.
func NewExchanger(tokenURL, clientID string, auth ClientAuth, opts ...Option) (*Exchanger, error) {
	cfg, bad := newConfig(forRequest|forExchange, opts)
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w: options %v do not apply to NewExchanger", ErrInvalidConfig, bad)
	}
	if cfg.cacheSize <= 0 {
		return nil, fmt.Errorf("%w: WithCacheSize must be positive", ErrInvalidConfig)
	}
	e, err := newEndpoint(tokenURL, clientID, auth, cfg, true)
	if err != nil {
		return nil, err
	}
	x := &Exchanger{
		e: e, life: newLifetime(), logger: cfg.logger,
		actor: cfg.actorToken, actorType: cfg.actorTokenType,
		subjType: cfg.subjectTokenType, reqType: cfg.requestedTokenType,
		cache: fifo.New[[sha256.Size]byte, *cell](cfg.cacheSize),
	}
	// Every parameter that shapes the issued token, unambiguously encoded.
	key := url.Values{
		"endpoint": {tokenURL}, "client_id": {clientID}, "subject_token_type": {x.subjType},
		"requested_token_type": {x.reqType}, "actor_token_type": {x.actorType}, "dpop_jkt": {e.proofer.Thumbprint()},
	}
	for k, v := range e.params {
		key[k] = v
	}
	x.prefix = []byte(key.Encode() + "\n")
	return x, nil
}

// Exchange returns an access token for subjectToken: the cached one while it
// is fresh, else a new one from the token endpoint. The result is the
// caller's own copy. Errors match [ErrNoSubjectToken] for an empty
// subjectToken, [ErrRefused] (an [*Error]: "invalid_grant" for a subject
// token the server refuses, "invalid_target" for an audience, RFC 8693
// §2.2.2), [ErrUnavailable], [ErrMalformedResponse], [ErrTokenType],
// [ErrClientAuth] (also when the actor token cannot be had) or [ErrClosed].
func (x *Exchanger) Exchange(ctx context.Context, subjectToken string) (*Token, error) {
	t, err := x.get(ctx, subjectToken)
	if err != nil {
		return nil, err
	}
	return t.clone(), nil
}

// AccessToken implements dpop.TokenSource: the access token of
// [Exchanger.Exchange] for the subject token in ctx
// ([ContextWithSubjectToken]), so that one Exchanger serves as the token
// source of dpop.Transport or dpopgrpc's per-RPC credentials for calls made
// on behalf of many subjects. Without a subject token in ctx it returns an
// error matching [ErrNoSubjectToken].
func (x *Exchanger) AccessToken(ctx context.Context) (string, error) {
	s, ok := SubjectTokenFromContext(ctx)
	if !ok {
		return "", ErrNoSubjectToken
	}
	t, err := x.get(ctx, s)
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

func (x *Exchanger) get(ctx context.Context, subject string) (*Token, error) {
	if x == nil || x.e == nil {
		return nil, fmt.Errorf("%w: Exchanger not created by NewExchanger", ErrInvalidConfig)
	}
	if subject == "" {
		return nil, ErrNoSubjectToken
	}
	if x.life.isClosed() {
		return nil, ErrClosed
	}
	h := sha256.New()
	h.Write(x.prefix)
	h.Write([]byte(subject))
	var key [sha256.Size]byte
	h.Sum(key[:0])

	now := x.e.now()
	x.mu.Lock()
	c, ok := x.cache.Get(key)
	if ok && !c.notAfter.IsZero() && !now.Before(c.notAfter) {
		x.cache.Delete(key)
		ok = false
	}
	if !ok {
		c = &cell{
			fetch:    func(ctx context.Context) (*Token, error) { return x.exchange(ctx, subject) },
			now:      x.e.now,
			logger:   x.logger,
			life:     x.life,
			notAfter: insecureExpiry(subject),
		}
		x.cache.Put(key, c)
	}
	x.mu.Unlock()
	return c.get(ctx)
}

// exchange sends one token exchange request.
func (x *Exchanger) exchange(ctx context.Context, subject string) (*Token, error) {
	form := url.Values{
		"grant_type":         {grantTypeExchange},
		"subject_token":      {subject},
		"subject_token_type": {x.subjType},
	}
	if x.reqType != "" {
		form.Set("requested_token_type", x.reqType)
	}
	if x.actor != nil {
		a, err := x.actor(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: getting the actor token: %w", ErrClientAuth, err)
		}
		if a == "" {
			return nil, fmt.Errorf("%w: the actor token is empty", ErrClientAuth)
		}
		form.Set("actor_token", a)
		form.Set("actor_token_type", x.actorType)
	}
	return x.e.request(ctx, form, true)
}

// Len returns how many subject tokens the cache holds entries for.
func (x *Exchanger) Len() int {
	if x == nil || x.cache == nil {
		return 0
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.cache.Len()
}

// Close stops the exchanges in progress and waits for them; later calls
// return [ErrClosed]. Close may be called more than once.
func (x *Exchanger) Close() error {
	if x != nil && x.life != nil {
		x.life.close()
	}
	return nil
}

type subjectKey struct{}

// ContextWithSubjectToken returns a copy of ctx carrying the subject token
// that [Exchanger.AccessToken] exchanges: the token of the request being
// served, on whose behalf the outgoing call is made.
func ContextWithSubjectToken(ctx context.Context, subjectToken string) context.Context {
	return context.WithValue(ctx, subjectKey{}, subjectToken)
}

// SubjectTokenFromContext returns the subject token of
// [ContextWithSubjectToken], and false when ctx has none (or an empty one).
func SubjectTokenFromContext(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(subjectKey{}).(string)
	return s, ok && s != ""
}

// insecureExpiry returns the exp of a JWS-compact JWT, read WITHOUT
// verifying the signature, or the zero time when token is not such a JWT.
// It is used only to stop using an exchanged token once its subject token
// has expired: a forged exp can only shorten the cache's life.
func insecureExpiry(token string) time.Time {
	first := strings.IndexByte(token, '.')
	if first < 0 {
		return time.Time{}
	}
	rest := token[first+1:]
	second := strings.IndexByte(rest, '.')
	if second < 0 || strings.IndexByte(rest[second+1:], '.') >= 0 || second > 16<<10 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(rest[:second])
	if err != nil {
		return time.Time{}
	}
	o := jsonscan.NewObject(bytes.TrimSpace(payload))
	var exp time.Time
	for o.Next() {
		if string(o.Key()) != "exp" || o.Value().Kind != jsonscan.Number {
			continue
		}
		f, err := o.Value().Float()
		if err != nil || f <= 0 || f > math.MaxInt32*4 {
			return time.Time{}
		}
		exp = time.Unix(int64(f), 0)
	}
	if o.Err() != nil {
		return time.Time{}
	}
	return exp
}
