package tokens_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
)

// Shared helpers for the tokens_test package. They build keys, hostile tokens
// and verifiers by hand, independently of the code under test.

const (
	testIssuer   = "https://issuer.example"
	testAudience = "https://api.example"
	testSubject  = "subject-5b1f9e"
	testClientID = "client-a7c3"
)

// testNow is the instant every injected clock starts at (whole seconds, so
// NumericDates round-trip exactly).
var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// testClock is a settable clock for WithClock; safe for concurrent use.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// RSA key generation is slow (more so under -race): share a few keys.
var (
	testRSAKeyA = sync.OnceValue(func() *rsa.PrivateKey { return genRSA(2048) })
	testRSAKeyB = sync.OnceValue(func() *rsa.PrivateKey { return genRSA(2048) })
	testRSA1024 = sync.OnceValue(func() *rsa.PrivateKey { return genRSA(1024) })
)

func genRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err) // only in test setup
	}
	return k
}

func newECKey(tb testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	require.NoError(tb, err)
	return k
}

func newEdKey(tb testing.TB) ed25519.PrivateKey {
	tb.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(tb, err)
	return k
}

func newSigningKey(tb testing.TB, s crypto.Signer, alg string) *tokens.SigningKey {
	tb.Helper()
	k, err := tokens.NewSigningKey(s, alg)
	require.NoError(tb, err)
	return k
}

func newKeySet(tb testing.TB, k *tokens.SigningKey, opts ...tokens.KeySetOption) *tokens.KeySet {
	tb.Helper()
	ks, err := tokens.NewKeySet(k, opts...)
	require.NoError(tb, err)
	return ks
}

func newIssuer(tb testing.TB, ks *tokens.KeySet, opts ...tokens.IssuerOption) *tokens.Issuer {
	tb.Helper()
	iss, err := tokens.NewIssuer(testIssuer, ks, opts...)
	require.NoError(tb, err)
	return iss
}

func newVerifier(tb testing.TB, src tokens.KeySource, opts ...tokens.VerifierOption) *tokens.Verifier {
	tb.Helper()
	v, err := tokens.NewVerifier(src, testIssuer, []string{testAudience}, opts...)
	require.NoError(tb, err)
	return v
}

// basicRequest is a valid token request for testAudience.
func basicRequest() tokens.TokenRequest {
	return tokens.TokenRequest{Subject: testSubject, ClientID: testClientID, Audience: []string{testAudience}, Scopes: []string{"read"}}
}

func issue(tb testing.TB, iss *tokens.Issuer, r tokens.TokenRequest) string {
	tb.Helper()
	tok, err := iss.Issue(context.Background(), r)
	require.NoError(tb, err)
	return tok
}

// staticSource is a KeySource over a fixed map, for keys a KeySet would refuse.
type staticSource map[string]*tokens.PublicKey

func (s staticSource) VerificationKey(_ context.Context, kid string) (*tokens.PublicKey, error) {
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, tokens.ErrUnknownKey
}

// errSource fails every lookup with err.
type errSource struct{ err error }

func (s errSource) VerificationKey(context.Context, string) (*tokens.PublicKey, error) {
	return nil, s.err
}

func b64(b []byte) string          { return base64.RawURLEncoding.EncodeToString(b) }
func b64s(s string) string         { return b64([]byte(s)) }
func sha(b []byte) []byte          { s := sha256.Sum256(b); return s[:] }
func thumbprintOf(s string) string { return b64(sha([]byte(s))) }

// sign makes a JWS signature (RFC 7518 §3) over input with key, directly with
// the standard library. key is *ecdsa.PrivateKey, ed25519.PrivateKey,
// *rsa.PrivateKey or, for HS256, []byte.
func sign(tb testing.TB, alg string, key any, input []byte) []byte {
	tb.Helper()
	switch alg {
	case "ES256", "ES384":
		k := key.(*ecdsa.PrivateKey)
		var h []byte
		if alg == "ES256" {
			h = sha(input)
		} else {
			s := sha512.Sum384(input)
			h = s[:]
		}
		r, s, err := ecdsa.Sign(rand.Reader, k, h)
		require.NoError(tb, err)
		size := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out
	case "EdDSA", "Ed25519":
		return ed25519.Sign(key.(ed25519.PrivateKey), input)
	case "RS256":
		sig, err := rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, sha(input))
		require.NoError(tb, err)
		return sig
	case "PS256":
		sig, err := rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, sha(input), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		require.NoError(tb, err)
		return sig
	case "HS256":
		m := hmac.New(sha256.New, key.([]byte))
		m.Write(input)
		return m.Sum(nil)
	}
	tb.Fatalf("sign: no algorithm %q", alg)
	return nil
}

// forge assembles a compact JWS from a raw header and payload, signed by sig.
func forge(header, payload string, sig func(input []byte) []byte) string {
	in := b64s(header) + "." + b64s(payload)
	return in + "." + b64(sig([]byte(in)))
}

// stdHeader is a valid at+jwt header.
func stdHeader(alg, kid string) string {
	return fmt.Sprintf(`{"alg":%q,"typ":"at+jwt","kid":%q}`, alg, kid)
}

// claimsJSON is a valid RFC 9068 claims set at testNow, changed by mod.
func claimsJSON(tb testing.TB, mod func(c map[string]any)) string {
	tb.Helper()
	c := map[string]any{
		"iss":       testIssuer,
		"sub":       testSubject,
		"aud":       testAudience,
		"exp":       testNow.Add(5 * time.Minute).Unix(),
		"iat":       testNow.Unix(),
		"jti":       "jti-0d1e2f",
		"client_id": testClientID,
		"scope":     "read write",
	}
	if mod != nil {
		mod(c)
	}
	b, err := json.Marshal(c)
	require.NoError(tb, err)
	return string(b)
}

func publicJWK(tb testing.TB, pub crypto.PublicKey, kid string) string {
	tb.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: pub, KeyID: kid})
	require.NoError(tb, err)
	return string(b)
}

// verifierFixture is an issuer's P-256 key in a KeySet and a verifier of its
// tokens at testNow, plus keys an attacker or another issuer holds.
type verifierFixture struct {
	ec      *ecdsa.PrivateKey
	kid     string
	ks      *tokens.KeySet
	v       *tokens.Verifier
	ed      ed25519.PrivateKey
	edKS    *tokens.KeySet
	edKid   string
	rogue   *ecdsa.PrivateKey
	rsa     *rsa.PrivateKey
	weakRSA *rsa.PrivateKey
}

func newVerifierFixture(tb testing.TB) *verifierFixture {
	tb.Helper()
	f := &verifierFixture{ec: newECKey(tb, elliptic.P256()), ed: newEdKey(tb), rogue: newECKey(tb, elliptic.P256()), rsa: testRSAKeyA(), weakRSA: testRSA1024()}
	sk := newSigningKey(tb, f.ec, "")
	f.kid = sk.KeyID()
	f.ks = newKeySet(tb, sk)
	f.v = newVerifier(tb, f.ks, tokens.WithClock(fixedClock(testNow)))
	esk := newSigningKey(tb, f.ed, "")
	f.edKid = esk.KeyID()
	f.edKS = newKeySet(tb, esk)
	return f
}

// es256 signs header and claims with the issuer's key.
func (f *verifierFixture) es256(tb testing.TB, header, payload string) string {
	tb.Helper()
	return forge(header, payload, func(in []byte) []byte { return sign(tb, "ES256", f.ec, in) })
}

