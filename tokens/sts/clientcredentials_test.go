package sts_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/sts"
)

// tls_client_auth (RFC 8705 §2.1): client_id in the form, the X.509-SVID
// whose SPIFFE ID is registered for it; without a DPoP proof the token is
// bound to that certificate (RFC 8705 §3.1: cnf.x5t#S256 is the base64url
// SHA-256 of the certificate's DER) and its token_type is Bearer.
func TestClientCredentialsTLSClientAuth(t *testing.T) {
	rg := newRig(t)
	svid, err := rg.spiffe.IssueX509SVID(paymentsID)
	require.NoError(t, err)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsconfig.MTLSClientConfig(svid, rg.spiffe.X509Bundle(), tlsconfig.AuthorizeID(stsID))}}
	r := rg.post(c, "grant_type=client_credentials&client_id=payments&scope=charge")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "Bearer", r.body["token_type"])
	assert.Nil(t, r.body["issued_token_type"], "issued_token_type belongs to token exchange")
	assert.Equal(t, "charge", r.body["scope"])
	got := claims(t, r.body["access_token"].(string))
	sum := sha256.Sum256(svid.Certificates[0].Raw)
	assert.Equal(t, map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])}, got["cnf"])
	assert.Equal(t, "payments", got["sub"])
	assert.Equal(t, "payments", got["client_id"])
	assert.Equal(t, "https://processor.shop.test", got["aud"])

	// With a DPoP proof the token is bound to the proof's key instead.
	p := newProofer(t)
	r = rg.post(c, "grant_type=client_credentials&client_id=payments", "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "DPoP", r.body["token_type"])
	assert.Equal(t, "charge refund", r.body["scope"])
	assert.Equal(t, map[string]any{"jkt": p.Thumbprint()}, claims(t, r.body["access_token"].(string))["cnf"])
}

// clientAssertion is a private_key_jwt assertion for "reports" (RFC 7523 §3).
func (rg *rig) clientAssertion(t *testing.T, change func(map[string]any)) string {
	now := time.Now()
	c := map[string]any{"iss": "reports", "sub": "reports", "aud": rg.endpoint, "jti": rand.Text(),
		"exp": now.Add(time.Minute).Unix(), "iat": now.Unix()}
	if change != nil {
		change(c)
	}
	return assertion(t, rg.clientKey, c)
}

// ccJWT is a client_credentials request with a client assertion, the
// assertion type encoded as in RFC 7523 §2.2's example.
func ccJWT(a string, more ...string) string {
	s := "grant_type=client_credentials" +
		"&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer" +
		"&client_assertion=" + a
	for _, m := range more {
		s += "&" + m
	}
	return s
}

func TestClientCredentialsPrivateKeyJWT(t *testing.T) {
	rg := newRig(t)
	c := rg.client(spiffeid.ID{})
	p := newProofer(t)
	a := rg.clientAssertion(t, nil)
	r := rg.post(c, ccJWT(a, "resource="+url.QueryEscape(paymentsAud)), "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "DPoP", r.body["token_type"])
	got := claims(t, r.body["access_token"].(string))
	assert.Equal(t, "reports", got["sub"])
	assert.Equal(t, paymentsAud, got["aud"])
	assert.Equal(t, "orders:read", got["scope"])

	// RFC 7523 §3 item 7: the same assertion again is a replay.
	r = rg.post(c, ccJWT(a, "resource="+url.QueryEscape(paymentsAud)), "DPoP", proof(t, p, rg.endpoint, ""))
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "invalid_client", r.body["error"])
	assert.Empty(t, r.header.Get("WWW-Authenticate"), "no Authorization header was used")

	// aud may also be the issuer identifier.
	a = rg.clientAssertion(t, func(c map[string]any) { c["aud"] = []string{"https://other.example", issuerURL} })
	r = rg.post(c, ccJWT(a, "client_id=reports", "audience="+url.QueryEscape(checkoutAud)), "DPoP", proof(t, p, rg.endpoint, ""))
	assert.Equal(t, http.StatusOK, r.status, r.body)
}

