package httpsig_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authz/egress"
	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/httpsig/digest"
)

// partner is a partner API on a real TLS server that verifies every signed
// request with an httpsig.Verifier and answers what it verified.
type partner struct {
	srv  *httptest.Server
	port int
	key  *httpsig.SigningKey
	// digests are the Content-Digest fields the server saw, in order.
	mu      sync.Mutex
	digests []string
}

func newPartner(t *testing.T) *partner {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	key, err := httpsig.NewSigningKey("storefront", httpsig.AlgECDSAP256SHA256, priv)
	require.NoError(t, err)
	vk, err := httpsig.NewVerifyingKey("storefront", httpsig.AlgECDSAP256SHA256, &priv.PublicKey)
	require.NoError(t, err)
	keys, err := httpsig.NewStaticKeys(vk)
	require.NoError(t, err)
	withBody, err := httpsig.NewVerifier(keys, httpsig.WithRequiredParams("nonce"), httpsig.WithRequiredComponents(
		httpsig.Derived("@method"), httpsig.Derived("@authority"), httpsig.Derived("@path"), httpsig.Derived("@query"), httpsig.Field("content-digest")))
	require.NoError(t, err)
	noBody, err := httpsig.NewVerifier(keys, httpsig.WithRequiredParams("nonce"))
	require.NoError(t, err)

	p := &partner{key: key}
	mux := http.NewServeMux()
	answer := func(v *httpsig.Verifier) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			p.mu.Lock()
			p.digests = append(p.digests, r.Header.Get(digest.ContentDigest))
			p.mu.Unlock()
			sig, err := v.VerifyRequest(r.Context(), r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s digest=%t %s", sig.KeyID, r.URL.Path, sig.DigestChecked, body)
		}
	}
	mux.Handle("POST /orders", answer(withBody))
	mux.Handle("PUT /orders/{id}", answer(withBody))
	mux.Handle("GET /orders/{id}", answer(noBody))
	mux.Handle("POST /v1/orders", http.RedirectHandler("/orders", http.StatusPermanentRedirect))
	p.srv = httptest.NewTLSServer(mux)
	t.Cleanup(p.srv.Close)
	p.port = p.srv.Listener.Addr().(*net.TCPAddr).Port
	return p
}

// egressBase is an egress.Transport that allows only the partner, on
// 127.0.0.1, verified against the test server's certificate.
func (p *partner) egressBase(t *testing.T) *egress.Transport {
	t.Helper()
	list, err := egress.NewList(egress.Destination{Host: "127.0.0.1", Port: p.port})
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(p.srv.Certificate())
	d, err := egress.NewDialer(list, egress.WithRootCAs(roots))
	require.NoError(t, err)
	tr, err := egress.NewTransport(d)
	require.NoError(t, err)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func (p *partner) client(t *testing.T, opts ...httpsig.TransportOption) *http.Client {
	t.Helper()
	signer, err := httpsig.NewSigner(p.key, httpsig.WithRandomNonce())
	require.NoError(t, err)
	tr, err := httpsig.NewTransport(p.egressBase(t), signer, opts...)
	require.NoError(t, err)
	return &http.Client{Transport: tr}
}

func (p *partner) url(path string) string {
	return fmt.Sprintf("https://127.0.0.1:%d%s", p.port, path)
}

func call(t *testing.T, c *http.Client, method, url string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestTransportSignsEndToEnd: requests signed by the Transport, sent through
// the egress allow-list over TLS, verify at the partner, body included.
func TestTransportSignsEndToEnd(t *testing.T) {
	p := newPartner(t)
	c := p.client(t)

	status, body := call(t, c, http.MethodPost, p.url("/orders?cart=7"), strings.NewReader(`{"sku":"A-1"}`))
	assert.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, `storefront /orders digest=true {"sku":"A-1"}`, body)

	// A body of unknown length (no Content-Length, no GetBody) is read once.
	status, body = call(t, c, http.MethodPut, p.url("/orders/7"), iotest.OneByteReader(strings.NewReader(`{"qty":3}`)))
	assert.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, `storefront /orders/7 digest=true {"qty":3}`, body)

	// A POST without a body: the digest of empty content is signed.
	status, body = call(t, c, http.MethodPost, p.url("/orders"), nil)
	assert.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "storefront /orders digest=true ", body)

	status, body = call(t, c, http.MethodGet, p.url("/orders/7"), nil)
	assert.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "storefront /orders/7 digest=false ", body)

	p.mu.Lock()
	defer p.mu.Unlock()
	assert.Equal(t, []string{
		"sha-256=:" + sha256B64(`{"sku":"A-1"}`) + ":",
		"sha-256=:" + sha256B64(`{"qty":3}`) + ":",
		"sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:",
		"",
	}, p.digests)
}

