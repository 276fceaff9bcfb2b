package middleware_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/httpsig/digest"
	"github.com/ztkit/ztkit/middleware"
)

const acceptSig = `sig1=("@method" "@authority" "@path" "@query" "content-digest");created;nonce;keyid="partner-2026"`

// sigShop is a service behind VerifySignatures on a real TLS server, and the
// partner's signing key.
type sigShop struct {
	vg     *verifyGuard
	url    string
	client *http.Client
	key    *httpsig.SigningKey
}

// unavailableKeys is a key source that cannot answer, as a JWKS endpoint
// that is down does.
type unavailableKeys struct{}

func (unavailableKeys) ResolveKey(context.Context, string) (*httpsig.VerifyingKey, error) {
	return nil, fmt.Errorf("%w: the key endpoint does not answer", httpsig.ErrUnavailable)
}

func newSigShop(t *testing.T, resolver httpsig.KeyResolver, opts ...middleware.SignatureOption) *sigShop {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	key, err := httpsig.NewSigningKey("partner-2026", httpsig.AlgEd25519, priv)
	require.NoError(t, err)
	if resolver == nil {
		vk, err := httpsig.NewVerifyingKey("partner-2026", httpsig.AlgEd25519, pub)
		require.NoError(t, err)
		resolver, err = httpsig.NewStaticKeys(vk)
		require.NoError(t, err)
	}
	v, err := httpsig.NewVerifier(resolver, httpsig.WithRequiredParams("nonce"))
	require.NoError(t, err)
	vg := newVerifyGuard(t)
	mw, err := middleware.VerifySignatures(vg.g, v, append([]middleware.SignatureOption{middleware.WithAcceptSignature(acceptSig)}, opts...)...)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("POST /partner/orders", mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig, ok := httpsig.FromContext(r.Context())
		if !assert.True(t, ok) {
			return
		}
		body, err := io.ReadAll(r.Body)
		if !assert.NoError(t, err) {
			return
		}
		fmt.Fprintf(w, "%s %s digest=%t body=%s", sig.Label, sig.KeyID, sig.DigestChecked, body)
	})))
	mux.Handle("GET /partner/orders/{id}", mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig, ok := httpsig.FromContext(r.Context())
		if assert.True(t, ok) {
			fmt.Fprintf(w, "%s %s", sig.Label, sig.KeyID)
		}
	})))
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return &sigShop{vg: vg, url: srv.URL, client: srv.Client(), key: key}
}

// signer signs as the partner, with a nonce, and the options.
func (s *sigShop) signer(t *testing.T, opts ...httpsig.SignerOption) *httpsig.Signer {
	t.Helper()
	sg, err := httpsig.NewSigner(s.key, append([]httpsig.SignerOption{httpsig.WithRandomNonce()}, opts...)...)
	require.NoError(t, err)
	return sg
}

// post builds a POST of body, with its Content-Digest when withDigest.
func (s *sigShop) post(t *testing.T, body string, withDigest bool) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+"/partner/orders?cart=7", strings.NewReader(body))
	require.NoError(t, err)
	if withDigest {
		v, err := digest.Value([]byte(body), digest.SHA256)
		require.NoError(t, err)
		req.Header.Set(digest.ContentDigest, v)
	}
	return req
}

// TestVerifySignaturesAccepts: signed requests, over TLS, reach the handler
// with the accepted signature in the context and the body that was checked.
func TestVerifySignaturesAccepts(t *testing.T) {
	s := newSigShop(t, nil)
	sg := s.signer(t)

	req := s.post(t, `{"sku":"A-1","qty":2}`, true)
	require.NoError(t, sg.SignRequest(req))
	got := send(t, s.client, req)
	assert.Equal(t, http.StatusOK, got.status)
	assert.Equal(t, `sig1 partner-2026 digest=true body={"sku":"A-1","qty":2}`, got.body)

	req, err := http.NewRequest(http.MethodGet, s.url+"/partner/orders/7", nil)
	require.NoError(t, err)
	require.NoError(t, sg.SignRequest(req))
	got = send(t, s.client, req)
	assert.Equal(t, http.StatusOK, got.status)
	assert.Equal(t, "sig1 partner-2026", got.body)

	assert.Empty(t, s.vg.log.take(t), "nothing refused, nothing logged")
}

