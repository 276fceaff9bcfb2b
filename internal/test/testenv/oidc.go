package testenv

// The OIDC variables below are set together by scripts/test once a real OAuth 2.0
// authorization server that is not ztkit answers its discovery document on loopback:
// oidc-provider (npm, panva/node-oidc-provider, OpenID Certified), run by
// internal/test/oidcop/server.mjs. It serves HTTPS with a self-signed certificate, the
// client_credentials grant with DPoP (RFC 9449) required and server nonces required,
// and RFC 9068 JWT access tokens (ES256) for the resource indicators (RFC 8707) in
// [OIDCResourceVar] and [OIDCShortResourceVar]. Package internal/test/oidcop reads them
// all at once.
const (
	// OIDCIssuerVar names the environment variable holding the issuer identifier of the
	// test authorization server ("https://127.0.0.1:PORT"); its metadata is at
	// /.well-known/openid-configuration and /.well-known/oauth-authorization-server.
	OIDCIssuerVar = "ZTKIT_TEST_OIDC_ISSUER"

	// OIDCTokenEndpointVar names the environment variable holding the token endpoint URL
	// of the test authorization server.
	OIDCTokenEndpointVar = "ZTKIT_TEST_OIDC_TOKEN_ENDPOINT"

	// OIDCCACertVar names the environment variable holding the path of the PEM file
	// that the test authorization server's TLS certificate chains to.
	OIDCCACertVar = "ZTKIT_TEST_OIDC_CACERT"

	// OIDCResourceVar names the environment variable holding the resource indicator
	// ("https://payments.test") whose access tokens live 5 minutes. It is the default
	// when a token request names no resource.
	OIDCResourceVar = "ZTKIT_TEST_OIDC_RESOURCE"

	// OIDCShortResourceVar names the environment variable holding a resource indicator
	// ("https://short.payments.test") whose access tokens live 10 seconds, for tests of
	// refresh ahead of expiry.
	OIDCShortResourceVar = "ZTKIT_TEST_OIDC_SHORT_RESOURCE"

	// OIDCPKJWTClientIDVar names the environment variable holding the client_id of the
	// client that authenticates with private_key_jwt (RFC 7523, ES256).
	OIDCPKJWTClientIDVar = "ZTKIT_TEST_OIDC_PKJWT_CLIENT_ID"

	// OIDCPKJWTKeyVar names the environment variable holding the path of that client's
	// private key, a P-256 JWK (with kid and alg) made when the server started. The key
	// is a secret: never print it.
	OIDCPKJWTKeyVar = "ZTKIT_TEST_OIDC_PKJWT_KEY"

	// OIDCBasicClientIDVar names the environment variable holding the client_id of the
	// client that authenticates with client_secret_basic.
	OIDCBasicClientIDVar = "ZTKIT_TEST_OIDC_BASIC_CLIENT_ID"

	// OIDCBasicClientSecretVar names the environment variable holding that client's
	// secret. It is a secret: never print it.
	OIDCBasicClientSecretVar = "ZTKIT_TEST_OIDC_BASIC_CLIENT_SECRET"

	// OIDCMTLSClientIDVar names the environment variable holding the client_id of the
	// client that authenticates with tls_client_auth (RFC 8705 §2.1.2): a certificate from
	// the server's test client CA whose URI SAN, spiffe://ztkit.test/oidc-client, is the
	// registered tls_client_auth_san_uri. Its tokens are DPoP-bound, not
	// certificate-bound: oidc-provider lets a client require only one of the two.
	OIDCMTLSClientIDVar = "ZTKIT_TEST_OIDC_MTLS_CLIENT_ID"

	// OIDCMTLSCertVar names the environment variable holding the path of that client's
	// certificate (PEM).
	OIDCMTLSCertVar = "ZTKIT_TEST_OIDC_MTLS_CERT"

	// OIDCMTLSKeyVar names the environment variable holding the path of that
	// certificate's private key (PEM). It is a secret: never print it.
	OIDCMTLSKeyVar = "ZTKIT_TEST_OIDC_MTLS_KEY"
)
