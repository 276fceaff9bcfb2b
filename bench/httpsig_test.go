package bench

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
)

// The HTTP message signature benchmark verifies one signed request: a POST
// of a ~1 KiB JSON body with an RFC 9530 Content-Digest (sha-256) and one
// RFC 9421 signature (ecdsa-p256-sha256 or ed25519) labelled sig1, covering
// "@method" "@authority" "@path" "content-digest" "content-type", with the
// created and keyid parameters.
//
// No RFC 9421 library for Go was served by the module proxy here (see
// README.md for the ones tried), so beside ztkit and the floor stands the
// check a Go user writes by hand instead: a regexp and strings.Cut over
// Signature-Input and Signature, Go's crypto, and a hand-built signature
// base.

// The partner API a shop calls with signed requests; the verifying side is
// that partner.
const (
	sigAuthority = "partner.shop.example"
	sigPath      = "/v1/payments"
	sigURL       = "https://" + sigAuthority + sigPath
	sigLabel     = "sig1"
	sigCType     = "application/json"

	// sigMaxAge and sigLeeway bound created: at most sigMaxAge old, at most
	// sigLeeway in the future. Every contender is given the same.
	sigMaxAge = 5 * time.Minute
	sigLeeway = 5 * time.Second
	// sigMaxBody is the most body a verifier buffers for the digest (ztkit's
	// default, 1 MiB).
	sigMaxBody = 1 << 20
)

// sigComponents are the covered components, in the order they are signed;
// every verifier requires all of them.
var sigComponents = []string{"@method", "@authority", "@path", "content-digest", "content-type"}

// RFC 9421 §6.2 algorithm names.
const (
	sigAlgECDSA   = "ecdsa-p256-sha256"
	sigAlgEd25519 = "ed25519"
)

// sigKey is one of the partner's verification keys, as the verifier holds it.
type sigKey struct {
	id   string
	alg  string
	pub  crypto.PublicKey // *ecdsa.PublicKey or ed25519.PublicKey
	priv crypto.Signer    // the client's; only the fixture signs with it
}

func newSigKey(tb testing.TB, alg string) *sigKey {
	tb.Helper()
	k := &sigKey{alg: alg}
	switch alg {
	case sigAlgECDSA:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(tb, err)
		k.priv, k.pub, k.id = priv, &priv.PublicKey, "partner-ec-1"
	case sigAlgEd25519:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(tb, err)
		k.priv, k.pub, k.id = priv, pub, "partner-ed-1"
	default:
		tb.Fatalf("unknown alg %q", alg)
	}
	return k
}

// sigPayload is a ~1 KiB JSON body: a payment request to the partner.
func sigPayload(tb testing.TB) []byte {
	tb.Helper()
	var b strings.Builder
	b.WriteString(`{"payment":{"id":"pay_7Hk2mQ9xLr4ZtY1c","order_id":"ord_20261207_000184223",` +
		`"amount":{"value":"129.90","currency":"EUR"},"capture":true,` +
		`"customer":{"id":"cus_9F3kD0aZq","email_hash":"b1946ac92492d2347c6235b4d2611184","country":"DE"},` +
		`"items":[`)
	for i := range 6 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sku":"SKU-%06d","name":"Organic cotton t-shirt, size M","qty":%d,"unit_price":"21.65","tax_rate":"0.19"}`, 100231+i, 1+i%2)
	}
	b.WriteString(`],"shipping":{"method":"standard","address_hash":"7d793037a0760186574b0282f2f435e7"},` +
		`"metadata":{"channel":"web","checkout_session":"cs_a1b2c3d4e5f6","risk_decision":"allow"}}}`)
	body := []byte(b.String())
	require.InDelta(tb, 1024, len(body), 200, "the body should be about 1 KiB")
	return body
}

// sigB64 is the RFC 8941 byte sequence encoding (standard base64, padded).
var sigB64 = base64.StdEncoding

// contentDigest is the RFC 9530 Content-Digest field value for body.
func contentDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha-256=:" + sigB64.EncodeToString(sum[:]) + ":"
}