// TestVerifySignaturesRefuses: each way a signed request can be wrong is
// refused with its status and reason, recorded and logged by the guard; the
// handler never runs.
func TestVerifySignaturesRefuses(t *testing.T) {
	s := newSigShop(t, nil)
	sg := s.signer(t)
	other := func() *httpsig.Signer {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		k, err := httpsig.NewSigningKey("someone-else", httpsig.AlgEd25519, priv)
		require.NoError(t, err)
		o, err := httpsig.NewSigner(k, httpsig.WithRandomNonce())
		require.NoError(t, err)
		return o
	}()
	old := s.signer(t, httpsig.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }))
	noDigest := s.signer(t, httpsig.WithComponents(httpsig.Derived("@method"), httpsig.Derived("@authority"), httpsig.Derived("@path"), httpsig.Derived("@query")))

	cases := []struct {
		name   string
		req    func() *http.Request
		status int
		reason guard.Reason
		level  string
	}{
		{"no signature", func() *http.Request { return s.post(t, "{}", true) }, 401, guard.ReasonSignatureMissing, "INFO"},
		{"malformed", func() *http.Request {
			r := s.post(t, "{}", true)
			r.Header.Set("Signature-Input", `sig1=("@method";created=1`)
			r.Header.Set("Signature", "sig1=:AAAA:")
			return r
		}, 400, guard.ReasonSignatureMalformed, "INFO"},
		{"tampered signature", func() *http.Request {
			r := s.post(t, "{}", true)
			require.NoError(t, sg.SignRequest(r))
			sig := r.Header.Get("Signature")
			i := strings.Index(sig, ":") + 1
			flip := byte('A')
			if sig[i] == 'A' {
				flip = 'B'
			}
			r.Header.Set("Signature", sig[:i]+string(flip)+sig[i+1:])
			return r
		}, 401, guard.ReasonSignatureInvalid, "WARN"},
		{"changed path", func() *http.Request {
			r := s.post(t, "{}", true)
			require.NoError(t, sg.SignRequest(r))
			r.URL.RawQuery = "cart=8"
			return r
		}, 401, guard.ReasonSignatureInvalid, "WARN"},
		{"changed body", func() *http.Request {
			r := s.post(t, `{"qty":1}`, true)
			require.NoError(t, sg.SignRequest(r))
			r.Body = io.NopCloser(strings.NewReader(`{"qty":9}`))
			return r
		}, 401, guard.ReasonDigestMismatch, "WARN"},
		// Not forgeries, so not digest_mismatch (Warn): a digest the
		// verifier cannot use, a body longer than it reads.
		{"unsupported content-digest", func() *http.Request {
			r := s.post(t, `{"qty":1}`, false)
			r.Header.Set(digest.ContentDigest, "md5=:HUXZLQLMuI/KZ5KDcJPcOA==:")
			require.NoError(t, sg.SignRequest(r))
			return r
		}, 400, guard.ReasonSignatureMalformed, "INFO"},
		{"body longer than the verifier reads", func() *http.Request {
			r := s.post(t, strings.Repeat("x", httpsig.DefaultMaxBodySize+1), true)
			require.NoError(t, sg.SignRequest(r))
			return r
		}, 400, guard.ReasonSignatureMalformed, "INFO"},
		{"body not covered", func() *http.Request {
			r := s.post(t, `{"qty":1}`, false)
			require.NoError(t, noDigest.SignRequest(r))
			return r
		}, 401, guard.ReasonSignatureInsufficient, "INFO"},
		{"unknown key", func() *http.Request {
			r := s.post(t, "{}", true)
			require.NoError(t, other.SignRequest(r))
			return r
		}, 401, guard.ReasonSignatureUnknownKey, "INFO"},
		{"too old", func() *http.Request {
			r := s.post(t, "{}", true)
			require.NoError(t, old.SignRequest(r))
			return r
		}, 401, guard.ReasonSignatureExpired, "INFO"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := s.vg.denials(t)[string(tc.reason)]
			got := send(t, s.client, tc.req())
			assert.Equal(t, tc.status, got.status)
			assert.Equal(t, string(tc.reason), got.code)
			assert.Empty(t, got.header.Values("WWW-Authenticate"), "RFC 9421 has no authentication scheme")
			if tc.reason == guard.ReasonSignatureMissing {
				assert.Equal(t, acceptSig, got.header.Get("Accept-Signature"))
			} else {
				assert.Empty(t, got.header.Get("Accept-Signature"))
			}
			recs := s.vg.log.take(t)
			require.Len(t, recs, 1)
			assert.Equal(t, string(tc.reason), recs[0][guard.LogKeyReason])
			assert.Equal(t, "signature", recs[0][guard.LogKeyStage])
			assert.Equal(t, tc.level, recs[0]["level"])
			assert.Equal(t, "POST /partner/orders", recs[0][guard.LogKeyRoute])
			assert.Equal(t, before+1, s.vg.denials(t)[string(tc.reason)])
		})
	}
}