// good is a valid token whose claims are changed by mod.
func (f *verifierFixture) good(tb testing.TB, mod func(map[string]any)) string {
	tb.Helper()
	return f.es256(tb, stdHeader("ES256", f.kid), claimsJSON(tb, mod))
}

// withHeader is a valid token, signed by the issuer, under header.
func (f *verifierFixture) withHeader(tb testing.TB, header string) string {
	tb.Helper()
	return f.es256(tb, header, claimsJSON(tb, nil))
}

type refusedCase struct {
	name  string
	want  error
	token func(tb testing.TB, f *verifierFixture) string
	// verifier replaces the fixture's verifier when set.
	verifier func(tb testing.TB, f *verifierFixture) *tokens.Verifier
}

func refusedCases() []refusedCase {
	at := func(d time.Duration) int64 { return testNow.Add(d).Unix() }
	del := func(name string) func(map[string]any) { return func(c map[string]any) { delete(c, name) } }
	set := func(name string, v any) func(map[string]any) { return func(c map[string]any) { c[name] = v } }
	claims := func(mod func(map[string]any)) func(testing.TB, *verifierFixture) string {
		return func(tb testing.TB, f *verifierFixture) string { return f.good(tb, mod) }
	}
	header := func(format string) func(testing.TB, *verifierFixture) string {
		return func(tb testing.TB, f *verifierFixture) string {
			return f.withHeader(tb, strings.ReplaceAll(format, "KID", f.kid))
		}
	}
	payload := func(p string) func(testing.TB, *verifierFixture) string {
		return func(tb testing.TB, f *verifierFixture) string { return f.es256(tb, stdHeader("ES256", f.kid), p) }
	}
	hmacConfusion := func(keyBytes func(tb testing.TB, f *verifierFixture) []byte) func(testing.TB, *verifierFixture) string {
		return func(tb testing.TB, f *verifierFixture) string {
			k := keyBytes(tb, f)
			return forge(stdHeader("HS256", f.kid), claimsJSON(tb, nil), func(in []byte) []byte { return sign(tb, "HS256", k, in) })
		}
	}
	embedded := func(member string) func(testing.TB, *verifierFixture) string {
		return func(tb testing.TB, f *verifierFixture) string {
			return f.withHeader(tb, fmt.Sprintf(`{"alg":"ES256","typ":"at+jwt","kid":%q,%s}`, f.kid, member))
		}
	}
	mutateSig := func(m func(tb testing.TB, sig []byte) []byte) func(testing.TB, *verifierFixture) string {
		return func(tb testing.TB, f *verifierFixture) string {
			parts := strings.Split(f.good(tb, nil), ".")
			sig, err := base64.RawURLEncoding.DecodeString(parts[2])
			require.NoError(tb, err)
			return parts[0] + "." + parts[1] + "." + b64(m(tb, sig))
		}
	}
	wrap := func(pre, post string) func(testing.TB, *verifierFixture) string {
		return func(tb testing.TB, f *verifierFixture) string { return pre + f.good(tb, nil) + post }
	}
	return []refusedCase{
		// Times (RFC 7519 §4.1.4-6), default leeway 30s at testNow.
		{name: "expired past leeway", want: tokens.ErrExpired, token: claims(set("exp", at(-31*time.Second)))},
		{name: "expired exactly at leeway", want: tokens.ErrExpired, token: claims(set("exp", at(-30*time.Second)))},
		{name: "expired long ago", want: tokens.ErrExpired, token: claims(func(c map[string]any) { c["iat"], c["exp"] = at(-48*time.Hour), at(-47*time.Hour) })},
		{name: "nbf in the future", want: tokens.ErrNotYetValid, token: claims(set("nbf", at(31*time.Second)))},
		{name: "iat in the future", want: tokens.ErrIssuedInFuture, token: claims(func(c map[string]any) { c["iat"], c["exp"] = at(31*time.Second), at(5*time.Minute) })},
		{name: "lifetime longer than max", want: tokens.ErrLifetimeTooLong, token: claims(func(c map[string]any) { c["iat"], c["exp"] = at(-30*time.Minute), at(30*time.Minute+time.Second) })},
		{name: "exp equals iat", want: tokens.ErrExpired, token: claims(set("exp", at(0)))},
		{name: "exp before iat", want: tokens.ErrExpired, token: claims(func(c map[string]any) { c["iat"], c["exp"] = at(10*time.Second), at(5*time.Second) })},
		{name: "exp equals nbf", want: tokens.ErrExpired, token: claims(func(c map[string]any) { c["nbf"], c["exp"] = at(time.Minute), at(time.Minute) })},

		// Issuer and audience.
		{name: "wrong iss", want: tokens.ErrInvalidIssuer, token: claims(set("iss", "https://evil.example"))},
		{name: "iss with trailing slash", want: tokens.ErrInvalidIssuer, token: claims(set("iss", testIssuer+"/"))},
		{name: "iss differs in case", want: tokens.ErrInvalidIssuer, token: claims(set("iss", strings.ToUpper(testIssuer)))},
		{name: "wrong aud", want: tokens.ErrInvalidAudience, token: claims(set("aud", "https://other.example"))},
		{name: "aud array without ours", want: tokens.ErrInvalidAudience, token: claims(set("aud", []string{"https://a.example", "https://b.example"}))},
		{name: "aud empty string", want: tokens.ErrInvalidAudience, token: claims(set("aud", ""))},

		// RFC 9068 §2.2 required claims, one missing at a time.
		{name: "missing iss", want: tokens.ErrMissingClaim, token: claims(del("iss"))},
		{name: "missing sub", want: tokens.ErrMissingClaim, token: claims(del("sub"))},
		{name: "missing aud", want: tokens.ErrMissingClaim, token: claims(del("aud"))},
		{name: "missing exp", want: tokens.ErrMissingClaim, token: claims(del("exp"))},
		{name: "missing iat", want: tokens.ErrMissingClaim, token: claims(del("iat"))},
		{name: "missing jti", want: tokens.ErrMissingClaim, token: claims(del("jti"))},
		{name: "missing client_id", want: tokens.ErrMissingClaim, token: claims(del("client_id"))},
		{name: "empty sub", want: tokens.ErrMissingClaim, token: claims(set("sub", ""))},
		{name: "empty aud array", want: tokens.ErrMissingClaim, token: claims(set("aud", []string{}))},

		// Claims of the wrong JSON type.
		{name: "exp as string", want: tokens.ErrMissingClaim, token: claims(set("exp", fmt.Sprint(at(5*time.Minute))))},
		{name: "aud as number", want: tokens.ErrMissingClaim, token: claims(set("aud", 42))},
		{name: "aud array with a number", want: tokens.ErrMissingClaim, token: claims(set("aud", []any{testAudience, 7}))},
		{name: "iat as bool", want: tokens.ErrMissingClaim, token: claims(set("iat", true))},
		{name: "sub as object", want: tokens.ErrMissingClaim, token: claims(set("sub", map[string]any{"id": testSubject}))},
		{name: "client_id null", want: tokens.ErrMissingClaim, token: claims(set("client_id", nil))},
		{name: "scope as array", want: tokens.ErrInvalidScope, token: claims(set("scope", []string{"read"}))},
		{name: "negative exp", want: tokens.ErrMissingClaim, token: claims(set("exp", -1))},
		{name: "exp past year 9999", want: tokens.ErrMissingClaim, token: claims(set("exp", 1e300))},
		{name: "cnf as string", want: tokens.ErrUnsupportedConfirmation, token: claims(set("cnf", "jkt"))},
		{name: "cnf jkt empty", want: tokens.ErrUnsupportedConfirmation, token: claims(set("cnf", map[string]any{"jkt": ""}))},

		// Algorithms (RFC 8725 §3.1, §3.2).
		{name: "alg none with empty signature", want: tokens.ErrMalformed, token: func(tb testing.TB, f *verifierFixture) string {
			// An empty signature part fails the syntax check, which runs before the alg check.
			return b64s(`{"alg":"none","typ":"at+jwt"}`) + "." + b64s(claimsJSON(tb, nil)) + "."
		}},
		{name: "alg none with a signature", want: tokens.ErrUnsupportedAlgorithm, token: func(tb testing.TB, f *verifierFixture) string {
			return f.withHeader(tb, stdHeader("none", f.kid))
		}},
		{name: "alg None capitalised", want: tokens.ErrUnsupportedAlgorithm, token: header(`{"alg":"None","typ":"at+jwt","kid":"KID"}`)},
		{name: "alg es256 lower case", want: tokens.ErrUnsupportedAlgorithm, token: header(`{"alg":"es256","typ":"at+jwt","kid":"KID"}`)},
		{name: "alg ES512", want: tokens.ErrUnsupportedAlgorithm, token: header(`{"alg":"ES512","typ":"at+jwt","kid":"KID"}`)},
		{name: "alg as number", want: tokens.ErrMalformed, token: header(`{"alg":256,"typ":"at+jwt","kid":"KID"}`)},
		{name: "HS256 keyed with the public key PEM", want: tokens.ErrUnsupportedAlgorithm, token: hmacConfusion(func(tb testing.TB, f *verifierFixture) []byte {
			der, err := x509.MarshalPKIXPublicKey(&f.ec.PublicKey)
			require.NoError(tb, err)
			return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		})},
		{name: "HS256 keyed with the public key DER", want: tokens.ErrUnsupportedAlgorithm, token: hmacConfusion(func(tb testing.TB, f *verifierFixture) []byte {
			der, err := x509.MarshalPKIXPublicKey(&f.ec.PublicKey)
			require.NoError(tb, err)
			return der
		})},
		{name: "HS256 keyed with the public JWK JSON", want: tokens.ErrUnsupportedAlgorithm, token: hmacConfusion(func(tb testing.TB, f *verifierFixture) []byte {
			return []byte(publicJWK(tb, &f.ec.PublicKey, f.kid))
		})},
		{name: "HS256 keyed with the uncompressed point", want: tokens.ErrUnsupportedAlgorithm, token: hmacConfusion(func(tb testing.TB, f *verifierFixture) []byte {
			b, err := f.ec.PublicKey.Bytes()
			require.NoError(tb, err)
			return b
		})},
		{name: "ES384 with the P-256 key", want: tokens.ErrAlgorithmKeyMismatch, token: func(tb testing.TB, f *verifierFixture) string {
			return forge(stdHeader("ES384", f.kid), claimsJSON(tb, nil), func(in []byte) []byte { return sign(tb, "ES384", f.ec, in) })
		}},
		{name: "ES384 with a P-256 key that has no alg", want: tokens.ErrAlgorithmKeyMismatch, token: func(tb testing.TB, f *verifierFixture) string {
			return forge(stdHeader("ES384", "k"), claimsJSON(tb, nil), func(in []byte) []byte { return sign(tb, "ES384", f.ec, in) })
		}, verifier: func(tb testing.TB, f *verifierFixture) *tokens.Verifier {
			return newVerifier(tb, staticSource{"k": {KeyID: "k", Key: &f.ec.PublicKey}}, tokens.WithClock(fixedClock(testNow)))
		}},
		{name: "EdDSA header with the P-256 key", want: tokens.ErrAlgorithmKeyMismatch, token: func(tb testing.TB, f *verifierFixture) string {
			return forge(stdHeader("EdDSA", "k"), claimsJSON(tb, nil), func(in []byte) []byte { return sign(tb, "EdDSA", f.ed, in) })
		}, verifier: func(tb testing.TB, f *verifierFixture) *tokens.Verifier {
			return newVerifier(tb, staticSource{"k": {KeyID: "k", Key: &f.ec.PublicKey}}, tokens.WithClock(fixedClock(testNow)))
		}},
		{name: "RS256 with a 1024-bit RSA key", want: tokens.ErrWeakKey, token: func(tb testing.TB, f *verifierFixture) string {
			return forge(stdHeader("RS256", "weak"), claimsJSON(tb, nil), func(in []byte) []byte { return sign(tb, "RS256", f.weakRSA, in) })
		}, verifier: func(tb testing.TB, f *verifierFixture) *tokens.Verifier {
			return newVerifier(tb, staticSource{"weak": {KeyID: "weak", Key: &f.weakRSA.PublicKey}}, tokens.WithClock(fixedClock(testNow)))
		}},
		{name: "key's JWK alg PS256 but header RS256", want: tokens.ErrAlgorithmKeyMismatch, token: func(tb testing.TB, f *verifierFixture) string {
			// A valid RS256 signature: only the key's alg restriction refuses it.
			return forge(stdHeader("RS256", "rsa"), claimsJSON(tb, nil), func(in []byte) []byte { return sign(tb, "RS256", f.rsa, in) })
		}, verifier: func(tb testing.TB, f *verifierFixture) *tokens.Verifier {
			return newVerifier(tb, staticSource{"rsa": {KeyID: "rsa", Key: &f.rsa.PublicKey, Algorithm: "PS256"}}, tokens.WithClock(fixedClock(testNow)))
		}},
		{name: "key's JWK alg ES256 but header ES384", want: tokens.ErrAlgorithmKeyMismatch, token: func(tb testing.TB, f *verifierFixture) string {
			return forge(stdHeader("ES384", "k"), claimsJSON(tb, nil), func(in []byte) []byte { return sign(tb, "ES384", f.ec, in) })
		}, verifier: func(tb testing.TB, f *verifierFixture) *tokens.Verifier {
			return newVerifier(tb, staticSource{"k": {KeyID: "k", Key: &f.ec.PublicKey, Algorithm: "ES256"}}, tokens.WithClock(fixedClock(testNow)))
		}},
		{name: "EdDSA not on the allow-list", want: tokens.ErrUnsupportedAlgorithm, token: func(tb testing.TB, f *verifierFixture) string {
			return forge(stdHeader("EdDSA", f.edKid), claimsJSON(tb, nil), func(in []byte) []byte { return sign(tb, "EdDSA", f.ed, in) })
		}, verifier: func(tb testing.TB, f *verifierFixture) *tokens.Verifier {
			return newVerifier(tb, f.edKS, tokens.WithAlgorithms("ES256"), tokens.WithClock(fixedClock(testNow)))
		}},

		// Keys.
		{name: "stranger key under the issuer's kid", want: tokens.ErrInvalidSignature, token: func(tb testing.TB, f *verifierFixture) string {
			return forge(stdHeader("ES256", f.kid), claimsJSON(tb, nil), func(in []byte) []byte { return sign(tb, "ES256", f.rogue, in) })
		}},
		{name: "unknown kid", want: tokens.ErrUnknownKey, token: header(`{"alg":"ES256","typ":"at+jwt","kid":"no-such-key"}`)},
		{name: "no kid", want: tokens.ErrUnknownKey, token: header(`{"alg":"ES256","typ":"at+jwt"}`)},
		{name: "empty kid", want: tokens.ErrUnknownKey, token: header(`{"alg":"ES256","typ":"at+jwt","kid":""}`)},
		{name: "kid as number", want: tokens.ErrMalformed, token: header(`{"alg":"ES256","typ":"at+jwt","kid":1}`)},
		{name: "key source unavailable", want: tokens.ErrKeySetUnavailable, token: claims(nil), verifier: func(tb testing.TB, f *verifierFixture) *tokens.Verifier {
			return newVerifier(tb, errSource{fmt.Errorf("%w: test", tokens.ErrKeySetUnavailable)}, tokens.WithClock(fixedClock(testNow)))
		}},

		// Keys embedded in the header (RFC 8725 §3.10; RFC 7515 §4.1.2-7).
		{name: "embedded jwk signed by the key it embeds", want: tokens.ErrEmbeddedKey, token: func(tb testing.TB, f *verifierFixture) string {
			h := fmt.Sprintf(`{"alg":"ES256","typ":"at+jwt","kid":%q,"jwk":%s}`, f.kid, publicJWK(tb, &f.rogue.PublicKey, ""))
			return forge(h, claimsJSON(tb, nil), func(in []byte) []byte { return sign(tb, "ES256", f.rogue, in) })
		}},
		{name: "jku", want: tokens.ErrEmbeddedKey, token: embedded(`"jku":"https://evil.example/jwks.json"`)},
		{name: "x5u", want: tokens.ErrEmbeddedKey, token: embedded(`"x5u":"https://evil.example/cert.pem"`)},
		{name: "x5c", want: tokens.ErrEmbeddedKey, token: func(tb testing.TB, f *verifierFixture) string {
			h := fmt.Sprintf(`{"alg":"ES256","typ":"at+jwt","kid":%q,"x5c":[%q]}`, f.kid, base64.StdEncoding.EncodeToString(selfSigned(tb, f.rogue)))
			return forge(h, claimsJSON(tb, nil), func(in []byte) []byte { return sign(tb, "ES256", f.rogue, in) })
		}},
		{name: "x5t", want: tokens.ErrEmbeddedKey, token: embedded(`"x5t":"` + b64(make([]byte, 20)) + `"`)},
		{name: "x5t#S256", want: tokens.ErrEmbeddedKey, token: embedded(`"x5t#S256":"` + b64(make([]byte, 32)) + `"`)},

		// crit and typ (RFC 7515 §4.1.11; RFC 9068 §2.1, §4).
		{name: "unknown crit", want: tokens.ErrUnknownCritical, token: header(`{"alg":"ES256","typ":"at+jwt","kid":"KID","crit":["urn:example:ext"],"urn:example:ext":true}`)},
		{name: "crit naming a registered member", want: tokens.ErrUnknownCritical, token: header(`{"alg":"ES256","typ":"at+jwt","kid":"KID","crit":["exp"],"exp":1}`)},
		{name: "typ JWT", want: tokens.ErrInvalidType, token: header(`{"alg":"ES256","typ":"JWT","kid":"KID"}`)},
		{name: "typ application/jwt", want: tokens.ErrInvalidType, token: header(`{"alg":"ES256","typ":"application/jwt","kid":"KID"}`)},
		{name: "typ dpop+jwt", want: tokens.ErrInvalidType, token: header(`{"alg":"ES256","typ":"dpop+jwt","kid":"KID"}`)},
		{name: "typ missing", want: tokens.ErrInvalidType, token: header(`{"alg":"ES256","kid":"KID"}`)},
		{name: "typ empty", want: tokens.ErrInvalidType, token: header(`{"alg":"ES256","typ":"","kid":"KID"}`)},
		{name: "typ with a NUL suffix", want: tokens.ErrInvalidType, token: header(`{"alg":"ES256","typ":"at+jwt\u0000","kid":"KID"}`)},
		{name: "typ application/ twice", want: tokens.ErrInvalidType, token: header(`{"alg":"ES256","typ":"application/application/at+jwt","kid":"KID"}`)},
		{name: "typ as array", want: tokens.ErrMalformed, token: header(`{"alg":"ES256","typ":["at+jwt"],"kid":"KID"}`)},

		// Header syntax.
		{name: "duplicate alg", want: tokens.ErrMalformed, token: header(`{"alg":"ES256","alg":"ES256","typ":"at+jwt","kid":"KID"}`)},
		{name: "duplicate alg via escape", want: tokens.ErrMalformed, token: header(`{"alg":"ES256","\u0061lg":"none","typ":"at+jwt","kid":"KID"}`)},
		{name: "ALG does not count as alg", want: tokens.ErrMalformed, token: header(`{"ALG":"ES256","typ":"at+jwt","kid":"KID"}`)},
		{name: "b64 false", want: tokens.ErrMalformed, token: header(`{"alg":"ES256","typ":"at+jwt","kid":"KID","b64":false,"crit":["b64"]}`)},
		{name: "header not JSON", want: tokens.ErrMalformed, token: header(`alg=ES256`)},
		{name: "header with trailing data", want: tokens.ErrMalformed, token: header(`{"alg":"ES256","typ":"at+jwt","kid":"KID"} {}`)},

		// Compact serialization (RFC 7515 §7.1, §2).
		{name: "JWE-shaped five parts", want: tokens.ErrMalformed, token: func(tb testing.TB, f *verifierFixture) string {
			return strings.Join([]string{b64s(`{"alg":"RSA-OAEP","enc":"A256GCM"}`), b64(make([]byte, 256)), b64(make([]byte, 12)), b64s(claimsJSON(tb, nil)), b64(make([]byte, 16))}, ".")
		}},
		{name: "extra dot and part", want: tokens.ErrMalformed, token: wrap("", "."+b64s("x"))},
		{name: "trailing dot", want: tokens.ErrMalformed, token: wrap("", ".")},
		{name: "two parts", want: tokens.ErrMalformed, token: func(tb testing.TB, f *verifierFixture) string {
			return b64s(stdHeader("ES256", f.kid)) + "." + b64s(claimsJSON(tb, nil))
		}},
		{name: "padding in a segment", want: tokens.ErrMalformed, token: func(tb testing.TB, f *verifierFixture) string {
			p := strings.Split(f.good(tb, nil), ".")
			require.NotZero(tb, len(p[2])%4, "precondition: the signature needs padding")
			return p[0] + "." + p[1] + "." + p[2] + strings.Repeat("=", 4-len(p[2])%4)
		}},
		{name: "standard base64 alphabet", want: tokens.ErrMalformed, token: func(tb testing.TB, f *verifierFixture) string {
			p := strings.Split(f.good(tb, nil), ".")
			sig, err := base64.RawURLEncoding.DecodeString(p[2])
			require.NoError(tb, err)
			std := base64.RawStdEncoding.EncodeToString(sig)
			if std == p[2] { // no '-' or '_' in this signature: put a '+' in
				sig[0] = 0xf8
				std = base64.RawStdEncoding.EncodeToString(sig)
			}
			require.True(tb, strings.ContainsAny(std, "+/"), "precondition: standard-alphabet characters")
			return p[0] + "." + p[1] + "." + std
		}},
		{name: "non-canonical trailing bits", want: tokens.ErrMalformed, token: func(tb testing.TB, f *verifierFixture) string {
			p := strings.Split(f.good(tb, nil), ".")
			// A 64-byte ES256 signature ends in a 2-character group whose last
			// character carries 4 unused bits; set one.
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, p[2][len(p[2])-1])
			require.Zero(tb, last&0xf, "precondition: canonical encoding")
			sig := p[2][:len(p[2])-1] + string(alphabet[last|1])
			lenient, err := base64.RawURLEncoding.DecodeString(sig)
			require.NoError(tb, err)
			canonical, _ := base64.RawURLEncoding.DecodeString(p[2])
			require.Equal(tb, canonical, lenient, "precondition: a lenient decoder reads the same signature")
			return p[0] + "." + p[1] + "." + sig
		}},
		{name: "larger than max size", want: tokens.ErrMalformed, token: claims(set("pad", strings.Repeat("a", tokens.DefaultMaxTokenSize)))},
		{name: "empty string", want: tokens.ErrMalformed, token: func(testing.TB, *verifierFixture) string { return "" }},
		{name: "only dots", want: tokens.ErrMalformed, token: func(testing.TB, *verifierFixture) string { return ".." }},
		{name: "leading space", want: tokens.ErrMalformed, token: wrap(" ", "")},
		{name: "wrapped in spaces", want: tokens.ErrMalformed, token: wrap(" ", " ")},
		{name: "Bearer prefix", want: tokens.ErrMalformed, token: wrap("Bearer ", "")},
		// Go's base64 decoders skip CR and LF even in Strict mode: one token,
		// many spellings, unless the parser refuses them itself.
		{name: "trailing newline", want: tokens.ErrMalformed, token: wrap("", "\n")},
		{name: "trailing CRLF", want: tokens.ErrMalformed, token: wrap("", "\r\n")},
		{name: "newline inside the signature", want: tokens.ErrMalformed, token: func(tb testing.TB, f *verifierFixture) string {
			tok := f.good(tb, nil)
			i := strings.LastIndexByte(tok, '.') + 10
			return tok[:i] + "\n" + tok[i:]
		}},
		{name: "newline inside the header", want: tokens.ErrMalformed, token: func(tb testing.TB, f *verifierFixture) string {
			tok := f.good(tb, nil)
			return tok[:8] + "\r\n" + tok[8:]
		}},
		{name: "NUL byte inside the payload", want: tokens.ErrMalformed, token: func(tb testing.TB, f *verifierFixture) string {
			tok := f.good(tb, nil)
			i := strings.IndexByte(tok, '.') + 8
			return tok[:i] + "\x00" + tok[i:]
		}},
		{name: "payload not JSON", want: tokens.ErrMalformed, token: payload(`iss=` + testIssuer)},
		{name: "payload JSON array", want: tokens.ErrMalformed, token: func(tb testing.TB, f *verifierFixture) string {
			return f.es256(tb, stdHeader("ES256", f.kid), "["+claimsJSON(tb, nil)+"]")
		}},
		{name: "payload JSON null", want: tokens.ErrMalformed, token: payload(`null`)},
		{name: "payload with duplicate sub", want: tokens.ErrMalformed, token: func(tb testing.TB, f *verifierFixture) string {
			c := claimsJSON(tb, nil)
			return f.es256(tb, stdHeader("ES256", f.kid), `{"sub":"admin",`+c[1:])
		}},
		{name: "payload with trailing data", want: tokens.ErrMalformed, token: func(tb testing.TB, f *verifierFixture) string {
			return f.es256(tb, stdHeader("ES256", f.kid), claimsJSON(tb, nil)+`{}`)
		}},

		// Signatures.
		{name: "signature bit flipped", want: tokens.ErrInvalidSignature, token: mutateSig(func(_ testing.TB, sig []byte) []byte { sig[5] ^= 0x01; return sig })},
		{name: "signature truncated", want: tokens.ErrInvalidSignature, token: mutateSig(func(_ testing.TB, sig []byte) []byte { return sig[:63] })},
		{name: "signature all zeros", want: tokens.ErrInvalidSignature, token: mutateSig(func(_ testing.TB, sig []byte) []byte { return make([]byte, 64) })},
		{name: "ES256 signature in ASN.1 DER", want: tokens.ErrInvalidSignature, token: func(tb testing.TB, f *verifierFixture) string {
			return forge(stdHeader("ES256", f.kid), claimsJSON(tb, nil), func(in []byte) []byte {
				der, err := ecdsa.SignASN1(rand.Reader, f.ec, sha(in))
				require.NoError(tb, err)
				return der
			})
		}},
		{name: "payload swapped under another signature", want: tokens.ErrInvalidSignature, token: func(tb testing.TB, f *verifierFixture) string {
			a := strings.Split(f.good(tb, nil), ".")
			b := strings.Split(f.good(tb, func(c map[string]any) { c["scope"] = "admin" }), ".")
			return a[0] + "." + b[1] + "." + a[2]
		}},
	}
}

