package sts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// Grant types and token type identifiers (RFC 8693 §2.1, §3; RFC 6749 §4.4).
// Package tokens/grant and every other ztkit client use these.
const (
	// GrantTypeTokenExchange is the grant_type of a token exchange (RFC 8693 §2.1).
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	// GrantTypeClientCredentials is the grant_type of RFC 6749 §4.4.
	GrantTypeClientCredentials = "client_credentials"
	// TokenTypeAccessToken is an OAuth 2.0 access token (RFC 8693 §3).
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	// TokenTypeJWT is a JWT (RFC 8693 §3), such as a JWT-SVID actor token.
	TokenTypeJWT = "urn:ietf:params:oauth:token-type:jwt"
)

// Token types of a token response (RFC 6749 §7.1, RFC 9449 §5).
const (
	TokenTypeDPoP   = "DPoP"
	TokenTypeBearer = "Bearer"
)

// TokenVerifier verifies a subject token; *tokens.Verifier is one, and
// should be the very verifier the resource servers use.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*tokens.Claims, error)
}

// Server is the token endpoint of a security token service (RFC 6749 §3.2),
// an [http.Handler]. It serves the grants it was configured with: token
// exchange (RFC 8693) for workloads acting for a subject, and
// client_credentials (RFC 6749 §4.4) for workloads acting for themselves.
// Tokens are DPoP-bound (RFC 9449 §5) or certificate-bound (RFC 8705 §3).
//
// A Server is safe for concurrent use. Create it with [New].
type Server struct {
	cfg      config
	issuer   *tokens.Issuer
	issuerID string
	endpoint string
	proofs   *dpop.Verifier
	replay   dpop.ReplayStore
	actors   map[spiffeid.ID]*ActorPolicy
	tel      *telemetry
}

// New returns the token endpoint of the authorization server whose issuer
// identifier is issuerID (RFC 8414 §2, the iss of the tokens issuer signs),
// reached by clients at endpoint, the token endpoint URL (the htu of DPoP
// proofs and an accepted aud of client assertions). At least one grant must
// be configured ([WithTokenExchange], [WithClientCredentials]). It fails
// with [ErrInvalidConfig] when the configuration cannot work.
func New(issuerID, endpoint string, issuer *tokens.Issuer, opts ...Option) (*Server, error) {
	cfg := newConfig(opts)
	if issuer == nil {
		return nil, fmt.Errorf("%w: nil issuer", ErrInvalidConfig)
	}
	if cfg.lifetime == 0 {
		cfg.lifetime = issuer.Lifetime()
	}
	switch {
	case !absoluteHTTPS(issuerID, true):
		return nil, fmt.Errorf("%w: the issuer identifier must be an https URL without query or fragment (RFC 8414 §2)", ErrInvalidConfig)
	case !absoluteHTTPS(endpoint, false):
		return nil, fmt.Errorf("%w: the token endpoint must be an absolute http(s) URL without query or fragment", ErrInvalidConfig)
	case cfg.subjects == nil && cfg.clients == nil && cfg.stepUp == nil:
		return nil, fmt.Errorf("%w: no grant configured", ErrInvalidConfig)
	case cfg.subjects != nil && len(cfg.actors) == 0:
		return nil, fmt.Errorf("%w: token exchange without any actor", ErrInvalidConfig)
	case cfg.subjects != nil && cfg.jwtBundles == nil && cfg.x509Bundles == nil:
		return nil, fmt.Errorf("%w: token exchange needs WithJWTSVIDs or WithX509Bundles to authenticate actors", ErrInvalidConfig)
	case cfg.jwtBundles != nil && cfg.jwtAudience == "":
		return nil, fmt.Errorf("%w: JWT-SVIDs need an audience", ErrInvalidConfig)
	case cfg.badAlg != "" || cfg.assertAlgs == 0:
		return nil, fmt.Errorf("%w: client assertion algorithm not allowed", ErrInvalidConfig)
	case cfg.stepUp != nil && (cfg.stepUp.subjects == nil || cfg.stepUp.factor == nil):
		return nil, fmt.Errorf("%w: step-up needs a subject token verifier and a second factor", ErrInvalidConfig)
	case cfg.stepUp != nil && cfg.stepUp.limiter == nil && (cfg.stepUp.maxFailures < 1 || cfg.stepUp.window <= 0):
		return nil, fmt.Errorf("%w: step-up attempts need a positive limit and window", ErrInvalidConfig)
	case cfg.lifetime < time.Second || cfg.lifetime > issuer.Lifetime():
		return nil, fmt.Errorf("%w: lifetime must be between 1s and the issuer's lifetime", ErrInvalidConfig)
	case cfg.maxAssertion <= 0 || cfg.maxAssertion > time.Hour:
		return nil, fmt.Errorf("%w: maximum assertion lifetime must be between 0 and 1h", ErrInvalidConfig)
	}
	s := &Server{cfg: cfg, issuer: issuer, issuerID: issuerID, endpoint: endpoint, replay: cfg.replay, actors: map[spiffeid.ID]*ActorPolicy{}}
	for i := range cfg.actors {
		a := cfg.actors[i]
		if err := a.validate(); err != nil {
			return nil, err
		}
		if _, dup := s.actors[a.ID]; dup {
			return nil, fmt.Errorf("%w: actor %s configured twice", ErrInvalidConfig, a.ID)
		}
		a.Audiences, a.Scopes, a.SubjectAudiences = slices.Clone(a.Audiences), slices.Clone(a.Scopes), slices.Clone(a.SubjectAudiences)
		s.actors[a.ID] = &a
	}
	if su := cfg.stepUp; su != nil && su.limiter == nil {
		c := *su
		c.limiter = newMemoryLimiter(su.maxFailures, su.window, cfg.now)
		s.cfg.stepUp = &c
	}
	if s.replay == nil {
		store, err := dpop.NewMemoryReplayStore()
		if err != nil {
			return nil, err
		}
		s.replay = store
	}
	popts := []dpop.VerifierOption{dpop.WithReplayStore(s.replay), dpop.WithClock(cfg.now)}
	if cfg.nonces != nil {
		popts = append(popts, dpop.WithNonces(cfg.nonces))
	}
	if cfg.proofAlgs != nil {
		popts = append(popts, dpop.WithAlgorithms(cfg.proofAlgs...))
	}
	var err error
	if s.proofs, err = dpop.NewVerifier(popts...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if s.tel, err = newTelemetry(cfg.meters); err != nil {
		return nil, err
	}
	return s, nil
}

// absoluteHTTPS reports whether u is an absolute URL with a host and
// neither query nor fragment; https only when strict, else http or https.
func absoluteHTTPS(u string, strict bool) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.RawQuery != "" || p.Fragment != "" || p.User != nil || p.Opaque != "" {
		return false
	}
	return p.Scheme == "https" || (!strict && p.Scheme == "http")
}

