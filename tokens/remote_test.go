package tokens_test

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
)

// jwksServer is a real TLS server publishing a KeySet's JWKS, with switches
// to fail or to serve another body, and a count of the requests it answered.
type jwksServer struct {
	srv      *httptest.Server
	ks       *tokens.KeySet
	requests atomic.Int64
	status   atomic.Int32           // non-zero: answer with this status
	body     atomic.Pointer[[]byte] // non-nil: serve this body instead
}

func newJWKSServer(tb testing.TB, ks *tokens.KeySet) *jwksServer {
	tb.Helper()
	s := &jwksServer{ks: ks}
	h := ks.JWKSHandler()
	s.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if st := s.status.Load(); st != 0 {
			http.Error(w, "unavailable", int(st))
			return
		}
		if b := s.body.Load(); b != nil {
			w.Header().Set("Content-Type", tokens.JWKSContentType)
			_, _ = w.Write(*b)
			return
		}
		h.ServeHTTP(w, r)
	}))
	tb.Cleanup(s.srv.Close)
	return s
}

func (s *jwksServer) serve(b []byte) { s.body.Store(&b) }

// newRemote starts a RemoteKeySet on s with s's TLS client, closed at cleanup.
func newRemote(tb testing.TB, s *jwksServer, opts ...tokens.RemoteKeySetOption) *tokens.RemoteKeySet {
	tb.Helper()
	r, err := tokens.NewRemoteKeySet(context.Background(), s.srv.URL, append([]tokens.RemoteKeySetOption{tokens.WithHTTPClient(s.srv.Client())}, opts...)...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = r.Close() })
	return r
}

func TestRemoteKeySetFirstFetch(t *testing.T) {
	f := newRotationFixture(t)
	s := newJWKSServer(t, f.ks)
	r := newRemote(t, s)
	require.EqualValues(t, 1, s.requests.Load(), "NewRemoteKeySet fetched before returning")

	k, err := r.VerificationKey(context.Background(), f.a.KeyID())
	require.NoError(t, err)
	assert.Equal(t, f.a.KeyID(), k.KeyID)
	assert.Equal(t, "ES256", k.Algorithm)
	assert.EqualValues(t, 1, s.requests.Load(), "a known kid needs no fetch")

	v := newVerifier(t, r, tokens.WithClock(f.clock.Now))
	c, err := v.Verify(context.Background(), issue(t, f.iss, basicRequest()))
	require.NoError(t, err)
	assert.Equal(t, testSubject, c.Subject)
}

func TestNewRemoteKeySetRefusesConfig(t *testing.T) {
	f := newRotationFixture(t)
	plain := httptest.NewServer(f.ks.JWKSHandler())
	t.Cleanup(plain.Close)
	tlsSrv := newJWKSServer(t, f.ks)
	cases := []struct {
		name string
		url  string
		opts []tokens.RemoteKeySetOption
	}{
		{name: "http without WithInsecureHTTP", url: plain.URL},
		{name: "empty URL", url: ""},
		{name: "relative URL", url: "/jwks.json"},
		{name: "no host", url: "https:///jwks.json"},
		{name: "ftp", url: "ftp://issuer.example/jwks.json"},
		{name: "file", url: "file:///etc/passwd"},
		{name: "zero refresh", url: tlsSrv.srv.URL, opts: []tokens.RemoteKeySetOption{tokens.WithRefreshInterval(0)}},
		{name: "negative min refresh", url: tlsSrv.srv.URL, opts: []tokens.RemoteKeySetOption{tokens.WithMinRefreshInterval(-time.Second)}},
		{name: "zero max stale", url: tlsSrv.srv.URL, opts: []tokens.RemoteKeySetOption{tokens.WithMaxStale(0)}},
		{name: "max stale below refresh", url: tlsSrv.srv.URL, opts: []tokens.RemoteKeySetOption{tokens.WithRefreshInterval(time.Hour), tokens.WithMaxStale(time.Minute)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tokens.NewRemoteKeySet(context.Background(), tc.url, append([]tokens.RemoteKeySetOption{tokens.WithHTTPClient(tlsSrv.srv.Client())}, tc.opts...)...)
			assert.ErrorIs(t, err, tokens.ErrInvalidConfig)
			assert.Nil(t, r)
		})
	}
	before := tlsSrv.requests.Load()
	_, _ = tokens.NewRemoteKeySet(context.Background(), plain.URL)
	assert.Equal(t, before, tlsSrv.requests.Load())

	t.Run("http with WithInsecureHTTP", func(t *testing.T) {
		r, err := tokens.NewRemoteKeySet(context.Background(), plain.URL, tokens.WithInsecureHTTP())
		require.NoError(t, err)
		t.Cleanup(func() { _ = r.Close() })
		_, err = r.VerificationKey(context.Background(), f.a.KeyID())
		assert.NoError(t, err)
	})
}

