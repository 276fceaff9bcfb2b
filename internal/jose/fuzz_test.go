package jose

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ztkit/ztkit/internal/jsonscan"
)

// fuzzMaxSize is the size limit FuzzParse parses with: large enough for every
// seed, small enough that the limit itself gets exercised.
const fuzzMaxSize = 4096

// parseSeeds are FuzzParse's seeds: the RFC vectors and malformed variants.
func parseSeeds() []string {
	a3 := rfc7515A3JWS
	h, rest, _ := strings.Cut(a3, ".")
	p, s, _ := strings.Cut(rest, ".")
	withHeader := func(header string) string { return Encode([]byte(header)) + "." + p + "." + s }
	seeds := []string{
		rfc7515A2JWS, rfc7515A3JWS, rfc7515A1JWS, rfc7515A4JWS, rfc7515A5JWS,
		rfc8037JWS, rfc9449Figure2, rfc9449Figure7, rfc9449Figure13, rfc9449Figure8,
		testToken(rfc9068Header),

		// Structure.
		"", ".", "..", "...", "a.b.c", h, h + ".", h + "." + p, h + ".." + s, "." + p + "." + s,
		a3 + ".", a3 + "." + s, a3 + "..", "x" + a3, a3[:len(a3)-1], a3[:len(a3)-2],
		strings.Repeat("A", fuzzMaxSize+1),

		// Encoding: padding, the standard alphabet, non-canonical trailing bits,
		// whitespace and line breaks.
		h + "=." + p + "." + s, h + "." + p + "." + s + "==",
		strings.ReplaceAll(rfc7515A2JWS, "-", "+"), strings.ReplaceAll(rfc7515A2JWS, "_", "/"),
		h + "." + p + "." + s[:len(s)-1] + "R",
		h + "." + p[:len(p)-1] + "R." + s,
		a3 + "\n", a3 + "\r\n", h + ".\n" + p + "." + s, " " + a3, a3 + " ",
		strings.Replace(a3, "cGxl", "cG\nxl", 1),

		// Headers.
		withHeader(`{"alg":"ES256"}`),
		withHeader(` { "alg" : "ES256" } `),
		withHeader(`{"alg":"ES256","alg":"ES256"}`),
		withHeader(`{"alg":"ES256","\u0061lg":"none"}`),
		withHeader(`{"alg":"none"}`),
		withHeader(`{"alg":"HS256"}`),
		withHeader(`{"alg":"es256"}`),
		withHeader(`{"alg":"ES256 "}`),
		withHeader(`{"alg":"E\u0053256"}`),
		withHeader(`{"alg":null}`),
		withHeader(`{"alg":["ES256"]}`),
		withHeader(`{"typ":"JWT"}`),
		withHeader(`{}`),
		withHeader(`[]`),
		withHeader(`"alg"`),
		withHeader(`{"alg":"ES256"`),
		withHeader(`{"alg":"ES256",}`),
		withHeader(`{"alg":"ES256"}x`),
		withHeader(`{"alg":"ES256","b64":false,"crit":["b64"]}`),
		withHeader(`{"alg":"ES256","crit":["exp"]}`),
		withHeader(`{"alg":"ES256","typ":1}`),
		withHeader(`{"alg":"ES256","typ":"application/dpop+jwt"}`),
		withHeader(`{"alg":"ES256","kid":"a\"b\\c\u00e9\ud83d\ude00"}`),
		withHeader(`{"alg":"ES256","kid":"\ud800"}`),
		withHeader(`{"alg":"ES256","kid":7}`),
		withHeader(`{"alg":"ES256","jku":"https://example.com/jwks"}`),
		withHeader(`{"alg":"ES256","x5c":["MIIB"]}`),
		withHeader(`{"alg":"ES256","jwk":"not an object"}`),
		withHeader(`{"alg":"ES256","jwk":{"kty":"EC","kty":"EC"}}`),
		withHeader(`{"alg":"ES256","jwk":` + rfc7515A3PrivateJWK + `}`),
		withHeader(`{"alg":"EdDSA","jwk":` + rfc8037JWK + `}`),
		withHeader(`{"alg":"RS256","jwk":` + rfc7638JWK + `}`),
		withHeader(`{"alg":"ES256","x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`),
		withHeader("{\"alg\":\"ES256\",\"typ\":\"a\x00b\"}"),
		withHeader("{\"alg\":\"ES256\",\"typ\":\"\xff\"}"),
	}
	return seeds
}

