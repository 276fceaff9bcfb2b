package dpop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RFC 9449 examples, verbatim (the '\' line wrapping of RFC 8792 undone).
// The proof key is the P-256 key of §4.1-4.2; its RFC 7638 thumbprint is the
// cnf.jkt of §6.1. vtRFCTokenProof is the DPoP header of the token request in
// §4.1 (decoded in §4.2: POST https://server.example.com/token, iat
// 1562262616). vtRFCResourceProof is the DPoP header of the protected
// resource request in §7.1 (GET https://resource.example.org/protectedresource,
// iat 1562262618), whose ath is the hash of vtRFCAccessToken.
const (
	vtRFCJKT        = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	vtRFCTokenProof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik" +
		"VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR" +
		"nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE" +
		"QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIj" +
		"oiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwia" +
		"WF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg" +
		"4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"
	vtRFCResourceProof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik" +
		"VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR" +
		"nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE" +
		"QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIj" +
		"oiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0Z" +
		"WRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNF" +
		"c05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71E" +
		"OptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA"
	// vtRFCAccessToken and vtRFCATH are the access token and its ath of §7.1.
	vtRFCAccessToken = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
	vtRFCATH         = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
)

// vtNow is the instant the clocks of these tests are stuck at.
var vtNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const vtURL = "https://api.shop.example/orders"

func vtClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// vtVerifier returns a verifier on the clock now with a replay store on the same clock.
func vtVerifier(tb testing.TB, now time.Time, opts ...VerifierOption) *Verifier {
	tb.Helper()
	store, err := NewMemoryReplayStore(WithClock(vtClock(now)))
	require.NoError(tb, err)
	v, err := NewVerifier(append([]VerifierOption{WithClock(vtClock(now)), WithReplayStore(store)}, opts...)...)
	require.NoError(tb, err)
	return v
}

// vtProofer returns a proofer for key (alg "" for the default) on the clock now.
func vtProofer(tb testing.TB, key crypto.Signer, alg string, now time.Time) *Proofer {
	tb.Helper()
	p, err := NewProofer(key, alg, WithClock(vtClock(now)))
	require.NoError(tb, err)
	return p
}

func vtP256(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err)
	return k
}

func vtProof(tb testing.TB, p *Proofer, method, url, token string) string {
	tb.Helper()
	s, err := p.Proof(ProofRequest{Method: method, URL: url, AccessToken: token})
	require.NoError(tb, err)
	return s
}

// TestVerifierRFC9449Examples verifies the example proofs of RFC 9449 §4.1 and
// §7.1 at the instant they were made, and the §6.1 thumbprint of their key.
func TestVerifierRFC9449Examples(t *testing.T) {
	cases := []struct {
		name  string
		proof string
		iat   int64
		req   Request
		jti   string
	}{
		{
			name:  "§4.1 token request",
			proof: vtRFCTokenProof,
			iat:   1562262616,
			req:   Request{Method: "POST", URL: "https://server.example.com/token"},
			jti:   "-BwC3ESc6acc2lTc",
		},
		{
			name:  "§4.1 token request, bound to the §6.1 jkt",
			proof: vtRFCTokenProof,
			iat:   1562262616,
			req:   Request{Method: "POST", URL: "https://server.example.com/token", KeyThumbprint: vtRFCJKT},
			jti:   "-BwC3ESc6acc2lTc",
		},
		{
			name:  "§7.1 protected resource request",
			proof: vtRFCResourceProof,
			iat:   1562262618,
			req: Request{
				Method: "GET", URL: "https://resource.example.org/protectedresource",
				AccessToken: vtRFCAccessToken, KeyThumbprint: vtRFCJKT,
			},
			jti: "e1j3V_bKic8-LAEB",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := vtVerifier(t, time.Unix(tc.iat, 0))
			p, err := v.Verify(context.Background(), tc.proof, tc.req)
			require.NoError(t, err)
			assert.Equal(t, vtRFCJKT, p.KeyThumbprint)
			assert.Equal(t, tc.jti, p.ID)
			assert.Equal(t, tc.iat, p.IssuedAt.Unix())
			assert.Equal(t, "ES256", p.Algorithm)
			require.IsType(t, &ecdsa.PublicKey{}, p.PublicKey)
			assert.Equal(t, elliptic.P256(), p.PublicKey.(*ecdsa.PublicKey).Curve)

			_, err = v.Verify(context.Background(), tc.proof, tc.req)
			assert.ErrorIs(t, err, ErrReplayed)
		})
	}
	t.Run("§7.1 ath", func(t *testing.T) {
		assert.Equal(t, vtRFCATH, AccessTokenHash(vtRFCAccessToken))
	})
	t.Run("§7.1 proof with another token", func(t *testing.T) {
		v := vtVerifier(t, time.Unix(1562262618, 0))
		_, err := v.Verify(context.Background(), vtRFCResourceProof, Request{
			Method: "GET", URL: "https://resource.example.org/protectedresource", AccessToken: vtRFCAccessToken + "x",
		})
		assert.ErrorIs(t, err, ErrAccessTokenHashMismatch)
	})
	t.Run("§4.1 proof a day later", func(t *testing.T) {
		v := vtVerifier(t, time.Unix(1562262616, 0).Add(24*time.Hour))
		_, err := v.Verify(context.Background(), vtRFCTokenProof, Request{Method: "POST", URL: "https://server.example.com/token"})
		assert.ErrorIs(t, err, ErrProofExpired)
	})
}

