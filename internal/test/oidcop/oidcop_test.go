package oidcop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/oidcop"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// metadata is the part of the server's metadata (RFC 8414 §2, RFC 9449 §5.1) a
// client-credentials client configures itself from.
type metadata struct {
	Issuer                     string   `json:"issuer"`
	TokenEndpoint              string   `json:"token_endpoint"`
	JWKSURI                    string   `json:"jwks_uri"`
	GrantTypes                 []string `json:"grant_types_supported"`
	TokenEndpointAuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAl []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	DPoPSigningAlgs            []string `json:"dpop_signing_alg_values_supported"`
}

// TestDiscovery: both metadata documents name the token endpoint and what a DPoP
// client-credentials client needs.
func TestDiscovery(t *testing.T) {
	s := oidcop.Require(t)
	c := s.HTTPClient()
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		t.Run(path, func(t *testing.T) {
			resp, err := c.Get(s.Issuer + path)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var md metadata
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&md))
			assert.Equal(t, s.Issuer, md.Issuer)
			assert.Equal(t, s.TokenEndpoint, md.TokenEndpoint)
			assert.Equal(t, s.JWKSURL, md.JWKSURI)
			assert.Contains(t, md.GrantTypes, "client_credentials")
			assert.Contains(t, md.TokenEndpointAuthMethods, "private_key_jwt")
			assert.Contains(t, md.TokenEndpointAuthMethods, "client_secret_basic")
			assert.Contains(t, md.TokenEndpointAuthMethods, "tls_client_auth")
			assert.Contains(t, md.TokenEndpointAuthSigningAl, "ES256")
			assert.Contains(t, md.DPoPSigningAlgs, "ES256")
		})
	}
}

// tokenResponse is a token endpoint answer, success (RFC 6749 §5.1) or error (§5.2).
type tokenResponse struct {
	status    int
	dpopNonce string
	wwwAuth   string

	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
	Error       string `json:"error"`
	// Description is error_description: oidc-provider's reason, never a secret.
	Description string `json:"error_description"`
}

// tokenRequest is one client_credentials request.
type tokenRequest struct {
	form    url.Values
	basic   [2]string     // client_secret_basic id and secret, when set
	proofer *dpop.Proofer // nil: no DPoP proof
	nonce   string
	client  *http.Client // nil: s.HTTPClient()
}

func post(t *testing.T, s *oidcop.Server, r tokenRequest) tokenResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.TokenEndpoint,
		strings.NewReader(r.form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r.basic[0] != "" {
		// RFC 6749 §2.3.1: both form-urlencoded before the Basic encoding.
		req.SetBasicAuth(url.QueryEscape(r.basic[0]), url.QueryEscape(r.basic[1]))
	}
	if r.proofer != nil {
		proof, err := r.proofer.Proof(dpop.ProofRequest{Method: http.MethodPost, URL: s.TokenEndpoint, Nonce: r.nonce})
		require.NoError(t, err)
		req.Header.Set("DPoP", proof)
	}
	c := r.client
	if c == nil {
		c = s.HTTPClient()
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	tr := tokenResponse{
		status:    resp.StatusCode,
		dpopNonce: resp.Header.Get("DPoP-Nonce"),
		wwwAuth:   resp.Header.Get("WWW-Authenticate"),
	}
	// The body may hold an access token: never print it.
	require.NoError(t, json.Unmarshal(body, &tr), "token endpoint answered %d with a body that is not JSON", resp.StatusCode)
	return tr
}

// assertion makes a fresh private_key_jwt client assertion (RFC 7523 §3) for s's client.
func assertion(t *testing.T, s *oidcop.Server, aud string) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.ES256,
		Key:       jose.JSONWebKey{Key: s.PKJWTKey, KeyID: s.PKJWTKeyID, Algorithm: string(jose.ES256)},
	}, (&jose.SignerOptions{}).WithType("JWT"))
	require.NoError(t, err)
	now := time.Now()
	a, err := jwt.Signed(sig).Claims(jwt.Claims{
		Issuer:   s.PKJWTClientID,
		Subject:  s.PKJWTClientID,
		Audience: jwt.Audience{aud},
		ID:       rand.Text(),
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(time.Minute)),
	}).Serialize()
	require.NoError(t, err)
	return a
}

