package dpop_test

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
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// dtNow is the instant every clock of these tests is stuck at: issuer, token
// verifier, proofer, proof verifier, replay store and nonces.
var dtNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	dtIssuer   = "https://id.shop.example"
	dtAudience = "https://api.shop.example"
	dtOrigin   = "https://api.shop.example"
	dtURL      = dtOrigin + "/orders"
	dtSubject  = "customer-42"
)

// dtClock returns a clock stuck at t.
func dtClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func dtB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// dtJTI returns a fresh random jti.
func dtJTI(tb testing.TB) string {
	tb.Helper()
	var b [16]byte
	_, err := rand.Read(b[:])
	require.NoError(tb, err)
	return dtB64(b[:])
}

func dtECKey(tb testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	require.NoError(tb, err)
	return k
}

func dtRSAKey(tb testing.TB, bits int) *rsa.PrivateKey {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	require.NoError(tb, err)
	return k
}

func dtEdKey(tb testing.TB) ed25519.PrivateKey {
	tb.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(tb, err)
	return k
}

// dtProofer returns a proofer for key whose clock is stuck at now.
func dtProofer(tb testing.TB, key crypto.Signer, alg string, now time.Time) *dpop.Proofer {
	tb.Helper()
	p, err := dpop.NewProofer(key, alg, dpop.WithClock(dtClock(now)))
	require.NoError(tb, err)
	return p
}

// dtProof returns a proof from p.
func dtProof(tb testing.TB, p *dpop.Proofer, method, url, token, nonce string) string {
	tb.Helper()
	proof, err := p.Proof(dpop.ProofRequest{Method: method, URL: url, AccessToken: token, Nonce: nonce})
	require.NoError(tb, err)
	return proof
}

// dtJWK returns the public JWK of pub (RFC 7517, RFC 7518 §6, RFC 8037).
func dtJWK(tb testing.TB, pub crypto.PublicKey) map[string]any {
	tb.Helper()
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		pt, err := k.Bytes()
		require.NoError(tb, err)
		size := (len(pt) - 1) / 2
		return map[string]any{"kty": "EC", "crv": k.Curve.Params().Name, "x": dtB64(pt[1 : 1+size]), "y": dtB64(pt[1+size:])}
	case ed25519.PublicKey:
		return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": dtB64(k)}
	case *rsa.PublicKey:
		return map[string]any{"kty": "RSA", "n": dtB64(k.N.Bytes()), "e": dtB64(big.NewInt(int64(k.E)).Bytes())}
	}
	tb.Fatalf("dtJWK: unsupported key %T", pub)
	return nil
}

// dtMarshal returns v as JSON; a json.RawMessage or []byte is used as is.
func dtMarshal(tb testing.TB, v any) []byte {
	tb.Helper()
	switch b := v.(type) {
	case json.RawMessage:
		return b
	case []byte:
		return b
	}
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	return b
}

// dtJWS builds a compact JWS by hand, independently of the code under test:
// header and claims are marshalled as given and signed with key under alg.
func dtJWS(tb testing.TB, key crypto.Signer, alg string, header, claims any) string {
	tb.Helper()
	input := dtB64(dtMarshal(tb, header)) + "." + dtB64(dtMarshal(tb, claims))
	return input + "." + dtB64(dtSign(tb, key, alg, []byte(input)))
}

// dtSign computes a JWS signature (RFC 7518 §3) with the standard library.
func dtSign(tb testing.TB, key crypto.Signer, alg string, input []byte) []byte {
	tb.Helper()
	switch alg {
	case "ES256", "ES384":
		k := key.(*ecdsa.PrivateKey)
		var digest []byte
		if alg == "ES384" {
			s := sha512.Sum384(input)
			digest = s[:]
		} else {
			s := sha256.Sum256(input)
			digest = s[:]
		}
		der, err := ecdsa.SignASN1(rand.Reader, k, digest)
		require.NoError(tb, err)
		var rs struct{ R, S *big.Int }
		_, err = asn1.Unmarshal(der, &rs)
		require.NoError(tb, err)
		size := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		rs.R.FillBytes(out[:size])
		rs.S.FillBytes(out[size:])
		return out
	case "RS256", "PS256":
		k := key.(*rsa.PrivateKey)
		digest := sha256.Sum256(input)
		var (
			sig []byte
			err error
		)
		if alg == "RS256" {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:])
		} else {
			sig, err = rsa.SignPSS(rand.Reader, k, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		require.NoError(tb, err)
		return sig
	case "EdDSA":
		return ed25519.Sign(key.(ed25519.PrivateKey), input)
	case "HS256":
		m := hmac.New(sha256.New, []byte("a shared secret an attacker guessed"))
		m.Write(input)
		return m.Sum(nil)
	case "none":
		return []byte("not a signature")
	}
	tb.Fatalf("dtSign: unsupported alg %q", alg)
	return nil
}

// dtRig is an authorization server (issuer and key set), a resource server's
// token verifier, and a client with its proof key, all on the clock dtNow.
type dtRig struct {
	keys    *tokens.KeySet
	issuer  *tokens.Issuer
	tv      *tokens.Verifier
	key     *ecdsa.PrivateKey
	proofer *dpop.Proofer
}

func dtNewRig(tb testing.TB) *dtRig {
	tb.Helper()
	sk, err := tokens.NewSigningKey(dtECKey(tb, elliptic.P256()), "")
	require.NoError(tb, err)
	ks, err := tokens.NewKeySet(sk, tokens.WithClock(dtClock(dtNow)))
	require.NoError(tb, err)
	iss, err := tokens.NewIssuer(dtIssuer, ks, tokens.WithClock(dtClock(dtNow)))
	require.NoError(tb, err)
	tv, err := tokens.NewVerifier(ks, dtIssuer, []string{dtAudience}, tokens.WithClock(dtClock(dtNow)))
	require.NoError(tb, err)
	key := dtECKey(tb, elliptic.P256())
	return &dtRig{keys: ks, issuer: iss, tv: tv, key: key, proofer: dtProofer(tb, key, "", dtNow)}
}

// token issues an access token bound to the rig's proof key; edit changes the request first.
func (r *dtRig) token(tb testing.TB, edit func(*tokens.TokenRequest)) string {
	tb.Helper()
	return r.issue(tb, r.issuer, edit)
}

// tokenAt is [dtRig.token] from an issuer of the same key set whose clock is at.
func (r *dtRig) tokenAt(tb testing.TB, at time.Time, edit func(*tokens.TokenRequest)) string {
	tb.Helper()
	iss, err := tokens.NewIssuer(dtIssuer, r.keys, tokens.WithClock(dtClock(at)))
	require.NoError(tb, err)
	return r.issue(tb, iss, edit)
}

func (r *dtRig) issue(tb testing.TB, iss *tokens.Issuer, edit func(*tokens.TokenRequest)) string {
	tb.Helper()
	req := tokens.TokenRequest{
		Subject: dtSubject, ClientID: "storefront", Audience: []string{dtAudience},
		Scopes: []string{"orders:read"}, DPoPKeyThumbprint: r.proofer.Thumbprint(),
	}
	if edit != nil {
		edit(&req)
	}
	tok, err := iss.Issue(context.Background(), req)
	require.NoError(tb, err)
	return tok
}