// TestVerifierRoundTrip verifies proofs of every algorithm a Proofer signs with.
func TestVerifierRoundTrip(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	cases := []struct {
		name string
		key  crypto.Signer
		alg  string
		want string
	}{
		{name: "ES256", key: vtP256(t), want: "ES256"},
		{name: "ES384", key: p384, want: "ES384"},
		{name: "EdDSA", key: ed, want: "EdDSA"},
		{name: "PS256", key: rk, want: "PS256"},
		{name: "RS256", key: rk, alg: "RS256", want: "RS256"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := vtProofer(t, tc.key, tc.alg, vtNow)
			v := vtVerifier(t, vtNow)
			proof := vtProof(t, p, "POST", vtURL, "an-access-token")

			got, err := v.Verify(context.Background(), proof, Request{
				Method: "POST", URL: vtURL, AccessToken: "an-access-token", KeyThumbprint: p.Thumbprint(),
			})
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.Algorithm)
			assert.Equal(t, p.Thumbprint(), got.KeyThumbprint)
			assert.Equal(t, vtNow, got.IssuedAt.UTC())
			assert.NotEmpty(t, got.ID)
			assert.True(t, tc.key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(got.PublicKey))

			only, err := NewVerifier(WithAlgorithms(tc.want), WithClock(vtClock(vtNow)))
			require.NoError(t, err)
			_, err = only.Verify(context.Background(), vtProof(t, p, "POST", vtURL, ""), Request{Method: "POST", URL: vtURL})
			assert.NoError(t, err, "an allow-list of %s accepts it", tc.want)
		})
	}
}