func pkjwtForm(t *testing.T, s *oidcop.Server, resource string) url.Values {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {"payments:charge"},
		"resource":              {resource},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion(t, s, s.Issuer)},
	}
}

func newProofer(t *testing.T) *dpop.Proofer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p, err := dpop.NewProofer(key, "")
	require.NoError(t, err)
	return p
}

// verifyToken verifies an access token with ztkit's verifier against the server's
// published keys and checks that it is bound to p's key.
func verifyToken(t *testing.T, s *oidcop.Server, token, resource, clientID string, p *dpop.Proofer) *tokens.Claims {
	t.Helper()
	ctx := context.Background()
	keys, err := tokens.NewRemoteKeySet(ctx, s.JWKSURL, tokens.WithHTTPClient(s.HTTPClient()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = keys.Close() })
	v, err := tokens.NewVerifier(keys, s.Issuer, []string{resource})
	require.NoError(t, err)
	claims, err := v.Verify(ctx, token)
	require.NoError(t, err)
	assert.Equal(t, s.Issuer, claims.Issuer)
	assert.Equal(t, clientID, claims.ClientID)
	assert.Equal(t, clientID, claims.Subject, "RFC 9068 §2.2: a client-credentials token's sub is the client")
	assert.True(t, claims.HasAudience(resource))
	assert.Equal(t, p.Thumbprint(), claims.Confirmation.JKT, "cnf.jkt is the proof key's thumbprint (RFC 9449 §6.1)")
	assert.True(t, claims.HasScope("payments:charge"))
	return claims
}

// TestClientCredentialsPrivateKeyJWTDPoPNonce: the whole flow a DPoP client of any
// RFC 9449 server goes through. The first proof carries no nonce and is refused with
// use_dpop_nonce and a DPoP-Nonce; the retry, with that nonce and a fresh client
// assertion, gets a DPoP-bound JWT access token that ztkit's verifier accepts.
func TestClientCredentialsPrivateKeyJWTDPoPNonce(t *testing.T) {
	s := oidcop.Require(t)
	p := newProofer(t)

	first := pkjwtForm(t, s, s.Resource)
	r := post(t, s, tokenRequest{form: first, proofer: p})
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "use_dpop_nonce", r.Error, "RFC 9449 §8: a server requiring nonces refuses a proof without one")
	require.NotEmpty(t, r.dpopNonce, "the use_dpop_nonce answer carries DPoP-Nonce")
	assert.Empty(t, r.AccessToken)

	// The refused request used up its client assertion: oidc-provider authenticates the
	// client (and records the assertion's jti) before it checks the proof. A client
	// must make a fresh assertion for the nonce retry.
	reused := post(t, s, tokenRequest{form: first, proofer: p, nonce: r.dpopNonce})
	assert.Equal(t, http.StatusUnauthorized, reused.status)
	assert.Equal(t, "invalid_client", reused.Error)

	ok := post(t, s, tokenRequest{form: pkjwtForm(t, s, s.Resource), proofer: p, nonce: r.dpopNonce})
	require.Equal(t, http.StatusOK, ok.status, "error %q: %s", ok.Error, ok.Description)
	assert.Equal(t, "DPoP", ok.TokenType, "RFC 9449 §5: a DPoP-bound token's token_type is DPoP")
	assert.Equal(t, 300, ok.ExpiresIn)
	assert.Equal(t, "payments:charge", ok.Scope)
	claims := verifyToken(t, s, ok.AccessToken, s.Resource, s.PKJWTClientID, p)
	assert.WithinDuration(t, time.Now().Add(5*time.Minute), claims.Expiry, 10*time.Second)

	t.Run("short resource", func(t *testing.T) {
		ok := post(t, s, tokenRequest{form: pkjwtForm(t, s, s.ShortResource), proofer: p, nonce: r.dpopNonce})
		require.Equal(t, http.StatusOK, ok.status, "error %q: %s", ok.Error, ok.Description)
		assert.Equal(t, 10, ok.ExpiresIn)
		verifyToken(t, s, ok.AccessToken, s.ShortResource, s.PKJWTClientID, p)
	})

	t.Run("token endpoint as audience", func(t *testing.T) {
		form := pkjwtForm(t, s, s.Resource)
		form.Set("client_assertion", assertion(t, s, s.TokenEndpoint))
		ok := post(t, s, tokenRequest{form: form, proofer: p, nonce: r.dpopNonce})
		assert.Equal(t, http.StatusOK, ok.status, "error %q: %s", ok.Error, ok.Description)
	})
}