// tokenResponse is a successful token response (RFC 6749 §5.1, RFC 8693 §2.2.1).
type tokenResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type,omitempty"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	Scope           string `json:"scope,omitempty"`
}

// outcome is what one request led to, for the log and metrics.
type outcome struct {
	grant    string
	clientID string
	actor    string
	audience []string
	// stepUp is set for a token exchange that is a step-up.
	stepUp bool
}

// ServeHTTP implements the token endpoint. A nil or zero Server answers
// every request with server_error.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if s == nil || s.tel == nil {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(errorResponse{Error: errServerError, ErrorDescription: "token endpoint not configured"})
		return
	}
	ctx := r.Context()
	if s.cfg.nonces != nil {
		h.Set("DPoP-Nonce", s.cfg.nonces.Current())
	}
	var o outcome
	resp, rf := s.serve(ctx, w, r, &o)
	if rf != nil {
		s.refuse(ctx, w, rf, &o)
		return
	}
	s.tel.record(ctx, o.metricGrant(), "")
	s.cfg.logger.LogAttrs(ctx, slogDebug, "sts: token issued", append(o.attrs(),
		slog.Any("aud", o.audience), slog.String("scope", resp.Scope), slog.String("token_type", resp.TokenType),
		slog.Int64("expires_in", resp.ExpiresIn))...)
	h.Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func (s *Server) serve(ctx context.Context, w http.ResponseWriter, r *http.Request, o *outcome) (*tokenResponse, *refusal) {
	f, rf := readRequest(w, r, s.cfg.maxBody)
	if rf != nil {
		return nil, rf
	}
	// Only the two grants' own parameters name the grant in metrics.
	switch gt := f.get("grant_type"); gt {
	case GrantTypeTokenExchange, GrantTypeClientCredentials:
		o.grant = gt
	case "":
		return nil, badRequest(errInvalidRequest, reasonMissingParameter, "grant_type is required", nil)
	default:
		return nil, badRequest(errUnsupportedGrantType, reasonUnsupportedGrant, "grant type not supported", nil)
	}
	if auth := r.Header.Values("Authorization"); len(auth) > 0 {
		// No method this server supports uses the Authorization header
		// (client_secret_basic is not one): RFC 6749 §5.2 asks for a 401
		// with a challenge of the scheme the client used.
		rf := invalidClient(reasonAuthorizationHeader, "client authentication method not supported", nil)
		rf.wwwAuthenticate = authScheme(auth[0])
		return nil, rf
	}
	if o.grant == GrantTypeTokenExchange && isStepUp(f) {
		return s.stepUp(ctx, r, f, o)
	}
	if o.grant == GrantTypeTokenExchange {
		return s.exchange(ctx, r, f, o)
	}
	return s.clientCredentials(ctx, r, f, o)
}