// TestVerifierChecks covers Verify's own inputs: the Request fields and the
// acceptance window at its edges.
func TestVerifierChecks(t *testing.T) {
	key := vtP256(t)
	p := vtProofer(t, key, "", vtNow)
	cases := []struct {
		name  string
		opts  []VerifierOption
		proof func(t *testing.T) string
		req   Request
		want  error
	}{
		{name: "empty proof", proof: func(*testing.T) string { return "" }, req: Request{Method: "GET", URL: vtURL}, want: ErrMissingProof},
		{
			name:  "request URL query ignored",
			proof: func(t *testing.T) string { return vtProof(t, p, "GET", vtURL, "") },
			req:   Request{Method: "GET", URL: vtURL + "?page=2#top"},
		},
		{
			name:  "wrong key thumbprint",
			proof: func(t *testing.T) string { return vtProof(t, p, "GET", vtURL, "") },
			req:   Request{Method: "GET", URL: vtURL, KeyThumbprint: vtRFCJKT},
			want:  ErrBindingMismatch,
		},
		{
			name:  "ath present, no token expected",
			proof: func(t *testing.T) string { return vtProof(t, p, "GET", vtURL, "tok") },
			req:   Request{Method: "GET", URL: vtURL},
		},
		{
			name: "iat exactly the maximum age old",
			proof: func(t *testing.T) string {
				return vtProof(t, vtProofer(t, key, "", vtNow.Add(-DefaultMaxAge)), "GET", vtURL, "")
			},
			req: Request{Method: "GET", URL: vtURL},
		},
		{
			name: "iat one second past the maximum age",
			proof: func(t *testing.T) string {
				return vtProof(t, vtProofer(t, key, "", vtNow.Add(-DefaultMaxAge-time.Second)), "GET", vtURL, "")
			},
			req:  Request{Method: "GET", URL: vtURL},
			want: ErrProofExpired,
		},
		{
			name: "iat exactly the leeway ahead",
			proof: func(t *testing.T) string {
				return vtProof(t, vtProofer(t, key, "", vtNow.Add(DefaultLeeway)), "GET", vtURL, "")
			},
			req: Request{Method: "GET", URL: vtURL},
		},
		{
			name: "iat one second past the leeway",
			proof: func(t *testing.T) string {
				return vtProof(t, vtProofer(t, key, "", vtNow.Add(DefaultLeeway+time.Second)), "GET", vtURL, "")
			},
			req:  Request{Method: "GET", URL: vtURL},
			want: ErrProofFromFuture,
		},
		{
			name: "custom maximum age",
			opts: []VerifierOption{WithMaxAge(10 * time.Second)},
			proof: func(t *testing.T) string {
				return vtProof(t, vtProofer(t, key, "", vtNow.Add(-11*time.Second)), "GET", vtURL, "")
			},
			req:  Request{Method: "GET", URL: vtURL},
			want: ErrProofExpired,
		},
		{
			name: "zero leeway",
			opts: []VerifierOption{WithLeeway(0)},
			proof: func(t *testing.T) string {
				return vtProof(t, vtProofer(t, key, "", vtNow.Add(time.Second)), "GET", vtURL, "")
			},
			req:  Request{Method: "GET", URL: vtURL},
			want: ErrProofFromFuture,
		},
		{
			// 1e10 seconds is in the year 2286: iat*1e9 overflows int64 nanoseconds.
			name:  "iat far in the future",
			proof: func(t *testing.T) string { return vtHandProof(t, key, map[string]any{"iat": 1e10}) },
			req:   Request{Method: "GET", URL: vtURL},
			want:  ErrProofFromFuture,
		},
		{
			name:  "iat in year 9999",
			proof: func(t *testing.T) string { return vtHandProof(t, key, map[string]any{"iat": 253402300799}) },
			req:   Request{Method: "GET", URL: vtURL},
			want:  ErrProofFromFuture,
		},
		{
			name:  "iat past year 9999",
			proof: func(t *testing.T) string { return vtHandProof(t, key, map[string]any{"iat": 253402300800}) },
			req:   Request{Method: "GET", URL: vtURL},
			want:  ErrMalformedProof,
		},
		{
			name: "fractional iat",
			proof: func(t *testing.T) string {
				return vtHandProof(t, key, map[string]any{"iat": float64(vtNow.Unix()) + 0.5})
			},
			req: Request{Method: "GET", URL: vtURL},
		},
		{
			// A zero Request must not turn the htm and htu checks off (fail closed).
			name:  "zero Request, proof with empty htm and htu",
			proof: func(t *testing.T) string { return vtHandProof(t, key, map[string]any{"htm": "", "htu": ""}) },
			req:   Request{},
			want:  ErrInvalidConfig,
		},
		{
			name:  "empty URL, proof with empty htu",
			proof: func(t *testing.T) string { return vtHandProof(t, key, map[string]any{"htu": ""}) },
			req:   Request{Method: "GET"},
			want:  ErrInvalidConfig,
		},
		{
			name:  "smaller maximum proof size",
			opts:  []VerifierOption{WithMaxProofSize(256)},
			proof: func(t *testing.T) string { return vtProof(t, p, "GET", vtURL, "") },
			req:   Request{Method: "GET", URL: vtURL},
			want:  ErrMalformedProof,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := vtVerifier(t, vtNow, tc.opts...)
			got, err := v.Verify(context.Background(), tc.proof(t), tc.req)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, p.Thumbprint(), got.KeyThumbprint)
		})
	}
}