func TestNewRemoteKeySetUnavailable(t *testing.T) {
	f := newRotationFixture(t)
	t.Run("server down", func(t *testing.T) {
		srv := httptest.NewTLSServer(f.ks.JWKSHandler())
		url, client := srv.URL, srv.Client()
		srv.Close()
		r, err := tokens.NewRemoteKeySet(context.Background(), url, tokens.WithHTTPClient(client))
		assert.ErrorIs(t, err, tokens.ErrKeySetUnavailable)
		assert.Nil(t, r)
	})
	t.Run("untrusted certificate with the default client", func(t *testing.T) {
		s := newJWKSServer(t, f.ks)
		r, err := tokens.NewRemoteKeySet(context.Background(), s.srv.URL)
		assert.ErrorIs(t, err, tokens.ErrKeySetUnavailable)
		assert.Nil(t, r)
	})
	for name, setup := range map[string]func(s *jwksServer){
		"status 500":          func(s *jwksServer) { s.status.Store(http.StatusInternalServerError) },
		"status 404":          func(s *jwksServer) { s.status.Store(http.StatusNotFound) },
		"no usable keys":      func(s *jwksServer) { s.serve([]byte(`{"keys":[]}`)) },
		"not a JWKS":          func(s *jwksServer) { s.serve([]byte(`<html>login</html>`)) },
		"body over 1 MiB":     func(s *jwksServer) { s.serve(padJWKS(t, f.ks, 1<<20+1)) },
		"private key in JWKS": func(s *jwksServer) { s.serve([]byte(jwks(jwkJSON(t, newECKey(t, elliptic.P256()), "priv", nil)))) },
	} {
		t.Run(name, func(t *testing.T) {
			s := newJWKSServer(t, f.ks)
			setup(s)
			r, err := tokens.NewRemoteKeySet(context.Background(), s.srv.URL, tokens.WithHTTPClient(s.srv.Client()))
			assert.ErrorIs(t, err, tokens.ErrKeySetUnavailable)
			assert.Nil(t, r)
		})
	}
	t.Run("context cancelled", func(t *testing.T) {
		s := newJWKSServer(t, f.ks)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r, err := tokens.NewRemoteKeySet(ctx, s.srv.URL, tokens.WithHTTPClient(s.srv.Client()))
		assert.Error(t, err)
		assert.Nil(t, r)
	})
}

// padJWKS returns ks's JWKS padded with whitespace to exactly size bytes.
func padJWKS(tb testing.TB, ks *tokens.KeySet, size int) []byte {
	tb.Helper()
	b, err := tokens.MarshalJWKS(ks.PublicKeys())
	require.NoError(tb, err)
	require.Less(tb, len(b), size)
	return append(b, bytes.Repeat([]byte(" "), size-len(b))...)
}

func TestRemoteKeySetBodyLimit(t *testing.T) {
	f := newRotationFixture(t)
	s := newJWKSServer(t, f.ks)
	s.serve(padJWKS(t, f.ks, 1<<20))
	r := newRemote(t, s) // exactly 1 MiB is accepted
	_, err := r.VerificationKey(context.Background(), f.a.KeyID())
	require.NoError(t, err)

	// Over the limit: refused, and the last good keys stay.
	require.NoError(t, f.ks.SetNext(f.b))
	s.serve(padJWKS(t, f.ks, 1<<20+1))
	assert.ErrorIs(t, r.Refresh(context.Background()), tokens.ErrKeySetUnavailable)
	_, err = r.VerificationKey(context.Background(), f.a.KeyID())
	assert.NoError(t, err)
}

