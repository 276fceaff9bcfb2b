package guard

import (
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/metric"

	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// Option configures a [Guard], and so every transport built on one: package
// middleware for net/http takes the same options.
type Option interface{ apply(*config) }

type config struct {
	authz  authz.Authorizer
	meters metric.MeterProvider
	nonces *dpop.Nonces
	realm  string
	algs   string
	logger *slog.Logger

	risk        RiskDecider
	riskActions Actions
	riskSignals RiskSignals
	limits      RateLimiter
	limitScopes Actions
	// err is a misconfiguration an option found; New returns it.
	err error
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMeterProvider sets where the decision metrics go. nil keeps the global
// provider (otel.GetMeterProvider), which is a no-op until one is installed.
func WithMeterProvider(p metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if p != nil {
			c.meters = p
		}
	})
}

// WithAuthorizer decides, after authentication, whether the principal may
// make the request (package authz). A denial is a [ClassPermissionDenied]
// refusal (HTTP 403) under the decision's reason code; a missing scope also
// carries an RFC 6750 §3.1 insufficient_scope challenge naming the scopes.
// A denial for insufficient_acr or auth_too_old of a caller with an access
// token is a [ClassUnauthenticated] refusal (HTTP 401) with an RFC 9470 §3
// insufficient_user_authentication challenge (see the package
// documentation). Without it the guard only authenticates.
//
// The authorizer is given the canonical form of the request path (see
// authz.Request.Path), which [Result.Path] hands on: package middleware
// gives the next handler a request whose URL.Path, URL.RawPath and
// RequestURI carry that same path, so "/%7Ealice" reaches it as "/~alice". A
// path without a canonical form (encoded dot segments such as
// "/x/%2e%2e/admin", "%2F", NUL...) is a [ClassBadRequest] refusal (HTTP 400)
// with reason bad_request, even under a shadow policy, and never reaches the
// handler.
func WithAuthorizer(a authz.Authorizer) Option {
	return optionFunc(func(c *config) { c.authz = a })
}

// WithNonces makes [Guard.Nonce] return the server's current DPoP nonce
// (RFC 9449 §8), which transports send on every response (package
// middleware in a DPoP-Nonce header), so that clients keep an up-to-date
// nonce without an extra round trip. Pass the same Nonces the dpop.Verifier
// uses.
func WithNonces(n *dpop.Nonces) Option {
	return optionFunc(func(c *config) { c.nonces = n })
}

// WithRealm adds realm="…" to challenges (RFC 6750 §3). realm must not
// contain a quote or a backslash; such a realm is ignored.
func WithRealm(realm string) Option {
	return optionFunc(func(c *config) {
		if !strings.ContainsAny(realm, "\"\\\r\n") {
			c.realm = realm
		}
	})
}

// WithDPoPAlgorithms sets the algs parameter of DPoP challenges (RFC 9449
// §7.1): the proof algorithms the server accepts. The default lists all six
// that package dpop verifies.
func WithDPoPAlgorithms(names ...string) Option {
	return optionFunc(func(c *config) { c.algs = strings.Join(names, " ") })
}
