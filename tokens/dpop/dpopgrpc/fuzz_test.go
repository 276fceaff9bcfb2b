package dpopgrpc_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/credentials"

	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/tokens/dpop/dpopgrpc"
)

// FuzzGetRequestMetadata: whatever method and uri grpc-go hands the
// credentials, they either refuse with ErrUnknownTarget or make exactly the
// two metadata values, with a proof for htm POST whose htu is the https
// origin of uri plus the method, unchanged, with no query or fragment.
func FuzzGetRequestMetadata(f *testing.F) {
	for _, s := range [][2]string{
		{"/grpc.health.v1.Health/Check", "https://payments.shop.example/grpc.health.v1.Health"},
		{"/shop.payments.v1.Payments/Charge", "https://127.0.0.1:8443/shop.payments.v1.Payments"},
		{"/s/m", "https://[::1]:1/s"},
		{"/s/m?x", "https://a/s"},
		{"/s/../m", "https://a/s"},
		{"/s/m", "https://u@a/s"},
		{"/s/m", "http://a/s"},
		{"//m", "https://a"},
		{"/s/m#f", "https://a:99999/s"},
	} {
		f.Add(s[0], s[1])
	}
	tk := shoprig.NewTokens(f)
	token := tk.Token(f, nil)
	c, err := dpopgrpc.NewPerRPCCredentials(shoprig.StaticToken(token), tk.Proofer)
	if err != nil {
		f.Fatal(err)
	}
	secure := credentials.TLSInfo{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}
	f.Fuzz(func(t *testing.T, method, uri string) {
		ctx := credentials.NewContextWithRequestInfo(context.Background(), credentials.RequestInfo{Method: method, AuthInfo: secure})
		md, err := c.GetRequestMetadata(ctx, uri)
		if err != nil {
			if md != nil {
				t.Fatal("metadata with an error")
			}
			return
		}
		if len(md) != 2 || md["authorization"] != "DPoP "+token || md["dpop"] == "" {
			t.Fatal("unexpected metadata keys or authorization value")
		}
		_, htm, htu, _ := proofClaims(md["dpop"])
		rest := strings.TrimPrefix(uri, "https://")
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i]
		}
		if htm != "POST" || htu != "https://"+rest+method {
			t.Fatalf("proof for %q %q, want POST and the uri's origin plus the method", htm, htu)
		}
		if strings.ContainsAny(htu, "?# ") || strings.Contains(rest, "@") || strings.Contains(method, "/./") || strings.Contains(method, "/../") {
			t.Fatalf("htu %q has a query, fragment, space, userinfo or dot segment", htu)
		}
	})
}
