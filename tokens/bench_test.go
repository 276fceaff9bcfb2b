package tokens_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
)

func benchSetup(b *testing.B, alg string, cache int) (*tokens.Verifier, string) {
	b.Helper()
	var key *tokens.SigningKey
	var err error
	switch alg {
	case "ES256":
		pk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		key, err = tokens.NewSigningKey(pk, "")
	case "EdDSA":
		_, pk, _ := ed25519.GenerateKey(rand.Reader)
		key, err = tokens.NewSigningKey(pk, "")
	}
	require.NoError(b, err)
	ks, err := tokens.NewKeySet(key)
	require.NoError(b, err)
	iss, err := tokens.NewIssuer("https://id.shop.example", ks)
	require.NoError(b, err)
	tok, err := iss.Issue(context.Background(), tokens.TokenRequest{
		Subject: "customer-42", ClientID: "storefront", Audience: []string{"https://checkout.shop.example"},
		Scopes: []string{"cart:read", "checkout:write"}, ACR: "urn:shop:acr:mfa", AMR: []string{"pwd", "otp"},
		AuthTime: time.Now(), DPoPKeyThumbprint: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
	})
	require.NoError(b, err)
	v, err := tokens.NewVerifier(ks, "https://id.shop.example", []string{"https://checkout.shop.example"}, tokens.WithCacheSize(cache))
	require.NoError(b, err)
	return v, tok
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"ES256", "EdDSA"} {
		b.Run(alg+"/cold", func(b *testing.B) {
			v, tok := benchSetup(b, alg, 0)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/cached", func(b *testing.B) {
			v, tok := benchSetup(b, alg, 1024)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFloorECDSA(b *testing.B) {
	pk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	msg := []byte("eyJhbGciOiJFUzI1NiIsImtpZCI6IjEyMyJ9.eyJpc3MiOiJodHRwczovL2lkLnNob3AuZXhhbXBsZSJ9")
	h := sha256.Sum256(msg)
	sig, _ := ecdsa.SignASN1(rand.Reader, pk, h[:])
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256(msg)
		if !ecdsa.VerifyASN1(&pk.PublicKey, h[:], sig) {
			b.Fatal()
		}
	}
}
