package httpsig_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
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

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/httpsig/digest"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// fixture is a signer and a verifier that agree, on an Ed25519 key, at a
// fixed time.
type fixture struct {
	now    time.Time
	priv   ed25519.PrivateKey
	key    *httpsig.SigningKey
	keys   *httpsig.StaticKeys
	signer *httpsig.Signer
}

const orderBody = `{"order":"o-1","amount":4200}`

func newFixture(t *testing.T, opts ...httpsig.SignerOption) *fixture {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	f := &fixture{now: time.Unix(1_800_000_000, 0), priv: priv}
	f.key = mustSK(t, "partner-1", httpsig.AlgEd25519, priv)
	f.keys, err = httpsig.NewStaticKeys(mustVK(t, "partner-1", httpsig.AlgEd25519, pub))
	require.NoError(t, err)
	base := []httpsig.SignerOption{
		httpsig.WithClock(f.clock),
		httpsig.WithComponents(httpsig.Derived("@method"), httpsig.Derived("@authority"), httpsig.Derived("@path"),
			httpsig.Derived("@query"), httpsig.Field("content-type"), httpsig.Field("content-digest")),
		httpsig.WithRandomNonce(),
		httpsig.WithExpiresIn(time.Minute),
	}
	f.signer, err = httpsig.NewSigner(f.key, append(base, opts...)...)
	require.NoError(t, err)
	return f
}

func (f *fixture) clock() time.Time { return f.now }

// request returns a signed POST with a Content-Digest.
func (f *fixture) request(t *testing.T) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "https://payments.shop.example/v1/charges?order=o-1&currency=EUR", strings.NewReader(orderBody))
	r.Header.Set("Content-Type", "application/json")
	d, err := digest.Value([]byte(orderBody), digest.SHA256)
	require.NoError(t, err)
	r.Header.Set("Content-Digest", d)
	require.NoError(t, f.signer.SignRequest(r))
	return r
}

func (f *fixture) verifier(t *testing.T, opts ...httpsig.VerifierOption) *httpsig.Verifier {
	t.Helper()
	base := []httpsig.VerifierOption{
		httpsig.WithClock(f.clock),
		httpsig.WithRequiredComponents(httpsig.Derived("@method"), httpsig.Derived("@authority"), httpsig.Derived("@path"),
			httpsig.Derived("@query"), httpsig.Field("content-digest")),
	}
	v, err := httpsig.NewVerifier(f.keys, append(base, opts...)...)
	require.NoError(t, err)
	return v
}

func TestVerifyAccepts(t *testing.T) {
	f := newFixture(t)
	r := f.request(t)
	got, err := f.verifier(t).VerifyRequest(context.Background(), r)
	require.NoError(t, err)
	assert.Equal(t, "sig1", got.Label)
	assert.Equal(t, "partner-1", got.KeyID)
	assert.Equal(t, httpsig.AlgEd25519, got.Algorithm)
	assert.Equal(t, f.now, got.Created)
	assert.Equal(t, f.now.Add(time.Minute), got.Expires)
	assert.NotEmpty(t, got.Nonce)
	assert.True(t, got.DigestChecked)
	assert.True(t, got.Covers(httpsig.Field("content-type")))
	body, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, orderBody, string(body), "the handler reads the body that was checked")
}