// RFC 7523 §2.2's example request as written is an authorization_code
// grant, which this server does not serve. The body is verbatim from RFC 7523
// §2.2 (folded lines joined), except the assertion, which the RFC elides
// ("[...omitted for brevity...]"): only its visible parts are kept.
func TestRFC7523Section22AsWritten(t *testing.T) {
	rg := newRig(t)
	body := "grant_type=authorization_code&" +
		"code=n0esc3NRze7LTCu7iYzS6a5acc3f0ogp4&" +
		"client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&" +
		"client_assertion=eyJhbGciOiJSUzI1NiIsImtpZCI6IjIyIn0.eyJpc3Mi.cC4hiUPo"
	r := rg.post(rg.client(spiffeid.ID{}), body)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "unsupported_grant_type", r.body["error"])
}

func TestClientCredentialsRefusals(t *testing.T) {
	rg := newRig(t)
	p := newProofer(t)
	other := newKey(t)
	for _, tc := range []struct {
		name   string
		client spiffeid.ID
		body   string
		noDPoP bool
		status int
		code   string
	}{
		{name: "certificate not the registered one", client: checkoutID, body: "grant_type=client_credentials&client_id=payments",
			status: 401, code: "invalid_client"},
		{name: "tls_client_auth without client_id", client: paymentsID, body: "grant_type=client_credentials",
			status: 401, code: "invalid_client"},
		{name: "client_id without certificate", body: "grant_type=client_credentials&client_id=payments",
			status: 401, code: "invalid_client"},
		{name: "unknown client", client: paymentsID, body: "grant_type=client_credentials&client_id=nobody",
			status: 401, code: "invalid_client"},
		{name: "tls_client_auth for a private_key_jwt client", client: paymentsID, body: "grant_type=client_credentials&client_id=reports",
			status: 401, code: "invalid_client"},
		{name: "widened scope", client: paymentsID, body: "grant_type=client_credentials&client_id=payments&scope=charge+admin",
			status: 400, code: "invalid_scope"},
		{name: "malformed scope", client: paymentsID, body: "grant_type=client_credentials&client_id=payments&scope=charge++refund",
			status: 400, code: "invalid_scope"},
		{name: "resource not registered", client: paymentsID, body: "grant_type=client_credentials&client_id=payments&resource=https%3A%2F%2Fadmin.shop.test",
			status: 400, code: "invalid_target"},
		{name: "assertion signed by another key", body: ccJWT(assertion(t, other, map[string]any{"iss": "reports", "sub": "reports", "aud": rg.endpoint, "jti": "x", "exp": time.Now().Add(time.Minute).Unix()}), "audience="+url.QueryEscape(paymentsAud)),
			status: 401, code: "invalid_client"},
		{name: "assertion for another server", body: ccJWT(rg.clientAssertion(t, func(c map[string]any) { c["aud"] = "https://other.example/token" }), "audience="+url.QueryEscape(paymentsAud)),
			status: 401, code: "invalid_client"},
		{name: "assertion expired", body: ccJWT(rg.clientAssertion(t, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), "audience="+url.QueryEscape(paymentsAud)),
			status: 401, code: "invalid_client"},
		{name: "assertion exp too far ahead", body: ccJWT(rg.clientAssertion(t, func(c map[string]any) { c["exp"] = time.Now().Add(time.Hour).Unix() }), "audience="+url.QueryEscape(paymentsAud)),
			status: 401, code: "invalid_client"},
		{name: "assertion without exp", body: ccJWT(rg.clientAssertion(t, func(c map[string]any) { delete(c, "exp") }), "audience="+url.QueryEscape(paymentsAud)),
			status: 401, code: "invalid_client"},
		{name: "assertion without jti", body: ccJWT(rg.clientAssertion(t, func(c map[string]any) { delete(c, "jti") }), "audience="+url.QueryEscape(paymentsAud)),
			status: 401, code: "invalid_client"},
		{name: "assertion sub is not iss", body: ccJWT(rg.clientAssertion(t, func(c map[string]any) { c["sub"] = "payments" }), "audience="+url.QueryEscape(paymentsAud)),
			status: 401, code: "invalid_client"},
		{name: "client_id other than the assertion's", body: ccJWT(rg.clientAssertion(t, nil), "client_id=payments", "audience="+url.QueryEscape(paymentsAud)),
			status: 401, code: "invalid_client"},
		{name: "wrong client_assertion_type", body: strings.Replace(ccJWT(rg.clientAssertion(t, nil), "audience="+url.QueryEscape(paymentsAud)), "jwt-bearer", "saml2-bearer", 1),
			status: 401, code: "invalid_client"},
		{name: "client_assertion without client_assertion_type", body: "grant_type=client_credentials&client_assertion=" + rg.clientAssertion(t, nil) + "&audience=" + url.QueryEscape(paymentsAud),
			status: 400, code: "invalid_request"},
		{name: "client_assertion_type without client_assertion", body: "grant_type=client_credentials&client_assertion_type=" + url.QueryEscape(jwtBearer) + "&audience=" + url.QueryEscape(paymentsAud),
			status: 400, code: "invalid_request"},
		{name: "private_key_jwt without DPoP", noDPoP: true, body: ccJWT(rg.clientAssertion(t, nil), "audience="+url.QueryEscape(paymentsAud)),
			status: 400, code: "invalid_request"},
		{name: "no audience with several registered", body: ccJWT(rg.clientAssertion(t, nil)),
			status: 400, code: "invalid_target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			if !tc.noDPoP {
				h = []string{"DPoP", proof(t, p, rg.endpoint, "")}
			}
			r := rg.post(rg.client(tc.client), tc.body, h...)
			assert.Equal(t, tc.status, r.status)
			assert.Equal(t, tc.code, r.body["error"])
			assert.Nil(t, r.body["access_token"])
		})
	}
}

