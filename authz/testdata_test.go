package authz_test

import (
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/ztkit/ztkit/authn"
)

// shopPolicy is the running example: checkout pays with a customer's
// DPoP-bound MFA token; admins need a hardware key; debug is forbidden.
const shopPolicy = `{
  "acr_levels": ["pwd", "mfa", "phr"],
  "rules": [
    {
      "id": "checkout-pays",
      "effect": "allow",
      "routes": ["POST /payments", "POST /payments/{id}/capture"],
      "match": {
        "peers": ["spiffe://shop.example/checkout"],
        "kind": "user",
        "all_scopes": ["payments:write"],
        "min_acr": "mfa",
        "max_auth_age": "15m",
        "binding": "dpop"
      }
    },
    {"id": "orders-read", "effect": "allow", "routes": ["GET /orders/{id}"],
     "match": {"peers": ["spiffe://shop.example/**"], "any_scopes": ["orders:read", "orders:admin"]}},
    {"id": "admin", "effect": "allow", "routes": ["/admin/{path...}"],
     "match": {"kind": "user", "roles": ["admin"], "amr": ["hwk"], "min_acr": "phr"}},
    {"id": "no-debug", "effect": "forbid", "routes": ["/admin/debug/"], "match": {}},
    {"id": "grpc-charge", "effect": "allow", "routes": ["/shop.Payments/Charge"],
     "match": {"workloads": ["spiffe://shop.example/*/checkout"], "client_ids": ["checkout"], "binding": "bound"}},
    {"id": "health", "effect": "allow", "routes": ["GET /healthz"], "match": {"any_principal": true}},
    {"id": "trial-block-eu", "effect": "forbid", "shadow": true, "routes": ["GET /orders/{id}"],
     "match": {"peers": ["spiffe://shop.example/eu/**"]}}
  ]
}`

var (
	td       = spiffeid.RequireTrustDomainFromString("shop.example")
	checkout = spiffeid.RequireFromPath(td, "/checkout")
	fixedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
)

func customer() *authn.Principal {
	return &authn.Principal{
		Peer: checkout, Subject: "cust-42", ClientID: "storefront", Kind: authn.UserKind,
		Scopes: []string{"openid", "payments:write"}, ACR: "mfa", AMR: []string{"pwd", "otp"},
		AuthTime: fixedNow.Add(-5 * time.Minute), Binding: authn.BoundToDPoPKey,
		Methods: authn.MethodMTLS | authn.MethodDPoP,
	}
}

func with(p *authn.Principal, f func(*authn.Principal)) *authn.Principal { f(p); return p }