// dtProofVerifier returns a proof verifier on the clock dtNow with its own replay
// store on the same clock, so that replay windows never depend on real time.
func dtProofVerifier(tb testing.TB, opts ...dpop.VerifierOption) *dpop.Verifier {
	tb.Helper()
	store, err := dpop.NewMemoryReplayStore(dpop.WithClock(dtClock(dtNow)))
	require.NoError(tb, err)
	pv, err := dpop.NewVerifier(append([]dpop.VerifierOption{dpop.WithClock(dtClock(dtNow)), dpop.WithReplayStore(store)}, opts...)...)
	require.NoError(tb, err)
	return pv
}

// verifier returns a request verifier for dtOrigin; ropts apply after
// WithExternalURL(dtOrigin) and may override it.
func (r *dtRig) verifier(tb testing.TB, vopts []dpop.VerifierOption, ropts []dpop.RequestOption) *dpop.RequestVerifier {
	tb.Helper()
	rv, err := dpop.NewRequestVerifier(r.tv, dtProofVerifier(tb, vopts...), append([]dpop.RequestOption{dpop.WithExternalURL(dtOrigin)}, ropts...)...)
	require.NoError(tb, err)
	return rv
}

// header returns a proof's JOSE header for the rig's key.
func (r *dtRig) header(tb testing.TB) map[string]any {
	tb.Helper()
	return map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": dtJWK(tb, r.key.Public())}
}

// claims returns a valid proof's claims for GET dtURL with token.
func (r *dtRig) claims(tb testing.TB, token string) map[string]any {
	tb.Helper()
	return map[string]any{"jti": dtJTI(tb), "htm": "GET", "htu": dtURL, "iat": dtNow.Unix(), "ath": dpop.AccessTokenHash(token)}
}

// hand builds, by hand and signed with the rig's key, a proof for GET dtURL
// with token, after edit changes its header and claims.
func (r *dtRig) hand(tb testing.TB, token string, edit func(h, c map[string]any)) string {
	tb.Helper()
	h, c := r.header(tb), r.claims(tb, token)
	if edit != nil {
		edit(h, c)
	}
	return dtJWS(tb, r.key, "ES256", h, c)
}

// dtRequest returns a request to target with `Authorization: DPoP token` and
// `DPoP: proof`, each left out when empty.
func dtRequest(method, target, token, proof string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	if token != "" {
		r.Header.Set("Authorization", "DPoP "+token)
	}
	if proof != "" {
		r.Header.Set("DPoP", proof)
	}
	return r
}

// dtAssertNoSecrets checks that err names neither the request's credentials
// nor a recognisable piece of them, and carries a package prefix.
func dtAssertNoSecrets(tb testing.TB, err error, r *http.Request) {
	tb.Helper()
	msg := err.Error()
	assert.True(tb, strings.HasPrefix(msg, "dpop: ") || strings.HasPrefix(msg, "tokens: "), "error %q lacks a package prefix", msg)
	var secrets []string
	for _, v := range r.Header.Values("Authorization") {
		if _, cred, ok := strings.Cut(v, " "); ok {
			secrets = append(secrets, cred)
		}
	}
	for _, v := range r.Header.Values("DPoP") {
		secrets = append(secrets, strings.Split(v, ",")...)
	}
	for _, s := range secrets {
		for _, part := range append([]string{s}, strings.Split(s, ".")...) {
			if len(part) >= 16 {
				assert.NotContains(tb, msg, part, "error text leaks a credential")
			}
		}
	}
}

// dtFailingStore is a replay store that cannot be reached.
type dtFailingStore struct{}

func (dtFailingStore) CheckAndStore(context.Context, string, string, time.Time) error {
	return errors.New("dtFailingStore: connection refused")
}

// dtNonces returns server nonces on the clock dtNow.
func dtNonces(tb testing.TB, seed byte) *dpop.Nonces {
	tb.Helper()
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = seed
	}
	n, err := dpop.NewNonces(secret, dpop.WithNonceClock(dtClock(dtNow)))
	require.NoError(tb, err)
	return n
}

type dtRefusal struct {
	name  string
	vopts []dpop.VerifierOption
	ropts []dpop.RequestOption
	// req builds the refused request; rv is the verifier it is sent to.
	req  func(t *testing.T, r *dtRig, rv *dpop.RequestVerifier) *http.Request
	want error
	// nonces, when set, is the verifier's Nonces: the error must carry its current nonce.
	nonces *dpop.Nonces
}

