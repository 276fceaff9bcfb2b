package grant_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/oidcop"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/grant"
)

// The tests in this file run the client against a real authorization
// server that is not ztkit: oidc-provider (npm, panva/node-oidc-provider,
// OpenID Certified), started by scripts/test with DPoP and server nonces
// required, issuing RFC 9068 JWT access tokens.

// oidcServer is the running oidc-provider (internal/test/oidcop).
type oidcServer struct{ *oidcop.Server }

func requireOIDC(t *testing.T) oidcServer { return oidcServer{oidcop.Require(t)} }

// counting counts the requests an http.Client sends.
type counting struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// client returns an HTTP client of the server that presents certs and
// counts its requests.
func (s oidcServer) client(certs ...tls.Certificate) (*http.Client, *counting) {
	hc := s.HTTPClient()
	if len(certs) > 0 {
		hc = s.MTLSHTTPClient()
	}
	c := &counting{base: hc.Transport}
	hc.Transport = c
	return hc, c
}

func (s oidcServer) basicAuth() grant.ClientAuth {
	return grant.ClientSecretBasic(grant.StaticSecret{Secret: secrets.NewSecret(map[string]string{"secret": s.BasicClientSecret}, secrets.Lease{})}, "secret")
}

// verify checks tok with ztkit's verifier: issuer, audience, signature from
// the server's JWKS, and the DPoP binding to proofer's key.
func (s oidcServer) verify(t *testing.T, tok *grant.Token, resource string, proofer *dpop.Proofer) *tokens.Claims {
	t.Helper()
	hc, _ := s.client()
	keys, err := tokens.NewRemoteKeySet(t.Context(), s.JWKSURL, tokens.WithHTTPClient(hc))
	require.NoError(t, err)
	v, err := tokens.NewVerifier(keys, s.Issuer, []string{resource})
	require.NoError(t, err)
	claims, err := v.Verify(t.Context(), tok.AccessToken)
	require.NoError(t, err)
	require.NotNil(t, claims.Confirmation)
	assert.Equal(t, proofer.Thumbprint(), claims.Confirmation.JKT)
	return claims
}

func TestOIDCProviderClientSecretBasicDPoP(t *testing.T) {
	s := requireOIDC(t)
	hc, n := s.client()
	proofer := newProofer(t)
	cc, err := grant.NewClientCredentials(s.TokenEndpoint, s.BasicClientID, s.basicAuth(), grant.WithHTTPClient(hc),
		grant.WithDPoP(proofer), grant.WithResource(s.Resource), grant.WithScopes("payments:charge"))
	require.NoError(t, err)
	tok, err := cc.Fetch(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 2, n.n.Load(), "refused with use_dpop_nonce, then sent again once with the nonce")
	assert.Equal(t, grant.TokenTypeDPoP, tok.TokenType)
	assert.Equal(t, []string{"payments:charge"}, tok.Scopes)
	assert.InDelta(t, 300, tok.Expiry.Sub(tok.IssuedAt).Seconds(), 1)
	claims := s.verify(t, tok, s.Resource, proofer)
	assert.Equal(t, s.BasicClientID, claims.ClientID)

	_, err = cc.Fetch(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 3, n.n.Load(), "the server's nonce is remembered for the next request")
}

func TestOIDCProviderPrivateKeyJWTDPoP(t *testing.T) {
	s := requireOIDC(t)
	for name, aud := range map[string]string{"aud token endpoint": "", "aud issuer": s.Issuer} {
		t.Run(name, func(t *testing.T) {
			hc, n := s.client()
			auth, err := grant.PrivateKeyJWT(s.PKJWTKey, "ES256", grant.WithAssertionKeyID(s.PKJWTKeyID), grant.WithAssertionAudience(aud))
			require.NoError(t, err)
			proofer := newProofer(t)
			cc, err := grant.NewClientCredentials(s.TokenEndpoint, s.PKJWTClientID, auth, grant.WithHTTPClient(hc),
				grant.WithDPoP(proofer), grant.WithResource(s.Resource))
			require.NoError(t, err)
			tok, err := cc.Fetch(t.Context())
			require.NoError(t, err, "the retry carries a fresh assertion: oidc-provider consumed the first one's jti")
			assert.EqualValues(t, 2, n.n.Load())
			s.verify(t, tok, s.Resource, proofer)
		})
	}
}