// sigSpec says how the fixture signs a request; the zero value is the
// valid request every contender must accept.
type sigSpec struct {
	components []string  // default sigComponents
	created    time.Time // default now
	alg        string    // an alg parameter to add ("" for none)
}

// newSignedRequest builds the partner request and signs it by hand, the way
// RFC 9421 §3.1 describes it (the benchmark's inputs do not depend on any
// contender). The body is served by a resettable reader (sigBody).
func newSignedRequest(tb testing.TB, k *sigKey, body []byte, spec sigSpec) *http.Request {
	tb.Helper()
	r := httptest.NewRequest(http.MethodPost, sigURL, bytes.NewReader(body))
	r.Header.Set("Content-Type", sigCType)
	r.Header.Set("Content-Digest", contentDigest(body))
	signRequestByHand(tb, r, k, spec)
	r.Body = newSigBody(body)
	return r
}

// signRequestByHand adds Signature-Input and Signature over r as it is.
func signRequestByHand(tb testing.TB, r *http.Request, k *sigKey, spec sigSpec) {
	tb.Helper()
	comps := spec.components
	if comps == nil {
		comps = sigComponents
	}
	created := spec.created
	if created.IsZero() {
		created = time.Now()
	}
	params := sigParams(comps, created.Unix(), k.id, spec.alg)
	base, err := sigBase(r, comps, params)
	require.NoError(tb, err)
	var sig []byte
	switch priv := k.priv.(type) {
	case *ecdsa.PrivateKey:
		h := sha256.Sum256(base)
		rr, ss, err := ecdsa.Sign(rand.Reader, priv, h[:])
		require.NoError(tb, err)
		sig = make([]byte, 64)
		rr.FillBytes(sig[:32])
		ss.FillBytes(sig[32:])
	case ed25519.PrivateKey:
		sig = ed25519.Sign(priv, base)
	default:
		tb.Fatalf("unsupported key %T", k.priv)
	}
	r.Header.Set("Signature-Input", sigLabel+"="+params)
	r.Header.Set("Signature", sigLabel+"=:"+sigB64.EncodeToString(sig)+":")
}

// sigParams serializes the signature parameters (RFC 9421 §2.3).
func sigParams(comps []string, created int64, keyID, alg string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, c := range comps {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Quote(c))
	}
	b.WriteString(");created=")
	b.WriteString(strconv.FormatInt(created, 10))
	b.WriteString(`;keyid="` + keyID + `"`)
	if alg != "" {
		b.WriteString(`;alg="` + alg + `"`)
	}
	return b.String()
}

var errSigComponent = errors.New("bench: unsupported or absent component")

// sigBase is the signature base (RFC 9421 §2.5) of r for the components
// this benchmark uses: three derived components and plain header fields.
func sigBase(r *http.Request, comps []string, params string) ([]byte, error) {
	var b []byte
	for _, c := range comps {
		b = append(b, '"')
		b = append(b, c...)
		b = append(b, `": `...)
		switch c {
		case "@method":
			b = append(b, r.Method...)
		case "@authority":
			b = append(b, strings.ToLower(r.Host)...)
		case "@path":
			p := r.URL.EscapedPath()
			if p == "" {
				p = "/"
			}
			b = append(b, p...)
		default:
			if strings.HasPrefix(c, "@") {
				return nil, errSigComponent
			}
			vs := r.Header.Values(c)
			if len(vs) == 0 {
				return nil, errSigComponent
			}
			for i, v := range vs {
				if i > 0 {
					b = append(b, ", "...)
				}
				b = append(b, strings.TrimSpace(v)...)
			}
		}
		b = append(b, '\n')
	}
	b = append(b, `"@signature-params": `...)
	b = append(b, params...)
	return b, nil
}

// sigBody is a request body that can be rewound without allocating, so
// that a benchmark hands every op the same unread body.
type sigBody struct{ bytes.Reader }

