package siginterop_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/siginterop"
)

// These tests check the rig itself, without ztkit: what the server signs verifies under
// Go's standard library over the signature base it reports, and what it verifies it
// verifies as the request arrived on the wire.

// TestVersions: the server runs the package versions package.json pins.
func TestVersions(t *testing.T) {
	s := siginterop.Require(t)
	raw, err := os.ReadFile("package.json")
	require.NoError(t, err)
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	require.NoError(t, json.Unmarshal(raw, &pkg))
	got := s.Versions(t)
	for _, name := range []string{"http-message-signatures", "standardwebhooks"} {
		assert.Equal(t, pkg.Dependencies[name], got[name], name)
	}
}

// testKey is a key pair of one algorithm, and a Go check of a signature over a base.
type testKey struct {
	alg         string
	priv, pub   siginterop.Key
	verifyInGo  func(base, sig []byte) bool
	pssSaltLen  int // for rsa-pss-sha512 signed with SignConfig.PSSSaltLength
	description string
}

func newKeys(t *testing.T) []testKey {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	pss, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	v15, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	secret := make([]byte, 32)
	_, err = rand.Read(secret)
	require.NoError(t, err)

	pssVerify := func(saltLen int) func(base, sig []byte) bool {
		return func(base, sig []byte) bool {
			h := sha512.Sum512(base)
			return rsa.VerifyPSS(&pss.PublicKey, crypto.SHA512, h[:], sig, &rsa.PSSOptions{SaltLength: saltLen}) == nil
		}
	}
	return []testKey{
		{
			alg: "ecdsa-p256-sha256", priv: siginterop.PrivateKey(t, "ecdsa-p256-sha256", ec),
			pub: siginterop.PublicKey(t, "k-ec", "ecdsa-p256-sha256", &ec.PublicKey),
			verifyInGo: func(base, sig []byte) bool {
				// RFC 9421 §3.3.4: r and s, 32 bytes each, concatenated.
				if len(sig) != 64 {
					return false
				}
				h := sha256.Sum256(base)
				return ecdsa.Verify(&ec.PublicKey, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
			},
		},
		{
			alg: "ed25519", priv: siginterop.PrivateKey(t, "ed25519", edPriv),
			pub:        siginterop.PublicKey(t, "k-ed", "ed25519", edPub),
			verifyInGo: func(base, sig []byte) bool { return ed25519.Verify(edPub, base, sig) },
		},
		{
			// The library's createSigner: node's default salt, the longest the key allows
			// (2048/8 - 64 - 2 = 190 bytes), not RFC 9421's 64.
			alg: "rsa-pss-sha512", description: "library-salt",
			priv:       siginterop.PrivateKey(t, "rsa-pss-sha512", pss),
			pub:        siginterop.PublicKey(t, "k-pss", "rsa-pss-sha512", &pss.PublicKey),
			verifyInGo: pssVerify(190),
		},
		{
			alg: "rsa-pss-sha512", description: "salt-64", pssSaltLen: 64,
			priv:       siginterop.PrivateKey(t, "rsa-pss-sha512", pss),
			pub:        siginterop.PublicKey(t, "k-pss", "rsa-pss-sha512", &pss.PublicKey),
			verifyInGo: pssVerify(64),
		},
		{
			alg: "rsa-v1_5-sha256", priv: siginterop.PrivateKey(t, "rsa-v1_5-sha256", v15),
			pub: siginterop.PublicKey(t, "k-v15", "rsa-v1_5-sha256", &v15.PublicKey),
			verifyInGo: func(base, sig []byte) bool {
				h := sha256.Sum256(base)
				return rsa.VerifyPKCS1v15(&v15.PublicKey, crypto.SHA256, h[:], sig) == nil
			},
		},
		{
			alg: "hmac-sha256", priv: siginterop.HMACKey("", secret), pub: siginterop.HMACKey("k-hmac", secret),
			verifyInGo: func(base, sig []byte) bool {
				m := hmac.New(sha256.New, secret)
				m.Write(base)
				return hmac.Equal(m.Sum(nil), sig)
			},
		},
	}
}

// signatureOf returns the byte sequence of label in a Signature field value with that one
// label (what the server answers).
func signatureOf(t *testing.T, field, label string) []byte {
	t.Helper()
	v, ok := strings.CutPrefix(field, label+"=:")
	require.True(t, ok, "Signature field does not start with %s=:", label)
	v, ok = strings.CutSuffix(v, ":")
	require.True(t, ok, "Signature field does not end with ':'")
	sig, err := base64.StdEncoding.DecodeString(v)
	require.NoError(t, err)
	return sig
}

// TestSignVerifiesInGo: a request the server signs, covering derived components, header
// fields with sf, key and bs, and every signature parameter, verifies under Go's
// standard library over the signature base the server reports; the server verifies it
// as it arrives, and refuses it with a header changed.
func TestSignVerifiesInGo(t *testing.T) {
	s := siginterop.Require(t)
	body := []byte(`{"order":"42","amount":"100.00"}`)
	digest := sha256.Sum256(body)
	now := time.Now().Unix()
	for _, k := range newKeys(t) {
		name := k.alg
		if k.description != "" {
			name += "/" + k.description
		}
		t.Run(name, func(t *testing.T) {
			r, err := http.NewRequest(http.MethodPost, s.VerifyURL("/orders/42?currency=EUR&amount=100"), bytes.NewReader(body))
			require.NoError(t, err)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(digest[:])+":")
			r.Header.Set("Example-Dict", "a=1, b=2;x=1;y=2, c=(a b c)")
			r.Header.Add("X-Order", "42")
			r.Header.Add("X-Order", "  43 ")
			signed := s.Sign(t, siginterop.RequestMessage(r), nil, siginterop.SignConfig{
				Key:   k.priv,
				Label: "sig1",
				Fields: []string{"@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path",
					"@query", `@query-param;name="currency"`, "content-type", "content-digest", "x-order",
					`example-dict;sf`, `example-dict;key="b"`, `x-order;bs`},
				Params:        []string{"created", "expires", "nonce", "keyid", "alg", "tag"},
				ParamValues:   map[string]any{"created": now, "expires": now + 60, "nonce": "n-" + name, "keyid": k.pub.KeyID, "tag": "ztkit-interop"},
				PSSSaltLength: k.pssSaltLen,
			})
			sig := signatureOf(t, signed.Header.Get("Signature"), "sig1")
			assert.True(t, k.verifyInGo([]byte(signed.Base), sig), "the server's signature does not verify in Go over its base:\n%s", signed.Base)
			assert.Contains(t, signed.Base, "\n\"x-order\": 42, 43\n")
			assert.Contains(t, signed.Base, "\n\"x-order\";bs: :NDI=:, :NDM=:\n")
			assert.Contains(t, signed.Base, "\n\"example-dict\";key=\"b\": 2;x=1;y=2\n")
			assert.Contains(t, signed.Base, "\n\"@authority\": "+strings.TrimPrefix(s.URL, "http://")+"\n")

			for k2, v := range signed.Header {
				r.Header[k2] = v
			}
			cfg := siginterop.VerifyConfig{Keys: []siginterop.Key{k.pub}, RequiredFields: []string{"@method", "content-digest"}}
			v := s.Verify(t, r.Clone(r.Context()), cfg)
			got := v.Label(t, "sig1")
			assert.True(t, got.Verified, "error %q, base:\n%s", got.Error, got.Base)
			assert.Empty(t, got.Error)
			assert.Equal(t, signed.Base, got.Base)
			assert.Equal(t, map[string]bool{"sha-256": true}, v.ContentDigest)

			r.Header.Set("Example-Dict", "a=1, b=3, c=(a b c)")
			r.Body, r.GetBody = nil, nil
			r.ContentLength = 0
			v = s.Verify(t, r, cfg)
			got = v.Label(t, "sig1")
			assert.False(t, got.Verified)
			assert.Empty(t, got.Error, "refused for another reason than the signature")
			assert.Equal(t, map[string]bool{"sha-256": false}, v.ContentDigest, "a changed body must not match")
		})
	}
}

