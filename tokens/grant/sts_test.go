package grant_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/grant"
	"github.com/ztkit/ztkit/tokens/sts"
)

// The tests in this file run the client against ztkit's own token service
// (package tokens/sts) on a real TLS socket with SPIFFE identities, DPoP
// and server nonces required.

var (
	stsTD         = spiffeid.RequireTrustDomainFromString("shop.test")
	stsID         = spiffeid.RequireFromPath(stsTD, "/sts")
	stsCheckout   = spiffeid.RequireFromPath(stsTD, "/checkout")
	stsStorefront = spiffeid.RequireFromPath(stsTD, "/storefront")
	stsPayments   = spiffeid.RequireFromPath(stsTD, "/payments")
)

const (
	checkoutAud = "https://checkout.shop.test"
	paymentsAud = "https://payments.shop.test"
)

type stsRig struct {
	issuerID string // the token service's URL, its issuer identifier
	spiffe   *spiffetest.Issuer
	issuer   *tokens.Issuer
	keys     *tokens.KeySet
	endpoint string
	requests atomic.Int64
	// reportsKey signs the private_key_jwt assertions of the client "reports".
	reportsKey *ecdsa.PrivateKey
}

func newSTSRig(t *testing.T) *stsRig {
	t.Helper()
	si, err := spiffetest.New(context.Background(), stsTD)
	require.NoError(t, err)
	t.Cleanup(func() { _ = si.Close() })
	svid, err := si.IssueX509SVID(stsID)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(nil)
	srv.TLS = tlsconfig.TLSServerConfig(svid)
	srv.TLS.GetCertificate = nil
	raw := make([][]byte, len(svid.Certificates))
	for i, c := range svid.Certificates {
		raw[i] = c.Raw
	}
	srv.TLS.Certificates = []tls.Certificate{{Certificate: raw, PrivateKey: svid.PrivateKey, Leaf: svid.Certificates[0]}}
	srv.TLS.ClientAuth = tls.RequestClientCert // the token service verifies X.509-SVIDs itself
	srv.StartTLS()
	t.Cleanup(srv.Close)

	sk, err := tokens.NewSigningKey(newKey(t), "")
	require.NoError(t, err)
	keys, err := tokens.NewKeySet(sk)
	require.NoError(t, err)
	issuer, err := tokens.NewIssuer(srv.URL, keys)
	require.NoError(t, err)
	subjects, err := tokens.NewVerifier(keys, srv.URL, []string{checkoutAud})
	require.NoError(t, err)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	nonces, err := dpop.NewNonces(secret)
	require.NoError(t, err)
	rg := &stsRig{issuerID: srv.URL, spiffe: si, issuer: issuer, keys: keys, endpoint: srv.URL + "/token"}

	reportsKey := newKey(t)
	rg.reportsKey = reportsKey
	reportsPub, err := tokens.NewSigningKey(reportsKey, "")
	require.NoError(t, err)
	clients, err := sts.NewStaticClients(
		sts.Client{ID: "payments", SPIFFEID: stsPayments, Audiences: []string{"https://processor.shop.test"}, Scopes: []string{"charge"}},
		sts.Client{ID: "reports", Keys: []*tokens.PublicKey{reportsPub.Public()}, Audiences: []string{paymentsAud}, Scopes: []string{"orders:read"}},
	)
	require.NoError(t, err)
	server, err := sts.New(rg.issuerID, rg.endpoint, issuer,
		sts.WithTokenExchange(subjects, sts.ActorPolicy{ID: stsCheckout, Audiences: []string{paymentsAud}, Scopes: []string{"payments:charge"}}),
		sts.WithJWTSVIDs(si.JWTBundle(), stsID.String()),
		sts.WithX509Bundles(si.X509Bundle()),
		sts.WithClientCredentials(clients),
		sts.WithNonces(nonces))
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/.well-known/oauth-authorization-server", server.MetadataHandler())
	mux.Handle("/token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rg.requests.Add(1)
		server.ServeHTTP(w, r)
	}))
	srv.Config.Handler = mux
	return rg
}

// client returns an HTTP client that verifies the token service's
// X.509-SVID and, unless id is zero, presents one for id.
func (rg *stsRig) client(t *testing.T, id spiffeid.ID) *http.Client {
	t.Helper()
	cfg := tlsconfig.TLSClientConfig(rg.spiffe.X509Bundle(), tlsconfig.AuthorizeID(stsID))
	if !id.IsZero() {
		svid, err := rg.spiffe.IssueX509SVID(id)
		require.NoError(t, err)
		cfg = tlsconfig.MTLSClientConfig(svid, rg.spiffe.X509Bundle(), tlsconfig.AuthorizeID(stsID))
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
}

func (rg *stsRig) customerToken(t *testing.T) string {
	t.Helper()
	tok, err := rg.issuer.Issue(context.Background(), tokens.TokenRequest{
		Subject: "ada", ClientID: "storefront", Audience: []string{checkoutAud}, Scopes: []string{"payments:charge", "orders:read"},
	})
	require.NoError(t, err)
	return tok
}

func (rg *stsRig) jwtSVID(id spiffeid.ID) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		return rg.spiffe.IssueJWTSVID(id, []string{stsID.String()})
	}
}

func (rg *stsRig) verify(t *testing.T, tok string, aud string) *tokens.Claims {
	t.Helper()
	v, err := tokens.NewVerifier(rg.keys, rg.issuerID, []string{aud})
	require.NoError(t, err)
	c, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	return c
}

