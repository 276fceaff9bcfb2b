package grant

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// Option configures [NewClientCredentials], [NewExchanger], [NewSource] or
// [Discover].
// Each option says which of them it applies to; a constructor given an
// option that does not apply to it returns an error matching
// [ErrInvalidConfig]. Passing nil to an option keeps the default.
type Option interface{ apply(*config) }

// DefaultLifetime is how long a token whose response had no expires_in is
// taken to be valid; see [WithDefaultLifetime].
const DefaultLifetime = time.Minute

// DefaultCacheSize is how many subject tokens an [Exchanger] keeps exchanged
// tokens for; see [WithCacheSize].
const DefaultCacheSize = 1024

// option kinds: which constructors accept an option.
const (
	forRequest  = 1 << iota // NewClientCredentials and NewExchanger
	forExchange             // NewExchanger only
	forSource               // NewSource
	forDiscover             // Discover
)

type config struct {
	httpClient      *http.Client
	proofer         *dpop.Proofer
	scopes          []string
	audiences       []string
	resources       []string
	now             func() time.Time
	insecureHTTP    bool
	defaultLifetime time.Duration

	logger *slog.Logger

	actorToken         func(context.Context) (string, error)
	actorTokenType     string
	subjectTokenType   string
	requestedTokenType string
	cacheSize          int
}

type optionFunc struct {
	name  string
	kinds int
	f     func(*config)
}

func (o optionFunc) apply(c *config) { o.f(c) }

// newConfig applies opts for a constructor of kind, with defaults first.
// It returns the names of options that do not apply to kind.
func newConfig(kind int, opts []Option) (*config, []string) {
	c := &config{
		now:              time.Now,
		logger:           slog.New(slog.DiscardHandler),
		defaultLifetime:  DefaultLifetime,
		subjectTokenType: tokenTypeAccessToken,
		cacheSize:        DefaultCacheSize,
	}
	var bad []string
	for _, o := range opts {
		if o == nil {
			continue
		}
		if of, ok := o.(optionFunc); ok && of.kinds&kind == 0 {
			bad = append(bad, of.name)
			continue
		}
		o.apply(c)
	}
	return c, bad
}

// WithHTTPClient sets the HTTP client that sends token requests (and
// Discover's metadata request); nil keeps http.DefaultClient. With
// [TLSClientAuth] its transport presents the client certificate (an
// X.509-SVID through go-spiffe's spiffetls, or package egress's dialer).
// Its redirects are not followed: a token request is never sent anywhere
// but the endpoint.
// For NewClientCredentials, NewExchanger and Discover.
func WithHTTPClient(c *http.Client) Option {
	return optionFunc{"WithHTTPClient", forRequest | forDiscover, func(cfg *config) {
		if c != nil {
			cfg.httpClient = c
		}
	}}
}

// WithDPoP sends a DPoP proof made by p with every token request (RFC 9449
// §5), so that the token is bound to p's key; p is the proofer the client
// then uses with dpop.Transport or package dpopgrpc. The response's
// token_type must be DPoP. A 400 with error use_dpop_nonce is retried once
// with the server's DPoP-Nonce (§8), and the latest nonce of each endpoint
// origin is used for the requests that follow.
// For NewClientCredentials and NewExchanger.
func WithDPoP(p *dpop.Proofer) Option {
	return optionFunc{"WithDPoP", forRequest, func(cfg *config) {
		if p != nil {
			cfg.proofer = p
		}
	}}
}

// WithScopes requests scopes (RFC 6749 §3.3), each a scope-token; repeated
// options add up. For NewClientCredentials and NewExchanger.
func WithScopes(scopes ...string) Option {
	return optionFunc{"WithScopes", forRequest, func(cfg *config) { cfg.scopes = append(cfg.scopes, scopes...) }}
}

// WithAudience requests tokens for the named audiences: the audience
// parameter of RFC 8693 §2.1 (also understood by many servers for
// client_credentials); repeated options add up. For NewClientCredentials
// and NewExchanger.
func WithAudience(audiences ...string) Option {
	return optionFunc{"WithAudience", forRequest, func(cfg *config) { cfg.audiences = append(cfg.audiences, audiences...) }}
}