// TestVerifyReportsEachLabel: with two signatures, the server reports each on its own,
// and a refusal before the signature is checked (an unknown key) says why.
func TestVerifyReportsEachLabel(t *testing.T) {
	s := siginterop.Require(t)
	keys := newKeys(t)
	ed, hm := keys[1], keys[len(keys)-1]
	msg := siginterop.Message{Method: http.MethodGet, URL: "https://shop.example/orders?id=1", Headers: http.Header{}}
	a := s.Sign(t, msg, nil, siginterop.SignConfig{Key: ed.priv, Label: "a", Fields: []string{"@method", "@path"},
		Params: []string{"created", "keyid"}, ParamValues: map[string]any{"keyid": ed.pub.KeyID}})
	msg.Headers = a.Header
	b := s.Sign(t, msg, nil, siginterop.SignConfig{Key: hm.priv, Label: "b", Fields: []string{"@authority"},
		Params: []string{"created", "keyid"}, ParamValues: map[string]any{"keyid": "nobody"}})
	msg.Headers = b.Header
	assert.Contains(t, msg.Headers.Get("Signature-Input"), "a=(")
	assert.Contains(t, msg.Headers.Get("Signature-Input"), "b=(")

	results := s.VerifyMessage(t, msg, nil, siginterop.VerifyConfig{Keys: []siginterop.Key{ed.pub, hm.pub}})
	require.Len(t, results, 2)
	assert.Equal(t, "a", results[0].Label)
	assert.True(t, results[0].Verified, results[0].Error)
	assert.Equal(t, "b", results[1].Label)
	assert.False(t, results[1].Verified)
	assert.Contains(t, results[1].Error, "Unknown key")
}