func TestRemoteKeySetUnknownKidFetchesOnce(t *testing.T) {
	f := newRotationFixture(t)
	s := newJWKSServer(t, f.ks)
	clock := newTestClock(testNow)
	r := newRemote(t, s, tokens.WithClock(clock.Now))
	require.EqualValues(t, 1, s.requests.Load())

	require.NoError(t, f.ks.SetNext(f.b)) // published after the first fetch
	k, err := r.VerificationKey(context.Background(), f.b.KeyID())
	require.NoError(t, err)
	assert.Equal(t, f.b.KeyID(), k.KeyID)
	assert.EqualValues(t, 2, s.requests.Load())

	// Within the minimum refresh interval a still unknown kid fetches nothing.
	_, err = r.VerificationKey(context.Background(), "still-unknown")
	assert.ErrorIs(t, err, tokens.ErrUnknownKey)
	assert.EqualValues(t, 2, s.requests.Load())

	clock.Advance(tokens.DefaultMinRefreshInterval)
	_, err = r.VerificationKey(context.Background(), "still-unknown")
	assert.ErrorIs(t, err, tokens.ErrUnknownKey)
	assert.EqualValues(t, 3, s.requests.Load(), "one fetch per interval")
}

func TestRemoteKeySetUnknownKidStorm(t *testing.T) {
	f := newRotationFixture(t)
	s := newJWKSServer(t, f.ks)
	clock := newTestClock(testNow)
	r := newRemote(t, s, tokens.WithClock(clock.Now), tokens.WithMinRefreshInterval(time.Minute))
	v := newVerifier(t, r, tokens.WithClock(f.clock.Now))

	storm := func() {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 200 {
			wg.Go(func() {
				kid := make([]byte, 16)
				_, _ = rand.Read(kid)
				<-start
				_, err := r.VerificationKey(context.Background(), b64(kid))
				assert.ErrorIs(t, err, tokens.ErrUnknownKey)
				_, err = v.Verify(context.Background(), forge(stdHeader("ES256", b64(kid)), `{}`, func([]byte) []byte { return make([]byte, 64) }))
				assert.ErrorIs(t, err, tokens.ErrUnknownKey)
			})
		}
		close(start)
		wg.Wait()
	}
	storm()
	assert.LessOrEqual(t, s.requests.Load(), int64(2), "at most one fetch beyond the first")
	n := s.requests.Load()
	storm()
	assert.Equal(t, n, s.requests.Load(), "no fetch at all within the interval")
	clock.Advance(time.Minute)
	storm()
	assert.LessOrEqual(t, s.requests.Load(), n+1)
}

func TestRemoteKeySetServesStaleKeysUntilMaxStale(t *testing.T) {
	f := newRotationFixture(t)
	s := newJWKSServer(t, f.ks)
	clock := newTestClock(testNow)
	r := newRemote(t, s, tokens.WithClock(clock.Now), tokens.WithRefreshInterval(time.Hour), tokens.WithMaxStale(2*time.Hour))
	ctx := context.Background()

	s.status.Store(http.StatusInternalServerError)
	clock.Advance(2 * time.Hour)
	assert.ErrorIs(t, r.Refresh(ctx), tokens.ErrKeySetUnavailable)
	k, err := r.VerificationKey(ctx, f.a.KeyID())
	require.NoError(t, err, "at max stale the last good keys still serve")
	assert.Equal(t, f.a.KeyID(), k.KeyID)
	_, err = r.VerificationKey(ctx, "unknown")
	assert.ErrorIs(t, err, tokens.ErrUnknownKey)

	clock.Advance(time.Nanosecond)
	_, err = r.VerificationKey(ctx, f.a.KeyID())
	assert.ErrorIs(t, err, tokens.ErrKeySetUnavailable)
	v := newVerifier(t, r, tokens.WithClock(f.clock.Now))
	_, err = v.Verify(ctx, issue(t, f.iss, basicRequest()))
	assert.ErrorIs(t, err, tokens.ErrKeySetUnavailable)

	// The issuer comes back: a refresh restores service.
	s.status.Store(0)
	require.NoError(t, r.Refresh(ctx))
	_, err = r.VerificationKey(ctx, f.a.KeyID())
	assert.NoError(t, err)
}