func newSigBody(body []byte) *sigBody {
	b := &sigBody{}
	b.Reset(body)
	return b
}

func (*sigBody) Close() error { return nil }

// sigFixture is one signed request and what it was made with.
type sigFixture struct {
	key  *sigKey
	body []byte
	req  *http.Request
	rb   *sigBody // req's body, rewound by reset
}

// newSigFixture signs a request with k now.
func newSigFixture(tb testing.TB, k *sigKey, body []byte) *sigFixture {
	tb.Helper()
	r := newSignedRequest(tb, k, body, sigSpec{})
	return &sigFixture{key: k, body: body, req: r, rb: r.Body.(*sigBody)}
}

// reset hands the request its unread body again (a verifier that buffers
// the body may have replaced it).
func (f *sigFixture) reset() {
	f.rb.Reset(f.body)
	f.req.Body = f.rb
}

// sigCheck verifies one signed request; the test and the benchmark call the
// same value.
type sigCheck func(ctx context.Context, r *http.Request) error

type namedSigCheck struct {
	name  string
	check sigCheck
}

// --- the floor ---

// sigFloor is the work no verifier can skip, with no parsing at all: the
// SHA-256 of the body compared with the digest, the signature base built by
// hand from the request (the @signature-params line is the Signature-Input
// member as given), and one ecdsa.Verify (r and s from the raw 64-byte
// r||s) or ed25519.Verify. The signature and the digest are base64-decoded
// and the member's value cut out once, outside the timed loop.
type sigFloor struct {
	pub    crypto.PublicKey
	params string // the Signature-Input member's value
	sig    []byte // the raw signature
	digest []byte // the Content-Digest sha-256 value
	buf    []byte
}

var errFloor = errors.New("bench: floor: refused")

func newSigFloor(tb testing.TB, r *http.Request, k *sigKey) *sigFloor {
	tb.Helper()
	params, ok := strings.CutPrefix(r.Header.Get("Signature-Input"), sigLabel+"=")
	require.True(tb, ok)
	sv, ok := strings.CutPrefix(r.Header.Get("Signature"), sigLabel+"=:")
	require.True(tb, ok)
	sig, err := sigB64.DecodeString(strings.TrimSuffix(sv, ":"))
	require.NoError(tb, err)
	dv, ok := strings.CutPrefix(r.Header.Get("Content-Digest"), "sha-256=:")
	require.True(tb, ok)
	digest, err := sigB64.DecodeString(strings.TrimSuffix(dv, ":"))
	require.NoError(tb, err)
	return &sigFloor{pub: k.pub, params: params, sig: sig, digest: digest, buf: make([]byte, 0, 512)}
}

func (f *sigFloor) check(r *http.Request, body []byte) error {
	sum := sha256.Sum256(body)
	if subtle.ConstantTimeCompare(sum[:], f.digest) != 1 {
		return errFloor
	}
	b := f.buf[:0]
	b = append(b, `"@method": `...)
	b = append(b, r.Method...)
	b = append(b, "\n\"@authority\": "...)
	b = append(b, r.Host...)
	b = append(b, "\n\"@path\": "...)
	b = append(b, r.URL.Path...)
	b = append(b, "\n\"content-digest\": "...)
	b = append(b, r.Header["Content-Digest"][0]...)
	b = append(b, "\n\"content-type\": "...)
	b = append(b, r.Header["Content-Type"][0]...)
	b = append(b, "\n\"@signature-params\": "...)
	b = append(b, f.params...)
	f.buf = b
	switch pub := f.pub.(type) {
	case *ecdsa.PublicKey:
		if len(f.sig) != 64 {
			return errFloor
		}
		h := sha256.Sum256(b)
		var rr, ss big.Int
		rr.SetBytes(f.sig[:32])
		ss.SetBytes(f.sig[32:])
		if !ecdsa.Verify(pub, h[:], &rr, &ss) {
			return errFloor
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, b, f.sig) {
			return errFloor
		}
	default:
		return errFloor
	}
	return nil
}

