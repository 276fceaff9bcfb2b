package authz_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/authz/authztest"
)

func shopEngine(t testing.TB, opts ...authz.Option) *authz.Engine {
	t.Helper()
	p, err := authz.Parse("shop.json", []byte(shopPolicy))
	require.NoError(t, err)
	e, err := authz.New(p, append([]authz.Option{authz.WithClock(func() time.Time { return fixedNow })}, opts...)...)
	require.NoError(t, err)
	return e
}

func TestDecide(t *testing.T) {
	e := shopEngine(t)
	pay := authz.Request{Method: "POST", Path: "/payments"}
	admin := func() *authn.Principal {
		return with(customer(), func(p *authn.Principal) { p.Roles = []string{"admin"}; p.AMR = []string{"hwk"}; p.ACR = "phr" })
	}
	reader := &authn.Principal{Peer: spiffeid.RequireFromPath(td, "/eu/web"), Scopes: []string{"orders:read"}}
	authztest.Run(t, e, []authztest.Case{
		{Name: "checkout pays", Principal: customer(), Request: pay, Allow: true, Reason: authz.ReasonAllowed, RuleID: "checkout-pays"},
		{Name: "capture", Principal: customer(), Request: authz.Request{Method: "POST", Path: "/payments/p1/capture"}, Allow: true, RuleID: "checkout-pays"},
		{Name: "wrong method", Principal: customer(), Request: authz.Request{Method: "GET", Path: "/payments"}, Reason: authz.ReasonNoRule},
		{Name: "unknown route", Principal: customer(), Request: authz.Request{Method: "POST", Path: "/refunds"}, Reason: authz.ReasonNoRule},
		{Name: "anonymous", Request: pay, Reason: authz.ReasonPeerMismatch, RuleID: "checkout-pays"},
		{Name: "other peer", Principal: with(customer(), func(p *authn.Principal) { p.Peer = spiffeid.RequireFromPath(td, "/web") }), Request: pay, Reason: authz.ReasonPeerMismatch},
		{Name: "workload token", Principal: with(customer(), func(p *authn.Principal) { p.Kind = authn.WorkloadKind }), Request: pay, Reason: authz.ReasonKindMismatch},
		{Name: "bearer", Principal: with(customer(), func(p *authn.Principal) { p.Binding = authn.NoBinding }), Request: pay, Reason: authz.ReasonBindingRequired},
		{Name: "mtls bound is not dpop", Principal: with(customer(), func(p *authn.Principal) { p.Binding = authn.BoundToCertificate }), Request: pay, Reason: authz.ReasonBindingRequired},
		{Name: "password only", Principal: with(customer(), func(p *authn.Principal) { p.ACR = "pwd" }), Request: pay, Reason: authz.ReasonInsufficientACR},
		{Name: "acr off the ladder", Principal: with(customer(), func(p *authn.Principal) { p.ACR = "urn:x" }), Request: pay, Reason: authz.ReasonInsufficientACR},
		{Name: "stronger acr", Principal: with(customer(), func(p *authn.Principal) { p.ACR = "phr" }), Request: pay, Allow: true},
		{Name: "stale login", Principal: with(customer(), func(p *authn.Principal) { p.AuthTime = fixedNow.Add(-time.Hour) }), Request: pay, Reason: authz.ReasonAuthTooOld},
		{Name: "no auth_time", Principal: with(customer(), func(p *authn.Principal) { p.AuthTime = time.Time{} }), Request: pay, Reason: authz.ReasonAuthTooOld},
		{Name: "no scope", Principal: with(customer(), func(p *authn.Principal) { p.Scopes = []string{"openid"} }), Request: pay, Reason: authz.ReasonInsufficientScope},
		{Name: "orders any scope", Principal: reader, Request: authz.Request{Method: "GET", Path: "/orders/o1"}, Allow: true, RuleID: "orders-read"},
		{Name: "HEAD matches GET", Principal: reader, Request: authz.Request{Method: "HEAD", Path: "/orders/o1"}, Allow: true},
		{Name: "foreign domain", Principal: &authn.Principal{Peer: spiffeid.RequireFromString("spiffe://evil.example/shop.example"), Scopes: []string{"orders:read"}}, Request: authz.Request{Method: "GET", Path: "/orders/o1"}, Reason: authz.ReasonPeerMismatch},
		{Name: "admin", Principal: admin(), Request: authz.Request{Method: "DELETE", Path: "/admin/users/7"}, Allow: true, RuleID: "admin"},
		{Name: "admin without hwk", Principal: with(admin(), func(p *authn.Principal) { p.AMR = []string{"otp"} }), Request: authz.Request{Method: "GET", Path: "/admin/users"}, Reason: authz.ReasonInsufficientAMR},
		{Name: "not admin", Principal: with(admin(), func(p *authn.Principal) { p.Roles = nil }), Request: authz.Request{Method: "GET", Path: "/admin/users"}, Reason: authz.ReasonMissingRole},
		{Name: "forbid wins", Principal: admin(), Request: authz.Request{Method: "GET", Path: "/admin/debug/pprof"}, Reason: authz.ReasonForbidden, RuleID: "no-debug"},
		{Name: "grpc", Principal: &authn.Principal{Workload: spiffeid.RequireFromPath(td, "/eu/checkout"), ClientID: "checkout", Binding: authn.BoundToCertificate}, Request: authz.Request{GRPCMethod: "/shop.Payments/Charge"}, Allow: true, RuleID: "grpc-charge"},
		{Name: "grpc glob one segment", Principal: &authn.Principal{Workload: spiffeid.RequireFromPath(td, "/eu/x/checkout"), ClientID: "checkout", Binding: authn.BoundToCertificate}, Request: authz.Request{GRPCMethod: "/shop.Payments/Charge"}, Reason: authz.ReasonWorkloadMismatch},
		{Name: "grpc wrong client", Principal: &authn.Principal{Workload: spiffeid.RequireFromPath(td, "/eu/checkout"), ClientID: "web", Binding: authn.BoundToCertificate}, Request: authz.Request{GRPCMethod: "/shop.Payments/Charge"}, Reason: authz.ReasonClientMismatch},
		{Name: "health for all", Request: authz.Request{Method: "GET", Path: "/healthz"}, Allow: true},
		{Name: "unclean path", Principal: admin(), Request: authz.Request{Method: "GET", Path: "/admin/../admin/debug/x"}, Reason: authz.ReasonBadRequest},
		{Name: "double slash", Principal: admin(), Request: authz.Request{Method: "GET", Path: "/admin//debug/x"}, Reason: authz.ReasonBadRequest},
		{Name: "no method", Principal: customer(), Request: authz.Request{Path: "/payments"}, Reason: authz.ReasonBadRequest},
		{Name: "escaped slash refused", Principal: reader, Request: authz.Request{Method: "GET", Path: "/orders/a%2Fb"}, Reason: authz.ReasonBadRequest},
		{Name: "unreserved escape decoded", Principal: reader, Request: authz.Request{Method: "GET", Path: "/%6Frders/o1"}, Allow: true, RuleID: "orders-read"},
	})
}

