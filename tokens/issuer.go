package tokens

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"

	ijose "github.com/ztkit/ztkit/internal/jose"
)

// DefaultTokenLifetime is how long an issued token lives unless [WithLifetime]
// or [TokenRequest.Lifetime] say otherwise.
const DefaultTokenLifetime = 5 * time.Minute

// IssuerOption configures an [Issuer].
type IssuerOption interface{ applyIssuer(*Issuer) }

type issuerOptionFunc func(*Issuer)

func (f issuerOptionFunc) applyIssuer(i *Issuer) { f(i) }

// WithLifetime sets the lifetime of issued tokens, and the longest a
// [TokenRequest] may ask for. The default is five minutes.
func WithLifetime(d time.Duration) IssuerOption {
	return issuerOptionFunc(func(i *Issuer) { i.lifetime = d })
}

// Issuer issues short-lived JWT access tokens (RFC 9068), signed with the
// current key of a [KeySet]. It is safe for concurrent use.
type Issuer struct {
	issuer   string
	keys     *KeySet
	lifetime time.Duration
	now      func() time.Time

	mu      sync.Mutex
	signers map[*SigningKey]jose.Signer
}

// NewIssuer returns an issuer whose tokens carry iss issuer.
func NewIssuer(issuer string, keys *KeySet, opts ...IssuerOption) (*Issuer, error) {
	i := &Issuer{issuer: issuer, keys: keys, lifetime: DefaultTokenLifetime, now: time.Now, signers: map[*SigningKey]jose.Signer{}}
	for _, o := range opts {
		o.applyIssuer(i)
	}
	switch {
	case issuer == "":
		return nil, fmt.Errorf("%w: empty issuer", ErrInvalidConfig)
	case keys == nil:
		return nil, fmt.Errorf("%w: nil key set", ErrInvalidConfig)
	case i.lifetime <= 0:
		return nil, fmt.Errorf("%w: lifetime must be positive", ErrInvalidConfig)
	}
	return i, nil
}

// Lifetime returns how long the tokens i issues live: the lifetime set with
// [WithLifetime], and the longest a [TokenRequest] may ask for.
func (i *Issuer) Lifetime() time.Duration { return i.lifetime }

// TokenRequest says what an issued token grants, to whom, and how it is bound.
type TokenRequest struct {
	// Subject (sub), ClientID (client_id) and Audience (aud) are required.
	Subject  string
	ClientID string
	Audience []string
	// Scopes become the scope claim, joined by single spaces. Each must be a
	// scope-token of RFC 6749 §3.3 (see [ParseScope]); Issue refuses any
	// other with an error matching both [ErrInvalidConfig] and [ErrInvalidScope].
	Scopes []string
	// Roles, Groups and Entitlements are RFC 9068 §2.2.3.1 attributes.
	Roles, Groups, Entitlements []string
	// AuthTime, ACR and AMR describe how the subject authenticated.
	AuthTime time.Time
	ACR      string
	AMR      []string
	// DPoPKeyThumbprint binds the token to a DPoP key: cnf.jkt (RFC 9449 §6.1).
	DPoPKeyThumbprint string
	// CertThumbprint binds the token to a client certificate: cnf.x5t#S256
	// (RFC 8705 §3.1), the base64url SHA-256 of the certificate's DER.
	CertThumbprint string
	// Actor becomes the act claim (RFC 8693 §4.1): the party acting for
	// Subject, nearest first, with prior actors nested in Actor.Actor. Every
	// actor needs a Subject, and the chain may be at most [MaxActorDepth]
	// long; Issue refuses any other with an error matching both
	// [ErrInvalidConfig] and [ErrInvalidActor]. Nil issues no act claim.
	// Issue does not check that Subject may be acted for by Actor: that is
	// the caller's decision (RFC 8693 §4.4 may_act, policy).
	Actor *Actor
	// MayAct becomes the may_act claim (RFC 8693 §4.4): the one party
	// allowed to act for Subject. It needs a Subject and may not name a prior
	// actor (MayAct.Actor must be nil); Issue refuses any other like Actor.
	MayAct *Actor
	// Lifetime shortens the issuer's lifetime for this token; zero keeps it.
	Lifetime time.Duration
	// Extra holds further claims. It may not set a claim this type sets, in
	// any letter case.
	Extra map[string]any
}

// registered are the claims an Issuer sets itself.
var registered = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true, "client_id": true,
	"scope": true, "roles": true, "groups": true, "entitlements": true, "auth_time": true, "acr": true, "amr": true, "cnf": true,
	"act": true, "may_act": true,
}

