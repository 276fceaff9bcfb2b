package sts

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/ztkit/ztkit/internal/jose"
	"github.com/ztkit/ztkit/internal/jsonscan"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// Client authentication methods (RFC 8414 §2, RFC 7591 §2).
const (
	// AuthMethodTLSClientAuth is mutual-TLS client authentication with a
	// PKI certificate (RFC 8705 §2.1): here an X.509-SVID whose SPIFFE ID,
	// its URI SAN, is the client's registered subject
	// (tls_client_auth_san_uri, RFC 8705 §2.1.2).
	AuthMethodTLSClientAuth = "tls_client_auth"
	// AuthMethodPrivateKeyJWT is a JWT client assertion signed with the
	// client's private key (RFC 7523 §2.2, OpenID Connect Core §9).
	AuthMethodPrivateKeyJWT = "private_key_jwt"
	// ClientAssertionTypeJWTBearer is the client_assertion_type of a JWT
	// client assertion (RFC 7523 §2.2).
	ClientAssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// Client is a registered client of the client_credentials grant. It
// authenticates with exactly one method: tls_client_auth when SPIFFEID is
// set, private_key_jwt when Keys are.
type Client struct {
	// ID is the client_id; the issued token's sub and client_id.
	ID string
	// SPIFFEID is the registered subject of tls_client_auth: the client's
	// X.509-SVID must carry it as its URI SAN (RFC 8705 §2.1.2).
	SPIFFEID spiffeid.ID
	// Keys verify the client's private_key_jwt assertions (its JWK Set,
	// see [tokens.ParseJWKS]).
	Keys []*tokens.PublicKey
	// Audiences are the audience and resource values the client may get
	// tokens for. When a request names none, a client with exactly one
	// gets it; with several, the request must choose.
	Audiences []string
	// Scopes are the scopes the client may get; a request without scope
	// gets all of them.
	Scopes []string
}

// AuthMethod returns the client's token_endpoint_auth_method.
func (c *Client) AuthMethod() string {
	if !c.SPIFFEID.IsZero() {
		return AuthMethodTLSClientAuth
	}
	return AuthMethodPrivateKeyJWT
}

func (c *Client) validate() error {
	switch {
	case c.ID == "" || !clean(c.ID):
		return fmt.Errorf("%w: client without a valid client_id", ErrInvalidConfig)
	case c.SPIFFEID.IsZero() == (len(c.Keys) == 0):
		return fmt.Errorf("%w: client %q needs exactly one of SPIFFEID (tls_client_auth) and Keys (private_key_jwt)", ErrInvalidConfig, c.ID)
	case slices.Contains(c.Keys, nil):
		return fmt.Errorf("%w: client %q has a nil key", ErrInvalidConfig, c.ID)
	case len(c.Audiences) == 0 || slices.Contains(c.Audiences, ""):
		return fmt.Errorf("%w: client %q may be given no audience", ErrInvalidConfig, c.ID)
	}
	for _, s := range c.Scopes {
		if !tokens.IsScopeToken(s) {
			return fmt.Errorf("%w: client %q has a scope that is not an RFC 6749 scope-token", ErrInvalidConfig, c.ID)
		}
	}
	return nil
}

// ClientRegistry finds registered clients. Client returns the client with
// client_id id, or an error matching [ErrUnknownClient]; the returned
// Client is not modified by the server. Implementations must be safe for
// concurrent use.
type ClientRegistry interface {
	Client(ctx context.Context, id string) (*Client, error)
}

// StaticClients is a [ClientRegistry] of clients fixed at construction.
// Create it with [NewStaticClients]; it is safe for concurrent use.
type StaticClients struct{ clients map[string]*Client }

// NewStaticClients returns a registry of clients. It fails with
// [ErrInvalidConfig] when a client is invalid (see [Client]) or a client_id
// is given twice. The clients are copied.
func NewStaticClients(clients ...Client) (*StaticClients, error) {
	s := &StaticClients{clients: make(map[string]*Client, len(clients))}
	for _, c := range clients {
		if err := c.validate(); err != nil {
			return nil, err
		}
		if _, dup := s.clients[c.ID]; dup {
			return nil, fmt.Errorf("%w: client %q registered twice", ErrInvalidConfig, c.ID)
		}
		c.Keys, c.Audiences, c.Scopes = slices.Clone(c.Keys), slices.Clone(c.Audiences), slices.Clone(c.Scopes)
		s.clients[c.ID] = &c
	}
	return s, nil
}

// Client implements [ClientRegistry].
func (s *StaticClients) Client(_ context.Context, id string) (*Client, error) {
	if s != nil {
		if c, ok := s.clients[id]; ok {
			return c, nil
		}
	}
	return nil, ErrUnknownClient
}

// authenticatedClient is a client that proved who it is.
type authenticatedClient struct {
	client *Client
	method string
	// cert is the verified client certificate of tls_client_auth.
	cert *x509.Certificate
}

// peer returns the SPIFFE ID and leaf of the request's verified client
// X.509-SVID; ok is false when the connection has no client certificate or
// the server verifies none ([WithX509Bundles] not set).
func (s *Server) peer(r *http.Request) (id spiffeid.ID, leaf *x509.Certificate, ok bool, rf *refusal) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || s.cfg.x509Bundles == nil {
		return spiffeid.ID{}, nil, false, nil
	}
	id, _, err := x509svid.Verify(r.TLS.PeerCertificates, s.cfg.x509Bundles, x509svid.WithTime(s.cfg.now()))
	if err != nil {
		return spiffeid.ID{}, nil, false, invalidClient(reasonClientCertificate, "the client certificate is not a valid X.509-SVID", err)
	}
	return id, r.TLS.PeerCertificates[0], true, nil
}

