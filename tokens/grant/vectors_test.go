package grant_test

import (
	"context"
	"crypto/ecdsa"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/tokens/grant"
)

// vectorServer answers every request with body and records the request.
func vectorServer(t *testing.T, body string) (*httptest.Server, *http.Request, *url.Values) {
	t.Helper()
	var got http.Request
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		got, form = *r.Clone(context.Background()), r.PostForm
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &got, &form
}

func staticBasic(secret string) grant.ClientAuth {
	return grant.ClientSecretBasic(grant.StaticSecret{Secret: secrets.NewSecret(map[string]string{"s": secret}, secrets.Lease{})}, "s")
}

// RFC 6749 §4.4.2 and §4.4.3: the client credentials request and response.
// Verbatim from RFC 6749 §4.4.2 (client s6BhdRkqt3, secret gX1fBat3bV, the
// Authorization header and the body grant_type=client_credentials) and
// §4.4.3 (the response body; the test server's headers are its own).
func TestRFC6749ClientCredentialsVector(t *testing.T) {
	srv, req, form := vectorServer(t, `{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"example","expires_in":3600,"example_parameter":"example_value"}`)
	cc, err := grant.NewClientCredentials(srv.URL+"/token", "s6BhdRkqt3", staticBasic("gX1fBat3bV"), grant.WithInsecureHTTP())
	require.NoError(t, err)
	_, err = cc.Fetch(context.Background())
	assert.ErrorIs(t, err, grant.ErrTokenType, "an \"example\" token is not usable as Bearer")
	assert.Equal(t, "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW", req.Header.Get("Authorization"))
	assert.Equal(t, "application/x-www-form-urlencoded", req.Header.Get("Content-Type"))
	assert.Equal(t, http.MethodPost, req.Method)
	assert.Equal(t, url.Values{"grant_type": {"client_credentials"}}, *form)
}

// RFC 8693 §2.3: the token exchange request (client_secret_basic, resource,
// subject token of type access_token) and its response. Verbatim from RFC
// 8693 §2.3, Figures 2 (request; client rs08, secret
// long-secure-random-secret, the form with its folded lines joined) and 3
// (response; the issued token's header is kid "9er").
func TestRFC8693ExchangeVector(t *testing.T) {
	const issued = "eyJhbGciOiJFUzI1NiIsImtpZCI6IjllciJ9.eyJhdWQiOiJodHRwczovL2JhY2tlbmQuZXhhbXBsZS5jb20iLCJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUuY29tIiwiZXhwIjoxNDQxOTE3NTkzLCJpYXQiOjE0NDE5MTc1MzMsInN1YiI6ImJkY0BleGFtcGxlLmNvbSIsInNjb3BlIjoiYXBpIn0.40y3ZgQedw6rxf59WlwHDD9jryFOr0_Wh3CGozQBihNBhnXEQgU85AI9x3KmsPottVMLPIWvmDCMy5-kdXjwhw"
	srv, req, form := vectorServer(t, `{"access_token":"`+issued+`","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":60}`)
	x, err := grant.NewExchanger(srv.URL+"/as/token.oauth2", "rs08", staticBasic("long-secure-random-secret"),
		grant.WithInsecureHTTP(), grant.WithResource("https://backend.example.com/api"))
	require.NoError(t, err)
	defer x.Close()
	tok, err := x.Exchange(context.Background(), "accVkjcJyb4BWCxGsndESCJQbdFMogUC5PbRDqceLTC")
	require.NoError(t, err)
	assert.Equal(t, "Basic cnMwODpsb25nLXNlY3VyZS1yYW5kb20tc2VjcmV0", req.Header.Get("Authorization"))
	assert.Equal(t, url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"resource":           {"https://backend.example.com/api"},
		"subject_token":      {"accVkjcJyb4BWCxGsndESCJQbdFMogUC5PbRDqceLTC"},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
	}, *form)
	assert.Equal(t, issued, tok.AccessToken)
	assert.Equal(t, grant.TokenTypeBearer, tok.TokenType)
	assert.Equal(t, "urn:ietf:params:oauth:token-type:access_token", tok.IssuedTokenType)
	assert.Equal(t, 60.0, tok.Expiry.Sub(tok.IssuedAt).Seconds())
}