// selfSigned returns a self-signed certificate's DER for key.
func selfSigned(tb testing.TB, key *ecdsa.PrivateKey) []byte {
	tb.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "evil"}, NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(tb, err)
	return der
}

// TestVerifyRefuses presents hostile and broken tokens, each of which must be
// refused with its own sentinel, no claims and an error that repeats no part
// of the token.
func TestVerifyRefuses(t *testing.T) {
	f := newVerifierFixture(t)
	cases := refusedCases()
	require.GreaterOrEqual(t, len(cases), 30)
	seen := map[string]bool{}
	for _, tc := range cases {
		require.False(t, seen[tc.name], "duplicate case name %q", tc.name)
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token(t, f)
			v := f.v
			if tc.verifier != nil {
				v = tc.verifier(t, f)
			}
			// Twice: a refused token must not be cached as good.
			for range 2 {
				claims, err := v.Verify(context.Background(), tok)
				require.Error(t, err)
				assert.ErrorIs(t, err, tc.want)
				assert.Nil(t, claims)
				assertNoTokenInError(t, err, tok)
			}
		})
	}
}

// assertNoTokenInError checks that err repeats neither the token nor any part
// of it, nor the claim values that identify its subject.
func assertNoTokenInError(tb testing.TB, err error, tok string) {
	tb.Helper()
	msg := err.Error()
	assert.True(tb, strings.HasPrefix(msg, "tokens: "), "error %q lacks the package prefix", msg)
	if tok != "" {
		assert.NotContains(tb, msg, tok)
	}
	for _, part := range strings.FieldsFunc(tok, func(r rune) bool { return r == '.' || r == ' ' || r == '\n' || r == '\r' }) {
		if len(part) >= 4 {
			assert.NotContains(tb, msg, part)
		}
	}
	for _, secret := range []string{testSubject, "jti-0d1e2f", testClientID} {
		assert.NotContains(tb, msg, secret)
	}
}