// vtHandProof signs, with key and outside the Proofer, a proof for GET vtURL
// at vtNow whose claims are overridden by set.
func vtHandProof(tb testing.TB, key *ecdsa.PrivateKey, set map[string]any) string {
	tb.Helper()
	pt, err := key.PublicKey.Bytes()
	require.NoError(tb, err)
	enc := base64.RawURLEncoding.EncodeToString
	h, err := json.Marshal(map[string]any{
		"typ": "dpop+jwt", "alg": "ES256",
		"jwk": map[string]string{"kty": "EC", "crv": "P-256", "x": enc(pt[1:33]), "y": enc(pt[33:])},
	})
	require.NoError(tb, err)
	c := map[string]any{"jti": "jti-" + enc(pt[1:9]), "htm": "GET", "htu": vtURL, "iat": vtNow.Unix()}
	for k, v := range set {
		c[k] = v
	}
	cb, err := json.Marshal(c)
	require.NoError(tb, err)
	input := enc(h) + "." + enc(cb)
	sig, err := key.Sign(rand.Reader, vtSHA256(input), crypto.SHA256)
	require.NoError(tb, err)
	raw, err := vtDERToJWS(sig)
	require.NoError(tb, err)
	return input + "." + enc(raw)
}

// TestVerifierRecordsOnlyAcceptedProofs checks that a refused proof is not
// remembered: once refused for the wrong method, it is still accepted once.
func TestVerifierRecordsOnlyAcceptedProofs(t *testing.T) {
	p := vtProofer(t, vtP256(t), "", vtNow)
	v := vtVerifier(t, vtNow)
	proof := vtProof(t, p, "GET", vtURL, "tok")
	ctx := context.Background()

	_, err := v.Verify(ctx, proof, Request{Method: "POST", URL: vtURL, AccessToken: "tok"})
	require.ErrorIs(t, err, ErrMethodMismatch)
	_, err = v.Verify(ctx, proof, Request{Method: "GET", URL: vtURL, AccessToken: "other"})
	require.ErrorIs(t, err, ErrAccessTokenHashMismatch)
	_, err = v.Verify(ctx, proof, Request{Method: "GET", URL: vtURL, AccessToken: "tok"})
	require.NoError(t, err)
	_, err = v.Verify(ctx, proof, Request{Method: "GET", URL: vtURL, AccessToken: "tok"})
	require.ErrorIs(t, err, ErrReplayed)
}

// TestNewVerifierConfig checks the options NewVerifier refuses and accepts.
func TestNewVerifierConfig(t *testing.T) {
	refused := []struct {
		name string
		opts []VerifierOption
	}{
		{"algorithm none", []VerifierOption{WithAlgorithms("none")}},
		{"algorithm HS256", []VerifierOption{WithAlgorithms("ES256", "HS256")}},
		{"algorithm ES512", []VerifierOption{WithAlgorithms("ES512")}},
		{"algorithm in lower case", []VerifierOption{WithAlgorithms("es256")}},
		{"no algorithms", []VerifierOption{WithAlgorithms()}},
		{"zero maximum age", []VerifierOption{WithMaxAge(0)}},
		{"negative maximum age", []VerifierOption{WithMaxAge(-time.Second)}},
		{"maximum age over an hour", []VerifierOption{WithMaxAge(time.Hour + time.Second)}},
		{"negative leeway", []VerifierOption{WithLeeway(-time.Second)}},
		{"leeway over five minutes", []VerifierOption{WithLeeway(5*time.Minute + time.Second)}},
		{"maximum proof size under 128", []VerifierOption{WithMaxProofSize(127)}},
		{"zero maximum proof size", []VerifierOption{WithMaxProofSize(0)}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVerifier(tc.opts...)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.Nil(t, v)
		})
	}
	accepted := []struct {
		name string
		opts []VerifierOption
	}{
		{"defaults", nil},
		{"every algorithm", []VerifierOption{WithAlgorithms("ES256", "ES384", "EdDSA", "Ed25519", "PS256", "RS256")}},
		{"maximum age of an hour", []VerifierOption{WithMaxAge(time.Hour)}},
		{"zero leeway", []VerifierOption{WithLeeway(0)}},
		{"leeway of five minutes", []VerifierOption{WithLeeway(5 * time.Minute)}},
		{"maximum proof size 128", []VerifierOption{WithMaxProofSize(128)}},
		{"nil replay store keeps the default", []VerifierOption{WithReplayStore(nil)}},
		{"nil clock keeps the default", []VerifierOption{WithClock(nil)}},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVerifier(tc.opts...)
			require.NoError(t, err)
			assert.NotNil(t, v)
		})
	}
}

