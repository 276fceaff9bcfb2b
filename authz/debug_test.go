package authz_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
)

// TestExplainHandler: the debug endpoint explains for the principal in the
// request's context, over a real HTTP round trip, and shows no subject.
func TestExplainHandler(t *testing.T) {
	eng, err := authz.New(authz.Policy{Rules: []authz.Rule{
		{ID: "pay", Effect: authz.Allow, Routes: []string{"POST /payments"},
			Match: authz.Match{Peers: []string{"spiffe://shop.example/checkout"}, AllScopes: []string{"payments:write"}}},
		{ID: "no-storefront", Effect: authz.Forbid, Routes: []string{"/payments"},
			Match: authz.Match{Peers: []string{"spiffe://shop.example/storefront"}}},
	}})
	require.NoError(t, err)
	caller := &authn.Principal{Peer: spiffeid.RequireFromString("spiffe://shop.example/checkout"), Subject: "customer-4711",
		Scopes: []string{"orders:read"}}
	// Stands in for the authentication middleware.
	withPrincipal := func(p *authn.Principal, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p != nil {
				r = r.WithContext(authn.NewContext(r.Context(), p))
			}
			h.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(withPrincipal(caller, authz.ExplainHandler(eng)))
	t.Cleanup(srv.Close)
	anon := httptest.NewServer(withPrincipal(nil, authz.ExplainHandler(eng)))
	t.Cleanup(anon.Close)

	get := func(base string, q url.Values) (int, http.Header, []byte) {
		resp, err := http.Get(base + "/debug/authz?" + q.Encode())
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, resp.Header, body
	}

	status, hdr, body := get(srv.URL, url.Values{"method": {"POST"}, "path": {"/payments"}})
	require.Equal(t, http.StatusOK, status, string(body))
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	assert.Equal(t, "no-store", hdr.Get("Cache-Control"))
	assert.Equal(t, "nosniff", hdr.Get("X-Content-Type-Options"))
	assert.NotContains(t, string(body), "customer-4711")
	var tr struct {
		Method, Path string
		Patterns     []string
		Steps        []struct {
			RuleID  string `json:"rule_id"`
			Effect  string
			Matched bool
			Reason  string
		}
		Decision struct {
			Allow         bool
			Reason        string
			RuleID        string   `json:"rule_id"`
			MissingScopes []string `json:"missing_scopes"`
		}
	}
	require.NoError(t, json.Unmarshal(body, &tr))
	assert.Equal(t, "POST", tr.Method)
	assert.Equal(t, "/payments", tr.Path)
	assert.False(t, tr.Decision.Allow)
	assert.Equal(t, "insufficient_scope", tr.Decision.Reason)
	assert.Equal(t, "pay", tr.Decision.RuleID)
	assert.Equal(t, []string{"payments:write"}, tr.Decision.MissingScopes)
	require.Len(t, tr.Steps, 2)
	assert.Equal(t, "no-storefront", tr.Steps[0].RuleID)
	assert.Equal(t, "forbid", tr.Steps[0].Effect)
	assert.Equal(t, "peer_mismatch", tr.Steps[0].Reason)
	assert.Equal(t, "insufficient_scope", tr.Steps[1].Reason)

	// An unauthenticated caller is explained as one: no claim of identity
	// in the query changes that.
	status, _, body = get(anon.URL, url.Values{"method": {"POST"}, "path": {"/payments"}, "peer": {"spiffe://shop.example/checkout"}})
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal(body, &tr))
	assert.False(t, tr.Decision.Allow)
	assert.Equal(t, "peer_mismatch", tr.Decision.Reason)

	status, _, body = get(srv.URL, url.Values{"grpc_method": {"/shop.Payments/Charge"}})
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal(body, &tr))
	assert.Equal(t, "no_rule", tr.Decision.Reason)
	assert.Empty(t, tr.Steps)

	status, _, _ = get(srv.URL, url.Values{"method": {"POST"}})
	assert.Equal(t, http.StatusBadRequest, status)
	resp, err := http.Post(srv.URL+"/debug/authz?method=POST&path=/payments", "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
}

// TestExplainHandlerNilEngine: a handler built without an engine refuses
// rather than panics.
func TestExplainHandlerNilEngine(t *testing.T) {
	rec := httptest.NewRecorder()
	authz.ExplainHandler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/debug/authz?method=GET&path=/", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
}