// TestSignResponse: a response signature covering @status and the request's @method
// (req parameter) verifies in Go and at the server.
func TestSignResponse(t *testing.T) {
	s := siginterop.Require(t)
	ed := newKeys(t)[1]
	req := siginterop.Message{Method: http.MethodPost, URL: "https://payments.example/charges", Headers: http.Header{"Idempotency-Key": {"k-1"}}}
	resp := siginterop.Message{Status: http.StatusCreated, Headers: http.Header{"Content-Type": {"application/json"}}}
	signed := s.Sign(t, resp, &req, siginterop.SignConfig{Key: ed.priv, Label: "res",
		Fields: []string{"@status", "content-type", "@method;req", "idempotency-key;req"}, Params: []string{"created", "keyid"},
		ParamValues: map[string]any{"keyid": ed.pub.KeyID}})
	assert.True(t, strings.HasPrefix(signed.Base, "\"@status\": 201\n\"content-type\": application/json\n\"@method\";req: POST\n\"idempotency-key\";req: k-1\n"), signed.Base)
	assert.True(t, ed.verifyInGo([]byte(signed.Base), signatureOf(t, signed.Header.Get("Signature"), "res")))
	resp.Headers = signed.Header.Clone()
	resp.Headers.Set("Content-Type", "application/json")
	results := s.VerifyMessage(t, resp, &req, siginterop.VerifyConfig{Keys: []siginterop.Key{ed.pub}})
	require.Len(t, results, 1)
	assert.True(t, results[0].Verified, results[0].Error)
}

// TestWebhook: standardwebhooks signs v1 as the specification says (HMAC-SHA256 over
// "id.timestamp.payload", base64), verifies a signature made so in Go among others
// (secret rotation), and refuses a changed payload.
func TestWebhook(t *testing.T) {
	s := siginterop.Require(t)
	key := make([]byte, 24)
	_, err := rand.Read(key)
	require.NoError(t, err)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	payload := []byte(`{"type":"payment.succeeded","data":{"id":"pay_1","amount":1000}}`)
	ts := time.Now()
	const id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"

	h := s.WebhookSign(t, secret, id, ts, payload)
	assert.Equal(t, id, h.Get("Webhook-Id"))
	assert.Equal(t, ts.Unix(), mustInt(t, h.Get("Webhook-Timestamp")))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + h.Get("Webhook-Timestamp") + "." + string(payload)))
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	assert.True(t, h.Get("Webhook-Signature") == want, "standardwebhooks' v1 signature is not HMAC-SHA256 over id.timestamp.payload")

	ok, reason := s.WebhookVerify(t, secret, h, payload)
	assert.True(t, ok, reason)

	other := make([]byte, 32)
	_, err = rand.Read(other)
	require.NoError(t, err)
	rotated := h.Clone()
	rotated.Set("Webhook-Signature", "v1,"+base64.StdEncoding.EncodeToString(other)+" "+want)
	ok, reason = s.WebhookVerify(t, secret, rotated, payload)
	assert.True(t, ok, reason)

	ok, reason = s.WebhookVerify(t, secret, h, []byte(`{"type":"payment.succeeded","data":{"id":"pay_1","amount":1}}`))
	assert.False(t, ok)
	assert.Contains(t, reason, "No matching signature")
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, json.Unmarshal([]byte(s), &n))
	return n
}
