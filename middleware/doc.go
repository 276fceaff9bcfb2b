// Package middleware wraps net/http handlers with ztkit's authentication: every
// request arrives with a verified [authn.Principal] in its context, or is
// refused with the status and challenge the RFCs prescribe (RFC 6750 §3,
// RFC 9449 §7.1 and §8), and with no token or internal reason in the body.
//
//	auth, _ := middleware.New(authenticator, middleware.WithNonces(nonces), middleware.WithLogger(logger))
//	mux.Handle("POST /orders", auth(orders))
//
// Wrap each route with the middleware of its [authn.Policy]; http.route in the
// metrics and route in the logs are then the route's pattern.
//
// # Refusals
//
// A refused request is answered with a status and a [Reason] code: the code is
// in the RFC 9457 problem body (member "code") for clients that accept
// application/problem+json, in the metrics and the span below, and in the log
// record of [WithLogger], which logs each refusal once, at a level chosen by
// its cause (Info for bad credentials and policy denials, Warn for signs of
// an attack, Error for outages), with the route pattern, method, verified
// peer and client, and never a token, proof, path or subject.
//
// # Traces
//
// The middleware starts no span: it adds attributes to the request's current
// span (put one there with otelhttp). On a refusal:
//
//   - ztkit.authn.outcome: "deny";
//   - ztkit.authn.reason: the [Reason] code (an authentication code, or the
//     authz.Reason of a denial by [WithAuthorizer]).
//
// When the request is let through:
//
//   - ztkit.authn.outcome: "allow";
//   - ztkit.authn.methods: how the caller proved who it is, an
//     [authn.Method] combination such as "mtls+dpop";
//   - ztkit.authn.binding: the token's [authn.Binding]: "none", "dpop" or
//     "mtls";
//   - ztkit.authn.principal_kind: the [authn.PrincipalKind]: "user" or "workload";
//   - ztkit.authn.peer_trust_domain: the trust domain of the mTLS peer, when
//     there is one.
//
// # Metrics
//
// Recorded on the meter "github.com/ztkit/ztkit/middleware" of the
// [WithMeterProvider] provider, once per request:
//
//   - ztkit.authn.decisions, an Int64Counter, unit "{decision}";
//   - ztkit.authn.duration, a Float64Histogram of the time spent
//     authenticating and authorizing, unit "s", with bucket boundaries 50µs,
//     100µs, 200µs, 500µs, 1ms, 2.5ms, 5ms, 10ms, 50ms and 250ms.
//
// Both carry the same attributes:
//
//   - ztkit.authn.outcome: "allow" or "deny";
//   - http.request.method: the method, or "_OTHER" outside RFC 9110's
//     (OpenTelemetry HTTP semantic conventions);
//   - ztkit.authn.reason: the [Reason] code, on denials only;
//   - http.route: the path template of the ServeMux pattern the request was
//     routed by ("/orders/{id}" for "GET /orders/{id}"), absent when there
//     is none;
//   - ztkit.authn.principal_kind and ztkit.authn.methods: as on the span,
//     when the caller authenticated (so also on authorization denials).
//
// Every value comes from a small fixed set or from the service's own route
// patterns: never a path, a subject, a client or workload ID, a token or an
// address, so the cardinality is bounded and the series carry no personal
// data. Authorization decisions have their own metrics in package
// authz/authzotel (ztkit.authz.decisions and ztkit.authz.policy.updates).
package middleware
