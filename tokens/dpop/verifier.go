package dpop

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/ztkit/ztkit/internal/jose"
	"github.com/ztkit/ztkit/internal/jsonscan"
	"github.com/ztkit/ztkit/internal/redacted"
	"github.com/ztkit/ztkit/internal/replaydefer"
)

// Defaults of a proof [Verifier].
const (
	DefaultMaxAge       = time.Minute
	DefaultLeeway       = 5 * time.Second
	DefaultMaxProofSize = 8 << 10
	maxJTILength        = 256
)

// VerifierOption configures a proof [Verifier].
type VerifierOption interface{ applyVerifier(*verifierConfig) }

type verifierConfig struct {
	algs    jose.AlgSet
	badAlg  string
	replay  ReplayStore
	nonces  *Nonces
	maxAge  time.Duration
	leeway  time.Duration
	maxSize int
	now     func() time.Time
}

type verifierOptionFunc func(*verifierConfig)

func (f verifierOptionFunc) applyVerifier(c *verifierConfig) { f(c) }

// WithAlgorithms narrows the accepted proof algorithms to names, from ES256,
// ES384, EdDSA, Ed25519, PS256 and RS256; any other name makes [NewVerifier]
// fail. The default is all six.
func WithAlgorithms(names ...string) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.algs, c.badAlg = jose.ParseAlgSet(names) })
}

// WithReplayStore sets where accepted proofs are remembered. Services with
// more than one replica need a shared store (package redisreplay). nil keeps
// the default: a [MemoryReplayStore] of default size.
func WithReplayStore(s ReplayStore) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) {
		if s != nil {
			c.replay = s
		}
	})
}

// WithNonces requires proofs to carry a nonce from n (RFC 9449 §8). A proof
// without a valid one fails with a [*NonceError].
func WithNonces(n *Nonces) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.nonces = n })
}

// WithMaxAge sets how old a proof's iat may be. The default is one minute.
func WithMaxAge(d time.Duration) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.maxAge = d })
}

// WithLeeway sets how far in the future a proof's iat may be, for clients
// whose clocks run ahead. The default is five seconds.
func WithLeeway(d time.Duration) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.leeway = d })
}

// WithMaxProofSize refuses proofs longer than n bytes before parsing them.
// The default is 8 KiB.
func WithMaxProofSize(n int) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.maxSize = n })
}

// Verifier checks DPoP proofs (RFC 9449 §4.3) on a resource server or an
// authorization server. It is safe for concurrent use.
type Verifier struct {
	cfg  verifierConfig
	keys *keyCache
}

// NewVerifier returns a proof verifier.
func NewVerifier(opts ...VerifierOption) (*Verifier, error) {
	cfg := verifierConfig{
		algs: jose.VerifyAlgs, maxAge: DefaultMaxAge, leeway: DefaultLeeway, maxSize: DefaultMaxProofSize, now: time.Now,
	}
	for _, o := range opts {
		o.applyVerifier(&cfg)
	}
	switch {
	case cfg.badAlg != "":
		return nil, fmt.Errorf("%w: algorithm %q is not allowed", ErrInvalidConfig, cfg.badAlg)
	case cfg.algs == 0:
		return nil, fmt.Errorf("%w: no algorithms", ErrInvalidConfig)
	case cfg.maxAge <= 0 || cfg.maxAge > time.Hour:
		return nil, fmt.Errorf("%w: maximum proof age must be between 0 and 1h", ErrInvalidConfig)
	case cfg.leeway < 0 || cfg.leeway > 5*time.Minute:
		return nil, fmt.Errorf("%w: leeway must be between 0 and 5m", ErrInvalidConfig)
	case cfg.maxSize < 128:
		return nil, fmt.Errorf("%w: maximum proof size too small", ErrInvalidConfig)
	}
	if cfg.replay == nil {
		s, err := NewMemoryReplayStore()
		if err != nil {
			return nil, err
		}
		cfg.replay = s
	}
	return &Verifier{cfg: cfg, keys: newKeyCache(defaultKeyCacheSize)}, nil
}

// Request is what a proof is checked against.
type Request struct {
	// Method is the HTTP method of the request the proof came with.
	Method string
	// URL is the request's absolute URI as the client addressed it
	// (scheme://host/path); its query and fragment are ignored.
	URL string
	// AccessToken, when set, is the access token presented with the proof:
	// the proof's ath must be its hash.
	AccessToken string
	// KeyThumbprint, when set, is the token's cnf.jkt: the proof's key must
	// have this RFC 7638 thumbprint.
	KeyThumbprint string
}

