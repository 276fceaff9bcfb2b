package httpsig

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// Defaults of a [Verifier].
const (
	// DefaultMaxAge is how old a signature's created may be.
	DefaultMaxAge = 5 * time.Minute
	// DefaultLeeway is how far a signer's clock may run ahead of the
	// verifier's, and how long after expires a signature is still accepted.
	DefaultLeeway = 5 * time.Second
	// DefaultMaxBodySize is how much of a body the verifier reads to check
	// its Content-Digest.
	DefaultMaxBodySize = 1 << 20
	// DefaultLabel is the label a [Signer] gives its signatures.
	DefaultLabel = "sig1"
)

// SignerOption configures a [Signer].
type SignerOption interface{ applySigner(*signerConfig) }

// VerifierOption configures a [Verifier].
type VerifierOption interface{ applyVerifier(*verifierConfig) }

type signerConfig struct {
	label      string
	components []Component
	setComps   bool
	expiresIn  time.Duration
	nonce      func() (string, error)
	algParam   bool
	tag        string
	now        func() time.Time
	fields     map[string]FieldType
	err        error
}

type verifierConfig struct {
	label, tag     string
	components     []Component
	setComps       bool
	respComponents []Component
	setResp        bool
	params         []string
	maxAge, leeway time.Duration
	replay         dpop.ReplayStore
	algs           []Algorithm
	maxBody        int64
	scheme, auth   string
	now            func() time.Time
	fields         map[string]FieldType
	err            error
}

type signerOptionFunc func(*signerConfig)

func (f signerOptionFunc) applySigner(c *signerConfig) { f(c) }

type verifierOptionFunc func(*verifierConfig)

func (f verifierOptionFunc) applyVerifier(c *verifierConfig) { f(c) }

// Option configures a [Signer] or a [Verifier]: either accepts it.
type Option interface {
	SignerOption
	VerifierOption
}

type bothOption struct {
	s func(*signerConfig)
	v func(*verifierConfig)
}

func (o bothOption) applySigner(c *signerConfig)     { o.s(c) }
func (o bothOption) applyVerifier(c *verifierConfig) { o.v(c) }

// WithClock reads the time from now. nil keeps time.Now. Tests inject a
// clock instead of sleeping.
func WithClock(now func() time.Time) Option {
	return bothOption{
		s: func(c *signerConfig) {
			if now != nil {
				c.now = now
			}
		},
		v: func(c *verifierConfig) {
			if now != nil {
				c.now = now
			}
		},
	}
}

// WithLabel sets the label of the signature: the one a [Signer] adds (the
// default is [DefaultLabel]), or the only one a [Verifier] verifies (by
// default it tries every signature of the message, in order, and accepts the
// first that meets its requirements and verifies).
func WithLabel(label string) Option {
	return bothOption{
		s: func(c *signerConfig) { c.label = label },
		v: func(c *verifierConfig) { c.label = label },
	}
}

// WithTag sets the tag parameter a [Signer] adds, or the tag a [Verifier]
// requires: it then considers only the signatures with that tag (RFC 9421
// §2.3).
func WithTag(tag string) Option {
	return bothOption{
		s: func(c *signerConfig) { c.tag = tag },
		v: func(c *verifierConfig) { c.tag = tag },
	}
}

// WithStructuredField tells the RFC 8941 type of the field name, for
// components with the sf parameter. The types of Signature-Input,
// Signature, Content-Digest, Repr-Digest and a few other structured fields
// are known already.
func WithStructuredField(name string, t FieldType) Option {
	set := func(m *map[string]FieldType, err *error) {
		if t < FieldItem || t > FieldDictionary || !validFieldName(name) {
			*err = fmt.Errorf("%w: structured field type", ErrInvalidConfig)
			return
		}
		if *m == nil {
			*m = map[string]FieldType{}
		}
		(*m)[strings.ToLower(name)] = t
	}
	return bothOption{
		s: func(c *signerConfig) { set(&c.fields, &c.err) },
		v: func(c *verifierConfig) { set(&c.fields, &c.err) },
	}
}

// WithComponents sets the components a [Signer] covers, in order. The
// default is @method, @authority, @path and @query for a request, @status
// for a response, each followed by content-digest when the message has a
// Content-Digest field. The Signer does not compute Content-Digest: a
// message without one cannot be signed with content-digest covered.
func WithComponents(cs ...Component) SignerOption {
	return signerOptionFunc(func(c *signerConfig) {
		c.components = append([]Component(nil), cs...)
		c.setComps = true
	})
}

