package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/risk"
)

// TestRiskWhatIf is the what-if table of the embedded risk.json, which
// checkout's order handler decides with (Guard.CheckRisk): the order's
// amount and device against the customer's known devices → allow or step
// up, the reasons, and what a step-up asks for; with every boundary.
func TestRiskWhatIf(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	p, err := risk.Parse("risk.json", defaultRisk)
	require.NoError(t, err)
	e, err := risk.New(p, risk.WithClock(func() time.Time { return now }))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, e.Close()) })

	const known, other = "known-device-jkt", "new-device-jkt"
	// session is a customer's token as the identity service issues it
	// (pwd+otp, acr mfa), signed in authAgo ago, bound to the DPoP key jkt.
	session := func(jkt string, acr string, authAgo time.Duration) *authn.Principal {
		return &authn.Principal{
			Subject: customerID, ClientID: "storefront", Kind: authn.UserKind, ACR: acr, AMR: []string{"pwd", "otp"},
			AuthTime: now.Add(-authAgo), Binding: authn.BoundToDPoPKey, KeyThumbprint: jkt,
			Methods: authn.MethodMTLS | authn.MethodDPoP,
		}
	}
	history := risk.History{Orders: 1, MaxAmount: 4990, Devices: []string{known}}
	for _, tc := range []struct {
		name      string
		principal *authn.Principal
		amount    int64
		currency  string
		// firstOrder: the customer has no history; else history.
		firstOrder bool
		outcome    risk.Outcome
		reasons    []risk.Reason
		steppedUp  bool
	}{
		{name: "small order, known device", principal: session(known, "mfa", 2*time.Minute), amount: 4990,
			outcome: risk.Allow},
		{name: "small order, new device", principal: session(other, "mfa", 2*time.Minute), amount: 4990,
			outcome: risk.Allow},
		{name: "large order, known device (step 21, second order)", principal: session(known, "mfa", 2*time.Minute), amount: largeOrder,
			outcome: risk.Allow},
		{name: "large order, new device (step 21)", principal: session(other, "mfa", 2*time.Minute), amount: largeOrder,
			outcome: risk.StepUp, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}},
		{name: "large order, new device, first order ever", principal: session(other, "mfa", 2*time.Minute), amount: largeOrder, firstOrder: true,
			outcome: risk.StepUp, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}},
		{name: "new device, exactly the limit", principal: session(other, "mfa", 2*time.Minute), amount: 50000,
			outcome: risk.Allow},
		{name: "new device, one cent over the limit", principal: session(other, "mfa", 2*time.Minute), amount: 50001,
			outcome: risk.StepUp, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}},
		{name: "new device, after the step-up (acr mfa, now)", principal: session(other, "mfa", 0), amount: largeOrder,
			outcome: risk.Allow, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}, steppedUp: true},
		{name: "new device, stepped up exactly a minute ago", principal: session(other, "mfa", time.Minute), amount: largeOrder,
			outcome: risk.Allow, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}, steppedUp: true},
		{name: "new device, password only, now", principal: session(other, "pwd", 0), amount: largeOrder,
			outcome: risk.StepUp, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}},
		{name: "known device, a currency risk.json has no limit for (fails closed)", principal: session(known, "mfa", 2*time.Minute), amount: 100, currency: "USD",
			outcome: risk.Allow},
		{name: "new device, a currency risk.json has no limit for (fails closed)", principal: session(other, "mfa", 2*time.Minute), amount: 100, currency: "USD",
			outcome: risk.StepUp, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}},
		{name: "a token with no DPoP key is a new device", principal: session("", "mfa", 2*time.Minute), amount: largeOrder,
			outcome: risk.StepUp, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			currency, h := tc.currency, history
			if currency == "" {
				currency = "EUR"
			}
			if tc.firstOrder {
				h = risk.History{}
			}
			d := e.Decide(context.Background(), "checkout", risk.Signals{
				Principal: tc.principal, Amount: tc.amount, Currency: currency, History: h,
			})
			assert.Equal(t, tc.outcome, d.Outcome)
			assert.Equal(t, tc.reasons, d.Reasons)
			assert.Equal(t, tc.steppedUp, d.SteppedUp)
			if tc.outcome == risk.StepUp {
				// What the challenge asks for: acr_values="mfa", max_age="60".
				assert.Equal(t, "mfa", d.ACR)
				assert.Equal(t, time.Minute, d.MaxAge)
			}
		})
	}
}
