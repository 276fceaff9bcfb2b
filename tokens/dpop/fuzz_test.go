package dpop_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/tokens/dpop"
)

const (
	dtFuzzToken = "fuzz-access-token"
	dtFuzzURL   = "https://api.shop.example/fuzz"
)

// dtFuzzRequest is what every fuzzed proof is checked against.
var dtFuzzRequest = dpop.Request{Method: "POST", URL: dtFuzzURL, AccessToken: dtFuzzToken}

// dtFuzzRSAKey is a fixed RSA 2048-bit key, for tests only.
const dtFuzzRSAKey = `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCua13gTexCIYhO
jqO1C3Se7s3IcJo2LQmKPTm6+mRxepwsmj9VcVXQa6AEGugySxHoFUpme5xJjmLH
Ds/JYx/YOqAIPKxywjz4zxP0XnVQ4wNoaN+DIRV761i1Te9+M3t0ULTRl5mITRM4
P+0SmlZmDhHh+c7H4boCww0pKsqS0a0ITe+60mj9Xv/gnjfMYzSuNxuddNjU0osn
6eXKJYTktcVAPYx040K3nYd7mih/cSY1uYiIvAJ6BkpfUa0HCECjDr5ToeNRjw2e
fO6/VWE7O2hmCsaCEWLf+sKNu2pcNK20m3ACkc+JkNVAd58u5iI8LQdsHKT6cuxl
PBbLBcmXAgMBAAECggEAEWbH2mmb0Ss8SK4lehoW/AZSRJWrZQ1QPtkF6fgyTjoP
28lV2UXx7FXYhKBUmzPvKOr63cemW5ZXl4mMRIjds/qBXeEDyX1EjQRH9uD3rma/
v8p6xj/mP1NHKeuJIdusDPpCWAjaegVKjhmeovT/+rWbpiKAtWN5Ze4k4X8R79zO
LODCe5X0d5F6hyGBlgrLJiZBIVFywOaNeooiaiCa81IGP3PlplwpG/xbItFybT6Z
9oXZppZD5rbTJmZgLjY7uuTGRVR+pRikYadfCQsQ4UdxBVlGuvvdvo37kp6gAUY1
AxazGwtKU8S0FMnBWs6AgQQW2iLJXI1fNbJhdQMqMQKBgQDDJvZQHMO2o8COL7eu
PrUDz3seaq/TUei95G0s8d7AkLJPXC2Uy9zHB+X7AdUKvt7mQOi3oUChjq5nGzeB
HrobKkGJZLgSodB0MPrtjSZ1gqqS3tOeIa8mXj2qna+o5zeotkiiKBXjMv0KofWB
HQjIS2KtJMpErwsV+8Jk0Za15wKBgQDkzYOT77Z7yjRlLWylfKxc4UNyTR3HJaO5
IrE/SPUIVt9l7+F9ODvZeJJeU87lEjkhUH/DXB8EjxIzhTFOv/s5JCI4bu6rzRQI
CstAgmI2vl4KkZlPetjhNK1eY5Psh2bCgCVDDCxFpKqLi2N5kTbmp5xBaGaAMNTU
FGmd87F40QKBgQCfJTX3bQ258t6D1awgP+kUe243Bt/uID0CJrdV0MVMGnQfPde6
IWohMXK+eOcIxVE3SrW9kpYHajkVwl9IQAubPaGGbwmhwC4joxHvCY3UhMOf1HGU
4nlYe8AkVEW9IxoDzut6ud/nkVxEAIIaUdgopzmIY5lD28/ZlJ8Z4sXZ/wKBgAne
n51jCsEeQNJYekZNMXY0NV+Z2f38LqrOx0yOjhtU+//+sABhy5se61lsThFtjs9U
FJ7Nu3zL2yIjzbOy7lhRqbQ7fMomZ4XNSWU3+pqX7aCRFUbraq2UQyI+M2RRluou
8uyIeuRqLP0l/x2AWRjsA/6CTWGcOaIIW2H34CDxAoGAUCdds3opxb3TAlpMcGYa
d4EKi3TmzC3EQ1PRctRbYXKcSVb0dhAdW93VMpRxh2KOE7gFvQb32Go/DbUpb98n
x7/hgAEy2aE4B7N9JSLxmChb5foOIQkDpPCxiIgGlHO9D65pUnrORoVAoWoazfeO
LR43sc5A+Y7zqRB1Zh1Jf6w=
-----END PRIVATE KEY-----`

