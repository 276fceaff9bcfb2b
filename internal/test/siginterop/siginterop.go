// Package siginterop gives tests the RFC 9421 HTTP Message Signatures and Standard
// Webhooks implementations that scripts/test starts, which are not ztkit: the npm
// packages http-message-signatures (dhensby/node-http-message-signatures) and
// standardwebhooks (the Standard Webhooks project's JavaScript library), pinned by
// package-lock.json and served by server.mjs in this directory over plain HTTP on
// loopback. A signature ztkit makes is checked by someone else's reading of RFC 9421 and
// of the Standard Webhooks specification, and the other way round.
//
// The server holds no key: every call carries the keys the test made for itself. Keys
// and secrets travel in request bodies and headers to the server only; nothing in this
// package prints them.
//
// What the npm packages do that a test must know (http-message-signatures 1.0.6,
// standardwebhooks 1.1.1):
//   - http-message-signatures signs rsa-pss-sha512 with node:crypto's default salt
//     length, the longest the key allows (190 bytes for RSA-2048), not the 64 bytes of
//     RFC 9421 §3.3.1; [SignConfig.PSSSaltLength] makes the server sign with a signer
//     of its own instead. It verifies any salt length.
//   - It does not check Content-Digest against the body; the server does that itself
//     (node:crypto) and reports it in [Verification.ContentDigest].
//   - Its @query-param value is the decoded value re-encoded with encodeURIComponent,
//     which leaves "!", "'", "(", ")" and "~" as they are where RFC 9421 §2.2.8 (the
//     application/x-www-form-urlencoded percent-encode set) encodes them.
//   - standardwebhooks signs and verifies v1 (HMAC-SHA256) only: it has no v1a (Ed25519).
package siginterop

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ztkit/ztkit/internal/test/testenv"
)

// ControlHeader is the header field that carries a call's configuration (keys, secret) to
// the server, as base64url JSON, on requests it verifies as they arrive. A signature must
// never cover it: it is added after signing.
const ControlHeader = "Ztkit-Interop"

// Server is the running test signature server.
type Server struct {
	// URL is its base URL, "http://127.0.0.1:PORT".
	URL    string
	client *http.Client
}

// Require returns the test signature server, skipping the test when scripts/test did
// not start one and failing it under CI=true (see testenv.Require).
func Require(tb testing.TB) *Server {
	tb.Helper()
	return &Server{
		URL:    strings.TrimSuffix(testenv.Require(tb, testenv.SigInteropURLVar), "/"),
		client: &http.Client{Timeout: 10 * time.Second},
	}
}

// Versions returns the versions of the npm packages the server runs, by package name.
func (s *Server) Versions(tb testing.TB) map[string]string {
	tb.Helper()
	r, err := http.NewRequest(http.MethodGet, s.URL+"/healthz", nil)
	if err != nil {
		tb.Fatalf("siginterop: %v", err)
	}
	v := map[string]string{}
	s.do(tb, r, &v)
	return v
}

// VerifyURL returns the URL of pathAndQuery ("/orders/42?currency=EUR") under the
// server's /verify/ path: a request sent there with [Server.Verify] has its own
// signatures verified.
func (s *Server) VerifyURL(pathAndQuery string) string {
	return s.URL + "/verify/" + strings.TrimPrefix(pathAndQuery, "/")
}

// Key is a key as the server takes it: the PEM form of a public or private key, or an
// HMAC secret. Its String and Format print only its key ID and algorithm.
type Key struct {
	// KeyID is the keyid a verifier looks the key up by (unused to sign: the keyid of a
	// signature is SignConfig.ParamValues["keyid"]).
	KeyID string
	// Alg is the RFC 9421 algorithm name ("ed25519", "hmac-sha256", ...).
	Alg    string
	pem    string
	secret []byte
}

// PublicKey returns the verification key pub (*ecdsa.PublicKey, ed25519.PublicKey,
// *rsa.PublicKey) for signatures with keyid keyID and algorithm alg.
func PublicKey(tb testing.TB, keyID, alg string, pub crypto.PublicKey) Key {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		tb.Fatalf("siginterop: encoding a %s public key: %v", alg, err)
	}
	return Key{KeyID: keyID, Alg: alg, pem: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
}

// PrivateKey returns the signing key priv (*ecdsa.PrivateKey, ed25519.PrivateKey,
// *rsa.PrivateKey) for algorithm alg.
func PrivateKey(tb testing.TB, alg string, priv crypto.Signer) Key {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		// The error names the key type, never the key.
		tb.Fatalf("siginterop: encoding a %s private key: %v", alg, err)
	}
	return Key{Alg: alg, pem: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))}
}

// HMACKey returns the hmac-sha256 key secret, with keyid keyID, to sign or verify.
func HMACKey(keyID string, secret []byte) Key {
	return Key{KeyID: keyID, Alg: "hmac-sha256", secret: bytes.Clone(secret)}
}