func TestSTSExchangeJWTSVIDActor(t *testing.T) {
	rg := newSTSRig(t)
	proofer := newProofer(t)
	x, err := grant.NewExchanger(rg.endpoint, "", grant.NoClientAuth(), grant.WithHTTPClient(rg.client(t, spiffeid.ID{})),
		grant.WithDPoP(proofer), grant.WithAudience(paymentsAud), grant.WithScopes("payments:charge"),
		grant.WithActorToken(rg.jwtSVID(stsCheckout), ""))
	require.NoError(t, err)
	defer x.Close()
	customer := rg.customerToken(t)
	tok, err := x.Exchange(context.Background(), customer)
	require.NoError(t, err)
	assert.EqualValues(t, 2, rg.requests.Load(), "the nonce retry")
	assert.Equal(t, grant.TokenTypeDPoP, tok.TokenType)
	assert.Equal(t, "urn:ietf:params:oauth:token-type:access_token", tok.IssuedTokenType)
	c := rg.verify(t, tok.AccessToken, paymentsAud)
	assert.Equal(t, "ada", c.Subject)
	require.NotNil(t, c.Actor)
	assert.Equal(t, stsCheckout.String(), c.Actor.Subject)
	assert.Equal(t, proofer.Thumbprint(), c.Confirmation.JKT)
	assert.Equal(t, []string{"payments:charge"}, c.Scopes)

	_, err = x.Exchange(context.Background(), customer)
	require.NoError(t, err)
	assert.EqualValues(t, 2, rg.requests.Load(), "cached")
}

func TestSTSExchangeMTLSActor(t *testing.T) {
	rg := newSTSRig(t)
	proofer := newProofer(t)
	x, err := grant.NewExchanger(rg.endpoint, stsCheckout.String(), grant.TLSClientAuth(), grant.WithHTTPClient(rg.client(t, stsCheckout)),
		grant.WithDPoP(proofer), grant.WithAudience(paymentsAud), grant.WithScopes("payments:charge"))
	require.NoError(t, err)
	defer x.Close()
	tok, err := x.Exchange(context.Background(), rg.customerToken(t))
	require.NoError(t, err)
	c := rg.verify(t, tok.AccessToken, paymentsAud)
	assert.Equal(t, stsCheckout.String(), c.Actor.Subject)
}

func TestSTSExchangeRefusals(t *testing.T) {
	rg := newSTSRig(t)
	cases := map[string]struct {
		actor spiffeid.ID
		opts  []grant.Option
		code  string
	}{
		"storefront acting for the customer": {stsStorefront, nil, "invalid_request"},
		"widened scope":                      {stsCheckout, []grant.Option{grant.WithScopes("payments:refund")}, "invalid_scope"},
		"foreign audience":                   {stsCheckout, []grant.Option{grant.WithAudience("https://admin.shop.test")}, "invalid_target"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			opts := append([]grant.Option{grant.WithHTTPClient(rg.client(t, spiffeid.ID{})), grant.WithDPoP(newProofer(t)),
				grant.WithActorToken(rg.jwtSVID(c.actor), "")}, c.opts...)
			x, err := grant.NewExchanger(rg.endpoint, "", grant.NoClientAuth(), opts...)
			require.NoError(t, err)
			defer x.Close()
			_, err = x.Exchange(context.Background(), rg.customerToken(t))
			var e *grant.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, c.code, e.Code, e.Description)
		})
	}
}

func TestSTSClientCredentials(t *testing.T) {
	rg := newSTSRig(t)
	t.Run("private_key_jwt", func(t *testing.T) {
		auth, err := grant.PrivateKeyJWT(rg.reportsKey, "")
		require.NoError(t, err)
		proofer := newProofer(t)
		cc, err := grant.NewClientCredentials(rg.endpoint, "reports", auth, grant.WithHTTPClient(rg.client(t, spiffeid.ID{})),
			grant.WithDPoP(proofer), grant.WithResource(paymentsAud), grant.WithScopes("orders:read"))
		require.NoError(t, err)
		src, err := grant.NewSource(cc)
		require.NoError(t, err)
		defer src.Close()
		tok, err := src.AccessToken(context.Background())
		require.NoError(t, err)
		c := rg.verify(t, tok, paymentsAud)
		assert.Equal(t, proofer.Thumbprint(), c.Confirmation.JKT)
	})
	t.Run("tls_client_auth", func(t *testing.T) {
		proofer := newProofer(t)
		cc, err := grant.NewClientCredentials(rg.endpoint, "payments", grant.TLSClientAuth(), grant.WithHTTPClient(rg.client(t, stsPayments)),
			grant.WithDPoP(proofer), grant.WithScopes("charge"))
		require.NoError(t, err)
		tok, err := cc.Fetch(context.Background())
		require.NoError(t, err)
		c := rg.verify(t, tok.AccessToken, "https://processor.shop.test")
		assert.Equal(t, proofer.Thumbprint(), c.Confirmation.JKT)
	})
}

// A client configures itself from the token service's RFC 8414 metadata.
func TestSTSDiscover(t *testing.T) {
	rg := newSTSRig(t)
	hc := rg.client(t, stsCheckout)
	m, err := grant.Discover(context.Background(), rg.issuerID, grant.WithHTTPClient(hc))
	require.NoError(t, err)
	assert.Equal(t, rg.endpoint, m.TokenEndpoint)
	assert.Contains(t, m.GrantTypesSupported, "urn:ietf:params:oauth:grant-type:token-exchange")
	assert.Contains(t, m.DPoPSigningAlgValuesSupported, "ES256")
	x, err := grant.NewExchanger(m.TokenEndpoint, stsCheckout.String(), grant.TLSClientAuth(), grant.WithHTTPClient(hc),
		grant.WithDPoP(newProofer(t)), grant.WithAudience(paymentsAud))
	require.NoError(t, err)
	defer x.Close()
	_, err = x.Exchange(context.Background(), rg.customerToken(t))
	require.NoError(t, err)
}
