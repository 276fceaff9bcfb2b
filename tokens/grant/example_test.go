package grant_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/grant"
)

// Checkout exchanges a customer's token for a DPoP-bound token for payments,
// naming itself as the actor with its JWT-SVID, and reuses the result for
// the customer's next call.
func ExampleExchanger() {
	// A token service: an RFC 8693 endpoint that checks the proof and binds
	// the token to its key (package tokens/sts is the real one).
	proofs, _ := dpop.NewVerifier()
	var requests atomic.Int64
	var tokenURL string
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		_, err := proofs.Verify(r.Context(), r.Header.Get("DPoP"), dpop.Request{Method: r.Method, URL: tokenURL})
		if err != nil || r.PostForm.Get("subject_token") != "customer-ada-token" || r.PostForm.Get("actor_token") != "checkout-jwt-svid" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": "payments-token-for-ada", "token_type": "DPoP", "expires_in": 300,
			"issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "scope": r.PostForm.Get("scope"),
		})
	}))
	defer sts.Close()
	tokenURL = sts.URL + "/token"

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	proofer, _ := dpop.NewProofer(key, "")
	x, err := grant.NewExchanger(tokenURL, "checkout", grant.TLSClientAuth(),
		grant.WithInsecureHTTP(), // the example's endpoint is plain HTTP on loopback
		grant.WithDPoP(proofer),
		grant.WithAudience("https://payments.shop.example"),
		grant.WithScopes("payments:charge"),
		grant.WithActorToken(func(ctx context.Context) (string, error) {
			return "checkout-jwt-svid", nil // jwtsvid.Source.FetchJWTSVID(ctx, …) in a workload
		}, ""))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer x.Close()

	for range 2 {
		tok, err := x.Exchange(context.Background(), "customer-ada-token")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(tok.TokenType, tok.AccessToken, tok.Scopes, tok.Expiry.Sub(tok.IssuedAt))
	}
	fmt.Println("token requests:", requests.Load())

	_, err = x.Exchange(context.Background(), "customer-eve-token")
	var refused *grant.Error
	if errors.As(err, &refused) {
		fmt.Println("refused:", refused.Code)
	}
	// Output:
	// DPoP payments-token-for-ada [payments:charge] 5m0s
	// DPoP payments-token-for-ada [payments:charge] 5m0s
	// token requests: 1
	// refused: invalid_grant
}

// A Source of client credentials serves code that expects an
// oauth2.TokenSource. (Send a DPoP token through dpop.Transport, which adds
// the proof; here the endpoint issues Bearer tokens to a client without a
// proofer.)
func ExampleSource_OAuth2() {
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		if id != "reports" || secret != "s3cr3t" || r.FormValue("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"reports-token","token_type":"bearer","expires_in":3600,"scope":"orders:read"}`))
	}))
	defer as.Close()

	secret := secrets.NewSecret(map[string]string{"client_secret": "s3cr3t"}, secrets.Lease{})
	cc, err := grant.NewClientCredentials(as.URL+"/token", "reports",
		grant.ClientSecretBasic(grant.StaticSecret{Secret: secret}, "client_secret"),
		grant.WithInsecureHTTP(), grant.WithScopes("orders:read"))
	if err != nil {
		fmt.Println(err)
		return
	}
	src, err := grant.NewSource(cc)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()

	tok, err := src.OAuth2().Token()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.Type(), tok.AccessToken, tok.ExpiresIn, tok.Valid())
	// Output:
	// Bearer reports-token 3600 true
}
