package authz_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
)

// benchPolicy has n rules over n/2 services, each an allow and a forbid,
// plus the checkout rule the benchmark hits.
func benchPolicy(n int) authz.Policy {
	p := authz.Policy{ACRLevels: []string{"pwd", "mfa", "phr"}}
	p.Rules = append(p.Rules, authz.Rule{ID: "checkout-pays", Effect: authz.Allow, Routes: []string{"POST /payments/{id}/capture"},
		Match: authz.Match{Peers: []string{"spiffe://shop.example/checkout"}, Kind: authz.RequireUser, AllScopes: []string{"payments:write"},
			MinACR: "mfa", MaxAuthAge: authz.Duration(15 * 60e9), Binding: authz.RequireDPoP}})
	for i := 1; len(p.Rules) < n; i++ {
		svc := fmt.Sprintf("svc%d", i)
		p.Rules = append(p.Rules,
			authz.Rule{ID: svc + "-read", Effect: authz.Allow, Routes: []string{"GET /" + svc + "/{id}"},
				Match: authz.Match{Peers: []string{"spiffe://shop.example/" + svc}, AnyScopes: []string{svc + ":read"}}},
			authz.Rule{ID: svc + "-no-admin", Effect: authz.Forbid, Routes: []string{"/" + svc + "/admin/"}, Match: authz.Match{Kind: authz.RequireUser}})
	}
	p.Rules = p.Rules[:n]
	return p
}

func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			e, err := authz.New(benchPolicy(n), authz.WithClock(func() time.Time { return fixedNow }))
			require.NoError(b, err)
			p := customer()
			req := authz.Request{Method: "POST", Path: "/payments/p-123/capture"}
			require.True(b, e.Decide(b.Context(), p, req).Allow)
			b.ReportAllocs()
			for b.Loop() {
				if !e.Decide(b.Context(), p, req).Allow {
					b.Fatal("denied")
				}
			}
		})
	}
	b.Run("deny/rules=1000", func(b *testing.B) {
		e, err := authz.New(benchPolicy(1000))
		require.NoError(b, err)
		p := &authn.Principal{Peer: checkout}
		req := authz.Request{Method: "GET", Path: "/svc7/123"}
		b.ReportAllocs()
		for b.Loop() {
			e.Decide(b.Context(), p, req)
		}
	})
}
