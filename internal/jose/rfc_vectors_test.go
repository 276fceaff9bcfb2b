package jose

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/jsonscan"
)

// Published test vectors, copied from the RFC texts. Values the RFCs print with
// line breaks "for display purposes only" (RFC 7515) or with RFC 8792 "\" line
// wrapping (RFC 9449) are concatenated here line by line, so each string literal
// below is one display line of the RFC and can be compared with it by eye.
//
// Every vector is also checked against itself wherever the mathematics allows:
// signatures verify, private keys derive their public keys, thumbprints hash to
// the published value. A transcription error fails a test rather than passing
// silently.

// testMaxSize is the token size limit the vector tests parse with.
const testMaxSize = 1 << 16

// RFC 7515 Appendix A.1.1: BASE64URL(JWS Payload), shared by A.1 to A.3 and A.5.
const rfc7515Payload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt" +
	"cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

// RFC 7515 Appendix A.1.1: the JWS Payload octets, a JSON object with CRLF line
// breaks and one leading space on the second and third lines.
const rfc7515PayloadJSON = "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"

// RFC 7515 Appendix A.2.1: the RS256 JWS in compact serialization.
const rfc7515A2JWS = "eyJhbGciOiJSUzI1NiJ9" +
	"." +
	rfc7515Payload +
	"." +
	"cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7" +
	"AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4" +
	"BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K" +
	"0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv" +
	"hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB" +
	"p0igcN_IoypGlUPQGe77Rw"

// RFC 7515 Appendix A.2.1: the public members (n, e) of the RSA key; the RFC's
// JWK also holds d, p, q, dp, dq and qi.
const rfc7515A2JWK = `{"kty":"RSA",` +
	`"n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx` +
	`HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs` +
	`D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH` +
	`SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV` +
	`MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8` +
	`NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",` +
	`"e":"AQAB"}`

// RFC 7515 Appendix A.3.1: the ES256 JWS in compact serialization.
const rfc7515A3JWS = "eyJhbGciOiJFUzI1NiJ9" +
	"." +
	rfc7515Payload +
	"." +
	"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA" +
	"pmWQxfKTUJqPP3-Kg6NU1Q"

// RFC 7515 Appendix A.3.1: the P-256 key exactly as printed, private part d included.
const rfc7515A3PrivateJWK = `{"kty":"EC",
      "crv":"P-256",
      "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
      "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
      "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
     }`

// rfc7515A3JWK is rfc7515A3PrivateJWK with the d line removed.
const rfc7515A3JWK = `{"kty":"EC",
      "crv":"P-256",
      "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
      "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
     }`

// RFC 7515 Appendix A.3.1: the R and S octets of the ES256 signature.
var (
	rfc7515A3R = []byte{14, 209, 33, 83, 121, 99, 108, 72, 60, 47, 127, 21, 88,
		7, 212, 2, 163, 178, 40, 3, 58, 249, 124, 126, 23, 129,
		154, 195, 22, 158, 166, 101}
	rfc7515A3S = []byte{197, 10, 7, 211, 140, 60, 112, 229, 216, 241, 45, 175,
		8, 74, 84, 128, 166, 101, 144, 197, 242, 147, 80, 154,
		143, 63, 127, 138, 131, 163, 84, 213}
)

// RFC 7515 Appendix A.1.1 (HS256), A.4.1 (ES512) and A.5 (Unsecured JWS): valid
// JWSs whose algorithms ztkit does not accept.
const (
	rfc7515A1JWS = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" +
		"." +
		rfc7515Payload +
		"." +
		"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfc7515A4JWS = "eyJhbGciOiJFUzUxMiJ9" +
		"." +
		"UGF5bG9hZA" +
		"." +
		"AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZq" +
		"wqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8Kp" +
		"EHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn"
	rfc7515A5JWS = "eyJhbGciOiJub25lIn0" +
		"." +
		rfc7515Payload +
		"."
)

// RFC 7638 Section 3.1: the example RSA JWK (the key of RFC 7517 Appendix A.1,
// n joined onto one line), its JWK SHA-256 Thumbprint, and the octets of the
// SHA-256 hash that thumbprint encodes.
var rfc7638Sum = []byte{55, 54, 203, 177, 120, 124, 184, 48, 156, 119, 238,
	140, 55, 5, 197, 225, 111, 251, 158, 133, 151, 21, 144, 31, 30, 76, 89,
	177, 17, 130, 245, 123}

