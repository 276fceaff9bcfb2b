package authz_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
)

// TestDecideStepUp: a denial for a too-weak or too-old authentication says
// what a new one must achieve (RFC 9470 §3 acr_values and max_age): the
// closest rule's min_acr and every stronger level, weakest first, and its
// max_auth_age, whichever of the two failed; no other denial carries them.
func TestDecideStepUp(t *testing.T) {
	e := shopEngine(t)
	pay := authz.Request{Method: "POST", Path: "/payments"}
	admin := authz.Request{Method: "GET", Path: "/admin/users"}
	asAdmin := func(p *authn.Principal) { p.Roles = []string{"admin"}; p.AMR = []string{"hwk"}; p.ACR = "phr" }
	cases := []struct {
		name    string
		p       *authn.Principal
		req     authz.Request
		reason  authz.Reason
		acr     []string
		maxAge  time.Duration
		allowed bool
	}{
		{"password only", with(customer(), func(p *authn.Principal) { p.ACR = "pwd" }), pay, authz.ReasonInsufficientACR, []string{"mfa", "phr"}, 15 * time.Minute, false},
		{"no acr", with(customer(), func(p *authn.Principal) { p.ACR = "" }), pay, authz.ReasonInsufficientACR, []string{"mfa", "phr"}, 15 * time.Minute, false},
		{"acr off the ladder", with(customer(), func(p *authn.Principal) { p.ACR = "urn:x" }), pay, authz.ReasonInsufficientACR, []string{"mfa", "phr"}, 15 * time.Minute, false},
		{"stale login", with(customer(), func(p *authn.Principal) { p.AuthTime = fixedNow.Add(-time.Hour) }), pay, authz.ReasonAuthTooOld, []string{"mfa", "phr"}, 15 * time.Minute, false},
		{"stale by a second", with(customer(), func(p *authn.Principal) { p.AuthTime = fixedNow.Add(-15*time.Minute - time.Second) }), pay, authz.ReasonAuthTooOld, []string{"mfa", "phr"}, 15 * time.Minute, false},
		{"no auth_time", with(customer(), func(p *authn.Principal) { p.AuthTime = time.Time{} }), pay, authz.ReasonAuthTooOld, []string{"mfa", "phr"}, 15 * time.Minute, false},
		{"exactly max_auth_age old", with(customer(), func(p *authn.Principal) { p.AuthTime = fixedNow.Add(-15 * time.Minute) }), pay, authz.ReasonAllowed, nil, 0, true},
		{"admin: strongest level only, no max_auth_age", with(customer(), func(p *authn.Principal) { asAdmin(p); p.ACR = "mfa" }), admin, authz.ReasonInsufficientACR, []string{"phr"}, 0, false},
		{"amr has no step-up parameter", with(customer(), func(p *authn.Principal) { asAdmin(p); p.AMR = []string{"otp"} }), admin, authz.ReasonInsufficientAMR, nil, 0, false},
		{"scope", with(customer(), func(p *authn.Principal) { p.Scopes = nil }), pay, authz.ReasonInsufficientScope, nil, 0, false},
		{"allowed", customer(), pay, authz.ReasonAllowed, nil, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := e.Decide(t.Context(), tc.p, tc.req)
			assert.Equal(t, tc.allowed, d.Allow)
			assert.Equal(t, tc.reason, d.Reason)
			assert.Equal(t, tc.acr, d.ACRValues)
			assert.Equal(t, authz.Duration(tc.maxAge), d.MaxAuthAge)
			// Explain decides alike.
			assert.Equal(t, d, e.Explain(t.Context(), tc.p, tc.req).Decision)
		})
	}

	t.Run("the caller owns ACRValues", func(t *testing.T) {
		p := with(customer(), func(p *authn.Principal) { p.ACR = "pwd" })
		d := e.Decide(t.Context(), p, pay)
		require.Len(t, d.ACRValues, 2)
		d.ACRValues[0] = "changed"
		assert.Equal(t, []string{"mfa", "phr"}, e.Decide(t.Context(), p, pay).ACRValues)
	})

	t.Run("a shadow policy reports them with the denial it would have made", func(t *testing.T) {
		p, err := authz.Parse("shop.json", []byte(shopPolicy))
		require.NoError(t, err)
		p.Shadow = true
		require.NoError(t, e.Update(p))
		d := e.Decide(t.Context(), with(customer(), func(p *authn.Principal) { p.ACR = "pwd" }), pay)
		assert.True(t, d.Allow)
		assert.Equal(t, authz.ReasonShadowPolicy, d.Reason)
		assert.Equal(t, authz.ReasonInsufficientACR, d.ShadowReason)
		assert.Equal(t, []string{"mfa", "phr"}, d.ACRValues)
		assert.Equal(t, authz.Duration(15*time.Minute), d.MaxAuthAge)
	})
}

// TestExplainHandlerStepUp: the debug endpoint shows the step-up
// requirements of a denial as acr_values and max_auth_age, the policy
// file's spelling of a duration.
func TestExplainHandlerStepUp(t *testing.T) {
	e := shopEngine(t)
	caller := with(customer(), func(p *authn.Principal) { p.ACR = "pwd" })
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/debug/authz?method=POST&path=/payments", nil)
	authz.ExplainHandler(e).ServeHTTP(rec, req.WithContext(authn.NewContext(req.Context(), caller)))
	require.Equal(t, http.StatusOK, rec.Code)
	var tr struct {
		Decision map[string]any `json:"decision"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tr))
	assert.Equal(t, "insufficient_acr", tr.Decision["reason"])
	assert.Equal(t, []any{"mfa", "phr"}, tr.Decision["acr_values"])
	assert.Equal(t, "15m0s", tr.Decision["max_auth_age"])
}
