package httpsig_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/httpsig/digest"
)

// benchBody is a typical JSON payload of a partner call.
var benchBody = bytes.Repeat([]byte(`{"sku":"A-1","qty":2},`), 50)

// benchRequest returns a request signed by key over the request line and
// the body, a verifier for it, and the signature base (for the floor).
func benchRequest(b *testing.B, key *httpsig.SigningKey, vk *httpsig.VerifyingKey) (*http.Request, *httpsig.Verifier) {
	b.Helper()
	now := time.Unix(1_800_000_000, 0)
	clock := httpsig.WithClock(func() time.Time { return now })
	s, err := httpsig.NewSigner(key, clock)
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "https://partner.example/v1/stock/reserve?warehouse=7", bytes.NewReader(benchBody))
	r.Header.Set("Content-Type", "application/json")
	d, err := digest.Value(benchBody)
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Content-Digest", d)
	if err := s.SignRequest(r); err != nil {
		b.Fatal(err)
	}
	keys, err := httpsig.NewStaticKeys(vk)
	if err != nil {
		b.Fatal(err)
	}
	v, err := httpsig.NewVerifier(keys, clock,
		httpsig.WithRequiredComponents(httpsig.Derived("@method"), httpsig.Derived("@authority"),
			httpsig.Derived("@path"), httpsig.Derived("@query"), httpsig.Field("content-digest")))
	if err != nil {
		b.Fatal(err)
	}
	return r, v
}

func benchVerify(b *testing.B, r *http.Request, v *httpsig.Verifier) {
	ctx := context.Background()
	body := bytes.NewReader(benchBody)
	rc := io.NopCloser(body)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		body.Reset(benchBody)
		r.Body = rc
		if _, err := v.VerifyRequest(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRequest: one signed request, digest and one signature, as
// a service verifies it; BenchmarkFloor* is the bare crypto of the same
// work (SHA-256 of the body, compare, one signature verification over a
// base of the same size).
func BenchmarkVerifyRequestEd25519(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sk, _ := httpsig.NewSigningKey("k", httpsig.AlgEd25519, priv)
	vk, _ := httpsig.NewVerifyingKey("k", httpsig.AlgEd25519, pub)
	r, v := benchRequest(b, sk, vk)
	benchVerify(b, r, v)
}

func BenchmarkFloorEd25519(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	base := bytes.Repeat([]byte("x"), 330)
	sig := ed25519.Sign(priv, base)
	want := sha256.Sum256(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		got := sha256.Sum256(benchBody)
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || !ed25519.Verify(pub, base, sig) {
			b.Fatal("floor")
		}
	}
}

func BenchmarkVerifyRequestECDSAP256(b *testing.B) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sk, _ := httpsig.NewSigningKey("k", httpsig.AlgECDSAP256SHA256, priv)
	vk, _ := httpsig.NewVerifyingKey("k", httpsig.AlgECDSAP256SHA256, &priv.PublicKey)
	r, v := benchRequest(b, sk, vk)
	benchVerify(b, r, v)
}

func BenchmarkFloorECDSAP256(b *testing.B) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	base := bytes.Repeat([]byte("x"), 330)
	h := sha256.Sum256(base)
	rr, ss, _ := ecdsa.Sign(rand.Reader, priv, h[:])
	raw := make([]byte, 64)
	rr.FillBytes(raw[:32])
	ss.FillBytes(raw[32:])
	want := sha256.Sum256(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		got := sha256.Sum256(benchBody)
		hh := sha256.Sum256(base)
		r, s := new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || !ecdsa.Verify(&priv.PublicKey, hh[:], r, s) {
			b.Fatal("floor")
		}
	}
}
