package dpop_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// dtHit is what a test server saw of one request.
type dtHit struct {
	body  string
	nonce bool // the proof verified with a nonce required
	err   error
}

// dtServer is a real HTTP server that records every request it gets.
type dtServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits []dtHit
}

func (s *dtServer) record(h dtHit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits = append(s.hits, h)
}

// seen returns a copy of the requests the server has had so far.
func (s *dtServer) seen() []dtHit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]dtHit(nil), s.hits...)
}

// dtNewServer starts a server whose handler gets the server's origin, so that
// it can build verifiers before the first request.
func dtNewServer(tb testing.TB, handler func(origin string) func(s *dtServer, w http.ResponseWriter, r *http.Request)) *dtServer {
	tb.Helper()
	s := &dtServer{}
	s.Server = httptest.NewUnstartedServer(nil)
	h := handler("http://" + s.Listener.Addr().String())
	s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(s, w, r) })
	s.Start()
	tb.Cleanup(s.Close)
	return s
}

// dtResourceServer is a resource server that requires DPoP nonces (RFC 9449
// §9): a RequestVerifier with WithNonces, answering a missing or stale nonce
// with 401, `WWW-Authenticate: DPoP error="use_dpop_nonce"` and DPoP-Nonce.
func dtResourceServer(tb testing.TB, r *dtRig, nonces *dpop.Nonces) *dtServer {
	tb.Helper()
	return dtNewServer(tb, func(origin string) func(*dtServer, http.ResponseWriter, *http.Request) {
		rv := r.verifier(tb, []dpop.VerifierOption{dpop.WithNonces(nonces)}, []dpop.RequestOption{dpop.WithExternalURL(origin)})
		return func(s *dtServer, w http.ResponseWriter, req *http.Request) {
			body, _ := io.ReadAll(req.Body)
			_, err := rv.Verify(req.Context(), req)
			s.record(dtHit{body: string(body), err: err, nonce: err == nil})
			var ne *dpop.NonceError
			switch {
			case errors.As(err, &ne):
				w.Header().Set("DPoP-Nonce", ne.Nonce)
				w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`)
				w.WriteHeader(http.StatusUnauthorized)
			case err != nil:
				w.Header().Set("WWW-Authenticate", `DPoP error="invalid_token"`)
				w.WriteHeader(http.StatusUnauthorized)
			default:
				w.Header().Set("DPoP-Nonce", nonces.Current())
				_, _ = fmt.Fprintf(w, "ok %s", body)
			}
		}
	})
}

// dtClient returns a client whose Transport makes proofs with r's key and sends r's token.
func dtClient(tb testing.TB, r *dtRig, base http.RoundTripper) (*http.Client, *dpop.Transport) {
	tb.Helper()
	tr := &dpop.Transport{Base: base, Proofer: r.proofer, Token: dtStaticToken(r.token(tb, nil))}
	return &http.Client{Transport: tr}, tr
}

func dtReadBody(tb testing.TB, resp *http.Response) string {
	tb.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return string(b)
}

// TestTransportNonceChallenge: the first request is challenged for a nonce,
// the transport retries once with it, and remembers it for the next request.
func TestTransportNonceChallenge(t *testing.T) {
	r := dtNewRig(t)
	srv := dtResourceServer(t, r, dtNonces(t, 7))
	client, _ := dtClient(t, r, srv.Client().Transport)

	resp, err := client.Get(srv.URL + "/orders?page=2")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok ", dtReadBody(t, resp))
	hits := srv.seen()
	require.Len(t, hits, 2, "one challenge, one retry")
	assert.ErrorIs(t, hits[0].err, dpop.ErrUseDPoPNonce)
	assert.NoError(t, hits[1].err)

	resp, err = client.Get(srv.URL + "/orders")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	dtReadBody(t, resp)
	assert.Len(t, srv.seen(), 3, "the remembered nonce makes the second request one round trip")
}

// TestTransportRetriesBody checks that a POST body is sent again, whole, on
// the retry when the request can rewind it (GetBody).
func TestTransportRetriesBody(t *testing.T) {
	r := dtNewRig(t)
	srv := dtResourceServer(t, r, dtNonces(t, 8))
	client, _ := dtClient(t, r, srv.Client().Transport)

	const body = `{"item":"sku-1","quantity":2}`
	req, err := http.NewRequest("POST", srv.URL+"/orders", strings.NewReader(body))
	require.NoError(t, err)
	require.NotNil(t, req.GetBody)
	resp, err := client.Do(req)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok "+body, dtReadBody(t, resp))
	hits := srv.seen()
	require.Len(t, hits, 2)
	assert.Equal(t, body, hits[0].body)
	assert.Equal(t, body, hits[1].body, "the retry resends the whole body")
}

// TestTransportBodyWithoutGetBody checks that a request whose body cannot be
// rewound is not retried, and that the caller learns why: an error matching
// ErrNonceRetryImpossible, never a bare 401.
func TestTransportBodyWithoutGetBody(t *testing.T) {
	r := dtNewRig(t)
	srv := dtResourceServer(t, r, dtNonces(t, 9))
	client, _ := dtClient(t, r, srv.Client().Transport)

	req, err := http.NewRequest("POST", srv.URL+"/orders", io.NopCloser(strings.NewReader("once")))
	require.NoError(t, err)
	require.Nil(t, req.GetBody)
	resp, err := client.Do(req)
	require.Error(t, err)
	assert.Nil(t, resp)
	assert.ErrorIs(t, err, dpop.ErrNonceRetryImpossible)
	assert.Len(t, srv.seen(), 1, "not retried")

	// The nonce of the challenge was remembered: the caller's own retry passes.
	resp, err = client.Post(srv.URL+"/orders", "text/plain", io.NopCloser(strings.NewReader("twice")))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok twice", dtReadBody(t, resp))
	assert.Len(t, srv.seen(), 2)
}

// TestTransportGetBodyFails: a GetBody that fails on the retry is reported
// the same way.
func TestTransportGetBodyFails(t *testing.T) {
	r := dtNewRig(t)
	srv := dtResourceServer(t, r, dtNonces(t, 10))
	client, _ := dtClient(t, r, srv.Client().Transport)

	req, err := http.NewRequest("POST", srv.URL+"/orders", strings.NewReader("once"))
	require.NoError(t, err)
	req.GetBody = func() (io.ReadCloser, error) { return nil, errors.New("spool gone") }
	resp, err := client.Do(req)
	require.Error(t, err)
	assert.Nil(t, resp)
	assert.ErrorIs(t, err, dpop.ErrNonceRetryImpossible)
	assert.Len(t, srv.seen(), 1)
}

// TestTransportMisuse: requests and transports built by hand wrongly give
// errors, not panics.
func TestTransportMisuse(t *testing.T) {
	r := dtNewRig(t)
	srv := dtResourceServer(t, r, dtNonces(t, 11))
	_, tr := dtClient(t, r, srv.Client().Transport)
	u, err := url.Parse(srv.URL + "/orders")
	require.NoError(t, err)
	cases := []struct {
		name string
		tr   *dpop.Transport
		req  *http.Request
	}{
		{"nil request", tr, nil},
		{"request without URL", tr, &http.Request{Method: "GET"}},
		{"nil transport", nil, &http.Request{Method: "GET", URL: u, Header: http.Header{}}},
		{"transport without proofer", &dpop.Transport{}, &http.Request{Method: "GET", URL: u, Header: http.Header{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var resp *http.Response
			var err error
			require.NotPanics(t, func() { resp, err = tc.tr.RoundTrip(tc.req) })
			assert.Error(t, err)
			assert.Nil(t, resp)
		})
	}
	t.Run("request without Header", func(t *testing.T) {
		var resp *http.Response
		var err error
		require.NotPanics(t, func() { resp, err = tr.RoundTrip(&http.Request{Method: "GET", URL: u}) })
		require.NoError(t, err)
		dtReadBody(t, resp)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

// TestTransportAuthorizationServerNonce checks the authorization server form
// of the challenge (RFC 9449 §8): 400 with {"error":"use_dpop_nonce"}.
func TestTransportAuthorizationServerNonce(t *testing.T) {
	nonces := dtNonces(t, 10)
	pv := dtProofVerifier(t, dpop.WithNonces(nonces))
	srv := dtNewServer(t, func(origin string) func(*dtServer, http.ResponseWriter, *http.Request) {
		return func(s *dtServer, w http.ResponseWriter, req *http.Request) {
			body, _ := io.ReadAll(req.Body)
			_, err := pv.Verify(req.Context(), req.Header.Get("DPoP"), dpop.Request{Method: req.Method, URL: origin + req.URL.EscapedPath()})
			s.record(dtHit{body: string(body), err: err})
			var ne *dpop.NonceError
			w.Header().Set("Content-Type", "application/json")
			switch {
			case errors.As(err, &ne):
				w.Header().Set("DPoP-Nonce", ne.Nonce)
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}`)
			case err != nil:
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":"invalid_dpop_proof"}`)
			default:
				_, _ = io.WriteString(w, `{"access_token":"x","token_type":"DPoP"}`)
			}
		}
	})
	r := dtNewRig(t)
	client := &http.Client{Transport: &dpop.Transport{Base: srv.Client().Transport, Proofer: r.proofer}}

	resp, err := client.Post(srv.URL+"/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"access_token":"x","token_type":"DPoP"}`, dtReadBody(t, resp))
	hits := srv.seen()
	require.Len(t, hits, 2)
	assert.ErrorIs(t, hits[0].err, dpop.ErrUseDPoPNonce)
	assert.NoError(t, hits[1].err)
	assert.Equal(t, "grant_type=client_credentials", hits[1].body)
}

