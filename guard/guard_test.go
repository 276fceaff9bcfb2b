package guard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/internal/test/refusaltest"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// externalURL is the URL the guarded service is reached at.
const externalURL = "https://payments.shop.example"

// shape is how a transport describes the request of the refusal table.
type shape struct {
	name, method, path, route string
}

// shapes are an HTTP request and a gRPC call (an HTTP/2 POST to the full
// method), as their transports describe them.
var shapes = []shape{
	{"http", http.MethodGet, "/orders/123", "GET /orders/{id}"},
	{"grpc", http.MethodPost, "/shop.payments.v1.Payments/Charge", "/shop.payments.v1.Payments/Charge"},
}

// coreTarget sends the table's requests straight to a guard.
type coreTarget struct {
	g *guard.Guard
	s shape
}

func (c coreTarget) Method() string { return c.s.method }
func (c coreTarget) URI() string    { return externalURL + c.s.path }

func (c coreTarget) Accepted(t *testing.T, cr refusaltest.Credentials) bool {
	return c.g.Check(t.Context(), c.request(cr)).Refusal == nil
}

func (c coreTarget) request(cr refusaltest.Credentials) *inbound.Request {
	return &inbound.Request{
		Method: c.s.method, Path: c.s.path, Route: c.s.route,
		Authorization: cr.Authorization, DPoP: cr.DPoP,
		RemoteAddr: netip.MustParseAddr("192.0.2.7"),
	}
}

// TestCheckRefuses runs the refusal table (package refusaltest) against the
// core itself, for an HTTP request and for a gRPC call: each case is refused
// with its class, reason, HTTP status, challenges and nonce, without a
// principal, whatever the transport.
func TestCheckRefuses(t *testing.T) {
	rig := shoprig.NewTokens(t)
	nonces, err := dpop.NewNonces([]byte("a 32-byte nonce secret for tests"), dpop.WithNonceClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			for _, tc := range refusaltest.Cases(t, rig, nonces) {
				t.Run(tc.Name, func(t *testing.T) {
					g, err := guard.New(tc.Route.Authenticator(t, rig, externalURL), append([]guard.Option{
						guard.WithRealm(refusaltest.Realm), guard.WithMeterProvider(metricnoop.NewMeterProvider())}, tc.Route.GuardOptions...)...)
					require.NoError(t, err)
					target := coreTarget{g: g, s: s}
					res := g.Check(t.Context(), target.request(tc.Credentials(t, target)))

					require.NotNil(t, res.Refusal)
					assert.Nil(t, res.Principal)
					ref := res.Refusal
					assert.Equal(t, tc.Class, ref.Class)
					assert.Equal(t, tc.Reason, ref.Reason)
					assert.Equal(t, tc.Status, ref.HTTPStatus())
					assert.Equal(t, tc.Challenges, ref.Challenges)
					assert.Equal(t, tc.RetryAfter, ref.RetryAfter)
					assert.NotEmpty(t, ref.Detail)
					if tc.Nonce {
						assert.Equal(t, nonces.Current(), ref.Nonce)
					} else {
						assert.Empty(t, ref.Nonce)
					}
					var nonce []string
					if ref.Nonce != "" {
						nonce = []string{ref.Nonce}
					}
					adv, err := dpop.Advise("", ref.Challenges, nonce)
					require.NoError(t, err)
					tc.AssertAdvice(t, target, adv)
				})
			}
		})
	}
}

// TestCheckAccepts: a DPoP-bound token with a proof for the request's
// method and URI is let through, over HTTP and gRPC alike, with the
// principal, and the authorizer decides on the canonical path.
func TestCheckAccepts(t *testing.T) {
	rig := shoprig.NewTokens(t)
	az, err := authz.AuthorizePolicy(authz.Policy{Rules: []authz.Rule{{
		ID: "orders", Effect: authz.Allow, Routes: []string{"GET /orders/{id}", "POST /shop.payments.v1.Payments/Charge"},
		Match: authz.Match{ClientIDs: []string{shoprig.ClientID}},
	}}})
	require.NoError(t, err)
	route := refusaltest.Route{Token: authn.DPoPBoundToken}
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			g, err := guard.New(route.Authenticator(t, rig, externalURL), guard.WithAuthorizer(az),
				guard.WithMeterProvider(metricnoop.NewMeterProvider()))
			require.NoError(t, err)
			target := coreTarget{g: g, s: s}
			tok := rig.Token(t, nil)
			res := g.Check(t.Context(), target.request(refusaltest.Authorization("DPoP", tok, rig.Proof(t, s.method, target.URI(), tok, ""))))

			require.Nil(t, res.Refusal)
			require.NotNil(t, res.Principal)
			assert.Equal(t, shoprig.ClientID, res.Principal.ClientID)
			assert.True(t, res.Principal.Has(authn.MethodDPoP))
			assert.True(t, res.Decision.Allow)
			assert.Equal(t, "orders", res.Decision.RuleID)
			assert.Equal(t, s.path, res.Path)
		})
	}
}

