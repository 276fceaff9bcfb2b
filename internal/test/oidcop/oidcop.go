// Package oidcop gives tests the real OAuth 2.0 authorization server that scripts/test
// starts: oidc-provider (npm package oidc-provider, panva/node-oidc-provider, OpenID
// Certified), configured by server.mjs in this directory. It is not ztkit, so a client
// tested against it is tested against someone else's reading of RFC 6749, 7523 and 9449.
//
// The server issues DPoP-bound (RFC 9449) RFC 9068 JWT access tokens through the
// client_credentials grant only, and requires a server nonce in every DPoP proof: a
// client's first request is answered 400 use_dpop_nonce with a DPoP-Nonce header.
// oidc-provider authenticates the client before it looks at the proof, so a
// private_key_jwt assertion is consumed by that refused request (its jti is recorded):
// the retry needs a fresh assertion. So dpop.Transport's own nonce retry (which resends
// the same body) serves a client_secret_basic client at this token endpoint, not a
// private_key_jwt one; and without any proof the server answers 400 invalid_grant.
package oidcop

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ztkit/ztkit/internal/test/testenv"
)

// Server describes the running test authorization server.
type Server struct {
	// Issuer is the issuer identifier, the iss of its tokens and the audience its
	// private_key_jwt client assertions accept (as well as TokenEndpoint).
	Issuer string
	// TokenEndpoint is the token endpoint URL.
	TokenEndpoint string
	// JWKSURL is where the server publishes its token signing keys.
	JWKSURL string
	// Resource is the resource indicator (RFC 8707) of 5-minute tokens, the default
	// when a request names none; ShortResource that of 10-second tokens.
	Resource, ShortResource string
	// Scopes are the scopes every client may request for either resource.
	Scopes []string

	// PKJWTClientID is the client that authenticates with private_key_jwt, signing
	// ES256 with PKJWTKey, whose key ID (the assertion's kid) is PKJWTKeyID.
	PKJWTClientID string
	PKJWTKey      crypto.Signer
	PKJWTKeyID    string

	// BasicClientID and BasicClientSecret authenticate with client_secret_basic.
	// The secret must never be printed.
	BasicClientID, BasicClientSecret string

	// MTLSClientID authenticates with tls_client_auth (RFC 8705 §2.1.2) presenting
	// MTLSCert, whose URI SAN (MTLSURI, a SPIFFE ID) is the registered one. Its tokens
	// are bound to the certificate (cnf x5t#S256) and to the DPoP key (cnf jkt).
	MTLSClientID string
	MTLSCert     tls.Certificate
	MTLSURI      string

	// Roots holds the certificate the server's TLS certificate chains to.
	Roots *x509.CertPool
}

// Require returns the test authorization server, skipping the test when scripts/test
// did not start one and failing it under CI=true (see testenv.Require).
func Require(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		Issuer:            testenv.Require(tb, testenv.OIDCIssuerVar),
		TokenEndpoint:     testenv.Require(tb, testenv.OIDCTokenEndpointVar),
		Resource:          testenv.Require(tb, testenv.OIDCResourceVar),
		ShortResource:     testenv.Require(tb, testenv.OIDCShortResourceVar),
		Scopes:            []string{"payments:charge", "payments:read"},
		PKJWTClientID:     testenv.Require(tb, testenv.OIDCPKJWTClientIDVar),
		BasicClientID:     testenv.Require(tb, testenv.OIDCBasicClientIDVar),
		BasicClientSecret: testenv.Require(tb, testenv.OIDCBasicClientSecretVar),
		MTLSClientID:      testenv.Require(tb, testenv.OIDCMTLSClientIDVar),
	}
	s.JWKSURL = s.Issuer + "/jwks"

	pem, err := os.ReadFile(testenv.Require(tb, testenv.OIDCCACertVar))
	if err != nil {
		tb.Fatalf("oidcop: reading the server's CA certificate: %v", err)
	}
	s.Roots = x509.NewCertPool()
	if !s.Roots.AppendCertsFromPEM(pem) {
		tb.Fatalf("oidcop: no certificate in %s", os.Getenv(testenv.OIDCCACertVar))
	}

	raw, err := os.ReadFile(testenv.Require(tb, testenv.OIDCPKJWTKeyVar))
	if err != nil {
		tb.Fatalf("oidcop: reading the private_key_jwt client's key: %v", err)
	}
	var jwk jose.JSONWebKey
	// The error could quote the key: report only that it failed.
	if jwk.UnmarshalJSON(raw) != nil || jwk.IsPublic() {
		tb.Fatalf("oidcop: %s does not hold a private JWK", os.Getenv(testenv.OIDCPKJWTKeyVar))
	}
	signer, ok := jwk.Key.(crypto.Signer)
	if !ok {
		tb.Fatalf("oidcop: the private_key_jwt client's key is not a crypto.Signer")
	}
	s.PKJWTKey, s.PKJWTKeyID = signer, jwk.KeyID

	certFile, keyFile := testenv.Require(tb, testenv.OIDCMTLSCertVar), testenv.Require(tb, testenv.OIDCMTLSKeyVar)
	// The error could quote the key: report only that it failed.
	if s.MTLSCert, err = tls.LoadX509KeyPair(certFile, keyFile); err != nil || s.MTLSCert.Leaf == nil || len(s.MTLSCert.Leaf.URIs) != 1 {
		tb.Fatalf("oidcop: %s and %s do not hold a client certificate with one URI SAN and its key", certFile, keyFile)
	}
	s.MTLSURI = s.MTLSCert.Leaf.URIs[0].String()
	return s
}

// HTTPClient returns a new HTTP client that trusts the server's TLS certificate and
// presents no client certificate.
func (s *Server) HTTPClient() *http.Client {
	return s.client(nil)
}

// MTLSHTTPClient returns a new HTTP client that trusts the server's TLS certificate and
// presents MTLSCert, as the tls_client_auth client does.
func (s *Server) MTLSHTTPClient() *http.Client {
	return s.client([]tls.Certificate{s.MTLSCert})
}

func (s *Server) client(certs []tls.Certificate) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: s.Roots, Certificates: certs, MinVersion: tls.VersionTLS12},
		},
	}
}