// TestTransportOtherBadRequestNotRetried checks that a 400 that is not a nonce
// challenge is returned as is, body intact, even with a DPoP-Nonce header.
func TestTransportOtherBadRequestNotRetried(t *testing.T) {
	const errBody = `{"error":"invalid_grant"}`
	srv := dtNewServer(t, func(string) func(*dtServer, http.ResponseWriter, *http.Request) {
		return func(s *dtServer, w http.ResponseWriter, _ *http.Request) {
			s.record(dtHit{})
			w.Header().Set("DPoP-Nonce", fmt.Sprintf("nonce-%d", len(s.seen())))
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, errBody)
		}
	})
	r := dtNewRig(t)
	client := &http.Client{Transport: &dpop.Transport{Base: srv.Client().Transport, Proofer: r.proofer}}
	resp, err := client.Post(srv.URL+"/token", "text/plain", strings.NewReader("x"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, errBody, dtReadBody(t, resp))
	assert.Len(t, srv.seen(), 1)
}

// TestTransportRetriesOnce checks that a server demanding a new nonce every
// time gets exactly one retry, not a loop.
func TestTransportRetriesOnce(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusBadRequest} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var n atomic.Int32
			srv := dtNewServer(t, func(string) func(*dtServer, http.ResponseWriter, *http.Request) {
				return func(s *dtServer, w http.ResponseWriter, _ *http.Request) {
					s.record(dtHit{})
					w.Header().Set("DPoP-Nonce", fmt.Sprintf("always-new-%d", n.Add(1)))
					if status == http.StatusUnauthorized {
						w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
					}
					w.WriteHeader(status)
					_, _ = io.WriteString(w, `{"error":"use_dpop_nonce"}`)
				}
			})
			r := dtNewRig(t)
			client, _ := dtClient(t, r, srv.Client().Transport)
			resp, err := client.Get(srv.URL + "/orders")
			require.NoError(t, err)
			assert.Equal(t, status, resp.StatusCode)
			assert.Equal(t, "always-new-2", resp.Header.Get("DPoP-Nonce"))
			dtReadBody(t, resp)
			assert.Len(t, srv.seen(), 2, "exactly one retry")
		})
	}
}