// TestClientCredentialsBasicDPoP: the client_secret_basic client goes through the same
// nonce retry; without any proof it is refused, since its tokens must be DPoP-bound.
func TestClientCredentialsBasicDPoP(t *testing.T) {
	s := oidcop.Require(t)
	p := newProofer(t)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"payments:charge payments:read"}}
	basic := [2]string{s.BasicClientID, s.BasicClientSecret}

	noProof := post(t, s, tokenRequest{form: form, basic: basic})
	assert.Equal(t, http.StatusBadRequest, noProof.status)
	// oidc-provider answers invalid_grant ("DPoP proof JWT not provided"): a client must
	// not expect invalid_dpop_proof here.
	assert.Equal(t, "invalid_grant", noProof.Error)
	assert.Empty(t, noProof.AccessToken)

	r := post(t, s, tokenRequest{form: form, basic: basic, proofer: p})
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "use_dpop_nonce", r.Error)
	require.NotEmpty(t, r.dpopNonce)

	ok := post(t, s, tokenRequest{form: form, basic: basic, proofer: p, nonce: r.dpopNonce})
	require.Equal(t, http.StatusOK, ok.status, "error %q: %s", ok.Error, ok.Description)
	assert.Equal(t, "DPoP", ok.TokenType)
	// No resource parameter: the token is for the default resource.
	claims := verifyToken(t, s, ok.AccessToken, s.Resource, s.BasicClientID, p)
	assert.True(t, claims.HasScope("payments:read"))

	wrong := post(t, s, tokenRequest{form: form, basic: [2]string{s.BasicClientID, "not-the-secret"}, proofer: p, nonce: r.dpopNonce})
	assert.Equal(t, http.StatusUnauthorized, wrong.status)
	assert.Equal(t, "invalid_client", wrong.Error)
}

// TestClientCredentialsTLSClientAuthDPoP: the tls_client_auth client (RFC 8705 §2.1.2),
// identified by the SPIFFE ID in its certificate's URI SAN, goes through the nonce retry
// and gets a DPoP-bound token (not certificate-bound: oidc-provider lets a client require
// one proof-of-possession mechanism only).
func TestClientCredentialsTLSClientAuthDPoP(t *testing.T) {
	s := oidcop.Require(t)
	p := newProofer(t)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.MTLSClientID}, "scope": {"payments:charge"}}
	assert.Equal(t, "spiffe://ztkit.test/oidc-client", s.MTLSURI)

	noCert := post(t, s, tokenRequest{form: form, proofer: p})
	assert.Equal(t, http.StatusUnauthorized, noCert.status)
	assert.Equal(t, "invalid_client", noCert.Error, noCert.Description)

	mtls := s.MTLSHTTPClient()
	r := post(t, s, tokenRequest{form: form, proofer: p, client: mtls})
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "use_dpop_nonce", r.Error)
	require.NotEmpty(t, r.dpopNonce)

	ok := post(t, s, tokenRequest{form: form, proofer: p, nonce: r.dpopNonce, client: mtls})
	require.Equal(t, http.StatusOK, ok.status, "error %q: %s", ok.Error, ok.Description)
	assert.Equal(t, "DPoP", ok.TokenType)
	claims := verifyToken(t, s, ok.AccessToken, s.Resource, s.MTLSClientID, p)
	assert.Empty(t, claims.Confirmation.X5TS256)

	// A certificate from another CA with the same SPIFFE ID is not the client.
	other := otherCACert(t, s.MTLSCert.Leaf.URIs[0])
	c := s.MTLSHTTPClient()
	c.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{other}
	foreign := post(t, s, tokenRequest{form: form, proofer: p, nonce: r.dpopNonce, client: c})
	assert.Equal(t, http.StatusUnauthorized, foreign.status)
	assert.Equal(t, "invalid_client", foreign.Error, foreign.Description)
}

// otherCACert makes a self-signed client certificate with the URI SAN u.
func otherCACert(t *testing.T, u *url.URL) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		URIs:         []*url.URL{u},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
