package tokens_test

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
)

// redirectingJWKS is a real TLS server that serves ks's JWK Set at
// /jwks.json and answers /hop/N with a redirect to /hop/N-1 (/hop/0 to
// /jwks.json), and /away with a redirect to where away says.
type redirectingJWKS struct {
	srv      *httptest.Server
	away     atomic.Pointer[string]
	requests atomic.Int64
}

func newRedirectingJWKS(tb testing.TB, ks *tokens.KeySet) *redirectingJWKS {
	tb.Helper()
	s := &redirectingJWKS{}
	jwks := ks.JWKSHandler()
	s.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		var n int
		switch {
		case r.URL.Path == "/jwks.json":
			jwks.ServeHTTP(w, r)
		case r.URL.Path == "/away":
			http.Redirect(w, r, *s.away.Load(), http.StatusFound)
		case fmtSscan(r.URL.Path, "/hop/%d", &n):
			to := "/jwks.json"
			if n > 0 {
				to = fmt.Sprintf("/hop/%d", n-1)
			}
			http.Redirect(w, r, to, http.StatusMovedPermanently)
		default:
			http.NotFound(w, r)
		}
	}))
	tb.Cleanup(s.srv.Close)
	return s
}

func fmtSscan(s, format string, n *int) bool {
	_, err := fmt.Sscanf(s, format, n)
	return err == nil
}

// TestRemoteKeySetRedirects: the JWK Set is fetched through redirects only
// within its URL's origin (RFC 6454 §4), a bounded number of times.
func TestRemoteKeySetRedirects(t *testing.T) {
	f := newRotationFixture(t)
	tok := issue(t, f.iss, basicRequest())
	s := newRedirectingJWKS(t, f.ks)
	// Every httptest TLS server has the same certificate, so this client
	// trusts the other server too: only the origin check stops the fetch.
	other := newJWKSServer(t, f.ks)
	plain := httptest.NewServer(f.ks.JWKSHandler())
	t.Cleanup(plain.Close)
	su, err := url.Parse(s.srv.URL)
	require.NoError(t, err)

	t.Run("same origin, relative", func(t *testing.T) {
		r, err := tokens.NewRemoteKeySet(context.Background(), s.srv.URL+"/hop/0", tokens.WithHTTPClient(s.srv.Client()))
		require.NoError(t, err)
		t.Cleanup(func() { _ = r.Close() })
		c, err := newVerifier(t, r, tokens.WithClock(f.clock.Now)).Verify(context.Background(), tok)
		require.NoError(t, err)
		assert.Equal(t, testSubject, c.Subject)
	})
	t.Run("same origin, three hops", func(t *testing.T) {
		r, err := tokens.NewRemoteKeySet(context.Background(), s.srv.URL+"/hop/2", tokens.WithHTTPClient(s.srv.Client()))
		require.NoError(t, err)
		_ = r.Close()
	})
	t.Run("same origin, four hops", func(t *testing.T) {
		r, err := tokens.NewRemoteKeySet(context.Background(), s.srv.URL+"/hop/3", tokens.WithHTTPClient(s.srv.Client()))
		assert.ErrorIs(t, err, tokens.ErrKeySetUnavailable)
		assert.NotErrorIs(t, err, tokens.ErrCrossOriginRedirect)
		assert.Nil(t, r)
	})
	t.Run("same origin, absolute with upper-case host and default port spelled out", func(t *testing.T) {
		// The server's port is not 443, so only the case can differ here.
		to := "https://" + strings.ToUpper(su.Hostname()) + ":" + su.Port() + "/jwks.json"
		s.away.Store(&to)
		r, err := tokens.NewRemoteKeySet(context.Background(), s.srv.URL+"/away", tokens.WithHTTPClient(s.srv.Client()))
		require.NoError(t, err)
		_ = r.Close()
	})

	refused := map[string]string{
		"another port":         other.srv.URL + "/",
		"another host":         "https://localhost:" + su.Port() + "/jwks.json",
		"another host by IPv6": "https://[::1]:" + su.Port() + "/jwks.json",
		"https to http":        plain.URL + "/",
		"same host:port, http": "http://" + su.Host + "/jwks.json",
		"userinfo trick":       "https://" + su.Host + "@evil.example/jwks.json",
		"protocol-relative":    "//evil.example/jwks.json",
	}
	for name, to := range refused {
		t.Run("refuses "+name, func(t *testing.T) {
			before := other.requests.Load()
			s.away.Store(&to)
			r, err := tokens.NewRemoteKeySet(context.Background(), s.srv.URL+"/away",
				tokens.WithHTTPClient(s.srv.Client()), tokens.WithInsecureHTTP())
			if err == nil {
				_ = r.Close()
			}
			assert.ErrorIs(t, err, tokens.ErrCrossOriginRedirect)
			assert.ErrorIs(t, err, tokens.ErrKeySetUnavailable)
			assert.Nil(t, r)
			assert.Equal(t, before, other.requests.Load(), "the other origin was never asked")
		})
	}

	t.Run("refuses on refresh and keeps the last good keys", func(t *testing.T) {
		to := s.srv.URL + "/jwks.json"
		s.away.Store(&to)
		r, err := tokens.NewRemoteKeySet(context.Background(), s.srv.URL+"/away", tokens.WithHTTPClient(s.srv.Client()))
		require.NoError(t, err)
		t.Cleanup(func() { _ = r.Close() })
		to2 := other.srv.URL + "/"
		s.away.Store(&to2)
		assert.ErrorIs(t, r.Refresh(context.Background()), tokens.ErrCrossOriginRedirect)
		_, err = r.VerificationKey(context.Background(), f.a.KeyID())
		assert.NoError(t, err)
	})
	t.Run("a client's own CheckRedirect still runs", func(t *testing.T) {
		var called atomic.Bool
		client := s.srv.Client()
		client.CheckRedirect = func(*http.Request, []*http.Request) error {
			called.Store(true)
			return http.ErrUseLastResponse
		}
		_, err := tokens.NewRemoteKeySet(context.Background(), s.srv.URL+"/hop/0", tokens.WithHTTPClient(client))
		assert.ErrorIs(t, err, tokens.ErrKeySetUnavailable) // the 301 is not a JWK Set
		assert.True(t, called.Load())
	})
}