func TestVerifyAcceptsAtTheEdges(t *testing.T) {
	f := newVerifierFixture(t)
	at := func(d time.Duration) int64 { return testNow.Add(d).Unix() }
	cases := []struct {
		name  string
		token func(t *testing.T) string
		v     func(t *testing.T) *tokens.Verifier
	}{
		{name: "expired but just inside leeway", token: func(t *testing.T) string {
			return f.good(t, func(c map[string]any) { c["iat"], c["exp"] = at(-5*time.Minute), at(-29*time.Second) })
		}},
		{name: "nbf just inside leeway", token: func(t *testing.T) string {
			return f.good(t, func(c map[string]any) { c["nbf"] = at(29 * time.Second) })
		}},
		{name: "iat just inside leeway", token: func(t *testing.T) string {
			return f.good(t, func(c map[string]any) { c["iat"] = at(29 * time.Second) })
		}},
		{name: "lifetime exactly max", token: func(t *testing.T) string {
			return f.good(t, func(c map[string]any) { c["iat"], c["exp"] = at(-30*time.Minute), at(30*time.Minute) })
		}},
		{name: "fractional NumericDates", token: func(t *testing.T) string {
			return f.good(t, func(c map[string]any) {
				c["iat"], c["exp"] = float64(at(0))+0.25, float64(at(time.Minute))+0.5
			})
		}},
		{name: "typ application/at+jwt", token: func(t *testing.T) string {
			return f.withHeader(t, fmt.Sprintf(`{"alg":"ES256","typ":"application/at+jwt","kid":%q}`, f.kid))
		}},
		{name: "typ AT+JWT", token: func(t *testing.T) string {
			return f.withHeader(t, fmt.Sprintf(`{"alg":"ES256","typ":"AT+JWT","kid":%q}`, f.kid))
		}},
		{name: "typ Application/At+Jwt", token: func(t *testing.T) string {
			return f.withHeader(t, fmt.Sprintf(`{"alg":"ES256","typ":"Application/At+Jwt","kid":%q}`, f.kid))
		}},
		{name: "kid written with escapes", token: func(t *testing.T) string {
			esc := fmt.Sprintf(`\u%04x`, f.kid[0]) + f.kid[1:]
			return f.withHeader(t, fmt.Sprintf(`{"alg":"ES256","typ":"at+jwt","kid":"%s"}`, esc))
		}},
		{name: "aud array containing ours", token: func(t *testing.T) string {
			return f.good(t, func(c map[string]any) { c["aud"] = []string{"https://other.example", testAudience} })
		}},
		{name: "unknown claims and header members ignored", token: func(t *testing.T) string {
			return f.es256(t, fmt.Sprintf(`{"alg":"ES256","typ":"at+jwt","kid":%q,"x-extra":{"a":[1]}}`, f.kid),
				claimsJSON(t, func(c map[string]any) { c["tenant"] = map[string]any{"id": 1} }))
		}},
		{name: "second audience of the verifier", token: func(t *testing.T) string {
			return f.good(t, func(c map[string]any) { c["aud"] = "https://api2.example" })
		}, v: func(t *testing.T) *tokens.Verifier {
			v, err := tokens.NewVerifier(f.ks, testIssuer, []string{testAudience, "https://api2.example"}, tokens.WithClock(fixedClock(testNow)))
			require.NoError(t, err)
			return v
		}},
		{name: "token at a raised max size", token: func(t *testing.T) string {
			return f.good(t, func(c map[string]any) { c["pad"] = strings.Repeat("a", tokens.DefaultMaxTokenSize) })
		}, v: func(t *testing.T) *tokens.Verifier {
			return newVerifier(t, f.ks, tokens.WithMaxTokenSize(4*tokens.DefaultMaxTokenSize), tokens.WithClock(fixedClock(testNow)))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := f.v
			if tc.v != nil {
				v = tc.v(t)
			}
			c, err := v.Verify(context.Background(), tc.token(t))
			require.NoError(t, err)
			assert.Equal(t, testSubject, c.Subject)
			assert.Equal(t, f.kid, c.KeyID)
		})
	}
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	cases := []struct {
		name   string
		signer func(t *testing.T) crypto.Signer
		alg    string // passed to NewSigningKey
		want   string // JWS alg in the header
	}{
		{name: "ES256", signer: func(t *testing.T) crypto.Signer { return newECKey(t, elliptic.P256()) }, want: "ES256"},
		{name: "ES384", signer: func(t *testing.T) crypto.Signer { return newECKey(t, elliptic.P384()) }, want: "ES384"},
		{name: "EdDSA", signer: func(t *testing.T) crypto.Signer { return newEdKey(t) }, want: "EdDSA"},
		{name: "PS256 default for RSA", signer: func(t *testing.T) crypto.Signer { return testRSAKeyA() }, want: "PS256"},
		{name: "RS256 2048-bit", signer: func(t *testing.T) crypto.Signer { return testRSAKeyB() }, alg: "RS256", want: "RS256"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sk := newSigningKey(t, tc.signer(t), tc.alg)
			require.Equal(t, tc.want, sk.Algorithm())
			ks := newKeySet(t, sk)
			iss := newIssuer(t, ks, tokens.WithClock(fixedClock(testNow)), tokens.WithLifetime(10*time.Minute))
			v := newVerifier(t, ks, tokens.WithClock(fixedClock(testNow.Add(time.Minute))))

			jkt, x5t := thumbprintOf("dpop key"), thumbprintOf("client cert")
			authTime := testNow.Add(-2 * time.Minute)
			tok := issue(t, iss, tokens.TokenRequest{
				Subject: testSubject, ClientID: testClientID, Audience: []string{testAudience},
				Scopes: []string{"orders:read", "orders:write"}, Roles: []string{"admin"}, Groups: []string{"eng", "ops"},
				Entitlements: []string{"premium"}, AuthTime: authTime, ACR: "urn:example:acr:mfa", AMR: []string{"pwd", "otp"},
				DPoPKeyThumbprint: jkt, CertThumbprint: x5t, Lifetime: 5 * time.Minute,
				Extra: map[string]any{"tenant": "acme", "limits": map[string]int{"rpm": 60}},
			})

			// The token is standard: go-jose reads its header and verifies it.
			parsed, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tc.want)})
			require.NoError(t, err)
			require.Len(t, parsed.Signatures, 1)
			h := parsed.Signatures[0].Protected
			assert.Equal(t, tc.want, h.Algorithm)
			assert.Equal(t, sk.KeyID(), h.KeyID)
			assert.Equal(t, "at+jwt", h.ExtraHeaders[jose.HeaderType])
			_, err = parsed.Verify(sk.Public().Key)
			require.NoError(t, err)

			c, err := v.Verify(context.Background(), tok)
			require.NoError(t, err)
			assert.Equal(t, testIssuer, c.Issuer)
			assert.Equal(t, testSubject, c.Subject)
			assert.Equal(t, []string{testAudience}, c.Audience)
			assert.Equal(t, testClientID, c.ClientID)
			assert.Equal(t, testNow, c.IssuedAt)
			assert.Equal(t, testNow.Add(5*time.Minute), c.Expiry)
			assert.True(t, c.NotBefore.IsZero())
			assert.Len(t, c.ID, 22, "jti is 16 random bytes, base64url")
			assert.Equal(t, []string{"orders:read", "orders:write"}, c.Scopes)
			assert.True(t, c.HasScope("orders:write"))
			assert.False(t, c.HasScope("orders"))
			assert.Equal(t, []string{"admin"}, c.Roles)
			assert.Equal(t, []string{"eng", "ops"}, c.Groups)
			assert.Equal(t, []string{"premium"}, c.Entitlements)
			assert.Equal(t, authTime, c.AuthTime)
			assert.Equal(t, "urn:example:acr:mfa", c.ACR)
			assert.Equal(t, []string{"pwd", "otp"}, c.AMR)
			assert.Equal(t, tokens.Confirmation{JKT: jkt, X5TS256: x5t}, c.Confirmation)
			assert.True(t, c.Confirmation.Bound())
			assert.Equal(t, sk.KeyID(), c.KeyID)

			var extra struct {
				Tenant string         `json:"tenant"`
				Limits map[string]int `json:"limits"`
				Sub    string         `json:"sub"`
			}
			require.NoError(t, c.Decode(&extra))
			assert.Equal(t, "acme", extra.Tenant)
			assert.Equal(t, map[string]int{"rpm": 60}, extra.Limits)
			assert.Equal(t, testSubject, extra.Sub)
		})
	}
}