// TestRequestRefuses sends refused requests through RequestVerifier.Verify and
// checks each is refused with its own sentinel and without leaking credentials.
func TestRequestRefuses(t *testing.T) {
	nonces := dtNonces(t, 1)
	otherNonces := dtNonces(t, 2)
	trusted := dpop.WithTrustedProxies(dpop.ForwardedHeader, netip.MustParsePrefix("10.0.0.0/8"))
	trustedX := dpop.WithTrustedProxies(dpop.XForwardedHeaders, netip.MustParsePrefix("10.0.0.0/8"))

	// dpopReq is the common case: a token for the rig's key and a proof made by edit.
	dpopReq := func(edit func(h, c map[string]any)) func(*testing.T, *dtRig, *dpop.RequestVerifier) *http.Request {
		return func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
			tok := r.token(t, nil)
			return dtRequest("GET", dtURL, tok, r.hand(t, tok, edit))
		}
	}
	// prooferReq sends a Proofer proof for method and url with the rig's token.
	prooferReq := func(p func(*testing.T, *dtRig) *dpop.Proofer, method, url string) func(*testing.T, *dtRig, *dpop.RequestVerifier) *http.Request {
		return func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
			tok := r.token(t, nil)
			pr := r.proofer
			if p != nil {
				pr = p(t, r)
			}
			return dtRequest("GET", dtURL, tok, dtProof(t, pr, method, url, tok, ""))
		}
	}
	// otherKey signs a proof with key under alg, whose header is edited by edit.
	otherKey := func(key crypto.Signer, alg string, edit func(h, c map[string]any)) func(*testing.T, *dtRig, *dpop.RequestVerifier) *http.Request {
		return func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
			tok := r.token(t, nil)
			h := map[string]any{"typ": "dpop+jwt", "alg": alg, "jwk": dtJWK(t, key.Public())}
			c := r.claims(t, tok)
			if edit != nil {
				edit(h, c)
			}
			return dtRequest("GET", dtURL, tok, dtJWS(t, key, alg, h, c))
		}
	}
	rsa1024 := dtRSAKey(t, 1024)
	// proxiedRefused sends, from the trusted proxy 10.1.2.3, a proof for
	// https://shop.example/orders with the header lines hdr.
	proxiedRefused := func(hdr map[string][]string) func(*testing.T, *dtRig, *dpop.RequestVerifier) *http.Request {
		return func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
			tok := r.token(t, nil)
			req := dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", "https://shop.example/orders", tok, ""))
			req.RemoteAddr = "10.1.2.3:4711"
			for k, vs := range hdr {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			return req
		}
	}
	forwarded := func(remote string) func(*testing.T, *dtRig, *dpop.RequestVerifier) *http.Request {
		return func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
			tok := r.token(t, nil)
			req := dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", "https://shop.example/orders", tok, ""))
			req.RemoteAddr = remote
			req.Header.Set("Forwarded", `for=198.51.100.7;proto=https;host=shop.example`)
			return req
		}
	}

	cases := []dtRefusal{
		{
			name: "no Authorization header",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				return dtRequest("GET", dtURL, "", dtProof(t, r.proofer, "GET", dtURL, "", ""))
			},
			want: dpop.ErrMissingAccessToken,
		},
		{
			name: "two Authorization headers",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				req := dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, tok, ""))
				req.Header.Add("Authorization", "DPoP "+tok)
				return req
			},
			want: dpop.ErrInvalidRequest,
		},
		{
			name: "Authorization DPoP without token",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				req := dtRequest("GET", dtURL, "", dtProof(t, r.proofer, "GET", dtURL, "", ""))
				req.Header.Set("Authorization", "DPoP")
				return req
			},
			want: dpop.ErrInvalidRequest,
		},
		{
			name: "Authorization DPoP with two tokens",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				req := dtRequest("GET", dtURL, "", dtProof(t, r.proofer, "GET", dtURL, "", ""))
				req.Header.Set("Authorization", "DPoP a b")
				return req
			},
			want: dpop.ErrInvalidRequest,
		},
		{
			name: "Authorization scheme Basic",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				req := dtRequest("GET", dtURL, "", dtProof(t, r.proofer, "GET", dtURL, "", ""))
				req.SetBasicAuth("storefront", "hunter2")
				return req
			},
			want: dpop.ErrInvalidRequest,
		},
		{
			name: "DPoP scheme without DPoP header",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				return dtRequest("GET", dtURL, r.token(t, nil), "")
			},
			want: dpop.ErrMissingProof,
		},
		{
			name: "two DPoP headers",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				req := dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, tok, ""))
				req.Header.Add("DPoP", dtProof(t, r.proofer, "GET", dtURL, tok, ""))
				return req
			},
			want: dpop.ErrMultipleProofs,
		},
		{
			name: "two comma-joined proofs in one DPoP header",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				return dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, tok, "")+","+dtProof(t, r.proofer, "GET", dtURL, tok, ""))
			},
			want: dpop.ErrMultipleProofs,
		},
		{
			name: "replayed proof",
			req: func(t *testing.T, r *dtRig, rv *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				proof := dtProof(t, r.proofer, "GET", dtURL, tok, "")
				first := dtRequest("GET", dtURL, tok, proof)
				_, err := rv.Verify(first.Context(), first)
				require.NoError(t, err, "the first use of the proof is accepted")
				return dtRequest("GET", dtURL, tok, proof)
			},
			want: dpop.ErrReplayed,
		},
		{name: "htm is another method", req: prooferReq(nil, "POST", dtURL), want: dpop.ErrMethodMismatch},
		{name: "htm in lower case", req: prooferReq(nil, "get", dtURL), want: dpop.ErrMethodMismatch},
		{name: "htu on another host", req: prooferReq(nil, "GET", "https://evil.example/orders"), want: dpop.ErrURIMismatch},
		{name: "htu on a sub-domain", req: prooferReq(nil, "GET", "https://www.api.shop.example/orders"), want: dpop.ErrURIMismatch},
		{name: "htu with another path", req: prooferReq(nil, "GET", dtOrigin+"/admin"), want: dpop.ErrURIMismatch},
		{name: "htu with a trailing slash", req: prooferReq(nil, "GET", dtURL+"/"), want: dpop.ErrURIMismatch},
		{name: "htu over http", req: prooferReq(nil, "GET", "http://api.shop.example/orders"), want: dpop.ErrURIMismatch},
		{name: "htu with another port", req: prooferReq(nil, "GET", "https://api.shop.example:8443/orders"), want: dpop.ErrURIMismatch},
		{name: "htu with port 80 over https", req: prooferReq(nil, "GET", "https://api.shop.example:80/orders"), want: dpop.ErrURIMismatch},
		{name: "htu with encoded slash", req: prooferReq(nil, "GET", dtOrigin+"%2Forders"), want: dpop.ErrURIMismatch},
		{
			name: "htu with userinfo",
			req:  dpopReq(func(_, c map[string]any) { c["htu"] = "https://user@api.shop.example/orders" }),
			want: dpop.ErrURIMismatch,
		},
		{
			name: "htu not a string",
			req:  dpopReq(func(_, c map[string]any) { c["htu"] = []string{dtURL} }),
			want: dpop.ErrMalformedProof,
		},
		{
			name: "iat older than the maximum age",
			req: prooferReq(func(t *testing.T, r *dtRig) *dpop.Proofer {
				return dtProofer(t, r.key, "", dtNow.Add(-dpop.DefaultMaxAge-time.Second))
			}, "GET", dtURL),
			want: dpop.ErrProofExpired,
		},
		{
			name: "iat beyond the leeway in the future",
			req: prooferReq(func(t *testing.T, r *dtRig) *dpop.Proofer {
				return dtProofer(t, r.key, "", dtNow.Add(dpop.DefaultLeeway+time.Second))
			}, "GET", dtURL),
			want: dpop.ErrProofFromFuture,
		},
		{
			name: "iat a year in the future",
			req:  dpopReq(func(_, c map[string]any) { c["iat"] = dtNow.AddDate(1, 0, 0).Unix() }),
			want: dpop.ErrProofFromFuture,
		},
		{
			name: "iat not a number",
			req:  dpopReq(func(_, c map[string]any) { c["iat"] = "1748779200" }),
			want: dpop.ErrMalformedProof,
		},
		{
			name: "iat negative",
			req:  dpopReq(func(_, c map[string]any) { c["iat"] = -1 }),
			want: dpop.ErrMalformedProof,
		},
		{
			name: "no ath",
			req:  dpopReq(func(_, c map[string]any) { delete(c, "ath") }),
			want: dpop.ErrAccessTokenHashMismatch,
		},
		{
			name: "ath of another token",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok, other := r.token(t, nil), r.token(t, nil)
				return dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, other, ""))
			},
			want: dpop.ErrAccessTokenHashMismatch,
		},
		{
			name: "ath not base64url of SHA-256",
			req:  dpopReq(func(_, c map[string]any) { c["ath"] = "not-the-hash" }),
			want: dpop.ErrAccessTokenHashMismatch,
		},
		{
			name: "token bound to another key",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				other := dtProofer(t, dtECKey(t, elliptic.P256()), "", dtNow)
				tok := r.token(t, func(tr *tokens.TokenRequest) { tr.DPoPKeyThumbprint = other.Thumbprint() })
				return dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, tok, ""))
			},
			want: dpop.ErrBindingMismatch,
		},
		{
			name: "unbound token presented as DPoP",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, func(tr *tokens.TokenRequest) { tr.DPoPKeyThumbprint = "" })
				return dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, tok, ""))
			},
			want: dpop.ErrBindingMismatch,
		},
		{
			name: "DPoP-bound token presented as Bearer",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				req := dtRequest("GET", dtURL, "", "")
				req.Header.Set("Authorization", "Bearer "+r.token(t, nil))
				return req
			},
			want: dpop.ErrBoundTokenAsBearer,
		},
		{
			name:  "DPoP-bound token presented as Bearer, Bearer accepted",
			ropts: []dpop.RequestOption{dpop.WithBearer()},
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				req := dtRequest("GET", dtURL, "", dtProof(t, r.proofer, "GET", dtURL, tok, ""))
				req.Header.Set("Authorization", "Bearer "+tok)
				return req
			},
			want: dpop.ErrBoundTokenAsBearer,
		},
		{
			name: "unbound token as Bearer without WithBearer",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				req := dtRequest("GET", dtURL, "", "")
				req.Header.Set("Authorization", "Bearer "+r.token(t, func(tr *tokens.TokenRequest) { tr.DPoPKeyThumbprint = "" }))
				return req
			},
			want: dpop.ErrBearerNotAccepted,
		},
		{
			name: "certificate-bound token without a client certificate",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				sum := sha256.Sum256([]byte("some certificate"))
				tok := r.token(t, func(tr *tokens.TokenRequest) { tr.CertThumbprint = dtB64(sum[:]) })
				return dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, tok, ""))
			},
			want: dpop.ErrBindingMismatch,
		},
		{
			name: "proof typ JWT",
			req:  dpopReq(func(h, _ map[string]any) { h["typ"] = "JWT" }),
			want: dpop.ErrInvalidProofType,
		},
		{
			name: "proof without typ",
			req:  dpopReq(func(h, _ map[string]any) { delete(h, "typ") }),
			want: dpop.ErrInvalidProofType,
		},
		{
			name: "proof typ at+jwt",
			req:  dpopReq(func(h, _ map[string]any) { h["typ"] = "at+jwt" }),
			want: dpop.ErrInvalidProofType,
		},
		{
			name: "proof alg none",
			req:  otherKey(dtECKey(t, elliptic.P256()), "none", nil),
			want: dpop.ErrUnsupportedAlgorithm,
		},
		{
			// An unsecured JWS has an empty signature, which compact parsing
			// refuses before it reads alg.
			name: "proof alg none with empty signature",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				h := r.header(t)
				h["alg"] = "none"
				proof := dtB64(dtMarshal(t, h)) + "." + dtB64(dtMarshal(t, r.claims(t, tok))) + "."
				return dtRequest("GET", dtURL, tok, proof)
			},
			want: dpop.ErrMalformedProof,
		},
		{
			name: "proof alg HS256",
			req:  otherKey(dtECKey(t, elliptic.P256()), "HS256", nil),
			want: dpop.ErrUnsupportedAlgorithm,
		},
		{
			name:  "proof alg not on the allow-list",
			vopts: []dpop.VerifierOption{dpop.WithAlgorithms("EdDSA")},
			req:   prooferReq(nil, "GET", dtURL),
			want:  dpop.ErrUnsupportedAlgorithm,
		},
		{
			name: "proof with crit header",
			req:  dpopReq(func(h, _ map[string]any) { h["crit"] = []string{"exp"} }),
			want: dpop.ErrMalformedProof,
		},
		{
			name: "proof without jwk header",
			req:  dpopReq(func(h, _ map[string]any) { delete(h, "jwk") }),
			want: dpop.ErrInvalidProofKey,
		},
		{
			name: "proof jwk with private d",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				d, err := r.key.Bytes()
				require.NoError(t, err)
				tok := r.token(t, nil)
				return dtRequest("GET", dtURL, tok, r.hand(t, tok, func(h, _ map[string]any) { h["jwk"].(map[string]any)["d"] = dtB64(d) }))
			},
			want: dpop.ErrInvalidProofKey,
		},
		{
			name: "proof jwk is a symmetric key",
			req: dpopReq(func(h, _ map[string]any) {
				h["jwk"] = map[string]any{"kty": "oct", "k": dtB64([]byte("0123456789abcdef0123456789abcdef"))}
			}),
			want: dpop.ErrInvalidProofKey,
		},
		{
			name: "proof jwk point not on the curve",
			req:  dpopReq(func(h, _ map[string]any) { h["jwk"].(map[string]any)["y"] = dtB64(make([]byte, 32)) }),
			want: dpop.ErrInvalidProofKey,
		},
		{
			name: "proof jwk does not fit alg",
			req:  otherKey(dtEdKey(t), "EdDSA", func(h, _ map[string]any) { h["alg"] = "ES256" }),
			want: dpop.ErrInvalidProofKey,
		},
		{
			name: "proof jwk is an RSA 1024-bit key",
			req:  otherKey(rsa1024, "RS256", nil),
			want: dpop.ErrInvalidProofKey,
		},
		{
			name: "proof signed by another key than its jwk",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				return dtRequest("GET", dtURL, tok, dtJWS(t, dtECKey(t, elliptic.P256()), "ES256", r.header(t), r.claims(t, tok)))
			},
			want: dpop.ErrInvalidProofSignature,
		},
		{
			name: "proof with claims changed after signing",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				proof := r.hand(t, tok, nil)
				c := r.claims(t, tok)
				c["htm"] = "DELETE"
				parts := strings.Split(proof, ".")
				parts[1] = dtB64(dtMarshal(t, c))
				return dtRequest("DELETE", dtURL, tok, strings.Join(parts, "."))
			},
			want: dpop.ErrInvalidProofSignature,
		},
		{name: "no jti", req: dpopReq(func(_, c map[string]any) { delete(c, "jti") }), want: dpop.ErrMalformedProof},
		{name: "empty jti", req: dpopReq(func(_, c map[string]any) { c["jti"] = "" }), want: dpop.ErrMalformedProof},
		{name: "no htm", req: dpopReq(func(_, c map[string]any) { delete(c, "htm") }), want: dpop.ErrMalformedProof},
		{name: "no htu", req: dpopReq(func(_, c map[string]any) { delete(c, "htu") }), want: dpop.ErrMalformedProof},
		{name: "no iat", req: dpopReq(func(_, c map[string]any) { delete(c, "iat") }), want: dpop.ErrMalformedProof},
		{
			name: "jti longer than 256 bytes",
			req:  dpopReq(func(_, c map[string]any) { c["jti"] = strings.Repeat("j", 257) }),
			want: dpop.ErrMalformedProof,
		},
		{
			name: "proof larger than the maximum size",
			req:  dpopReq(func(_, c map[string]any) { c["pad"] = strings.Repeat("p", dpop.DefaultMaxProofSize) }),
			want: dpop.ErrMalformedProof,
		},
		{
			name: "proof claims not a JSON object",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				return dtRequest("GET", dtURL, tok, dtJWS(t, r.key, "ES256", r.header(t), json.RawMessage(`["jti","htm"]`)))
			},
			want: dpop.ErrMalformedProof,
		},
		{
			name: "proof with four parts",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				return dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, tok, "")+".e30")
			},
			want: dpop.ErrMalformedProof,
		},
		{
			name:   "nonce required and missing",
			vopts:  []dpop.VerifierOption{dpop.WithNonces(nonces)},
			nonces: nonces,
			req:    prooferReq(nil, "GET", dtURL),
			want:   dpop.ErrUseDPoPNonce,
		},
		{
			name:   "nonce from another server",
			vopts:  []dpop.VerifierOption{dpop.WithNonces(nonces)},
			nonces: nonces,
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				return dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, tok, otherNonces.Current()))
			},
			want: dpop.ErrUseDPoPNonce,
		},
		{
			name:  "nonce not a string",
			vopts: []dpop.VerifierOption{dpop.WithNonces(nonces)},
			req:   dpopReq(func(_, c map[string]any) { c["nonce"] = 42 }),
			want:  dpop.ErrMalformedProof,
		},
		{
			name: "expired access token",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				// Issued an hour ago with the default five-minute lifetime.
				tok := r.tokenAt(t, dtNow.Add(-time.Hour), nil)
				return dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, tok, ""))
			},
			want: tokens.ErrExpired,
		},
		{
			name: "access token for another audience",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, func(tr *tokens.TokenRequest) { tr.Audience = []string{"https://other.shop.example"} })
				return dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, tok, ""))
			},
			want: tokens.ErrInvalidAudience,
		},
		{
			name:  "replay store unreachable",
			vopts: []dpop.VerifierOption{dpop.WithReplayStore(dtFailingStore{})},
			req:   prooferReq(nil, "GET", dtURL),
			want:  dpop.ErrReplayCheckUnavailable,
		},
		{
			name: "request context done before the replay check",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, tok, "")).WithContext(ctx)
			},
			want: dpop.ErrReplayCheckUnavailable,
		},
		{
			name: "Host header ignored",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				req := dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", "https://evil.example/orders", tok, ""))
				req.Host = "evil.example"
				return req
			},
			want: dpop.ErrURIMismatch,
		},
		{
			name: "absolute-form request target ignored",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				return dtRequest("GET", "https://evil.example/orders", tok, dtProof(t, r.proofer, "GET", "https://evil.example/orders", tok, ""))
			},
			want: dpop.ErrURIMismatch,
		},
		{
			name:  "Forwarded from an untrusted peer ignored",
			ropts: []dpop.RequestOption{trusted},
			req:   forwarded("203.0.113.9:4711"),
			want:  dpop.ErrURIMismatch,
		},
		{
			name:  "X-Forwarded-Host from an untrusted peer ignored",
			ropts: []dpop.RequestOption{trustedX},
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				req := dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", "https://shop.example/orders", tok, ""))
				req.RemoteAddr = "11.0.0.1:4711"
				req.Header.Set("X-Forwarded-Proto", "https")
				req.Header.Set("X-Forwarded-Host", "shop.example")
				return req
			},
			want: dpop.ErrURIMismatch,
		},
		{
			name: "Forwarded without trusted proxies configured",
			req:  forwarded("10.1.2.3:4711"),
			want: dpop.ErrURIMismatch,
		},
		{
			name:  "Forwarded from a trusted peer names the host, not the one in htu",
			ropts: []dpop.RequestOption{trusted},
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				req := dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, tok, ""))
				req.RemoteAddr = "10.1.2.3:4711"
				req.Header.Set("Forwarded", `for=198.51.100.7;proto=https;host=shop.example`)
				return req
			},
			want: dpop.ErrURIMismatch,
		},
		// The client names shop.example, the host its proof is for; the trusted
		// proxy reports api.shop.example (RFC 9449 §4.3 check 9, RFC 7239 §8).
		{
			name:  "client Forwarded does not override the proxy's X-Forwarded-*",
			ropts: []dpop.RequestOption{trustedX},
			req: proxiedRefused(map[string][]string{
				"Forwarded":         {`for=198.51.100.7;proto=https;host=shop.example`},
				"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.shop.example"},
			}),
			want: dpop.ErrURIMismatch,
		},
		{
			name:  "client X-Forwarded-* does not override the proxy's Forwarded",
			ropts: []dpop.RequestOption{trusted},
			req: proxiedRefused(map[string][]string{
				"Forwarded":         {`for=198.51.100.7;proto=https;host=api.shop.example`},
				"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"shop.example"},
			}),
			want: dpop.ErrURIMismatch,
		},
		{
			name:  "client X-Forwarded-* ignored when the proxy sends no Forwarded",
			ropts: []dpop.RequestOption{trusted},
			req:   proxiedRefused(map[string][]string{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"shop.example"}}),
			want:  dpop.ErrURIMismatch,
		},
		{
			name:  "client-sent Forwarded element before the edge proxy's ignored",
			ropts: []dpop.RequestOption{trusted},
			req: proxiedRefused(map[string][]string{
				"Forwarded": {`for=10.0.0.5;proto=https;host=shop.example`, `for=198.51.100.7;proto=https;host=api.shop.example`},
			}),
			want: dpop.ErrURIMismatch,
		},
		{
			name:  "client-sent Forwarded element naming a trusted for= behind an untrusted hop",
			ropts: []dpop.RequestOption{trusted},
			req: proxiedRefused(map[string][]string{
				"Forwarded": {`for=198.51.100.7;proto=https;host=shop.example, for=203.0.113.5;proto=https;host=api.shop.example`},
			}),
			want: dpop.ErrURIMismatch,
		},
		{
			name:  "Forwarded element with two host parameters",
			ropts: []dpop.RequestOption{trusted},
			req:   proxiedRefused(map[string][]string{"Forwarded": {`for=198.51.100.7;proto=https;host=shop.example;host=shop.example`}}),
			want:  dpop.ErrURIMismatch,
		},
		{
			name:  "Forwarded with a proto other than http(s)",
			ropts: []dpop.RequestOption{trusted},
			req:   proxiedRefused(map[string][]string{"Forwarded": {`for=198.51.100.7;proto=ftp;host=shop.example`}}),
			want:  dpop.ErrURIMismatch,
		},
		{
			name:  "malformed Forwarded",
			ropts: []dpop.RequestOption{trusted},
			req:   proxiedRefused(map[string][]string{"Forwarded": {`for=198.51.100.7;proto=https;host=shop.example/x`}}),
			want:  dpop.ErrURIMismatch,
		},
		{
			name:  "X-Forwarded-Host appended to the client's value",
			ropts: []dpop.RequestOption{trustedX},
			req:   proxiedRefused(map[string][]string{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"shop.example, api.shop.example"}}),
			want:  dpop.ErrURIMismatch,
		},
		{
			name:  "two X-Forwarded-Host lines",
			ropts: []dpop.RequestOption{trustedX},
			req:   proxiedRefused(map[string][]string{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"shop.example", "shop.example"}}),
			want:  dpop.ErrURIMismatch,
		},
		{
			name:  "two X-Forwarded-Proto lines",
			ropts: []dpop.RequestOption{trustedX},
			req:   proxiedRefused(map[string][]string{"X-Forwarded-Proto": {"https", "https"}, "X-Forwarded-Host": {"shop.example"}}),
			want:  dpop.ErrURIMismatch,
		},
		{
			name:  "request path climbing out of the external URL's prefix",
			ropts: []dpop.RequestOption{dpop.WithExternalURL("https://api.shop.example/v2")},
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				return dtRequest("GET", dtOrigin+"/../admin", tok, dtProof(t, r.proofer, "GET", dtOrigin+"/admin", tok, ""))
			},
			want: dpop.ErrURIMismatch,
		},
		{
			name: "request path with an encoded slash",
			req: func(t *testing.T, r *dtRig, _ *dpop.RequestVerifier) *http.Request {
				tok := r.token(t, nil)
				return dtRequest("GET", dtOrigin+"/a%2Fb", tok, dtProof(t, r.proofer, "GET", dtOrigin+"/a%2Fb", tok, ""))
			},
			want: dpop.ErrURIMismatch,
		},
	}
	require.GreaterOrEqual(t, len(cases), 25)

	r := dtNewRig(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rv := r.verifier(t, tc.vopts, tc.ropts)
			req := tc.req(t, r, rv)
			res, err := rv.Verify(req.Context(), req)
			require.Error(t, err)
			assert.Nil(t, res)
			assert.ErrorIs(t, err, tc.want)
			dtAssertNoSecrets(t, err, req)
			if tc.nonces != nil {
				var ne *dpop.NonceError
				require.ErrorAs(t, err, &ne)
				assert.NotEmpty(t, ne.Nonce)
				assert.Equal(t, tc.nonces.Current(), ne.Nonce)
			}
		})
	}
}