// TestDecideCanonicalPath is the regression test for percent-encoded dot
// segments (RFC 3986 §6.2.2.2, §5.2.4): they are dot segments, so a request
// using them is refused as a bad request; it never matches an allow through
// a wildcard, never escapes a forbid, and no wildcard captures "..".
func TestDecideCanonicalPath(t *testing.T) {
	e, err := authz.New(authz.Policy{Rules: []authz.Rule{
		{ID: "x", Effect: authz.Allow, Routes: []string{"/x/{p...}", "GET /files/{name}"}, Match: authz.Match{AnyPrincipal: true}},
		{ID: "no-admin", Effect: authz.Forbid, Routes: []string{"/admin/"}, Match: authz.Match{AnyPrincipal: true}},
		{ID: "item", Effect: authz.Allow, Routes: []string{"GET /items/{id}"}, Match: authz.Match{AnyPrincipal: true}},
	}})
	require.NoError(t, err)
	bad := []string{
		"/x/%2e%2e/admin/users", "/x/%2E%2E/admin/users", "/x/.%2e/admin/users", "/x/%2e./admin/users",
		"/x/%2e/admin", "/x/../admin/users", "/x/./y", "/files/%2e%2e", "/files/%2E%2e", "/files/..",
		"/x/a%2Fb", "/x/a%2f..%2fadmin", "/x/a%5cb", `/x/a\b`, "/x/a%00", "/x/%252e%252e/admin",
		"/x/..;/admin/users", "/x/%2e%2e;/admin", "/x/..%3B/admin", "/x/%C0%AE%C0%AE/admin", "/x/%zz",
		"/x//admin", "x/y", "/%2e%2e/admin/users",
	}
	for _, p := range bad {
		t.Run(p, func(t *testing.T) {
			for _, m := range []string{"GET", "POST", "PURGE"} {
				d := e.Decide(t.Context(), nil, authz.Request{Method: m, Path: p})
				assert.False(t, d.Allow, m)
				assert.Equal(t, authz.ReasonBadRequest, d.Reason, m)
			}
			tr := e.Explain(t.Context(), nil, authz.Request{Method: "GET", Path: p})
			assert.Empty(t, tr.Patterns)
		})
	}
	good := []struct{ path, pattern, canon string }{
		{"/x/%61dmin/users", "/x/{p...}", "/x/admin/users"},
		{"/items/%7ealice", "GET /items/{id}", "/items/~alice"},
		{"/items/caf%c3%a9", "GET /items/{id}", "/items/caf%C3%A9"},
		{"/items/..a", "GET /items/{id}", "/items/..a"},
	}
	for _, g := range good {
		t.Run(g.path, func(t *testing.T) {
			tr := e.Explain(t.Context(), nil, authz.Request{Method: "GET", Path: g.path})
			assert.True(t, tr.Decision.Allow)
			assert.Equal(t, g.pattern, tr.Decision.Pattern)
			assert.Equal(t, g.canon, tr.Path)
		})
	}
	t.Run("encoded admin still forbidden", func(t *testing.T) {
		d := e.Decide(t.Context(), nil, authz.Request{Method: "GET", Path: "/%61dmin/users"})
		assert.False(t, d.Allow)
		assert.Equal(t, authz.ReasonForbidden, d.Reason)
	})
}