// binding is how an issued token is bound to its holder.
type binding struct {
	jkt, x5t string
}

// proof verifies the request's DPoP proof for the token endpoint (RFC 9449
// §5, §4.3: htm POST, htu the token endpoint URL) and returns its key's
// thumbprint, or "" when the request has none.
func (s *Server) proof(ctx context.Context, r *http.Request) (string, *refusal) {
	proofs := r.Header.Values("DPoP")
	switch len(proofs) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", badRequest(errInvalidDPoPProof, reasonDPoPProof, "more than one DPoP proof", dpop.ErrMultipleProofs)
	}
	p, err := s.proofs.Verify(ctx, proofs[0], dpop.Request{Method: http.MethodPost, URL: s.endpoint})
	if err != nil {
		var ne *dpop.NonceError
		switch {
		case errors.As(err, &ne):
			rf := badRequest(errUseDPoPNonce, reasonDPoPNonce, "authorization server requires nonce in DPoP proof", err)
			rf.nonce = ne.Nonce
			return "", rf
		case errors.Is(err, dpop.ErrReplayed):
			return "", badRequest(errInvalidDPoPProof, reasonDPoPReplayed, "DPoP proof has been used before", err)
		case errors.Is(err, dpop.ErrReplayCheckUnavailable):
			return "", &refusal{status: http.StatusServiceUnavailable, code: errServerError, reason: reasonReplayUnavailable,
				description: "the replay check is unavailable", err: err}
		}
		return "", badRequest(errInvalidDPoPProof, reasonDPoPProof, proofDescription(err), err)
	}
	return p.KeyThumbprint, nil
}

// proofDescription names the failed proof check from a fixed set.
func proofDescription(err error) string {
	switch {
	case errors.Is(err, dpop.ErrURIMismatch):
		return "DPoP proof htu is not this token endpoint"
	case errors.Is(err, dpop.ErrMethodMismatch):
		return "DPoP proof htm is not POST"
	case errors.Is(err, dpop.ErrInvalidProofSignature):
		return "DPoP proof signature does not verify with its jwk"
	case errors.Is(err, dpop.ErrProofExpired), errors.Is(err, dpop.ErrProofFromFuture):
		return "DPoP proof iat is outside the acceptance window"
	case errors.Is(err, dpop.ErrUnsupportedAlgorithm):
		return "DPoP proof algorithm not allowed"
	}
	return "DPoP proof is invalid"
}

// clientCredentials serves the client_credentials grant (RFC 6749 §4.4).
func (s *Server) clientCredentials(ctx context.Context, r *http.Request, f form, o *outcome) (*tokenResponse, *refusal) {
	ac, rf := s.authenticateClient(ctx, r, f)
	if rf != nil {
		return nil, rf
	}
	c := ac.client
	o.clientID = c.ID
	aud, rf := targets(f, c.Audiences, "the client")
	if rf != nil {
		return nil, rf
	}
	scopes, rf := narrowScopes(f, c.Scopes, nil, false)
	if rf != nil {
		return nil, rf
	}
	jkt, rf := s.proof(ctx, r)
	if rf != nil {
		return nil, rf
	}
	b := binding{jkt: jkt}
	if jkt == "" {
		switch {
		case ac.cert != nil:
			b.x5t = certThumbprint(ac.cert)
		case !s.cfg.dpopOptional:
			return nil, badRequest(errInvalidRequest, reasonDPoPRequired, "a DPoP proof is required", nil)
		}
	}
	return s.issue(ctx, o, tokens.TokenRequest{
		Subject: c.ID, ClientID: c.ID, Audience: aud, Scopes: scopes,
	}, b, time.Time{}, "")
}

// issue signs the token and builds the response. A token issued for a
// subject token never outlives it: notAfter is the subject token's expiry
// (zero for none), and the lifetime is measured against it here, just
// before signing, not when the request was read: the checks in between
// (a replay store, a second factor) may take seconds.
func (s *Server) issue(ctx context.Context, o *outcome, tr tokens.TokenRequest, b binding, notAfter time.Time, issuedType string) (*tokenResponse, *refusal) {
	lifetime, ok := s.lifetimeUntil(notAfter)
	if !ok {
		return nil, badRequest(errInvalidRequest, reasonSubjectExpired, "subject_token is expired", nil)
	}
	o.audience = tr.Audience
	tr.DPoPKeyThumbprint, tr.CertThumbprint = b.jkt, b.x5t
	tr.Lifetime = lifetime
	tok, err := s.issuer.Issue(ctx, tr)
	if err != nil {
		return nil, &refusal{status: http.StatusInternalServerError, code: errServerError, reason: reasonIssue,
			description: "the token could not be issued", err: err}
	}
	resp := &tokenResponse{AccessToken: tok, IssuedTokenType: issuedType, TokenType: TokenTypeBearer, ExpiresIn: int64(lifetime / time.Second)}
	if b.jkt != "" {
		resp.TokenType = TokenTypeDPoP
	}
	if len(tr.Scopes) > 0 {
		resp.Scope, _ = tokens.FormatScope(tr.Scopes)
	}
	return resp, nil
}