// Every refusal the issue lists, each matching its sentinel.
func TestVerifyRefusals(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(t *testing.T, f *fixture, r *http.Request)
		opts   []httpsig.VerifierOption
		want   error
	}{
		{name: "changed body", want: httpsig.ErrDigestMismatch, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(orderBody, "4200", "1", 1)))
		}},
		{name: "changed covered header", want: httpsig.ErrInvalid, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Content-Type", "text/plain")
		}},
		{name: "covered header removed", want: httpsig.ErrInvalid, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Del("Content-Type")
		}},
		{name: "changed Content-Digest and body", want: httpsig.ErrInvalid, mutate: func(t *testing.T, _ *fixture, r *http.Request) {
			d, err := digest.Value([]byte("{}"), digest.SHA256)
			require.NoError(t, err)
			r.Header.Set("Content-Digest", d)
			r.Body = io.NopCloser(strings.NewReader("{}"))
		}},
		{name: "changed method", want: httpsig.ErrInvalid, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Method = http.MethodPut
		}},
		{name: "changed authority", want: httpsig.ErrInvalid, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Host = "evil.example"
		}},
		{name: "changed path", want: httpsig.ErrInvalid, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.URL.Path = "/v1/refunds"
		}},
		{name: "changed query", want: httpsig.ErrInvalid, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.URL.RawQuery = "order=o-2&currency=EUR"
		}},
		{name: "expires passed", want: httpsig.ErrExpired, mutate: func(_ *testing.T, f *fixture, _ *http.Request) {
			f.now = f.now.Add(time.Minute + httpsig.DefaultLeeway + time.Second)
		}, opts: []httpsig.VerifierOption{httpsig.WithMaxAge(time.Hour)}},
		{name: "created too old", want: httpsig.ErrExpired, mutate: func(_ *testing.T, f *fixture, _ *http.Request) {
			f.now = f.now.Add(30 * time.Second)
		}, opts: []httpsig.VerifierOption{httpsig.WithMaxAge(10 * time.Second), httpsig.WithLeeway(0)}},
		{name: "created in the future", want: httpsig.ErrExpired, mutate: func(_ *testing.T, f *fixture, _ *http.Request) {
			f.now = f.now.Add(-httpsig.DefaultLeeway - time.Second)
		}},
		{name: "required component not covered", want: httpsig.ErrInsufficient,
			opts: []httpsig.VerifierOption{httpsig.WithRequiredComponents(httpsig.Derived("@target-uri"))}},
		{name: "required parameter absent", want: httpsig.ErrInsufficient,
			opts: []httpsig.VerifierOption{httpsig.WithRequiredParams("tag")}},
		{name: "label without signature", want: httpsig.ErrMalformed, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", r.Header.Get("Signature-Input")+`, sig2=("@method");created=1800000000;keyid="partner-1"`)
		}},
		{name: "signature without label in Signature-Input", want: httpsig.ErrMalformed, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature", r.Header.Get("Signature")+`, sig2=:AAAA:`)
		}},
		{name: "truncated signature", want: httpsig.ErrInvalid, mutate: func(t *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature", truncate(t, r.Header.Get("Signature"), 1))
		}},
		{name: "signature is not a byte sequence", want: httpsig.ErrMalformed, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature", `sig1="abc"`)
		}},
		{name: "Signature-Input not a dictionary", want: httpsig.ErrMalformed, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", `sig1=("@method"`)
		}},
		{name: "empty nonce", want: httpsig.ErrMalformed, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", r.Header.Get("Signature-Input")+`;nonce=""`)
		}},
		{name: "expires before created", want: httpsig.ErrMalformed, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", r.Header.Get("Signature-Input")+`;expires=1`)
		}},
		{name: "duplicated component", want: httpsig.ErrMalformed, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `("@method"`, `("@method" "@method"`, 1))
		}},
		{name: "alg contradicting the key", want: httpsig.ErrUnknownKey, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", r.Header.Get("Signature-Input")+`;alg="hmac-sha256"`)
		}},
		{name: "unknown keyid", want: httpsig.ErrUnknownKey, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `keyid="partner-1"`, `keyid="partner-2"`, 1))
		}},
		{name: "key's algorithm not allowed", want: httpsig.ErrUnknownKey,
			opts: []httpsig.VerifierOption{httpsig.WithAlgorithms(httpsig.AlgECDSAP256SHA256)}},
		{name: "no signature", want: httpsig.ErrMissing, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Del("Signature-Input")
			r.Header.Del("Signature")
		}},
		{name: "not the required label", want: httpsig.ErrMissing, opts: []httpsig.VerifierOption{httpsig.WithLabel("partner")}},
		{name: "not the required tag", want: httpsig.ErrMissing, opts: []httpsig.VerifierOption{httpsig.WithTag("payments")}},
		{name: "body larger than the verifier reads", want: httpsig.ErrMalformed, opts: []httpsig.VerifierOption{httpsig.WithMaxBodySize(8)}},
		{name: "unsupported component parameter", want: httpsig.ErrMalformed, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `"content-type"`, `"content-type";tr`, 1))
		}},
		{name: "req in a request", want: httpsig.ErrMalformed, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `"@method"`, `"@method";req`, 1))
		}},
		{name: "@signature-params covered", want: httpsig.ErrMalformed, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `"@method"`, `"@method" "@signature-params"`, 1))
		}},
		{name: "created not an integer", want: httpsig.ErrMalformed, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `created=1800000000`, `created="1800000000"`, 1))
		}},
		{name: "no created", want: httpsig.ErrInsufficient, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `;created=1800000000`, ``, 1))
		}},
		{name: "oversized Signature-Input", want: httpsig.ErrMalformed, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", r.Header.Get("Signature-Input")+`;x="`+strings.Repeat("a", 20<<10)+`"`)
		}},
		{name: "too many signatures", want: httpsig.ErrMalformed, mutate: func(_ *testing.T, _ *fixture, r *http.Request) {
			for i := 0; i < 20; i++ {
				l := "s" + strings.Repeat("x", i)
				r.Header.Add("Signature-Input", l+`=();created=1800000000;keyid="partner-1"`)
				r.Header.Add("Signature", l+`=:AAAA:`)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := f.request(t)
			sig := r.Header.Get("Signature")
			if tt.mutate != nil {
				tt.mutate(t, f, r)
			}
			_, err := f.verifier(t, tt.opts...).VerifyRequest(context.Background(), r)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "httpsig: "), err.Error())
			assert.False(t, strings.Contains(err.Error(), sig[6:20]), "no signature bytes in errors")
		})
	}
}