// TestIssuerPS256SaltLength checks the issued PS256 signature directly with
// crypto/rsa: RFC 7518 §3.5 fixes the salt length to the hash length.
func TestSigningKeyRefusesEd25519Name(t *testing.T) {
	// go-jose signs Ed25519 keys only under the name EdDSA; the fully-specified
	// name is accepted when verifying, refused when signing.
	_, err := tokens.NewSigningKey(newEdKey(t), "Ed25519")
	assert.ErrorIs(t, err, tokens.ErrInvalidKey)
}

func TestIssuerPS256SaltLength(t *testing.T) {
	key := testRSAKeyA()
	iss := newIssuer(t, newKeySet(t, newSigningKey(t, key, "PS256")), tokens.WithClock(fixedClock(testNow)))
	tok := issue(t, iss, basicRequest())
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	require.NoError(t, err)
	digest := sha([]byte(tok[:i]))
	require.NoError(t, rsa.VerifyPSS(&key.PublicKey, crypto.SHA256, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}),
		"precondition: a valid PSS signature of some salt length")
	assert.NoError(t, rsa.VerifyPSS(&key.PublicKey, crypto.SHA256, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}),
		"RFC 7518 §3.5: salt length equals the hash length")
}

// TestVerifyPS256FromStandardSigner checks the verifier side alone: a PS256
// token signed by hand with a hash-length salt verifies.
func TestVerifyPS256FromStandardSigner(t *testing.T) {
	key := testRSAKeyA()
	sk := newSigningKey(t, key, "PS256")
	v := newVerifier(t, newKeySet(t, sk), tokens.WithClock(fixedClock(testNow)))
	tok := forge(stdHeader("PS256", sk.KeyID()), claimsJSON(t, nil), func(in []byte) []byte { return sign(t, "PS256", key, in) })
	c, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, testSubject, c.Subject)
}