// lifetimeUntil returns the lifetime of a token issued now that must expire
// by notAfter (zero: no bound besides the configured lifetime), in whole
// seconds so that exp (a whole second) cannot round past notAfter; false
// when less than a second is left.
func (s *Server) lifetimeUntil(notAfter time.Time) (time.Duration, bool) {
	if notAfter.IsZero() {
		return s.cfg.lifetime, true
	}
	lifetime := min(s.cfg.lifetime, notAfter.Sub(s.cfg.now()).Truncate(time.Second))
	return lifetime, lifetime >= time.Second
}

// targets returns the audience and resource values of the request (RFC 8693
// §2.1, RFC 8707 §2), each of which must be in allowed; with none, the one
// value of allowed when there is one.
func targets(f form, allowed []string, who string) ([]string, *refusal) {
	var out []string
	for _, r := range f["resource"] {
		u, err := url.Parse(r)
		if err != nil || !u.IsAbs() || u.Fragment != "" || u.RawFragment != "" {
			return nil, badRequest(errInvalidTarget, reasonTarget, "resource must be an absolute URI without a fragment", nil)
		}
	}
	for _, t := range append(slices.Clone(f["audience"]), f["resource"]...) {
		if !slices.Contains(allowed, t) {
			return nil, badRequest(errInvalidTarget, reasonTargetNotAllowed, who+" may not get tokens for a requested audience or resource", nil)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		if len(allowed) != 1 {
			return nil, badRequest(errInvalidTarget, reasonTarget, "audience or resource is required", nil)
		}
		out = []string{allowed[0]}
	}
	return out, nil
}

// narrowScopes returns the scopes to issue: the requested ones (RFC 6749
// §3.3), each of which must be in granted and, when limit is set, in
// allowed; with none requested, granted (intersected with allowed when
// limit is set), in granted's order.
func narrowScopes(f form, granted, allowed []string, limit bool) ([]string, *refusal) {
	ok := func(s string) bool { return slices.Contains(granted, s) && (!limit || slices.Contains(allowed, s)) }
	if !f.has("scope") {
		var out []string
		for _, s := range granted {
			if ok(s) && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		if len(granted) > 0 && len(out) == 0 {
			return nil, badRequest(errInvalidScope, reasonScopeNotAllowed, "none of the granted scopes may be issued", nil)
		}
		return out, nil
	}
	requested, err := tokens.ParseScope(f.get("scope"))
	if err != nil {
		return nil, badRequest(errInvalidScope, reasonScope, "scope does not follow RFC 6749 §3.3", nil)
	}
	var out []string
	for _, s := range requested {
		if !ok(s) {
			return nil, badRequest(errInvalidScope, reasonScopeNotAllowed, "the requested scope exceeds what may be granted", nil)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// errorResponse is RFC 6749 §5.2's error response.
type errorResponse struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

func (s *Server) refuse(ctx context.Context, w http.ResponseWriter, rf *refusal, o *outcome) {
	h := w.Header()
	if rf.nonce != "" {
		h.Set("DPoP-Nonce", rf.nonce)
	}
	if rf.status == http.StatusUnauthorized && rf.wwwAuthenticate != "" {
		// RFC 6749 §5.2: the challenge matches the scheme the client used.
		challenge := rf.wwwAuthenticate
		if quotable(s.issuerID) {
			challenge += ` realm="` + s.issuerID + `"`
		}
		h.Set("WWW-Authenticate", challenge)
	}
	s.tel.record(ctx, o.metricGrant(), rf.reason)
	attrs := append(o.attrs(), slogString("error", rf.code), slogString("reason", rf.reason))
	if rf.err != nil {
		attrs = append(attrs, slogString("cause", rf.err.Error()))
	}
	s.cfg.logger.LogAttrs(ctx, slogInfo, "sts: token request refused", attrs...)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(rf.status)
	_ = json.NewEncoder(w).Encode(errorResponse{Error: rf.code, ErrorDescription: rf.description})
}