// truncate drops n bytes from the end of the signature in a Signature field
// value of one member.
func truncate(t *testing.T, field string, n int) string {
	t.Helper()
	label, rest, ok := strings.Cut(field, "=:")
	require.True(t, ok)
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(rest, ":"))
	require.NoError(t, err)
	return label + "=:" + base64.StdEncoding.EncodeToString(sig[:len(sig)-n]) + ":"
}

func TestVerifyReplayedNonce(t *testing.T) {
	f := newFixture(t)
	store, err := dpop.NewMemoryReplayStore()
	require.NoError(t, err)
	v := f.verifier(t, httpsig.WithReplayStore(store), httpsig.WithRequiredParams("nonce"))
	r := f.request(t)
	in, sig := r.Header.Get("Signature-Input"), r.Header.Get("Signature")
	_, err = v.VerifyRequest(context.Background(), r)
	require.NoError(t, err)

	again := f.request(t) // same message, new nonce: accepted
	_, err = v.VerifyRequest(context.Background(), again)
	require.NoError(t, err)

	replay := f.request(t)
	replay.Header.Set("Signature-Input", in)
	replay.Header.Set("Signature", sig)
	_, err = v.VerifyRequest(context.Background(), replay)
	assert.ErrorIs(t, err, httpsig.ErrReplayed)

	// A signature without a nonce when one is required.
	s, err := httpsig.NewSigner(f.key, httpsig.WithClock(f.clock),
		httpsig.WithComponents(httpsig.Derived("@method"), httpsig.Derived("@authority"), httpsig.Derived("@path"),
			httpsig.Derived("@query"), httpsig.Field("content-digest")))
	require.NoError(t, err)
	r = f.request(t)
	r.Header.Del("Signature-Input")
	r.Header.Del("Signature")
	require.NoError(t, s.SignRequest(r))
	_, err = v.VerifyRequest(context.Background(), r)
	assert.ErrorIs(t, err, httpsig.ErrInsufficient)
}

// brokenKeys is a key resolver that cannot answer.
type brokenKeys struct{}