// TestVerifierKeyCacheParsesOnce proves by behaviour that a client's key is
// parsed once: two proofs of one key yield the very same public key value, and
// with a cache of one entry a second key evicts the first.
func TestVerifierKeyCacheParsesOnce(t *testing.T) {
	a, b := vtProofer(t, vtP256(t), "", vtNow), vtProofer(t, vtP256(t), "", vtNow)
	v := vtVerifier(t, vtNow)
	v.keys = newKeyCache(1)
	verify := func(p *Proofer) *ecdsa.PublicKey {
		t.Helper()
		got, err := v.Verify(context.Background(), vtProof(t, p, "GET", vtURL, ""), Request{Method: "GET", URL: vtURL})
		require.NoError(t, err)
		return got.PublicKey.(*ecdsa.PublicKey)
	}

	a1 := verify(a)
	a2 := verify(a)
	assert.Same(t, a1, a2, "the second proof of a key reuses the parsed key")
	b1 := verify(b)
	assert.NotSame(t, a1, b1)
	assert.Same(t, b1, verify(b))
	a3 := verify(a)
	assert.NotSame(t, a1, a3, "a cache of one entry evicted the first key for the second")
	assert.True(t, a1.Equal(a3))
	assert.Equal(t, 1, v.keys.m.Len())
}

// TestVerifierKeyCacheIsBounded checks that a flood of new keys never grows
// the cache past its bound, and that every key still verifies.
func TestVerifierKeyCacheIsBounded(t *testing.T) {
	const size, keys = 4, 11
	v := vtVerifier(t, vtNow)
	v.keys = newKeyCache(size)
	for i := range keys {
		p := vtProofer(t, vtP256(t), "", vtNow)
		_, err := v.Verify(context.Background(), vtProof(t, p, "GET", vtURL, ""), Request{Method: "GET", URL: vtURL})
		require.NoError(t, err, "key %d", i)
		assert.LessOrEqual(t, v.keys.m.Len(), size)
	}
	assert.Equal(t, size, v.keys.m.Len())

	t.Run("refused keys are not cached", func(t *testing.T) {
		v := vtVerifier(t, vtNow)
		key := vtP256(t)
		d, err := key.Bytes()
		require.NoError(t, err)
		proof := vtHandProofJWK(t, key, func(jwk map[string]string) { jwk["d"] = base64.RawURLEncoding.EncodeToString(d) })
		_, err = v.Verify(context.Background(), proof, Request{Method: "GET", URL: vtURL})
		require.ErrorIs(t, err, ErrInvalidProofKey)
		assert.Zero(t, v.keys.m.Len())
	})
}

// vtHandProofJWK is vtHandProof with the header's jwk edited by edit.
func vtHandProofJWK(tb testing.TB, key *ecdsa.PrivateKey, edit func(map[string]string)) string {
	tb.Helper()
	pt, err := key.PublicKey.Bytes()
	require.NoError(tb, err)
	enc := base64.RawURLEncoding.EncodeToString
	jwk := map[string]string{"kty": "EC", "crv": "P-256", "x": enc(pt[1:33]), "y": enc(pt[33:])}
	edit(jwk)
	h, err := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk})
	require.NoError(tb, err)
	cb, err := json.Marshal(map[string]any{"jti": "j", "htm": "GET", "htu": vtURL, "iat": vtNow.Unix()})
	require.NoError(tb, err)
	input := enc(h) + "." + enc(cb)
	sig, err := key.Sign(rand.Reader, vtSHA256(input), crypto.SHA256)
	require.NoError(tb, err)
	raw, err := vtDERToJWS(sig)
	require.NoError(tb, err)
	return input + "." + enc(raw)
}

