package sts_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/sts"
)

// Checkout exchanges a customer's access token for one to call payments,
// naming itself (by its JWT-SVID) as the actor and binding the new token to
// its DPoP key.
func Example() {
	ctx := context.Background()
	td := spiffeid.RequireTrustDomainFromString("shop.example")
	checkout := spiffeid.RequireFromPath(td, "/checkout")
	spiffe, err := spiffetest.New(ctx, td)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer spiffe.Close()

	// The identity service's keys and issuer; checkout verifies customer tokens with v.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sk, _ := tokens.NewSigningKey(key, "")
	keys, _ := tokens.NewKeySet(sk)
	issuer, _ := tokens.NewIssuer("https://id.shop.example", keys)
	v, _ := tokens.NewVerifier(keys, "https://id.shop.example", []string{"https://checkout.shop.example"})

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	endpoint := srv.URL + "/token"
	service, err := sts.New("https://id.shop.example", endpoint, issuer,
		sts.WithTokenExchange(v, sts.ActorPolicy{
			ID: checkout, Audiences: []string{"https://payments.shop.example"}, Scopes: []string{"payments:charge"},
		}),
		sts.WithJWTSVIDs(spiffe.JWTBundle(), "spiffe://shop.example/sts"))
	if err != nil {
		fmt.Println(err)
		return
	}
	mux.Handle("POST /token", service)

	// What checkout holds: the customer's token, its JWT-SVID for the token
	// service, and its DPoP key.
	customerToken, _ := issuer.Issue(ctx, tokens.TokenRequest{
		Subject: "customer-42", ClientID: "storefront", Audience: []string{"https://checkout.shop.example"},
		Scopes: []string{"orders:read", "payments:charge"},
		Actor:  &tokens.Actor{Subject: "spiffe://shop.example/storefront"},
	})
	svid, _ := spiffe.IssueJWTSVID(checkout, []string{"spiffe://shop.example/sts"})
	dpopKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	proofer, _ := dpop.NewProofer(dpopKey, "")
	proof, _ := proofer.Proof(dpop.ProofRequest{Method: http.MethodPost, URL: endpoint})

	form := url.Values{
		"grant_type":         {sts.GrantTypeTokenExchange},
		"subject_token":      {customerToken},
		"subject_token_type": {sts.TokenTypeAccessToken},
		"actor_token":        {svid},
		"actor_token_type":   {sts.TokenTypeJWT},
		"audience":           {"https://payments.shop.example"},
		"scope":              {"payments:charge"},
	}
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", proof)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken     string `json:"access_token"`
		TokenType       string `json:"token_type"`
		IssuedTokenType string `json:"issued_token_type"`
		Scope           string `json:"scope"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	fmt.Println("status:", resp.StatusCode)
	fmt.Println("token_type:", body.TokenType)
	fmt.Println("issued_token_type:", body.IssuedTokenType)
	fmt.Println("scope:", body.Scope)

	// Payments verifies the token and reads who acts for the customer.
	pv, _ := tokens.NewVerifier(keys, "https://id.shop.example", []string{"https://payments.shop.example"})
	claims, err := pv.Verify(ctx, body.AccessToken)
	if err != nil {
		fmt.Println(err)
		return
	}
	act, _ := json.Marshal(claims.Actor)
	fmt.Println("act:", string(act))
	fmt.Println("bound to the DPoP key:", claims.Confirmation.JKT == proofer.Thumbprint())
	// Output:
	// status: 200
	// token_type: DPoP
	// issued_token_type: urn:ietf:params:oauth:token-type:access_token
	// scope: payments:charge
	// act: {"sub":"spiffe://shop.example/checkout","act":{"sub":"spiffe://shop.example/storefront"}}
	// bound to the DPoP key: true
}
