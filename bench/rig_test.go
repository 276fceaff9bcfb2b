package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"runtime"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// The deployment every benchmark and test pretends to be: an authorization
// server at issuerURL issues tokens for a resource server reached by clients
// at origin; requests go to POST origin+path.
const (
	issuerURL = "https://id.shop.example"
	audience  = "https://checkout.shop.example"
	origin    = "https://checkout.shop.example"
	path      = "/orders"
	method    = "POST"
	htu       = origin + path

	// tokenLeeway is ztkit's default clock skew on exp, nbf and iat; every
	// competitor is configured with the same.
	tokenLeeway = tokens.DefaultLeeway
	// proofMaxAge and proofLeeway are ztkit's defaults for a proof's iat.
	proofMaxAge = dpop.DefaultMaxAge
	proofLeeway = dpop.DefaultLeeway
	// tokenLifetime is long enough that a token issued at set-up outlives
	// any one benchmark run (-count 6 included).
	tokenLifetime = 30 * time.Minute
)

var b64 = base64.RawURLEncoding

// rig is an issuer with one signing key, a DPoP client and the access token
// the issuer gave the client. Every competitor verifies rig.token.
type rig struct {
	alg    string            // JWS alg of the issuer's key: ES256 or EdDSA
	priv   crypto.Signer     // the issuer's private key
	pub    crypto.PublicKey  // *ecdsa.PublicKey or ed25519.PublicKey
	kid    string            // the key's kid (its RFC 7638 thumbprint)
	keys   *tokens.KeySet    // the issuer's key set: ztkit's KeySource
	client *ecdsa.PrivateKey // the DPoP client's P-256 key
	proofs *dpop.Proofer     // proofs made with client
	token  string            // a valid token, bound to client by cnf.jkt
}

func newRig(tb testing.TB, alg string) *rig {
	tb.Helper()
	r := &rig{alg: alg, priv: newKey(tb, alg)}
	r.pub = r.priv.Public()
	sk, err := tokens.NewSigningKey(r.priv, "")
	require.NoError(tb, err)
	require.Equal(tb, alg, sk.Algorithm())
	r.kid = sk.KeyID()
	r.keys, err = tokens.NewKeySet(sk)
	require.NoError(tb, err)
	r.client, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err)
	r.proofs, err = dpop.NewProofer(r.client, "")
	require.NoError(tb, err)
	r.token = r.issue(tb, issueOpts{})
	return r
}

func newKey(tb testing.TB, alg string) crypto.Signer {
	tb.Helper()
	switch alg {
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(tb, err)
		return k
	case "EdDSA":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(tb, err)
		return k
	}
	tb.Fatalf("unknown alg %q", alg)
	return nil
}

// issueOpts varies a token from the valid one, for the refusal cases.
type issueOpts struct {
	issuer   string         // iss; issuerURL when ""
	audience string         // aud; audience when ""
	keys     *tokens.KeySet // signing keys; the rig's when nil
	at       time.Time      // issue time; now when zero
	jkt      string         // cnf.jkt; the rig's client when ""
}

// issue returns a token from ztkit's Issuer: the same code path for the
// valid token and for every refused variant.
func (r *rig) issue(tb testing.TB, o issueOpts) string {
	tb.Helper()
	if o.issuer == "" {
		o.issuer = issuerURL
	}
	if o.audience == "" {
		o.audience = audience
	}
	if o.keys == nil {
		o.keys = r.keys
	}
	if o.jkt == "" {
		o.jkt = r.proofs.Thumbprint()
	}
	opts := []tokens.IssuerOption{tokens.WithLifetime(tokenLifetime)}
	if !o.at.IsZero() {
		opts = append(opts, tokens.WithClock(func() time.Time { return o.at }))
	}
	iss, err := tokens.NewIssuer(o.issuer, o.keys, opts...)
	require.NoError(tb, err)
	tok, err := iss.Issue(context.Background(), tokens.TokenRequest{
		Subject: "customer-42", ClientID: "storefront", Audience: []string{o.audience},
		Scopes: []string{"cart:read", "checkout:write"}, ACR: "urn:shop:acr:mfa", AMR: []string{"pwd", "otp"},
		AuthTime: time.Now().Add(-time.Minute), DPoPKeyThumbprint: o.jkt,
	})
	require.NoError(tb, err)
	return tok
}