// certThumbprint is the x5t#S256 of a certificate (RFC 8705 §3.1).
func certThumbprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return jose.Encode(sum[:])
}

// authenticateClient authenticates the client of a client_credentials
// request: private_key_jwt when the form has a client assertion,
// tls_client_auth otherwise (RFC 8705 §2: client_id in the form, and the
// connection's certificate).
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, f form) (*authenticatedClient, *refusal) {
	if s.cfg.clients == nil {
		return nil, badRequest(errUnsupportedGrantType, reasonUnsupportedGrant, "grant type not supported", nil)
	}
	if f.has("client_assertion") || f.has("client_assertion_type") {
		return s.authenticateAssertion(ctx, f)
	}
	clientID := f.get("client_id")
	if clientID == "" {
		return nil, invalidClient(reasonNoClientAuth, "client authentication required", nil)
	}
	id, leaf, ok, rf := s.peer(r)
	if rf != nil {
		return nil, rf
	}
	if !ok {
		return nil, invalidClient(reasonNoClientAuth, "client authentication required", nil)
	}
	c, err := s.cfg.clients.Client(ctx, clientID)
	if err != nil {
		return nil, unknownClient(err)
	}
	if c.AuthMethod() != AuthMethodTLSClientAuth {
		return nil, invalidClient(reasonAuthMethod, "the client is not registered for tls_client_auth", nil)
	}
	if id != c.SPIFFEID {
		return nil, invalidClient(reasonCertificateMismatch, "the client certificate is not the one registered for the client", nil)
	}
	return &authenticatedClient{client: c, method: AuthMethodTLSClientAuth, cert: leaf}, nil
}

func unknownClient(err error) *refusal {
	if errors.Is(err, ErrUnknownClient) {
		return invalidClient(reasonUnknownClient, "client authentication failed", err)
	}
	return &refusal{status: http.StatusInternalServerError, code: errServerError, reason: reasonUnknownClient,
		description: "the client registry could not be asked", err: err}
}

