package tokens

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ztkit/ztkit/internal/jose"
)

// Defaults of a [Verifier].
const (
	DefaultLeeway       = 30 * time.Second
	DefaultMaxLifetime  = time.Hour
	DefaultMaxTokenSize = 8 << 10
	DefaultCacheSize    = 4096
	maxLeeway           = 5 * time.Minute
)

// VerifierOption configures a [Verifier].
type VerifierOption interface{ applyVerifier(*verifierConfig) }

type verifierConfig struct {
	issuer      string
	audiences   []string
	algs        jose.AlgSet
	badAlg      string
	leeway      time.Duration
	maxLifetime time.Duration
	maxSize     int
	cacheSize   int
	now         func() time.Time
}

type verifierOptionFunc func(*verifierConfig)

func (f verifierOptionFunc) applyVerifier(c *verifierConfig) { f(c) }

// WithAlgorithms narrows the accepted JWS algorithms to names, from ES256,
// ES384, EdDSA, Ed25519, PS256 and RS256. Any other name ("none", "HS256", …)
// makes [NewVerifier] fail. The default is all six.
func WithAlgorithms(names ...string) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.algs, c.badAlg = jose.ParseAlgSet(names) })
}

// WithLeeway sets the clock skew tolerated on exp, nbf and iat, at most five
// minutes. The default is 30 seconds.
func WithLeeway(d time.Duration) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.leeway = d })
}

// WithMaxLifetime refuses tokens whose exp is more than d after their iat.
// The default is one hour.
func WithMaxLifetime(d time.Duration) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.maxLifetime = d })
}

// WithMaxTokenSize refuses tokens longer than n bytes before parsing them.
// The default is 8 KiB.
func WithMaxTokenSize(n int) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.maxSize = n })
}

// WithCacheSize bounds the cache of verified tokens to n entries; 0 turns the
// cache off. A cached token skips parsing and the signature check but not the
// time, key and revocation checks: an entry dies with its token's expiry and
// with its signing key. The default is 4096 entries.
func WithCacheSize(n int) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.cacheSize = n })
}

// Verifier verifies JWT access tokens (RFC 9068) from one issuer for one or more
// audiences. Create it with [NewVerifier]; it is safe for concurrent use.
type Verifier struct {
	keys  KeySource
	cfg   verifierConfig
	known []string // issuer and audiences, for parseClaims to reuse
	cache *tokenCache
}

// NewVerifier returns a verifier of tokens issued by issuer for any of
// audiences, with keys from keys. issuer and at least one audience are
// required: no option turns the issuer or audience check off.
func NewVerifier(keys KeySource, issuer string, audiences []string, opts ...VerifierOption) (*Verifier, error) {
	cfg := verifierConfig{
		issuer:      issuer,
		audiences:   slices.Clone(audiences),
		algs:        jose.VerifyAlgs,
		leeway:      DefaultLeeway,
		maxLifetime: DefaultMaxLifetime,
		maxSize:     DefaultMaxTokenSize,
		cacheSize:   DefaultCacheSize,
		now:         time.Now,
	}
	for _, o := range opts {
		o.applyVerifier(&cfg)
	}
	switch {
	case keys == nil:
		return nil, fmt.Errorf("%w: nil key source", ErrInvalidConfig)
	case issuer == "":
		return nil, fmt.Errorf("%w: empty issuer", ErrInvalidConfig)
	case len(cfg.audiences) == 0 || slices.Contains(cfg.audiences, ""):
		return nil, fmt.Errorf("%w: empty audience", ErrInvalidConfig)
	case cfg.badAlg != "":
		return nil, fmt.Errorf("%w: algorithm %q is not allowed", ErrInvalidConfig, cfg.badAlg)
	case cfg.algs == 0:
		return nil, fmt.Errorf("%w: no algorithms", ErrInvalidConfig)
	case cfg.leeway < 0 || cfg.leeway > maxLeeway:
		return nil, fmt.Errorf("%w: leeway must be between 0 and %s", ErrInvalidConfig, maxLeeway)
	case cfg.maxLifetime <= 0:
		return nil, fmt.Errorf("%w: maximum lifetime must be positive", ErrInvalidConfig)
	case cfg.maxSize < 64:
		return nil, fmt.Errorf("%w: maximum token size too small", ErrInvalidConfig)
	case cfg.cacheSize < 0:
		return nil, fmt.Errorf("%w: negative cache size", ErrInvalidConfig)
	}
	v := &Verifier{keys: keys, cfg: cfg, known: append([]string{cfg.issuer}, cfg.audiences...)}
	if cfg.cacheSize > 0 {
		v.cache = newTokenCache(cfg.cacheSize)
	}
	return v, nil
}

