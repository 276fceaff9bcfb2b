package grant_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/grant"
)

// secret is a client secret with characters that RFC 6749 §2.3.1's
// form-urlencoding changes (":" "+" " " "%" and non-ASCII).
const secret = "s3:cr+t %é"

func basicAuth() grant.ClientAuth {
	return grant.ClientSecretBasic(grant.StaticSecret{Secret: secrets.NewSecret(map[string]string{"client_secret": secret}, secrets.Lease{})}, "client_secret")
}

func TestClientCredentialsSecretBasicDPoP(t *testing.T) {
	p := newPeer(t, false, func(p *peer) { p.secret, p.clientID = secret, "check out:1" })
	proofer := newProofer(t)
	cc, err := grant.NewClientCredentials(p.url, "check out:1", basicAuth(), grant.WithInsecureHTTP(),
		grant.WithDPoP(proofer), grant.WithScopes("payments:charge", "orders:read"), grant.WithResource("https://payments.shop.example"))
	require.NoError(t, err)

	tok, err := cc.Fetch(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "at-1", tok.AccessToken)
	assert.Equal(t, grant.TokenTypeDPoP, tok.TokenType)
	assert.Equal(t, []string{"payments:charge", "orders:read"}, tok.Scopes)
	assert.Equal(t, 300.0, tok.Expiry.Sub(tok.IssuedAt).Seconds())
	f := p.form(0)
	assert.Equal(t, "client_credentials", f.Get("grant_type"))
	assert.Equal(t, "payments:charge orders:read", f.Get("scope"))
	assert.Equal(t, "https://payments.shop.example", f.Get("resource"))
	assert.Empty(t, f.Get("client_secret"), "the secret goes in the Authorization header only")
}

func TestClientSecretBasicRefusedSecretNotEchoed(t *testing.T) {
	p := newPeer(t, false, func(p *peer) { p.secret = "another" })
	cc, err := grant.NewClientCredentials(p.url, "checkout", basicAuth(), grant.WithInsecureHTTP())
	require.NoError(t, err)
	_, err = cc.Fetch(context.Background())
	require.ErrorIs(t, err, grant.ErrRefused)
	var e *grant.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "invalid_client", e.Code)
	assert.Equal(t, http.StatusUnauthorized, e.StatusCode)
	assert.False(t, strings.Contains(err.Error(), secret), "the error names no secret")
}

func TestClientSecretBasicSecretUnreadable(t *testing.T) {
	p := newPeer(t, false, nil)
	for name, src := range map[string]grant.SecretSource{
		"no secret":     grant.StaticSecret{},
		"missing field": grant.StaticSecret{Secret: secrets.NewSecret(map[string]string{"password": secret}, secrets.Lease{})},
	} {
		t.Run(name, func(t *testing.T) {
			cc, err := grant.NewClientCredentials(p.url, "checkout", grant.ClientSecretBasic(src, "client_secret"), grant.WithInsecureHTTP())
			require.NoError(t, err)
			_, err = cc.Fetch(context.Background())
			assert.ErrorIs(t, err, grant.ErrClientAuth)
		})
	}
	assert.Zero(t, p.requests.Load(), "nothing is sent without credentials")
}

func TestPrivateKeyJWT(t *testing.T) {
	key := newKey(t)
	p := newPeer(t, false, func(p *peer) { p.jwtKey = key.Public() })
	p2 := requireNonces(t)
	p2(p)
	auth, err := grant.PrivateKeyJWT(key, "")
	require.NoError(t, err)
	cc, err := grant.NewClientCredentials(p.url, "checkout", auth, grant.WithInsecureHTTP(), grant.WithDPoP(newProofer(t)))
	require.NoError(t, err)
	for range 2 {
		_, err := cc.Fetch(context.Background())
		require.NoError(t, err)
	}
	// The nonce retry sent a new assertion: the peer refuses a replayed jti.
	require.EqualValues(t, 3, p.requests.Load())
	seen := map[string]bool{}
	for i := range 3 {
		f := p.form(i)
		assert.Equal(t, "checkout", f.Get("client_id"))
		a := f.Get("client_assertion")
		assert.False(t, seen[a], "assertion %d is fresh", i)
		seen[a] = true
	}
}

func TestPrivateKeyJWTAudience(t *testing.T) {
	key := newKey(t)
	p := newPeer(t, false, func(p *peer) { p.jwtKey = key.Public() })
	auth, err := grant.PrivateKeyJWT(key, "", grant.WithAssertionAudience("https://id.shop.example"))
	require.NoError(t, err)
	cc, err := grant.NewClientCredentials(p.url, "checkout", auth, grant.WithInsecureHTTP())
	require.NoError(t, err)
	_, err = cc.Fetch(context.Background())
	assert.ErrorIs(t, err, grant.ErrRefused, "the peer wants its token endpoint as aud")
}

