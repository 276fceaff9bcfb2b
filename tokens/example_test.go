package tokens_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ztkit/ztkit/tokens"
)

func ExampleIssuer_Issue() {
	ctx := context.Background()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	key, err := tokens.NewSigningKey(priv, "") // ES256
	if err != nil {
		panic(err)
	}
	keys, err := tokens.NewKeySet(key)
	if err != nil {
		panic(err)
	}
	issuer, err := tokens.NewIssuer("https://id.shop.example", keys, tokens.WithLifetime(5*time.Minute))
	if err != nil {
		panic(err)
	}

	// A DPoP-bound token: cnf.jkt is the RFC 7638 thumbprint of the client's
	// DPoP key (RFC 9449 §6.1).
	token, err := issuer.Issue(ctx, tokens.TokenRequest{
		Subject:           "customer-42",
		ClientID:          "storefront",
		Audience:          []string{"https://checkout.shop.example"},
		Scopes:            []string{"cart:read", "checkout:write"},
		DPoPKeyThumbprint: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
	})
	if err != nil {
		panic(err)
	}

	verifier, err := tokens.NewVerifier(keys, "https://id.shop.example", []string{"https://checkout.shop.example"})
	if err != nil {
		panic(err)
	}
	claims, err := verifier.Verify(ctx, token)
	if err != nil {
		panic(err)
	}
	fmt.Println("subject:", claims.Subject)
	fmt.Println("scopes:", strings.Join(claims.Scopes, " "))
	fmt.Println("dpop-bound:", claims.Confirmation.JKT != "")
	fmt.Println("kid is the key's thumbprint:", claims.KeyID == key.KeyID())
	// Output:
	// subject: customer-42
	// scopes: cart:read checkout:write
	// dpop-bound: true
	// kid is the key's thumbprint: true
}

func ExampleVerifier_Verify() {
	ctx := context.Background()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	key, err := tokens.NewSigningKey(priv, "") // EdDSA
	if err != nil {
		panic(err)
	}
	keys, err := tokens.NewKeySet(key)
	if err != nil {
		panic(err)
	}
	issuedAt := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	issuer, err := tokens.NewIssuer("https://id.example", keys, tokens.WithClock(func() time.Time { return issuedAt }))
	if err != nil {
		panic(err)
	}
	token, err := issuer.Issue(ctx, tokens.TokenRequest{
		Subject: "alice", ClientID: "cli", Audience: []string{"https://api.example"}, Scopes: []string{"read"},
	})
	if err != nil {
		panic(err)
	}

	// Verify at a given time; production code leaves the clock alone.
	at := func(t time.Time) *tokens.Verifier {
		v, err := tokens.NewVerifier(keys, "https://id.example", []string{"https://api.example"},
			tokens.WithAlgorithms("EdDSA"), tokens.WithClock(func() time.Time { return t }))
		if err != nil {
			panic(err)
		}
		return v
	}

	claims, err := at(issuedAt.Add(time.Minute)).Verify(ctx, token)
	if err != nil {
		panic(err)
	}
	fmt.Println(claims.Subject, claims.ClientID, claims.Scopes, claims.Expiry.Format(time.RFC3339))

	_, err = at(issuedAt.Add(time.Hour)).Verify(ctx, token)
	fmt.Println("expired:", errors.Is(err, tokens.ErrExpired))

	_, err = at(issuedAt.Add(time.Minute)).Verify(ctx, token+"x")
	fmt.Println("tampered:", err != nil)
	// Output:
	// alice cli [read] 2030-01-01T12:05:00Z
	// expired: true
	// tampered: true
}

func ExampleKeySet_Rotate() {
	ctx := context.Background()
	newKey := func() *tokens.SigningKey {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		k, err := tokens.NewSigningKey(priv, "")
		if err != nil {
			panic(err)
		}
		return k
	}
	oldKey, nextKey := newKey(), newKey()
	keys, err := tokens.NewKeySet(oldKey, tokens.WithRetention(time.Hour))
	if err != nil {
		panic(err)
	}

	// Publish the next key first, so that verifiers caching the JWKS know it
	// before it signs; then rotate.
	if err := keys.SetNext(nextKey); err != nil {
		panic(err)
	}
	fmt.Println("published keys:", len(keys.PublicKeys()))
	if err := keys.Rotate(); err != nil {
		panic(err)
	}
	fmt.Println("next key signs:", keys.Current() == nextKey)
	_, err = keys.VerificationKey(ctx, oldKey.KeyID())
	fmt.Println("old key still verifies:", err == nil)

	// A compromised key is revoked at once.
	if err := keys.Revoke(oldKey.KeyID()); err != nil {
		panic(err)
	}
	_, err = keys.VerificationKey(ctx, oldKey.KeyID())
	fmt.Println("old key after revoke:", errors.Is(err, tokens.ErrUnknownKey))
	// Output:
	// published keys: 2
	// next key signs: true
	// old key still verifies: true
	// old key after revoke: true
}

func ExampleNewRemoteKeySet() {
	ctx := context.Background()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	key, err := tokens.NewSigningKey(priv, "")
	if err != nil {
		panic(err)
	}
	keys, err := tokens.NewKeySet(key)
	if err != nil {
		panic(err)
	}
	issuer, err := tokens.NewIssuer("https://id.example", keys)
	if err != nil {
		panic(err)
	}

	// The issuer publishes its keys...
	srv := httptest.NewTLSServer(keys.JWKSHandler())
	defer srv.Close()

	// ...and a resource server in another process fetches them.
	remote, err := tokens.NewRemoteKeySet(ctx, srv.URL, tokens.WithHTTPClient(srv.Client()))
	if err != nil {
		panic(err)
	}
	defer remote.Close()
	verifier, err := tokens.NewVerifier(remote, "https://id.example", []string{"https://api.example"})
	if err != nil {
		panic(err)
	}

	token, err := issuer.Issue(ctx, tokens.TokenRequest{Subject: "svc-billing", ClientID: "billing", Audience: []string{"https://api.example"}})
	if err != nil {
		panic(err)
	}
	claims, err := verifier.Verify(ctx, token)
	if err != nil {
		panic(err)
	}
	fmt.Println(claims.Subject, claims.KeyID == key.KeyID())
	// Output:
	// svc-billing true
}