func TestDecideInsufficientScope(t *testing.T) {
	e := shopEngine(t)
	d := e.Decide(t.Context(), with(customer(), func(p *authn.Principal) { p.Scopes = nil }), authz.Request{Method: "POST", Path: "/payments"})
	assert.False(t, d.Allow)
	assert.Equal(t, authz.ReasonInsufficientScope, d.Reason)
	assert.Equal(t, []string{"payments:write"}, d.MissingScopes)
	assert.Equal(t, "POST /payments", d.Pattern)

	d = e.Decide(t.Context(), &authn.Principal{Peer: checkout}, authz.Request{Method: "GET", Path: "/orders/1"})
	assert.Equal(t, []string{"orders:read", "orders:admin"}, d.MissingScopes, "any_scopes: any one would do")
}

func TestShadow(t *testing.T) {
	e := shopEngine(t)
	eu := &authn.Principal{Peer: spiffeid.RequireFromPath(td, "/eu/web"), Scopes: []string{"orders:read"}}
	d := e.Decide(t.Context(), eu, authz.Request{Method: "GET", Path: "/orders/1"})
	assert.True(t, d.Allow, "a shadow forbid is not enforced")
	assert.True(t, d.ShadowDeny)
	assert.Equal(t, "trial-block-eu", d.ShadowRuleID)

	p, err := authz.Parse("shop.json", []byte(shopPolicy))
	require.NoError(t, err)
	p.Shadow = true
	require.NoError(t, e.Update(p))
	d = e.Decide(t.Context(), nil, authz.Request{Method: "POST", Path: "/payments"})
	assert.Equal(t, authz.Decision{Allow: true, Reason: authz.ReasonShadowPolicy, Pattern: "POST /payments",
		ShadowDeny: true, ShadowRuleID: "checkout-pays", ShadowReason: authz.ReasonPeerMismatch}, d)

	p.Shadow = false
	p.Rules = append(p.Rules, authz.Rule{ID: "trial-refunds", Effect: authz.Allow, Shadow: true, Routes: []string{"POST /refunds"}, Match: authz.Match{AnyPrincipal: true}})
	require.NoError(t, e.Update(p))
	d = e.Decide(t.Context(), nil, authz.Request{Method: "POST", Path: "/refunds"})
	assert.False(t, d.Allow)
	assert.True(t, d.ShadowAllow)
	assert.Equal(t, "trial-refunds", d.ShadowRuleID)
}

func TestExplain(t *testing.T) {
	e := shopEngine(t)
	tr := e.Explain(t.Context(), with(customer(), func(p *authn.Principal) { p.Roles = []string{"admin"} }), authz.Request{Method: "GET", Path: "/admin/debug/x"})
	assert.Equal(t, []string{"/admin/debug/", "/admin/{path...}"}, tr.Patterns)
	require.Len(t, tr.Steps, 1)
	assert.Equal(t, authz.Step{RuleID: "no-debug", Effect: authz.Forbid, Pattern: "/admin/debug/", Matched: true}, tr.Steps[0])

	tr = e.Explain(t.Context(), customer(), authz.Request{Method: "GET", Path: "/admin/users"})
	require.Len(t, tr.Steps, 1)
	assert.Equal(t, authz.ReasonInsufficientACR, tr.Steps[0].Reason)
	assert.Equal(t, tr.Decision, e.Decide(t.Context(), customer(), authz.Request{Method: "GET", Path: "/admin/users"}))
}