// assertionClaims are the claims of a client assertion (RFC 7523 §3).
type assertionClaims struct {
	iss, sub, jti  string
	aud            []string
	exp, nbf, iat  time.Time
	hasExp, hasIat bool
}

// authenticateAssertion checks a private_key_jwt client assertion, as RFC
// 7523 §3 says: iss and sub are the client_id, aud names this server (its
// issuer or token endpoint), exp is set, not past and not too far ahead,
// nbf and iat are not in the future, jti is set and not seen before, and the
// signature verifies with one of the client's registered keys under an
// allowed algorithm. Every failure is invalid_client (RFC 7523 §3.2).
func (s *Server) authenticateAssertion(ctx context.Context, f form) (*authenticatedClient, *refusal) {
	if !f.has("client_assertion_type") {
		return nil, badRequest(errInvalidRequest, reasonMissingParameter, "client_assertion_type is required with client_assertion", nil)
	}
	if f.get("client_assertion_type") != ClientAssertionTypeJWTBearer {
		return nil, invalidClient(reasonClientAssertion, "client_assertion_type must be "+ClientAssertionTypeJWTBearer, nil)
	}
	assertion := f.get("client_assertion")
	if assertion == "" {
		return nil, badRequest(errInvalidRequest, reasonMissingParameter, "client_assertion is required with client_assertion_type", nil)
	}
	fail := func(description string, err error) (*authenticatedClient, *refusal) {
		return nil, invalidClient(reasonClientAssertion, description, err)
	}
	jws, err := jose.Parse(jose.StringBytes(assertion), tokens.DefaultMaxTokenSize, nil)
	if err != nil {
		return fail("client_assertion is not a valid JWT", err)
	}
	h := &jws.Header
	switch {
	case !s.cfg.assertAlgs.Has(h.Alg):
		return fail("client_assertion algorithm not allowed", nil)
	case h.Crit:
		return fail("client_assertion has an unknown critical header", nil)
	case h.EmbeddedKey:
		return fail("client_assertion carries its own key", nil)
	case h.Typ.Kind != jsonscan.Invalid && !h.TypIs("JWT") && !h.TypIs("client-authentication+jwt"):
		// A token of another type (at+jwt, dpop+jwt) is never a client assertion.
		return fail("client_assertion has the wrong typ", nil)
	}
	c, err := parseAssertionClaims(jws.Payload)
	if err != nil {
		return fail("client_assertion claims are invalid", err)
	}
	if c.iss == "" || c.iss != c.sub {
		return fail("client_assertion iss and sub must both be the client_id", nil)
	}
	if id := f.get("client_id"); id != "" && id != c.iss {
		return nil, invalidClient(reasonClientMismatch, "client_id does not match the client assertion", nil)
	}
	client, err := s.cfg.clients.Client(ctx, c.iss)
	if err != nil {
		return nil, unknownClient(err)
	}
	if client.AuthMethod() != AuthMethodPrivateKeyJWT {
		return nil, invalidClient(reasonAuthMethod, "the client is not registered for private_key_jwt", nil)
	}
	if !verifyWithAny(client.Keys, h.Alg, h.Kid, jws.SigningInput, jws.Signature) {
		return fail("client_assertion signature does not verify", nil)
	}
	now := s.cfg.now()
	l := s.cfg.leeway
	switch {
	case !slices.ContainsFunc(c.aud, func(a string) bool { return a == s.issuerID || a == s.endpoint }):
		return fail("client_assertion audience is not this server", nil)
	case !c.hasExp:
		return fail("client_assertion has no exp", nil)
	case !now.Before(c.exp.Add(l)):
		return fail("client_assertion expired", nil)
	case c.exp.Sub(now) > s.cfg.maxAssertion+l:
		return fail("client_assertion exp is too far in the future", nil)
	case !c.nbf.IsZero() && now.Add(l).Before(c.nbf):
		return fail("client_assertion is not yet valid", nil)
	case c.hasIat && now.Add(l).Before(c.iat):
		return fail("client_assertion issued in the future", nil)
	case c.jti == "" || len(c.jti) > 256:
		return fail("client_assertion needs a jti of at most 256 bytes", nil)
	}
	// RFC 7523 §3 item 7: a jti is used once while the assertion is valid.
	// The store's key space is shared with DPoP proofs; the prefix has a
	// space, which no JWK thumbprint has.
	if err := s.replay.CheckAndStore(ctx, "private_key_jwt "+client.ID, c.jti, c.exp.Add(l)); err != nil {
		if errors.Is(err, dpop.ErrReplayed) {
			return nil, invalidClient(reasonAssertionReplayed, "client_assertion has been used before", nil)
		}
		return nil, &refusal{status: http.StatusServiceUnavailable, code: errServerError, reason: reasonReplayUnavailable,
			description: "the replay check is unavailable", err: err}
	}
	return &authenticatedClient{client: client, method: AuthMethodPrivateKeyJWT}, nil
}

