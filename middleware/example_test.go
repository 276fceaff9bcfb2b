package middleware_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/middleware"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// Protect a route with DPoP-bound access tokens. A request without a token
// is answered with 401 and a challenge naming the scheme, the realm and the
// proof algorithms the server accepts (RFC 9449 §7.1); the handler never
// runs.
func ExampleNew() {
	// The authorization server's key set; a resource server would use a
	// tokens.RemoteKeySet on the issuer's JWK Set.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fmt.Println(err)
		return
	}
	signingKey, err := tokens.NewSigningKey(key, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	keys, err := tokens.NewKeySet(signingKey)
	if err != nil {
		fmt.Println(err)
		return
	}
	tv, err := tokens.NewVerifier(keys, "https://id.shop.example", []string{"https://orders.shop.example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	pv, err := dpop.NewVerifier()
	if err != nil {
		fmt.Println(err)
		return
	}

	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	rv, err := dpop.NewRequestVerifier(tv, pv, dpop.WithExternalURL("http://"+srv.Listener.Addr().String()))
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := authn.New(authn.Policy{Token: authn.DPoPBoundToken}, authn.WithAccessTokens(rv))
	if err != nil {
		fmt.Println(err)
		return
	}
	auth, err := middleware.New(a, guard.WithRealm("shop"))
	if err != nil {
		fmt.Println(err)
		return
	}
	mux.Handle("POST /orders", auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := authn.PrincipalFromContext(r.Context())
		fmt.Fprintln(w, "order placed for", p.Subject)
	})))
	srv.Start()
	defer srv.Close()

	resp, err := srv.Client().Post(srv.URL+"/orders", "application/json", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status)
	fmt.Println("WWW-Authenticate:", resp.Header.Get("WWW-Authenticate"))
	fmt.Print(string(body))
	// Output:
	// 401 Unauthorized
	// WWW-Authenticate: DPoP realm="shop", algs="ES256 ES384 EdDSA Ed25519 PS256 RS256"
	// Unauthorized
}