// WithResource requests tokens for the resource servers at the absolute
// URIs given: the resource parameter of RFC 8707 §2 and RFC 8693 §2.1;
// repeated options add up. For NewClientCredentials and NewExchanger.
func WithResource(resources ...string) Option {
	return optionFunc{"WithResource", forRequest, func(cfg *config) { cfg.resources = append(cfg.resources, resources...) }}
}

// WithClock sets the clock that dates client assertions and tokens and
// decides when a cached token is refreshed; nil keeps time.Now. Tests
// inject one instead of sleeping. For every constructor.
func WithClock(now func() time.Time) Option {
	return optionFunc{"WithClock", forRequest | forExchange | forSource, func(cfg *config) {
		if now != nil {
			cfg.now = now
		}
	}}
}

// WithLogger sets where a Source or an Exchanger logs the failures of
// background refreshes, which no caller sees while the current token is
// still handed out: at Warn, with the error (which never holds a token or a
// secret). nil keeps the default, which discards. For NewSource and
// NewExchanger.
func WithLogger(l *slog.Logger) Option {
	return optionFunc{"WithLogger", forExchange | forSource, func(cfg *config) {
		if l != nil {
			cfg.logger = l
		}
	}}
}

// WithInsecureHTTP allows a token endpoint URL with the http scheme, for
// tests on loopback. Without it only https is accepted: client credentials
// and tokens must not cross a network in the clear.
// For NewClientCredentials, NewExchanger and Discover.
func WithInsecureHTTP() Option {
	return optionFunc{"WithInsecureHTTP", forRequest | forDiscover, func(cfg *config) { cfg.insecureHTTP = true }}
}

// WithDefaultLifetime sets how long a token is taken to be valid when the
// response has no expires_in (RFC 6749 §5.1 only recommends it). The default
// is [DefaultLifetime], one minute; a value that is not positive is refused.
// For NewClientCredentials and NewExchanger.
func WithDefaultLifetime(d time.Duration) Option {
	return optionFunc{"WithDefaultLifetime", forRequest, func(cfg *config) { cfg.defaultLifetime = d }}
}

// WithActorToken sends, with each exchange, the actor token (RFC 8693 §2.1
// actor_token) that token returns, of type tokenType ("" means
// urn:ietf:params:oauth:token-type:jwt, RFC 8693 §3): the calling workload's own credential, such as a
// JWT-SVID for the token service's audience:
//
//	grant.WithActorToken(func(ctx context.Context) (string, error) {
//		svid, err := jwtSource.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "https://sts.shop.example"})
//		if err != nil {
//			return "", err
//		}
//		return svid.Marshal(), nil
//	}, "")
//
// Without it no actor token is sent; a token service that authenticates
// the actor by its mTLS certificate needs none. For NewExchanger.
func WithActorToken(token func(ctx context.Context) (string, error), tokenType string) Option {
	return optionFunc{"WithActorToken", forExchange, func(cfg *config) {
		if token != nil {
			cfg.actorToken = token
			cfg.actorTokenType = tokenType
			if tokenType == "" {
				cfg.actorTokenType = tokenTypeJWT
			}
		}
	}}
}

// WithSubjectTokenType sets the subject_token_type (RFC 8693 §3) of the
// subject tokens given to the Exchanger; the default is
// urn:ietf:params:oauth:token-type:access_token. For NewExchanger.
func WithSubjectTokenType(uri string) Option {
	return optionFunc{"WithSubjectTokenType", forExchange, func(cfg *config) {
		if uri != "" {
			cfg.subjectTokenType = uri
		}
	}}
}

// WithRequestedTokenType sends requested_token_type (RFC 8693 §2.1). By
// default none is sent and the server issues its default, an access token.
// Whatever type is requested, the issued token must be usable as an access
// token (token_type Bearer or DPoP). For NewExchanger.
func WithRequestedTokenType(uri string) Option {
	return optionFunc{"WithRequestedTokenType", forExchange, func(cfg *config) {
		if uri != "" {
			cfg.requestedTokenType = uri
		}
	}}
}

// WithCacheSize bounds how many subject tokens an Exchanger keeps issued
// tokens for; when full, the oldest entry is dropped. The default is
// [DefaultCacheSize]; a value that is not positive is refused.
// For NewExchanger.
func WithCacheSize(n int) Option {
	return optionFunc{"WithCacheSize", forExchange, func(cfg *config) { cfg.cacheSize = n }}
}