func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds() {
		f.Add([]byte(s))
	}
	keys := fuzzVerifyKeys(f)
	f.Fuzz(func(t *testing.T, token []byte) {
		in := bytes.Clone(token)
		jws, err := parse(token, fuzzMaxSize)
		if !bytes.Equal(in, token) {
			t.Fatal("Parse modified its input")
		}

		// A caller's buffer, too small or large enough and full of stale
		// bytes, changes nothing but where the decoded parts live.
		for _, size := range []int{0, 16, 512, fuzzMaxSize} {
			buf := bytes.Repeat([]byte{0xAA}, size)
			jws2, err2 := Parse(token, fuzzMaxSize, buf[:0])
			if (err == nil) != (err2 == nil) || (err != nil && !errors.Is(err2, err)) {
				t.Fatalf("buffer of %d bytes: error %v, without buffer %v", size, err2, err)
			}
			if err == nil && !sameJWS(&jws, &jws2) {
				t.Fatalf("buffer of %d bytes changes the result", size)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedAlg) {
				t.Fatalf("Parse returned an undocumented error: %v", err)
			}
			return
		}
		if bytes.ContainsAny(token, "\r\n") {
			t.Fatalf("Parse accepted a line break")
		}

		if len(token) > fuzzMaxSize {
			t.Fatalf("Parse accepted %d bytes, limit %d", len(token), fuzzMaxSize)
		}
		if jws.Header.Alg == AlgNone || AlgFromName(jws.Header.Alg.String()) != jws.Header.Alg {
			t.Fatalf("Parse succeeded with alg %d", jws.Header.Alg)
		}
		if !bytes.HasPrefix(token, jws.SigningInput) {
			t.Fatalf("SigningInput %q is not a prefix of the token", jws.SigningInput)
		}
		parts := bytes.Split(token, []byte("."))
		if len(parts) != 3 {
			t.Fatalf("Parse accepted %d parts", len(parts))
		}
		if want := len(parts[0]) + 1 + len(parts[1]); len(jws.SigningInput) != want {
			t.Fatalf("SigningInput is %d bytes, want %d", len(jws.SigningInput), want)
		}
		if got := Encode(jws.Payload); got != string(parts[1]) {
			t.Fatalf("payload re-encodes as %q, token has %q", got, parts[1])
		}
		if got := Encode(jws.Signature); got != string(parts[2]) {
			t.Fatalf("signature re-encodes as %q, token has %q", got, parts[2])
		}
		header, err := Decode(parts[0])
		if err != nil || Encode(header) != string(parts[0]) {
			t.Fatalf("header %q does not round-trip (%v)", parts[0], err)
		}
		if len(jws.Payload) == 0 || len(jws.Signature) == 0 {
			t.Fatal("Parse accepted an empty payload or signature")
		}

		// Whatever was parsed must be safe to use.
		_ = jws.Header.TypIs("dpop+jwt")
		_ = jws.Header.TypIs("at+jwt")
		if jws.Header.JWK.Kind != jsonscan.Invalid {
			if !jws.Header.EmbeddedKey {
				t.Fatal("jwk set without EmbeddedKey")
			}
			if k, err := ParseJWKValue(jws.Header.JWK, true); err == nil {
				checkJWK(t, k)
				_ = Verify(jws.Header.Alg, k.Key, jws.SigningInput, jws.Signature)
			}
		}
		for _, k := range keys {
			if Verify(jws.Header.Alg, k, jws.SigningInput, jws.Signature) && !isRFCVector(token) {
				t.Fatalf("a fuzzed token verifies under a fixed key: %q", token)
			}
		}
	})
}

func sameJWS(a, b *JWS) bool {
	return a.Header.Alg == b.Header.Alg &&
		a.Header.Crit == b.Header.Crit &&
		a.Header.EmbeddedKey == b.Header.EmbeddedKey &&
		bytes.Equal(a.Header.Kid, b.Header.Kid) &&
		a.Header.Typ.Kind == b.Header.Typ.Kind && bytes.Equal(a.Header.Typ.Raw, b.Header.Typ.Raw) &&
		a.Header.JWK.Kind == b.Header.JWK.Kind && bytes.Equal(a.Header.JWK.Raw, b.Header.JWK.Raw) &&
		bytes.Equal(a.SigningInput, b.SigningInput) &&
		bytes.Equal(a.Payload, b.Payload) &&
		bytes.Equal(a.Signature, b.Signature)
}

// fuzzVerifyKeys are the RFC vector keys, one per key type, for FuzzParse to
// call Verify with on whatever it parses.
func fuzzVerifyKeys(tb testing.TB) []crypto.PublicKey {
	var keys []crypto.PublicKey
	for _, j := range []string{rfc7515A2JWK, rfc7515A3JWK, rfc8037JWK, rfc9449JWK} {
		keys = append(keys, mustParseJWK(tb, j).Key)
	}
	return keys
}

