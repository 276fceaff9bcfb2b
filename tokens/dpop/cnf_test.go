package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// TestRequestRefusesUnenforceableConfirmation: with WithBearer, a token whose
// cnf ztkit cannot enforce (RFC 7800 §3) must be refused, over Bearer and
// over DPoP, never accepted as a bearer token. This file builds its tokens
// by hand with its own helpers.
func TestRequestRefusesUnenforceableConfirmation(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	const iss, aud, target = "https://id.shop.example", "https://api.shop.example", "https://api.shop.example/orders"
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	sk, err := tokens.NewSigningKey(key, "")
	require.NoError(t, err)
	ks, err := tokens.NewKeySet(sk, tokens.WithClock(clock))
	require.NoError(t, err)
	tv, err := tokens.NewVerifier(ks, iss, []string{aud}, tokens.WithClock(clock))
	require.NoError(t, err)
	pv, err := dpop.NewVerifier(dpop.WithClock(clock))
	require.NoError(t, err)
	rv, err := dpop.NewRequestVerifier(tv, pv, dpop.WithExternalURL(aud), dpop.WithBearer())
	require.NoError(t, err)
	proofKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	proofer, err := dpop.NewProofer(proofKey, "ES256", dpop.WithClock(clock))
	require.NoError(t, err)

	b64 := base64.RawURLEncoding.EncodeToString
	sign := func(t *testing.T, cnf any) string {
		t.Helper()
		h, err := json.Marshal(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": sk.KeyID()})
		require.NoError(t, err)
		c, err := json.Marshal(map[string]any{
			"iss": iss, "sub": "customer-42", "aud": aud, "client_id": "storefront", "jti": "j-1",
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "scope": "orders:read", "cnf": cnf,
		})
		require.NoError(t, err)
		in := b64(h) + "." + b64(c)
		sum := sha256.Sum256([]byte(in))
		r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
		require.NoError(t, err)
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return in + "." + b64(sig)
	}
	pub, err := json.Marshal(map[string]any{"kty": "EC", "crv": "P-256",
		"x": b64(proofKey.X.FillBytes(make([]byte, 32))), "y": b64(proofKey.Y.FillBytes(make([]byte, 32)))})
	require.NoError(t, err)
	jkt := proofer.Thumbprint()
	for name, cnf := range map[string]any{
		"jwk":                  map[string]any{"jwk": json.RawMessage(pub)},
		"kid":                  map[string]any{"kid": "proof-key"},
		"unknown member":       map[string]any{"whatever": true},
		"upper-case JKT":       map[string]any{"JKT": jkt},
		"empty":                map[string]any{},
		"null":                 nil,
		"string":               jkt,
		"jkt number":           map[string]any{"jkt": 1},
		"jkt not a thumbprint": map[string]any{"jkt": "abc"},
		"x5t#S256 malformed":   map[string]any{"x5t#S256": "abc"},
		"jkt and jwk":          map[string]any{"jkt": jkt, "jwk": json.RawMessage(pub)},
	} {
		t.Run(name, func(t *testing.T) {
			tok := sign(t, cnf)
			for _, scheme := range []string{"Bearer", "DPoP"} {
				r := httptest.NewRequest("GET", target, nil)
				r.Header.Set("Authorization", scheme+" "+tok)
				proof, err := proofer.Proof(dpop.ProofRequest{Method: "GET", URL: target, AccessToken: tok})
				require.NoError(t, err)
				r.Header.Set("DPoP", proof)
				res, err := rv.Verify(context.Background(), r)
				assert.ErrorIs(t, err, tokens.ErrUnsupportedConfirmation, scheme)
				assert.Nil(t, res, scheme)
			}
		})
	}
	t.Run("control: the same token with cnf.jkt verifies over DPoP", func(t *testing.T) {
		tok := sign(t, map[string]any{"jkt": jkt})
		r := httptest.NewRequest("GET", target, nil)
		r.Header.Set("Authorization", "DPoP "+tok)
		proof, err := proofer.Proof(dpop.ProofRequest{Method: "GET", URL: target, AccessToken: tok})
		require.NoError(t, err)
		r.Header.Set("DPoP", proof)
		res, err := rv.Verify(context.Background(), r)
		require.NoError(t, err)
		assert.Equal(t, jkt, res.Claims.Confirmation.JKT)
	})
}