const (
	rfc7638JWK = `{
      "kty": "RSA",
      "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
      "e": "AQAB",
      "alg": "RS256",
      "kid": "2011-04-29"
     }`
	rfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

// RFC 8037 Appendix A.1 (private key), A.2 (public key), A.3 (thumbprint) and
// A.4 (Ed25519 signing).
const (
	rfc8037PrivateJWK = `{"kty":"OKP","crv":"Ed25519",
   "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
   "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`
	rfc8037JWK = `{"kty":"OKP","crv":"Ed25519",
   "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`
	rfc8037D             = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037ThumbprintHex = "90facafea9b1556698540f70c0117a22ea37bd5cf3ed3c47093c1707282b4b89"
	rfc8037Thumbprint    = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	rfc8037Payload       = "Example of Ed25519 signing"
	rfc8037JWS           = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)

// RFC 9449 DPoP proofs. All three are signed with the same P-256 key, carried in
// their jwk header (RFC 9449 Section 4.2, Figure 4).
const (
	// RFC 9449 Section 4.1, Figure 2 (repeated in Section 5, Figure 5).
	rfc9449Figure2 = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik" +
		"VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR" +
		"nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE" +
		"QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIj" +
		"oiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwia" +
		"WF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg" +
		"4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"
	// RFC 9449 Section 5, Figure 7: the proof of the refresh token request.
	rfc9449Figure7 = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik" +
		"VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR" +
		"nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE" +
		"QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIj" +
		"oiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwia" +
		"WF0IjoxNTYyMjY1Mjk2fQ.pAqut2IRDm_De6PR93SYmGBPXpwrAk90e8cP2hjiaG5Qs" +
		"GSuKDYW7_X620BxqhvYC8ynrrvZLTk41mSRroapUA"
	// RFC 9449 Section 7.1, Figure 13: the proof of the protected resource
	// request, with the ath claim (decoded in Figure 14).
	rfc9449Figure13 = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik" +
		"VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR" +
		"nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE" +
		"QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIj" +
		"oiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0Z" +
		"WRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNF" +
		"c05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71E" +
		"OptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA"

	// RFC 9449 Section 4.2, Figure 4: the public key of the proofs above.
	rfc9449JWK = `{
       "kty":"EC",
       "x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
       "y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
       "crv":"P-256"
     }`

	// RFC 9449 Section 6.1, Figures 9 and 11: the jkt of that key ("the hash
	// of the public key from the DPoP proofs in the examples shown in
	// Section 5").
	rfc9449JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"

	// RFC 9449 Section 6.1, Figure 8: a DPoP-bound JWT access token carrying
	// that jkt. Its signing key (kid "BeALkb") is not published.
	rfc9449Figure8 = "eyJhbGciOiJFUzI1NiIsImtpZCI6IkJlQUxrYiJ9.eyJzdWIiOiJzb21lb25lQGV4YW1" +
		"wbGUuY29tIiwiaXNzIjoiaHR0cHM6Ly9zZXJ2ZXIuZXhhbXBsZS5jb20iLCJuYmYiOjE" +
		"1NjIyNjI2MTEsImV4cCI6MTU2MjI2NjIxNiwiY25mIjp7ImprdCI6IjBaY09DT1JaTll" +
		"5LURXcHFxMzBqWnlKR0hUTjBkMkhnbEJWM3VpZ3VBNEkifX0.3Tyo8VTcn6u_PboUmAO" +
		"YUY1kfAavomW_YwYMkmRNizLJoQzWy2fCo79Zi5yObpIzjWb5xW4OGld7ESZrh0fsrA"

	// RFC 9449 Section 5, Figure 6 (access_token) and Section 7.1, Figure 13
	// (Authorization: DPoP ...) and Figure 14 (ath).
	rfc9449AccessToken = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
	rfc9449ATH         = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
)

// RFC 9068 Section 3, Figure 2: the JOSE header of the example JWT access token.
// Note the upper-case "JWT": Section 2.1 says typ SHOULD be "at+jwt", and media
// types compare case-insensitively (RFC 7515 Section 4.1.9).
const rfc9068Header = `{"typ":"at+JWT","alg":"RS256","kid":"RjEwOwOA"}`

func mustDecode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := Decode([]byte(s))
	require.NoError(t, err, "decode %q", s)
	return b
}