func (brokenKeys) ResolveKey(context.Context, string) (*httpsig.VerifyingKey, error) {
	return nil, errors.New("connection refused")
}

func TestVerifyUnavailable(t *testing.T) {
	// A replay store that cannot answer: TestReplayAcrossReplicasRedis.
	f := newFixture(t)
	v, err := httpsig.NewVerifier(brokenKeys{}, httpsig.WithClock(f.clock))
	require.NoError(t, err)
	_, err = v.VerifyRequest(context.Background(), f.request(t))
	assert.ErrorIs(t, err, httpsig.ErrUnavailable)
}

// Several signatures on one message: each verifies by its label, and a
// verifier without a label takes the first that meets its requirements.
func TestSeveralSignatures(t *testing.T) {
	f := newFixture(t)
	r := f.request(t) // sig1, by partner-1, with the digest

	_, proxyPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	proxy, err := httpsig.NewSigner(mustSK(t, "proxy", httpsig.AlgEd25519, proxyPriv), httpsig.WithLabel("proxy"),
		httpsig.WithClock(f.clock), httpsig.WithTag("edge"),
		httpsig.WithComponents(httpsig.Derived("@method"), httpsig.Derived("@path"), httpsig.Field("signature").Key("sig1")))
	require.NoError(t, err)
	require.NoError(t, proxy.SignRequest(r))
	assert.Contains(t, r.Header.Get("Signature-Input"), `sig1=(`)
	assert.Contains(t, r.Header.Get("Signature-Input"), `, proxy=("@method" "@path" "signature";key="sig1")`)

	// A second signature with the same label is refused.
	assert.Error(t, proxy.SignRequest(r))

	// The proxy's key is unknown here: by label, its signature fails; without
	// a label, sig1 is taken.
	_, err = f.verifier(t, httpsig.WithLabel("proxy"), httpsig.WithRequiredComponents()).VerifyRequest(context.Background(), r)
	assert.ErrorIs(t, err, httpsig.ErrUnknownKey)
	got, err := f.verifier(t).VerifyRequest(context.Background(), r)
	require.NoError(t, err)
	assert.Equal(t, "sig1", got.Label)

	// By tag.
	keys, err := httpsig.NewStaticKeys(mustVK(t, "proxy", httpsig.AlgEd25519, proxyPriv.Public()))
	require.NoError(t, err)
	v, err := httpsig.NewVerifier(keys, httpsig.WithClock(f.clock), httpsig.WithTag("edge"),
		httpsig.WithRequiredComponents(httpsig.Field("signature").Key("sig1")))
	require.NoError(t, err)
	got, err = v.VerifyRequest(context.Background(), r)
	require.NoError(t, err)
	assert.Equal(t, "proxy", got.Label)
}

