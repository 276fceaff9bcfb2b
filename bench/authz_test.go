package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/casbin/casbin/v2"
	casbinmodel "github.com/casbin/casbin/v2/model"
	"github.com/cedar-policy/cedar-go"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
)

// The authz benchmark gives ztkit's authz engine and each competitor the same
// policy of n rules. Rule i lets the workload spiffe://shop.example/svc-i call
// POST /api/svc-i/orders/{id} (one path segment for {id}) with a token that
// grants the scope orders:write. Every engine decides from the same inputs, an
// *authn.Principal and an authz.Request; converting them to the engine's own
// request (OPA's input document, Cedar's request, Casbin's arguments) is part
// of what is timed, as it is part of what a service pays per request.

const (
	authzTrustDomain = "shop.example"
	authzScope       = "orders:write"
)

// authzSizes are the policy sizes issue 5 asks for.
func authzSizes() []int { return []int{10, 1000, 10000} }

func authzService(i int) string { return fmt.Sprintf("svc-%d", i) }

func authzPeer(i int) string {
	return "spiffe://" + authzTrustDomain + "/" + authzService(i)
}

// authzDecide decides one request; every engine is one, and the equivalence
// test and the benchmark call the same value.
type authzDecide func(ctx context.Context, p *authn.Principal, req authz.Request) bool

type namedAuthz struct {
	name   string
	decide authzDecide
}

// authzEngines builds ztkit and its competitors over the policy of n rules,
// plus the map floor.
func authzEngines(tb testing.TB, n int) []namedAuthz {
	tb.Helper()
	return []namedAuthz{
		{"ztkit", ztkitAuthz(tb, n)},
		{"cedar-go", cedarAuthz(tb, n)},
		{"opa", opaAuthz(tb, n)},
		{"casbin", casbinAuthz(tb, n)},
		{"map-floor", floorAuthz(n)},
	}
}

// ztkitAuthz is authz.Engine.Decide on n rules, one per route.
func ztkitAuthz(tb testing.TB, n int) authzDecide {
	tb.Helper()
	p := authz.Policy{Rules: make([]authz.Rule, 0, n)}
	for i := range n {
		svc := authzService(i)
		p.Rules = append(p.Rules, authz.Rule{
			ID:     svc + "-orders",
			Effect: authz.Allow,
			Routes: []string{"POST /api/" + svc + "/orders/{id}"},
			Match:  authz.Match{Peers: []string{authzPeer(i)}, AllScopes: []string{authzScope}},
		})
	}
	e, err := authz.New(p)
	require.NoError(tb, err)
	return func(ctx context.Context, p *authn.Principal, req authz.Request) bool {
		return e.Decide(ctx, p, req).Allow
	}
}

// cedarAuthz is cedar.PolicySet.IsAuthorized on n permit policies. The
// principal is the peer, the action the method, the resource the shop API;
// the path and the scopes go in the context. Cedar's like has no
// one-segment wildcard ("*" also matches "/"), so each policy rules out a
// second segment explicitly, as {id} does.
func cedarAuthz(tb testing.TB, n int) authzDecide {
	tb.Helper()
	var src strings.Builder
	for i := range n {
		svc := authzService(i)
		fmt.Fprintf(&src, `@id(%q)
permit (
  principal == Workload::%q,
  action == Action::"POST",
  resource == Api::"shop"
) when {
  context.path like "/api/%s/orders/*" &&
  !(context.path like "/api/%s/orders/*/*") &&
  context.scopes.contains(%q)
};
`, svc+"-orders", authzPeer(i), svc, svc, authzScope)
	}
	ps, err := cedar.NewPolicySetFromBytes("authz.cedar", []byte(src.String()))
	require.NoError(tb, err)
	entities := cedar.EntityMap{}
	shop := cedar.NewEntityUID("Api", "shop")
	return func(_ context.Context, p *authn.Principal, req authz.Request) bool {
		scopes := make([]cedar.Value, len(p.Scopes))
		for i, s := range p.Scopes {
			scopes[i] = cedar.String(s)
		}
		d, _ := cedar.Authorize(ps, entities, cedar.Request{
			Principal: cedar.NewEntityUID("Workload", cedar.String(p.Peer.String())),
			Action:    cedar.NewEntityUID("Action", cedar.String(req.Method)),
			Resource:  shop,
			Context: cedar.NewRecord(cedar.RecordMap{
				"path":   cedar.String(req.Path),
				"scopes": cedar.NewSet(scopes...),
			}),
		})
		return d == cedar.Allow
	}
}

