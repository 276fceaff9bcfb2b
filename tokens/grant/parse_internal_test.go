package grant

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
)

// Token response bodies. "RFC 6749 §4.4.3" is verbatim from RFC 6749
// §4.4.3 and "RFC 8693 §2.3" verbatim from RFC 8693 §2.3, Figure 3 (folded
// lines joined); the RFC 9449 §5 one is adapted (see its entry).
var goodResponses = map[string]struct {
	body  string
	want  tokenResponse
	token string
}{
	"RFC 6749 §4.4.3": {
		body: `{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"example","expires_in":3600,"example_parameter":"example_value"}`,
		want: tokenResponse{accessToken: "2YotnFZFEjr1zCsicMWpAA", tokenType: "example", expiresIn: time.Hour, hasExpiresIn: true},
	},
	"RFC 8693 §2.3": {
		body: `{"access_token":"eyJhbGciOiJFUzI1NiIsImtpZCI6IjllciJ9.eyJhdWQiOiJodHRwczovL2JhY2tlbmQuZXhhbXBsZS5jb20iLCJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUuY29tIiwiZXhwIjoxNDQxOTE3NTkzLCJpYXQiOjE0NDE5MTc1MzMsInN1YiI6ImJkY0BleGFtcGxlLmNvbSIsInNjb3BlIjoiYXBpIn0.40y3ZgQedw6rxf59WlwHDD9jryFOr0_Wh3CGozQBihNBhnXEQgU85AI9x3KmsPottVMLPIWvmDCMy5-kdXjwhw",
 "issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":60}`,
		want: tokenResponse{tokenType: "Bearer", expiresIn: time.Minute, hasExpiresIn: true, issuedTokenType: "urn:ietf:params:oauth:token-type:access_token"},
	},
	// RFC 9449 §5, the figure "Access Token Response", with token_type
	// "DPoP" written "dpop" to check that it is read case-insensitively
	// (RFC 6749 §5.1: "Value is case insensitive"); the other members are
	// verbatim.
	"RFC 9449 §5 (token type case-insensitive, refresh token ignored)": {
		body: `{"access_token":"Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU","token_type":"dpop","expires_in":2677,"refresh_token":"Q..Zkm29lexi8VnWg2zPW1x-tgGad0Ibc3s3EwM_Ni4-g"}`,
		want: tokenResponse{accessToken: "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", tokenType: "DPoP", expiresIn: 2677 * time.Second, hasExpiresIn: true},
	},
	"no expires_in, trailing newline": {
		body: `{"access_token":"a","token_type":"Bearer"}` + "\n",
		want: tokenResponse{accessToken: "a", tokenType: "Bearer"},
	},
	"expires_in 1e3": {
		body: `{"access_token":"a","token_type":"Bearer","expires_in":1e3}`,
		want: tokenResponse{accessToken: "a", tokenType: "Bearer", expiresIn: 1000 * time.Second, hasExpiresIn: true},
	},
}