// dtFuzzKeys returns the fixed keys the valid seeds are signed with. They are
// the same in every process, so that fuzzing workers, which run the setup
// again, recognise the seeds the coordinator made.
func dtFuzzKeys(tb testing.TB) []crypto.Signer {
	tb.Helper()
	d256 := sha256.Sum256([]byte("ztkit dpop fuzz P-256"))
	p256, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d256[:])
	require.NoError(tb, err)
	d384 := sha512.Sum384([]byte("ztkit dpop fuzz P-384"))
	p384, err := ecdsa.ParseRawPrivateKey(elliptic.P384(), d384[:])
	require.NoError(tb, err)
	seed := sha256.Sum256([]byte("ztkit dpop fuzz Ed25519"))
	block, _ := pem.Decode([]byte(dtFuzzRSAKey))
	require.NotNil(tb, block)
	rk, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(tb, err)
	return []crypto.Signer{p256, p384, ed25519.NewKeyFromSeed(seed[:]), rk.(*rsa.PrivateKey)}
}

// dtSentinels are the refusals Verify may return.
var dtSentinels = []error{
	dpop.ErrMissingProof, dpop.ErrMultipleProofs, dpop.ErrMalformedProof, dpop.ErrInvalidProofType,
	dpop.ErrUnsupportedAlgorithm, dpop.ErrInvalidProofKey, dpop.ErrInvalidProofSignature, dpop.ErrMethodMismatch,
	dpop.ErrURIMismatch, dpop.ErrProofExpired, dpop.ErrProofFromFuture, dpop.ErrReplayed,
	dpop.ErrReplayCheckUnavailable, dpop.ErrUseDPoPNonce, dpop.ErrAccessTokenHashMismatch, dpop.ErrBindingMismatch,
}

// dtFuzzVerify verifies proof with a fresh verifier and replay store on the clock dtNow.
func dtFuzzVerify(tb testing.TB, proof string) (*dpop.Proof, error) {
	tb.Helper()
	store, err := dpop.NewMemoryReplayStore(dpop.WithMaxEntries(4), dpop.WithClock(dtClock(dtNow)))
	require.NoError(tb, err)
	v, err := dpop.NewVerifier(dpop.WithClock(dtClock(dtNow)), dpop.WithReplayStore(store))
	require.NoError(tb, err)
	return v.Verify(context.Background(), proof, dtFuzzRequest)
}