func TestIssuedTokenIDsAreUnique(t *testing.T) {
	f := newVerifierFixture(t)
	iss := newIssuer(t, f.ks, tokens.WithClock(fixedClock(testNow)))
	ids := map[string]bool{}
	for range 50 {
		c, err := f.v.Verify(context.Background(), issue(t, iss, basicRequest()))
		require.NoError(t, err)
		require.False(t, ids[c.ID], "jti repeated")
		ids[c.ID] = true
	}
}

func TestAudienceStringOrArray(t *testing.T) {
	f := newVerifierFixture(t)
	iss := newIssuer(t, f.ks, tokens.WithClock(fixedClock(testNow)))
	cases := []struct {
		name    string
		aud     []string
		wantRaw any
	}{
		{name: "single audience is a string", aud: []string{testAudience}, wantRaw: testAudience},
		{name: "several audiences are an array", aud: []string{"https://other.example", testAudience}, wantRaw: []any{"https://other.example", testAudience}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := basicRequest()
			r.Audience = tc.aud
			c, err := f.v.Verify(context.Background(), issue(t, iss, r))
			require.NoError(t, err)
			assert.Equal(t, tc.aud, c.Audience)
			assert.True(t, c.HasAudience(testAudience))
			var raw struct {
				Aud any `json:"aud"`
			}
			require.NoError(t, c.Decode(&raw))
			assert.Equal(t, tc.wantRaw, raw.Aud)
		})
	}
}

