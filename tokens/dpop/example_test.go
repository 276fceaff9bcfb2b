package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// A client makes a fresh proof for each request. The proof is a JWS whose
// header carries the client's public key and whose claims name the request
// (RFC 9449 §4.2).
func ExampleProofer_Proof() {
	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := dpop.NewProofer(clientKey, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	proof, err := p.Proof(dpop.ProofRequest{
		Method:      "POST",
		URL:         "https://checkout.shop.example/orders?draft=1", // the query is left out of htu
		AccessToken: "the access token",
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	parts := strings.Split(proof, ".")
	var header struct {
		Typ string         `json:"typ"`
		Alg string         `json:"alg"`
		JWK map[string]any `json:"jwk"`
	}
	var claims map[string]any
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := json.Unmarshal(b, v); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println("typ:", header.Typ)
	fmt.Println("alg:", header.Alg)
	fmt.Println("jwk:", slices.Sorted(maps.Keys(header.JWK)))
	fmt.Println("claims:", slices.Sorted(maps.Keys(claims)))
	fmt.Println("htu:", claims["htu"])
	// Output:
	// typ: dpop+jwt
	// alg: ES256
	// jwk: [crv kty x y]
	// claims: [ath htm htu iat jti]
	// htu: https://checkout.shop.example/orders
}

// exampleService is an authorization server's issuer and a resource server's
// token verifier, sharing one key set.
func exampleService() (*tokens.Issuer, *tokens.Verifier, error) {
	issuerKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sk, err := tokens.NewSigningKey(issuerKey, "")
	if err != nil {
		return nil, nil, err
	}
	keys, err := tokens.NewKeySet(sk)
	if err != nil {
		return nil, nil, err
	}
	iss, err := tokens.NewIssuer("https://id.shop.example", keys)
	if err != nil {
		return nil, nil, err
	}
	tv, err := tokens.NewVerifier(keys, "https://id.shop.example", []string{"https://checkout.shop.example"})
	if err != nil {
		return nil, nil, err
	}
	return iss, tv, nil
}

// exampleToken is a tokens.Issuer used as a dpop.TokenSource, for the example.
type exampleToken struct {
	iss *tokens.Issuer
	jkt string
}

func (s exampleToken) AccessToken(ctx context.Context) (string, error) {
	return s.iss.Issue(ctx, tokens.TokenRequest{
		Subject: "customer-42", ClientID: "storefront", Audience: []string{"https://checkout.shop.example"},
		DPoPKeyThumbprint: s.jkt,
	})
}

// A client sends DPoP-bound requests through a Transport. The resource server
// here requires nonces (RFC 9449 §9): the Transport answers its use_dpop_nonce
// challenge by retrying once with the nonce, transparently.
func ExampleTransport() {
	iss, tv, err := exampleService()
	if err != nil {
		fmt.Println(err)
		return
	}
	nonces, err := dpop.NewNonces([]byte("example-only secret, 32+ bytes, shared by all replicas"))
	if err != nil {
		fmt.Println(err)
		return
	}
	proofs, err := dpop.NewVerifier(dpop.WithNonces(nonces))
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewUnstartedServer(nil)
	defer srv.Close()
	rv, err := dpop.NewRequestVerifier(tv, proofs, dpop.WithExternalURL("http://"+srv.Listener.Addr().String()))
	if err != nil {
		fmt.Println(err)
		return
	}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := rv.Verify(r.Context(), r)
		var nonceErr *dpop.NonceError
		switch {
		case errors.As(err, &nonceErr):
			w.Header().Set("DPoP-Nonce", nonceErr.Nonce)
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
			w.WriteHeader(http.StatusUnauthorized)
		case err != nil:
			w.Header().Set("WWW-Authenticate", `DPoP error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
		default:
			fmt.Fprintf(w, "hello %s", res.Claims.Subject)
		}
	})
	srv.Start()

	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := dpop.NewProofer(clientKey, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &http.Client{Transport: &dpop.Transport{
		Base:    srv.Client().Transport,
		Proofer: p,
		Token:   exampleToken{iss: iss, jkt: p.Thumbprint()},
	}}
	resp, err := client.Get(srv.URL + "/orders")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status)
	fmt.Println(string(body))
	// Output:
	// 200 OK
	// hello customer-42
}

// A resource server checks the access token and its DPoP proof together.
func ExampleRequestVerifier_Verify() {
	iss, tv, err := exampleService()
	if err != nil {
		fmt.Println(err)
		return
	}
	// The client's key, and a token bound to it (RFC 9449 §6.1).
	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := dpop.NewProofer(clientKey, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	token, err := exampleToken{iss: iss, jkt: p.Thumbprint()}.AccessToken(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	proof, err := p.Proof(dpop.ProofRequest{Method: "POST", URL: "https://checkout.shop.example/orders", AccessToken: token})
	if err != nil {
		fmt.Println(err)
		return
	}
	r := httptest.NewRequest("POST", "/orders", strings.NewReader(`{"item":"sku-1"}`))
	r.Header.Set("Authorization", "DPoP "+token)
	r.Header.Set("DPoP", proof)

	// The resource server.
	proofs, err := dpop.NewVerifier()
	if err != nil {
		fmt.Println(err)
		return
	}
	rv, err := dpop.NewRequestVerifier(tv, proofs, dpop.WithExternalURL("https://checkout.shop.example"))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := rv.Verify(r.Context(), r)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("subject:", res.Claims.Subject)
	fmt.Println("proof key is cnf.jkt:", res.Proof.KeyThumbprint == res.Claims.Confirmation.JKT)

	// The same proof a second time is a replay.
	_, err = rv.Verify(r.Context(), r)
	fmt.Println(errors.Is(err, dpop.ErrReplayed))
	// Output:
	// subject: customer-42
	// proof key is cnf.jkt: true
	// true
}

// An authorization server checks the proof of a token request (RFC 9449 §5).
// This is the example proof of RFC 9449 §4.1, verbatim, checked at the
// instant it was made; its key's thumbprint is the jkt of §6.1.
func ExampleVerifier_Verify() {
	const proof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik" +
		"VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR" +
		"nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE" +
		"QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIj" +
		"oiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwia" +
		"WF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg" +
		"4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"
	// In production: no WithClock.
	clock := dpop.WithClock(func() time.Time { return time.Unix(1562262616, 0) })
	store, err := dpop.NewMemoryReplayStore(clock)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := dpop.NewVerifier(clock, dpop.WithReplayStore(store))
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := v.Verify(context.Background(), proof, dpop.Request{Method: "POST", URL: "https://server.example.com/token"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("jkt:", p.KeyThumbprint)
	fmt.Println("jti:", p.ID)
	fmt.Println("alg:", p.Algorithm)
	fmt.Println("iat:", p.IssuedAt.UTC().Format(time.RFC3339))
	// Output:
	// jkt: 0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I
	// jti: -BwC3ESc6acc2lTc
	// alg: ES256
	// iat: 2019-07-04T17:50:16Z
}
