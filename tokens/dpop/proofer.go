package dpop

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"

	ijose "github.com/ztkit/ztkit/internal/jose"
	"github.com/ztkit/ztkit/internal/redacted"
	"github.com/ztkit/ztkit/tokens"
)

// ProoferOption configures a [Proofer].
type ProoferOption interface{ applyProofer(*Proofer) }

// Proofer makes DPoP proofs (RFC 9449 §4.2) with one private key, reached
// through a crypto.Signer. A client keeps one Proofer per key and asks for a
// fresh proof for every request; [Transport] does so for an http.Client.
//
// A Proofer prints as [REDACTED] and is safe for concurrent use if its Signer is.
type Proofer struct {
	signer jose.Signer
	jkt    string
	now    func() time.Time
}

// NewProofer returns a proofer that signs with signer, with the algorithm
// tokens.NewSigningKey picks for the key (ES256 for P-256, EdDSA for Ed25519,
// PS256 for RSA) or alg when it is not "".
func NewProofer(signer crypto.Signer, alg string, opts ...ProoferOption) (*Proofer, error) {
	key, err := tokens.NewSigningKey(signer, alg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	s, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm()), Key: cryptosigner.Opaque(ijose.RFC7518Signer(signer))},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	p := &Proofer{signer: s, jkt: key.KeyID(), now: time.Now}
	for _, o := range opts {
		o.applyProofer(p)
	}
	return p, nil
}

// Thumbprint returns the RFC 7638 thumbprint of the proofer's public key: the
// jkt an authorization server binds tokens to (RFC 9449 §6.1, §10).
// It is "" for a nil Proofer.
func (p *Proofer) Thumbprint() string {
	if p == nil {
		return ""
	}
	return p.jkt
}

// ProofRequest says what a proof is for.
type ProofRequest struct {
	// Method and URL are the HTTP request's method and target URI. The URL's
	// query and fragment are left out of htu.
	Method string
	URL    string
	// AccessToken, when set, is hashed into ath (for requests to a resource server).
	AccessToken string
	// Nonce, when set, is the server's DPoP-Nonce.
	Nonce string
}

type proofClaimsOut struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// Proof returns a fresh proof, with a new random jti, for r.
// A nil or zero Proofer returns an error matching [ErrInvalidConfig].
func (p *Proofer) Proof(r ProofRequest) (string, error) {
	if p == nil || p.signer == nil {
		return "", fmt.Errorf("%w: Proofer not built with NewProofer", ErrInvalidConfig)
	}
	if r.Method == "" || r.URL == "" {
		return "", fmt.Errorf("%w: a proof needs a method and a URL", ErrInvalidConfig)
	}
	htu := r.URL
	if i := strings.IndexAny(htu, "?#"); i >= 0 {
		htu = htu[:i]
	}
	if strings.Contains(htu, "@") {
		// RFC 9110 §4.2.4: never send userinfo; it would carry a password in the proof.
		u, err := url.Parse(htu)
		if err != nil {
			return "", fmt.Errorf("%w: invalid URL", ErrInvalidConfig)
		}
		u.User = nil
		htu = u.String()
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	c := proofClaimsOut{JTI: ijose.Encode(jti[:]), HTM: r.Method, HTU: htu, IAT: p.now().Unix(), Nonce: r.Nonce}
	if r.AccessToken != "" {
		c.ATH = AccessTokenHash(r.AccessToken)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	jws, err := p.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("dpop: signing proof failed: %w", err)
	}
	return jws.CompactSerialize()
}

// AccessTokenHash returns the ath of an access token: base64url(SHA-256(token))
// (RFC 9449 §4.2).
func AccessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return ijose.Encode(sum[:])
}

// String returns [REDACTED].
func (p *Proofer) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (p *Proofer) GoString() string { return redacted.Marker }

// Format prints [REDACTED] for every verb.
func (p *Proofer) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue logs [REDACTED].
func (p *Proofer) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON encodes [REDACTED].
func (p *Proofer) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }

// String returns [REDACTED]: a ProofRequest may hold an access token.
func (ProofRequest) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (ProofRequest) GoString() string { return redacted.Marker }

// Format writes [REDACTED] for every verb.
func (ProofRequest) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue returns [REDACTED].
func (ProofRequest) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON returns "[REDACTED]".
func (ProofRequest) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }

// MarshalText returns [REDACTED], for the encoders that use it
// (encoding/xml, JSON map keys).
func (ProofRequest) MarshalText() ([]byte, error) { return []byte(redacted.Marker), nil }

// GobEncode refuses: gob would write the access token.
func (ProofRequest) GobEncode() ([]byte, error) { return nil, errNotEncoded }