func TestNewVerifierRefusesConfig(t *testing.T) {
	ks := newKeySet(t, newSigningKey(t, newECKey(t, elliptic.P256()), ""))
	cases := []struct {
		name   string
		src    tokens.KeySource
		issuer string
		aud    []string
		opts   []tokens.VerifierOption
	}{
		{name: "empty issuer", src: ks, issuer: "", aud: []string{testAudience}},
		{name: "nil key source", src: nil, issuer: testIssuer, aud: []string{testAudience}},
		{name: "nil audiences", src: ks, issuer: testIssuer, aud: nil},
		{name: "empty audience slice", src: ks, issuer: testIssuer, aud: []string{}},
		{name: "empty audience string", src: ks, issuer: testIssuer, aud: []string{""}},
		{name: "empty among audiences", src: ks, issuer: testIssuer, aud: []string{testAudience, ""}},
		{name: "alg none", src: ks, issuer: testIssuer, aud: []string{testAudience}, opts: []tokens.VerifierOption{tokens.WithAlgorithms("none")}},
		{name: "alg HS256", src: ks, issuer: testIssuer, aud: []string{testAudience}, opts: []tokens.VerifierOption{tokens.WithAlgorithms("ES256", "HS256")}},
		{name: "alg lower case", src: ks, issuer: testIssuer, aud: []string{testAudience}, opts: []tokens.VerifierOption{tokens.WithAlgorithms("es256")}},
		{name: "no algorithms", src: ks, issuer: testIssuer, aud: []string{testAudience}, opts: []tokens.VerifierOption{tokens.WithAlgorithms()}},
		{name: "negative leeway", src: ks, issuer: testIssuer, aud: []string{testAudience}, opts: []tokens.VerifierOption{tokens.WithLeeway(-time.Second)}},
		{name: "leeway over 5m", src: ks, issuer: testIssuer, aud: []string{testAudience}, opts: []tokens.VerifierOption{tokens.WithLeeway(5*time.Minute + time.Second)}},
		{name: "zero max lifetime", src: ks, issuer: testIssuer, aud: []string{testAudience}, opts: []tokens.VerifierOption{tokens.WithMaxLifetime(0)}},
		{name: "tiny max token size", src: ks, issuer: testIssuer, aud: []string{testAudience}, opts: []tokens.VerifierOption{tokens.WithMaxTokenSize(10)}},
		{name: "negative cache size", src: ks, issuer: testIssuer, aud: []string{testAudience}, opts: []tokens.VerifierOption{tokens.WithCacheSize(-1)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tokens.NewVerifier(tc.src, tc.issuer, tc.aud, tc.opts...)
			assert.ErrorIs(t, err, tokens.ErrInvalidConfig)
			assert.Nil(t, v)
		})
	}
}

func TestNewVerifierCopiesAudiences(t *testing.T) {
	f := newVerifierFixture(t)
	aud := []string{testAudience}
	v, err := tokens.NewVerifier(f.ks, testIssuer, aud, tokens.WithClock(fixedClock(testNow)))
	require.NoError(t, err)
	aud[0] = "https://other.example"
	_, err = v.Verify(context.Background(), f.good(t, nil))
	assert.NoError(t, err)
}