// TestVerifySignaturesReplay: a signed request sent twice, byte for byte, is
// accepted once.
func TestVerifySignaturesReplay(t *testing.T) {
	s := newSigShop(t, nil)
	req := s.post(t, `{"qty":1}`, true)
	require.NoError(t, s.signer(t).SignRequest(req))
	again := s.post(t, `{"qty":1}`, true)
	again.Header = req.Header.Clone()

	assert.Equal(t, http.StatusOK, send(t, s.client, req).status)
	got := send(t, s.client, again)
	assert.Equal(t, http.StatusUnauthorized, got.status)
	assert.Equal(t, string(guard.ReasonSignatureReplayed), got.code)
	recs := s.vg.log.take(t)
	require.Len(t, recs, 1)
	assert.Equal(t, "WARN", recs[0]["level"])
}

// TestVerifySignaturesUnavailable: a key source that cannot answer is a 503,
// logged at Error with its cause, never a 401.
func TestVerifySignaturesUnavailable(t *testing.T) {
	s := newSigShop(t, unavailableKeys{})
	req := s.post(t, "{}", true)
	require.NoError(t, s.signer(t).SignRequest(req))
	got := send(t, s.client, req)
	assert.Equal(t, http.StatusServiceUnavailable, got.status)
	assert.Equal(t, string(guard.ReasonSignatureUnavailable), got.code)
	recs := s.vg.log.take(t)
	require.Len(t, recs, 1)
	assert.Equal(t, "ERROR", recs[0]["level"])
	assert.Contains(t, recs[0][guard.LogKeyError], "does not answer")
}

// TestVerifySignaturesUnsignedBodyOptIn: WithInsecureUnsignedBody lets a body
// that the signature does not cover through.
func TestVerifySignaturesUnsignedBodyOptIn(t *testing.T) {
	s := newSigShop(t, nil, middleware.WithInsecureUnsignedBody())
	req := s.post(t, `{"qty":1}`, false)
	require.NoError(t, s.signer(t).SignRequest(req))
	got := send(t, s.client, req)
	assert.Equal(t, http.StatusOK, got.status)
	assert.Equal(t, `sig1 partner-2026 digest=false body={"qty":1}`, got.body)
}

// wrongVerifier answers as a broken RequestVerifier could.
type wrongVerifier struct{ err error }

func (w wrongVerifier) VerifyRequest(context.Context, *http.Request) (*httpsig.Verified, error) {
	return nil, w.err
}

// TestVerifySignaturesMisuse: bad configuration fails at construction; a
// verifier that returns neither a signature nor an error, or an error of no
// known kind, is a 500, never a pass.
func TestVerifySignaturesMisuse(t *testing.T) {
	vg := newVerifyGuard(t)
	_, err := middleware.VerifySignatures(nil, wrongVerifier{})
	assert.ErrorIs(t, err, authn.ErrInvalidConfig)
	_, err = middleware.VerifySignatures(vg.g, nil)
	assert.ErrorIs(t, err, authn.ErrInvalidConfig)
	for _, bad := range []string{"", "sig1", `sig1="x"`, `sig1=(1 2)`, "(((", strings.Repeat("a", 5000)} {
		_, err = middleware.VerifySignatures(vg.g, wrongVerifier{}, middleware.WithAcceptSignature(bad))
		assert.ErrorIs(t, err, authn.ErrInvalidConfig, bad)
	}

	for name, v := range map[string]wrongVerifier{"nil, nil": {}, "unknown error": {errors.New("boom")}} {
		t.Run(name, func(t *testing.T) {
			mw, err := middleware.VerifySignatures(vg.g, v, nil)
			require.NoError(t, err)
			h := mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("the handler ran") }))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte("x"))))
			assert.Equal(t, http.StatusInternalServerError, rec.Code)
		})
	}
	_, ok := httpsig.FromContext(context.Background())
	assert.False(t, ok)
}

// acceptingVerifier accepts every request with a signature that covers no
// body, as a signature over "@method" and "@path" alone does.
type acceptingVerifier struct{}

func (acceptingVerifier) VerifyRequest(context.Context, *http.Request) (*httpsig.Verified, error) {
	return &httpsig.Verified{Label: "sig1", KeyID: "k"}, nil
}

// TestVerifySignaturesBodyBehindZeroLength: a request whose Content-Length
// says it has no body (0), but whose r.Body holds bytes anyway (as a wrapper
// of the request can leave it), reaches the handler with no body: the bytes
// no signature covered are never read as the request's.
func TestVerifySignaturesBodyBehindZeroLength(t *testing.T) {
	vg := newVerifyGuard(t)
	mw, err := middleware.VerifySignatures(vg.g, acceptingVerifier{})
	require.NoError(t, err)
	var got []byte
	ran := false
	h := mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		ran = true
		got, _ = io.ReadAll(r.Body)
	}))
	r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"refund":"all"}`))
	r.ContentLength = 0
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if ran {
		assert.Empty(t, got, "the handler read a body no signature covered")
	} else {
		assert.Equal(t, http.StatusUnauthorized, rec.Code)
	}
}
