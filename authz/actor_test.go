package authz_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/authz/authztest"
	"github.com/ztkit/ztkit/tokens"
)

// actorPolicy: payments accepts Charge only for a customer token acted on
// by checkout (RFC 8693 token exchange); refunds from any workload under
// /ops/; the legacy route by an actor pattern.
const actorPolicy = `{
  "rules": [
    {"id": "charge-for-customer", "effect": "allow", "routes": ["/shop.Payments/Charge"],
     "match": {"kind": "user", "actors": ["spiffe://shop.example/checkout"], "binding": "dpop"}},
    {"id": "refund-by-ops", "effect": "allow", "routes": ["/shop.Payments/Refund"],
     "match": {"actors": ["spiffe://shop.example/ops/**"]}},
    {"id": "legacy", "effect": "allow", "routes": ["/shop.Payments/Legacy"],
     "match": {"actors": ["spiffe://shop.example/*/checkout", "spiffe://partner.example"]}},
    {"id": "no-gateway", "effect": "forbid", "routes": ["/shop.Payments/Refund"],
     "match": {"actors": ["spiffe://shop.example/ops/gateway"]}}
  ]
}`

// actedOn is a customer principal whose token's act chain is subs, nearest first.
func actedOn(subs ...string) *authn.Principal {
	p := customer()
	for i := len(subs) - 1; i >= 0; i-- {
		p.Actor = &tokens.Actor{Subject: subs[i], Actor: p.Actor}
	}
	return p
}

func TestDecideActors(t *testing.T) {
	p, err := authz.Parse("actors.json", []byte(actorPolicy))
	require.NoError(t, err)
	e, err := authz.New(p)
	require.NoError(t, err)
	charge := authz.Request{GRPCMethod: "/shop.Payments/Charge"}
	refund := authz.Request{GRPCMethod: "/shop.Payments/Refund"}
	legacy := authz.Request{GRPCMethod: "/shop.Payments/Legacy"}
	const (
		checkoutID   = "spiffe://shop.example/checkout"
		storefrontID = "spiffe://shop.example/storefront"
	)
	authztest.Run(t, e, []authztest.Case{
		{Name: "acted on by checkout", Principal: actedOn(checkoutID), Request: charge, Allow: true, Reason: authz.ReasonAllowed, RuleID: "charge-for-customer"},
		{Name: "checkout with an issuer", Principal: with(actedOn(checkoutID), func(p *authn.Principal) { p.Actor.Issuer = "https://id.shop.example" }), Request: charge, Allow: true},
		{Name: "checkout acting after the storefront", Principal: actedOn(checkoutID, storefrontID), Request: charge, Allow: true},
		{Name: "no act", Principal: customer(), Request: charge, Reason: authz.ReasonActorMismatch, RuleID: "charge-for-customer"},
		{Name: "unauthenticated", Request: charge, Reason: authz.ReasonActorMismatch},
		{Name: "storefront acts", Principal: actedOn(storefrontID), Request: charge, Reason: authz.ReasonActorMismatch},
		// Only the current actor counts: checkout as a prior actor is not checkout acting.
		{Name: "checkout only a prior actor", Principal: actedOn(storefrontID, checkoutID), Request: charge, Reason: authz.ReasonActorMismatch},
		{Name: "actor not a SPIFFE ID", Principal: actedOn("checkout"), Request: charge, Reason: authz.ReasonActorMismatch},
		{Name: "actor with a query", Principal: actedOn(checkoutID + "?x"), Request: charge, Reason: authz.ReasonActorMismatch},
		{Name: "checkout sub-path is not checkout", Principal: actedOn(checkoutID + "/x"), Request: charge, Reason: authz.ReasonActorMismatch},
		{Name: "empty actor subject", Principal: actedOn(""), Request: charge, Reason: authz.ReasonActorMismatch},
		// The peer or JWT-SVID workload being checkout is not an act claim.
		{Name: "peer is not actor", Principal: with(customer(), func(p *authn.Principal) { p.Workload = spiffeid.RequireFromString(checkoutID) }), Request: charge, Reason: authz.ReasonActorMismatch},
		{Name: "actor then binding", Principal: with(actedOn(checkoutID), func(p *authn.Principal) { p.Binding = authn.NoBinding }), Request: charge, Reason: authz.ReasonBindingRequired},
		{Name: "prefix matches the prefix itself", Principal: actedOn("spiffe://shop.example/ops"), Request: refund, Allow: true, RuleID: "refund-by-ops"},
		{Name: "prefix matches below", Principal: actedOn("spiffe://shop.example/ops/eu/refunder"), Request: refund, Allow: true},
		{Name: "prefix is by segment", Principal: actedOn("spiffe://shop.example/opsx"), Request: refund, Reason: authz.ReasonActorMismatch},
		{Name: "forbid by actor", Principal: actedOn("spiffe://shop.example/ops/gateway"), Request: refund, Reason: authz.ReasonForbidden, RuleID: "no-gateway"},
		{Name: "forbid only the current actor", Principal: actedOn("spiffe://shop.example/ops/refunder", "spiffe://shop.example/ops/gateway"), Request: refund, Allow: true},
		{Name: "glob one segment", Principal: actedOn("spiffe://shop.example/eu/checkout"), Request: legacy, Allow: true, RuleID: "legacy"},
		{Name: "glob not two segments", Principal: actedOn("spiffe://shop.example/eu/x/checkout"), Request: legacy, Reason: authz.ReasonActorMismatch},
		{Name: "trust domain", Principal: actedOn("spiffe://partner.example/anything"), Request: legacy, Allow: true},
		{Name: "other trust domain", Principal: actedOn("spiffe://evil.example/checkout"), Request: legacy, Reason: authz.ReasonActorMismatch},
	})
}