func TestVerifierAcceptsBoundaryConfig(t *testing.T) {
	ks := newKeySet(t, newSigningKey(t, newECKey(t, elliptic.P256()), ""))
	for name, opts := range map[string][]tokens.VerifierOption{
		"zero leeway":       {tokens.WithLeeway(0)},
		"5m leeway":         {tokens.WithLeeway(5 * time.Minute)},
		"cache off":         {tokens.WithCacheSize(0)},
		"one algorithm":     {tokens.WithAlgorithms("EdDSA")},
		"all six":           {tokens.WithAlgorithms("ES256", "ES384", "EdDSA", "Ed25519", "PS256", "RS256")},
		"nil clock default": {tokens.WithClock(nil)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tokens.NewVerifier(ks, testIssuer, []string{testAudience}, opts...)
			assert.NoError(t, err)
		})
	}
}

func TestIssueRefuses(t *testing.T) {
	ks := newKeySet(t, newSigningKey(t, newECKey(t, elliptic.P256()), ""))
	iss := newIssuer(t, ks, tokens.WithLifetime(10*time.Minute), tokens.WithClock(fixedClock(testNow)))
	cases := []struct {
		name string
		mod  func(r *tokens.TokenRequest)
	}{
		{name: "missing subject", mod: func(r *tokens.TokenRequest) { r.Subject = "" }},
		{name: "missing client id", mod: func(r *tokens.TokenRequest) { r.ClientID = "" }},
		{name: "missing audience", mod: func(r *tokens.TokenRequest) { r.Audience = nil }},
		{name: "empty audience string", mod: func(r *tokens.TokenRequest) { r.Audience = []string{""} }},
		{name: "scope with a space", mod: func(r *tokens.TokenRequest) { r.Scopes = []string{"read write"} }},
		{name: "scope with a quote", mod: func(r *tokens.TokenRequest) { r.Scopes = []string{`read"`} }},
		{name: "empty scope", mod: func(r *tokens.TokenRequest) { r.Scopes = []string{"read", ""} }},
		{name: "lifetime longer than the issuer's", mod: func(r *tokens.TokenRequest) { r.Lifetime = 10*time.Minute + time.Second }},
		{name: "negative lifetime", mod: func(r *tokens.TokenRequest) { r.Lifetime = -time.Second }},
		{name: "extra overrides sub", mod: func(r *tokens.TokenRequest) { r.Extra = map[string]any{"sub": "admin"} }},
		{name: "extra overrides cnf", mod: func(r *tokens.TokenRequest) { r.Extra = map[string]any{"cnf": map[string]any{}} }},
		{name: "extra overrides exp", mod: func(r *tokens.TokenRequest) { r.Extra = map[string]any{"ok": 1, "exp": 1} }},
		{name: "extra not encodable", mod: func(r *tokens.TokenRequest) { r.Extra = map[string]any{"ch": make(chan int)} }},
		{name: "cnf jkt not base64url", mod: func(r *tokens.TokenRequest) { r.DPoPKeyThumbprint = "not a thumbprint!" }},
		{name: "cnf jkt too short", mod: func(r *tokens.TokenRequest) { r.DPoPKeyThumbprint = b64(make([]byte, 20)) }},
		{name: "cnf jkt padded", mod: func(r *tokens.TokenRequest) {
			r.DPoPKeyThumbprint = base64.URLEncoding.EncodeToString(make([]byte, 32))
		}},
		{name: "cnf x5t#S256 hex", mod: func(r *tokens.TokenRequest) { r.CertThumbprint = fmt.Sprintf("%x", make([]byte, 32)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := basicRequest()
			tc.mod(&r)
			tok, err := iss.Issue(context.Background(), r)
			assert.ErrorIs(t, err, tokens.ErrInvalidConfig)
			assert.Empty(t, tok)
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := iss.Issue(ctx, basicRequest())
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// TestExtraClaimsCannotShadowRegisteredClaims: an Extra claim that differs
// from a registered one only in case must be refused, because Claims.Decode
// reads the payload with encoding/json, which matches names case-insensitively
// and lets the later member win.
func TestExtraClaimsCannotShadowRegisteredClaims(t *testing.T) {
	f := newVerifierFixture(t)
	iss := newIssuer(t, f.ks, tokens.WithClock(fixedClock(testNow)))
	for _, name := range []string{"SUB", "Scope", "Aud", "CNF", "Client_ID"} {
		t.Run(name, func(t *testing.T) {
			r := basicRequest()
			r.Extra = map[string]any{name: "admin"}
			tok, err := iss.Issue(context.Background(), r)
			if err == nil {
				c, err := f.v.Verify(context.Background(), tok)
				require.NoError(t, err)
				var d struct {
					Sub      string `json:"sub"`
					Scope    string `json:"scope"`
					ClientID string `json:"client_id"`
				}
				require.NoError(t, c.Decode(&d))
				assert.Equal(t, c.Subject, d.Sub, "Decode disagrees with Verify")
				assert.Equal(t, strings.Join(c.Scopes, " "), d.Scope, "Decode disagrees with Verify")
				assert.Equal(t, c.ClientID, d.ClientID, "Decode disagrees with Verify")
			}
			assert.ErrorIs(t, err, tokens.ErrInvalidConfig)
		})
	}
}

func TestNewIssuerRefusesConfig(t *testing.T) {
	ks := newKeySet(t, newSigningKey(t, newECKey(t, elliptic.P256()), ""))
	for name, fn := range map[string]func() (*tokens.Issuer, error){
		"empty issuer":  func() (*tokens.Issuer, error) { return tokens.NewIssuer("", ks) },
		"nil key set":   func() (*tokens.Issuer, error) { return tokens.NewIssuer(testIssuer, nil) },
		"zero lifetime": func() (*tokens.Issuer, error) { return tokens.NewIssuer(testIssuer, ks, tokens.WithLifetime(0)) },
		"negative lifetime": func() (*tokens.Issuer, error) {
			return tokens.NewIssuer(testIssuer, ks, tokens.WithLifetime(-time.Minute))
		},
	} {
		t.Run(name, func(t *testing.T) {
			iss, err := fn()
			assert.ErrorIs(t, err, tokens.ErrInvalidConfig)
			assert.Nil(t, iss)
		})
	}
}

func TestIssuerLifetime(t *testing.T) {
	ks := newKeySet(t, newSigningKey(t, newECKey(t, elliptic.P256()), ""))
	iss, err := tokens.NewIssuer(testIssuer, ks)
	require.NoError(t, err)
	assert.Equal(t, tokens.DefaultTokenLifetime, iss.Lifetime())
	iss, err = tokens.NewIssuer(testIssuer, ks, tokens.WithLifetime(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, time.Minute, iss.Lifetime())
}

func TestClaimsLogValueOmitsSubject(t *testing.T) {
	f := newVerifierFixture(t)
	c, err := f.v.Verify(context.Background(), f.good(t, func(m map[string]any) { m["cnf"] = map[string]any{"jkt": thumbprintOf("k")} }))
	require.NoError(t, err)
	out := c.LogValue().String()
	assert.NotContains(t, out, testSubject)
	assert.Contains(t, out, "binding=dpop")
	assert.Contains(t, out, testClientID)
}

func TestClaimsDecodeOnZeroClaims(t *testing.T) {
	var c tokens.Claims
	var v map[string]any
	assert.ErrorIs(t, c.Decode(&v), tokens.ErrMalformed)
}