func TestTLSClientAuth(t *testing.T) {
	p := newPeer(t, true, func(p *peer) { p.mtls = true })
	p.srv.TLS.ClientAuth = tls.RequestClientCert
	cert := p.srv.TLS.Certificates[0] // any certificate will do for the peer
	roots := x509.NewCertPool()
	roots.AddCert(p.srv.Certificate())
	withCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}}}

	cc, err := grant.NewClientCredentials(p.url, "checkout", grant.TLSClientAuth(), grant.WithHTTPClient(withCert))
	require.NoError(t, err)
	tok, err := cc.Fetch(context.Background())
	require.NoError(t, err)
	assert.Equal(t, grant.TokenTypeBearer, tok.TokenType)

	without, err := grant.NewClientCredentials(p.url, "checkout", grant.TLSClientAuth(), grant.WithHTTPClient(p.srv.Client()))
	require.NoError(t, err)
	_, err = without.Fetch(context.Background())
	assert.ErrorIs(t, err, grant.ErrRefused)
}

func TestNonceRetry(t *testing.T) {
	p := newPeer(t, false, func(p *peer) { p.secret = secret })
	requireNonces(t)(p)
	cc, err := grant.NewClientCredentials(p.url, "checkout", basicAuth(), grant.WithInsecureHTTP(), grant.WithDPoP(newProofer(t)))
	require.NoError(t, err)
	_, err = cc.Fetch(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 2, p.requests.Load(), "refused without a nonce, then sent again once")
	_, err = cc.Fetch(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 3, p.requests.Load(), "the nonce is remembered")
}

// A server that answers use_dpop_nonce every time gets exactly two requests.
func TestNonceRetryExactlyOnce(t *testing.T) {
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("DPoP-Nonce", "nonce-"+strings.Repeat("x", n))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"use_dpop_nonce"}`))
	}))
	defer srv.Close()
	cc, err := grant.NewClientCredentials(srv.URL, "c", grant.TLSClientAuth(), grant.WithInsecureHTTP(), grant.WithDPoP(newProofer(t)))
	require.NoError(t, err)
	_, err = cc.Fetch(context.Background())
	var e *grant.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "use_dpop_nonce", e.Code)
	assert.Equal(t, 2, n)
}

// A use_dpop_nonce without a new nonce, or without a proof, is not retried.
func TestNonceRetryNeedsNewNonce(t *testing.T) {
	for name, nonce := range map[string]string{"no nonce": "", "invalid nonce": "a b"} {
		t.Run(name, func(t *testing.T) {
			var n int
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n++
				if nonce != "" {
					w.Header().Set("DPoP-Nonce", nonce)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"use_dpop_nonce"}`))
			}))
			defer srv.Close()
			cc, err := grant.NewClientCredentials(srv.URL, "c", grant.TLSClientAuth(), grant.WithInsecureHTTP(), grant.WithDPoP(newProofer(t)))
			require.NoError(t, err)
			_, err = cc.Fetch(context.Background())
			assert.ErrorIs(t, err, grant.ErrRefused)
			assert.Equal(t, 1, n)
		})
	}
}

func TestTokenTypeMustMatchProof(t *testing.T) {
	t.Run("Bearer for a proof", func(t *testing.T) {
		p := newPeer(t, false, func(p *peer) { p.mtls, p.issuedType = false, "Bearer"; p.secret = secret })
		cc, err := grant.NewClientCredentials(p.url, "checkout", basicAuth(), grant.WithInsecureHTTP(), grant.WithDPoP(newProofer(t)))
		require.NoError(t, err)
		_, err = cc.Fetch(context.Background())
		assert.ErrorIs(t, err, grant.ErrTokenType)
	})
	t.Run("DPoP without a proof", func(t *testing.T) {
		p := newPeer(t, false, func(p *peer) { p.issuedType = "DPoP"; p.secret = secret })
		cc, err := grant.NewClientCredentials(p.url, "checkout", basicAuth(), grant.WithInsecureHTTP())
		require.NoError(t, err)
		_, err = cc.Fetch(context.Background())
		assert.ErrorIs(t, err, grant.ErrTokenType)
	})
	t.Run("case-insensitive", func(t *testing.T) {
		p := newPeer(t, false, func(p *peer) { p.issuedType = "dpop"; p.secret = secret })
		cc, err := grant.NewClientCredentials(p.url, "checkout", basicAuth(), grant.WithInsecureHTTP(), grant.WithDPoP(newProofer(t)))
		require.NoError(t, err)
		tok, err := cc.Fetch(context.Background())
		require.NoError(t, err)
		assert.Equal(t, grant.TokenTypeDPoP, tok.TokenType)
	})
}