// parse is the one place these tests call Parse, with no buffer of their own.
func parse(token []byte, maxSize int) (JWS, error) {
	return Parse(token, maxSize, nil)
}

func mustParse(t testing.TB, token string, maxSize int) *JWS {
	t.Helper()
	jws, err := parse([]byte(token), maxSize)
	require.NoError(t, err)
	return &jws
}

func mustParseJWK(t testing.TB, data string) *JWK {
	t.Helper()
	k, err := ParseJWK([]byte(data))
	require.NoError(t, err)
	return k
}

// flipBit returns a copy of b with one bit of byte i inverted.
func flipBit(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

// RFC 7638 Section 3.1.
func TestRFC7638Thumbprint(t *testing.T) {
	k := mustParseJWK(t, rfc7638JWK)
	assert.Equal(t, rfc7638Thumbprint, k.Thumbprint)
	assert.Equal(t, "2011-04-29", k.Kid)
	assert.Equal(t, "RS256", k.Alg)
	assert.Empty(t, k.Use)

	tp, err := Thumbprint(k.Key)
	require.NoError(t, err)
	assert.Equal(t, rfc7638Thumbprint, tp)

	var sum [sha256.Size]byte
	require.NoError(t, ThumbprintSum(k.Key, &sum))
	assert.Equal(t, rfc7638Sum, sum[:])
	assert.Equal(t, rfc7638Thumbprint, Encode(rfc7638Sum))

	// The thumbprint covers only the required members (RFC 7638 Section 3.2).
	bare := mustParseJWK(t, `{"e":"AQAB","kty":"RSA","n":"`+Encode(k.Key.(*rsa.PublicKey).N.Bytes())+`"}`)
	assert.Equal(t, rfc7638Thumbprint, bare.Thumbprint)
}

// RFC 7515 Appendix A.2.
func TestRFC7515A2RS256(t *testing.T) {
	k := mustParseJWK(t, rfc7515A2JWK)
	key, ok := k.Key.(*rsa.PublicKey)
	require.True(t, ok, "key is %T", k.Key)
	assert.Equal(t, 2048, key.N.BitLen())
	assert.Equal(t, 65537, key.E)
	require.NoError(t, CheckKey(RS256, key))
	require.NoError(t, CheckKey(PS256, key))
	assert.ErrorIs(t, CheckKey(ES256, key), ErrAlgKeyMismatch)
	assert.ErrorIs(t, CheckKey(EdDSA, key), ErrAlgKeyMismatch)

	jws := mustParse(t, rfc7515A2JWS, testMaxSize)
	assert.Equal(t, RS256, jws.Header.Alg)
	assert.Nil(t, jws.Header.Kid)
	assert.False(t, jws.Header.EmbeddedKey)
	assert.Equal(t, jsonscan.Invalid, jws.Header.Typ.Kind, "A.2 has no typ")
	assert.Equal(t, rfc7515PayloadJSON, string(jws.Payload))
	assert.Equal(t, "eyJhbGciOiJSUzI1NiJ9."+rfc7515Payload, string(jws.SigningInput))
	require.Len(t, jws.Signature, 256)
	// RFC 7515 Appendix A.2.1 lists the signature octets; check both ends.
	assert.Equal(t, []byte{112, 46, 33, 137, 67, 232, 143, 209}, jws.Signature[:8])
	assert.Equal(t, []byte{70, 149, 67, 208, 25, 238, 251, 71}, jws.Signature[248:])

	assert.True(t, Verify(RS256, key, jws.SigningInput, jws.Signature))
	for _, i := range []int{0, 100, 255} {
		assert.False(t, Verify(RS256, key, jws.SigningInput, flipBit(jws.Signature, i)), "signature bit flipped in byte %d", i)
	}
	assert.False(t, Verify(RS256, key, flipBit(jws.SigningInput, len(jws.SigningInput)-1), jws.Signature), "payload tampered")
	assert.False(t, Verify(PS256, key, jws.SigningInput, jws.Signature), "PKCS #1 v1.5 signature checked as PSS")
	assert.False(t, Verify(RS256, key, jws.SigningInput, jws.Signature[1:]), "short signature")

	// The size limit counts the whole token.
	_, err := parse([]byte(rfc7515A2JWS), len(rfc7515A2JWS)-1)
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = parse([]byte(rfc7515A2JWS), len(rfc7515A2JWS))
	assert.NoError(t, err)
}

// RFC 7515 Appendix A.3.
func TestRFC7515A3ES256(t *testing.T) {
	_, err := ParseJWK([]byte(rfc7515A3PrivateJWK))
	require.ErrorIs(t, err, ErrPrivateJWK)

	k := mustParseJWK(t, rfc7515A3JWK)
	key, ok := k.Key.(*ecdsa.PublicKey)
	require.True(t, ok, "key is %T", k.Key)
	require.Equal(t, elliptic.P256(), key.Curve)
	require.NoError(t, CheckKey(ES256, key))
	assert.ErrorIs(t, CheckKey(ES384, key), ErrAlgKeyMismatch)
	assert.ErrorIs(t, CheckKey(RS256, key), ErrAlgKeyMismatch)

	// The published d is the private key of the published (x, y).
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), mustDecode(t, "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"))
	require.NoError(t, err)
	assert.True(t, priv.PublicKey.Equal(key), "d does not match (x, y)")

	jws := mustParse(t, rfc7515A3JWS, testMaxSize)
	assert.Equal(t, ES256, jws.Header.Alg)
	assert.Equal(t, rfc7515PayloadJSON, string(jws.Payload))
	assert.Equal(t, append(bytes.Clone(rfc7515A3R), rfc7515A3S...), jws.Signature, "signature is R || S")

	assert.True(t, Verify(ES256, key, jws.SigningInput, jws.Signature))
	assert.False(t, Verify(ES256, key, flipBit(jws.SigningInput, len(jws.SigningInput)-1), jws.Signature), "payload tampered")
	tampered := []byte("eyJhbGciOiJFUzI1NiJ9." + Encode([]byte(strings.Replace(rfc7515PayloadJSON, "joe", "eve", 1))))
	assert.False(t, Verify(ES256, key, tampered, jws.Signature), "payload replaced")
	assert.False(t, Verify(ES256, key, jws.SigningInput, flipBit(jws.Signature, 0)), "R tampered")
	assert.False(t, Verify(ES256, key, jws.SigningInput, flipBit(jws.Signature, 63)), "S tampered")
	assert.False(t, Verify(ES384, key, jws.SigningInput, jws.Signature), "wrong algorithm")

	// A DER signature from a crypto.Signer converts to the same R || S form.
	der, err := priv.Sign(rand.Reader, sha256Sum(jws.SigningInput), crypto.SHA256)
	require.NoError(t, err)
	sig, err := ECDSAToJWS(der, 32)
	require.NoError(t, err)
	assert.True(t, Verify(ES256, key, jws.SigningInput, sig))
}