func TestRemoteKeySetBackgroundRefresh(t *testing.T) {
	f := newRotationFixture(t)
	s := newJWKSServer(t, f.ks)
	// The clock stands still, so the one on-demand fetch, once spent, never
	// comes back: only the background refresh can find new keys.
	r := newRemote(t, s, tokens.WithClock(fixedClock(testNow)), tokens.WithRefreshInterval(50*time.Millisecond))
	ctx := context.Background()
	_, err := r.VerificationKey(ctx, "spend-the-on-demand-fetch")
	require.ErrorIs(t, err, tokens.ErrUnknownKey)

	require.NoError(t, f.ks.SetNext(f.b))
	require.Eventually(t, func() bool {
		_, err := r.VerificationKey(ctx, f.b.KeyID())
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "the rotated key is picked up")

	require.NoError(t, f.ks.Rotate())
	require.NoError(t, f.ks.Revoke(f.a.KeyID()))
	require.Eventually(t, func() bool {
		_, err := r.VerificationKey(ctx, f.a.KeyID())
		return err != nil
	}, 10*time.Second, 10*time.Millisecond, "the revoked key drops out")
	_, err = r.VerificationKey(ctx, f.a.KeyID())
	assert.ErrorIs(t, err, tokens.ErrUnknownKey)
}

func TestRemoteKeySetKeepsUnchangedKeys(t *testing.T) {
	f := newRotationFixture(t)
	s := newJWKSServer(t, f.ks)
	r := newRemote(t, s)
	ctx := context.Background()
	v := newVerifier(t, r, tokens.WithClock(f.clock.Now))
	tok := issue(t, f.iss, basicRequest())

	k1, err := r.VerificationKey(ctx, f.a.KeyID())
	require.NoError(t, err)
	_, err = v.Verify(ctx, tok)
	require.NoError(t, err)

	require.NoError(t, f.ks.SetNext(f.b)) // the set changes, key a does not
	require.NoError(t, r.Refresh(ctx))
	k2, err := r.VerificationKey(ctx, f.a.KeyID())
	require.NoError(t, err)
	assert.Same(t, k1, k2, "unchanged key keeps its pointer, so the verifier's cache survives")
	_, err = v.Verify(ctx, tok)
	require.NoError(t, err)

	t.Run("changed alg is a new key", func(t *testing.T) {
		pub := *f.a.Public()
		pub.Algorithm = ""
		b, err := tokens.MarshalJWKS([]*tokens.PublicKey{&pub})
		require.NoError(t, err)
		s.serve(b)
		require.NoError(t, r.Refresh(ctx))
		k3, err := r.VerificationKey(ctx, f.a.KeyID())
		require.NoError(t, err)
		assert.NotSame(t, k1, k3)
	})
	t.Run("changed key under the same kid refuses the cached token", func(t *testing.T) {
		evil := newECKey(t, elliptic.P256())
		b, err := tokens.MarshalJWKS([]*tokens.PublicKey{{KeyID: f.a.KeyID(), Key: &evil.PublicKey, Algorithm: "ES256"}})
		require.NoError(t, err)
		s.serve(b)
		require.NoError(t, r.Refresh(ctx))
		_, err = v.Verify(ctx, tok)
		assert.ErrorIs(t, err, tokens.ErrInvalidSignature)
	})
}

func TestRemoteKeySetClose(t *testing.T) {
	f := newRotationFixture(t)
	s := newJWKSServer(t, f.ks)
	r, err := tokens.NewRemoteKeySet(context.Background(), s.srv.URL, tokens.WithHTTPClient(s.srv.Client()), tokens.WithRefreshInterval(20*time.Millisecond))
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "Close is idempotent")

	_, err = r.VerificationKey(context.Background(), f.a.KeyID())
	assert.ErrorIs(t, err, tokens.ErrClosed)
	assert.ErrorIs(t, r.Refresh(context.Background()), tokens.ErrClosed)
	v := newVerifier(t, r, tokens.WithClock(f.clock.Now))
	_, err = v.Verify(context.Background(), issue(t, f.iss, basicRequest()))
	assert.ErrorIs(t, err, tokens.ErrClosed)

	// The background refresh has stopped: after Close at most the one request
	// already on the wire arrives, never a refresh every 20ms.
	n := s.requests.Load()
	assert.Never(t, func() bool { return s.requests.Load() > n+1 }, 200*time.Millisecond, 20*time.Millisecond)
}