// TestRequestAccepts covers requests that must pass: htu forms equivalent after
// RFC 3986 §6.2.2-6.2.3 normalization (RFC 9449 §4.3 check 9), Bearer when
// allowed, and the scheme and host reported by trusted proxies.
func TestRequestAccepts(t *testing.T) {
	trusted := dpop.WithTrustedProxies(dpop.ForwardedHeader, netip.MustParsePrefix("10.0.0.0/8"))
	trustedX := dpop.WithTrustedProxies(dpop.XForwardedHeaders, netip.MustParsePrefix("10.0.0.0/8"))
	type acceptCase struct {
		name  string
		vopts []dpop.VerifierOption
		ropts []dpop.RequestOption
		req   func(t *testing.T, r *dtRig) *http.Request
		// bearer is set when the request carries no proof.
		bearer bool
	}
	// htu sends a Proofer proof for htu to target.
	htu := func(target, htu string) func(*testing.T, *dtRig) *http.Request {
		return func(t *testing.T, r *dtRig) *http.Request {
			tok := r.token(t, nil)
			return dtRequest("GET", target, tok, dtProof(t, r.proofer, "GET", htu, tok, ""))
		}
	}
	// handHTU sends a hand-built proof whose htu is exactly htu (Proofer drops query and fragment).
	handHTU := func(htu string) func(*testing.T, *dtRig) *http.Request {
		return func(t *testing.T, r *dtRig) *http.Request {
			tok := r.token(t, nil)
			return dtRequest("GET", dtURL, tok, r.hand(t, tok, func(_, c map[string]any) { c["htu"] = htu }))
		}
	}
	proxied := func(remote string, hdr map[string]string) func(*testing.T, *dtRig) *http.Request {
		return func(t *testing.T, r *dtRig) *http.Request {
			tok := r.token(t, nil)
			req := dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", "https://shop.example/orders", tok, ""))
			req.RemoteAddr = remote
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			return req
		}
	}
	nonces := dtNonces(t, 3)

	cases := []acceptCase{
		{name: "exact htu", req: htu(dtURL, dtURL)},
		{
			name: "scheme in lower case",
			req: func(t *testing.T, r *dtRig) *http.Request {
				tok := r.token(t, nil)
				req := dtRequest("GET", dtURL, "", dtProof(t, r.proofer, "GET", dtURL, tok, ""))
				req.Header.Set("Authorization", "dpop "+tok)
				return req
			},
		},
		{name: "htu with default port 443", req: htu(dtURL, "https://api.shop.example:443/orders")},
		{name: "htu with upper-case host", req: htu(dtURL, "https://API.Shop.EXAMPLE/orders")},
		{name: "htu with upper-case scheme", req: htu(dtURL, "HTTPS://api.shop.example/orders")},
		{name: "htu %7E, request ~", req: htu(dtOrigin+"/~alice/orders", dtOrigin+"/%7Ealice/orders")},
		{name: "htu %7e, request ~", req: htu(dtOrigin+"/~alice/orders", dtOrigin+"/%7ealice/orders")},
		{name: "htu ~, request %7E", req: htu(dtOrigin+"/%7Ealice/orders", dtOrigin+"/~alice/orders")},
		{name: "htu with dot segments", req: htu(dtURL, dtOrigin+"/v1/../orders")},
		{name: "htu with single-dot segment", req: htu(dtURL, dtOrigin+"/./orders")},
		{name: "htu with query", req: handHTU(dtURL + "?page=2")},
		{name: "htu with fragment", req: handHTU(dtURL + "#top")},
		{name: "request with query", req: htu(dtURL+"?page=2", dtURL+"?page=2")},
		{
			name:  "external URL with a path prefix",
			ropts: []dpop.RequestOption{dpop.WithExternalURL("https://api.shop.example/v2/")},
			req:   htu(dtURL, dtOrigin+"/v2/orders"),
		},
		{
			name:  "valid nonce",
			vopts: []dpop.VerifierOption{dpop.WithNonces(nonces)},
			req: func(t *testing.T, r *dtRig) *http.Request {
				tok := r.token(t, nil)
				return dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, tok, nonces.Current()))
			},
		},
		{
			name:   "unbound token as Bearer with WithBearer",
			ropts:  []dpop.RequestOption{dpop.WithBearer()},
			bearer: true,
			req: func(t *testing.T, r *dtRig) *http.Request {
				req := dtRequest("GET", dtURL, "", "")
				req.Header.Set("Authorization", "Bearer "+r.token(t, func(tr *tokens.TokenRequest) { tr.DPoPKeyThumbprint = "" }))
				return req
			},
		},
		{
			name:  "Forwarded from a trusted proxy",
			ropts: []dpop.RequestOption{trusted},
			req:   proxied("10.1.2.3:4711", map[string]string{"Forwarded": `for=198.51.100.7;proto=https;host=shop.example`}),
		},
		{
			name:  "Forwarded chain, the client's element ignored",
			ropts: []dpop.RequestOption{trusted},
			req: proxied("10.1.2.3:4711", map[string]string{
				"Forwarded": `for=192.0.2.1;proto=http;host=evil.example, for=198.51.100.7;proto=https;host=shop.example`,
			}),
		},
		{
			name:  "Forwarded chain of two trusted proxies, the edge proxy's element wins",
			ropts: []dpop.RequestOption{trusted},
			req: proxied("10.1.2.3:4711", map[string]string{
				"Forwarded": `for=10.0.0.1;proto=http;host=evil.example, for="[2001:db8::7]:4711";proto=https;host=shop.example, for="10.9.9.9:80";proto=http;host=payments.internal`,
			}),
		},
		{
			name:  "Forwarded from a trusted proxy, client X-Forwarded-* ignored",
			ropts: []dpop.RequestOption{trusted},
			req: proxied("10.1.2.3:4711", map[string]string{
				"Forwarded": `for=198.51.100.7;proto=https;host=shop.example`, "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http",
			}),
		},
		{
			name:  "X-Forwarded-* from a trusted proxy, client Forwarded ignored",
			ropts: []dpop.RequestOption{trustedX},
			req: proxied("10.1.2.3:4711", map[string]string{
				"Forwarded": `for=198.51.100.7;proto=http;host=evil.example`, "X-Forwarded-Host": "shop.example", "X-Forwarded-Proto": "https",
			}),
		},
		{
			name:  "X-Forwarded-Proto and X-Forwarded-Host from a trusted proxy",
			ropts: []dpop.RequestOption{trustedX},
			req:   proxied("10.200.0.9:4711", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example"}),
		},
		{
			name:  "trusted proxy with an IPv4-mapped IPv6 address",
			ropts: []dpop.RequestOption{trusted},
			req:   proxied("[::ffff:10.1.2.3]:4711", map[string]string{"Forwarded": `for=198.51.100.7;proto=https;host=shop.example`}),
		},
		{
			name:  "trusted proxy without forwarding headers uses the external URL",
			ropts: []dpop.RequestOption{trusted},
			req: func(t *testing.T, r *dtRig) *http.Request {
				tok := r.token(t, nil)
				req := dtRequest("GET", dtURL, tok, dtProof(t, r.proofer, "GET", dtURL, tok, ""))
				req.RemoteAddr = "10.1.2.3:4711"
				return req
			},
		},
		{
			name:  "trusted proxies only, no external URL",
			ropts: []dpop.RequestOption{dpop.WithExternalURL(""), trustedX},
			req:   proxied("10.1.2.3:4711", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example"}),
		},
	}
	r := dtNewRig(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rv := r.verifier(t, tc.vopts, tc.ropts)
			req := tc.req(t, r)
			res, err := rv.Verify(req.Context(), req)
			require.NoError(t, err)
			require.NotNil(t, res)
			assert.Equal(t, dtSubject, res.Claims.Subject)
			if tc.bearer {
				assert.Nil(t, res.Proof)
				return
			}
			require.NotNil(t, res.Proof)
			assert.Equal(t, res.Claims.Confirmation.JKT, res.Proof.KeyThumbprint)
			assert.Equal(t, r.proofer.Thumbprint(), res.Proof.KeyThumbprint)
		})
	}
}