func TestOIDCProviderTLSClientAuthDPoP(t *testing.T) {
	s := requireOIDC(t)
	id := s.MTLSClientID
	hc, _ := s.client(s.MTLSCert)
	proofer := newProofer(t)
	cc, err := grant.NewClientCredentials(s.TokenEndpoint, id, grant.TLSClientAuth(), grant.WithHTTPClient(hc),
		grant.WithDPoP(proofer), grant.WithResource(s.Resource))
	require.NoError(t, err)
	tok, err := cc.Fetch(t.Context())
	require.NoError(t, err)
	s.verify(t, tok, s.Resource, proofer)

	without, _ := s.client()
	cc, err = grant.NewClientCredentials(s.TokenEndpoint, id, grant.TLSClientAuth(), grant.WithHTTPClient(without), grant.WithDPoP(proofer))
	require.NoError(t, err)
	_, err = cc.Fetch(t.Context())
	var e *grant.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "invalid_client", e.Code)
}

func TestOIDCProviderRefusals(t *testing.T) {
	s := requireOIDC(t)
	hc, _ := s.client()
	t.Run("wrong secret", func(t *testing.T) {
		wrong := grant.ClientSecretBasic(grant.StaticSecret{Secret: secrets.NewSecret(map[string]string{"secret": "not-" + s.BasicClientSecret}, secrets.Lease{})}, "secret")
		cc, err := grant.NewClientCredentials(s.TokenEndpoint, s.BasicClientID, wrong, grant.WithHTTPClient(hc), grant.WithDPoP(newProofer(t)))
		require.NoError(t, err)
		_, err = cc.Fetch(t.Context())
		var e *grant.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, "invalid_client", e.Code)
		assert.Equal(t, http.StatusUnauthorized, e.StatusCode)
		assert.False(t, strings.Contains(err.Error(), s.BasicClientSecret), "no secret in the error")
	})
	// oidc-provider grants no unknown scope, but omits scope from the
	// response, which RFC 6749 §5.1 reserves for "as requested": Token.Scopes
	// says what was requested, the token's claims what was granted.
	t.Run("unknown scope", func(t *testing.T) {
		proofer := newProofer(t)
		cc, err := grant.NewClientCredentials(s.TokenEndpoint, s.BasicClientID, s.basicAuth(), grant.WithHTTPClient(hc),
			grant.WithDPoP(proofer), grant.WithResource(s.Resource), grant.WithScopes("payments:refund-everything"))
		require.NoError(t, err)
		tok, err := cc.Fetch(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []string{"payments:refund-everything"}, tok.Scopes)
		assert.Empty(t, s.verify(t, tok, s.Resource, proofer).Scopes)
	})
	t.Run("no DPoP", func(t *testing.T) {
		cc, err := grant.NewClientCredentials(s.TokenEndpoint, s.BasicClientID, s.basicAuth(), grant.WithHTTPClient(hc), grant.WithResource(s.Resource))
		require.NoError(t, err)
		_, err = cc.Fetch(t.Context())
		assert.ErrorIs(t, err, grant.ErrRefused, "the server requires DPoP for this client")
	})
}