// verifyWithAny verifies a signature with the key named by kid, or without
// a kid with each key that fits alg.
func verifyWithAny(keys []*tokens.PublicKey, alg jose.Alg, kid []byte, input, sig []byte) bool {
	for _, k := range keys {
		if kid != nil && k.KeyID != string(kid) {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != alg.String() {
			continue
		}
		if jose.CheckKey(alg, k.Key) != nil {
			continue
		}
		if jose.Verify(alg, k.Key, input, sig) {
			return true
		}
	}
	return false
}

func parseAssertionClaims(payload []byte) (assertionClaims, error) {
	var c assertionClaims
	o := jsonscan.NewObject(payload)
	for o.Next() {
		v := o.Value()
		var err error
		switch string(o.Key()) {
		case "iss":
			c.iss, err = v.Str()
		case "sub":
			c.sub, err = v.Str()
		case "jti":
			c.jti, err = v.Str()
		case "aud":
			if v.Kind == jsonscan.String {
				var a string
				a, err = v.Str()
				c.aud = []string{a}
			} else if v.Kind == jsonscan.ArrayKind {
				a := v.Array()
				for a.Next() && err == nil {
					var s string
					s, err = a.Value().Str()
					c.aud = append(c.aud, s)
				}
				if err == nil {
					err = a.Err()
				}
			} else {
				err = jsonscan.ErrType
			}
		case "exp":
			c.exp, err = numericDate(v)
			c.hasExp = true
		case "nbf":
			c.nbf, err = numericDate(v)
		case "iat":
			c.iat, err = numericDate(v)
			c.hasIat = true
		}
		if err != nil {
			return c, fmt.Errorf("claim %s has the wrong type", safeClaim(o.Key()))
		}
	}
	if err := o.Err(); err != nil {
		return c, errors.New("claims are not a JSON object")
	}
	return c, nil
}

func safeClaim(k []byte) string {
	switch s := string(k); s {
	case "iss", "sub", "jti", "aud", "exp", "nbf", "iat":
		return s
	}
	return "?"
}

// numericDate reads a NumericDate (RFC 7519 §2) between 0 and year 9999.
func numericDate(v jsonscan.Value) (time.Time, error) {
	f, err := v.Float()
	if err != nil || f < 0 || f > 253402300799 {
		return time.Time{}, jsonscan.ErrType
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// authScheme returns the auth-scheme of an Authorization header value, for
// the challenge of a 401 (RFC 6749 §5.2), or "" when it is not a token.
func authScheme(v string) string {
	scheme, _, _ := strings.Cut(v, " ")
	if scheme == "" || len(scheme) > 32 {
		return ""
	}
	for i := 0; i < len(scheme); i++ {
		if !isTChar(scheme[i]) {
			return ""
		}
	}
	return scheme
}

// isTChar reports whether b is a tchar of RFC 9110 §5.6.2.
func isTChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}
