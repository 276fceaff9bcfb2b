package authz_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
)

// A policy written in Go: checkout may call POST /payments only with a
// customer's DPoP-bound token carrying payments:write and acr ≥ mfa.
func ExampleNew() {
	eng, err := authz.New(authz.Policy{
		ACRLevels: []string{"pwd", "mfa", "phr"},
		Rules: []authz.Rule{{
			ID:     "checkout-pays",
			Effect: authz.Allow,
			Routes: []string{"POST /payments"},
			Match: authz.Match{
				Peers:     []string{"spiffe://shop.example/checkout"},
				Kind:      authz.RequireUser,
				AllScopes: []string{"payments:write"},
				MinACR:    "mfa",
				Binding:   authz.RequireDPoP,
			},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := &authn.Principal{
		Peer:    spiffeid.RequireFromString("spiffe://shop.example/checkout"),
		Kind:    authn.UserKind,
		Scopes:  []string{"payments:write"},
		ACR:     "mfa",
		Binding: authn.BoundToDPoPKey,
	}
	req := authz.Request{Method: "POST", Path: "/payments"}
	d := eng.Decide(context.Background(), p, req)
	fmt.Println(d.Allow, d.Reason, d.RuleID)

	p.Scopes = []string{"openid"}
	d = eng.Decide(context.Background(), p, req)
	fmt.Println(d.Allow, d.Reason, d.MissingScopes)

	d = eng.Decide(context.Background(), p, authz.Request{Method: "DELETE", Path: "/payments"})
	fmt.Println(d.Allow, d.Reason)
	// Output:
	// true allowed checkout-pays
	// false insufficient_scope [payments:write]
	// false no_rule
}

// Errors name the file, the line, the rule and the field.
func ExampleParse() {
	_, err := authz.Parse("authz.json", []byte(`{
  "acr_levels": ["pwd", "mfa"],
  "rules": [
    {"id": "admin", "effect": "allow", "routes": ["/admin/{path...}"],
     "match": {"roles": ["admin"], "min_acr": "phr"}}
  ]
}`))
	fmt.Println(err)
	// Output:
	// authz: authz.json:5: rule "admin" (#0): match.min_acr: acr value not in acr_levels: "phr"
}

// Explain shows every rule considered and why it did not match.
func ExampleEngine_Explain() {
	p, _ := authz.Parse("authz.json", []byte(`{
  "acr_levels": ["pwd", "mfa", "phr"],
  "rules": [
    {"id": "no-debug", "effect": "forbid", "routes": ["/admin/debug/"], "match": {}},
    {"id": "admin", "effect": "allow", "routes": ["/admin/{path...}"],
     "match": {"roles": ["admin"], "amr": ["hwk"], "min_acr": "phr", "max_auth_age": "10m"}}
  ]
}`))
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	eng, _ := authz.New(p, authz.WithClock(func() time.Time { return now }))
	admin := &authn.Principal{Roles: []string{"admin"}, ACR: "phr", AMR: []string{"pwd"}, AuthTime: now.Add(-time.Minute)}
	t := eng.Explain(context.Background(), admin, authz.Request{Method: "GET", Path: "/admin/users"})
	fmt.Println(t.Patterns)
	for _, s := range t.Steps {
		fmt.Println(s.Effect, s.RuleID, s.Matched, s.Reason)
	}
	fmt.Println(t.Decision.Allow, t.Decision.Reason)
	// Output:
	// [/admin/{path...}]
	// allow admin false insufficient_amr
	// false insufficient_amr
}

// Mount the explain endpoint on an operators' listener, behind the
// authentication middleware, so that "why was I refused?" is answered for
// the principal actually calling. Nothing serves it unless a service does
// this.
func ExampleExplainHandler() {
	eng, err := authz.New(authz.Policy{Rules: []authz.Rule{{
		ID: "read-orders", Effect: authz.Allow, Routes: []string{"GET /orders/{id}"},
		Match: authz.Match{AllScopes: []string{"orders:read"}},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	admin := http.NewServeMux()
	admin.Handle("GET /debug/authz", authz.ExplainHandler(eng)) // wrap admin in middleware.New(...) in a service

	rec := httptest.NewRecorder()
	admin.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/authz?method=GET&path=/orders/7", nil))
	var trace struct {
		Decision struct {
			Allow  bool
			Reason string
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &trace); err != nil {
		log.Fatal(err)
	}
	fmt.Println(trace.Decision.Allow, trace.Decision.Reason)
	// Output: false insufficient_scope
}