// TestCheckActor: end to end, a token whose act claim (RFC 8693 §4.1) names
// checkout as the current actor is let through by a rule requiring that
// actor, with the chain on the principal; a token without act, one acted on
// by another workload, and one where checkout is only a prior actor are
// denied with actor_mismatch.
func TestCheckActor(t *testing.T) {
	const (
		checkoutID   = "spiffe://shop.example/checkout"
		storefrontID = "spiffe://shop.example/storefront"
	)
	rig := shoprig.NewTokens(t)
	az, err := authz.AuthorizePolicy(authz.Policy{Rules: []authz.Rule{{
		ID: "charge-for-customer", Effect: authz.Allow, Routes: []string{"POST /shop.payments.v1.Payments/Charge"},
		Match: authz.Match{Actors: []string{checkoutID}, Binding: authz.RequireDPoP},
	}}})
	require.NoError(t, err)
	route := refusaltest.Route{Token: authn.DPoPBoundToken}
	g, err := guard.New(route.Authenticator(t, rig, externalURL), guard.WithAuthorizer(az),
		guard.WithMeterProvider(metricnoop.NewMeterProvider()))
	require.NoError(t, err)
	target := coreTarget{g: g, s: shapes[1]}
	check := func(t *testing.T, actor *tokens.Actor) guard.Result {
		tok := rig.Token(t, func(r *tokens.TokenRequest) { r.Actor = actor })
		return g.Check(t.Context(), target.request(refusaltest.Authorization("DPoP", tok, rig.Proof(t, target.s.method, target.URI(), tok, ""))))
	}

	res := check(t, &tokens.Actor{Subject: checkoutID, Actor: &tokens.Actor{Subject: storefrontID}})
	require.Nil(t, res.Refusal)
	assert.Equal(t, []string{checkoutID, storefrontID}, res.Principal.Actor.Subjects())
	assert.Equal(t, "charge-for-customer", res.Decision.RuleID)

	for name, actor := range map[string]*tokens.Actor{
		"no act":                      nil,
		"storefront acts":             {Subject: storefrontID},
		"checkout only a prior actor": {Subject: storefrontID, Actor: &tokens.Actor{Subject: checkoutID}},
	} {
		t.Run(name, func(t *testing.T) {
			res := check(t, actor)
			require.NotNil(t, res.Refusal)
			assert.Equal(t, guard.Reason(authz.ReasonActorMismatch), res.Refusal.Reason)
			assert.Equal(t, http.StatusForbidden, res.Refusal.HTTPStatus())
		})
	}
}

// TestCheckMisdirected: a call whose authority is not the external URL's is
// refused as misdirected, a bad request, whatever its credentials; the
// external URL's authority, in any case and with its default port, is
// served.
func TestCheckMisdirected(t *testing.T) {
	rig := shoprig.NewTokens(t)
	g, err := guard.New(refusaltest.Route{Token: authn.DPoPBoundToken}.Authenticator(t, rig, externalURL),
		guard.WithRealm(refusaltest.Realm), guard.WithMeterProvider(metricnoop.NewMeterProvider()))
	require.NoError(t, err)
	target := coreTarget{g: g, s: shapes[1]}
	for _, tc := range []struct {
		authority string
		refused   bool
	}{
		{"payments.shop.example", false},
		{"PAYMENTS.shop.example:443", false},
		{"evil.example", true},
		{"payments.shop.example:8443", true},
		{"payments.shop.example.evil.example", true},
	} {
		t.Run(tc.authority, func(t *testing.T) {
			tok := rig.Token(t, nil)
			req := target.request(refusaltest.Authorization("DPoP", tok, rig.Proof(t, target.Method(), target.URI(), tok, "")))
			req.Authority = tc.authority
			ref := g.Check(t.Context(), req).Refusal
			if !tc.refused {
				assert.Nil(t, ref)
				return
			}
			require.NotNil(t, ref)
			assert.Equal(t, guard.ClassBadRequest, ref.Class)
			assert.Equal(t, guard.ReasonMisdirected, ref.Reason)
			assert.Equal(t, 400, ref.HTTPStatus())
			assert.Equal(t, []string{refusaltest.DPoPChallenge("invalid_request")}, ref.Challenges)
		})
	}
}