// TestDecisionLog locks the decision log lines and their levels: an allow
// at Debug, a denial at Info, an allow that a shadow rule would have denied
// at Info; never the subject, the path or a token.
func TestDecisionLog(t *testing.T) {
	eu := &authn.Principal{Peer: spiffeid.RequireFromPath(td, "/eu/web"), Subject: "cust-42", Scopes: []string{"orders:read"}}
	cases := []struct {
		name      string
		level     slog.Level
		principal *authn.Principal
		req       authz.Request
		want      string // "" for no record
	}{
		{
			name: "allow at Debug", level: slog.LevelDebug, principal: customer(), req: authz.Request{Method: "POST", Path: "/payments/secret-id/capture"},
			want: `{"level":"DEBUG","msg":"authz decision","allow":true,"reason":"allowed","rule_id":"checkout-pays",
				"pattern":"POST /payments/{id}/capture","method":"POST","client_id":"storefront","peer":"spiffe://shop.example/checkout"}`,
		},
		{
			name: "allow not logged at Info", level: slog.LevelInfo, principal: customer(), req: authz.Request{Method: "POST", Path: "/payments/secret-id/capture"},
		},
		{
			name: "deny at Info", level: slog.LevelInfo, principal: with(customer(), func(p *authn.Principal) { p.Scopes = nil }), req: authz.Request{Method: "POST", Path: "/payments/secret-id/capture"},
			want: `{"level":"INFO","msg":"authz decision","allow":false,"reason":"insufficient_scope","rule_id":"checkout-pays",
				"pattern":"POST /payments/{id}/capture","method":"POST","client_id":"storefront","peer":"spiffe://shop.example/checkout"}`,
		},
		{
			name: "shadow deny at Info", level: slog.LevelInfo, principal: eu, req: authz.Request{Method: "GET", Path: "/orders/secret-id"},
			want: `{"level":"INFO","msg":"authz decision","allow":true,"reason":"allowed","rule_id":"orders-read","pattern":"GET /orders/{id}","method":"GET",
				"peer":"spiffe://shop.example/eu/web","shadow_allow":false,"shadow_deny":true,"shadow_rule_id":"trial-block-eu","shadow_reason":"forbidden"}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tc.level, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}})
			e := shopEngine(t, authz.WithLogger(slog.New(h)))
			e.Decide(context.Background(), tc.principal, tc.req)
			if tc.want == "" {
				assert.Empty(t, buf.String())
				return
			}
			assert.JSONEq(t, tc.want, buf.String())
			assert.NotContains(t, buf.String(), "cust-42")
			assert.NotContains(t, buf.String(), "secret-id")
			var m map[string]any
			require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
		})
	}
}

func TestAuthorizer(t *testing.T) {
	var nilA authz.Authorizer
	assert.False(t, nilA.Decide(t.Context(), customer(), authz.Request{Method: "GET", Path: "/healthz"}).Allow)
	assert.False(t, authz.DenyAll().Decide(t.Context(), nil, authz.Request{Method: "GET", Path: "/healthz"}).Allow)
	a, err := authz.AuthorizePolicy(authz.Policy{Rules: []authz.Rule{{ID: "h", Effect: authz.Allow, Routes: []string{"GET /healthz"}, Match: authz.Match{AnyPrincipal: true}}}})
	require.NoError(t, err)
	assert.True(t, a.Decide(t.Context(), nil, authz.Request{Method: "GET", Path: "/healthz"}).Allow)
	_, err = authz.AuthorizePolicy(authz.Policy{Rules: []authz.Rule{{ID: "h", Effect: authz.Allow, Routes: []string{"GET /healthz"}}}})
	assert.ErrorIs(t, err, authz.ErrEmptyMatch)
	// A policy without rules would deny everything: refused; DenyAll says so on purpose.
	var zero authz.Policy
	_, err = authz.New(zero)
	assert.ErrorIs(t, err, authz.ErrNoRules)
	assert.Equal(t, authz.ReasonNoRule, authz.DenyAll().Decide(t.Context(), customer(), authz.Request{Method: "GET", Path: "/"}).Reason)
}