// The form is read strictly (RFC 6749 §3.1, §3.2).
func TestRequestFormRefusals(t *testing.T) {
	rg := newRig(t)
	c := rg.client(paymentsID)
	for _, tc := range []struct {
		name, method, ctype, target, body string
		status                            int
	}{
		{name: "GET", method: http.MethodGet, status: 405},
		{name: "JSON body", ctype: "application/json", body: `{"grant_type":"client_credentials"}`, status: 400},
		{name: "charset other than UTF-8", ctype: formURLEnc + "; charset=latin1", body: "grant_type=client_credentials", status: 400},
		{name: "parameters in the query", target: "?client_id=payments", body: "grant_type=client_credentials", status: 400},
		{name: "duplicate grant_type", body: "grant_type=client_credentials&grant_type=client_credentials&client_id=payments", status: 400},
		{name: "duplicate scope", body: "grant_type=client_credentials&client_id=payments&scope=charge&scope=refund", status: 400},
		{name: "missing grant_type", body: "client_id=payments", status: 400},
		{name: "bad percent-encoding", body: "grant_type=client_credentials&client_id=pay%zzments", status: 400},
		{name: "control character", body: "grant_type=client_credentials&client_id=pay%00ments", status: 400},
		{name: "body too large", body: "grant_type=client_credentials&x=" + strings.Repeat("a", sts.DefaultMaxBodySize), status: 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, rg.endpoint+tc.target, strings.NewReader(tc.body))
			require.NoError(t, err)
			ct := tc.ctype
			if ct == "" {
				ct = formURLEnc
			}
			req.Header.Set("Content-Type", ct)
			r := rg.do(c, req)
			assert.Equal(t, tc.status, r.status)
			assert.Equal(t, "invalid_request", r.body["error"])
			assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
		})
	}
	// An empty value is as if omitted (RFC 6749 §3.1).
	r := rg.post(c, "grant_type=client_credentials&client_id=payments&scope=&resource=")
	assert.Equal(t, http.StatusOK, r.status, r.body)
}

