package guard_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/tokens"
)

// bearerRequest is a GET /orders/123 with the rig's token for sub as a
// Bearer token, from ip.
func bearerRequest(t *testing.T, rig *shoprig.Tokens, sub string, ip string) *inbound.Request {
	t.Helper()
	tok := rig.Token(t, func(tr *tokens.TokenRequest) { tr.Subject, tr.DPoPKeyThumbprint = sub, "" })
	return &inbound.Request{Method: http.MethodGet, Path: "/orders/123", Route: "GET /orders/{id}",
		Authorization: []string{"Bearer " + tok}, RemoteAddr: netip.MustParseAddr(ip)}
}

// replica is one replica of a service: its own guard and limiter, on the
// counter store the replicas share.
func replica(t *testing.T, rig *shoprig.Tokens, ctr risk.Counter, limits map[string][]risk.Limit, opts ...guard.Option) *guard.Guard {
	t.Helper()
	l, err := risk.NewLimiter(limits, risk.WithCounter(ctr), risk.WithClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	route := refusaltest.Route{Token: authn.AccessToken, Bearer: true}
	g, err := guard.New(route.Authenticator(t, rig, externalURL), append([]guard.Option{
		guard.WithRateLimits(l, guard.ActionsByRoute(map[string]string{"GET /orders/{id}": "orders"})),
		guard.WithMeterProvider(metricnoop.NewMeterProvider())}, opts...)...)
	require.NoError(t, err)
	return g
}

// TestRateLimitReplicasShareOneLimit: N replicas (goroutines, each with its
// own guard and limiter) on one shared MemoryCounter let exactly Max
// requests of a customer through, however the burst interleaves, and
// refuse every other one with 429 and Retry-After; another customer has a
// limit of its own.
func TestRateLimitReplicasShareOneLimit(t *testing.T) {
	const replicas, perReplica, limit = 8, 50, 37
	rig := shoprig.NewTokens(t)
	ctr := risk.NewMemoryCounter(0)
	limits := map[string][]risk.Limit{"orders": {{Name: "orders_per_customer", Key: risk.KeyCustomer, Window: time.Minute, Max: limit}}}
	req := bearerRequest(t, rig, "customer-1", "192.0.2.7")
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range replicas {
		g := replica(t, rig, ctr, limits)
		wg.Go(func() {
			<-start
			for range perReplica {
				res := g.Check(context.Background(), req)
				switch {
				case res.Refusal == nil:
					allowed.Add(1)
				case res.Refusal.Class == guard.ClassRateLimited && res.Refusal.HTTPStatus() == http.StatusTooManyRequests &&
					res.Refusal.RetryAfterSeconds() == 60 && res.Refusal.Reason == guard.ReasonRateLimited:
					refused.Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	assert.EqualValues(t, limit, allowed.Load(), "exactly the limit across replicas")
	assert.EqualValues(t, replicas*perReplica-limit, refused.Load(), "every other request is rate limited")

	// The burst held: the customer stays limited, another customer is not.
	g := replica(t, rig, ctr, limits)
	assert.NotNil(t, g.Check(t.Context(), req).Refusal)
	assert.Nil(t, g.Check(t.Context(), bearerRequest(t, rig, "customer-2", "192.0.2.7")).Refusal)
}

// TestRateLimitCounterFailure: when the counters fail, a limit fails
// closed (503 rate_limit_unavailable, logged at Error) unless it fails open.
func TestRateLimitCounterFailure(t *testing.T) {
	rig := shoprig.NewTokens(t)
	req := bearerRequest(t, rig, "customer-1", "192.0.2.7")
	for _, failOpen := range []bool{false, true} {
		var buf bytes.Buffer
		limits := map[string][]risk.Limit{"orders": {{Name: "orders_per_ip", Key: risk.KeyIP, Window: time.Minute, Max: 10, FailOpen: failOpen}}}
		g := replica(t, rig, refusaltest.FailingCounter{}, limits, guard.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
		res := g.Check(t.Context(), req)
		if failOpen {
			assert.Nil(t, res.Refusal, "a fail-open limit lets the request through")
			continue
		}
		require.NotNil(t, res.Refusal)
		assert.Equal(t, guard.ClassUnavailable, res.Refusal.Class)
		assert.Equal(t, guard.ReasonRateLimitUnavailable, res.Refusal.Reason)
		assert.Equal(t, http.StatusServiceUnavailable, res.Refusal.HTTPStatus())
		assert.Contains(t, buf.String(), `"level":"ERROR"`)
		assert.Contains(t, buf.String(), `"stage":"limit"`)
		assert.Contains(t, buf.String(), `"limit":"orders_per_ip"`)
		assert.Contains(t, buf.String(), `"action":"orders"`)
	}
}

// TestRiskStepLog: a risk refusal's log record carries the action and the
// risk reasons, and not the customer; a request no action names skips the
// step.
func TestRiskStepLog(t *testing.T) {
	rig := shoprig.NewTokens(t)
	var buf bytes.Buffer
	route := refusaltest.Route{Token: authn.AccessToken, Bearer: true}
	g, err := guard.New(route.Authenticator(t, rig, externalURL),
		guard.WithRisk(refusaltest.RiskEngine(t, true), guard.ActionsByRoute(map[string]string{"GET /orders/{id}": "checkout"}), nil),
		guard.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))), guard.WithMeterProvider(metricnoop.NewMeterProvider()))
	require.NoError(t, err)
	req := bearerRequest(t, rig, "customer-1", "192.0.2.7")
	res := g.Check(t.Context(), req)
	require.NotNil(t, res.Refusal)
	assert.Equal(t, guard.ReasonRiskDenied, res.Refusal.Reason)
	assert.Contains(t, buf.String(), `"stage":"risk"`)
	assert.Contains(t, buf.String(), `"action":"checkout"`)
	assert.Contains(t, buf.String(), `"risk_reasons":"unbound_token"`)
	assert.NotContains(t, buf.String(), "customer-1")

	other := *req
	other.Route = "GET /health"
	assert.Nil(t, g.Check(t.Context(), &other).Refusal, "no action: no risk step")
}

// TestCheckRisk: a handler decides an action with signals only it knows
// (the amount) through the guard's decider, and gets the same step-up
// refusal; the signals func of WithRisk cannot replace the verified principal.
func TestCheckRisk(t *testing.T) {
	rig := shoprig.NewTokens(t)
	eng, err := risk.New(risk.Policy{ACRLevels: []string{"pwd", "mfa", "phr"}, Actions: []risk.ActionPolicy{{
		Action: "checkout", StepUp: risk.StepUpRequirement{ACR: "mfa"},
		Rules: []risk.Rule{{ID: "big", Reason: risk.ReasonAmountOverLimit, When: risk.Conditions{AmountOver: map[string]int64{"eur": 100000}}, Outcome: risk.StepUp}},
	}}}, risk.WithClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	var sawPrincipal atomic.Bool
	route := refusaltest.Route{Token: authn.AccessToken, Bearer: true}
	g, err := guard.New(route.Authenticator(t, rig, externalURL), guard.WithRealm(refusaltest.Realm),
		guard.WithRisk(eng, func(*inbound.Request, authz.Decision) string { return "checkout" }, func(_ context.Context, _ *inbound.Request, s *risk.Signals) {
			sawPrincipal.Store(s.Principal != nil && s.Customer == s.Principal.Subject && s.IP.IsValid())
			s.Principal, s.Currency = nil, "EUR" // the guard restores the verified principal
		}), guard.WithMeterProvider(metricnoop.NewMeterProvider()))
	require.NoError(t, err)
	req := bearerRequest(t, rig, "customer-1", "192.0.2.7")
	res := g.Check(t.Context(), req)
	require.Nil(t, res.Refusal, "no amount known to the middleware: allowed")
	assert.True(t, sawPrincipal.Load())

	ctx := authn.NewContext(t.Context(), res.Principal)
	assert.Nil(t, g.CheckRisk(ctx, req, "checkout", risk.Signals{Amount: 5000, Currency: "EUR"}))
	ref := g.CheckRisk(ctx, req, "checkout", risk.Signals{Amount: 250000, Currency: "EUR"})
	require.NotNil(t, ref)
	assert.Equal(t, guard.ReasonRiskStepUp, ref.Reason)
	assert.Equal(t, http.StatusUnauthorized, ref.HTTPStatus())
	assert.Equal(t, []string{refusaltest.StepUpChallenge(false, refusaltest.RiskAuthentication, `acr_values="mfa phr"`)}, ref.Challenges)
}

// TestStepsMisconfigured: a nil engine or limiter of a concrete type, or a
// step without its actions, is refused by New rather than skipped.
func TestStepsMisconfigured(t *testing.T) {
	rig := shoprig.NewTokens(t)
	a := refusaltest.Route{Token: authn.AccessToken, Bearer: true}.Authenticator(t, rig, externalURL)
	var eng *risk.Engine
	var lim *risk.Limiter
	every := refusaltest.Every("checkout")
	for name, opt := range map[string]guard.Option{
		"nil engine":        guard.WithRisk(eng, every, nil),
		"engine no actions": guard.WithRisk(refusaltest.RiskEngine(t, false), nil, nil),
		"nil limiter":       guard.WithRateLimits(lim, every),
		"limiter no scopes": guard.WithRateLimits(refusaltest.Limiter(t, nil), nil),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := guard.New(a, opt)
			assert.ErrorIs(t, err, authn.ErrInvalidConfig)
		})
	}
	_, err := guard.New(a, guard.WithRisk(nil, nil, nil), guard.WithRateLimits(nil, nil))
	assert.NoError(t, err, "nil removes the steps")
}

// TestStepsMetrics: a refusal by the rate-limit step is counted in
// ztkit.authn.decisions under its reason and the scope as
// ztkit.guard.action; an allowed request carries no action.
func TestStepsMetrics(t *testing.T) {
	rig := shoprig.NewTokens(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { assert.NoError(t, mp.Shutdown(context.Background())) })
	g := replica(t, rig, risk.NewMemoryCounter(0),
		map[string][]risk.Limit{"orders": {{Name: "orders_per_client", Key: risk.KeyClient, Window: time.Minute, Max: 1}}},
		guard.WithMeterProvider(mp))
	req := bearerRequest(t, rig, "customer-1", "192.0.2.7")
	require.Nil(t, g.Check(t.Context(), req).Refusal)
	require.NotNil(t, g.Check(t.Context(), req).Refusal)

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	points := map[string]string{} // outcome -> action
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if m.Name != "ztkit.authn.decisions" || !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				outcome, _ := dp.Attributes.Value("ztkit.authn.outcome")
				action, _ := dp.Attributes.Value("ztkit.guard.action")
				points[outcome.AsString()] = action.AsString()
				if outcome.AsString() == "deny" {
					reason, _ := dp.Attributes.Value("ztkit.authn.reason")
					assert.Equal(t, "rate_limited", reason.AsString())
				}
			}
		}
	}
	assert.Equal(t, map[string]string{"allow": "", "deny": "orders"}, points)
}

// TestRiskShadow: an action in shadow mode is let through whatever the
// policy would decide.
func TestRiskShadow(t *testing.T) {
	rig := shoprig.NewTokens(t)
	eng, err := risk.New(risk.Policy{Actions: []risk.ActionPolicy{{Action: "checkout", Shadow: true,
		Rules: []risk.Rule{{ID: "bearer", Reason: risk.ReasonUnboundToken, When: risk.Conditions{Unbound: true}, Outcome: risk.Deny}}}}})
	require.NoError(t, err)
	route := refusaltest.Route{Token: authn.AccessToken, Bearer: true}
	g, err := guard.New(route.Authenticator(t, rig, externalURL), guard.WithRisk(eng, refusaltest.Every("checkout"), nil),
		guard.WithMeterProvider(metricnoop.NewMeterProvider()))
	require.NoError(t, err)
	res := g.Check(t.Context(), bearerRequest(t, rig, "customer-1", "192.0.2.7"))
	assert.Nil(t, res.Refusal)
	assert.NotNil(t, res.Principal)
}
