// Package grant is the client side of OAuth 2.0 token endpoints: it gets
// access tokens for a workload from any authorization server of RFC 6749,
// bound to the workload's key with DPoP (RFC 9449), and keeps them fresh.
//
//   - [ClientCredentials] runs the client credentials grant (RFC 6749 §4.4).
//   - [Exchanger] runs token exchange (RFC 8693) for a service acting on
//     behalf of its callers, and caches the issued token of each subject
//     token.
//   - [StepUpper] answers a resource server's RFC 9470 step-up challenge
//     (insufficient_user_authentication, read by dpop.AdviseHTTP as
//     ActionStepUp): it trades the user's DPoP-bound token, with the
//     challenge's acr_values and max_age and the user's one-time password,
//     for the same user's token at a higher acr (a token exchange that
//     ztkit's token service, tokens/sts with WithStepUp, answers).
//   - [Source] caches a token until it nears expiry, refreshes it ahead of
//     time with jitter, and lets concurrent callers share one request.
//
// The client authenticates with [PrivateKeyJWT] (RFC 7523), [TLSClientAuth]
// (RFC 8705, such as a SPIFFE X.509-SVID over mTLS) or [ClientSecretBasic]
// (RFC 6749 §2.3.1, the secret from package secrets); an Exchanger whose
// actor token (a JWT-SVID, [WithActorToken]) says who it is uses
// [NoClientAuth]. With [WithDPoP] each
// token request carries a DPoP proof for the token endpoint, a 400
// use_dpop_nonce is retried once with the server's nonce, and a token that
// does not come back as DPoP is refused.
//
// Source and Exchanger implement dpop.TokenSource, so their tokens go
// straight into dpop.Transport for HTTP and dpopgrpc's per-RPC credentials
// for gRPC, with the same proofer:
//
//	proofer, _ := dpop.NewProofer(key, "")
//	cc, _ := grant.NewClientCredentials(tokenURL, "checkout", grant.TLSClientAuth(),
//		grant.WithHTTPClient(mtlsClient), grant.WithDPoP(proofer), grant.WithScopes("payments:charge"))
//	src, _ := grant.NewSource(cc)
//	defer src.Close()
//	client := &http.Client{Transport: &dpop.Transport{Proofer: proofer, Token: src}}
//
// [Discover] reads an authorization server's RFC 8414 metadata (its token
// endpoint, the client authentication methods and DPoP algorithms it
// supports), checking that it is the issuer's own.
//
// [Source.OAuth2] adapts a Source to golang.org/x/oauth2's TokenSource for
// code that expects one.
//
// Responses are parsed strictly (RFC 6749 §5.1, §5.2): an error response is
// an [*Error] with the server's code; every failure matches one of this
// package's Err values with errors.Is. No error, and no way of printing a
// [Token], shows an access token, a client secret or assertion, a subject
// or actor token, or a proof.
package grant