func TestExplainActors(t *testing.T) {
	p, err := authz.Parse("actors.json", []byte(actorPolicy))
	require.NoError(t, err)
	e, err := authz.New(p)
	require.NoError(t, err)
	tr := e.Explain(t.Context(), actedOn("spiffe://shop.example/storefront", "spiffe://shop.example/checkout"), authz.Request{GRPCMethod: "/shop.Payments/Charge"})
	require.Len(t, tr.Steps, 1)
	assert.Equal(t, authz.Step{RuleID: "charge-for-customer", Effect: authz.Allow, Pattern: "/shop.Payments/Charge", Reason: authz.ReasonActorMismatch}, tr.Steps[0])
	assert.Equal(t, authz.ReasonActorMismatch, tr.Decision.Reason)
}

func TestParseActorsErrors(t *testing.T) {
	for name, tc := range map[string]struct{ doc, msg string }{
		"not spiffe":   {`{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"actors": ["checkout"]}}]}`, "match.actors[0]"},
		"bad glob":     {`{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"actors": ["spiffe://td/a/**/b"]}}]}`, "match.actors[0]"},
		"second entry": {`{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"actors": ["spiffe://td/a", "spiffe://TD/a"]}}]}`, "match.actors[1]"},
		"empty entry":  {`{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"actors": [""]}}]}`, "match.actors[0]"},
		"not a list":   {`{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"actors": "spiffe://td/a"}}]}`, ""},
		"upper case":   {`{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"Actors": ["spiffe://td/a"]}}]}`, "keys are lower case"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := authz.Parse("bad.json", []byte(tc.doc))
			assert.ErrorIs(t, err, authz.ErrInvalidPolicy)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
	t.Run("actors alone make a non-empty allow", func(t *testing.T) {
		_, err := authz.New(authz.Policy{Rules: []authz.Rule{{ID: "r", Effect: authz.Allow, Routes: []string{"/"}, Match: authz.Match{Actors: []string{"spiffe://td/a"}}}}})
		assert.NoError(t, err)
	})
}

func TestDecisionLogActor(t *testing.T) {
	p, err := authz.Parse("actors.json", []byte(actorPolicy))
	require.NoError(t, err)
	var buf bytes.Buffer
	e, err := authz.New(p, authz.WithLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))))
	require.NoError(t, err)
	e.Decide(context.Background(), actedOn("spiffe://shop.example/storefront", "spiffe://shop.example/checkout"), authz.Request{GRPCMethod: "/shop.Payments/Charge"})
	assert.JSONEq(t, `{"level":"INFO","msg":"authz decision","allow":false,"reason":"actor_mismatch","rule_id":"charge-for-customer",
		"pattern":"/shop.Payments/Charge","method":"POST","client_id":"storefront","peer":"spiffe://shop.example/checkout",
		"actor":"spiffe://shop.example/storefront"}`, buf.String())
	buf.Reset()
	e.Decide(context.Background(), actedOn("admin@example.com"), authz.Request{GRPCMethod: "/shop.Payments/Charge"})
	assert.NotContains(t, buf.String(), "admin@example.com")
	assert.NotContains(t, buf.String(), "cust-42")
}