// opaAuthz is OPA's rego.PreparedEvalQuery.Eval of data.authz.allow, with
// n allow rule bodies prepared once. glob.match with "/" as delimiter
// makes "*" match one path segment, as {id} does. The equality tests on
// input.method and input.peer and the glob.match are the shapes OPA's rule
// index handles, so OPA does not evaluate every rule body.
func opaAuthz(tb testing.TB, n int) authzDecide {
	tb.Helper()
	var src strings.Builder
	src.WriteString("package authz\n\ndefault allow := false\n")
	for i := range n {
		fmt.Fprintf(&src, `
allow if {
	input.method == "POST"
	input.peer == %q
	glob.match("/api/%s/orders/*", ["/"], input.path)
	%q in input.scopes
}
`, authzPeer(i), authzService(i), authzScope)
	}
	pq, err := rego.New(
		rego.Query("data.authz.allow"),
		rego.Module("authz.rego", src.String()),
	).PrepareForEval(context.Background())
	require.NoError(tb, err)
	return func(ctx context.Context, p *authn.Principal, req authz.Request) bool {
		rs, err := pq.Eval(ctx, rego.EvalInput(map[string]any{
			"method": req.Method,
			"path":   req.Path,
			"peer":   p.Peer.String(),
			"scopes": p.Scopes,
		}))
		return err == nil && rs.Allowed()
	}
}

// casbinModel matches a request (peer, path, method, scopes) against policy
// lines (peer, path pattern, method, scope); keyMatch2's ":id" matches one
// path segment, as {id} does.
const casbinModel = `
[request_definition]
r = sub, obj, act, scopes

[policy_definition]
p = sub, obj, act, scope

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub == p.sub && r.act == p.act && keyMatch2(r.obj, p.obj) && p.scope in r.scopes
`

// casbinAuthz is casbin.Enforcer.Enforce with the model above, built in
// memory, and n policy lines.
func casbinAuthz(tb testing.TB, n int) authzDecide {
	tb.Helper()
	m, err := casbinmodel.NewModelFromString(casbinModel)
	require.NoError(tb, err)
	e, err := casbin.NewEnforcer(m)
	require.NoError(tb, err)
	rules := make([][]string, 0, n)
	for i := range n {
		rules = append(rules, []string{authzPeer(i), "/api/" + authzService(i) + "/orders/:id", "POST", authzScope})
	}
	ok, err := e.AddPolicies(rules)
	require.NoError(tb, err)
	require.True(tb, ok)
	return func(_ context.Context, p *authn.Principal, req authz.Request) bool {
		scopes := make([]any, len(p.Scopes))
		for i, s := range p.Scopes {
			scopes[i] = s
		}
		ok, err := e.Enforce(p.Peer.String(), req.Path, req.Method, scopes)
		return err == nil && ok
	}
}

// floorAuthz is what no engine can go below: the one map lookup (service
// name to its rule) of code written by hand for this one policy shape, with
// the path split around it and the rule's peer and scope compared.
func floorAuthz(n int) authzDecide {
	type rule struct{ peer, scope string }
	rules := make(map[string]rule, n)
	for i := range n {
		rules[authzService(i)] = rule{authzPeer(i), authzScope}
	}
	return func(_ context.Context, p *authn.Principal, req authz.Request) bool {
		if p == nil || req.Method != "POST" {
			return false
		}
		rest, ok := strings.CutPrefix(req.Path, "/api/")
		if !ok {
			return false
		}
		svc, rest, ok := strings.Cut(rest, "/")
		if !ok {
			return false
		}
		id, ok := strings.CutPrefix(rest, "orders/")
		if !ok || id == "" || strings.IndexByte(id, '/') >= 0 {
			return false
		}
		r, ok := rules[svc]
		return ok && p.Peer.String() == r.peer && slices.Contains(p.Scopes, r.scope)
	}
}

