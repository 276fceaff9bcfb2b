package grant

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ztkit/ztkit/internal/jsonscan"
)

// Metadata is what a client configures itself from in an authorization
// server's metadata (RFC 8414 §2, RFC 9449 §5.1). Absent lists are nil.
type Metadata struct {
	// Issuer is issuer: the authorization server's issuer identifier.
	Issuer string
	// TokenEndpoint is token_endpoint, the URL to give NewClientCredentials
	// or NewExchanger.
	TokenEndpoint string
	// JWKSURI is jwks_uri, where the server publishes its signing keys
	// (for tokens.NewRemoteKeySet); "" when absent.
	JWKSURI string
	// GrantTypesSupported is grant_types_supported.
	GrantTypesSupported []string
	// TokenEndpointAuthMethodsSupported is
	// token_endpoint_auth_methods_supported ("private_key_jwt",
	// "tls_client_auth", "client_secret_basic", …).
	TokenEndpointAuthMethodsSupported []string
	// TokenEndpointAuthSigningAlgValuesSupported is
	// token_endpoint_auth_signing_alg_values_supported: the algorithms a
	// PrivateKeyJWT assertion may use.
	TokenEndpointAuthSigningAlgValuesSupported []string
	// DPoPSigningAlgValuesSupported is dpop_signing_alg_values_supported
	// (RFC 9449 §5.1): the server accepts DPoP proofs with these algorithms.
	DPoPSigningAlgValuesSupported []string
}

// wellKnownPath is RFC 8414 §3's well-known URI suffix.
const wellKnownPath = "/.well-known/oauth-authorization-server"

// Discover fetches the metadata of the authorization server whose issuer
// identifier is issuer (an https URL without query or fragment) from RFC
// 8414 §3's well-known URI: "/.well-known/oauth-authorization-server"
// inserted between the issuer's host and path. The document must be a JSON
// object without duplicate members whose issuer is issuer exactly (§3.3,
// against mix-up attacks; else ErrIssuerMismatch) and whose token_endpoint
// is an https URL; redirects are not followed. Its options are
// [WithHTTPClient] and [WithInsecureHTTP] (for an http issuer on loopback).
// Errors match [ErrInvalidConfig], [ErrUnavailable] (network, a status
// other than 200), [ErrMalformedResponse] or [ErrIssuerMismatch].
func Discover(ctx context.Context, issuer string, opts ...Option) (*Metadata, error) {
	cfg, bad := newConfig(forDiscover, opts)
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w: options %v do not apply to Discover", ErrInvalidConfig, bad)
	}
	u, err := url.Parse(issuer)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" ||
		(u.Scheme != "https" && !(u.Scheme == "http" && cfg.insecureHTTP)) {
		return nil, fmt.Errorf("%w: the issuer is not an https URL without query and fragment (RFC 8414 §2)", ErrInvalidConfig)
	}
	wk := *u
	wk.Path = wellKnownPath + strings.TrimSuffix(u.Path, "/")
	wk.RawPath = ""
	hc := http.DefaultClient
	if cfg.httpClient != nil {
		hc = cfg.httpClient
	}
	noRedirect := *hc
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, wk.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := noRedirect.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: metadata: HTTP %d", ErrUnavailable, resp.StatusCode)
	}
	if !isJSON(resp.Header.Get("Content-Type")) {
		return nil, fmt.Errorf("%w: metadata: Content-Type is not application/json", ErrMalformedResponse)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the metadata: %w", ErrUnavailable, err)
	}
	if len(body) > maxResponse {
		return nil, fmt.Errorf("%w: metadata larger than %d bytes", ErrMalformedResponse, maxResponse)
	}
	m, err := parseMetadata(bytes.TrimSpace(body))
	if err != nil {
		return nil, err
	}
	if m.Issuer != issuer {
		return nil, fmt.Errorf("%w: the metadata names another issuer", ErrIssuerMismatch)
	}
	te, err := url.Parse(m.TokenEndpoint)
	if err != nil || !te.IsAbs() || te.Host == "" || te.Fragment != "" ||
		(te.Scheme != "https" && !(te.Scheme == "http" && cfg.insecureHTTP)) {
		return nil, fmt.Errorf("%w: metadata: token_endpoint is not an https URL", ErrMalformedResponse)
	}
	return m, nil
}

// parseMetadata reads the members of Metadata from an RFC 8414 document;
// others are ignored (§2: unrecognized members are ignored).
func parseMetadata(body []byte) (*Metadata, error) {
	m := &Metadata{}
	o := jsonscan.NewObject(body)
	for o.Next() {
		v := o.Value()
		var str *string
		var list *[]string
		name := string(o.Key())
		switch name {
		case "issuer":
			str = &m.Issuer
		case "token_endpoint":
			str = &m.TokenEndpoint
		case "jwks_uri":
			str = &m.JWKSURI
		case "grant_types_supported":
			list = &m.GrantTypesSupported
		case "token_endpoint_auth_methods_supported":
			list = &m.TokenEndpointAuthMethodsSupported
		case "token_endpoint_auth_signing_alg_values_supported":
			list = &m.TokenEndpointAuthSigningAlgValuesSupported
		case "dpop_signing_alg_values_supported":
			list = &m.DPoPSigningAlgValuesSupported
		default:
			continue
		}
		if str != nil {
			s, err := v.Str()
			if err != nil {
				return nil, fmt.Errorf("%w: metadata: %s is not a string", ErrMalformedResponse, name)
			}
			*str = s
			continue
		}
		if v.Kind != jsonscan.ArrayKind {
			return nil, fmt.Errorf("%w: metadata: %s is not an array", ErrMalformedResponse, name)
		}
		a := v.Array()
		out := []string{}
		for a.Next() {
			s, err := a.Value().Str()
			if err != nil {
				return nil, fmt.Errorf("%w: metadata: %s holds a non-string", ErrMalformedResponse, name)
			}
			out = append(out, s)
		}
		if a.Err() != nil {
			return nil, fmt.Errorf("%w: metadata: %w", ErrMalformedResponse, a.Err())
		}
		*list = out
	}
	if err := o.Err(); err != nil {
		return nil, fmt.Errorf("%w: metadata: %w", ErrMalformedResponse, err)
	}
	if m.Issuer == "" || m.TokenEndpoint == "" {
		return nil, fmt.Errorf("%w: metadata without issuer or token_endpoint", ErrMalformedResponse)
	}
	return m, nil
}
