package httpsig_test

import (
	"bufio"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
)

// rfcCreated is the created parameter of the RFC 9421 Appendix B examples.
const rfcCreated = 1618884473

// rfcNow is a clock a few seconds after the examples were signed.
func rfcNow() time.Time { return time.Unix(rfcCreated+3, 0) }

// The test message of RFC 9421 Appendix B.2.
const rfcRequestText = "POST /foo?param=Value&Pet=dog HTTP/1.1\r\n" +
	"Host: example.com\r\n" +
	"Date: Tue, 20 Apr 2021 02:07:55 GMT\r\n" +
	"Content-Type: application/json\r\n" +
	"Content-Digest: sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\r\n" +
	"Content-Length: 18\r\n" +
	"\r\n" +
	`{"hello": "world"}`

// The test response of RFC 9421 Appendix B.2.
const rfcResponseText = "HTTP/1.1 200 OK\r\n" +
	"Date: Tue, 20 Apr 2021 02:07:56 GMT\r\n" +
	"Content-Type: application/json\r\n" +
	"Content-Digest: sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:\r\n" +
	"Content-Length: 23\r\n" +
	"\r\n" +
	`{"message": "good dog"}`

// readRequest parses a request as a server receives it.
func readRequest(t testing.TB, text string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(text)))
	require.NoError(t, err)
	return r
}

func readResponse(t testing.TB, text string, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(text)), req)
	require.NoError(t, err)
	return resp
}

// rfcKeys are the keys of RFC 9421 Appendix B.1.
type rfcKeys struct {
	rsa       *rsa.PrivateKey    // B.1.1 test-key-rsa
	rsaPSS    *rsa.PrivateKey    // B.1.2 test-key-rsa-pss
	rsaPSSPub *rsa.PublicKey     // B.1.2, from its SubjectPublicKeyInfo
	p256      *ecdsa.PrivateKey  // B.1.3 test-key-ecc-p256
	p256Pub   *ecdsa.PublicKey   // B.1.3, from its SubjectPublicKeyInfo
	ed        ed25519.PrivateKey // B.1.4 test-key-ed25519
	edPub     ed25519.PublicKey  // B.1.4, from its SubjectPublicKeyInfo
	secret    []byte             // B.1.5 test-shared-secret
}

func pemBlock(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	b, _ := pem.Decode(data)
	require.NotNil(t, b, name)
	return b.Bytes
}

func loadRFCKeys(t testing.TB) rfcKeys {
	t.Helper()
	var k rfcKeys
	var err error
	k.rsa, err = x509.ParsePKCS1PrivateKey(pemBlock(t, "test-key-rsa.key.pem"))
	require.NoError(t, err)
	pub, err := x509.ParsePKCS1PublicKey(pemBlock(t, "test-key-rsa.pub.pem"))
	require.NoError(t, err)
	require.True(t, pub.Equal(k.rsa.Public()))

	// B.1.2's private key is PKCS #8 with the id-RSASSA-PSS algorithm, which
	// crypto/x509 does not read: take the PKCS #1 key out of it.
	var p8 struct {
		Version    int
		Algo       pkix.AlgorithmIdentifier
		PrivateKey []byte
	}
	_, err = asn1.Unmarshal(pemBlock(t, "test-key-rsa-pss.key.pem"), &p8)
	require.NoError(t, err)
	require.True(t, p8.Algo.Algorithm.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}))
	k.rsaPSS, err = x509.ParsePKCS1PrivateKey(p8.PrivateKey)
	require.NoError(t, err)
	pk, err := x509.ParsePKIXPublicKey(pemBlock(t, "test-key-rsa-pss.pub.pem"))
	require.NoError(t, err)
	k.rsaPSSPub = pk.(*rsa.PublicKey)
	require.True(t, k.rsaPSSPub.Equal(k.rsaPSS.Public()))

	k.p256, err = x509.ParseECPrivateKey(pemBlock(t, "test-key-ecc-p256.key.pem"))
	require.NoError(t, err)
	pk, err = x509.ParsePKIXPublicKey(pemBlock(t, "test-key-ecc-p256.pub.pem"))
	require.NoError(t, err)
	k.p256Pub = pk.(*ecdsa.PublicKey)
	require.True(t, k.p256Pub.Equal(k.p256.Public()))

	sk, err := x509.ParsePKCS8PrivateKey(pemBlock(t, "test-key-ed25519.key.pem"))
	require.NoError(t, err)
	k.ed = sk.(ed25519.PrivateKey)
	pk, err = x509.ParsePKIXPublicKey(pemBlock(t, "test-key-ed25519.pub.pem"))
	require.NoError(t, err)
	k.edPub = pk.(ed25519.PublicKey)
	require.True(t, k.edPub.Equal(k.ed.Public()))

	k.secret, err = base64.StdEncoding.DecodeString("uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==")
	require.NoError(t, err)
	return k
}

// resolver returns a StaticKeys with every B.1 key under its RFC key id.
func (k rfcKeys) resolver(t testing.TB) *httpsig.StaticKeys {
	t.Helper()
	keys := []*httpsig.VerifyingKey{
		mustVK(t, "test-key-rsa", httpsig.AlgRSAV15SHA256, &k.rsa.PublicKey),
		mustVK(t, "test-key-rsa-pss", httpsig.AlgRSAPSSSHA512, k.rsaPSSPub),
		mustVK(t, "test-key-ecc-p256", httpsig.AlgECDSAP256SHA256, k.p256Pub),
		mustVK(t, "test-key-ed25519", httpsig.AlgEd25519, k.edPub),
	}
	h, err := httpsig.NewHMACVerifyingKey("test-shared-secret", k.secret)
	require.NoError(t, err)
	s, err := httpsig.NewStaticKeys(append(keys, h)...)
	require.NoError(t, err)
	return s
}

func mustVK(t testing.TB, id string, alg httpsig.Algorithm, pub crypto.PublicKey) *httpsig.VerifyingKey {
	t.Helper()
	k, err := httpsig.NewVerifyingKey(id, alg, pub)
	require.NoError(t, err)
	return k
}

func mustSK(t testing.TB, id string, alg httpsig.Algorithm, s crypto.Signer) *httpsig.SigningKey {
	t.Helper()
	k, err := httpsig.NewSigningKey(id, alg, s)
	require.NoError(t, err)
	return k
}

func mustComponent(t testing.TB, s string) httpsig.Component {
	t.Helper()
	c, err := httpsig.ParseComponent(s)
	require.NoError(t, err)
	return c
}

func components(t testing.TB, ids ...string) []httpsig.Component {
	t.Helper()
	out := make([]httpsig.Component, len(ids))
	for i, id := range ids {
		out[i] = mustComponent(t, id)
	}
	return out
}
