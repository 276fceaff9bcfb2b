package sts_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/sts"
)

var (
	td           = spiffeid.RequireTrustDomainFromString("shop.test")
	stsID        = spiffeid.RequireFromPath(td, "/sts")
	checkoutID   = spiffeid.RequireFromPath(td, "/checkout")
	storefrontID = spiffeid.RequireFromPath(td, "/storefront")
	paymentsID   = spiffeid.RequireFromPath(td, "/payments")
)

const (
	issuerURL    = "https://id.shop.test"
	checkoutAud  = "https://checkout.shop.test"
	paymentsAud  = "https://payments.shop.test"
	backendAud   = "https://backend.example.com/api" // verbatim from RFC 8693 §2.3, Figure 2 (resource)
	cooperation  = "urn:example:cooperation-context" // verbatim from RFC 8693 Appendix A.1.1 and A.2.1 (audience)
	customer     = "bdc@example.com"                 // verbatim from RFC 8693 §2.3, Figure 3 (the issued token's sub)
	jwtBearer    = sts.ClientAssertionTypeJWTBearer
	formURLEnc   = "application/x-www-form-urlencoded"
	exchangeForm = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
)

// rig is a token service on a real TLS socket, with SPIFFE identities from
// spiffetest, and what a test needs to call it.
type rig struct {
	t        testing.TB
	spiffe   *spiffetest.Issuer
	keys     *tokens.KeySet
	issuer   *tokens.Issuer
	subjects *tokens.Verifier
	server   *sts.Server
	srv      *httptest.Server
	endpoint string
	// clientKey signs private_key_jwt assertions for the client "reports".
	clientKey *ecdsa.PrivateKey
}

// testWriter writes to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func rawCerts(certs []*x509.Certificate) [][]byte {
	out := make([][]byte, len(certs))
	for i, c := range certs {
		out[i] = c.Raw
	}
	return out
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// newRig starts the token service with opts added to the defaults.
func newRig(t testing.TB, opts ...sts.Option) *rig {
	t.Helper()
	return newRigWithClientKey(t, newKey(t), opts...)
}

// newRigWithClientKey is newRig with the key of the private_key_jwt client
// "reports" given, so that replicas can share it.
func newRigWithClientKey(t testing.TB, clientKey *ecdsa.PrivateKey, opts ...sts.Option) *rig {
	t.Helper()
	ctx := context.Background()
	si, err := spiffetest.New(ctx, td)
	require.NoError(t, err)
	t.Cleanup(func() { _ = si.Close() })
	sk, err := tokens.NewSigningKey(newKey(t), "")
	require.NoError(t, err)
	keys, err := tokens.NewKeySet(sk)
	require.NoError(t, err)
	issuer, err := tokens.NewIssuer(issuerURL, keys)
	require.NoError(t, err)
	// Subject tokens are the customer's tokens for checkout, verified as
	// checkout verifies them.
	subjects, err := tokens.NewVerifier(keys, issuerURL, []string{checkoutAud})
	require.NoError(t, err)

	rg := &rig{t: t, spiffe: si, keys: keys, issuer: issuer, subjects: subjects, clientKey: clientKey}
	svid, err := si.IssueX509SVID(stsID)
	require.NoError(t, err)
	rg.srv = httptest.NewUnstartedServer(nil)
	rg.srv.TLS = tlsconfig.TLSServerConfig(svid)
	// httptest fills an empty Certificates with its own, which a client that
	// sends no SNI (an IP address) would get: present the SVID instead.
	rg.srv.TLS.GetCertificate = nil
	rg.srv.TLS.Certificates = []tls.Certificate{{Certificate: rawCerts(svid.Certificates), PrivateKey: svid.PrivateKey, Leaf: svid.Certificates[0]}}
	rg.srv.TLS.ClientAuth = tls.RequestClientCert // the token service verifies X.509-SVIDs itself
	// The server's own log (handshakes a test's client aborts) goes to the
	// test log, shown on failure.
	rg.srv.Config.ErrorLog = log.New(testWriter{t}, "", 0)
	rg.srv.StartTLS()
	t.Cleanup(rg.srv.Close)
	rg.endpoint = rg.srv.URL + "/token"

	clientPub, err := tokens.NewSigningKey(rg.clientKey, "")
	require.NoError(t, err)
	clients, err := sts.NewStaticClients(
		sts.Client{ID: "payments", SPIFFEID: paymentsID, Audiences: []string{"https://processor.shop.test"}, Scopes: []string{"charge", "refund"}},
		sts.Client{ID: "reports", Keys: []*tokens.PublicKey{clientPub.Public()}, Audiences: []string{checkoutAud, paymentsAud}, Scopes: []string{"orders:read"}},
	)
	require.NoError(t, err)
	all := append([]sts.Option{
		sts.WithTokenExchange(subjects,
			sts.ActorPolicy{ID: checkoutID, Audiences: []string{paymentsAud, backendAud, cooperation}, Scopes: []string{"payments:charge", "orders", "profile", "history", "status", "feed", "api"}},
		),
		sts.WithJWTSVIDs(si.JWTBundle(), stsID.String()),
		sts.WithX509Bundles(si.X509Bundle()),
		sts.WithClientCredentials(clients),
		sts.WithJWKSURI(issuerURL + "/.well-known/jwks.json"),
	}, opts...)
	rg.server, err = sts.New(issuerURL, rg.endpoint, issuer, all...)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/token", rg.server)
	mux.Handle("/.well-known/oauth-authorization-server", rg.server.MetadataHandler())
	rg.srv.Config.Handler = mux
	return rg
}