// WithExpiresIn adds the expires parameter, d after created.
func WithExpiresIn(d time.Duration) SignerOption {
	return signerOptionFunc(func(c *signerConfig) {
		if d <= 0 {
			c.err = fmt.Errorf("%w: expiry must be positive", ErrInvalidConfig)
		}
		c.expiresIn = d
	})
}

// WithNonce adds the nonce parameter, a new value from next for each
// signature. nil keeps the default (no nonce).
func WithNonce(next func() (string, error)) SignerOption {
	return signerOptionFunc(func(c *signerConfig) { c.nonce = next })
}

// WithRandomNonce adds the nonce parameter: 128 random bits, base64url.
func WithRandomNonce() SignerOption {
	return signerOptionFunc(func(c *signerConfig) { c.nonce = randomNonce })
}

// WithAlgParameter adds the alg parameter. By default it is left out, as in
// the examples of RFC 9421: the verifier knows the algorithm from the key.
func WithAlgParameter() SignerOption {
	return signerOptionFunc(func(c *signerConfig) { c.algParam = true })
}

// WithRequiredComponents sets the components a request's signature must
// cover, or it fails with [ErrInsufficient]. The default is @method,
// @authority, @path and @query. Called with no component, it requires none:
// any signature by a known key then verifies, whatever it covers.
// A required content-digest makes the verifier check the body.
func WithRequiredComponents(cs ...Component) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) {
		c.components = append([]Component(nil), cs...)
		c.setComps = true
	})
}

// WithRequiredResponseComponents sets the components a response's signature
// must cover ([Verifier.VerifyResponse]). The default is @status.
func WithRequiredResponseComponents(cs ...Component) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) {
		c.respComponents = append([]Component(nil), cs...)
		c.setResp = true
	})
}

// WithRequiredParams sets signature parameters a signature must carry beside
// created, which is always required: any of "expires", "nonce", "keyid",
// "alg" and "tag". A signature without one fails with [ErrInsufficient].
func WithRequiredParams(names ...string) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) {
		for _, n := range names {
			switch n {
			case "created", "expires", "nonce", "keyid", "alg", "tag":
			default:
				c.err = fmt.Errorf("%w: unknown signature parameter %q", ErrInvalidConfig, n)
			}
		}
		c.params = append(c.params, names...)
	})
}

// WithMaxAge sets how old a signature's created may be. The default is
// [DefaultMaxAge]; it must be between 1s and 1h.
func WithMaxAge(d time.Duration) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.maxAge = d })
}

// WithLeeway sets how far in the future created may be, and how long after
// expires a signature is still accepted, for clocks that differ. The default
// is [DefaultLeeway]; it must be between 0 and 5m.
func WithLeeway(d time.Duration) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.leeway = d })
}

// WithReplayStore sets where the nonces of accepted signatures are
// remembered, keyed on (keyid, nonce), until the signature would be too old
// anyway: a nonce is accepted once. Services with several replicas need a
// shared store (package tokens/dpop/redisreplay). nil keeps the default, a
// dpop.MemoryReplayStore of default size. Signatures without a nonce are not
// checked for replay: require one with WithRequiredParams("nonce").
func WithReplayStore(s dpop.ReplayStore) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) {
		if s != nil {
			c.replay = s
		}
	})
}

// WithAlgorithms narrows the algorithms the verifier accepts; a key of
// another algorithm fails with [ErrUnknownKey]. The default is all five.
func WithAlgorithms(algs ...Algorithm) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) {
		for _, a := range algs {
			if !a.Known() {
				c.err = fmt.Errorf("%w: unknown algorithm", ErrInvalidConfig)
			}
		}
		c.algs = append([]Algorithm(nil), algs...)
	})
}

// WithMaxBodySize sets how many bytes of a body the verifier reads to check
// it against Content-Digest; a longer body fails with [ErrMalformed] (it
// cannot be checked; [ErrDigestMismatch] is kept for a body that does not
// match its digest, a forgery).
// The default is [DefaultMaxBodySize].
func WithMaxBodySize(n int64) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.maxBody = n })
}

// WithExternalOrigin sets the scheme and authority of the requests the
// verifier sees, as their signers saw them, for a service behind a proxy
// that terminates TLS or rewrites Host: origin is "https://shop.example" or
// "https://shop.example:8443". By default they come from the request (TLS or
// not, Host).
func WithExternalOrigin(origin string) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			c.err = fmt.Errorf("%w: external origin must be scheme://host[:port]", ErrInvalidConfig)
			return
		}
		c.scheme = u.Scheme
		c.auth = normalizeAuthority(u.Scheme, u.Host)
	})
}