// proof returns a fresh proof for POST origin+path carrying ath of token.
func (r *rig) proof(tb testing.TB, token string) string {
	tb.Helper()
	return r.proofFor(tb, token, htu)
}

// proofFor returns a fresh proof for POST url carrying ath of token.
func (r *rig) proofFor(tb testing.TB, token, url string) string {
	tb.Helper()
	p, err := r.proofs.Proof(dpop.ProofRequest{Method: method, URL: url, AccessToken: token})
	require.NoError(tb, err)
	return p
}

// splitJWS returns the signing input (header.payload) and the decoded
// signature of a compact JWS.
func splitJWS(tb testing.TB, compact string) (input, sig []byte) {
	tb.Helper()
	i := strings.LastIndexByte(compact, '.')
	require.Positive(tb, i)
	sig, err := b64.DecodeString(compact[i+1:])
	require.NoError(tb, err)
	return []byte(compact[:i]), sig
}

// ecdsaSig is the ASN.1 form of an ECDSA signature.
type ecdsaSig struct{ R, S *big.Int }

// rsToDER converts a JWS ES256 signature (R||S, RFC 7518 §3.4) to the DER
// form crypto/ecdsa verifies.
func rsToDER(tb testing.TB, rs []byte) []byte {
	tb.Helper()
	require.Len(tb, rs, 64)
	der, err := asn1.Marshal(ecdsaSig{new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])})
	require.NoError(tb, err)
	return der
}

// resign replaces the signature of compact with one by key over the same
// header and payload: a token or proof that names the right key (kid, or
// embedded jwk) but was signed by another one.
func resign(tb testing.TB, compact string, key crypto.Signer) string {
	tb.Helper()
	input, _ := splitJWS(tb, compact)
	var sig []byte
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		h := sha256.Sum256(input)
		der, err := ecdsa.SignASN1(rand.Reader, k, h[:])
		require.NoError(tb, err)
		var s ecdsaSig
		_, err = asn1.Unmarshal(der, &s)
		require.NoError(tb, err)
		sig = make([]byte, 64)
		s.R.FillBytes(sig[:32])
		s.S.FillBytes(sig[32:])
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, input)
	default:
		tb.Fatalf("unsupported key %T", key)
	}
	return string(input) + "." + b64.EncodeToString(sig)
}

// withType re-signs the token's payload with the rig's own key and kid but
// typ JWT instead of at+jwt (RFC 9068 §4 requires verifiers to refuse it).
func (r *rig) withType(tb testing.TB, typ string) string {
	tb.Helper()
	payload, err := b64.DecodeString(strings.Split(r.token, ".")[1])
	require.NoError(tb, err)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(r.alg), Key: r.priv},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader(jose.HeaderKey("kid"), r.kid))
	require.NoError(tb, err)
	jws, err := s.Sign(payload)
	require.NoError(tb, err)
	out, err := jws.CompactSerialize()
	require.NoError(tb, err)
	return out
}

// proofBatch hands out fresh proofs, each usable once. It makes them in
// batches outside the timer, like tokens/dpop's own benchmark.
type proofBatch struct {
	r      *rig
	token  string
	url    string // the proofs' htu
	proofs []string
	next   int
	cpu    *cpuClock // paused with the timer while refilling; may be nil
}

const batchSize = 4096

func newProofBatch(b *testing.B, r *rig, token string) *proofBatch {
	return newProofBatchFor(b, r, token, htu)
}

// newProofBatchFor is newProofBatch for proofs of POST url.
func newProofBatchFor(b *testing.B, r *rig, token, url string) *proofBatch {
	pb := &proofBatch{r: r, token: token, url: url, proofs: make([]string, batchSize)}
	pb.fill(b)
	return pb
}

func (pb *proofBatch) fill(b *testing.B) {
	for i := range pb.proofs {
		pb.proofs[i] = pb.r.proofFor(b, pb.token, pb.url)
	}
	pb.next = 0
}

// take returns an unused proof, refilling the batch with the timer stopped
// when it runs out (proofs also age out of the one-minute window).
func (pb *proofBatch) take(b *testing.B) string {
	if pb.next == len(pb.proofs) {
		b.StopTimer()
		pb.cpu.stop()
		pb.fill(b)
		runtime.GC() // the batch's garbage is not the loop's
		pb.cpu.resume()
		b.StartTimer()
	}
	p := pb.proofs[pb.next]
	pb.next++
	return p
}