func sha256Sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// RFC 7515 Appendix A.1 (HS256), A.4 (ES512) and A.5 (alg "none").
func TestRFC7515UnsupportedExamples(t *testing.T) {
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{name: "A.1 HS256", token: rfc7515A1JWS, want: ErrUnsupportedAlg},
		{name: "A.4 ES512", token: rfc7515A4JWS, want: ErrUnsupportedAlg},
		// The Unsecured JWS has an empty signature, which Parse refuses first.
		{name: "A.5 none", token: rfc7515A5JWS, want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse([]byte(tt.token), testMaxSize)
			assert.ErrorIs(t, err, tt.want)
		})
	}
	assert.Equal(t, AlgNone, AlgFromName("HS256"))
	assert.Equal(t, AlgNone, AlgFromName("ES512"))
	assert.Equal(t, AlgNone, AlgFromName("none"))
	assert.Equal(t, AlgNone, AlgFromName(""))
}

// RFC 8037 Appendix A.1 to A.4.
func TestRFC8037Ed25519(t *testing.T) {
	// A.1: the private key is refused.
	_, err := ParseJWK([]byte(rfc8037PrivateJWK))
	require.ErrorIs(t, err, ErrPrivateJWK)

	// A.2 and A.3.
	k := mustParseJWK(t, rfc8037JWK)
	key, ok := k.Key.(ed25519.PublicKey)
	require.True(t, ok, "key is %T", k.Key)
	assert.Equal(t, rfc8037Thumbprint, k.Thumbprint)
	wantSum, err := hex.DecodeString(rfc8037ThumbprintHex)
	require.NoError(t, err)
	var sum [sha256.Size]byte
	require.NoError(t, ThumbprintSum(key, &sum))
	assert.Equal(t, wantSum, sum[:])
	assert.Equal(t, rfc8037Thumbprint, Encode(wantSum), "A.3 gives the same thumbprint in hex and base64url")
	assert.Equal(t, EdDSA, DefaultAlg(key))
	require.NoError(t, CheckKey(EdDSA, key))
	require.NoError(t, CheckKey(Ed25519, key))

	// The published d is the seed of the published x, and the pair is RFC 8032
	// Section 7.1 TEST 1.
	priv := ed25519.NewKeyFromSeed(mustDecode(t, rfc8037D))
	assert.True(t, key.Equal(priv.Public()), "d does not match x")
	assert.Equal(t, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", hex.EncodeToString(priv.Seed()))
	assert.Equal(t, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", hex.EncodeToString(key))

	// A.4.
	assert.Equal(t, EdDSA, AlgFromName("EdDSA"))
	jws := mustParse(t, rfc8037JWS, testMaxSize)
	assert.Equal(t, EdDSA, jws.Header.Alg)
	assert.Equal(t, rfc8037Payload, string(jws.Payload))
	assert.True(t, Verify(EdDSA, key, jws.SigningInput, jws.Signature))
	assert.True(t, Verify(Ed25519, key, jws.SigningInput, jws.Signature), "RFC 9864 name for the same algorithm")
	// Ed25519 is deterministic: signing the A.4 input reproduces the signature.
	assert.Equal(t, jws.Signature, ed25519.Sign(priv, jws.SigningInput))
	assert.False(t, Verify(EdDSA, key, jws.SigningInput, flipBit(jws.Signature, 10)))
	assert.False(t, Verify(EdDSA, key, flipBit(jws.SigningInput, 30), jws.Signature))
	assert.False(t, Verify(ES256, key, jws.SigningInput, jws.Signature))
}

// RFC 9449 Sections 4.1, 4.2, 5, 6.1 and 7.1.
func TestRFC9449DPoPProofs(t *testing.T) {
	wantKey := mustParseJWK(t, rfc9449JWK)
	tests := []struct {
		name   string
		token  string
		claims map[string]any
	}{
		{
			name:  "Figure 2",
			token: rfc9449Figure2,
			// Figure 4.
			claims: map[string]any{
				"jti": "-BwC3ESc6acc2lTc",
				"htm": "POST",
				"htu": "https://server.example.com/token",
				"iat": 1562262616.0,
			},
		},
		{
			name:  "Figure 7",
			token: rfc9449Figure7,
			claims: map[string]any{
				"jti": "-BwC3ESc6acc2lTc",
				"htm": "POST",
				"htu": "https://server.example.com/token",
				"iat": 1562265296.0,
			},
		},
		{
			name:  "Figure 13",
			token: rfc9449Figure13,
			// Figure 14.
			claims: map[string]any{
				"jti": "e1j3V_bKic8-LAEB",
				"htm": "GET",
				"htu": "https://resource.example.org/protectedresource",
				"iat": 1562262618.0,
				"ath": rfc9449ATH,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jws := mustParse(t, tt.token, 8192)
			assert.Equal(t, ES256, jws.Header.Alg)
			assert.True(t, jws.Header.TypIs("dpop+jwt"))
			assert.True(t, jws.Header.TypIs("DPoP+JWT"))
			assert.False(t, jws.Header.TypIs("at+jwt"))
			assert.False(t, jws.Header.Crit)
			assert.Nil(t, jws.Header.Kid)
			require.True(t, jws.Header.EmbeddedKey)
			require.Equal(t, jsonscan.ObjectKind, jws.Header.JWK.Kind)

			k, err := ParseJWKValue(jws.Header.JWK, false)
			require.NoError(t, err)
			assert.True(t, wantKey.Key.(*ecdsa.PublicKey).Equal(k.Key), "jwk differs from Figure 4")
			assert.Equal(t, rfc9449JKT, k.Thumbprint)
			require.NoError(t, CheckKey(jws.Header.Alg, k.Key))
			assert.True(t, Verify(jws.Header.Alg, k.Key, jws.SigningInput, jws.Signature))
			assert.False(t, Verify(jws.Header.Alg, k.Key, jws.SigningInput, flipBit(jws.Signature, 5)))
			assert.False(t, Verify(jws.Header.Alg, k.Key, flipBit(jws.SigningInput, len(jws.SigningInput)-3), jws.Signature))

			var claims map[string]any
			require.NoError(t, json.Unmarshal(jws.Payload, &claims))
			assert.Equal(t, tt.claims, claims)
		})
	}
}

// RFC 9449 Section 6.1: the jkt belongs to the key of the DPoP proofs.
func TestRFC9449Thumbprint(t *testing.T) {
	k := mustParseJWK(t, rfc9449JWK)
	assert.Equal(t, rfc9449JKT, k.Thumbprint)
	assert.NotEqual(t, rfc7638Thumbprint, k.Thumbprint,
		"Section 10's dpop_jkt example is the RFC 7638 key's thumbprint, not this key's")

	// Figure 8's access token carries the same jkt in cnf (Figure 9).
	jws := mustParse(t, rfc9449Figure8, 8192)
	assert.Equal(t, ES256, jws.Header.Alg)
	assert.Equal(t, "BeALkb", string(jws.Header.Kid))
	assert.False(t, jws.Header.EmbeddedKey)
	var claims struct {
		Sub string `json:"sub"`
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	require.NoError(t, json.Unmarshal(jws.Payload, &claims))
	assert.Equal(t, "someone@example.com", claims.Sub)
	assert.Equal(t, rfc9449JKT, claims.Cnf.JKT)
}

// RFC 9449 Section 4.2 (definition of ath) and Section 7.1, Figures 13 and 14.
func TestRFC9449AccessTokenHash(t *testing.T) {
	assert.Equal(t, rfc9449ATH, Encode(sha256Sum([]byte(rfc9449AccessToken))))
	// The ath in the signed proof of Figure 13 is that same value.
	jws := mustParse(t, rfc9449Figure13, 8192)
	var claims struct {
		ATH string `json:"ath"`
	}
	require.NoError(t, json.Unmarshal(jws.Payload, &claims))
	assert.Equal(t, rfc9449ATH, claims.ATH)
}

// testToken returns a compact JWS with the given header and dummy payload and
// signature.
func testToken(header string) string {
	return Encode([]byte(header)) + "." + Encode([]byte(`{"sub":"x"}`)) + "." + Encode(make([]byte, 256))
}

// RFC 9068 Section 3, Figure 2, with RFC 9068 Section 2.1 and 4 and RFC 7515
// Section 4.1.9 on comparing typ.
func TestRFC9068AccessTokenHeader(t *testing.T) {
	jws := mustParse(t, testToken(rfc9068Header), testMaxSize)
	assert.Equal(t, RS256, jws.Header.Alg)
	assert.Equal(t, "RjEwOwOA", string(jws.Header.Kid))
	assert.False(t, jws.Header.EmbeddedKey)
	assert.True(t, jws.Header.TypIs("at+jwt"))
	assert.False(t, jws.Header.TypIs("dpop+jwt"))
	assert.False(t, jws.Header.TypIs("jwt"))
}

func TestTypIs(t *testing.T) {
	tests := []struct {
		typ  string // JSON text of the typ member; "" for none
		want string
		is   bool
	}{
		{typ: `"at+jwt"`, want: "at+jwt", is: true},
		{typ: `"at+JWT"`, want: "at+jwt", is: true},
		{typ: `"AT+JWT"`, want: "at+jwt", is: true},
		{typ: `"application/at+jwt"`, want: "at+jwt", is: true},
		{typ: `"Application/At+Jwt"`, want: "at+jwt", is: true},
		{typ: `"at\u002bjwt"`, want: "at+jwt", is: true},
		{typ: `"dpop+jwt"`, want: "dpop+jwt", is: true},
		{typ: `"application/dpop+jwt"`, want: "dpop+jwt", is: true},
		{typ: "", want: "at+jwt", is: false},
		{typ: `""`, want: "at+jwt", is: false},
		{typ: `"jwt"`, want: "at+jwt", is: false},
		{typ: `"JWT"`, want: "at+jwt", is: false},
		{typ: `"at+jwt "`, want: "at+jwt", is: false},
		{typ: `"at+jwt;v=1"`, want: "at+jwt", is: false},
		{typ: `"application/"`, want: "at+jwt", is: false},
		{typ: `"application"`, want: "at+jwt", is: false},
		{typ: `"applicationat+jwt"`, want: "at+jwt", is: false},
		{typ: `"xapplication/at+jwt"`, want: "at+jwt", is: false},
		{typ: `"text/at+jwt"`, want: "at+jwt", is: false},
		{typ: `"application/application/at+jwt"`, want: "at+jwt", is: false},
		{typ: `"dpop+jwt"`, want: "at+jwt", is: false},
		{typ: `"` + strings.Repeat("a", 100) + `"`, want: strings.Repeat("A", 100), is: true},
	}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.want, func(t *testing.T) {
			header := `{"alg":"ES256"}`
			if tt.typ != "" {
				header = `{"alg":"ES256","typ":` + tt.typ + `}`
			}
			jws := mustParse(t, testToken(header), testMaxSize)
			assert.Equal(t, tt.is, jws.Header.TypIs(tt.want))
		})
	}
}

// TypIs with a want that spells out the "application/" prefix: RFC 9068 Section
// 4 names the type both ways ("at+jwt" or "application/at+jwt"), so a caller may
// well pass the long form.
func TestTypIsFullMediaType(t *testing.T) {
	for _, typ := range []string{"at+jwt", "application/at+jwt"} {
		t.Run(typ, func(t *testing.T) {
			jws := mustParse(t, testToken(`{"alg":"RS256","typ":"`+typ+`"}`), testMaxSize)
			assert.True(t, jws.Header.TypIs("application/at+jwt"), "typ %q", typ)
		})
	}
}

// RFC 7515 Section 7.1 and Section 2 (Base64url Encoding: "with all line breaks,
// whitespace, or other additional characters omitted"): a compact JWS has
// exactly one encoding, so no byte of it may be a line break.
func TestParseRejectsLineBreaks(t *testing.T) {
	sigAt := len(rfc7515A3JWS) - 10
	tests := []struct {
		name  string
		token string
	}{
		{name: "LF in signature", token: rfc7515A3JWS[:sigAt] + "\n" + rfc7515A3JWS[sigAt:]},
		{name: "CRLF after signature", token: rfc7515A3JWS + "\r\n"},
		{name: "LF in payload", token: strings.Replace(rfc7515A3JWS, "cGxl", "cG\nxl", 1)},
		{name: "CR in header", token: "eyJhbGci\rOiJFUzI1NiJ9" + rfc7515A3JWS[len("eyJhbGciOiJFUzI1NiJ9"):]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse([]byte(tt.token), testMaxSize)
			assert.ErrorIs(t, err, ErrMalformed)
		})
	}
	t.Run("Decode", func(t *testing.T) {
		// Decode shares the decoder; tokens/issuer.go validates cnf thumbprints with it.
		_, err := Decode([]byte(rfc9449JKT[:20] + "\r\n" + rfc9449JKT[20:]))
		assert.ErrorIs(t, err, ErrMalformed)
	})
}