// A request signed by a client and verified by a server across a real TLS
// connection: the server sees the scheme, authority and path the client
// signed.
func TestSignedRequestOverTLS(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, httpsig.WithRequiredParams("nonce", "expires"))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, err := v.VerifyRequest(r.Context(), r)
		if err != nil {
			http.Error(w, "refused", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if string(body) != orderBody || got.KeyID != "partner-1" {
			http.Error(w, "wrong body", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	send := func(mutate func(r *http.Request)) int {
		r, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/charges?order=o-1", strings.NewReader(orderBody))
		require.NoError(t, err)
		r.Header.Set("Content-Type", "application/json")
		d, err := digest.Value([]byte(orderBody))
		require.NoError(t, err)
		r.Header.Set("Content-Digest", d)
		require.NoError(t, f.signer.SignRequest(r))
		if mutate != nil {
			mutate(r)
		}
		resp, err := srv.Client().Do(r)
		require.NoError(t, err)
		defer resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusNoContent, send(nil))
	assert.Equal(t, http.StatusUnauthorized, send(func(r *http.Request) { r.URL.RawQuery = "order=o-2" }))
	assert.Equal(t, http.StatusUnauthorized, send(func(r *http.Request) {
		r.Body = io.NopCloser(strings.NewReader(strings.ToUpper(orderBody)))
	}))
}

// A service behind a TLS-terminating proxy verifies with the origin its
// clients signed.
func TestExternalOrigin(t *testing.T) {
	f := newFixture(t)
	r := f.request(t) // https://payments.shop.example
	inner := readRequest(t, "POST /v1/charges?order=o-1&currency=EUR HTTP/1.1\r\nHost: payments.internal:8080\r\n\r\n"+orderBody)
	inner.Header = r.Header
	_, err := f.verifier(t).VerifyRequest(context.Background(), inner)
	assert.ErrorIs(t, err, httpsig.ErrInvalid)

	inner.Body = io.NopCloser(strings.NewReader(orderBody))
	_, err = f.verifier(t, httpsig.WithExternalOrigin("https://payments.shop.example:443")).VerifyRequest(context.Background(), inner)
	assert.NoError(t, err)
}

func TestSignerRefusesAbsentDigest(t *testing.T) {
	f := newFixture(t)
	r := httptest.NewRequest(http.MethodPost, "https://payments.shop.example/v1/charges", strings.NewReader(orderBody))
	r.Header.Set("Content-Type", "application/json")
	err := f.signer.SignRequest(r)
	require.Error(t, err)
	assert.Empty(t, r.Header.Get("Signature"))
}

// Host and Content-Length of a client request live outside its header
// (Request.Host, URL.Host, Request.ContentLength), and its scheme and target
// in its URL; signed on the client, they verify on the TLS server that
// received them on the wire.
func TestClientHostAndContentLength(t *testing.T) {
	f := newFixture(t, httpsig.WithComponents(httpsig.Derived("@method"), httpsig.Derived("@authority"),
		httpsig.Derived("@path"), httpsig.Derived("@query"), httpsig.Field("host"), httpsig.Field("content-length"),
		httpsig.Derived("@target-uri"), httpsig.Derived("@scheme"), httpsig.Derived("@request-target"),
		httpsig.QueryParam("order"), httpsig.Field("content-digest")))
	v := f.verifier(t, httpsig.WithRequiredComponents(httpsig.Field("host"), httpsig.Field("content-length"),
		httpsig.Derived("@target-uri"), httpsig.Derived("@scheme"), httpsig.Derived("@request-target"),
		httpsig.QueryParam("order"), httpsig.Field("content-digest")))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := v.VerifyRequest(r.Context(), r); err != nil {
			http.Error(w, "refused", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	r, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/charges/caf%C3%A9?order=o%201&x=y+z", strings.NewReader(orderBody))
	require.NoError(t, err)
	d, err := digest.Value([]byte(orderBody))
	require.NoError(t, err)
	r.Header.Set("Content-Digest", d)
	require.NoError(t, f.signer.SignRequest(r))
	resp, err := srv.Client().Do(r)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
}

func TestSignatureWithoutInput(t *testing.T) {
	f := newFixture(t)
	r := f.request(t)
	r.Header.Del("Signature-Input")
	_, err := f.verifier(t).VerifyRequest(context.Background(), r)
	assert.ErrorIs(t, err, httpsig.ErrMalformed)
}

// A truncated HMAC or ECDSA signature never verifies, whatever the
// algorithm's usual length checks.
func TestTruncatedSignatures(t *testing.T) {
	keys := loadRFCKeys(t)
	hk, err := httpsig.NewHMACSigningKey("test-shared-secret", keys.secret)
	require.NoError(t, err)
	for _, key := range []*httpsig.SigningKey{hk, mustSK(t, "test-key-ecc-p256", httpsig.AlgECDSAP256SHA256, keys.p256)} {
		t.Run(key.Algorithm().String(), func(t *testing.T) {
			s, err := httpsig.NewSigner(key, httpsig.WithClock(rfcNow))
			require.NoError(t, err)
			v, err := httpsig.NewVerifier(keys.resolver(t), httpsig.WithClock(rfcNow))
			require.NoError(t, err)
			for _, n := range []int{1, 16} {
				r := readRequest(t, rfcRequestText)
				require.NoError(t, s.SignRequest(r))
				r.Header.Set("Signature", truncate(t, r.Header.Get("Signature"), n))
				_, err = v.VerifyRequest(context.Background(), r)
				assert.ErrorIs(t, err, httpsig.ErrInvalid)
			}
		})
	}
}

// fallbackKeys is a resolver that answers every keyid with one key: a
// resolver bug (a default key, a prefix match, a case-folding lookup) that
// the verifier must not turn into an identity the signer never had.
type fallbackKeys struct{ key *httpsig.VerifyingKey }

func (k fallbackKeys) ResolveKey(context.Context, string) (*httpsig.VerifyingKey, error) {
	return k.key, nil
}

// TestVerifyRefusesKeyOfAnotherID: a signature whose keyid names one key is
// accepted only with that key; a resolver answering with a key of another id
// is refused (ErrUnknownKey), so that Verified.KeyID, which callers
// authorize on, is always the id of the key that verified.
func TestVerifyRefusesKeyOfAnotherID(t *testing.T) {
	f := newFixture(t)
	pub, ok := f.priv.Public().(ed25519.PublicKey)
	require.True(t, ok)
	// partner-1's private key signs under another keyid.
	for _, keyID := range []string{"partner-2", "Partner-1", "partner-1 ", ""} {
		t.Run(keyID, func(t *testing.T) {
			s, err := httpsig.NewSigner(mustSK(t, keyID, httpsig.AlgEd25519, f.priv), httpsig.WithClock(f.clock))
			require.NoError(t, err)
			r := httptest.NewRequest(http.MethodGet, "https://payments.shop.example/v1/charges?order=o-1", nil)
			require.NoError(t, s.SignRequest(r))
			v, err := httpsig.NewVerifier(fallbackKeys{mustVK(t, "partner-1", httpsig.AlgEd25519, pub)}, httpsig.WithClock(f.clock))
			require.NoError(t, err)
			got, err := v.VerifyRequest(context.Background(), r)
			assert.ErrorIs(t, err, httpsig.ErrUnknownKey)
			assert.Nil(t, got)
		})
	}
	// The key's own id verifies.
	r := httptest.NewRequest(http.MethodGet, "https://payments.shop.example/v1/charges?order=o-1", nil)
	s, err := httpsig.NewSigner(f.key, httpsig.WithClock(f.clock))
	require.NoError(t, err)
	require.NoError(t, s.SignRequest(r))
	v, err := httpsig.NewVerifier(fallbackKeys{mustVK(t, "partner-1", httpsig.AlgEd25519, pub)}, httpsig.WithClock(f.clock))
	require.NoError(t, err)
	got, err := v.VerifyRequest(context.Background(), r)
	require.NoError(t, err)
	assert.Equal(t, "partner-1", got.KeyID)
}

// TestVerifyBoundsBaseWork: the signature bases one verification builds read
// a bounded amount of the message, whatever the signatures ask for. Fifteen
// signatures of sixty components, each the key of one 15 KiB dictionary
// field, made the verifier parse that field nine hundred times (seconds of
// CPU for one request under a public keyid); the verification now stops
// with ErrMalformed once the bound is reached.
func TestVerifyBoundsBaseWork(t *testing.T) {
	f := newFixture(t)
	v, err := httpsig.NewVerifier(f.keys, httpsig.WithClock(f.clock))
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodGet, "https://payments.shop.example/v1/charges?order=o-1", nil)
	var d strings.Builder
	for i := 0; d.Len() < 15<<10; i++ {
		if i > 0 {
			d.WriteString(", ")
		}
		fmt.Fprintf(&d, "k%d=(1 2 3 4);a=1", i)
	}
	r.Header.Set("X-D", d.String())
	var in, sig strings.Builder
	for s := 0; s < 15; s++ {
		if s > 0 {
			in.WriteString(", ")
			sig.WriteString(", ")
		}
		fmt.Fprintf(&in, `s%d=("@method" "@authority" "@path" "@query"`, s)
		for c := 0; c < 60; c++ {
			fmt.Fprintf(&in, ` "x-d";key="k%d"`, c)
		}
		fmt.Fprintf(&in, `);created=%d;keyid="partner-1"`, f.now.Unix())
		fmt.Fprintf(&sig, "s%d=:%s:", s, base64.StdEncoding.EncodeToString(make([]byte, 64)))
	}
	r.Header.Set("Signature-Input", in.String())
	r.Header.Set("Signature", sig.String())
	_, err = v.VerifyRequest(context.Background(), r)
	assert.ErrorIs(t, err, httpsig.ErrMalformed)

	// The same field covered by one signature, as a signer would, verifies.
	s, err := httpsig.NewSigner(f.key, httpsig.WithClock(f.clock), httpsig.WithComponents(
		httpsig.Derived("@method"), httpsig.Derived("@authority"), httpsig.Derived("@path"), httpsig.Derived("@query"),
		httpsig.Field("x-d"), httpsig.Field("x-d").Key("k1"), httpsig.Field("x-d").BS()))
	require.NoError(t, err)
	r.Header.Del("Signature-Input")
	r.Header.Del("Signature")
	require.NoError(t, s.SignRequest(r))
	_, err = v.VerifyRequest(context.Background(), r)
	assert.NoError(t, err)
}

// TestVerifyDigestMemberCovered: a signature may cover one member of
// Content-Digest ("content-digest";key="sha-256"); a member added beside it
// for another body is no way to change the body (each supported member must
// match), and a covered member of an algorithm that is not checked (md5)
// does not make the body count as checked.
func TestVerifyDigestMemberCovered(t *testing.T) {
	f := newFixture(t)
	v, err := httpsig.NewVerifier(f.keys, httpsig.WithClock(f.clock))
	require.NoError(t, err)
	sign := func(t *testing.T, field, key string) *http.Request {
		s, err := httpsig.NewSigner(f.key, httpsig.WithClock(f.clock), httpsig.WithComponents(
			httpsig.Derived("@method"), httpsig.Derived("@authority"), httpsig.Derived("@path"), httpsig.Derived("@query"),
			httpsig.Field("content-digest").Key(key)))
		require.NoError(t, err)
		r := httptest.NewRequest(http.MethodPost, "https://payments.shop.example/v1/charges?order=o-1", strings.NewReader(orderBody))
		r.Header.Set("Content-Digest", field)
		require.NoError(t, s.SignRequest(r))
		return r
	}
	evil := `{"order":"o-1","amount":1}`
	evil512, err := digest.Value([]byte(evil), digest.SHA512)
	require.NoError(t, err)
	evil256, err := digest.Value([]byte(evil), digest.SHA256)
	require.NoError(t, err)
	good256, err := digest.Value([]byte(orderBody), digest.SHA256)
	require.NoError(t, err)

	r := sign(t, good256, "sha-256")
	got, err := v.VerifyRequest(context.Background(), r)
	require.NoError(t, err)
	assert.True(t, got.DigestChecked)

	r = sign(t, good256, "sha-256")
	r.Header.Set("Content-Digest", good256+", "+evil512)
	r.Body = io.NopCloser(strings.NewReader(evil))
	_, err = v.VerifyRequest(context.Background(), r)
	assert.ErrorIs(t, err, httpsig.ErrDigestMismatch)

	r = sign(t, "md5=:Sd/dVLAcvNLSq16eXua5uQ==:", "md5")
	r.Header.Set("Content-Digest", "md5=:Sd/dVLAcvNLSq16eXua5uQ==:, "+evil256)
	r.Body = io.NopCloser(strings.NewReader(evil))
	got, err = v.VerifyRequest(context.Background(), r)
	if err == nil {
		assert.False(t, got.DigestChecked, "a covered md5 member does not bind the body")
	}
}