// The short resource's 10-second tokens: the Source refreshes one ahead of
// expiry (the clock is moved, not waited for) and 20 callers share each
// request; the token then reaches a ztkit resource server through
// dpop.Transport.
func TestOIDCProviderSourceAndTransport(t *testing.T) {
	s := requireOIDC(t)
	hc, n := s.client()
	c := newClock()
	c.Set(time.Now(), 0)
	start := c.Now()
	proofer := newProofer(t)
	cc, err := grant.NewClientCredentials(s.TokenEndpoint, s.BasicClientID, s.basicAuth(), grant.WithHTTPClient(hc),
		grant.WithDPoP(proofer), grant.WithResource(s.ShortResource), grant.WithClock(c.Now))
	require.NoError(t, err)
	src, err := grant.NewSource(cc, grant.WithClock(c.Now))
	require.NoError(t, err)
	defer src.Close()

	var wg sync.WaitGroup
	first := make([]string, 20)
	for i := range first {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := src.AccessToken(context.Background())
			assert.NoError(t, err)
			first[i] = tok
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 2, n.n.Load(), "one request and its nonce retry for 20 callers")
	for _, tok := range first {
		assert.True(t, tok == first[0])
	}
	t1, err := src.Token(t.Context())
	require.NoError(t, err)
	assert.InDelta(t, 10, t1.Expiry.Sub(t1.IssuedAt).Seconds(), 1)

	// Refreshed from a point in [8 s, 9 s), handed out until 9 s (its last tenth).
	c.Set(start, 9*time.Second-time.Microsecond)
	tok, err := src.AccessToken(t.Context())
	require.NoError(t, err)
	assert.True(t, tok == first[0], "the current token while the refresh runs")
	require.Eventually(t, func() bool {
		tok, err := src.AccessToken(t.Context())
		return err == nil && tok != first[0]
	}, 10*time.Second, 10*time.Millisecond)
	assert.EqualValues(t, 3, n.n.Load(), "the refresh used the remembered nonce")

	// A ztkit resource server accepts it with a proof by the same key.
	keys, err := tokens.NewRemoteKeySet(t.Context(), s.JWKSURL, tokens.WithHTTPClient(hc))
	require.NoError(t, err)
	tv, err := tokens.NewVerifier(keys, s.Issuer, []string{s.ShortResource})
	require.NoError(t, err)
	pv, err := dpop.NewVerifier()
	require.NoError(t, err)
	rs := httptest.NewServer(nil)
	defer rs.Close()
	rv, err := dpop.NewRequestVerifier(tv, pv, dpop.WithExternalURL(rs.URL))
	require.NoError(t, err)
	rs.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := rv.Verify(r.Context(), r); err != nil {
			http.Error(w, "refused", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	api := &http.Client{Transport: &dpop.Transport{Proofer: proofer, Token: src}}
	resp, err := api.Get(rs.URL + "/payments")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)

	other := &http.Client{Transport: &dpop.Transport{Proofer: newProofer(t), Token: src}}
	resp, err = other.Get(rs.URL + "/payments")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "refused with another key's proof")
}

// A client configures itself from oidc-provider's RFC 8414 metadata.
func TestOIDCProviderDiscover(t *testing.T) {
	s := requireOIDC(t)
	hc, _ := s.client()
	m, err := grant.Discover(t.Context(), s.Issuer, grant.WithHTTPClient(hc))
	require.NoError(t, err)
	assert.Equal(t, s.TokenEndpoint, m.TokenEndpoint)
	assert.Equal(t, s.JWKSURL, m.JWKSURI)
	assert.Contains(t, m.GrantTypesSupported, "client_credentials")
	assert.Contains(t, m.TokenEndpointAuthMethodsSupported, "client_secret_basic")
	assert.Contains(t, m.DPoPSigningAlgValuesSupported, "ES256")

	cc, err := grant.NewClientCredentials(m.TokenEndpoint, s.BasicClientID, s.basicAuth(), grant.WithHTTPClient(hc),
		grant.WithDPoP(newProofer(t)), grant.WithResource(s.Resource))
	require.NoError(t, err)
	_, err = cc.Fetch(t.Context())
	require.NoError(t, err)
}