// TestDifferentialGoJose signs with go-jose and verifies with this package.
func TestDifferentialGoJose(t *testing.T) {
	n := 24
	if testing.Short() {
		n = 4
	}
	type keyPair struct {
		alg  Alg
		priv crypto.Signer
	}
	var pairs []keyPair
	for range n {
		p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		require.NoError(t, err)
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		pairs = append(pairs, keyPair{ES256, p256}, keyPair{ES384, p384}, keyPair{EdDSA, ed})
	}
	for _, alg := range []Alg{PS256, RS256} {
		for range 2 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			require.NoError(t, err)
			pairs = append(pairs, keyPair{alg, k})
		}
	}

	for i, p := range pairs {
		t.Run(fmt.Sprintf("%s/%d", p.alg, i), func(t *testing.T) {
			pub := p.priv.Public()
			joseKey := jose.JSONWebKey{Key: pub}
			joseTP, err := joseKey.Thumbprint(crypto.SHA256)
			require.NoError(t, err)
			tp, err := Thumbprint(pub)
			require.NoError(t, err)
			require.Equal(t, Encode(joseTP), tp, "thumbprint differs from go-jose")
			assert.Equal(t, p.alg == PS256 || p.alg == RS256, DefaultAlg(pub) == PS256)

			opts := &jose.SignerOptions{}
			embed := i%2 == 0
			if embed {
				opts.EmbedJWK = true
				opts.WithType("dpop+jwt")
			} else {
				opts.WithType("at+jwt").WithHeader("kid", fmt.Sprintf("key-%d", i))
			}
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(p.alg.String()), Key: p.priv}, opts)
			require.NoError(t, err)

			payload := make([]byte, 1+mrand.IntN(512))
			_, _ = rand.Read(payload)
			obj, err := signer.Sign(payload)
			require.NoError(t, err)
			token, err := obj.CompactSerialize()
			require.NoError(t, err)

			jws := mustParse(t, token, testMaxSize)
			assert.Equal(t, p.alg, jws.Header.Alg)
			assert.Equal(t, payload, jws.Payload)
			assert.True(t, Verify(p.alg, pub, jws.SigningInput, jws.Signature), "go-jose token does not verify")
			assert.False(t, Verify(p.alg, pub, jws.SigningInput, flipBit(jws.Signature, len(jws.Signature)/2)))

			if embed {
				assert.True(t, jws.Header.TypIs("dpop+jwt"))
				require.True(t, jws.Header.EmbeddedKey)
				k, err := ParseJWKValue(jws.Header.JWK, true)
				require.NoError(t, err, "go-jose's embedded jwk: %s", jws.Header.JWK.Raw)
				assert.Equal(t, tp, k.Thumbprint)
				assert.True(t, pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Key))
			} else {
				assert.True(t, jws.Header.TypIs("at+jwt"))
				assert.Equal(t, fmt.Sprintf("key-%d", i), string(jws.Header.Kid))
				assert.False(t, jws.Header.EmbeddedKey)
			}

			// And go-jose's JSON form of the public key parses to the same key.
			raw, err := json.Marshal(joseKey)
			require.NoError(t, err)
			k, err := ParseJWK(raw)
			require.NoError(t, err, "go-jose JWK %s", raw)
			assert.Equal(t, tp, k.Thumbprint)
		})
	}
}

