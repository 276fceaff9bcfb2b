// Package middleware wraps net/http handlers with ztkit's authentication: every
// request arrives with a verified [authn.Principal] in its context, or is
// refused with the status and challenge the RFCs prescribe (RFC 6750 §3,
// RFC 9449 §7.1 and §8), and with no token or internal reason in the body.
//
//	auth, _ := middleware.New(authenticator, middleware.WithNonces(nonces))
//	mux.Handle("POST /orders", auth(orders))
//
// Wrap each route with the middleware of its [authn.Policy]; http.route in the
// metrics is then the route's pattern.
//
// Decisions are recorded with OpenTelemetry: attributes on the request's
// existing span (put one there with otelhttp) and the ztkit.authn.decisions
// counter and ztkit.authn.duration histogram, with bounded cardinality.
package middleware