// --- the hand-written verifier a Go user writes without a library ---

// handSigVerifier is RFC 9421 verification as a Go user writes it when no
// library is at hand: a regexp over the Signature-Input member, strings.Cut
// over Signature and Content-Digest, the required components and created
// window checked, the key looked up by keyid (an alg parameter must agree
// with it), the body read (bounded) and its SHA-256 compared in constant
// time, the base built as sigBase does, and Go's crypto. It understands
// only what this request uses (one label, plain header fields, three
// derived components); ztkit's verifier parses full RFC 8941 fields.
type handSigVerifier struct {
	keys map[string]*sigKey
}

func newHandSigVerifier(keys ...*sigKey) *handSigVerifier {
	v := &handSigVerifier{keys: map[string]*sigKey{}}
	for _, k := range keys {
		v.keys[k.id] = k
	}
	return v
}

// sigInputRE matches one Signature-Input member: label, inner list, params.
var sigInputRE = regexp.MustCompile(`^([a-z][a-z0-9_.*-]*)=\(((?:"[^"]*"(?: "[^"]*")*)?)\)((?:;[a-z][a-z0-9_.*-]*=(?:"[^"]*"|-?[0-9]+))*)$`)

var (
	errHandMissing   = errors.New("bench: hand: no signature")
	errHandMalformed = errors.New("bench: hand: malformed signature")
	errHandCoverage  = errors.New("bench: hand: a required component is not covered")
	errHandExpired   = errors.New("bench: hand: created outside the window")
	errHandKey       = errors.New("bench: hand: unknown key")
	errHandDigest    = errors.New("bench: hand: content digest mismatch")
	errHandInvalid   = errors.New("bench: hand: invalid signature")
)

func (v *handSigVerifier) check(_ context.Context, r *http.Request) error {
	input, sigField := r.Header.Get("Signature-Input"), r.Header.Get("Signature")
	if input == "" || sigField == "" {
		return errHandMissing
	}
	m := sigInputRE.FindStringSubmatch(input)
	if m == nil || m[1] != sigLabel {
		return errHandMalformed
	}
	params := input[len(sigLabel)+1:]
	comps := strings.Fields(m[2])
	seen := make(map[string]bool, len(comps))
	for i, c := range comps {
		c = strings.Trim(c, `"`)
		if seen[c] {
			return errHandMalformed
		}
		seen[c] = true
		comps[i] = c
	}
	for _, c := range sigComponents {
		if !seen[c] {
			return errHandCoverage
		}
	}
	var created int64 = -1
	var keyID, alg string
	for _, p := range strings.Split(m[3], ";")[1:] {
		name, val, _ := strings.Cut(p, "=")
		switch name {
		case "created":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return errHandMalformed
			}
			created = n
		case "keyid":
			keyID = strings.Trim(val, `"`)
		case "alg":
			alg = strings.Trim(val, `"`)
		}
	}
	now := time.Now()
	if created < 0 {
		return errHandCoverage
	}
	if t := time.Unix(created, 0); t.After(now.Add(sigLeeway)) || now.Sub(t) > sigMaxAge {
		return errHandExpired
	}
	k := v.keys[keyID]
	if k == nil || (alg != "" && alg != k.alg) {
		return errHandKey
	}
	sv, ok := strings.CutPrefix(sigField, sigLabel+"=:")
	if !ok || !strings.HasSuffix(sv, ":") {
		return errHandMalformed
	}
	sig, err := sigB64.DecodeString(sv[:len(sv)-1])
	if err != nil {
		return errHandMalformed
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, sigMaxBody+1))
	if err != nil || len(body) > sigMaxBody {
		return errHandMalformed
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	dv, ok := strings.CutPrefix(r.Header.Get("Content-Digest"), "sha-256=:")
	if !ok || !strings.HasSuffix(dv, ":") {
		return errHandDigest
	}
	want, err := sigB64.DecodeString(dv[:len(dv)-1])
	sum := sha256.Sum256(body)
	if err != nil || subtle.ConstantTimeCompare(want, sum[:]) != 1 {
		return errHandDigest
	}
	base, err := sigBase(r, comps, params)
	if err != nil {
		return errHandMalformed
	}
	switch pub := k.pub.(type) {
	case *ecdsa.PublicKey:
		if len(sig) != 64 {
			return errHandInvalid
		}
		h := sha256.Sum256(base)
		if !ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return errHandInvalid
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, base, sig) {
			return errHandInvalid
		}
	default:
		return errHandKey
	}
	return nil
}