// TestCheckCanonicalPath: the authorizer decides on the canonical path,
// which the result hands on; a path without one is a bad request even
// though authentication succeeded.
func TestCheckCanonicalPath(t *testing.T) {
	iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
	svid := shoprig.SVID(t, iss, shoprig.Checkout)
	a, err := authn.New(authn.Policy{Peer: authn.MatchID(shoprig.Checkout)}, authn.WithX509Bundles(iss.X509Bundle()))
	require.NoError(t, err)
	az, err := authz.AuthorizePolicy(authz.Policy{Rules: []authz.Rule{{
		ID: "orders", Effect: authz.Allow, Routes: []string{"GET /orders/{id}"}, Match: authz.Match{Peers: []string{shoprig.Checkout.String()}},
	}}})
	require.NoError(t, err)
	g, err := guard.New(a, guard.WithAuthorizer(az), guard.WithMeterProvider(metricnoop.NewMeterProvider()))
	require.NoError(t, err)
	check := func(path string) guard.Result {
		return g.Check(t.Context(), &inbound.Request{Method: http.MethodGet, Path: path, PeerCertificates: svid.Certificates})
	}

	res := check("/orders/%31%32%33")
	require.Nil(t, res.Refusal)
	assert.Equal(t, "/orders/123", res.Path)

	res = check("/orders/%2e%2e/admin")
	require.NotNil(t, res.Refusal)
	assert.Nil(t, res.Principal)
	assert.Equal(t, guard.ClassBadRequest, res.Refusal.Class)
	assert.Equal(t, guard.Reason(authz.ReasonBadRequest), res.Refusal.Reason)
	assert.Equal(t, http.StatusBadRequest, res.Refusal.HTTPStatus())
	assert.Empty(t, res.Refusal.Challenges)
}

// TestRefusalHTTPStatus: each class has its HTTP status; an unauthenticated
// refusal without a challenge (a TLS client certificate) is 403, since a
// 401 must carry one (RFC 9110 §15.5.2).
func TestRefusalHTTPStatus(t *testing.T) {
	cases := []struct {
		name string
		ref  guard.Refusal
		want int
	}{
		{"unauthenticated with a challenge", guard.Refusal{Class: guard.ClassUnauthenticated, Challenges: []string{"Bearer"}}, 401},
		{"unauthenticated without a challenge", guard.Refusal{Class: guard.ClassUnauthenticated}, 403},
		{"signature without a challenge", guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonSignatureInvalid}, 401},
		{"digest mismatch", guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonDigestMismatch}, 401},
		{"permission denied", guard.Refusal{Class: guard.ClassPermissionDenied}, 403},
		{"bad request", guard.Refusal{Class: guard.ClassBadRequest}, 400},
		{"unavailable", guard.Refusal{Class: guard.ClassUnavailable}, 503},
		{"internal", guard.Refusal{Class: guard.ClassInternal}, 500},
		{"zero class", guard.Refusal{}, 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.ref.HTTPStatus())
			assert.NotEmpty(t, tc.ref.Class.String())
		})
	}
}

