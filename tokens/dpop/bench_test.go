package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// benchRig is an issuer, a client key and a resource server's verifiers.
type benchRig struct {
	token   string
	proofer *dpop.Proofer
	rv      *dpop.RequestVerifier
	proofs  *dpop.Verifier
}

func newBenchRig(tb testing.TB, cacheSize int) *benchRig {
	tb.Helper()
	isk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err)
	sk, err := tokens.NewSigningKey(isk, "")
	require.NoError(tb, err)
	ks, err := tokens.NewKeySet(sk)
	require.NoError(tb, err)
	iss, err := tokens.NewIssuer("https://id.shop.example", ks)
	require.NoError(tb, err)
	csk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err)
	p, err := dpop.NewProofer(csk, "")
	require.NoError(tb, err)
	tok, err := iss.Issue(context.Background(), tokens.TokenRequest{
		Subject: "customer-42", ClientID: "storefront", Audience: []string{"https://checkout.shop.example"},
		Scopes: []string{"checkout:write"}, DPoPKeyThumbprint: p.Thumbprint(),
	})
	require.NoError(tb, err)
	tv, err := tokens.NewVerifier(ks, "https://id.shop.example", []string{"https://checkout.shop.example"}, tokens.WithCacheSize(cacheSize))
	require.NoError(tb, err)
	store, err := dpop.NewMemoryReplayStore(dpop.WithMaxEntries(1 << 20))
	require.NoError(tb, err)
	pv, err := dpop.NewVerifier(dpop.WithReplayStore(store))
	require.NoError(tb, err)
	rv, err := dpop.NewRequestVerifier(tv, pv, dpop.WithExternalURL("https://checkout.shop.example"))
	require.NoError(tb, err)
	return &benchRig{token: tok, proofer: p, rv: rv, proofs: pv}
}

func BenchmarkRequestVerify(b *testing.B) {
	for _, tc := range []struct {
		name  string
		cache int
	}{{"cold", 0}, {"cached-token", 1024}} {
		b.Run(tc.name, func(b *testing.B) {
			rig := newBenchRig(b, tc.cache)
			const n = 4096
			proofs := make([]string, n)
			for i := range proofs {
				var err error
				proofs[i], err = rig.proofer.Proof(dpop.ProofRequest{Method: "POST", URL: "https://checkout.shop.example/orders", AccessToken: rig.token})
				require.NoError(b, err)
			}
			req := httptest.NewRequest("POST", "https://checkout.shop.example/orders", nil)
			req.Header.Set("Authorization", "DPoP "+rig.token)
			dpopHeader := []string{""}
			req.Header["Dpop"] = dpopHeader
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == n {
					b.StopTimer()
					rig = newBenchRig(b, tc.cache)
					for j := range proofs {
						proofs[j], _ = rig.proofer.Proof(dpop.ProofRequest{Method: "POST", URL: "https://checkout.shop.example/orders", AccessToken: rig.token})
					}
					req.Header.Set("Authorization", "DPoP "+rig.token)
					i = 0
					b.StartTimer()
				}
				dpopHeader[0] = proofs[i]
				i++
				if _, err := rig.rv.Verify(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
