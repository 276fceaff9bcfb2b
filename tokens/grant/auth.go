package grant

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"

	ijose "github.com/ztkit/ztkit/internal/jose"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/tokens"
)

// ClientAuth is how a client authenticates to the token endpoint (RFC 6749
// §2.3): [PrivateKeyJWT], [TLSClientAuth], [ClientSecretBasic] or
// [NoClientAuth]. It is safe for concurrent use. It prints (fmt, slog) as
// the name of its method in RFC 8414's token_endpoint_auth_methods_supported,
// such as "private_key_jwt", never its key or secret.
type ClientAuth interface {
	fmt.Stringer
	slog.LogValuer
	// authenticate adds the client's credentials to a token request.
	authenticate(r *authRequest) error
	// check reports a configuration that cannot work.
	check() error
}

// authRequest is a token request being authenticated.
type authRequest struct {
	clientID string
	endpoint string
	form     url.Values
	header   http.Header
	now      time.Time
}

// assertionType is the client_assertion_type of a JWT client assertion (RFC
// 7523 §2.2).
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid: one request.
const assertionLifetime = time.Minute

type privateKeyJWT struct {
	signer   jose.Signer
	audience string
}

// AssertionOption configures [PrivateKeyJWT].
type AssertionOption interface{ applyAssertion(*assertionConfig) }

type assertionConfig struct {
	audience, keyID string
}

type assertionOptionFunc func(*assertionConfig)

func (f assertionOptionFunc) applyAssertion(c *assertionConfig) { f(c) }

// WithAssertionAudience sets the aud of client assertions, such as the
// authorization server's issuer identifier, which RFC 7523 §3 also allows
// and some servers require. The default, and the value for "", is the token
// endpoint URL.
func WithAssertionAudience(aud string) AssertionOption {
	return assertionOptionFunc(func(c *assertionConfig) { c.audience = aud })
}

// WithAssertionKeyID sets the kid header of client assertions: the key ID
// the client registered its public key (or JWK Set) with. The default, and
// the value for "", is the RFC 7638 thumbprint of the key.
func WithAssertionKeyID(kid string) AssertionOption {
	return assertionOptionFunc(func(c *assertionConfig) { c.keyID = kid })
}

// PrivateKeyJWT authenticates the client with a JWT it signs (RFC 7523 §2.2,
// the private_key_jwt method of OpenID Connect Core §9 and RFC 8414): a fresh
// assertion for every request (a nonce retry included, since servers refuse
// a jti twice), with iss and sub the client ID, aud the token endpoint URL
// ([WithAssertionAudience]), a random jti, iat now and exp one minute later,
// and kid the RFC 7638 thumbprint of the key ([WithAssertionKeyID]). The
// request also carries client_id.
//
// signer signs with the algorithm tokens.NewSigningKey picks for its key
// (ES256 for P-256, EdDSA for Ed25519, PS256 for RSA) or alg when not "".
// An unusable key or algorithm returns an error matching [ErrInvalidConfig].
func PrivateKeyJWT(signer crypto.Signer, alg string, opts ...AssertionOption) (ClientAuth, error) {
	if signer == nil {
		return nil, fmt.Errorf("%w: PrivateKeyJWT needs a signer", ErrInvalidConfig)
	}
	key, err := tokens.NewSigningKey(signer, alg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	cfg := assertionConfig{}
	for _, o := range opts {
		if o != nil {
			o.applyAssertion(&cfg)
		}
	}
	if cfg.keyID == "" {
		cfg.keyID = key.KeyID()
	}
	s, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm()), Key: cryptosigner.Opaque(ijose.RFC7518Signer(signer))},
		(&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), cfg.keyID),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return &privateKeyJWT{signer: s, audience: cfg.audience}, nil
}

func (p *privateKeyJWT) String() string                 { return "private_key_jwt" }
func (p *privateKeyJWT) Format(f fmt.State, _ rune)     { _, _ = f.Write([]byte(p.String())) }
func (p *privateKeyJWT) LogValue() slog.Value           { return slog.StringValue(p.String()) }
func (tlsClientAuth) String() string                    { return "tls_client_auth" }
func (a tlsClientAuth) Format(f fmt.State, _ rune)      { _, _ = f.Write([]byte(a.String())) }
func (a tlsClientAuth) LogValue() slog.Value            { return slog.StringValue(a.String()) }
func (c *clientSecretBasic) String() string             { return "client_secret_basic" }
func (c *clientSecretBasic) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }
func (c *clientSecretBasic) LogValue() slog.Value       { return slog.StringValue(c.String()) }
func (noClientAuth) String() string                     { return "none" }
func (a noClientAuth) Format(f fmt.State, _ rune)       { _, _ = f.Write([]byte(a.String())) }
func (a noClientAuth) LogValue() slog.Value             { return slog.StringValue(a.String()) }

type assertionClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	ID       string `json:"jti"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
}

func (p *privateKeyJWT) check() error {
	if p == nil || p.signer == nil {
		return fmt.Errorf("%w: PrivateKeyJWT not created by PrivateKeyJWT", ErrInvalidConfig)
	}
	return nil
}

func (p *privateKeyJWT) authenticate(r *authRequest) error {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return fmt.Errorf("%w: %v", ErrClientAuth, err)
	}
	aud := p.audience
	if aud == "" {
		aud = r.endpoint
	}
	payload, err := json.Marshal(assertionClaims{
		Issuer: r.clientID, Subject: r.clientID, Audience: aud,
		ID:       base64.RawURLEncoding.EncodeToString(jti[:]),
		IssuedAt: r.now.Unix(), Expiry: r.now.Add(assertionLifetime).Unix(),
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrClientAuth, err)
	}
	jws, err := p.signer.Sign(payload)
	if err != nil {
		return fmt.Errorf("%w: signing the client assertion failed", ErrClientAuth)
	}
	assertion, err := jws.CompactSerialize()
	if err != nil {
		return fmt.Errorf("%w: signing the client assertion failed", ErrClientAuth)
	}
	r.form.Set("client_id", r.clientID)
	r.form.Set("client_assertion_type", assertionType)
	r.form.Set("client_assertion", assertion)
	return nil
}

type tlsClientAuth struct{}

// TLSClientAuth authenticates the client with the TLS client certificate
// its HTTP client presents (RFC 8705 §2, tls_client_auth or
// self_signed_tls_client_auth), such as an X.509-SVID over SPIFFE mTLS: pass
// an http.Client whose transport presents it with [WithHTTPClient]. The
// request carries client_id (RFC 8705 §2) and no other credential.
func TLSClientAuth() ClientAuth { return tlsClientAuth{} }

func (tlsClientAuth) check() error { return nil }

func (tlsClientAuth) authenticate(r *authRequest) error {
	r.form.Set("client_id", r.clientID)
	return nil
}

type noClientAuth struct{}

// NoClientAuth sends no client credentials: the "none" method of RFC 7591
// §2, with client_id in the form when the client ID is not "". It serves an
// [Exchanger] whose actor authenticates by its actor token ([WithActorToken],
// a JWT-SVID) or by its mTLS certificate, as ztkit's token service expects
// (which refuses a client_id that does not name the actor); NewExchanger
// then accepts an empty client ID. A client credentials grant needs real
// client authentication, which a server enforces.
func NoClientAuth() ClientAuth { return noClientAuth{} }

func (noClientAuth) check() error { return nil }

func (noClientAuth) authenticate(r *authRequest) error {
	if r.clientID != "" {
		r.form.Set("client_id", r.clientID)
	}
	return nil
}

// SecretSource supplies a client secret. *secrets.Source is one, so a
// secret kept in Vault and rotated there reaches the next request without a
// restart; [StaticSecret] is one for a fixed secret.
type SecretSource interface {
	// Current returns the current secret.
	Current() (*secrets.Secret, error)
}

// StaticSecret is a [SecretSource] of one fixed secret.
type StaticSecret struct {
	// Secret is returned by Current.
	Secret *secrets.Secret
}

// Current returns s.Secret, or an error when it is nil.
func (s StaticSecret) Current() (*secrets.Secret, error) {
	if s.Secret == nil {
		return nil, fmt.Errorf("%w: StaticSecret has no secret", ErrInvalidConfig)
	}
	return s.Secret, nil
}

type clientSecretBasic struct {
	src   SecretSource
	field string
}

// ClientSecretBasic authenticates the client with HTTP Basic authentication
// (RFC 6749 §2.3.1): the client ID and the field field of src's current
// secret, each form-urlencoded (Appendix B) before they are joined with ":"
// and base64-encoded, as RFC 6749 requires and most clients forget. The
// secret is read for every request and never appears in an error.
func ClientSecretBasic(src SecretSource, field string) ClientAuth {
	return &clientSecretBasic{src: src, field: field}
}

func (c *clientSecretBasic) check() error {
	if c == nil || c.src == nil || c.field == "" {
		return fmt.Errorf("%w: ClientSecretBasic needs a secret source and a field name", ErrInvalidConfig)
	}
	return nil
}

func (c *clientSecretBasic) authenticate(r *authRequest) error {
	s, err := c.src.Current()
	if err != nil {
		return fmt.Errorf("%w: reading the client secret: %w", ErrClientAuth, err)
	}
	if s == nil {
		return fmt.Errorf("%w: no client secret", ErrClientAuth)
	}
	v, ok := s.Reveal(c.field)
	if !ok || v == "" {
		return fmt.Errorf("%w: the secret has no field %q", ErrClientAuth, c.field)
	}
	r.header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(
		[]byte(url.QueryEscape(r.clientID)+":"+url.QueryEscape(v))))
	return nil
}