// dtCheckAccepted checks, independently of the code under test, that an
// accepted proof is byte for byte a proof signed with one of keys (by
// thumbprint): its signature verifies with the standard library over exactly
// its first two parts, under that key, and Verify reported the claims those
// parts hold. Fuzzing cannot sign, so only the seeds' signed parts pass.
func dtCheckAccepted(proof string, p *dpop.Proof, keys map[string]crypto.PublicKey) error {
	pub, ok := keys[p.KeyThumbprint]
	if !ok {
		return fmt.Errorf("accepted with key %s, not a seed key", p.KeyThumbprint)
	}
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return fmt.Errorf("accepted with %d parts", len(parts))
	}
	dec := base64.RawURLEncoding.Strict()
	hb, err1 := dec.DecodeString(parts[0])
	payload, err2 := dec.DecodeString(parts[1])
	sig, err3 := dec.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("accepted with bad base64url: %w", err)
	}
	var h struct {
		Typ string          `json:"typ"`
		Alg string          `json:"alg"`
		JWK json.RawMessage `json:"jwk"`
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return fmt.Errorf("accepted with a header that is not JSON: %w", err)
	}
	if h.Alg != p.Algorithm {
		return fmt.Errorf("header alg %q, Verify reported %q", h.Alg, p.Algorithm)
	}
	input := []byte(parts[0] + "." + parts[1])
	if !dtVerifySig(pub, h.Alg, input, sig) {
		return fmt.Errorf("the standard library does not verify the signature with %s", h.Alg)
	}
	var c struct {
		JTI string  `json:"jti"`
		HTM string  `json:"htm"`
		IAT float64 `json:"iat"`
		ATH string  `json:"ath"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return fmt.Errorf("accepted with claims that are not JSON: %w", err)
	}
	if c.JTI != p.ID || c.HTM != dtFuzzRequest.Method || int64(c.IAT) != p.IssuedAt.Unix() || c.ATH != dpop.AccessTokenHash(dtFuzzToken) {
		return fmt.Errorf("claims %+v differ from what Verify reported (%s, %v)", c, p.ID, p.IssuedAt)
	}
	return nil
}

// dtVerifySig checks a JWS signature (RFC 7518 §3) with the standard library.
func dtVerifySig(pub crypto.PublicKey, alg string, input, sig []byte) bool {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		switch {
		case alg == "ES256" && size == 32:
			d := sha256.Sum256(input)
			return ecdsa.Verify(k, d[:], r, s)
		case alg == "ES384" && size == 48:
			d := sha512.Sum384(input)
			return ecdsa.Verify(k, d[:], r, s)
		}
	case ed25519.PublicKey:
		return (alg == "EdDSA" || alg == "Ed25519") && ed25519.Verify(k, input, sig)
	case *rsa.PublicKey:
		d := sha256.Sum256(input)
		switch alg {
		case "RS256":
			return rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig) == nil
		case "PS256":
			return rsa.VerifyPSS(k, crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
	}
	return false
}

// FuzzVerifyProof checks that Verify never panics, refuses only with the
// package's sentinels, and accepts nothing but proofs whose signed parts are
// byte for byte those of a valid seed from a Proofer: no mutation verifies.
func FuzzVerifyProof(f *testing.F) {
	keys := map[string]crypto.PublicKey{}
	var seeds []string
	for i, k := range dtFuzzKeys(f) {
		algs := []string{""}
		if _, ok := k.(*rsa.PrivateKey); ok {
			algs = []string{"PS256", "RS256"}
		}
		for _, alg := range algs {
			p := dtProofer(f, k, alg, dtNow)
			keys[p.Thumbprint()] = k.Public()
			proof := dtProof(f, p, dtFuzzRequest.Method, dtFuzzURL, dtFuzzToken, "")
			got, err := dtFuzzVerify(f, proof)
			require.NoError(f, err, "seed %d", i)
			require.NoError(f, dtCheckAccepted(proof, got, keys))
			seeds = append(seeds, proof)
		}
	}

	// Mutations of the valid seeds.
	base := seeds[0]
	parts := strings.Split(base, ".")
	other := strings.Split(seeds[1], ".")
	mutated := []string{
		parts[1] + "." + parts[0] + "." + parts[2], // header and payload swapped
		parts[0] + "." + parts[2] + "." + parts[1], // payload and signature swapped
		parts[0] + "." + parts[1] + "." + other[2], // signature of another proof
		parts[0] + "." + other[1] + "." + parts[2], // payload of another proof
		other[0] + "." + parts[1] + "." + parts[2], // header of another proof
		"!" + base[1:], // bad base64
		parts[0] + "=." + parts[1] + "." + parts[2],      // padding
		parts[0] + "." + parts[1] + "." + parts[2] + "A", // longer signature
		parts[0] + "." + parts[1] + ".",                  // no signature
		parts[0] + "." + parts[1],                        // two parts
		base + "." + parts[2],                            // four parts
		"",
		".",
		"..",
		strings.Repeat("A", 9000),
	}
	// Validly signed proofs with bad content, built by hand with a key that is
	// not a seed key.
	ec := dtECKey(f, elliptic.P256())
	jwk := dtJWK(f, ec.Public())
	header := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}
	claims := func(set map[string]any) map[string]any {
		c := map[string]any{"jti": "fuzz-jti", "htm": "POST", "htu": dtFuzzURL, "iat": dtNow.Unix(), "ath": dpop.AccessTokenHash(dtFuzzToken)}
		for k, v := range set {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	priv := dtJWK(f, ec.Public())
	d, err := ec.Bytes()
	require.NoError(f, err)
	priv["d"] = dtB64(d)
	nested := strings.Repeat("[", 500) + strings.Repeat("]", 500)
	handBuilt := []string{
		dtJWS(f, ec, "ES256", header, claims(map[string]any{"jti": strings.Repeat("j", 257)})),                   // jti too long
		dtJWS(f, ec, "ES256", header, claims(map[string]any{"jti": strings.Repeat("j", 8000)})),                  // proof too large
		dtJWS(f, ec, "ES256", header, []byte(`{"jti":"x","htm":"POST","htu":`+nested+`,"iat":1748779200}`)),      // nested JSON
		dtJWS(f, ec, "ES256", header, []byte(`{"jti":"x","htm":"POST","htu":"`+dtFuzzURL+`","iat":1748779200,`)), // truncated JSON
		dtJWS(f, ec, "ES256", map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": priv}, claims(nil)),       // private jwk
		dtJWS(f, ec, "ES256", map[string]any{"typ": "dpop+jwt", "alg": "ES256"}, claims(nil)),                    // no jwk
		dtJWS(f, ec, "ES256", map[string]any{"typ": "JWT", "alg": "ES256", "jwk": jwk}, claims(nil)),             // typ
		dtJWS(f, ec, "none", map[string]any{"typ": "dpop+jwt", "alg": "none", "jwk": jwk}, claims(nil)),
		dtJWS(f, ec, "HS256", map[string]any{"typ": "dpop+jwt", "alg": "HS256", "jwk": jwk}, claims(nil)),
		dtJWS(f, ec, "ES256", header, claims(map[string]any{"ath": nil})),                    // no ath
		dtJWS(f, ec, "ES256", header, claims(map[string]any{"htm": "GET"})),                  // htm
		dtJWS(f, ec, "ES256", header, claims(map[string]any{"htu": "https://evil.example"})), // htu
		dtJWS(f, ec, "ES256", header, claims(map[string]any{"iat": dtNow.Unix() - 3600})),    // old
		dtJWS(f, ec, "ES256", header, claims(map[string]any{"iat": 1e10})),                   // far future
		dtJWS(f, ec, "ES256", header, claims(map[string]any{"jti": nil})),                    // no jti
		dtJWS(f, dtECKey(f, elliptic.P256()), "ES256", header, claims(nil)),                  // signed by another key
	}
	for i, p := range handBuilt {
		_, err := dtFuzzVerify(f, p)
		require.Error(f, err, "hand-built seed %d must be refused", i)
	}
	for _, s := range append(append(seeds, mutated...), handBuilt...) {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, proof string) {
		p, err := dtFuzzVerify(t, proof)
		if err != nil {
			for _, s := range dtSentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("Verify(%q) = %v, which is no sentinel of package dpop", proof, err)
		}
		if err := dtCheckAccepted(proof, p, keys); err != nil {
			t.Fatalf("Verify accepted %q: %v", proof, err)
		}
	})
}

// FuzzAuthority checks that a request's Authority never panics the request
// verifier and passes the check only when it names the external URL's host
// and port, in any letter case, with the default port or none: every other
// authority is refused with ErrMisdirected.
func FuzzAuthority(f *testing.F) {
	for _, s := range []string{"api.shop.example", "api.shop.example:443", "API.SHOP.EXAMPLE:", "api.shop.example:0443",
		"evil.example", "[::1]:443", "::1", "u@api.shop.example", "api.shop.example:443:443", "[api.shop.example]:443", " api.shop.example"} {
		f.Add(s)
	}
	rv := dtNewRig(f).verifier(f, nil, nil)
	f.Fuzz(func(t *testing.T, authority string) {
		req := &inbound.Request{Method: http.MethodPost, Path: "/shop.payments.v1.Payments/Charge", Authority: authority}
		_, err := rv.VerifyInbound(context.Background(), req)
		switch a := strings.ToLower(authority); {
		case a == "" || a == "api.shop.example" || a == "api.shop.example:443":
			assert.ErrorIs(t, err, dpop.ErrMissingAccessToken)
		default:
			assert.ErrorIs(t, err, dpop.ErrMisdirected)
		}
	})
}