// client returns an HTTP client that verifies the token service's
// X.509-SVID and, unless id is zero, presents an X.509-SVID for id.
func (rg *rig) client(id spiffeid.ID) *http.Client {
	rg.t.Helper()
	var cfg *tls.Config
	if id.IsZero() {
		cfg = tlsconfig.TLSClientConfig(rg.spiffe.X509Bundle(), tlsconfig.AuthorizeID(stsID))
	} else {
		svid, err := rg.spiffe.IssueX509SVID(id)
		require.NoError(rg.t, err)
		cfg = tlsconfig.MTLSClientConfig(svid, rg.spiffe.X509Bundle(), tlsconfig.AuthorizeID(stsID))
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
}

// customerToken is an access token for the customer, for checkout, as the
// identity service would issue it, with the request's fields on top.
func (rg *rig) customerToken(tr tokens.TokenRequest) string {
	rg.t.Helper()
	if tr.Subject == "" {
		tr.Subject = customer
	}
	if tr.ClientID == "" {
		tr.ClientID = "storefront"
	}
	if tr.Audience == nil {
		tr.Audience = []string{checkoutAud}
	}
	tok, err := rg.issuer.Issue(context.Background(), tr)
	require.NoError(rg.t, err)
	return tok
}

func (rg *rig) jwtSVID(id spiffeid.ID, aud string) string {
	rg.t.Helper()
	tok, err := rg.spiffe.IssueJWTSVID(id, []string{aud})
	require.NoError(rg.t, err)
	return tok
}

func newProofer(t testing.TB) *dpop.Proofer {
	p, err := dpop.NewProofer(newKey(t), "")
	require.NoError(t, err)
	return p
}

func proof(t testing.TB, p *dpop.Proofer, htu, nonce string) string {
	s, err := p.Proof(dpop.ProofRequest{Method: http.MethodPost, URL: htu, Nonce: nonce})
	require.NoError(t, err)
	return s
}

// response is a token endpoint answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
}

// post sends a token request with body (the form as written) and headers
// ("DPoP", "Authorization", ...).
func (rg *rig) post(c *http.Client, body string, headers ...string) response {
	rg.t.Helper()
	req, err := http.NewRequest(http.MethodPost, rg.endpoint, strings.NewReader(body))
	require.NoError(rg.t, err)
	req.Header.Set("Content-Type", formURLEnc)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return rg.do(c, req)
}

func (rg *rig) do(c *http.Client, req *http.Request) response {
	rg.t.Helper()
	resp, err := c.Do(req)
	require.NoError(rg.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(rg.t, err)
	r := response{status: resp.StatusCode, header: resp.Header}
	if len(data) > 0 {
		require.NoError(rg.t, json.Unmarshal(data, &r.body), "response is JSON")
	}
	return r
}

// claims decodes a JWT's payload without verifying it (the test verifies
// separately where it matters).
func claims(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	return m
}

// assertion is a private_key_jwt client assertion (RFC 7523 §3) with the
// given claims, signed by key.
func assertion(t testing.TB, key *ecdsa.PrivateKey, c map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	require.NoError(t, err)
	payload, err := json.Marshal(c)
	require.NoError(t, err)
	jws, err := signer.Sign(payload)
	require.NoError(t, err)
	s, err := jws.CompactSerialize()
	require.NoError(t, err)
	return s
}