func TestRemoteKeySetRefusesPrivateKeysAndKeepsLastGood(t *testing.T) {
	f := newRotationFixture(t)
	s := newJWKSServer(t, f.ks)
	var logs bytes.Buffer
	r := newRemote(t, s, tokens.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	ctx := context.Background()
	k1, err := r.VerificationKey(ctx, f.a.KeyID())
	require.NoError(t, err)

	leaked := newECKey(t, elliptic.P256())
	privJWK := jwkJSON(t, leaked, "leaked", nil)
	var priv struct {
		D string `json:"d"`
	}
	require.NoError(t, json.Unmarshal([]byte(privJWK), &priv))
	require.NotEmpty(t, priv.D)
	pubA, err := json.Marshal(jose.JSONWebKey{Key: f.a.Public().Key, KeyID: f.a.KeyID(), Use: "sig", Algorithm: "ES256"})
	require.NoError(t, err)
	s.serve([]byte(jwks(string(pubA), privJWK)))

	err = r.Refresh(ctx)
	assert.ErrorIs(t, err, tokens.ErrKeySetUnavailable)
	assert.ErrorIs(t, err, tokens.ErrInvalidKey)
	assert.NotContains(t, err.Error(), priv.D)

	k2, err := r.VerificationKey(ctx, f.a.KeyID())
	require.NoError(t, err, "last good keys kept")
	assert.Same(t, k1, k2)
	_, err = r.VerificationKey(ctx, "leaked") // on-demand fetch: fails, is logged
	assert.ErrorIs(t, err, tokens.ErrUnknownKey)
	assert.Contains(t, logs.String(), "private key material")
	assert.NotContains(t, logs.String(), priv.D)
}

// TestRemoteKeySetRefusesRedirectToHTTP: an https JWKS URL must not end up
// fetching keys in clear text because the server redirected.
func TestRemoteKeySetRefusesRedirectToHTTP(t *testing.T) {
	f := newRotationFixture(t)
	plain := httptest.NewServer(f.ks.JWKSHandler())
	t.Cleanup(plain.Close)
	redirector := httptest.NewTLSServer(http.RedirectHandler(plain.URL+"/jwks.json", http.StatusFound))
	t.Cleanup(redirector.Close)
	require.True(t, strings.HasPrefix(redirector.URL, "https://"))

	r, err := tokens.NewRemoteKeySet(context.Background(), redirector.URL, tokens.WithHTTPClient(redirector.Client()))
	if err == nil {
		_ = r.Close()
	}
	assert.ErrorIs(t, err, tokens.ErrKeySetUnavailable)
	assert.Nil(t, r)
}

// TestRemoteKeySetLogsNoURLCredentials: credentials in the JWKS URL's userinfo
// must not reach the logs (the url attribute of refresh warnings).
func TestRemoteKeySetLogsNoURLCredentials(t *testing.T) {
	f := newRotationFixture(t)
	s := newJWKSServer(t, f.ks)
	const password = "s3cret-pw-7d2a"
	u := strings.Replace(s.srv.URL, "https://", "https://jwks-reader:"+password+"@", 1)
	var logs bytes.Buffer
	r, err := tokens.NewRemoteKeySet(context.Background(), u, tokens.WithHTTPClient(s.srv.Client()),
		tokens.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })

	s.status.Store(http.StatusInternalServerError)
	_, err = r.VerificationKey(context.Background(), "unknown") // on-demand fetch fails and is logged
	require.ErrorIs(t, err, tokens.ErrUnknownKey)
	require.Contains(t, logs.String(), "refresh", "precondition: the failure was logged")
	assert.NotContains(t, err.Error(), password)
	assert.NotContains(t, logs.String(), password)
}
