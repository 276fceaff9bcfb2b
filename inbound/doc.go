// Package inbound describes an incoming request independently of the
// transport it came over, by what the decision path needs and nothing more:
// the method and target path a DPoP proof is checked against (htm and htu,
// RFC 9449 §4.3) and authorization decides on, the credentials (the
// Authorization and DPoP field values, RFC 6750 §2.1, RFC 9449 §4.1), the
// verified TLS peer's certificates (SPIFFE X509-SVID, RFC 8705 §3), the
// immediate peer's address (to tell trusted proxies from clients) and the
// route the request was routed by (for telemetry only).
//
// An HTTP request is described by [FromHTTP]. A gRPC call is an HTTP/2 POST
// to "/<service>/<method>", so it is described with Method "POST", that path,
// and the "authorization" and "dpop" metadata values. The same [Request]
// goes to dpop.RequestVerifier.VerifyInbound, authn.Authenticator.AuthenticateInbound
// and the decision core in package guard, so that each transport only builds
// it and renders the outcome.
package inbound
