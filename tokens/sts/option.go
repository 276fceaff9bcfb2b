package sts

import (
	"log/slog"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/ztkit/ztkit/internal/jose"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// Defaults of a [Server].
const (
	// DefaultMaxAssertionLifetime bounds how far in the future a client
	// assertion's exp may be (RFC 7523 §3 item 4).
	DefaultMaxAssertionLifetime = 5 * time.Minute
	// DefaultLeeway is the clock skew tolerated on a client assertion's
	// exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
)

// Option configures a [Server].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	subjects     TokenVerifier
	actors       []ActorPolicy
	jwtBundles   jwtbundle.Source
	jwtAudience  string
	x509Bundles  x509bundle.Source
	clients      ClientRegistry
	replay       dpop.ReplayStore
	nonces       *dpop.Nonces
	dpopOptional bool
	proofAlgs    []string
	assertAlgs   jose.AlgSet
	badAlg       string
	lifetime     time.Duration
	maxAssertion time.Duration
	leeway       time.Duration
	maxBody      int64
	jwksURI      string
	logger       *slog.Logger
	meters       metric.MeterProvider
	now          func() time.Time
	stepUp       *stepUpConfig
}

func newConfig(opts []Option) config {
	c := config{
		assertAlgs:   jose.VerifyAlgs,
		maxAssertion: DefaultMaxAssertionLifetime,
		leeway:       DefaultLeeway,
		maxBody:      DefaultMaxBodySize,
		logger:       slog.New(slog.DiscardHandler),
		meters:       otel.GetMeterProvider(),
		now:          time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithTokenExchange enables the token exchange grant (RFC 8693): subject
// tokens are verified by subjects, the verifier the resource servers use
// (a *tokens.Verifier), and each actor may act as its [ActorPolicy] says.
// The verifier's audiences are those of the services whose tokens may be
// exchanged ([ActorPolicy.SubjectAudiences] narrows them per actor). A
// subject token bound to a key (cnf) is accepted: the actor received it
// with a proof of possession it cannot repeat, and the issued token is
// bound to the actor's own key.
// An actor proves who it is with a JWT-SVID as actor_token ([WithJWTSVIDs])
// or with its X.509-SVID over mTLS ([WithX509Bundles]). Repeated options add
// actors.
func WithTokenExchange(subjects TokenVerifier, actors ...ActorPolicy) Option {
	return optionFunc(func(c *config) {
		if subjects != nil {
			c.subjects = subjects
		}
		c.actors = append(c.actors, actors...)
	})
}

// WithClientCredentials enables the client_credentials grant (RFC 6749
// §4.4) for the clients of reg, which authenticate with tls_client_auth
// (RFC 8705 §2.1) or private_key_jwt (RFC 7523 §2.2). nil keeps the grant
// off.
func WithClientCredentials(reg ClientRegistry) Option {
	return optionFunc(func(c *config) { c.clients = reg })
}

// WithJWTSVIDs sets the bundles JWT-SVID actor tokens are verified against,
// and the audience they must carry: the token service's own (SPIFFE JWT-SVID
// §3). Pass the workload's jwtbundle source (workloadapi.BundleSource).
// JWT-SVIDs are verified as go-spiffe's jwtsvid.ParseAndValidate does, on
// ztkit's strict JOSE path (claims named twice are refused, the leeway is
// 30 seconds rather than a minute).
func WithJWTSVIDs(bundles jwtbundle.Source, audience string) Option {
	return optionFunc(func(c *config) { c.jwtBundles, c.jwtAudience = bundles, audience })
}

// WithX509Bundles sets the bundles that client X.509-SVIDs presented over
// mTLS are verified against, whatever the TLS configuration already checked:
// without it no client certificate is used, neither for tls_client_auth nor
// as an actor.
func WithX509Bundles(bundles x509bundle.Source) Option {
	return optionFunc(func(c *config) { c.x509Bundles = bundles })
}

// WithReplayStore sets where DPoP proofs (RFC 9449 §11.1) and client
// assertion jti values (RFC 7523 §3 item 7) are remembered. Replicas need a
// shared store (package redisreplay). nil keeps a
// [dpop.MemoryReplayStore] of default size.
func WithReplayStore(s dpop.ReplayStore) Option {
	return optionFunc(func(c *config) { c.replay = s })
}

// WithNonces requires DPoP proofs to carry a server nonce from n (RFC 9449
// §8): a proof without a valid one is answered with use_dpop_nonce and the
// nonce in the DPoP-Nonce header. Every response carries the current nonce.
func WithNonces(n *dpop.Nonces) Option {
	return optionFunc(func(c *config) { c.nonces = n })
}

// WithDPoPOptional accepts token requests without a DPoP proof. By default a
// token exchange requires one, and client_credentials requires one unless
// the client authenticated with mTLS, whose token is then bound to its
// certificate (cnf.x5t#S256, RFC 8705 §3). With this option a request
// without a proof gets a certificate-bound token over mTLS and a bearer
// token otherwise.
func WithDPoPOptional() Option {
	return optionFunc(func(c *config) { c.dpopOptional = true })
}

// WithDPoPAlgorithms narrows the accepted DPoP proof algorithms (see
// [dpop.WithAlgorithms]); they are published as
// dpop_signing_alg_values_supported.
func WithDPoPAlgorithms(names ...string) Option {
	return optionFunc(func(c *config) { c.proofAlgs = names })
}

// WithClientAssertionAlgorithms narrows the algorithms a private_key_jwt
// client assertion may be signed with, from ES256, ES384, EdDSA, Ed25519,
// PS256 and RS256; any other makes [New] fail. The default is all six.
func WithClientAssertionAlgorithms(names ...string) Option {
	return optionFunc(func(c *config) { c.assertAlgs, c.badAlg = jose.ParseAlgSet(names) })
}

// WithLifetime sets the lifetime of an issued token, at most the
// [tokens.Issuer]'s ([tokens.Issuer.Lifetime]), which is the default. An
// exchanged token never outlives its subject token.
func WithLifetime(d time.Duration) Option {
	return optionFunc(func(c *config) { c.lifetime = d })
}

// WithMaxAssertionLifetime sets how far in the future a client assertion's
// exp may lie. The default is [DefaultMaxAssertionLifetime].
func WithMaxAssertionLifetime(d time.Duration) Option {
	return optionFunc(func(c *config) { c.maxAssertion = d })
}

// WithMaxBodySize bounds the request body. The default is
// [DefaultMaxBodySize]; zero or less keeps it.
func WithMaxBodySize(n int64) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxBody = n
		}
	})
}