// TestGoJoseVerifiesRFCVectors checks the vectors above against go-jose too, so a
// vector that both implementations get wrong the same way would still be caught
// by the RFC's own values.
func TestGoJoseVerifiesRFCVectors(t *testing.T) {
	tests := []struct {
		name  string
		token string
		jwk   string
		alg   jose.SignatureAlgorithm
	}{
		{name: "RFC 7515 A.2", token: rfc7515A2JWS, jwk: rfc7515A2JWK, alg: jose.RS256},
		{name: "RFC 7515 A.3", token: rfc7515A3JWS, jwk: rfc7515A3JWK, alg: jose.ES256},
		{name: "RFC 8037 A.4", token: rfc8037JWS, jwk: rfc8037JWK, alg: jose.EdDSA},
		{name: "RFC 9449 Figure 2", token: rfc9449Figure2, jwk: rfc9449JWK, alg: jose.ES256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var key jose.JSONWebKey
			require.NoError(t, key.UnmarshalJSON([]byte(tt.jwk)))
			obj, err := jose.ParseSigned(tt.token, []jose.SignatureAlgorithm{tt.alg})
			require.NoError(t, err)
			payload, err := obj.Verify(key.Key)
			require.NoError(t, err)
			jws := mustParse(t, tt.token, testMaxSize)
			assert.Equal(t, payload, jws.Payload)
		})
	}
}