// Proof is a verified DPoP proof.
type Proof struct {
	// KeyThumbprint is the RFC 7638 thumbprint of the proof's key (jkt).
	KeyThumbprint string
	// ID is the proof's jti.
	ID string
	// IssuedAt is the proof's iat.
	IssuedAt time.Time
	// Algorithm is the proof's alg.
	Algorithm string
	// PublicKey is the proof's public key.
	PublicKey crypto.PublicKey
}

// proofClaims are the claims of a proof as read, before they are checked.
type proofClaims struct {
	jti, htm, htu, ath, nonce jsonscan.Value
	iat                       float64
	hasIat                    bool
}

// Verify checks a proof against req, in the order of RFC 9449 §4.3: syntax,
// typ, alg, the embedded public key, the signature, htm, htu, nonce, iat, ath,
// the token binding, and finally that the (key, jti) pair is new. Only a proof
// that passes every other check is recorded against replay. Any failure
// returns an error matching one of the Err values of this package.
//
// One exception, inside guard.Check only: when the replay store is a
// redisreplay.Store, the guard has the replay check sent in the same Redis
// pipeline as the request's first velocity count, after Verify returned,
// and refuses a replayed proof before it answers anything. Verify called
// by any other code checks replay before it returns.
//
// A nil or zero Verifier refuses every proof with [ErrInvalidConfig].
func (v *Verifier) Verify(ctx context.Context, proof string, req Request) (*Proof, error) {
	if v == nil || v.keys == nil {
		return nil, fmt.Errorf("%w: Verifier not built with NewVerifier", ErrInvalidConfig)
	}
	if req.Method == "" || req.URL == "" {
		return nil, fmt.Errorf("%w: the request's method and URL are required", ErrInvalidConfig)
	}
	if proof == "" {
		return nil, ErrMissingProof
	}
	if len(proof) > v.cfg.maxSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformedProof, v.cfg.maxSize)
	}
	// Nothing of the parsed proof outlives this call: decode it on the stack.
	var buf [2048]byte
	jws, err := jose.Parse(jose.StringBytes(proof), v.cfg.maxSize, buf[:0])
	if err != nil {
		if errors.Is(err, jose.ErrUnsupportedAlg) {
			return nil, ErrUnsupportedAlgorithm
		}
		return nil, ErrMalformedProof
	}
	h := &jws.Header
	switch {
	case !h.TypIs("dpop+jwt"):
		return nil, ErrInvalidProofType
	case !v.cfg.algs.Has(h.Alg):
		return nil, ErrUnsupportedAlgorithm
	case h.Crit:
		return nil, fmt.Errorf("%w: unknown critical header", ErrMalformedProof)
	case h.JWK.Kind == jsonscan.Invalid:
		return nil, fmt.Errorf("%w: no jwk header", ErrInvalidProofKey)
	}
	jwk, err := v.keys.parse(h.JWK)
	if err != nil {
		if errors.Is(err, jose.ErrPrivateJWK) {
			return nil, fmt.Errorf("%w: jwk holds private key material", ErrInvalidProofKey)
		}
		return nil, ErrInvalidProofKey
	}
	if jose.CheckKey(h.Alg, jwk.Key) != nil {
		return nil, fmt.Errorf("%w: key does not fit alg", ErrInvalidProofKey)
	}
	if !jose.Verify(h.Alg, jwk.Key, jws.SigningInput, jws.Signature) {
		return nil, ErrInvalidProofSignature
	}
	c, err := readProofClaims(jws.Payload)
	if err != nil {
		return nil, err
	}
	if !c.htm.Equal(req.Method) {
		return nil, ErrMethodMismatch
	}
	if !c.htu.Equal(req.URL) || strings.ContainsAny(req.URL, "?#") {
		htu, err := c.htu.Str()
		if err != nil || !htuMatches(htu, req.URL) {
			return nil, ErrURIMismatch
		}
	}
	if v.cfg.nonces != nil {
		nonce := ""
		if c.nonce.Kind != jsonscan.Invalid {
			nonce, _ = c.nonce.Str()
		}
		if err := v.cfg.nonces.Check(nonce); err != nil {
			return nil, err
		}
	}
	now := v.cfg.now()
	sec, frac := math.Modf(c.iat) // iat is in [0, year 9999]: no overflow
	iat := time.Unix(int64(sec), int64(frac*1e9))
	switch {
	case iat.After(now.Add(v.cfg.leeway)):
		return nil, ErrProofFromFuture
	case now.Sub(iat) > v.cfg.maxAge:
		return nil, ErrProofExpired
	}
	if req.AccessToken != "" {
		if c.ath.Kind == jsonscan.Invalid {
			return nil, fmt.Errorf("%w: no ath claim", ErrAccessTokenHashMismatch)
		}
		var want [43]byte
		sum := sha256.Sum256(jose.StringBytes(req.AccessToken))
		jose.AppendEncode(want[:0], sum[:])
		if !c.ath.Equal(string(want[:])) {
			return nil, ErrAccessTokenHashMismatch
		}
	}
	if req.KeyThumbprint != "" && subtle.ConstantTimeCompare([]byte(req.KeyThumbprint), []byte(jwk.Thumbprint)) != 1 {
		return nil, ErrBindingMismatch
	}
	jti, err := c.jti.Str()
	if err != nil || jti == "" || len(jti) > maxJTILength {
		return nil, fmt.Errorf("%w: jti missing or longer than %d bytes", ErrMalformedProof, maxJTILength)
	}
	// The proof could be replayed until it ages out of the window.
	expiry := iat.Add(v.cfg.maxAge + v.cfg.leeway)
	if d, ok := v.cfg.replay.(replaydefer.Deferrer); ok && d.DeferReplay(replaydefer.FromContext(ctx), v.cfg.replay, jwk.Thumbprint, jti, expiry) {
		// Inside guard.Check only: the check goes in the pipeline of the
		// request's first velocity count, and the guard answers nothing
		// before its verdict (see internal/replaydefer).
		return &Proof{KeyThumbprint: jwk.Thumbprint, ID: jti, IssuedAt: iat, Algorithm: h.Alg.String(), PublicKey: jwk.Key}, nil
	}
	if err := v.cfg.replay.CheckAndStore(ctx, jwk.Thumbprint, jti, expiry); err != nil {
		if errors.Is(err, ErrReplayed) {
			return nil, ErrReplayed
		}
		if errors.Is(err, ErrReplayCheckUnavailable) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrReplayCheckUnavailable, err)
	}
	return &Proof{KeyThumbprint: jwk.Thumbprint, ID: jti, IssuedAt: iat, Algorithm: h.Alg.String(), PublicKey: jwk.Key}, nil
}

