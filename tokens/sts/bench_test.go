package sts_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/sts"
)

// benchServer is a token service for in-process benchmarks: subject tokens
// verified without the verifier's cache, so that every exchange checks its
// subject token's signature as a first exchange does.
func benchServer(b *testing.B, opts ...sts.Option) (*sts.Server, *tokens.Issuer, string) {
	si, err := spiffetest.New(context.Background(), td)
	require.NoError(b, err)
	b.Cleanup(func() { _ = si.Close() })
	sk, err := tokens.NewSigningKey(newKey(b), "")
	require.NoError(b, err)
	keys, err := tokens.NewKeySet(sk)
	require.NoError(b, err)
	issuer, err := tokens.NewIssuer(issuerURL, keys)
	require.NoError(b, err)
	v, err := tokens.NewVerifier(keys, issuerURL, []string{checkoutAud}, tokens.WithCacheSize(0))
	require.NoError(b, err)
	s, err := sts.New(issuerURL, "https://sts.shop.test/token", issuer, append([]sts.Option{
		sts.WithTokenExchange(v, sts.ActorPolicy{ID: checkoutID, Audiences: []string{paymentsAud}, Scopes: []string{"payments:charge"}}),
		sts.WithJWTSVIDs(si.JWTBundle(), stsID.String()),
	}, opts...)...)
	require.NoError(b, err)
	actor, err := si.IssueJWTSVID(checkoutID, []string{stsID.String()})
	require.NoError(b, err)
	return s, issuer, actor
}

// BenchmarkExchange is one token exchange through the handler: form
// parsing, the subject token's verification (ES256), the actor JWT-SVID's
// (ES256, through go-spiffe), the policy, and the issue (one ES256 sign).
// DPoP is off here so that it compares with BenchmarkExchangeFloor;
// BenchmarkExchangeDPoP adds the proof.
func BenchmarkExchange(b *testing.B) {
	s, issuer, actor := benchServer(b, sts.WithDPoPOptional())
	subject, err := issuer.Issue(context.Background(), tokens.TokenRequest{Subject: customer, ClientID: "storefront", Audience: []string{checkoutAud}, Scopes: []string{"payments:charge"}})
	require.NoError(b, err)
	body := exchange(subject, "audience="+url.QueryEscape(paymentsAud), "actor_token="+actor, "actor_token_type="+url.QueryEscape(sts.TokenTypeJWT))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "https://sts.shop.test/token", strings.NewReader(body))
		req.Header.Set("Content-Type", formURLEnc)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkExchangeDPoP is BenchmarkExchange with a DPoP proof (one more
// ES256 verify and a replay-store insert); proofs are made beforehand.
func BenchmarkExchangeDPoP(b *testing.B) {
	s, issuer, actor := benchServer(b)
	subject, err := issuer.Issue(context.Background(), tokens.TokenRequest{Subject: customer, ClientID: "storefront", Audience: []string{checkoutAud}, Scopes: []string{"payments:charge"}})
	require.NoError(b, err)
	body := exchange(subject, "audience="+url.QueryEscape(paymentsAud), "actor_token="+actor, "actor_token_type="+url.QueryEscape(sts.TokenTypeJWT))
	p := newProofer(b)
	proofs := make([]string, 0, 1<<14)
	for range cap(proofs) {
		proofs = append(proofs, proof(b, p, "https://sts.shop.test/token", ""))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(proofs) {
			b.Fatal("ran out of proofs")
		}
		req := httptest.NewRequest(http.MethodPost, "https://sts.shop.test/token", strings.NewReader(body))
		req.Header.Set("Content-Type", formURLEnc)
		req.Header.Set("DPoP", proofs[i])
		i++
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkExchangeVsFloor interleaves one exchange and one floor (two
// ES256 verifies and a sign) per iteration and reports each one's time and
// their ratio, so that a machine whose load drifts slows both alike.
func BenchmarkExchangeVsFloor(b *testing.B) {
	s, issuer, actor := benchServer(b, sts.WithDPoPOptional())
	subject, err := issuer.Issue(context.Background(), tokens.TokenRequest{Subject: customer, ClientID: "storefront", Audience: []string{checkoutAud}, Scopes: []string{"payments:charge"}})
	require.NoError(b, err)
	body := exchange(subject, "audience="+url.QueryEscape(paymentsAud), "actor_token="+actor, "actor_token_type="+url.QueryEscape(sts.TokenTypeJWT))
	floor := newFloor(b)
	var ex, fl time.Duration
	for b.Loop() {
		t0 := time.Now()
		req := httptest.NewRequest(http.MethodPost, "https://sts.shop.test/token", strings.NewReader(body))
		req.Header.Set("Content-Type", formURLEnc)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
		t1 := time.Now()
		floor()
		ex, fl = ex+t1.Sub(t0), fl+time.Since(t1)
	}
	b.ReportMetric(float64(ex.Nanoseconds())/float64(b.N), "exchange-ns/op")
	b.ReportMetric(float64(fl.Nanoseconds())/float64(b.N), "floor-ns/op")
	b.ReportMetric(float64(ex)/float64(fl), "ratio")
}

// newFloor returns the floor's work: two ES256 verifies and one sign.
func newFloor(b *testing.B) func() {
	k1, k2, k3 := newKey(b), newKey(b), newKey(b)
	input := make([]byte, 600)
	sum := sha256.Sum256(input)
	sig1, err := ecdsa.SignASN1(rand.Reader, k1, sum[:])
	require.NoError(b, err)
	sig2, err := ecdsa.SignASN1(rand.Reader, k2, sum[:])
	require.NoError(b, err)
	return func() {
		s1 := sha256.Sum256(input)
		s2 := sha256.Sum256(input)
		s3 := sha256.Sum256(input)
		_, err := ecdsa.SignASN1(rand.Reader, k3, s3[:])
		if !ecdsa.VerifyASN1(&k1.PublicKey, s1[:], sig1) || !ecdsa.VerifyASN1(&k2.PublicKey, s2[:], sig2) || err != nil {
			b.Fatal("floor")
		}
	}
}

// BenchmarkExchangeFloor is the cryptography an exchange cannot avoid: two
// ES256 verifies (subject token, actor token) and one ES256 sign (the new
// token), over inputs of a token's size.
func BenchmarkExchangeFloor(b *testing.B) {
	k1, k2, k3 := newKey(b), newKey(b), newKey(b)
	input := make([]byte, 600)
	sum := sha256.Sum256(input)
	sig1, err := ecdsa.SignASN1(rand.Reader, k1, sum[:])
	require.NoError(b, err)
	sig2, err := ecdsa.SignASN1(rand.Reader, k2, sum[:])
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		s1 := sha256.Sum256(input)
		if !ecdsa.VerifyASN1(&k1.PublicKey, s1[:], sig1) {
			b.Fatal("verify")
		}
		s2 := sha256.Sum256(input)
		if !ecdsa.VerifyASN1(&k2.PublicKey, s2[:], sig2) {
			b.Fatal("verify")
		}
		s3 := sha256.Sum256(input)
		if _, err := ecdsa.SignASN1(rand.Reader, k3, s3[:]); err != nil {
			b.Fatal(err)
		}
	}
}