// sigChecks returns the contenders other than the floor, configured alike:
// label sig1, the five components required, created at most sigMaxAge old
// and at most sigLeeway ahead, keys looked up by keyid.
func sigChecks(tb testing.TB, keys ...*sigKey) []namedSigCheck {
	tb.Helper()
	checks := ztkitSigChecks(tb, keys...)
	return append(checks, namedSigCheck{"hand-regexp", newHandSigVerifier(keys...).check})
}

// sigZtkitComponents are sigComponents as ztkit's Components.
func sigZtkitComponents() []httpsig.Component {
	return []httpsig.Component{
		httpsig.Derived("@method"), httpsig.Derived("@authority"), httpsig.Derived("@path"),
		httpsig.Field("content-digest"), httpsig.Field("content-type"),
	}
}

// ztkitSigChecks is ztkit's httpsig.Verifier, told what the others check:
// the label sig1, the five components and keyid required (created always
// is), the keys in a StaticKeys set, the same window and body limit, and
// only the two algorithms in use.
func ztkitSigChecks(tb testing.TB, keys ...*sigKey) []namedSigCheck {
	tb.Helper()
	vks := make([]*httpsig.VerifyingKey, 0, len(keys))
	for _, k := range keys {
		vk, err := httpsig.NewVerifyingKey(k.id, httpsig.Algorithm(k.alg), k.pub)
		require.NoError(tb, err)
		vks = append(vks, vk)
	}
	ks, err := httpsig.NewStaticKeys(vks...)
	require.NoError(tb, err)
	v, err := httpsig.NewVerifier(ks,
		httpsig.WithLabel(sigLabel),
		httpsig.WithRequiredComponents(sigZtkitComponents()...),
		httpsig.WithRequiredParams("keyid"),
		httpsig.WithAlgorithms(httpsig.AlgECDSAP256SHA256, httpsig.AlgEd25519),
		httpsig.WithMaxAge(sigMaxAge),
		httpsig.WithLeeway(sigLeeway),
		httpsig.WithMaxBodySize(sigMaxBody),
	)
	require.NoError(tb, err)
	return []namedSigCheck{{"ztkit", func(ctx context.Context, r *http.Request) error {
		_, err := v.VerifyRequest(ctx, r)
		return err
	}}}
}

// BenchmarkHTTPSig verifies one signed request per op (Content-Digest over
// the body and one signature), for each algorithm: the floor, ztkit and the
// hand-written check. The request and its headers are made once per
// sub-benchmark (so created is fresh); each op gets the same unread body
// back (sigFixture.reset), so the timed loop holds only the verification.
func BenchmarkHTTPSig(b *testing.B) {
	for _, alg := range []string{sigAlgECDSA, sigAlgEd25519} {
		b.Run(alg, func(b *testing.B) {
			k := newSigKey(b, alg)
			body := sigPayload(b)
			b.Run("floor", func(b *testing.B) {
				f := newSigFixture(b, k, body)
				floor := newSigFloor(b, f.req, k)
				b.ReportAllocs()
				cpu := startCPU()
				for b.Loop() {
					if err := floor.check(f.req, f.body); err != nil {
						b.Fatal(err)
					}
				}
				cpu.report(b)
			})
			for _, c := range sigChecks(b, k) {
				b.Run(c.name, func(b *testing.B) {
					f := newSigFixture(b, k, body)
					ctx := context.Background()
					b.ReportAllocs()
					cpu := startCPU()
					for b.Loop() {
						f.reset()
						if err := c.check(ctx, f.req); err != nil {
							b.Fatal(err)
						}
					}
					cpu.report(b)
				})
			}
		})
	}
}

