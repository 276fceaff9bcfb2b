package middleware_test

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/middleware"
)

// seen is what the next handler saw of a request.
type seen struct {
	called                          bool
	path, escaped, requestURI, item string
	pattern                         string
}

// pathRig returns the middleware, with a policy that allows /x/{p...} and
// GET /items/{id} and forbids /admin/, around a ServeMux, and a function
// that sends target through it with an authenticated mTLS peer.
func pathRig(t *testing.T) func(target string) (*httptest.ResponseRecorder, seen) {
	t.Helper()
	iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
	svid := shoprig.SVID(t, iss, shoprig.Checkout)
	a, err := authn.New(authn.Policy{Peer: authn.MatchID(shoprig.Checkout)}, authn.WithX509Bundles(iss.X509Bundle()))
	require.NoError(t, err)
	az, err := authz.AuthorizePolicy(authz.Policy{Rules: []authz.Rule{
		{ID: "x", Effect: authz.Allow, Routes: []string{"/x/{p...}", "GET /items/{id}"}, Match: authz.Match{AnyPrincipal: true}},
		{ID: "no-admin", Effect: authz.Forbid, Routes: []string{"/admin/"}, Match: authz.Match{AnyPrincipal: true}},
	}})
	require.NoError(t, err)
	mw, err := middleware.New(a, guard.WithAuthorizer(az))
	require.NoError(t, err)
	state := &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true, PeerCertificates: svid.Certificates}
	return func(target string) (*httptest.ResponseRecorder, seen) {
		var s seen
		mux := http.NewServeMux()
		record := func(w http.ResponseWriter, r *http.Request) {
			s = seen{called: true, path: r.URL.Path, escaped: r.URL.EscapedPath(), requestURI: r.RequestURI, item: r.PathValue("id"), pattern: r.Pattern}
		}
		mux.HandleFunc("/x/{p...}", record)
		mux.HandleFunc("GET /items/{id}", record)
		mux.HandleFunc("/admin/", record)
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.TLS = state
		w := httptest.NewRecorder()
		mw(mux).ServeHTTP(w, r)
		return w, s
	}
}

// TestMiddlewareCanonicalPath is the regression test for percent-encoded
// dot segments: the handler never routes on a path other than the one the
// authorizer decided on. Paths without a canonical form are refused with 400
// and never reach it; others reach it in canonical form.
func TestMiddlewareCanonicalPath(t *testing.T) {
	send := pathRig(t)
	for _, target := range []string{
		"/x/%2e%2e/admin/users", "/x/%2E%2E/admin/users", "/x/.%2e/admin/users", "/x/%2e/admin",
		"/x/../admin/users", "/x/a%2Fb", "/x/a%5Cb", "/x/a%00", "/x/..;/admin/users", "/x/%252e%252e/admin",
		"/x/%C0%AE%C0%AE/admin", "/x//admin", "/items/%2e%2e",
	} {
		t.Run("refused "+target, func(t *testing.T) {
			w, s := send(target)
			assert.Equal(t, http.StatusBadRequest, w.Code)
			assert.False(t, s.called, "the handler must not run")
		})
	}
	cases := []struct {
		name, target                    string
		path, escaped, requestURI, item string
		pattern                         string
	}{
		{"already canonical", "/items/a-1?q=1", "/items/a-1", "/items/a-1", "/items/a-1?q=1", "a-1", "GET /items/{id}"},
		{"unreserved decoded", "/items/%7ealice?q=1", "/items/~alice", "/items/~alice", "/items/~alice?q=1", "~alice", "GET /items/{id}"},
		{"escape case normalized", "/%69tems/caf%c3%a9", "/items/café", "/items/caf%C3%A9", "/items/caf%C3%A9", "café", "GET /items/{id}"},
		{"encoded reserved kept", "/x/a%3Bb", "/x/a;b", "/x/a%3Bb", "/x/a%3Bb", "", "/x/{p...}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, s := send(tc.target)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			require.True(t, s.called)
			assert.Equal(t, tc.path, s.path)
			assert.Equal(t, tc.escaped, s.escaped)
			assert.Equal(t, tc.requestURI, s.requestURI)
			assert.Equal(t, tc.item, s.item)
			assert.Equal(t, tc.pattern, s.pattern)
		})
	}
	t.Run("encoded forbidden prefix still forbidden", func(t *testing.T) {
		w, s := send("/%61dmin/users")
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.False(t, s.called)
	})
}

// TestMiddlewareMisuse: a hand-built request without a URL, or a nil one,
// is refused, not a panic.
func TestMiddlewareMisuse(t *testing.T) {
	iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
	a, err := authn.New(authn.Policy{Peer: authn.MatchID(shoprig.Checkout)}, authn.WithX509Bundles(iss.X509Bundle()))
	require.NoError(t, err)
	var logged bytes.Buffer
	mw, err := middleware.New(a, guard.WithLogger(slog.New(slog.NewJSONHandler(&logged, nil))))
	require.NoError(t, err)
	called := false
	h := mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	for name, r := range map[string]*http.Request{"nil": nil, "no URL": {}, "no URL, method set": {Method: "GET"}} {
		t.Run(name, func(t *testing.T) {
			logged.Reset()
			w := httptest.NewRecorder()
			require.NotPanics(t, func() { h.ServeHTTP(w, r) })
			assert.Equal(t, http.StatusBadRequest, w.Code)
			assert.False(t, called)
			if r != nil { // a refusal the service can see in its log
				assert.Contains(t, logged.String(), `"reason":"invalid_request"`)
			}
		})
	}
}