// TestVerifierConcurrent verifies 64 distinct proofs from 8 goroutines
// sharing one Verifier (run with -race).
func TestVerifierConcurrent(t *testing.T) {
	const goroutines, perGoroutine = 8, 8
	proofers := []*Proofer{vtProofer(t, vtP256(t), "", vtNow), vtProofer(t, vtP256(t), "", vtNow), vtProofer(t, vtP256(t), "", vtNow)}
	proofs := make([]string, goroutines*perGoroutine)
	for i := range proofs {
		proofs[i] = vtProof(t, proofers[i%len(proofers)], "POST", vtURL, "tok")
	}
	store, err := NewMemoryReplayStore(WithClock(vtClock(vtNow)))
	require.NoError(t, err)
	v, err := NewVerifier(WithClock(vtClock(vtNow)), WithReplayStore(store))
	require.NoError(t, err)

	errs := make([]error, len(proofs))
	jkts := make([]string, len(proofs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := g * perGoroutine; i < (g+1)*perGoroutine; i++ {
				p, err := v.Verify(context.Background(), proofs[i], Request{Method: "POST", URL: vtURL, AccessToken: "tok"})
				errs[i] = err
				if err == nil {
					jkts[i] = p.KeyThumbprint
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "proof %d", i)
		assert.Equal(t, proofers[i%len(proofers)].Thumbprint(), jkts[i])
	}
	assert.Equal(t, len(proofs), store.Len())
}

// TestVerifierConcurrentReplay presents one proof from 32 goroutines at once:
// exactly one is accepted, every other one is refused as replayed.
func TestVerifierConcurrentReplay(t *testing.T) {
	const goroutines = 32
	p := vtProofer(t, vtP256(t), "", vtNow)
	proof := vtProof(t, p, "GET", vtURL, "")
	v := vtVerifier(t, vtNow)

	errs := make([]error, goroutines)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[g] = v.Verify(context.Background(), proof, Request{Method: "GET", URL: vtURL})
		}()
	}
	close(start)
	wg.Wait()
	accepted := 0
	for _, err := range errs {
		if err == nil {
			accepted++
			continue
		}
		assert.ErrorIs(t, err, ErrReplayed)
	}
	assert.Equal(t, 1, accepted)
}

// TestVerifierErrorsAreSentinels checks that Verify's refusals match the
// package's errors and never name the proof.
func TestVerifierErrorsAreSentinels(t *testing.T) {
	p := vtProofer(t, vtP256(t), "", vtNow)
	proof := vtProof(t, p, "GET", vtURL, "")
	v := vtVerifier(t, vtNow)
	for _, req := range []Request{
		{Method: "PUT", URL: vtURL},
		{Method: "GET", URL: "https://evil.example/orders"},
		{Method: "GET", URL: vtURL, AccessToken: "tok"},
		{Method: "GET", URL: vtURL, KeyThumbprint: vtRFCJKT},
	} {
		_, err := v.Verify(context.Background(), proof, req)
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "dpop: "), err.Error())
		for _, part := range strings.Split(proof, ".") {
			assert.NotContains(t, err.Error(), part)
		}
		assert.NotContains(t, err.Error(), p.Thumbprint())
		assert.True(t, vtIsSentinel(err), "%v is no sentinel", err)
	}
}

// vtSentinels are every refusal sentinel of the package.
var vtSentinels = []error{
	ErrMissingProof, ErrMultipleProofs, ErrMalformedProof, ErrInvalidProofType, ErrUnsupportedAlgorithm,
	ErrInvalidProofKey, ErrInvalidProofSignature, ErrMethodMismatch, ErrURIMismatch, ErrProofExpired,
	ErrProofFromFuture, ErrReplayed, ErrReplayCheckUnavailable, ErrUseDPoPNonce, ErrAccessTokenHashMismatch,
	ErrBindingMismatch,
}

func vtIsSentinel(err error) bool {
	for _, s := range vtSentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func vtSHA256(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// vtDERToJWS converts an ASN.1 ECDSA P-256 signature to JWS R||S (RFC 7518 §3.4).
func vtDERToJWS(der []byte) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	rs.R.FillBytes(out[:32])
	rs.S.FillBytes(out[32:])
	return out, nil
}
