package middleware

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/internal/urlpath"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// Option configures the middleware.
type Option interface{ apply(*config) }

type config struct {
	authz  authz.Authorizer
	meters metric.MeterProvider
	nonces *dpop.Nonces
	realm  string
	algs   string
	logger *slog.Logger
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMeterProvider sets where the decision metrics go. nil keeps the global
// provider (otel.GetMeterProvider), which is a no-op until one is installed.
func WithMeterProvider(p metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if p != nil {
			c.meters = p
		}
	})
}

// WithAuthorizer decides, after authentication, whether the principal may
// make the request (package authz). A denial is answered with 403 and the
// decision's reason code; a missing scope also with an RFC 6750 §3.1
// insufficient_scope challenge naming the scopes. Without it the middleware
// only authenticates.
//
// The authorizer is given the canonical form of the request path (see
// authz.Request.Path), and the next handler gets a request whose URL.Path,
// URL.RawPath and RequestURI carry that same path: "/%7Ealice" reaches it
// as "/~alice". A path without a canonical form (encoded dot segments such
// as "/x/%2e%2e/admin", "%2F", NUL...) is refused with 400 and reason
// bad_request, even under a shadow policy, and never reaches the handler.
func WithAuthorizer(a authz.Authorizer) Option {
	return optionFunc(func(c *config) { c.authz = a })
}

// WithNonces sends the server's current DPoP nonce (RFC 9449 §8) in a
// DPoP-Nonce header on every response, so that clients keep an up-to-date
// nonce without an extra round trip. Pass the same Nonces the dpop.Verifier uses.
func WithNonces(n *dpop.Nonces) Option {
	return optionFunc(func(c *config) { c.nonces = n })
}

// WithRealm adds realm="…" to challenges (RFC 6750 §3). realm must not
// contain a quote or a backslash; such a realm is ignored.
func WithRealm(realm string) Option {
	return optionFunc(func(c *config) {
		if !strings.ContainsAny(realm, "\"\\\r\n") {
			c.realm = realm
		}
	})
}

// WithDPoPAlgorithms sets the algs parameter of DPoP challenges (RFC 9449
// §7.1): the proof algorithms the server accepts. The default lists all six
// that package dpop verifies.
func WithDPoPAlgorithms(names ...string) Option {
	return optionFunc(func(c *config) { c.algs = strings.Join(names, " ") })
}

// New returns net/http middleware that authenticates every request with a,
// puts the [authn.Principal] in the request's context ([authn.PrincipalFromContext])
// and calls next; or refuses the request with the status and challenge the
// RFCs prescribe: 401 with `WWW-Authenticate: Bearer error="invalid_token"`
// (RFC 6750 §3) or `DPoP error="invalid_dpop_proof", algs="…"` and a
// DPoP-Nonce when one is needed (RFC 9449 §7.1, §8), 400 for a malformed
// request, 403 when the mTLS peer is missing or not allowed, 503 when a key
// set or the replay store cannot be reached. The body is the status text, or
// an RFC 9457 problem object when the client accepts application/problem+json;
// it never holds the token or the internal reason.
//
// Each decision is added to the request's existing OpenTelemetry span as
// attributes (no new span) and counted in the ztkit.authn.decisions counter and
// ztkit.authn.duration histogram, by outcome, reason, method and route
// pattern: never by path, subject, token or address. The package
// documentation lists every attribute. With [WithLogger], each refusal is
// also logged once.
func New(a *authn.Authenticator, opts ...Option) (func(http.Handler) http.Handler, error) {
	if a == nil {
		return nil, errors.New("middleware: nil authenticator")
	}
	c := config{meters: otel.GetMeterProvider(), algs: "ES256 ES384 EdDSA Ed25519 PS256 RS256", logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o.apply(&c)
	}
	tel, err := newTelemetry(c.meters)
	if err != nil {
		return nil, err
	}
	refusals, err := newRefusalLog(c.logger)
	if err != nil {
		return nil, err
	}
	m := &mw{a: a, cfg: c, tel: tel, refusals: refusals, tokenDPoP: a.Policy().Token == authn.DPoPBoundToken}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.serve(w, r, next)
		})
	}, nil
}

type mw struct {
	a         *authn.Authenticator
	cfg       config
	tel       *telemetry
	refusals  *refusalLog
	tokenDPoP bool
}

func (m *mw) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if r == nil {
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
		return
	}
	start := time.Now()
	ctx := r.Context()
	if r.URL == nil { // only a hand-built request; net/http always sets URL
		ref := refusal{http.StatusBadRequest, "invalid_request", ReasonInvalidRequest, false, "The request has no URL."}
		m.tel.record(ctx, r, start, false, ref.reason, nil)
		m.refusals.authn(ctx, r, ref, dpop.ErrInvalidRequest)
		m.refuse(w, r, dpop.ErrInvalidRequest, ref)
		return
	}
	p, err := m.a.Authenticate(ctx, r)
	if m.cfg.nonces != nil {
		w.Header().Set("DPoP-Nonce", m.cfg.nonces.Current())
	}
	if err != nil {
		ref := classify(err)
		m.tel.record(ctx, r, start, false, ref.reason, nil)
		m.refusals.authn(ctx, r, ref, err)
		m.refuse(w, r, err, ref)
		return
	}
	if m.cfg.authz != nil {
		raw := r.URL.EscapedPath()
		path, perr := urlpath.Canonical(raw)
		if perr != nil {
			path = raw
		}
		d := m.cfg.authz.Decide(ctx, p, authz.Request{Method: r.Method, Path: path})
		if perr != nil {
			d = authz.Decision{Reason: authz.ReasonBadRequest} // even a shadow policy: no canonical path to hand on
		}
		if !d.Allow {
			m.tel.record(ctx, r, start, false, Reason(d.Reason), p)
			m.refusals.authz(ctx, r, p, d)
			m.forbid(w, r, d)
			return
		}
		if path != raw {
			r = withPath(r, path)
		}
	}
	m.tel.record(ctx, r, start, true, ReasonNone, p)
	next.ServeHTTP(w, r.WithContext(authn.NewContext(ctx, p)))
}