type accessTokenClaims struct {
	Issuer       string         `json:"iss"`
	Subject      string         `json:"sub"`
	Audience     any            `json:"aud"`
	Expiry       int64          `json:"exp"`
	IssuedAt     int64          `json:"iat"`
	ID           string         `json:"jti"`
	ClientID     string         `json:"client_id"`
	Scope        string         `json:"scope,omitempty"`
	AuthTime     int64          `json:"auth_time,omitempty"`
	ACR          string         `json:"acr,omitempty"`
	AMR          []string       `json:"amr,omitempty"`
	Roles        []string       `json:"roles,omitempty"`
	Groups       []string       `json:"groups,omitempty"`
	Entitlements []string       `json:"entitlements,omitempty"`
	Cnf          map[string]any `json:"cnf,omitempty"`
	Act          *Actor         `json:"act,omitempty"`
	MayAct       *Actor         `json:"may_act,omitempty"`
}

// Issue returns a signed access token for r. It fails with [ErrInvalidConfig]
// when r lacks a required field or is inconsistent, and also with
// [ErrInvalidScope] when a scope is not an RFC 6749 §3.3 scope-token, or
// [ErrInvalidActor] when r.Actor or r.MayAct cannot be issued.
func (i *Issuer) Issue(ctx context.Context, r TokenRequest) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if r.Subject == "" || r.ClientID == "" || len(r.Audience) == 0 || slices.Contains(r.Audience, "") {
		return "", fmt.Errorf("%w: subject, client id and a non-empty audience are required", ErrInvalidConfig)
	}
	var scope string
	if len(r.Scopes) > 0 {
		var err error
		if scope, err = FormatScope(r.Scopes); err != nil {
			return "", fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	if err := r.Actor.validate("act", MaxActorDepth); err != nil {
		return "", err
	}
	if err := r.MayAct.validate("may_act", 1); err != nil {
		return "", err
	}
	lifetime := i.lifetime
	if r.Lifetime < 0 || r.Lifetime > i.lifetime {
		return "", fmt.Errorf("%w: lifetime must be between 0 and %s", ErrInvalidConfig, i.lifetime)
	}
	if r.Lifetime > 0 {
		lifetime = r.Lifetime
	}
	now := i.now()
	c := accessTokenClaims{
		Issuer: i.issuer, Subject: r.Subject, ClientID: r.ClientID,
		IssuedAt: now.Unix(), Expiry: now.Add(lifetime).Unix(),
		Scope: scope, ACR: r.ACR, AMR: r.AMR,
		Roles: r.Roles, Groups: r.Groups, Entitlements: r.Entitlements,
		Act: r.Actor, MayAct: r.MayAct,
	}
	if len(r.Audience) == 1 {
		c.Audience = r.Audience[0]
	} else {
		c.Audience = r.Audience
	}
	if !r.AuthTime.IsZero() {
		c.AuthTime = r.AuthTime.Unix()
	}
	if r.DPoPKeyThumbprint != "" || r.CertThumbprint != "" {
		c.Cnf = map[string]any{}
		for name, tp := range map[string]string{"jkt": r.DPoPKeyThumbprint, "x5t#S256": r.CertThumbprint} {
			if tp == "" {
				continue
			}
			if !validThumbprint(tp) {
				return "", fmt.Errorf("%w: cnf %s is not a base64url SHA-256 thumbprint", ErrInvalidConfig, name)
			}
			c.Cnf[name] = tp
		}
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	c.ID = ijose.Encode(jti[:])
	payload, err := marshalClaims(&c, r.Extra)
	if err != nil {
		return "", err
	}
	key := i.keys.Current()
	signer, err := i.signer(key)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("tokens: signing failed: %w", err)
	}
	return jws.CompactSerialize()
}

func marshalClaims(c *accessTokenClaims, extra map[string]any) ([]byte, error) {
	base, err := json.Marshal(c)
	if err != nil || len(extra) == 0 {
		return base, err
	}
	for name := range extra {
		// Case-insensitively: a consumer reading claims with encoding/json
		// (Claims.Decode) matches names that way, so "SUB" would shadow "sub".
		if registered[strings.ToLower(name)] {
			return nil, fmt.Errorf("%w: extra claim %q overrides a registered claim", ErrInvalidConfig, name)
		}
	}
	more, err := json.Marshal(extra)
	if err != nil {
		return nil, fmt.Errorf("%w: extra claims: %v", ErrInvalidConfig, err)
	}
	// Both are JSON objects with disjoint names: splice them.
	out := append(base[:len(base)-1:len(base)-1], ',')
	return append(out, more[1:]...), nil
}

// signer returns the go-jose signer for key, creating it once.
func (i *Issuer) signer(key *SigningKey) (jose.Signer, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if s, ok := i.signers[key]; ok {
		return s, nil
	}
	opts := (&jose.SignerOptions{}).WithType("at+jwt").WithHeader(jose.HeaderKey("kid"), key.KeyID())
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm()), Key: cryptosigner.Opaque(ijose.RFC7518Signer(key.signer.Reveal()))}, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	if len(i.signers) > 8 {
		clear(i.signers) // keys rotated away; start over
	}
	i.signers[key] = s
	return s, nil
}