func sha256B64(s string) string {
	d, _ := digest.Compute([]byte(s), digest.SHA256)
	v, _ := d.Format()
	return strings.TrimSuffix(strings.TrimPrefix(v, "sha-256=:"), ":")
}

// TestTransportRedirect: a 308 the client follows is re-sent with its body
// and signed for its new target, with a fresh nonce (the partner requires
// one and remembers it).
func TestTransportRedirect(t *testing.T) {
	p := newPartner(t)
	status, body := call(t, p.client(t), http.MethodPost, p.url("/v1/orders"), strings.NewReader(`{"sku":"B-2"}`))
	assert.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, `storefront /orders digest=true {"sku":"B-2"}`, body)
}

// TestTransportDigestAlgorithms: WithDigestAlgorithms sends the members asked for, and
// a Content-Digest the caller set that matches the body is kept.
func TestTransportDigestAlgorithms(t *testing.T) {
	p := newPartner(t)
	c := p.client(t, httpsig.WithDigestAlgorithms(digest.SHA512, digest.SHA256))
	status, body := call(t, c, http.MethodPost, p.url("/orders"), strings.NewReader("x"))
	require.Equal(t, http.StatusOK, status, body)

	req, err := http.NewRequest(http.MethodPost, p.url("/orders"), strings.NewReader("y"))
	require.NoError(t, err)
	own, err := digest.Value([]byte("y"), digest.SHA512)
	require.NoError(t, err)
	req.Header.Set(digest.ContentDigest, own)
	resp, err := p.client(t).Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, req.Header.Get("Signature"), "the caller's request is not modified")

	// A Content-Digest that does not match the body is replaced.
	req, err = http.NewRequest(http.MethodPost, p.url("/orders"), strings.NewReader("z"))
	require.NoError(t, err)
	req.Header.Set(digest.ContentDigest, own)
	resp, err = p.client(t).Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	p.mu.Lock()
	defer p.mu.Unlock()
	require.Len(t, p.digests, 3)
	assert.True(t, strings.HasPrefix(p.digests[0], "sha-512=:"), p.digests[0])
	assert.Contains(t, p.digests[0], ", sha-256=:")
	assert.Equal(t, own, p.digests[1])
	assert.Equal(t, "sha-256=:"+sha256B64("z")+":", p.digests[2])
}

// closeTracker is a body that records that it was closed.
type closeTracker struct {
	io.Reader
	closed bool
}

func (c *closeTracker) Close() error { c.closed = true; return nil }

// TestTransportRefuses: a body over the limit, a body that cannot be read and
// a destination off the egress list are never sent; the body is closed.
func TestTransportRefuses(t *testing.T) {
	p := newPartner(t)
	c := p.client(t, httpsig.WithMaxBufferedBody(8))

	for name, tc := range map[string]struct {
		body   *closeTracker
		length int64
		url    string
		want   error
	}{
		"declared too large": {&closeTracker{Reader: strings.NewReader("0123456789")}, 10, p.url("/orders"), httpsig.ErrBodyTooLarge},
		"too large":          {&closeTracker{Reader: strings.NewReader("0123456789")}, -1, p.url("/orders"), httpsig.ErrBodyTooLarge},
		"read error":         {&closeTracker{Reader: iotest.ErrReader(errors.New("disk gone"))}, -1, p.url("/orders"), nil},
		"off the list":       {&closeTracker{Reader: strings.NewReader("{}")}, 2, fmt.Sprintf("https://127.0.0.1:%d/orders", p.port+1), egress.ErrDestinationNotAllowed},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, tc.url, tc.body)
			require.NoError(t, err)
			req.ContentLength = tc.length
			_, err = c.Do(req)
			require.Error(t, err)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			assert.True(t, tc.body.closed, "the body is closed")
		})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	assert.Empty(t, p.digests, "nothing reached the partner")
}

// recordingBase passes requests on and keeps the last one.
type recordingBase struct {
	mu   sync.Mutex
	last *http.Request
	next http.RoundTripper
}

