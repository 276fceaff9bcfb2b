package main

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
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
				// What the challenge asks for: acr_values="mfa phr", max_age="60".
				assert.Equal(t, "mfa", d.ACR)
				assert.Equal(t, []string{"mfa", "phr"}, d.ACRValues)
				assert.Equal(t, time.Minute, d.MaxAge)
			}
		})
	}
}

// TestRiskHotReload: checkout's risk engine watches its risk.json (risk.Watch,
// as the authorization policy is watched): an edit changes the next decision
// without a restart; an invalid version is rejected and the last good
// policy keeps deciding; Close removes the temporary copy.
func TestRiskHotReload(t *testing.T) {
	ctx := t.Context()
	rf, err := openRisk(ctx, "", nil, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	closed := false
	t.Cleanup(func() {
		if !closed {
			assert.NoError(t, rf.Close())
		}
	})
	require.NotNil(t, rf.text, "the embedded risk.json is written to a copy")
	assert.Equal(t, defaultRisk, rf.text)

	// A large order from a known device, two minutes after the sign-in
	// (acr mfa): amount_over_limit alone (30) stays under step_up_at 50.
	const known = "known-device-jkt"
	signals := risk.Signals{
		Principal: &authn.Principal{
			Subject: customerID, Kind: authn.UserKind, ACR: "mfa", AuthTime: time.Now().Add(-2 * time.Minute),
			Binding: authn.BoundToDPoPKey, KeyThumbprint: known,
		},
		Amount: largeOrder, Currency: "EUR", History: risk.History{Orders: 1, Devices: []string{known}},
	}
	d := rf.engine.Decide(ctx, "checkout", signals)
	require.Equal(t, risk.Allow, d.Outcome)
	assert.Equal(t, 30, d.Score)

	// The risk team lowers the threshold to 30: the same order now steps up.
	stricter, err := replaceOnce(rf.text, `"step_up_at": 50`, `"step_up_at": 30`)
	require.NoError(t, err)
	require.NoError(t, rf.swap(ctx, stricter))
	d = rf.engine.Decide(ctx, "checkout", signals)
	assert.Equal(t, risk.StepUp, d.Outcome)
	assert.Equal(t, []risk.Reason{risk.ReasonAmountOverLimit}, d.Reasons)
	assert.Equal(t, "mfa", d.ACR)
	assert.Equal(t, time.Minute, d.MaxAge)

	// A careless edit: a step-up acr not on the ladder. Rejected, with the
	// file and line; the stricter policy keeps deciding.
	broken, err := replaceOnce(stricter, `"acr": "mfa"`, `"acr": "MFA"`)
	require.NoError(t, err)
	require.NoError(t, writeFile(rf.path, broken))
	err = rf.engine.Reload(ctx)
	if err == nil { // the poller read it first
		err = rf.engine.LastError()
	}
	require.ErrorIs(t, err, risk.ErrUnknownACR)
	var pe *risk.PolicyError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, rf.path, pe.File)
	assert.Positive(t, pe.Line)
	assert.Equal(t, uint64(1), rf.engine.ReloadFailures())
	assert.Equal(t, risk.StepUp, rf.engine.Decide(ctx, "checkout", signals).Outcome, "the last good policy stays")

	// Restored: the original decides again, and the error is cleared.
	require.NoError(t, rf.swap(ctx, rf.text))
	assert.NoError(t, rf.engine.LastError())
	assert.Equal(t, risk.Allow, rf.engine.Decide(ctx, "checkout", signals).Outcome)

	closed = true
	require.NoError(t, rf.Close())
	assert.NoDirExists(t, rf.dir, "the temporary copy is removed")
}

// TestRiskFileOfYourOwn: with -risk, the engine watches that file itself;
// a missing or invalid file at startup is an error.
func TestRiskFileOfYourOwn(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "risk.json")
	require.NoError(t, os.WriteFile(path, defaultRisk, 0o600))
	rf, err := openRisk(ctx, path, nil, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Nil(t, rf.text)
	assert.Empty(t, rf.dir)
	require.NoError(t, rf.Close())
	assert.FileExists(t, path, "Close leaves the user's file alone")

	_, err = openRisk(ctx, filepath.Join(dir, "none.json"), nil, slog.New(slog.DiscardHandler))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	broken, err := replaceOnce(defaultRisk, `"step_up_at": 50`, `"step_up_at": -1`)
	require.NoError(t, err)
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, broken, 0o600))
	_, err = openRisk(ctx, bad, nil, slog.New(slog.DiscardHandler))
	assert.ErrorIs(t, err, risk.ErrInvalidPolicy)
}

// TestACRLadderAgrees: policy.json and risk.json each declare the identity
// service's acr ladder (authz and risk compile their own acr_levels), and
// the two must be the same list, or the policy and the risk step would
// disagree on whether a token's acr meets "mfa" (risk.Parse already checks
// that step_up.acr is on risk.json's own ladder).
func TestACRLadderAgrees(t *testing.T) {
	ap, err := authz.Parse("policy.json", defaultPolicy)
	require.NoError(t, err)
	rp, err := risk.Parse("risk.json", defaultRisk)
	require.NoError(t, err)
	require.NotEmpty(t, ap.ACRLevels)
	assert.Equal(t, ap.ACRLevels, rp.ACRLevels, "risk.json's acr_levels must be policy.json's")
}
