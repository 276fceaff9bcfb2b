package sts

import (
	"encoding/json"
	"net/http"

	"github.com/ztkit/ztkit/internal/jose"
)

// Metadata is the authorization server metadata of RFC 8414 §2 (with RFC
// 8705 §3.3 and RFC 9449 §5.1) that describes this token endpoint. Each
// field is the metadata parameter named in its json tag: the issuer
// identifier and token endpoint given to [New], the jwks_uri of
// [WithJWKSURI], the grants configured, the client authentication methods
// and client assertion algorithms accepted (RFC 8414 §2), the DPoP proof
// algorithms (RFC 9449 §5.1), and whether certificate-bound tokens are
// issued (RFC 8705 §3.3: true when client certificates are verified,
// [WithX509Bundles]).
type Metadata struct {
	Issuer                                string   `json:"issuer"`
	TokenEndpoint                         string   `json:"token_endpoint"`
	JWKSURI                               string   `json:"jwks_uri,omitempty"`
	ResponseTypesSupported                []string `json:"response_types_supported"`
	GrantTypesSupported                   []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported     []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValues     []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	DPoPSigningAlgValuesSupported         []string `json:"dpop_signing_alg_values_supported"`
	TLSClientCertificateBoundAccessTokens bool     `json:"tls_client_certificate_bound_access_tokens"`
}

// Metadata returns the server's metadata. response_types_supported, which
// RFC 8414 §2 requires, is empty: the server has no authorization endpoint.
func (s *Server) Metadata() Metadata {
	m := Metadata{
		Issuer: s.issuerID, TokenEndpoint: s.endpoint, JWKSURI: s.cfg.jwksURI,
		ResponseTypesSupported:                []string{},
		DPoPSigningAlgValuesSupported:         jose.VerifyAlgs.Names(),
		TLSClientCertificateBoundAccessTokens: s.cfg.x509Bundles != nil,
	}
	if s.cfg.proofAlgs != nil {
		set, _ := jose.ParseAlgSet(s.cfg.proofAlgs)
		m.DPoPSigningAlgValuesSupported = set.Names()
	}
	if s.cfg.subjects != nil || s.cfg.stepUp != nil {
		m.GrantTypesSupported = append(m.GrantTypesSupported, GrantTypeTokenExchange)
	}
	if s.cfg.clients != nil {
		m.GrantTypesSupported = append(m.GrantTypesSupported, GrantTypeClientCredentials)
	}
	// Omitted, token_endpoint_auth_methods_supported would mean
	// client_secret_basic (RFC 8414 §2), which this server never accepts.
	if s.cfg.x509Bundles != nil {
		m.TokenEndpointAuthMethodsSupported = append(m.TokenEndpointAuthMethodsSupported, AuthMethodTLSClientAuth)
	}
	if s.cfg.clients != nil {
		m.TokenEndpointAuthMethodsSupported = append(m.TokenEndpointAuthMethodsSupported, AuthMethodPrivateKeyJWT)
		m.TokenEndpointAuthSigningAlgValues = s.cfg.assertAlgs.Names()
	}
	if len(m.TokenEndpointAuthMethodsSupported) == 0 {
		// A token exchange whose actors prove themselves by actor_token only.
		m.TokenEndpointAuthMethodsSupported = []string{"none"}
	}
	return m
}

// MetadataHandler serves [Server.Metadata] as JSON (RFC 8414 §3.2), for
// GET and HEAD at /.well-known/oauth-authorization-server (§3.1).
func (s *Server) MetadataHandler() http.Handler {
	body, _ := json.Marshal(s.Metadata())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=300")
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
}