// TestGuardMisuse: nil arguments and a nil Guard refuse; nothing panics.
func TestGuardMisuse(t *testing.T) {
	_, err := guard.New(nil)
	require.ErrorIs(t, err, authn.ErrInvalidConfig)

	iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
	a, err := authn.New(authn.Policy{Peer: authn.MatchID(shoprig.Checkout)}, authn.WithX509Bundles(iss.X509Bundle()))
	require.NoError(t, err)
	g, err := guard.New(a, nil, guard.WithMeterProvider(nil), guard.WithLogger(nil))
	require.NoError(t, err)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	t.Cleanup(func() { assert.NoError(t, mp.Shutdown(context.Background())) })
	recorded, err := guard.New(a, guard.WithMeterProvider(mp), guard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)

	var nilGuard *guard.Guard
	var nilCtx context.Context
	for name, check := range map[string]func() guard.Result{
		"nil request": func() guard.Result { return g.Check(context.Background(), nil) },
		"nil context": func() guard.Result {
			return recorded.Check(nilCtx, &inbound.Request{Method: http.MethodGet, Path: "/"})
		},
		"nil context and request": func() guard.Result { return recorded.Check(nilCtx, nil) },
		"nil guard": func() guard.Result {
			return nilGuard.Check(context.Background(), &inbound.Request{Method: http.MethodGet, Path: "/"})
		},
	} {
		t.Run(name, func(t *testing.T) {
			var res guard.Result
			require.NotPanics(t, func() { res = check() })
			require.NotNil(t, res.Refusal)
			assert.Nil(t, res.Principal)
		})
	}
	assert.Equal(t, guard.ClassInternal, nilGuard.Reject(context.Background(), nil, "x").Class)
	assert.Empty(t, nilGuard.Nonce())

	ref := g.Reject(context.Background(), nil, "The request has no URL.")
	assert.Equal(t, guard.ClassBadRequest, ref.Class)
	assert.Equal(t, guard.ReasonInvalidRequest, ref.Reason)
	assert.Equal(t, "The request has no URL.", ref.Detail)
	assert.Equal(t, []string{`Bearer error="invalid_request"`}, ref.Challenges)
}

// TestCheckRecordsGRPC: a gRPC call is recorded and logged as an HTTP
// request is: the decision counter under its full method as http.route and
// POST as method, and one refusal record naming the route, never the
// credentials.
func TestCheckRecordsGRPC(t *testing.T) {
	const fullMethod = "/shop.payments.v1.Payments/Charge"
	rig := shoprig.NewTokens(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { assert.NoError(t, mp.Shutdown(context.Background())) })
	var logged bytes.Buffer
	route := refusaltest.Route{Token: authn.DPoPBoundToken}
	g, err := guard.New(route.Authenticator(t, rig, externalURL), guard.WithMeterProvider(mp),
		guard.WithLogger(slog.New(slog.NewJSONHandler(&logged, nil))))
	require.NoError(t, err)
	tok := rig.Token(t, nil)

	res := g.Check(t.Context(), &inbound.Request{
		Method: http.MethodPost, Path: fullMethod, Route: fullMethod,
		Authorization: []string{"Bearer " + tok},
	})
	require.NotNil(t, res.Refusal)
	assert.Equal(t, guard.ReasonBoundTokenAsBearer, res.Refusal.Reason)

	var rec map[string]any
	require.NoError(t, json.Unmarshal(logged.Bytes(), &rec))
	assert.Equal(t, guard.RefusalMessage, rec["msg"])
	assert.Equal(t, fullMethod, rec[guard.LogKeyRoute])
	assert.Equal(t, http.MethodPost, rec[guard.LogKeyMethod])
	assert.Equal(t, "bound_token_as_bearer", rec[guard.LogKeyReason])
	assert.EqualValues(t, http.StatusUnauthorized, rec[guard.LogKeyStatus])
	assert.NotContains(t, logged.String(), tok[len(tok)-20:], "the log leaks the token")

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	require.Len(t, rm.ScopeMetrics, 1)
	var found bool
	for _, m := range rm.ScopeMetrics[0].Metrics {
		sum, ok := m.Data.(metricdata.Sum[int64])
		if m.Name != "ztkit.authn.decisions" || !ok {
			continue
		}
		require.Len(t, sum.DataPoints, 1)
		attrs := sum.DataPoints[0].Attributes
		r, _ := attrs.Value("http.route")
		assert.Equal(t, fullMethod, r.AsString())
		meth, _ := attrs.Value("http.request.method")
		assert.Equal(t, http.MethodPost, meth.AsString())
		found = true
	}
	assert.True(t, found, "no ztkit.authn.decisions")
}