func isRFCVector(token []byte) bool {
	switch string(token) {
	case rfc7515A2JWS, rfc7515A3JWS, rfc8037JWS, rfc9449Figure2, rfc9449Figure7, rfc9449Figure13:
		return true
	}
	return false
}

// jwkSeeds are FuzzParseJWK's seeds: the RFC keys, private keys, symmetric keys,
// unsupported curves and malformed variants.
func jwkSeeds() []string {
	const (
		p256X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
		p256Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
		edX   = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	)
	ec := func(crv, x, y string) string {
		return `{"kty":"EC","crv":"` + crv + `","x":"` + x + `","y":"` + y + `"}`
	}
	rsaN := func(n []byte, e string) string {
		return `{"kty":"RSA","n":"` + Encode(n) + `","e":"` + e + `"}`
	}
	n2048 := new(big.Int).Lsh(big.NewInt(1), 2047)
	n2048.Add(n2048, big.NewInt(1))
	n1024 := new(big.Int).Lsh(big.NewInt(1), 1023)
	n1024.Add(n1024, big.NewInt(1))
	n8193 := new(big.Int).Lsh(big.NewInt(1), 8192)
	n8193.Add(n8193, big.NewInt(1))
	return []string{
		rfc7638JWK, rfc7515A2JWK, rfc7515A3JWK, rfc8037JWK, rfc9449JWK,

		// Private keys: RFC 7515 A.3, RFC 8037 A.1, members of RSA keys, and
		// RFC 7515 A.1's symmetric key.
		rfc7515A3PrivateJWK, rfc8037PrivateJWK,
		`{"kty":"RSA","n":"AQAB","e":"AQAB","p":"AQ"}`,
		`{"kty":"RSA","n":"AQAB","e":"AQAB","qi":"AQ"}`,
		`{"kty":"RSA","n":"AQAB","e":"AQAB","oth":[]}`,
		`{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}`,
		`{"kty":"oct"}`,

		// Curves ztkit does not accept: RFC 7515 A.4's P-521 key, secp256k1,
		// X25519 (RFC 8037 A.6) and Ed448.
		ec("P-521",
			"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",
			"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"),
		ec("secp256k1", p256X, p256Y),
		ec("p-256", p256X, p256Y),
		`{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}`,
		`{"kty":"OKP","crv":"Ed448","x":"` + Encode(make([]byte, 57)) + `"}`,
		`{"kty":"EC","crv":"Ed25519","x":"` + edX + `"}`,
		`{"kty":"OKP","crv":"P-256","x":"` + p256X + `","y":"` + p256Y + `"}`,

		// EC points and encodings.
		ec("P-256", p256X, p256Y[:len(p256Y)-1]+"1"),            // off the curve
		ec("P-384", p256X, p256Y),                               // coordinates too short
		ec("P-256", "A"+p256X, p256Y),                           // 1 mod 4 characters
		ec("P-256", p256X+"=", p256Y),                           // padded
		ec("P-256", p256X, strings.ReplaceAll(p256Y, "_", "/")), // standard alphabet
		ec("P-256", Encode(make([]byte, 32)), Encode(make([]byte, 32))),
		ec("P-256", "AA"+p256X, p256Y),
		`{"kty":"EC","crv":"P-256","x":"` + p256X + `"}`,
		`{"kty":"EC","crv":"P-256","x":"` + p256X + `","y":"` + p256Y + `","y":"` + p256Y + `"}`,
		`{"kty":"EC","crv":"P-256","x":"\u0066` + p256X[1:] + `","y":"` + p256Y + `"}`,
		`{"kty":"\u0045C","crv":"P-256","x":"` + p256X + `","y":"` + p256Y + `"}`,
		`{"kty":"EC","crv":"P-256","x":` + `1` + `,"y":"` + p256Y + `"}`,

		// OKP sizes.
		`{"kty":"OKP","crv":"Ed25519","x":"` + edX[:len(edX)-2] + `"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + Encode(make([]byte, 33)) + `"}`,
		`{"kty":"OKP","crv":"Ed25519","x":""}`,

		// RSA sizes and encodings.
		rsaN(n2048.Bytes(), "AQAB"),
		rsaN(n2048.Bytes(), "Aw"),
		rsaN(n2048.Bytes(), "AAEAAQ"),
		rsaN(n2048.Bytes(), "AQA"),
		rsaN(n2048.Bytes(), "Ag"),
		rsaN(n2048.Bytes(), "AQ"),
		rsaN(n2048.Bytes(), "gAAAAAE"),
		rsaN(n1024.Bytes(), "AQAB"),
		rsaN(n8193.Bytes(), "AQAB"),
		rsaN(append([]byte{0}, n2048.Bytes()...), "AQAB"),
		`{"kty":"RSA","n":"AQAB"}`,

		// Metadata and syntax.
		`{"kty":"OKP","crv":"Ed25519","x":"` + edX + `","kid":"a\u0000b","use":"sig","alg":"EdDSA"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + edX + `","kid":1}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + edX + `","key_ops":["verify"],"x5c":[]}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + edX + `",}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + edX + `"} {}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + edX + `","kty":"OKP"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + edX + `","kid":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
		``, `{}`, `[]`, `null`, `"EC"`, `{`, `{"kty":null}`, `{"kty":"RSA"}`,
		"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + edX + "\",\"kid\":\"\xff\"}",
	}
}

func FuzzParseJWK(f *testing.F) {
	for _, s := range jwkSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		k, err := ParseJWK(data)
		if !bytes.Equal(in, data) {
			t.Fatal("ParseJWK modified its input")
		}

		// ParseJWKValue on the same object nested in a document agrees.
		var nested *JWK
		var nestedErr error
		var v jsonscan.Value
		o := jsonscan.NewObject([]byte(`{"jwk":` + string(data) + `}`))
		for o.Next() {
			v = o.Value()
		}
		if o.Err() == nil && v.Kind == jsonscan.ObjectKind {
			nested, nestedErr = ParseJWKValue(v, true)
			if (err == nil) != (nestedErr == nil) {
				t.Fatalf("ParseJWK: %v, ParseJWKValue: %v", err, nestedErr)
			}
		}

		if err != nil {
			if k != nil {
				t.Fatal("ParseJWK returned a key and an error")
			}
			if !errors.Is(err, ErrInvalidJWK) && !errors.Is(err, ErrPrivateJWK) && !errors.Is(err, ErrWeakKey) {
				t.Fatalf("ParseJWK returned an undocumented error: %v", err)
			}
			return
		}
		checkJWK(t, k)
		if nested != nil && nested.Thumbprint != k.Thumbprint {
			t.Fatalf("nested thumbprint %s, top-level %s", nested.Thumbprint, k.Thumbprint)
		}
	})
}

// checkJWK checks the invariants of a successfully parsed JWK.
func checkJWK(t *testing.T, k *JWK) {
	t.Helper()
	tp, err := Thumbprint(k.Key)
	if err != nil {
		t.Fatalf("Thumbprint of a parsed key: %v", err)
	}
	if tp != k.Thumbprint {
		t.Fatalf("Thumbprint %s, JWK.Thumbprint %s", tp, k.Thumbprint)
	}
	alg := DefaultAlg(k.Key)
	if err := CheckKey(alg, k.Key); err != nil {
		t.Fatalf("CheckKey(%s) of a parsed %T: %v", alg, k.Key, err)
	}

	// The RFC 7638 canonical form, built here independently of ThumbprintSum,
	// hashes to the thumbprint and is itself a JWK for the same key.
	canonical := canonicalJWK(t, k.Key)
	sum := sha256.Sum256([]byte(canonical))
	if got := Encode(sum[:]); got != k.Thumbprint {
		t.Fatalf("SHA-256 of %s is %s, JWK.Thumbprint %s", canonical, got, k.Thumbprint)
	}
	again, err := ParseJWK([]byte(canonical))
	if err != nil {
		t.Fatalf("canonical form %s does not parse: %v", canonical, err)
	}
	if !k.Key.(interface{ Equal(crypto.PublicKey) bool }).Equal(again.Key) {
		t.Fatalf("canonical form %s parses to a different key", canonical)
	}
}

// canonicalJWK is the RFC 7638 Section 3.2 required-members form of key.
func canonicalJWK(t *testing.T, key crypto.PublicKey) string {
	t.Helper()
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		pt, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		crv := map[elliptic.Curve]string{elliptic.P256(): "P-256", elliptic.P384(): "P-384"}[k.Curve]
		return fmt.Sprintf(`{"crv":"%s","kty":"EC","x":"%s","y":"%s"}`, crv, Encode(pt[1:1+size]), Encode(pt[1+size:]))
	case ed25519.PublicKey:
		return fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":"%s"}`, Encode(k))
	case *rsa.PublicKey:
		return fmt.Sprintf(`{"e":"%s","kty":"RSA","n":"%s"}`, Encode(big.NewInt(int64(k.E)).Bytes()), Encode(k.N.Bytes()))
	}
	t.Fatalf("unexpected key type %T", key)
	return ""
}
