package middleware

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/inbound"
)

// New returns net/http middleware that decides on every request with the
// [guard.Guard] of a and opts: it puts the [authn.Principal] in the
// request's context ([authn.PrincipalFromContext]) and calls next; or
// refuses the request with the status and challenge the RFCs prescribe: 401
// with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3) or
// `DPoP error="invalid_dpop_proof", algs="…"` and a DPoP-Nonce when one is
// needed (RFC 9449 §7.1, §8), 401 with an RFC 9470 §3
// insufficient_user_authentication challenge when the policy needs a
// stronger or more recent user authentication (authz reasons
// insufficient_acr and auth_too_old), 400 for a malformed request, 403 when
// the mTLS peer is missing or not allowed or the policy denies, 429 with
// Retry-After over a rate limit (guard.WithRateLimits), 503 when a key set,
// the replay store or the rate-limit counters cannot be reached ([guard.Refusal.HTTPStatus]). The body is the status
// text, or an RFC 9457 problem object, whose member "code" is the
// [guard.Reason], when the client accepts application/problem+json; it never
// holds the token or the internal reason. With guard.WithNonces, every
// response carries the current nonce in a DPoP-Nonce header.
//
// Each decision is added to the request's existing OpenTelemetry span as
// attributes (no new span) and counted in the ztkit.authn.decisions counter and
// ztkit.authn.duration histogram, by outcome, reason, method and route
// pattern: never by path, subject, token or address. Package guard
// documents every attribute. With guard.WithLogger, each refusal is
// also logged once.
func New(a *authn.Authenticator, opts ...guard.Option) (func(http.Handler) http.Handler, error) {
	g, err := guard.New(a, opts...)
	if err != nil {
		return nil, err
	}
	return FromGuard(g), nil
}

// FromGuard returns the middleware of New for the guard g, for a service
// that keeps g to decide in its handlers as well (guard.Guard.CheckRisk,
// answered with [Refuse]). A nil g refuses every request with 500.
func FromGuard(g *guard.Guard) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			serve(g, w, r, next)
		})
	}
}

func serve(g *guard.Guard, w http.ResponseWriter, r *http.Request, next http.Handler) {
	if r == nil {
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	req := inbound.FromHTTP(r)
	if r.URL == nil { // only a hand-built request; net/http always sets URL
		Refuse(w, r, g.Reject(ctx, &req, "The request has no URL."))
		return
	}
	res := g.Check(ctx, &req)
	if n := g.Nonce(); n != "" {
		w.Header().Set("DPoP-Nonce", n)
	}
	if res.Refusal != nil {
		Refuse(w, r, res.Refusal)
		return
	}
	if res.Path != req.Path {
		r = withPath(r, res.Path)
	}
	next.ServeHTTP(w, r.WithContext(authn.NewContext(ctx, res.Principal)))
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

// Refuse answers r with the refusal ref, as the middleware answers its
// own: its status ([guard.Refusal.HTTPStatus]), WWW-Authenticate
// challenges, DPoP-Nonce, Retry-After in whole seconds for a rate-limited
// refusal (RFC 9110 §10.2.3), Cache-Control: no-store, and a plain or RFC
// 9457 problem body. Nothing of the cause but its classification reaches
// the client. A handler uses it to answer the refusal of
// guard.Guard.CheckRisk. A nil ref is answered with 500.
func Refuse(w http.ResponseWriter, r *http.Request, ref *guard.Refusal) {
	if ref == nil {
		ref = &guard.Refusal{Class: guard.ClassInternal, Reason: guard.ReasonInternal, Detail: "Authentication failed."}
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if s := ref.RetryAfterSeconds(); s > 0 {
		h.Set("Retry-After", strconv.FormatInt(s, 10))
	}
	if ref.Nonce != "" {
		h.Set("DPoP-Nonce", ref.Nonce)
	}
	for _, c := range ref.Challenges {
		h.Add("WWW-Authenticate", c)
	}
	status := ref.HTTPStatus()
	if acceptsProblem(r) {
		h.Set("Content-Type", "application/problem+json")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(problem{
			Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: ref.Detail, Code: string(ref.Reason),
		})
		return
	}
	http.Error(w, http.StatusText(status), status)
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