// RFC 8414 metadata.
func TestMetadata(t *testing.T) {
	rg := newRig(t, sts.WithDPoPAlgorithms("ES256", "EdDSA"))
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsconfig.TLSClientConfig(rg.spiffe.X509Bundle(), tlsconfig.AuthorizeID(stsID))}}
	req, err := http.NewRequest(http.MethodGet, rg.srv.URL+"/.well-known/oauth-authorization-server", nil)
	require.NoError(t, err)
	r := rg.do(c, req)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, map[string]any{
		"issuer":                                issuerURL,
		"token_endpoint":                        rg.endpoint,
		"jwks_uri":                              issuerURL + "/.well-known/jwks.json",
		"response_types_supported":              []any{},
		"grant_types_supported":                 []any{sts.GrantTypeTokenExchange, "client_credentials"},
		"token_endpoint_auth_methods_supported": []any{"tls_client_auth", "private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []any{"ES256", "ES384", "EdDSA", "Ed25519", "PS256", "RS256"},
		"dpop_signing_alg_values_supported":                []any{"ES256", "EdDSA"},
		"tls_client_certificate_bound_access_tokens":       true,
	}, r.body)
}

// Cross-JWT confusion and the algorithm allow-list (RFC 7523 §3, RFC 8725
// §3.1, §3.11): an access token or a DPoP proof is never a client
// assertion, and an algorithm off the list is refused.
func TestClientAssertionTypeAndAlgorithm(t *testing.T) {
	p := newProofer(t)
	good := func() map[string]any {
		return map[string]any{"iss": "reports", "sub": "reports", "aud": issuerURL, "jti": rand.Text(), "exp": time.Now().Add(time.Minute).Unix()}
	}
	for _, tc := range []struct {
		name, description string
		opts              []sts.Option
		assertion         func(rg *rig) string
	}{
		{name: "typ at+jwt", description: "client_assertion has the wrong typ", assertion: func(rg *rig) string {
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: rg.clientKey}, (&jose.SignerOptions{}).WithType("at+jwt"))
			require.NoError(t, err)
			payload, err := json.Marshal(good())
			require.NoError(t, err)
			jws, err := signer.Sign(payload)
			require.NoError(t, err)
			s, err := jws.CompactSerialize()
			require.NoError(t, err)
			return s
		}},
		{name: "ES256 not allowed", description: "client_assertion algorithm not allowed", opts: []sts.Option{sts.WithClientAssertionAlgorithms("ES384")},
			assertion: func(rg *rig) string { return assertion(t, rg.clientKey, good()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rg := newRig(t, tc.opts...)
			r := rg.post(rg.client(spiffeid.ID{}), ccJWT(tc.assertion(rg), "audience="+url.QueryEscape(paymentsAud)), "DPoP", proof(t, p, rg.endpoint, ""))
			assert.Equal(t, http.StatusUnauthorized, r.status)
			assert.Equal(t, "invalid_client", r.body["error"])
			assert.Equal(t, tc.description, r.body["error_description"])
		})
	}
}

// One client assertion sent many times at once authenticates exactly once:
// the replay store decides atomically (RFC 7523 §3 item 7).
func TestClientAssertionReplayConcurrent(t *testing.T) {
	rg := newRig(t)
	c := rg.client(spiffeid.ID{})
	a := rg.clientAssertion(t, nil)
	const n = 8
	proofs := make([]string, n)
	for i := range proofs {
		proofs[i] = proof(t, newProofer(t), rg.endpoint, "")
	}
	statuses := make(chan int, n)
	for i := range n {
		go func() {
			req, err := http.NewRequest(http.MethodPost, rg.endpoint, strings.NewReader(ccJWT(a, "audience="+url.QueryEscape(paymentsAud))))
			if err != nil {
				statuses <- 0
				return
			}
			req.Header.Set("Content-Type", formURLEnc)
			req.Header.Set("DPoP", proofs[i])
			resp, err := c.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			_ = resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	count := map[int]int{}
	for range n {
		count[<-statuses]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusUnauthorized: n - 1}, count)
}

// ztkit's own DPoP client (dpop.Transport) gets a token from the endpoint
// when it requires nonces: the first answer is use_dpop_nonce (RFC 9449
// §8), the Transport retries with the nonce, and the token is bound to the
// Transport's key.
func TestClientCredentialsWithDPoPTransportNonceRetry(t *testing.T) {
	nonces, err := dpop.NewNonces(make([]byte, 32))
	require.NoError(t, err)
	rg := newRig(t, sts.WithNonces(nonces))
	p := newProofer(t)
	base := rg.client(paymentsID).Transport
	c := &http.Client{Transport: &dpop.Transport{Base: base, Proofer: p}}
	r := rg.post(c, "grant_type=client_credentials&client_id=payments&scope=charge")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "DPoP", r.body["token_type"])
	assert.Equal(t, map[string]any{"jkt": p.Thumbprint()}, claims(t, r.body["access_token"].(string))["cnf"])
}

