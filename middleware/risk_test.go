package middleware_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metricnoop "go.opentelemetry.io/otel/metric/noop"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/internal/test/refusaltest"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/middleware"
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// TestHandlerCheckRisk: a checkout handler behind FromGuard decides on the
// amount in its body with guard.CheckRisk and answers a step-up with
// Refuse: the RFC 9470 challenge dpop.AdviseHTTP reads as a step-up; the
// customer's stepped-up token then passes. The same route's rate limit
// answers 429 with Retry-After.
func TestHandlerCheckRisk(t *testing.T) {
	rig := shoprig.NewTokens(t)
	eng, err := risk.New(risk.Policy{ACRLevels: []string{"pwd", "mfa"}, Actions: []risk.ActionPolicy{{
		Action: "checkout", StepUp: risk.StepUpRequirement{ACR: "mfa", MaxAge: risk.Duration(10 * time.Minute)},
		Rules: []risk.Rule{{ID: "big", Reason: risk.ReasonAmountOverLimit, When: risk.Conditions{AmountOver: map[string]int64{"eur": 100000}}, Outcome: risk.StepUp}},
	}}}, risk.WithClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	lim, err := risk.NewLimiter(map[string][]risk.Limit{"checkout": {{Name: "checkout_per_customer", Key: risk.KeyCustomer, Window: 90 * time.Second, Max: 3}}},
		risk.WithClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	route := refusaltest.Route{Token: authn.AccessToken, Bearer: true}
	g, err := guard.New(route.Authenticator(t, rig, "http://shop.example"), guard.WithRealm(refusaltest.Realm),
		guard.WithRisk(eng, guard.ActionsByRoute(nil), nil), // no action the middleware can decide alone
		guard.WithRateLimits(lim, guard.ActionsByRoute(map[string]string{"POST /checkout": "checkout"})),
		guard.WithMeterProvider(metricnoop.NewMeterProvider()))
	require.NoError(t, err)

	mux := http.NewServeMux()
	mux.Handle("POST /checkout", middleware.FromGuard(g)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var order struct{ Amount int64 }
		if json.NewDecoder(r.Body).Decode(&order) != nil {
			http.Error(w, "bad order", http.StatusBadRequest)
			return
		}
		req := inbound.FromHTTP(r)
		if ref := g.CheckRisk(r.Context(), &req, "checkout", risk.Signals{Amount: order.Amount, Currency: "EUR"}); ref != nil {
			middleware.Refuse(w, r, ref)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	order := func(acr string, amount int64) *http.Response {
		tok := rig.Token(t, func(tr *tokens.TokenRequest) {
			tr.ACR, tr.AuthTime, tr.DPoPKeyThumbprint = acr, shoprig.Now.Add(-time.Minute), ""
		})
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/checkout", strings.NewReader(`{"Amount": `+strconv.FormatInt(amount, 10)+`}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		return resp
	}
	assert.Equal(t, http.StatusCreated, order("pwd", 5000).StatusCode, "a small order passes")

	resp := order("pwd", 250000)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, []string{refusaltest.StepUpChallenge(false, refusaltest.RiskAuthentication, `acr_values="mfa"`, `max_age="600"`)},
		resp.Header.Values("WWW-Authenticate"))
	adv, err := dpop.AdviseHTTP(resp)
	require.NoError(t, err)
	assert.Equal(t, dpop.ActionStepUp, adv.Action)
	assert.Equal(t, []string{"mfa"}, adv.ACRValues)

	assert.Equal(t, http.StatusCreated, order("mfa", 250000).StatusCode, "the stepped-up token passes")

	resp = order("mfa", 5000) // the fourth order in the window
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "90", resp.Header.Get("Retry-After"))
}