// sigCase is one request of TestHTTPSigEquivalence: valid, or changed in one
// way after (or while) signing. floor says whether the floor's computation
// covers the change (it parses nothing, so it cannot see a bad created,
// keyid, alg or coverage).
type sigCase struct {
	name  string
	valid bool
	floor bool
	make  func(tb testing.TB, k, other *sigKey, body []byte) (*http.Request, []byte)
	// ztkitWant are the sentinels (issue 17 contract) one of which ztkit's
	// refusal must match.
	ztkitWant []error
}

func sigCases() []sigCase {
	signed := func(spec sigSpec) func(testing.TB, *sigKey, *sigKey, []byte) (*http.Request, []byte) {
		return func(tb testing.TB, k, _ *sigKey, body []byte) (*http.Request, []byte) {
			return newSignedRequest(tb, k, body, spec), body
		}
	}
	changed := func(edit func(r *http.Request)) func(testing.TB, *sigKey, *sigKey, []byte) (*http.Request, []byte) {
		return func(tb testing.TB, k, _ *sigKey, body []byte) (*http.Request, []byte) {
			r := newSignedRequest(tb, k, body, sigSpec{})
			edit(r)
			return r, body
		}
	}
	otherBody := func(body []byte) []byte {
		return bytes.Replace(body, []byte(`"129.90"`), []byte(`"1.90"`), 1)
	}
	return []sigCase{
		{name: "valid", valid: true, floor: true, make: signed(sigSpec{})},
		{name: "valid, signed by ztkit's Signer", valid: true, floor: true, make: func(tb testing.TB, k, _ *sigKey, body []byte) (*http.Request, []byte) {
			sk, err := httpsig.NewSigningKey(k.id, httpsig.Algorithm(k.alg), k.priv)
			require.NoError(tb, err)
			s, err := httpsig.NewSigner(sk, httpsig.WithLabel(sigLabel), httpsig.WithComponents(sigZtkitComponents()...))
			require.NoError(tb, err)
			r := httptest.NewRequest(http.MethodPost, sigURL, newSigBody(body))
			r.Header.Set("Content-Type", sigCType)
			r.Header.Set("Content-Digest", contentDigest(body))
			require.NoError(tb, s.SignRequest(r))
			return r, body
		}},
		{name: "body changed", ztkitWant: []error{httpsig.ErrDigestMismatch}, floor: true, make: func(tb testing.TB, k, _ *sigKey, body []byte) (*http.Request, []byte) {
			r := newSignedRequest(tb, k, body, sigSpec{})
			nb := otherBody(body)
			r.Body = newSigBody(nb)
			return r, nb
		}},
		{name: "body and its digest changed", ztkitWant: []error{httpsig.ErrInvalid}, floor: true, make: func(tb testing.TB, k, _ *sigKey, body []byte) (*http.Request, []byte) {
			r := newSignedRequest(tb, k, body, sigSpec{})
			nb := otherBody(body)
			r.Body = newSigBody(nb)
			r.Header.Set("Content-Digest", contentDigest(nb))
			return r, nb
		}},
		{name: "method changed", ztkitWant: []error{httpsig.ErrInvalid}, floor: true, make: changed(func(r *http.Request) { r.Method = http.MethodPut })},
		{name: "authority changed", ztkitWant: []error{httpsig.ErrInvalid}, floor: true, make: changed(func(r *http.Request) { r.Host = "evil.example" })},
		{name: "path changed", ztkitWant: []error{httpsig.ErrInvalid}, floor: true, make: changed(func(r *http.Request) { r.URL.Path = "/v1/refunds"; r.RequestURI = r.URL.Path })},
		{name: "content-type changed", ztkitWant: []error{httpsig.ErrInvalid}, floor: true, make: changed(func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") })},
		{name: "signature truncated", ztkitWant: []error{httpsig.ErrInvalid, httpsig.ErrMalformed}, floor: true, make: changed(func(r *http.Request) {
			v := r.Header.Get("Signature")
			r.Header.Set("Signature", v[:len(v)-9]+":")
		})},
		{name: "signed by another key", ztkitWant: []error{httpsig.ErrInvalid}, make: func(tb testing.TB, k, other *sigKey, body []byte) (*http.Request, []byte) {
			impostor := *other
			impostor.id = k.id // the right keyid, the wrong key
			return newSignedRequest(tb, &impostor, body, sigSpec{}), body
		}},
		{name: "unknown keyid", ztkitWant: []error{httpsig.ErrUnknownKey}, make: func(tb testing.TB, k, _ *sigKey, body []byte) (*http.Request, []byte) {
			unknown := *k
			unknown.id = "partner-unknown"
			return newSignedRequest(tb, &unknown, body, sigSpec{}), body
		}},
		{name: "created too old", ztkitWant: []error{httpsig.ErrExpired}, make: signed(sigSpec{created: time.Now().Add(-sigMaxAge - time.Minute)})},
		{name: "created in the future", ztkitWant: []error{httpsig.ErrExpired}, make: signed(sigSpec{created: time.Now().Add(sigLeeway + time.Minute)})},
		{name: "content-digest not covered", ztkitWant: []error{httpsig.ErrInsufficient}, make: signed(sigSpec{components: []string{"@method", "@authority", "@path", "content-type"}})},
		{name: "no Signature field", ztkitWant: []error{httpsig.ErrMalformed, httpsig.ErrMissing}, make: changed(func(r *http.Request) { r.Header.Del("Signature") })},
		{name: "alg contradicts the key", ztkitWant: []error{httpsig.ErrUnknownKey}, make: func(tb testing.TB, k, _ *sigKey, body []byte) (*http.Request, []byte) {
			alg := sigAlgEd25519
			if k.alg == sigAlgEd25519 {
				alg = sigAlgECDSA
			}
			return newSignedRequest(tb, k, body, sigSpec{alg: alg}), body
		}},
	}
}

// TestHTTPSigEquivalence: every contender accepts the valid request and
// refuses each changed one; the floor accepts the valid request (so the
// base it builds is the one that was signed) and refuses the changes its
// computation covers. Each refusal is logged (go test -run HTTPSig -v).
func TestHTTPSigEquivalence(t *testing.T) {
	for _, alg := range []string{sigAlgECDSA, sigAlgEd25519} {
		t.Run(alg, func(t *testing.T) {
			k := newSigKey(t, alg)
			other := newSigKey(t, alg)
			body := sigPayload(t)
			checks := sigChecks(t, k)
			require.NotEmpty(t, checks)
			for _, tc := range sigCases() {
				t.Run(tc.name, func(t *testing.T) {
					for _, c := range checks {
						r, _ := tc.make(t, k, other, body)
						err := c.check(context.Background(), r)
						if tc.valid {
							require.NoError(t, err, c.name)
							got, rerr := io.ReadAll(r.Body)
							require.NoError(t, rerr)
							require.True(t, bytes.Equal(body, got), "%s: the body is readable after verification", c.name)
							continue
						}
						require.Error(t, err, c.name)
						t.Logf("%-12s %v", c.name, err)
						if c.name == "ztkit" {
							assert.True(t, isAnyError(err, tc.ztkitWant), "ztkit refused for another reason: %v", err)
						}
					}
					if tc.floor {
						r, b := tc.make(t, k, other, body)
						err := newSigFloor(t, r, k).check(r, b)
						if tc.valid {
							require.NoError(t, err, "floor")
						} else {
							require.Error(t, err, "floor")
						}
					}
				})
			}
		})
	}
}

// isAnyError reports whether err matches one of wants.
func isAnyError(err error, wants []error) bool {
	for _, w := range wants {
		if errors.Is(err, w) {
			return true
		}
	}
	return false
}