// RFC 8693 Appendix A.2: a delegation request, with a subject token of type
// jwt (sub user@example.net, may_act admin@example.net), an actor token of
// type jwt (sub admin@example.net) and the audience
// "urn:example:cooperation-context"; the answer is A.2.2's, whose token_type
// N_A is no access token for this client. The tokens' signatures are not
// checked: only the request's shape is. Verbatim from RFC 8693 Appendix
// A.2.1, Figure 14 (both tokens, folded lines joined; the RFC's request has
// no client authentication) and A.2.2, Figure 17 (the response).
func TestRFC8693DelegationVector(t *testing.T) {
	const (
		subject = "eyJhbGciOiJFUzI1NiIsImtpZCI6IjE2In0.eyJhdWQiOiJodHRwczovL2FzLmV4YW1wbGUuY29tIiwiaXNzIjoiaHR0cHM6Ly9vcmlnaW5hbC1pc3N1ZXIuZXhhbXBsZS5uZXQiLCJleHAiOjE0NDE5MTAwNjAsInNjb3BlIjoic3RhdHVzIGZlZWQiLCJzdWIiOiJ1c2VyQGV4YW1wbGUubmV0IiwibWF5X2FjdCI6eyJzdWIiOiJhZG1pbkBleGFtcGxlLm5ldCJ9fQ.4rPRSWihQbpMIgAmAoqaJojAxj-p2X8_fAtAGTXrvMxU-eEZHnXqY0_AOZgLdxw5DyLzua8H_I10MCcckF-Q_g"
		actor   = "eyJhbGciOiJFUzI1NiIsImtpZCI6IjE2In0.eyJhdWQiOiJodHRwczovL2FzLmV4YW1wbGUuY29tIiwiaXNzIjoiaHR0cHM6Ly9vcmlnaW5hbC1pc3N1ZXIuZXhhbXBsZS5uZXQiLCJleHAiOjE0NDE5MTAwNjAsInN1YiI6ImFkbWluQGV4YW1wbGUubmV0In0.7YQ-3zPfhUvzje5oqw8COCvN5uP6NsKik9CVV6cAOf4QKgM-tKfiOwcgZoUuDL2tEs6tqPlcBlMjiSzEjm3yBg"
	)
	srv, _, form := vectorServer(t, `{"access_token":"eyJhbGciOiJFUzI1NiIsImtpZCI6IjcyIn0.eyJhdWQiOiJ1cm46ZXhhbXBsZTpjb29wZXJhdGlvbi1jb250ZXh0IiwiaXNzIjoiaHR0cHM6Ly9hcy5leGFtcGxlLmNvbSIsImV4cCI6MTQ0MTkxMzYxMCwic2NvcGUiOiJzdGF0dXMgZmVlZCIsInN1YiI6InVzZXJAZXhhbXBsZS5uZXQiLCJhY3QiOnsic3ViIjoiYWRtaW5AZXhhbXBsZS5uZXQifX0.3paKl9UySKYB5ng6_cUtQ2qlO8Rc_y7Mea7IwEXTcYbNdwG9-G1EKCFe5fW3H0hwX-MSZ49Wpcb1SiAZaOQBtw","issued_token_type":"urn:ietf:params:oauth:token-type:jwt","token_type":"N_A","expires_in":3600}`)
	x, err := grant.NewExchanger(srv.URL+"/as/token.oauth2", "", grant.NoClientAuth(), grant.WithInsecureHTTP(),
		grant.WithAudience("urn:example:cooperation-context"), grant.WithSubjectTokenType("urn:ietf:params:oauth:token-type:jwt"),
		grant.WithActorToken(func(context.Context) (string, error) { return actor, nil }, ""))
	require.NoError(t, err)
	defer x.Close()
	_, err = x.Exchange(context.Background(), subject)
	assert.ErrorIs(t, err, grant.ErrTokenType, "a token_type N_A token is not an access token")
	assert.Equal(t, url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"audience":           {"urn:example:cooperation-context"},
		"subject_token":      {subject},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"},
		"actor_token":        {actor},
		"actor_token_type":   {"urn:ietf:params:oauth:token-type:jwt"},
	}, *form)
}

// RFC 7523 §2.2 and §3: a client assertion in the form, with the claims
// the server checks.
func TestRFC7523AssertionVector(t *testing.T) {
	key := newKey(t)
	srv, _, form := vectorServer(t, `{"access_token":"a","token_type":"Bearer","expires_in":60}`)
	auth, err := grant.PrivateKeyJWT(key, "")
	require.NoError(t, err)
	cc, err := grant.NewClientCredentials(srv.URL+"/token", "s6BhdRkqt3", auth, grant.WithInsecureHTTP())
	require.NoError(t, err)
	_, err = cc.Fetch(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form.Get("client_assertion_type"))
	assert.Equal(t, "s6BhdRkqt3", form.Get("client_id"))
	assert.Equal(t, "client_credentials", form.Get("grant_type"))
	parsed, err := jwt.ParseSigned(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.ES256})
	require.NoError(t, err)
	var c jwt.Claims
	require.NoError(t, parsed.Claims(key.Public().(*ecdsa.PublicKey), &c))
	assert.Equal(t, "s6BhdRkqt3", c.Issuer)
	assert.Equal(t, "s6BhdRkqt3", c.Subject)
	assert.Equal(t, jwt.Audience{srv.URL + "/token"}, c.Audience)
	assert.NotEmpty(t, c.ID)
	assert.Equal(t, 60.0, c.Expiry.Time().Sub(c.IssuedAt.Time()).Seconds())
	assert.True(t, strings.Count(form.Get("client_assertion"), ".") == 2)
	assert.NotEmpty(t, parsed.Headers[0].KeyID)
}