// readProofClaims reads and type-checks the proof's claims (RFC 9449 §4.2).
// It returns them by value so that the payload they alias can stay on the
// caller's stack.
func readProofClaims(payload []byte) (proofClaims, error) {
	var c proofClaims
	o := jsonscan.NewObject(payload)
	for o.Next() {
		v := o.Value()
		switch string(o.Key()) {
		case "jti":
			c.jti = v
		case "htm":
			c.htm = v
		case "htu":
			c.htu = v
		case "ath":
			c.ath = v
		case "nonce":
			c.nonce = v
		case "iat":
			f, err := v.Float()
			if err != nil || f < 0 || f > 253402300799 {
				return c, fmt.Errorf("%w: iat is not a NumericDate", ErrMalformedProof)
			}
			c.iat, c.hasIat = f, true
		}
	}
	if o.Err() != nil {
		return c, fmt.Errorf("%w: claims are not a valid JSON object", ErrMalformedProof)
	}
	for _, s := range []jsonscan.Value{c.jti, c.htm, c.htu} {
		if s.Kind != jsonscan.String {
			return c, fmt.Errorf("%w: jti, htm and htu must be strings", ErrMalformedProof)
		}
	}
	for _, s := range []jsonscan.Value{c.ath, c.nonce} {
		if s.Kind != jsonscan.Invalid && s.Kind != jsonscan.String {
			return c, fmt.Errorf("%w: ath and nonce must be strings", ErrMalformedProof)
		}
	}
	if !c.hasIat {
		return c, fmt.Errorf("%w: no iat claim", ErrMalformedProof)
	}
	return c, nil
}

// String returns [REDACTED]: a Request may hold an access token.
func (Request) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (Request) GoString() string { return redacted.Marker }

// Format writes [REDACTED] for every verb.
func (Request) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue returns [REDACTED].
func (Request) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON returns "[REDACTED]".
func (Request) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }

// MarshalText returns [REDACTED], for the encoders that use it
// (encoding/xml, JSON map keys).
func (Request) MarshalText() ([]byte, error) { return []byte(redacted.Marker), nil }

// GobEncode refuses: gob would write the access token.
func (Request) GobEncode() ([]byte, error) { return nil, errNotEncoded }

// errNotEncoded is the GobEncode refusal of the types that may hold an
// access token.
var errNotEncoded = errors.New("dpop: a request description holds an access token and is not encoded")