// WithJWKSURI sets the jwks_uri published in the metadata (RFC 8414 §2):
// where the issuer's [tokens.KeySet.JWKSHandler] is served.
func WithJWKSURI(u string) Option {
	return optionFunc(func(c *config) { c.jwksURI = u })
}

// WithLogger sets where refusals (at Info) and issued tokens (at Debug) are
// logged, with the grant type, the reason code, the client_id and the
// actor; never a token, assertion or proof. nil keeps the default, which
// discards.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithMeterProvider sets where the endpoint's metrics go (see the package
// documentation). nil keeps the global provider.
func WithMeterProvider(p metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if p != nil {
			c.meters = p
		}
	})
}

// WithClock sets the clock the server reads the time from (token lifetimes,
// client assertion and JWT-SVID times, DPoP proof iat). nil keeps time.Now.
// JWT-SVIDs under the algorithms ztkit does not verify itself (RS384,
// RS512, ES512, PS384, PS512) are checked by go-spiffe, against the real
// clock.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithStepUp enables step-up (see the package documentation): a client
// holding a user's DPoP-bound access token, verified by subjects (the
// verifier the resource servers use), gets a token for the same user at a
// higher acr after the user's second factor, which factor verifies. Failed
// attempts are bounded per subject by [WithStepUpAttempts] or
// [WithAttemptLimiter]. nil arguments make [New] fail.
func WithStepUp(subjects TokenVerifier, factor SecondFactor) Option {
	return optionFunc(func(c *config) {
		su := c.stepUpConfig()
		su.subjects, su.factor = subjects, factor
	})
}

// WithStepUpAttempts sets the in-process bound on failed second-factor
// attempts: after maxFailures failures of a subject within window, its
// attempts are refused until window has passed since its first failure;
// a verified factor clears the count. The defaults are
// [DefaultStepUpMaxFailures] and [DefaultStepUpWindow]. Each replica counts
// on its own: replicas share a bound through [WithAttemptLimiter].
func WithStepUpAttempts(maxFailures int, window time.Duration) Option {
	return optionFunc(func(c *config) {
		su := c.stepUpConfig()
		su.maxFailures, su.window = maxFailures, window
	})
}

// WithAttemptLimiter sets the [AttemptLimiter] of step-up, in place of the
// in-process one of [WithStepUpAttempts]. nil keeps the in-process one.
func WithAttemptLimiter(l AttemptLimiter) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.stepUpConfig().limiter = l
		}
	})
}

// stepUpConfig returns the step-up configuration, created with defaults.
func (c *config) stepUpConfig() *stepUpConfig {
	if c.stepUp == nil {
		c.stepUp = &stepUpConfig{maxFailures: DefaultStepUpMaxFailures, window: DefaultStepUpWindow}
	}
	return c.stepUp
}