// dtFailingToken is a TokenSource that fails.
type dtFailingToken struct{ err error }

func (s dtFailingToken) AccessToken(context.Context) (string, error) { return "", s.err }

// dtCloseRecorder is a request body that records Close.
type dtCloseRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (b *dtCloseRecorder) Close() error { b.closed.Store(true); return nil }

// TestTransportErrors checks the errors RoundTrip returns before sending.
func TestTransportErrors(t *testing.T) {
	srv := dtNewServer(t, func(string) func(*dtServer, http.ResponseWriter, *http.Request) {
		return func(s *dtServer, w http.ResponseWriter, _ *http.Request) { s.record(dtHit{}) }
	})
	r := dtNewRig(t)
	errToken := errors.New("token endpoint unreachable")

	t.Run("TokenSource error", func(t *testing.T) {
		body := &dtCloseRecorder{Reader: strings.NewReader("x")}
		client := &http.Client{Transport: &dpop.Transport{Base: srv.Client().Transport, Proofer: r.proofer, Token: dtFailingToken{err: errToken}}}
		req, err := http.NewRequest("POST", srv.URL+"/orders", body)
		require.NoError(t, err)
		resp, err := client.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		assert.ErrorIs(t, err, errToken)
		assert.True(t, body.closed.Load(), "the request body is closed")
		assert.Empty(t, srv.seen())
	})
	t.Run("nil Proofer", func(t *testing.T) {
		body := &dtCloseRecorder{Reader: strings.NewReader("x")}
		tr := &dpop.Transport{Base: srv.Client().Transport, Token: dtStaticToken("tok")}
		req, err := http.NewRequest("POST", srv.URL+"/orders", body)
		require.NoError(t, err)
		resp, err := tr.RoundTrip(req)
		assert.Error(t, err)
		assert.Nil(t, resp)
		assert.True(t, body.closed.Load(), "the request body is closed")
		assert.Empty(t, srv.seen())
	})
}