// authzCase is one request with the decision every engine must reach.
type authzCase struct {
	name  string
	p     *authn.Principal
	req   authz.Request
	allow bool
}

// authzCases returns, for a policy of n rules, the allowed request (the
// rule in the middle of the list) and requests each engine must deny.
func authzCases(tb testing.TB, n int) []authzCase {
	tb.Helper()
	mid := n / 2
	svc := authzService(mid)
	principal := func(peer string, scopes ...string) *authn.Principal {
		p := &authn.Principal{
			Issuer:   "https://idp.shop.example",
			Subject:  "svc-" + svc,
			ClientID: svc,
			Audience: []string{"https://api.shop.example"},
			Scopes:   scopes,
			Binding:  authn.BoundToCertificate,
			Kind:     authn.WorkloadKind,
			Methods:  authn.MethodMTLS | authn.MethodBearer,
		}
		if peer != "" {
			p.Peer = spiffeid.RequireFromString(peer)
		}
		return p
	}
	caller := principal(authzPeer(mid), "orders:read", authzScope, "payments:read")
	order := authz.Request{Method: "POST", Path: "/api/" + svc + "/orders/o-1234"}
	return []authzCase{
		{"allow", caller, order, true},
		// Benchmarked: the route's rule, but the token lacks the scope.
		{"deny-scope", principal(authzPeer(mid), "orders:read", "payments:read"), order, false},
		// Benchmarked: a route no rule names.
		{"deny-route", caller, authz.Request{Method: "POST", Path: "/api/" + svc + "/refunds/r-1"}, false},
		{"deny-peer", principal(authzPeer(mid+1), "orders:read", authzScope), order, false},
		{"deny-foreign-domain", principal("spiffe://evil.example/"+svc, authzScope), order, false},
		{"deny-no-peer", principal("", authzScope), order, false},
		{"deny-method", caller, authz.Request{Method: "GET", Path: order.Path}, false},
		{"deny-extra-segment", caller, authz.Request{Method: "POST", Path: order.Path + "/items"}, false},
		{"deny-unknown-service", principal(authzPeer(n), authzScope), authz.Request{Method: "POST", Path: "/api/" + authzService(n) + "/orders/o-1"}, false},
	}
}

// authzBenchmarked are the cases BenchmarkAuthz times.
func authzBenchmarked() []string { return []string{"allow", "deny-scope", "deny-route"} }

// TestAuthzEquivalence checks that every engine benchmarked reaches the
// expected decision on every case, for every policy size, so that the
// benchmark compares engines doing the same work.
func TestAuthzEquivalence(t *testing.T) {
	for _, n := range authzSizes() {
		t.Run(fmt.Sprintf("rules=%d", n), func(t *testing.T) {
			engines := authzEngines(t, n)
			for _, c := range authzCases(t, n) {
				t.Run(c.name, func(t *testing.T) {
					for _, e := range engines {
						if got := e.decide(t.Context(), c.p, c.req); got != c.allow {
							t.Errorf("%s: allow = %v, want %v", e.name, got, c.allow)
						}
					}
				})
			}
		})
	}
}

// BenchmarkAuthz times one decision per op for each policy size, case and
// engine: BenchmarkAuthz/rules=1000/allow/ztkit.
func BenchmarkAuthz(b *testing.B) {
	for _, n := range authzSizes() {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			engines := authzEngines(b, n)
			cases := authzCases(b, n)
			for _, name := range authzBenchmarked() {
				i := slices.IndexFunc(cases, func(c authzCase) bool { return c.name == name })
				require.GreaterOrEqual(b, i, 0, name)
				c := cases[i]
				b.Run(name, func(b *testing.B) {
					for _, e := range engines {
						b.Run(e.name, func(b *testing.B) {
							ctx := context.Background()
							require.Equal(b, c.allow, e.decide(ctx, c.p, c.req))
							b.ReportAllocs()
							cpu := startCPU()
							for b.Loop() {
								if e.decide(ctx, c.p, c.req) != c.allow {
									b.Fatal("wrong decision")
								}
							}
							cpu.report(b)
						})
					}
				})
			}
		})
	}
}