// Verify checks token and returns its claims. It checks, in order: size and
// syntax; alg against the allow-list; no crit; no key embedded in the header;
// typ at+jwt; the key named by kid (never a key from the token); the signature;
// the claims RFC 9068 requires; iss; aud; exp, nbf and iat with the leeway; and
// the maximum lifetime. Any failure returns an error matching one of the Err
// values of this package, and no claims. The claims returned are the
// caller's own: nothing the caller does to them reaches the verifier's cache.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) == 0 || len(token) > v.cfg.maxSize {
		return nil, fmt.Errorf("%w: empty or larger than %d bytes", ErrMalformed, v.cfg.maxSize)
	}
	var sum [sha256.Size]byte
	if v.cache != nil {
		sum = sha256.Sum256(jose.StringBytes(token))
		if c, key, ok := v.cache.get(&sum); ok {
			if cur, err := v.keys.VerificationKey(ctx, c.KeyID); err == nil && cur == key {
				if err := v.checkTimes(c); err != nil {
					return nil, err
				}
				return c.clone(), nil
			}
			v.cache.remove(&sum) // key rotated out or revoked: verify afresh
		}
	}
	c, key, err := v.verify(ctx, jose.StringBytes(token))
	if err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(&sum, c, key)
		return c.clone(), nil // the cached value is never handed out
	}
	return c, nil
}

func (v *Verifier) verify(ctx context.Context, token []byte) (*Claims, *PublicKey, error) {
	// The claims keep the decoded payload (for Claims.Decode): let Parse allocate it.
	jws, err := jose.Parse(token, v.cfg.maxSize, nil)
	if err != nil {
		if errors.Is(err, jose.ErrUnsupportedAlg) {
			return nil, nil, ErrUnsupportedAlgorithm
		}
		return nil, nil, ErrMalformed
	}
	h := &jws.Header
	switch {
	case !v.cfg.algs.Has(h.Alg):
		return nil, nil, ErrUnsupportedAlgorithm
	case h.Crit:
		return nil, nil, ErrUnknownCritical
	case h.EmbeddedKey:
		return nil, nil, ErrEmbeddedKey
	case !h.TypIs("at+jwt"):
		return nil, nil, ErrInvalidType
	case len(h.Kid) == 0:
		return nil, nil, fmt.Errorf("%w: no kid in header", ErrUnknownKey)
	}
	key, err := v.keys.VerificationKey(ctx, string(h.Kid))
	if err != nil {
		return nil, nil, err
	}
	if key.Algorithm != "" && key.Algorithm != h.Alg.String() {
		return nil, nil, ErrAlgorithmKeyMismatch
	}
	if err := jose.CheckKey(h.Alg, key.Key); err != nil {
		if errors.Is(err, jose.ErrWeakKey) {
			return nil, nil, ErrWeakKey
		}
		return nil, nil, ErrAlgorithmKeyMismatch
	}
	if !jose.Verify(h.Alg, key.Key, jws.SigningInput, jws.Signature) {
		return nil, nil, ErrInvalidSignature
	}
	c := &Claims{}
	if err := parseClaims(jws.Payload, c, v.known); err != nil {
		return nil, nil, err
	}
	c.KeyID = key.KeyID
	if c.Issuer != v.cfg.issuer {
		return nil, nil, ErrInvalidIssuer
	}
	if !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(v.cfg.audiences, a) }) {
		return nil, nil, ErrInvalidAudience
	}
	if !c.Expiry.After(c.IssuedAt) || (!c.NotBefore.IsZero() && !c.Expiry.After(c.NotBefore)) {
		return nil, nil, fmt.Errorf("%w: exp is not after iat and nbf", ErrExpired)
	}
	if c.Expiry.Sub(c.IssuedAt) > v.cfg.maxLifetime {
		return nil, nil, ErrLifetimeTooLong
	}
	if err := v.checkTimes(c); err != nil {
		return nil, nil, err
	}
	return c, key, nil
}

// checkTimes checks exp, nbf and iat against the clock, with the leeway.
func (v *Verifier) checkTimes(c *Claims) error {
	now := v.cfg.now()
	l := v.cfg.leeway
	switch {
	case !now.Before(c.Expiry.Add(l)):
		return ErrExpired
	case !c.NotBefore.IsZero() && now.Add(l).Before(c.NotBefore):
		return ErrNotYetValid
	case now.Add(l).Before(c.IssuedAt):
		return ErrIssuedInFuture
	}
	return nil
}