func TestDefaultLifetime(t *testing.T) {
	p := newPeer(t, false, func(p *peer) { p.lifetime = 0; p.secret = secret })
	cc, err := grant.NewClientCredentials(p.url, "checkout", basicAuth(), grant.WithInsecureHTTP())
	require.NoError(t, err)
	tok, err := cc.Fetch(context.Background())
	require.NoError(t, err)
	assert.Equal(t, grant.DefaultLifetime, tok.Expiry.Sub(tok.IssuedAt))
	assert.Nil(t, tok.Scopes)
}

func TestNewClientCredentialsRefuses(t *testing.T) {
	cases := map[string]struct {
		url  string
		auth grant.ClientAuth
		opts []grant.Option
	}{
		"http":              {"http://id.example/token", grant.TLSClientAuth(), nil},
		"relative":          {"/token", grant.TLSClientAuth(), nil},
		"user info":         {"https://u:p@id.example/token", grant.TLSClientAuth(), nil},
		"fragment":          {"https://id.example/token#x", grant.TLSClientAuth(), nil},
		"no auth":           {"https://id.example/token", nil, nil},
		"secret source nil": {"https://id.example/token", grant.ClientSecretBasic(nil, "x"), nil},
		"bad scope":         {"https://id.example/token", grant.TLSClientAuth(), []grant.Option{grant.WithScopes("a b")}},
		"bad resource":      {"https://id.example/token", grant.TLSClientAuth(), []grant.Option{grant.WithResource("payments")}},
		"exchange option":   {"https://id.example/token", grant.TLSClientAuth(), []grant.Option{grant.WithCacheSize(3)}},
		"lifetime":          {"https://id.example/token", grant.TLSClientAuth(), []grant.Option{grant.WithDefaultLifetime(0)}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := grant.NewClientCredentials(c.url, "checkout", c.auth, c.opts...)
			assert.ErrorIs(t, err, grant.ErrInvalidConfig)
		})
	}
	_, err := grant.NewClientCredentials("https://id.example/token", "", grant.TLSClientAuth())
	assert.ErrorIs(t, err, grant.ErrInvalidConfig)
	_, err = grant.PrivateKeyJWT(nil, "")
	assert.ErrorIs(t, err, grant.ErrInvalidConfig)
	_, err = grant.PrivateKeyJWT(newKey(t), "HS256")
	assert.ErrorIs(t, err, grant.ErrInvalidConfig)
	var zero *grant.ClientCredentials
	_, err = zero.Fetch(context.Background())
	assert.ErrorIs(t, err, grant.ErrInvalidConfig)
}

func TestUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	cc, err := grant.NewClientCredentials(u+"/token", "c", grant.TLSClientAuth(), grant.WithInsecureHTTP())
	require.NoError(t, err)
	_, err = cc.Fetch(context.Background())
	assert.ErrorIs(t, err, grant.ErrUnavailable)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = cc.Fetch(ctx)
	assert.True(t, errors.Is(err, context.Canceled))
}

// The proof's htu is the endpoint; redirects are not followed.
func TestNoRedirect(t *testing.T) {
	var hit bool
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit = true }))
	defer other.Close()
	srv := httptest.NewServer(http.RedirectHandler(other.URL, http.StatusTemporaryRedirect))
	defer srv.Close()
	cc, err := grant.NewClientCredentials(srv.URL, "c", basicAuth(), grant.WithInsecureHTTP(), grant.WithDPoP(newProofer(t)))
	require.NoError(t, err)
	_, err = cc.Fetch(context.Background())
	assert.ErrorIs(t, err, grant.ErrUnavailable)
	assert.False(t, hit, "the credentials did not follow the redirect")
}

var _ dpop.TokenSource = (*grant.Source)(nil)

func TestClientAuthPrints(t *testing.T) {
	pk, err := grant.PrivateKeyJWT(newKey(t), "")
	require.NoError(t, err)
	for want, a := range map[string]grant.ClientAuth{
		"private_key_jwt": pk, "tls_client_auth": grant.TLSClientAuth(), "client_secret_basic": basicAuth(), "none": grant.NoClientAuth(),
	} {
		var out bytes.Buffer
		fmt.Fprintf(&out, "%v|%+v|%#v|%s", a, a, a, a)
		assert.Equal(t, want+"|"+want+"|"+want+"|"+want, out.String())
		out.Reset()
		slog.New(slog.NewTextHandler(&out, nil)).Info("auth", "method", a)
		assert.Contains(t, out.String(), "method="+want)
		assert.NotContains(t, out.String(), secret)
	}
}