// TestNewRequestVerifierConfig checks that NewRequestVerifier refuses what
// would leave it unable to check htu.
func TestNewRequestVerifierConfig(t *testing.T) {
	r := dtNewRig(t)
	pv := dtProofVerifier(t)
	cases := []struct {
		name string
		tv   dpop.TokenVerifier
		pv   *dpop.Verifier
		opts []dpop.RequestOption
	}{
		{name: "nil token verifier", pv: pv, opts: []dpop.RequestOption{dpop.WithExternalURL(dtOrigin)}},
		{name: "nil proof verifier", tv: r.tv, opts: []dpop.RequestOption{dpop.WithExternalURL(dtOrigin)}},
		{name: "neither external URL nor trusted proxies", tv: r.tv, pv: pv},
		{name: "empty external URL", tv: r.tv, pv: pv, opts: []dpop.RequestOption{dpop.WithExternalURL("")}},
		{name: "relative external URL", tv: r.tv, pv: pv, opts: []dpop.RequestOption{dpop.WithExternalURL("/orders")}},
		{name: "host without scheme", tv: r.tv, pv: pv, opts: []dpop.RequestOption{dpop.WithExternalURL("api.shop.example")}},
		{name: "ftp external URL", tv: r.tv, pv: pv, opts: []dpop.RequestOption{dpop.WithExternalURL("ftp://api.shop.example")}},
		{name: "external URL without host", tv: r.tv, pv: pv, opts: []dpop.RequestOption{dpop.WithExternalURL("https:///orders")}},
		{name: "external URL with userinfo", tv: r.tv, pv: pv, opts: []dpop.RequestOption{dpop.WithExternalURL("https://u:p@api.shop.example")}},
		{name: "external URL with query", tv: r.tv, pv: pv, opts: []dpop.RequestOption{dpop.WithExternalURL("https://api.shop.example/?x=1")}},
		{name: "external URL with fragment", tv: r.tv, pv: pv, opts: []dpop.RequestOption{dpop.WithExternalURL("https://api.shop.example/#x")}},
		{name: "unparsable external URL", tv: r.tv, pv: pv, opts: []dpop.RequestOption{dpop.WithExternalURL("https://api.shop.example:port/")}},
		{name: "trusted proxies without a header family", tv: r.tv, pv: pv, opts: []dpop.RequestOption{dpop.WithTrustedProxies(0, netip.MustParsePrefix("10.0.0.0/8"))}},
		{name: "trusted proxies with an unknown header family", tv: r.tv, pv: pv, opts: []dpop.RequestOption{dpop.WithTrustedProxies(9, netip.MustParsePrefix("10.0.0.0/8"))}},
		{name: "trusted proxies with both header families", tv: r.tv, pv: pv, opts: []dpop.RequestOption{
			dpop.WithTrustedProxies(dpop.ForwardedHeader, netip.MustParsePrefix("10.0.0.0/8")),
			dpop.WithTrustedProxies(dpop.XForwardedHeaders, netip.MustParsePrefix("192.168.0.0/16")),
		}},
		{name: "trusted proxies without prefixes", tv: r.tv, pv: pv, opts: []dpop.RequestOption{dpop.WithExternalURL(dtOrigin), dpop.WithTrustedProxies(dpop.ForwardedHeader)}},
		{name: "trusted proxies with a zero prefix", tv: r.tv, pv: pv, opts: []dpop.RequestOption{dpop.WithTrustedProxies(dpop.ForwardedHeader, netip.Prefix{})}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rv, err := dpop.NewRequestVerifier(tc.tv, tc.pv, tc.opts...)
			assert.ErrorIs(t, err, dpop.ErrInvalidConfig)
			assert.Nil(t, rv)
		})
	}
	t.Run("trusted proxies alone are enough", func(t *testing.T) {
		rv, err := dpop.NewRequestVerifier(r.tv, pv, dpop.WithTrustedProxies(dpop.ForwardedHeader, netip.MustParsePrefix("10.0.0.0/8")))
		require.NoError(t, err)
		assert.NotNil(t, rv)
	})
}

