// Package guardgrpc is the gRPC server transport of package guard, as
// package middleware is its net/http transport: unary and stream server
// interceptors that describe each call as an inbound.Request, let the
// [guard.Guard] decide, and render a refusal as a gRPC status. The decision
// (peer identity, token and DPoP proof, JWT-SVID, authorization, telemetry
// and the refusal log) is the guard's, configured with the same
// guard.Options as the HTTP middleware. It is a package of its own, named
// as egressgrpc is beside egress, so that a service that serves only HTTP
// does not compile gRPC:
//
//	g, _ := guard.New(authenticator, guard.WithAuthorizer(az), guard.WithNonces(nonces))
//	ics, _ := guardgrpc.New(g, guardgrpc.WithExemptMethods("/grpc.health.v1.Health/Check"))
//	srv := grpc.NewServer(append(ics.ServerOptions(), grpc.Creds(grpccredentials.MTLSServerCredentials(svids, bundles, authorizer)))...)
//
// A unary call is decided before its handler runs; a stream once, when it
// starts. The handler's context carries the [authn.Principal]
// ([authn.PrincipalFromContext]).
//
// # A call, described
//
// A gRPC call is an HTTP/2 POST to /<service>/<method> (gRPC over HTTP/2
// protocol), so [Request] describes it as:
//
//   - Method "POST": the htm of DPoP proofs (RFC 9449 §4.2);
//   - Path and Route the full method, "/shop.payments.v1.Payments/Charge":
//     the path of htu, the path authz policies match ("POST
//     /shop.payments.v1.Payments/Charge") and the route of metrics and logs;
//   - Authorization and DPoP: every value of the "authorization" and "dpop"
//     metadata, in order, so that two values are refused as two HTTP fields
//     are. Binary keys ("authorization-bin") are other keys and never read as
//     credentials;
//   - Authority: the ":authority" pseudo-header;
//   - PeerCertificates: the client certificate chain of a TLS connection
//     (credentials.TLSInfo, as credentials.NewTLS and go-spiffe's
//     grpccredentials with its tlsconfig server configurations provide);
//     RemoteAddr: the peer's IP address.
//
// # DPoP over gRPC
//
// There is no standard mapping; ztkit's is: htm is "POST" and htu is
// https://<authority>/<service>/<method>, where <authority> is that of the
// external URL the dpop.RequestVerifier is configured with
// (dpop.WithExternalURL("https://payments.shop.example")), or the one
// trusted proxies report (dpop.WithTrustedProxies, read from metadata).
// The client's ":authority" is never used to build htu; it is checked
// instead: a call whose :authority is not the external URL's host and port
// (the port defaulted by scheme, the host in any case), and that does not
// come from a trusted proxy, is refused as misdirected
// (guard.ReasonMisdirected, InvalidArgument), whatever its credentials. The
// check is part of DPoP: a service that takes no access tokens has no
// external URL and checks no authority. Nonces (RFC 9449 §8) travel as
// "dpop-nonce" metadata: header metadata on every call the guard lets
// through when it has nonces (guard.WithNonces), trailer metadata on every
// refusal, the use_dpop_nonce one included, which a client recognises by its
// ErrorInfo reason DPOP_NONCE and its challenge `DPoP error="use_dpop_nonce"`.
// A refusal sends no header metadata, so that it is a trailers-only response:
// a stream's client sees it when it asks for the header (grpc.ClientStream's
// Header fails with the status), before it sends a message, and can open the
// stream again with the nonce, as package dpopgrpc does.
//
// # Refusals
//
// A refused call never reaches its handler. It fails with the status
// [Status] builds:
//
//   - code by the refusal's guard.Class ([Code]): Unauthenticated for
//     missing or bad credentials (including a missing or untrusted client
//     certificate) and for a step-up (an authorization denial for
//     insufficient_acr or auth_too_old of a call with an access token),
//     PermissionDenied for a peer or any other authorization policy
//     refusal, InvalidArgument for a malformed or misdirected call,
//     Unavailable only when infrastructure the decision needs (the replay
//     store, a key set, rate-limit counters) cannot be reached,
//     ResourceExhausted over a rate limit (guard.WithRateLimits),
//     Internal for a fault on the server's side; a risk step-up
//     (guard.WithRisk) is Unauthenticated with its challenge, a risk
//     denial PermissionDenied;
//   - message: the refusal's fixed public sentence, never a token, proof,
//     subject or internal error text;
//   - one google.rpc.ErrorInfo detail with domain "ztkit", reason the
//     guard.Reason in upper case ("dpop_replayed" is "DPOP_REPLAYED", as the
//     ErrorInfo documentation asks of reasons), and metadata {"code":
//     "dpop_replayed"}: the code as is, the "code" member of package
//     middleware's RFC 9457 problems, so that one client helper serves both
//     transports; for ResourceExhausted, a second detail, a
//     google.rpc.RetryInfo whose retry_delay is the wait in whole seconds,
//     the Retry-After of HTTP;
//   - "www-authenticate" trailer metadata: the same RFC 6750 §3, RFC 9449
//     §7.1 and RFC 9470 §3 challenges the HTTP middleware sends, one value
//     each; dpopgrpc.Advise reads a step-up challenge as
//     dpop.ActionStepUp with its acr values and max age;
//   - "dpop-nonce" trailer metadata, as above; no header metadata at all.
//
// # Exemptions
//
// Health checks and reflection are decided on like every other method unless
// [WithExemptMethods] names them: nothing is implied, and a method not named
// there, known to the server or not, goes through the guard.
//
// # Telemetry
//
// The interceptors add nothing of their own: the guard adds its attributes
// to the call's current span (put one there with otelgrpc's stats handler,
// beside these interceptors) and records its metrics and refusal log, with
// http.request.method "POST" and http.route the full method. Package guard
// documents every name.
package guardgrpc