// TestRemoteKeySetNeverVerifiesWithAnEncryptionKey: a key published with
// use "enc" or key_ops without "verify" (RFC 7517 §4.2, §4.3) is not a
// verification key, even when a token names its kid.
func TestRemoteKeySetNeverVerifiesWithAnEncryptionKey(t *testing.T) {
	f := newRotationFixture(t)
	good := issue(t, f.iss, basicRequest())
	encKey := newSigningKey(t, newECKey(t, elliptic.P256()), "")
	encTok := f.issueWith(t, encKey)
	base, err := tokens.MarshalJWKS(f.ks.PublicKeys())
	require.NoError(t, err)
	for name, members := range map[string]map[string]any{
		"use enc":                 {"use": "enc"},
		"use enc, key_ops verify": {"use": "enc", "key_ops": []string{"verify"}},
		"key_ops encrypt":         {"key_ops": []string{"encrypt"}, "use": nil},
		"key_ops sign":            {"key_ops": []string{"sign"}, "use": nil},
		"key_ops duplicated":      {"key_ops": []string{"verify", "verify"}},
		"use missing value":       {"use": ""},
	} {
		t.Run(name, func(t *testing.T) {
			enc, err := tokens.MarshalJWKS([]*tokens.PublicKey{encKey.Public()})
			require.NoError(t, err)
			var set, encSet struct{ Keys []map[string]any }
			require.NoError(t, json.Unmarshal(base, &set))
			require.NoError(t, json.Unmarshal(enc, &encSet))
			for k, v := range members {
				if v == nil {
					delete(encSet.Keys[0], k)
				} else {
					encSet.Keys[0][k] = v
				}
			}
			set.Keys = append(set.Keys, encSet.Keys[0])
			body, err := json.Marshal(map[string]any{"keys": set.Keys})
			require.NoError(t, err)
			s := newJWKSServer(t, f.ks)
			s.serve(body)
			v := newVerifier(t, newRemote(t, s, tokens.WithMinRefreshInterval(1)), tokens.WithClock(f.clock.Now))

			c, err := v.Verify(context.Background(), encTok)
			assert.ErrorIs(t, err, tokens.ErrUnknownKey)
			assert.Nil(t, c)
			_, err = v.Verify(context.Background(), good)
			assert.NoError(t, err, "control: the signature key still verifies")
		})
	}
}
