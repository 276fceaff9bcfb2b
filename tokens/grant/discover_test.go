package grant_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens/grant"
)

// metadataServer serves doc (with {{ISSUER}} replaced by its URL plus path)
// at the RFC 8414 §3 well-known URI for an issuer with path.
func metadataServer(t *testing.T, path, contentType, doc string) (issuer string) {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/oauth-authorization-server"+path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write([]byte(strings.ReplaceAll(doc, "{{ISSUER}}", srv.URL+path)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + path
}

func TestDiscover(t *testing.T) {
	// Adapted from RFC 8414 §3.2's example, with the test server as issuer.
	// Not verbatim: it has members that example cannot have, such as
	// dpop_signing_alg_values_supported (RFC 9449 §5.1, published later).
	const doc = `{"issuer":"{{ISSUER}}","authorization_endpoint":"https://server.example.com/authorize",
 "token_endpoint":"{{ISSUER}}/token","token_endpoint_auth_methods_supported":["client_secret_basic","private_key_jwt"],
 "token_endpoint_auth_signing_alg_values_supported":["RS256","ES256"],"jwks_uri":"{{ISSUER}}/jwks.json",
 "grant_types_supported":["client_credentials","urn:ietf:params:oauth:grant-type:token-exchange"],
 "dpop_signing_alg_values_supported":["ES256","EdDSA"],"service_documentation":"http://server.example.com/service_documentation.html"}`
	for _, path := range []string{"", "/tenant1"} {
		t.Run("path "+path, func(t *testing.T) {
			issuer := metadataServer(t, path, "application/json; charset=utf-8", doc)
			m, err := grant.Discover(context.Background(), issuer, grant.WithInsecureHTTP())
			require.NoError(t, err)
			assert.Equal(t, &grant.Metadata{
				Issuer: issuer, TokenEndpoint: issuer + "/token", JWKSURI: issuer + "/jwks.json",
				GrantTypesSupported:                        []string{"client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"},
				TokenEndpointAuthMethodsSupported:          []string{"client_secret_basic", "private_key_jwt"},
				TokenEndpointAuthSigningAlgValuesSupported: []string{"RS256", "ES256"},
				DPoPSigningAlgValuesSupported:              []string{"ES256", "EdDSA"},
			}, m)
		})
	}
}

func TestDiscoverRefuses(t *testing.T) {
	cases := map[string]struct {
		contentType, doc string
		want             error
	}{
		"another issuer":        {"application/json", `{"issuer":"https://evil.example","token_endpoint":"{{ISSUER}}/token"}`, grant.ErrIssuerMismatch},
		"issuer with slash":     {"application/json", `{"issuer":"{{ISSUER}}/","token_endpoint":"{{ISSUER}}/token"}`, grant.ErrIssuerMismatch},
		"no token endpoint":     {"application/json", `{"issuer":"{{ISSUER}}"}`, grant.ErrMalformedResponse},
		"relative endpoint":     {"application/json", `{"issuer":"{{ISSUER}}","token_endpoint":"/token"}`, grant.ErrMalformedResponse},
		"duplicate issuer":      {"application/json", `{"issuer":"{{ISSUER}}","issuer":"https://evil.example","token_endpoint":"{{ISSUER}}/token"}`, grant.ErrMalformedResponse},
		"list of numbers":       {"application/json", `{"issuer":"{{ISSUER}}","token_endpoint":"{{ISSUER}}/token","grant_types_supported":[1]}`, grant.ErrMalformedResponse},
		"list not an array":     {"application/json", `{"issuer":"{{ISSUER}}","token_endpoint":"{{ISSUER}}/token","grant_types_supported":"client_credentials"}`, grant.ErrMalformedResponse},
		"not JSON content type": {"text/html", `{"issuer":"{{ISSUER}}","token_endpoint":"{{ISSUER}}/token"}`, grant.ErrMalformedResponse},
		"not an object":         {"application/json", `["{{ISSUER}}"]`, grant.ErrMalformedResponse},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			issuer := metadataServer(t, "", c.contentType, c.doc)
			_, err := grant.Discover(context.Background(), issuer, grant.WithInsecureHTTP())
			assert.ErrorIs(t, err, c.want)
		})
	}
	t.Run("http token endpoint without WithInsecureHTTP", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"issuer":"https://` + r.Host + `","token_endpoint":"http://` + r.Host + `/token"}`))
		}))
		defer srv.Close()
		_, err := grant.Discover(context.Background(), srv.URL, grant.WithHTTPClient(srv.Client()))
		assert.ErrorIs(t, err, grant.ErrMalformedResponse)
	})
	t.Run("not found", func(t *testing.T) {
		issuer := metadataServer(t, "/a", "application/json", `{}`)
		_, err := grant.Discover(context.Background(), strings.TrimSuffix(issuer, "/a")+"/b", grant.WithInsecureHTTP())
		assert.ErrorIs(t, err, grant.ErrUnavailable)
	})
	for _, issuer := range []string{"", "http://as.example", "https://as.example/?q=1", "https://as.example#f", "https://u@as.example", "as.example"} {
		_, err := grant.Discover(context.Background(), issuer)
		assert.ErrorIs(t, err, grant.ErrInvalidConfig, issuer)
	}
	_, err := grant.Discover(context.Background(), "https://as.example", grant.WithScopes("a"))
	assert.ErrorIs(t, err, grant.ErrInvalidConfig)
}