func (r *recordingBase) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.last = req
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// TestTransportGetBody: the request handed to the base can be sent again
// (GetBody gives the same bytes), so the base may retry it.
func TestTransportGetBody(t *testing.T) {
	p := newPartner(t)
	signer, err := httpsig.NewSigner(p.key, httpsig.WithRandomNonce())
	require.NoError(t, err)
	rec := &recordingBase{next: p.egressBase(t)}
	tr, err := httpsig.NewTransport(rec, signer)
	require.NoError(t, err)
	status, body := call(t, &http.Client{Transport: tr}, http.MethodPost, p.url("/orders"), iotest.HalfReader(strings.NewReader("hello")))
	require.Equal(t, http.StatusOK, status, body)
	require.NotNil(t, rec.last.GetBody)
	again, err := rec.last.GetBody()
	require.NoError(t, err)
	b, err := io.ReadAll(again)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))
	assert.EqualValues(t, 5, rec.last.ContentLength)
	tr.CloseIdleConnections()
}

// TestNewTransportMisuse: bad configuration fails at construction.
func TestNewTransportMisuse(t *testing.T) {
	p := newPartner(t)
	signer, err := httpsig.NewSigner(p.key)
	require.NoError(t, err)
	_, err = httpsig.NewTransport(nil, nil)
	assert.ErrorIs(t, err, httpsig.ErrInvalidConfig)
	_, err = httpsig.NewTransport(nil, signer, httpsig.WithMaxBufferedBody(0))
	assert.ErrorIs(t, err, httpsig.ErrInvalidConfig)
	_, err = httpsig.NewTransport(nil, signer, httpsig.WithDigestAlgorithms("md5"))
	assert.ErrorIs(t, err, httpsig.ErrInvalidConfig)
	tr, err := httpsig.NewTransport(nil, signer, nil, httpsig.WithDigestAlgorithms())
	require.NoError(t, err)
	_, err = tr.RoundTrip(nil)
	assert.Error(t, err)
	_, err = tr.RoundTrip(&http.Request{})
	assert.Error(t, err)
}

// Sign every request a client sends to a partner, body included; the partner
// verifies with a Verifier that requires the body's Content-Digest.
func ExampleNewTransport() {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	key, _ := httpsig.NewSigningKey("storefront", httpsig.AlgEd25519, priv)
	vk, _ := httpsig.NewVerifyingKey("storefront", httpsig.AlgEd25519, priv.Public())
	keys, _ := httpsig.NewStaticKeys(vk)
	verifier, _ := httpsig.NewVerifier(keys, httpsig.WithRequiredComponents(
		httpsig.Derived("@method"), httpsig.Derived("@authority"), httpsig.Derived("@path"), httpsig.Field("content-digest")))
	partner := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig, err := verifier.VerifyRequest(r.Context(), r)
		if err != nil {
			http.Error(w, "refused", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("partner: %s signed %s (digest checked: %t)\n", sig.KeyID, body, sig.DigestChecked)
	}))
	defer partner.Close()

	signer, err := httpsig.NewSigner(key, httpsig.WithRandomNonce())
	if err != nil {
		fmt.Println(err)
		return
	}
	// In production the base is an authz/egress.Transport.
	t, err := httpsig.NewTransport(partner.Client().Transport, signer)
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &http.Client{Transport: t}
	resp, err := client.Post(partner.URL+"/orders", "application/json", strings.NewReader(`{"sku":"A-1"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// partner: storefront signed {"sku":"A-1"} (digest checked: true)
	// 200
}

// TestTransportReplacesStaleDigestWithoutBody: a Content-Digest the caller
// left on a request without a body (a GET, a DELETE reusing headers) is
// checked like any other: one that does not describe the empty content is
// replaced, never signed as it is.
func TestTransportReplacesStaleDigestWithoutBody(t *testing.T) {
	p := newPartner(t)
	stale, err := digest.Value([]byte(`{"sku":"B-2"}`), digest.SHA256)
	require.NoError(t, err)
	for _, body := range []io.Reader{nil, http.NoBody} {
		req, err := http.NewRequest(http.MethodGet, p.url("/orders/o-1"), body)
		require.NoError(t, err)
		req.Header.Set(digest.ContentDigest, stale)
		resp, err := p.client(t).Do(req)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, http.StatusOK, resp.StatusCode, string(b))
		assert.Equal(t, "storefront /orders/o-1 digest=true ", string(b))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.digests {
		assert.Equal(t, "sha-256=:"+sha256B64("")+":", d)
	}
}