func TestParseTokenResponse(t *testing.T) {
	for name, c := range goodResponses {
		t.Run(name, func(t *testing.T) {
			got, err := parseTokenResponse([]byte(c.body))
			require.NoError(t, err)
			if c.want.accessToken == "" {
				c.want.accessToken = got.accessToken
			}
			assert.Equal(t, c.want, *got)
		})
	}
	got, err := parseTokenResponse([]byte(`{"access_token":"a","token_type":"Bearer","scope":"read write"}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"read", "write"}, got.scope)
	assert.True(t, got.hasScope)
	got, err = parseTokenResponse([]byte(`{"access_token":"a","token_type":"Bearer","scope":""}`))
	require.NoError(t, err)
	assert.Nil(t, got.scope, "none granted")
	assert.True(t, got.hasScope)
}

func TestParseTokenResponseRefuses(t *testing.T) {
	for name, body := range map[string]string{
		"empty":                 ``,
		"not an object":         `["access_token"]`,
		"trailing data":         `{"access_token":"a","token_type":"Bearer"} {}`,
		"duplicate token":       `{"access_token":"a","access_token":"b","token_type":"Bearer"}`,
		"duplicate type":        `{"access_token":"a","token_type":"Bearer","token_type":"DPoP"}`,
		"no access_token":       `{"token_type":"Bearer"}`,
		"empty access_token":    `{"access_token":"","token_type":"Bearer"}`,
		"access_token number":   `{"access_token":1,"token_type":"Bearer"}`,
		"access_token space":    `{"access_token":"a b","token_type":"Bearer"}`,
		"access_token CRLF":     `{"access_token":"a\r\nX-Evil: 1","token_type":"Bearer"}`,
		"access_token unicode":  `{"access_token":"é","token_type":"Bearer"}`,
		"no token_type":         `{"access_token":"a"}`,
		"empty token_type":      `{"access_token":"a","token_type":""}`,
		"expires_in string":     `{"access_token":"a","token_type":"Bearer","expires_in":"3600"}`,
		"expires_in zero":       `{"access_token":"a","token_type":"Bearer","expires_in":0}`,
		"expires_in negative":   `{"access_token":"a","token_type":"Bearer","expires_in":-5}`,
		"expires_in fraction":   `{"access_token":"a","token_type":"Bearer","expires_in":1.5}`,
		"expires_in huge":       `{"access_token":"a","token_type":"Bearer","expires_in":1e300}`,
		"scope number":          `{"access_token":"a","token_type":"Bearer","scope":7}`,
		"scope two spaces":      `{"access_token":"a","token_type":"Bearer","scope":"read  write"}`,
		"scope bad char":        `{"access_token":"a","token_type":"Bearer","scope":"a\"b"}`,
		"issued_token_type num": `{"access_token":"a","token_type":"Bearer","issued_token_type":1}`,
		"invalid UTF-8":         "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":\"\xff\"}",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseTokenResponse([]byte(body))
			require.ErrorIs(t, err, ErrMalformedResponse)
			assert.NotContains(t, err.Error(), "X-Evil")
		})
	}
}

func TestParseErrorResponse(t *testing.T) {
	cases := map[string]struct {
		status      int
		contentType string
		body        string
		want        Error
	}{
		// Verbatim from RFC 6749 §5.2 (status, Content-Type and body).
		"RFC 6749 §5.2": {400, "application/json;charset=UTF-8", `{"error":"invalid_request"}`, Error{StatusCode: 400, Code: "invalid_request"}},
		"RFC 8693 §2.2.2 invalid_target": {400, "application/json", `{"error":"invalid_target","error_description":"audience not allowed","error_uri":"https://as.example/e"}`,
			Error{StatusCode: 400, Code: "invalid_target", Description: "audience not allowed", URI: "https://as.example/e"}},
		"not JSON":           {502, "text/html", `<html>bad gateway</html>`, Error{StatusCode: 502}},
		"JSON but malformed": {400, "application/json", `{"error":"a",`, Error{StatusCode: 400}},
		"code with quote":    {400, "application/json", `{"error":"a\"b","error_description":"x"}`, Error{StatusCode: 400, Description: "x"}},
		"code with space":    {401, "application/json", `{"error":"invalid client"}`, Error{StatusCode: 401}},
		"description ctrl":   {400, "application/json", `{"error":"e","error_description":"a\nb"}`, Error{StatusCode: 400, Code: "e"}},
		"code not a string":  {400, "application/json", `{"error":3}`, Error{StatusCode: 400}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := parseErrorResponse(c.status, c.contentType, []byte(c.body))
			assert.Equal(t, c.want, *e)
		})
	}
	e := &Error{StatusCode: 401, Code: "invalid_client", Description: "client secret hunter2 is wrong"}
	assert.Equal(t, `grant: token endpoint refused the request: HTTP 401, error "invalid_client"`, e.Error())
	assert.ErrorIs(t, e, ErrRefused)
	assert.NotErrorIs(t, e, ErrUnavailable)
	e = &Error{StatusCode: 503}
	assert.Equal(t, `grant: token endpoint failed: HTTP 503`, e.Error())
	assert.ErrorIs(t, e, ErrUnavailable)
}

func TestInsecureExpiry(t *testing.T) {
	// The subject token of RFC 8693 Appendix A.1.1 (exp 1441910600), verbatim
	// from Figure 10 (folded lines joined).
	const rfc8693Subject = "eyJhbGciOiJFUzI1NiIsImtpZCI6IjE2In0.eyJhdWQiOiJodHRwczovL2FzLmV4YW1wbGUuY29tIiwiaXNzIjoiaHR0cHM6Ly9vcmlnaW5hbC1pc3N1ZXIuZXhhbXBsZS5uZXQiLCJleHAiOjE0NDE5MTA2MDAsIm5iZiI6MTQ0MTkwOTAwMCwic3ViIjoiYmRjQGV4YW1wbGUubmV0Iiwic2NvcGUiOiJvcmRlcnMgcHJvZmlsZSBoaXN0b3J5In0.PRBg-jXn4cJuj1gmYXFiGkZzRuzbXZ_sDxdE98ddW44ufsbWLKd3JJ1VZhF64pbTtfjy4VXFVBDaQpKjn5JzAw"
	assert.Equal(t, time.Unix(1441910600, 0), insecureExpiry(rfc8693Subject))
	for _, s := range []string{"opaque", "a.b", "a.b.c.d", "a.!!.c", "x." + b64(`{"exp":"1"}`) + ".y", "x." + b64(`{"exp":-1}`) + ".y", "x." + b64(`{"exp":1,"exp":2}`) + ".y"} {
		assert.True(t, insecureExpiry(s).IsZero(), s)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func FuzzParseTokenResponse(f *testing.F) {
	for _, c := range goodResponses {
		f.Add([]byte(c.body))
	}
	f.Add([]byte(`{"access_token":"a","token_type":"Bearer","scope":"read write","issued_token_type":"urn:x"}`))
	f.Add([]byte(`{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}`))
	f.Add([]byte(`{"access_token":"a","access_token":"a"}`))
	f.Add([]byte(`{"access_token":"a","token_type":"Bearer","expires_in":1.5e2}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseTokenResponse(body)
		if err == nil {
			if !validAccessToken(r.accessToken) || r.tokenType == "" || r.expiresIn < 0 || r.expiresIn > maxLifetime {
				t.Fatalf("accepted an unusable response")
			}
			if r.tokenType == "bearer" || r.tokenType == "dpop" {
				t.Fatalf("token type not canonical")
			}
			for _, s := range r.scope {
				if !tokens.IsScopeToken(s) {
					t.Fatalf("scope outside the grammar")
				}
			}
		}
		e := parseErrorResponse(400, "application/json", body)
		if e.Code != "" && !validErrorText(e.Code, false) {
			t.Fatalf("error code outside the grammar")
		}
		if strings.ContainsAny(e.Error(), "\r\n") {
			t.Fatalf("error text with a line break")
		}
	})
}

func FuzzInsecureExpiry(f *testing.F) {
	f.Add("eyJhbGciOiJFUzI1NiJ9." + b64(`{"exp":1441910600}`) + ".c2ln")
	f.Add("x." + b64(`{"exp":1e10}`) + ".y")
	f.Add("x." + b64(`{"exp":1.5,"sub":"a"}`) + ".y")
	f.Add("opaque-token")
	f.Add("a..b")
	f.Fuzz(func(t *testing.T, token string) {
		exp := insecureExpiry(token)
		if !exp.IsZero() && (exp.Unix() <= 0 || strings.Count(token, ".") != 2) {
			t.Fatalf("expiry from a token that is not a JWS-compact JWT with a positive exp")
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(`{"issuer":"https://server.example.com","token_endpoint":"https://server.example.com/token","jwks_uri":"https://server.example.com/jwks.json","grant_types_supported":["client_credentials"],"dpop_signing_alg_values_supported":["ES256"]}`))
	f.Add([]byte(`{"issuer":"x","issuer":"y","token_endpoint":"z"}`))
	f.Add([]byte(`{"issuer":"x","token_endpoint":"z","grant_types_supported":[1,{}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := parseMetadata(body)
		if err == nil && (m.Issuer == "" || m.TokenEndpoint == "") {
			t.Fatalf("metadata without issuer or token endpoint accepted")
		}
	})
}