// withPath returns a shallow copy of r whose URL (and RequestURI, when it
// is in origin form) carries path, the canonical form of r's path that the
// authorizer decided on, so that the next handler routes on that path.
func withPath(r *http.Request, path string) *http.Request {
	dec, err := url.PathUnescape(path)
	if err != nil { // unreachable: a canonical path always decodes
		dec = r.URL.Path
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = dec, path
	r2.URL = &u
	if strings.HasPrefix(r.RequestURI, "/") {
		r2.RequestURI = u.RequestURI()
	}
	return r2
}

// forbid answers an authorization denial: 403 (400 for a path the policy
// refuses to route), with an insufficient_scope challenge when scopes are missing.
func (m *mw) forbid(w http.ResponseWriter, r *http.Request, d authz.Decision) {
	ref := denial(d)
	h := w.Header()
	if d.Reason == authz.ReasonInsufficientScope {
		c := m.challenge(usesDPoP(r), "insufficient_scope")
		if scopes := strings.Join(d.MissingScopes, " "); scopes != "" && !strings.ContainsAny(scopes, "\"\\") {
			c += fmt.Sprintf(", scope=%q", scopes)
		}
		h.Set("WWW-Authenticate", c)
	}
	m.writeBody(w, r, ref)
}

// refuse writes the refusal. Nothing of err but its classification reaches the client.
func (m *mw) refuse(w http.ResponseWriter, r *http.Request, err error, ref refusal) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	var ne *dpop.NonceError
	if errors.As(err, &ne) && ne.Nonce != "" {
		h.Set("DPoP-Nonce", ne.Nonce)
	}
	if ref.status == http.StatusUnauthorized {
		for _, c := range m.challenges(r, ref) {
			h.Add("WWW-Authenticate", c)
		}
	} else if ref.status == http.StatusBadRequest {
		h.Add("WWW-Authenticate", m.challenge(usesDPoP(r) || m.tokenDPoP, ref.code))
	}
	m.writeBody(w, r, ref)
}

// writeBody writes the status with a plain or RFC 9457 problem body.
func (m *mw) writeBody(w http.ResponseWriter, r *http.Request, ref refusal) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if acceptsProblem(r) {
		h.Set("Content-Type", "application/problem+json")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(ref.status)
		_ = json.NewEncoder(w).Encode(problem{
			Type: "about:blank", Title: http.StatusText(ref.status), Status: ref.status, Detail: ref.detail, Code: string(ref.reason),
		})
		return
	}
	http.Error(w, http.StatusText(ref.status), ref.status)
}

// challenges are the WWW-Authenticate values of a 401. Without credentials,
// every scheme the route accepts is offered, with no error code (RFC 6750 §3.1).
func (m *mw) challenges(r *http.Request, ref refusal) []string {
	if ref.reason == ReasonMissingToken {
		switch m.a.Policy().Token {
		case authn.DPoPBoundToken:
			return []string{m.challenge(true, "")}
		case authn.AccessToken:
			return []string{m.challenge(true, ""), m.challenge(false, "")}
		}
		return []string{m.challenge(false, "")}
	}
	dpopScheme := ref.dpop || usesDPoP(r)
	if ref.reason == ReasonBoundTokenAsBearer {
		dpopScheme = false
	}
	return []string{m.challenge(dpopScheme, ref.code)}
}

func (m *mw) challenge(dpopScheme bool, code string) string {
	var b strings.Builder
	if dpopScheme {
		b.WriteString("DPoP")
	} else {
		b.WriteString("Bearer")
	}
	sep := " "
	if m.cfg.realm != "" {
		fmt.Fprintf(&b, "%srealm=%q", sep, m.cfg.realm)
		sep = ", "
	}
	if code != "" {
		fmt.Fprintf(&b, "%serror=%q", sep, code)
		sep = ", "
	}
	if dpopScheme && m.cfg.algs != "" {
		fmt.Fprintf(&b, "%salgs=%q", sep, m.cfg.algs)
	}
	return b.String()
}

// usesDPoP reports whether the request used the DPoP authorization scheme.
func usesDPoP(r *http.Request) bool {
	v := r.Header.Get("Authorization")
	return len(v) > 5 && strings.EqualFold(v[:5], "DPoP ")
}

func acceptsProblem(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(strings.ToLower(v), "application/problem+json") {
			return true
		}
	}
	return false
}

// problem is an RFC 9457 problem details object.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	// Code is the reason code, an extension member.
	Code string `json:"code"`
}