// dtClientCert returns a self-signed TLS client certificate.
func dtClientCert(tb testing.TB, cn string) tls.Certificate {
	tb.Helper()
	key := dtECKey(tb, elliptic.P256())
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	require.NoError(tb, err)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(tb, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(tb, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// dtTLSClientTransport returns a transport that trusts srv and presents cert.
func dtTLSClientTransport(tb testing.TB, srv *httptest.Server, cert tls.Certificate) *http.Transport {
	tb.Helper()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	tb.Cleanup(tr.CloseIdleConnections)
	return tr
}

// dtStaticToken is a TokenSource with a fixed token.
type dtStaticToken string

func (s dtStaticToken) AccessToken(context.Context) (string, error) { return string(s), nil }

// TestRequestCertificateBound checks tokens bound to a client certificate
// (cnf.x5t#S256, RFC 8705 §3) over a real mutual-TLS connection.
func TestRequestCertificateBound(t *testing.T) {
	r := dtNewRig(t)
	good, other := dtClientCert(t, "storefront"), dtClientCert(t, "someone-else")
	sum := sha256.Sum256(good.Certificate[0])
	thumb := dtB64(sum[:])

	var rv *dpop.RequestVerifier
	errs := make(chan error, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, err := rv.Verify(req.Context(), req)
		errs <- err
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	origin := "https://" + srv.Listener.Addr().String()
	rv = r.verifier(t, nil, []dpop.RequestOption{dpop.WithExternalURL(origin)})
	srv.StartTLS()
	t.Cleanup(srv.Close)

	certOnly := r.token(t, func(tr *tokens.TokenRequest) { tr.DPoPKeyThumbprint, tr.CertThumbprint = "", thumb })
	both := r.token(t, func(tr *tokens.TokenRequest) { tr.CertThumbprint = thumb })

	cases := []struct {
		name   string
		cert   tls.Certificate
		client func(base http.RoundTripper) *http.Client
		want   error
	}{
		{name: "Bearer, right certificate", cert: good, client: dtBearerClient(certOnly)},
		{name: "Bearer, other certificate", cert: other, client: dtBearerClient(certOnly), want: dpop.ErrBindingMismatch},
		{name: "DPoP and certificate, right certificate", cert: good, client: dtDPoPClient(r.proofer, both)},
		{name: "DPoP and certificate, other certificate", cert: other, client: dtDPoPClient(r.proofer, both), want: dpop.ErrBindingMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := tc.client(dtTLSClientTransport(t, srv, tc.cert))
			resp, err := client.Get(origin + "/orders")
			require.NoError(t, err)
			resp.Body.Close()
			got := <-errs
			if tc.want == nil {
				require.NoError(t, got)
				assert.Equal(t, http.StatusNoContent, resp.StatusCode)
				return
			}
			assert.ErrorIs(t, got, tc.want)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		})
	}
}

// dtBearerClient returns a client that sends token as Bearer.
func dtBearerClient(token string) func(http.RoundTripper) *http.Client {
	return func(base http.RoundTripper) *http.Client {
		return &http.Client{Transport: dtRoundTripFunc(func(req *http.Request) (*http.Response, error) {
			req = req.Clone(req.Context())
			req.Header.Set("Authorization", "Bearer "+token)
			return base.RoundTrip(req)
		})}
	}
}

// dtDPoPClient returns a client that sends token with DPoP proofs from p.
func dtDPoPClient(p *dpop.Proofer, token string) func(http.RoundTripper) *http.Client {
	return func(base http.RoundTripper) *http.Client {
		return &http.Client{Transport: &dpop.Transport{Base: base, Proofer: p, Token: dtStaticToken(token)}}
	}
}

type dtRoundTripFunc func(*http.Request) (*http.Response, error)

func (f dtRoundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestVerifyInbound: VerifyInbound checks a request described without
// net/http, such as a gRPC call: POST to the full method, htu the external
// URL's origin plus that path; the proof must be for that method and path,
// and the proxy headers of a trusted proxy are read through req.Header.
func TestVerifyInbound(t *testing.T) {
	const method = "/shop.payments.v1.Payments/Charge"
	rig := dtNewRig(t)
	rv := rig.verifier(t, nil, nil)
	call := func(token, proof string) *inbound.Request {
		return &inbound.Request{
			Method: http.MethodPost, Path: method,
			Authorization: []string{"DPoP " + token}, DPoP: []string{proof},
		}
	}

	t.Run("accepted", func(t *testing.T) {
		tok := rig.token(t, nil)
		res, err := rv.VerifyInbound(context.Background(), call(tok, dtProof(t, rig.proofer, http.MethodPost, dtOrigin+method, tok, "")))
		require.NoError(t, err)
		assert.Equal(t, "storefront", res.Claims.ClientID)
		require.NotNil(t, res.Proof)
		assert.Equal(t, rig.proofer.Thumbprint(), res.Proof.KeyThumbprint)
	})
	t.Run("proof for another method", func(t *testing.T) {
		tok := rig.token(t, nil)
		_, err := rv.VerifyInbound(context.Background(), call(tok, dtProof(t, rig.proofer, http.MethodPost, dtOrigin+"/shop.payments.v1.Payments/Refund", tok, "")))
		assert.ErrorIs(t, err, dpop.ErrURIMismatch)
	})
	t.Run("proof for another htm", func(t *testing.T) {
		tok := rig.token(t, nil)
		_, err := rv.VerifyInbound(context.Background(), call(tok, dtProof(t, rig.proofer, http.MethodGet, dtOrigin+method, tok, "")))
		assert.ErrorIs(t, err, dpop.ErrMethodMismatch)
	})
	t.Run("trusted proxy origin through Header", func(t *testing.T) {
		prv := rig.verifier(t, nil, []dpop.RequestOption{dpop.WithTrustedProxies(dpop.XForwardedHeaders, netip.MustParsePrefix("10.0.0.0/8"))})
		tok := rig.token(t, nil)
		req := call(tok, dtProof(t, rig.proofer, http.MethodPost, "https://edge.shop.example"+method, tok, ""))
		req.RemoteAddr = netip.MustParseAddr("10.1.2.3")
		req.Header = http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"edge.shop.example"}}
		_, err := prv.VerifyInbound(context.Background(), req)
		require.NoError(t, err)

		req.RemoteAddr = netip.MustParseAddr("192.0.2.1") // not a trusted proxy: the external URL counts
		_, err = prv.VerifyInbound(context.Background(), req)
		assert.ErrorIs(t, err, dpop.ErrURIMismatch)
	})
	t.Run("authority", func(t *testing.T) {
		tok := rig.token(t, nil)
		for _, tc := range []struct {
			authority string
			err       error
		}{
			{"api.shop.example", nil},
			{"API.Shop.Example:443", nil},
			{"api.shop.example:", dpop.ErrMisdirected},
			{"api.shop.example:8443", dpop.ErrMisdirected},
			{"evil.example", dpop.ErrMisdirected},
			{"api.shop.example.evil.example", dpop.ErrMisdirected},
			{"user@api.shop.example", dpop.ErrMisdirected},
			{"api.shop.example/x", dpop.ErrMisdirected},
			{"[api.shop.example]", dpop.ErrMisdirected},
			{"api.shop.example:44a", dpop.ErrMisdirected},
			{":443", dpop.ErrMisdirected},
		} {
			t.Run(tc.authority, func(t *testing.T) {
				req := call(tok, dtProof(t, rig.proofer, http.MethodPost, dtOrigin+method, tok, ""))
				req.Authority = tc.authority
				_, err := rv.VerifyInbound(context.Background(), req)
				if tc.err == nil {
					assert.NoError(t, err)
					return
				}
				assert.ErrorIs(t, err, tc.err)
			})
		}
		t.Run("from a trusted proxy", func(t *testing.T) {
			prv := rig.verifier(t, nil, []dpop.RequestOption{dpop.WithTrustedProxies(dpop.XForwardedHeaders, netip.MustParsePrefix("10.0.0.0/8"))})
			req := call(tok, dtProof(t, rig.proofer, http.MethodPost, "https://edge.shop.example"+method, tok, ""))
			req.Authority, req.RemoteAddr = "payments.internal:8443", netip.MustParseAddr("10.1.2.3")
			req.Header = http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"edge.shop.example"}}
			_, err := prv.VerifyInbound(context.Background(), req)
			assert.NoError(t, err)
		})
		t.Run("bearer", func(t *testing.T) {
			req := call(tok, "")
			req.Authorization, req.DPoP, req.Authority = []string{"Bearer " + tok}, nil, "evil.example"
			_, err := rv.VerifyInbound(context.Background(), req)
			assert.ErrorIs(t, err, dpop.ErrMisdirected)
		})
	})
	for name, req := range map[string]*inbound.Request{
		"nil request":  nil,
		"without path": {Method: http.MethodPost, Authorization: []string{"DPoP x"}, DPoP: []string{"y"}},
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { _, err = rv.VerifyInbound(context.Background(), req) })
			assert.ErrorIs(t, err, dpop.ErrInvalidRequest)
		})
	}
	t.Run("zero verifier", func(t *testing.T) {
		_, err := new(dpop.RequestVerifier).VerifyInbound(context.Background(), call("x", "y"))
		assert.ErrorIs(t, err, dpop.ErrInvalidConfig)
	})
}