// TestTransportDoesNotModifyRequest checks the RoundTripper contract: the
// caller's request is left as it was, through a challenge and retry.
func TestTransportDoesNotModifyRequest(t *testing.T) {
	r := dtNewRig(t)
	srv := dtResourceServer(t, r, dtNonces(t, 11))
	_, tr := dtClient(t, r, srv.Client().Transport)

	req, err := http.NewRequest("PUT", srv.URL+"/orders/7?dry-run=1#frag", bytes.NewReader([]byte("payload")))
	require.NoError(t, err)
	req.Header.Set("X-Request-Id", "abc")
	wantHeader := req.Header.Clone()
	wantURL := *req.URL

	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	dtReadBody(t, resp)
	assert.Equal(t, wantHeader, req.Header)
	assert.Empty(t, req.Header.Get("Authorization"))
	assert.Empty(t, req.Header.Get("DPoP"))
	assert.Equal(t, wantURL, *req.URL)
	assert.Equal(t, "PUT", req.Method)
	assert.Len(t, srv.seen(), 2)
}

// TestTransportChallengeWithoutGetBody400 checks that an authorization
// server's 400 use_dpop_nonce challenge (RFC 9449 §8) that cannot be retried
// is reported with ErrNonceRetryImpossible, like a resource server's 401.
func TestTransportChallengeWithoutGetBody400(t *testing.T) {
	const challenge = `{"error":"use_dpop_nonce"}`
	srv := dtNewServer(t, func(string) func(*dtServer, http.ResponseWriter, *http.Request) {
		return func(s *dtServer, w http.ResponseWriter, _ *http.Request) {
			s.record(dtHit{})
			w.Header().Set("DPoP-Nonce", "server-nonce")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, challenge)
		}
	})
	r := dtNewRig(t)
	client := &http.Client{Transport: &dpop.Transport{Base: srv.Client().Transport, Proofer: r.proofer}}
	resp, err := client.Post(srv.URL+"/token", "text/plain", io.NopCloser(strings.NewReader("once")))
	assert.ErrorIs(t, err, dpop.ErrNonceRetryImpossible)
	assert.Nil(t, resp)
	assert.Len(t, srv.seen(), 1)
}

// dtProofNonce returns the nonce claim of a proof, decoded without
// verification. It runs in handlers, so it reports failures without FailNow.
func dtProofNonce(tb testing.TB, proof string) string {
	tb.Helper()
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		tb.Errorf("proof has %d parts", len(parts))
		return "<invalid>"
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Nonce string `json:"nonce"`
	}
	if err == nil {
		err = json.Unmarshal(payload, &c)
	}
	if !assert.NoError(tb, err) {
		return "<invalid>"
	}
	return c.Nonce
}

