package oidcop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/oidcop"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

type staticToken string

func (s staticToken) AccessToken(context.Context) (string, error) { return string(s), nil }

// TestTransportEndToEnd: ztkit's dpop.Transport does the use_dpop_nonce retry at
// oidc-provider's token endpoint by itself (a 400 JSON error, RFC 9449 §8), for a
// client whose authentication can be resent (client_secret_basic), and the token it gets
// is accepted by a ztkit resource server (dpop.RequestVerifier) only with proofs by the
// key it is bound to.
func TestTransportEndToEnd(t *testing.T) {
	s := oidcop.Require(t)
	p := newProofer(t)
	base := s.HTTPClient().Transport

	tokenClient := &http.Client{Transport: &dpop.Transport{Base: base, Proofer: p}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.TokenEndpoint,
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"payments:charge"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(s.BasicClientID), url.QueryEscape(s.BasicClientSecret))
	resp, err := tokenClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var tr tokenResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tr))
	require.Equal(t, http.StatusOK, resp.StatusCode, "error %q", tr.Error)
	require.Equal(t, "DPoP", tr.TokenType)

	keys, err := tokens.NewRemoteKeySet(t.Context(), s.JWKSURL, tokens.WithHTTPClient(s.HTTPClient()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = keys.Close() })
	tv, err := tokens.NewVerifier(keys, s.Issuer, []string{s.Resource})
	require.NoError(t, err)
	store, err := dpop.NewMemoryReplayStore()
	require.NoError(t, err)
	pv, err := dpop.NewVerifier(dpop.WithReplayStore(store))
	require.NoError(t, err)

	var rv *dpop.RequestVerifier
	rs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := rv.Verify(r.Context(), r)
		if err != nil {
			http.Error(w, "refused", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, res.Claims.ClientID)
	}))
	t.Cleanup(rs.Close)
	rv, err = dpop.NewRequestVerifier(tv, pv, dpop.WithExternalURL(rs.URL))
	require.NoError(t, err)

	call := func(p *dpop.Proofer) (int, string) {
		c := &http.Client{Transport: &dpop.Transport{Proofer: p, Token: staticToken(tr.AccessToken)}}
		resp, err := c.Get(rs.URL + "/charges")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	status, body := call(p)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, s.BasicClientID, body)

	status, _ = call(newProofer(t))
	assert.Equal(t, http.StatusUnauthorized, status, "a proof by another key is refused")
}