// String returns the key ID and algorithm of k, never its material.
func (k Key) String() string { return fmt.Sprintf("siginterop.Key{KeyID:%q Alg:%q}", k.KeyID, k.Alg) }

// Format prints k as String does, for every verb.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

type wireKey struct {
	KeyID  string `json:"keyid,omitempty"`
	Alg    string `json:"alg"`
	PEM    string `json:"pem,omitempty"`
	Secret string `json:"secret,omitempty"`
}

func (k Key) wire() wireKey {
	w := wireKey{KeyID: k.KeyID, Alg: k.Alg, PEM: k.pem}
	if k.secret != nil {
		w.Secret = base64.StdEncoding.EncodeToString(k.secret)
	}
	return w
}

// VerifyConfig configures a verification by the server.
type VerifyConfig struct {
	// Keys are the keys it may use, looked up by the keyid of each signature; each
	// verifies only with its own Alg.
	Keys []Key
	// Tolerance is the clock skew, in seconds, allowed on created and expires; 0 means 5.
	Tolerance int
	// RequiredFields are components every signature must cover ("@method",
	// "content-digest"), RequiredParams parameters it must carry ("created", "nonce").
	RequiredFields, RequiredParams []string
}

func (c VerifyConfig) wire() map[string]any {
	keys := make([]wireKey, len(c.Keys))
	for i, k := range c.Keys {
		keys[i] = k.wire()
	}
	m := map[string]any{"keys": keys, "requiredFields": nonNil(c.RequiredFields), "requiredParams": nonNil(c.RequiredParams)}
	if c.Tolerance != 0 {
		m["tolerance"] = c.Tolerance
	}
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Result is the server's verdict on one signature (one label of Signature-Input).
type Result struct {
	Label string `json:"label"`
	// Verified tells whether the signature verified.
	Verified bool `json:"verified"`
	// Error is the library's reason for refusing without checking the signature
	// (an unknown key, a missing component, an expired signature, ...); "" when it
	// checked it, Verified then saying whether it matched.
	Error string `json:"error"`
	// Base is the signature base the library computed (RFC 9421 §2.5), "" if it did
	// not get that far. It holds only covered header values and components.
	Base string `json:"base"`
}

// Verification is the server's answer to [Server.Verify].
type Verification struct {
	// Results has one entry per label of Signature-Input, in order.
	Results []Result `json:"results"`
	// ContentDigest tells, for each sha-256 and sha-512 member of the request's
	// Content-Digest, whether it matches the body the server received (RFC 9530).
	ContentDigest map[string]bool `json:"contentDigest"`
}

// Label returns the result for label, failing the test if there is none.
func (v *Verification) Label(tb testing.TB, label string) Result {
	tb.Helper()
	return resultFor(tb, v.Results, label)
}

func resultFor(tb testing.TB, results []Result, label string) Result {
	tb.Helper()
	for _, r := range results {
		if r.Label == label {
			return r
		}
	}
	tb.Fatalf("siginterop: no result for label %q in %d results", label, len(results))
	return Result{}
}

// Verify sends r, already signed and addressed to a [Server.VerifyURL], to the server,
// which verifies its signatures as the request arrived, with cfg. r's body is consumed.
func (s *Server) Verify(tb testing.TB, r *http.Request, cfg VerifyConfig) *Verification {
	tb.Helper()
	r = r.Clone(r.Context())
	if err := setControl(r.Header, cfg.wire()); err != nil {
		tb.Fatalf("siginterop: %v", err)
	}
	var v Verification
	s.do(tb, r, &v)
	return &v
}

// Message describes an HTTP request (Method, URL) or response (Status) to the server.
// Headers keeps every field line of a field, in order.
type Message struct {
	Method  string      `json:"method,omitempty"`
	URL     string      `json:"url,omitempty"`
	Status  int         `json:"status,omitempty"`
	Headers http.Header `json:"headers"`
}

// RequestMessage describes r, a client request with an absolute URL.
func RequestMessage(r *http.Request) Message {
	h := r.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	return Message{Method: r.Method, URL: r.URL.String(), Headers: h}
}

// ResponseMessage describes resp.
func ResponseMessage(resp *http.Response) Message {
	h := resp.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	return Message{Status: resp.StatusCode, Headers: h}
}

// VerifyMessage has the server verify the signatures of msg, a response when req (the
// request it answers, for components with the req parameter) is not nil.
func (s *Server) VerifyMessage(tb testing.TB, msg Message, req *Message, cfg VerifyConfig) []Result {
	tb.Helper()
	body := cfg.wire()
	body["message"] = msg
	if req != nil {
		body["request"] = req
	}
	var out struct {
		Results []Result `json:"results"`
	}
	s.post(tb, "/verify-message", body, &out)
	return out.Results
}

// SignConfig configures a signature by the server (http-message-signatures' signMessage).
type SignConfig struct {
	// Key is the signing key, from [PrivateKey] or [HMACKey].
	Key Key
	// Label is the signature's label ("sig1").
	Label string
	// Fields are the covered components, in order, as the library takes them:
	// `@method`, `content-digest`, `@query-param;name="id"`, `example-dict;key="b"`.
	Fields []string
	// Params are the signature parameters, in order ("created", "expires", "nonce",
	// "keyid", "alg", "tag"); ParamValues their values: "created" and "expires" as
	// Unix seconds (int64), the others as strings. "created" defaults to now and
	// "expires" to 5 minutes later; "alg" defaults to Key.Alg.
	Params      []string
	ParamValues map[string]any
	// PSSSaltLength, when not 0, signs rsa-pss-sha512 with that salt length (64 for RFC
	// 9421 §3.3.1) with node:crypto instead of the library's createSigner.
	PSSSaltLength int
}

// Signed is the server's answer to [Server.Sign].
type Signed struct {
	// Header holds the Signature and Signature-Input fields to add to the message.
	Header http.Header
	// Base is the signature base the library signed.
	Base string
}

// Sign has the server sign msg (a response when req, the request it answers, is not nil)
// as cfg says.
func (s *Server) Sign(tb testing.TB, msg Message, req *Message, cfg SignConfig) *Signed {
	tb.Helper()
	body := map[string]any{
		"message": msg,
		"key":     cfg.Key.wire(),
		"label":   cfg.Label,
		"fields":  nonNil(cfg.Fields),
		"params":  nonNil(cfg.Params),
	}
	if cfg.ParamValues != nil {
		body["paramValues"] = cfg.ParamValues
	}
	if req != nil {
		body["request"] = req
	}
	if cfg.PSSSaltLength != 0 {
		body["pssSaltLength"] = cfg.PSSSaltLength
	}
	var out struct {
		Headers map[string]string `json:"headers"`
		Base    string            `json:"base"`
	}
	s.post(tb, "/sign", body, &out)
	signed := &Signed{Header: http.Header{}, Base: out.Base}
	for k, v := range out.Headers {
		signed.Header.Set(k, v)
	}
	if signed.Header.Get("Signature") == "" || signed.Header.Get("Signature-Input") == "" {
		tb.Fatalf("siginterop: the server's signature lacks Signature or Signature-Input")
	}
	return signed
}

// WebhookSign has standardwebhooks sign payload (UTF-8: the library signs strings) as
// message id at timestamp with secret ("whsec_" and the base64 key), and returns the
// webhook-id, webhook-timestamp and webhook-signature fields.
func (s *Server) WebhookSign(tb testing.TB, secret, id string, timestamp time.Time, payload []byte) http.Header {
	tb.Helper()
	var out struct {
		Headers map[string]string `json:"headers"`
	}
	s.post(tb, "/webhook/sign", map[string]any{
		"secret": secret, "id": id, "timestamp": timestamp.Unix(), "payload": string(payload),
	}, &out)
	h := http.Header{}
	for k, v := range out.Headers {
		h.Set(k, v)
	}
	return h
}

// WebhookVerify sends payload with the header fields h to the server, whose
// standardwebhooks verifies it as it arrived with secret. It returns whether it
// verified and, if not, the library's reason.
func (s *Server) WebhookVerify(tb testing.TB, secret string, h http.Header, payload []byte) (verified bool, reason string) {
	tb.Helper()
	r, err := http.NewRequest(http.MethodPost, s.URL+"/webhook/verify", bytes.NewReader(payload))
	if err != nil {
		tb.Fatalf("siginterop: %v", err)
	}
	r.Header = h.Clone()
	if err := setControl(r.Header, map[string]any{"secret": secret}); err != nil {
		tb.Fatalf("siginterop: %v", err)
	}
	var out struct {
		Verified bool   `json:"verified"`
		Error    string `json:"error"`
	}
	s.do(tb, r, &out)
	return out.Verified, out.Error
}

func setControl(h http.Header, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding the %s header: %w", ControlHeader, err)
	}
	h.Set(ControlHeader, base64.RawURLEncoding.EncodeToString(b))
	return nil
}

func (s *Server) post(tb testing.TB, path string, body, out any) {
	tb.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		tb.Fatalf("siginterop: encoding the call to %s: %v", path, err)
	}
	r, err := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("siginterop: %v", err)
	}
	r.Header.Set("Content-Type", "application/json")
	s.do(tb, r, out)
}

// do sends r and decodes the server's JSON answer into out. A refusal is reported with
// the server's reason, which never holds a key or a body.
func (s *Server) do(tb testing.TB, r *http.Request, out any) {
	tb.Helper()
	resp, err := s.client.Do(r)
	if err != nil {
		tb.Fatalf("siginterop: %s %s: %v", r.Method, r.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		tb.Fatalf("siginterop: reading the answer to %s %s: %v", r.Method, r.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		tb.Fatalf("siginterop: %s %s: %s: %s", r.Method, r.URL.Path, resp.Status, e.Error)
	}
	if err := json.Unmarshal(b, out); err != nil {
		tb.Fatalf("siginterop: decoding the answer to %s %s: %v", r.Method, r.URL.Path, err)
	}
}