// TestTransportNoncesPerOrigin checks that a server's nonce is sent back to
// that server only (RFC 9449 §8-9: a nonce is meant for the server that issued it).
func TestTransportNoncesPerOrigin(t *testing.T) {
	r := dtNewRig(t)
	a := dtResourceServer(t, r, dtNonces(t, 12))
	var mu sync.Mutex
	var bNonces []string
	b := dtNewServer(t, func(string) func(*dtServer, http.ResponseWriter, *http.Request) {
		return func(s *dtServer, w http.ResponseWriter, req *http.Request) {
			s.record(dtHit{})
			mu.Lock()
			bNonces = append(bNonces, dtProofNonce(t, req.Header.Get("DPoP")))
			mu.Unlock()
		}
	})
	client, _ := dtClient(t, r, a.Client().Transport)

	resp, err := client.Get(a.URL + "/orders")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	dtReadBody(t, resp)
	resp, err = client.Get(b.URL + "/other")
	require.NoError(t, err)
	dtReadBody(t, resp)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{""}, bNonces, "A's nonce is not sent to B")
}

// TestTransportIgnoresInvalidNonce checks that a DPoP-Nonce outside the
// RFC 9449 §8 grammar is neither retried with nor remembered.
func TestTransportIgnoresInvalidNonce(t *testing.T) {
	for _, bad := range []string{`has space`, `quote"d`, `back\slash`, strings.Repeat("n", 1025)} {
		t.Run(bad[:min(len(bad), 12)], func(t *testing.T) {
			var (
				mu     sync.Mutex
				nonces []string
			)
			srv := dtNewServer(t, func(string) func(*dtServer, http.ResponseWriter, *http.Request) {
				return func(s *dtServer, w http.ResponseWriter, req *http.Request) {
					s.record(dtHit{})
					mu.Lock()
					nonces = append(nonces, dtProofNonce(t, req.Header.Get("DPoP")))
					mu.Unlock()
					w.Header().Set("DPoP-Nonce", bad)
					w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
					w.WriteHeader(http.StatusUnauthorized)
				}
			})
			r := dtNewRig(t)
			client, _ := dtClient(t, r, srv.Client().Transport)
			for range 2 {
				resp, err := client.Get(srv.URL + "/orders")
				require.NoError(t, err)
				assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
				dtReadBody(t, resp)
			}
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, []string{"", ""}, nonces, "one request each, never with the invalid nonce")
		})
	}
}

// TestTransportConcurrent shares one Transport between goroutines (run with -race).
func TestTransportConcurrent(t *testing.T) {
	r := dtNewRig(t)
	srv := dtResourceServer(t, r, dtNonces(t, 13))
	client, _ := dtClient(t, r, srv.Client().Transport)
	const goroutines = 16
	codes := make([]int, goroutines)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Post(srv.URL+"/orders", "text/plain", strings.NewReader(fmt.Sprint("order-", g)))
			errs[g] = err
			if err == nil {
				codes[g] = resp.StatusCode
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	for g := range goroutines {
		require.NoError(t, errs[g])
		assert.Equal(t, http.StatusOK, codes[g], "request %d", g)
	}
}

// TestTransportUserinfoNotInProof checks that the htu of a request whose URL
// carries userinfo leaves it out: RFC 9110 §4.2.4 forbids generating userinfo
// in a target URI or field value, and a password must not travel in the proof.
func TestTransportUserinfoNotInProof(t *testing.T) {
	r := dtNewRig(t)
	srv := dtResourceServer(t, r, dtNonces(t, 14))
	var (
		mu     sync.Mutex
		proofs []string
	)
	base := srv.Client().Transport
	spy := dtRoundTripFunc(func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		proofs = append(proofs, req.Header.Get("DPoP"))
		mu.Unlock()
		return base.RoundTrip(req)
	})
	client, _ := dtClient(t, r, spy)

	u := strings.Replace(srv.URL, "http://", "http://user:s3cret@", 1) + "/orders"
	resp, err := client.Get(u)
	require.NoError(t, err)
	dtReadBody(t, resp)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, proofs)
	for _, p := range proofs {
		parts := strings.Split(p, ".")
		require.Len(t, parts, 3)
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		require.NoError(t, err)
		assert.NotContains(t, string(payload), "s3cret")
	}
}