// An X.509-SVID for the registered SPIFFE ID from a CA outside the trusted
// bundle (a rogue issuer of the same trust domain) does not authenticate.
func TestClientCertificateFromAnotherCA(t *testing.T) {
	rg := newRig(t)
	rogue, err := spiffetest.New(context.Background(), td)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rogue.Close() })
	svid, err := rogue.IssueX509SVID(paymentsID)
	require.NoError(t, err)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsconfig.MTLSClientConfig(svid, rg.spiffe.X509Bundle(), tlsconfig.AuthorizeID(stsID))}}
	r := rg.post(c, "grant_type=client_credentials&client_id=payments")
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "invalid_client", r.body["error"])
	assert.Equal(t, "the client certificate is not a valid X.509-SVID", r.body["error_description"])
}

// Tokens live as long as the issuer's lifetime unless WithLifetime
// shortens it.
func TestLifetimeFollowsIssuer(t *testing.T) {
	rg := newRig(t)
	short, err := tokens.NewIssuer(issuerURL, rg.keys, tokens.WithLifetime(time.Minute))
	require.NoError(t, err)
	clients, err := sts.NewStaticClients(sts.Client{ID: "payments", SPIFFEID: paymentsID, Audiences: []string{paymentsAud}})
	require.NoError(t, err)
	for _, tc := range []struct {
		opts []sts.Option
		want float64
	}{{nil, 60}, {[]sts.Option{sts.WithLifetime(30 * time.Second)}, 30}} {
		s, err := sts.New(issuerURL, rg.endpoint, short, append([]sts.Option{sts.WithClientCredentials(clients), sts.WithX509Bundles(rg.spiffe.X509Bundle())}, tc.opts...)...)
		require.NoError(t, err)
		rg.srv.Config.Handler = s
		r := rg.post(rg.client(paymentsID), "grant_type=client_credentials&client_id=payments")
		require.Equal(t, http.StatusOK, r.status, r.body)
		assert.Equal(t, tc.want, r.body["expires_in"])
		c := claims(t, r.body["access_token"].(string))
		assert.Equal(t, tc.want, c["exp"].(float64)-c["iat"].(float64))
	}
}

// A parameter is included once (RFC 6749 §3.1), also when one of its
// occurrences is empty: a reader that takes the first value (net/http's
// FormValue, a gateway) would otherwise see another request than this one.
func TestDuplicateParameterWithAnEmptyValue(t *testing.T) {
	rg := newRig(t)
	c := rg.client(paymentsID)
	for _, body := range []string{
		"grant_type=&grant_type=client_credentials&client_id=payments",
		"grant_type=client_credentials&grant_type=&client_id=payments",
		"grant_type=client_credentials&client_id=&client_id=payments",
		"grant_type=client_credentials&client_id=payments&scope=&scope=charge",
		"grant_type=client_credentials&client_id=payments&scope=charge&scope=",
		"grant_type=client_credentials&client_id=payments&scope=&scope=",
	} {
		r := rg.post(c, body)
		assert.Equal(t, http.StatusBadRequest, r.status, body)
		assert.Equal(t, "invalid_request", r.body["error"], body)
		assert.Equal(t, "a parameter is included more than once", r.body["error_description"], body)
	}
	// audience and resource may repeat; an empty one is as if omitted.
	r := rg.post(c, "grant_type=client_credentials&client_id=payments&resource=&resource=https%3A%2F%2Fprocessor.shop.test")
	assert.Equal(t, http.StatusOK, r.status, r.body)
}
