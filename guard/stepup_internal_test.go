package guard

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// TestStepUpChallenge: how a denial for a weak or old authentication is
// rendered, case by case: the scheme the request used, acr values a client
// can read back as such, max_age in whole seconds rounded down, the nonce of
// a DPoP challenge; and a plain 403 for a caller with no access token to
// step up. Every challenge reads back through dpop.Advise as the step-up it
// describes.
func TestStepUpChallenge(t *testing.T) {
	nonces, err := dpop.NewNonces([]byte("a 32-byte nonce secret for tests"))
	require.NoError(t, err)
	g := &Guard{cfg: config{realm: "payments", algs: "ES256", nonces: nonces}}
	bearer := &inbound.Request{Method: "GET", Path: "/x", Authorization: []string{"Bearer t"}, RemoteAddr: netip.MustParseAddr("192.0.2.1")}
	dpopReq := &inbound.Request{Method: "GET", Path: "/x", Authorization: []string{"dpop t"}, DPoP: []string{"p"}}
	tokenUser := &authn.Principal{Methods: authn.MethodBearer, Kind: authn.UserKind}
	dpopUser := &authn.Principal{Methods: authn.MethodDPoP | authn.MethodMTLS, Kind: authn.UserKind}
	const weak = `Bearer realm="payments", error="insufficient_user_authentication", error_description="A different authentication level is required"`
	cases := []struct {
		name      string
		req       *inbound.Request
		p         *authn.Principal
		d         authz.Decision
		challenge string // "" for a plain 403
		nonce     bool
		acr       []string
		maxAge    time.Duration
		hasMaxAge bool
	}{
		{
			name: "acr values a client cannot read back are left out", req: bearer, p: tokenUser,
			d:         authz.Decision{Reason: authz.ReasonInsufficientACR, ACRValues: []string{"mfa", "two words", `q"uote`, `back\slash`, "", "é", "urn:x:phr"}},
			challenge: weak + `, acr_values="mfa urn:x:phr"`, acr: []string{"mfa", "urn:x:phr"},
		},
		{
			name: "no acr value left: no acr_values", req: bearer, p: tokenUser,
			d:         authz.Decision{Reason: authz.ReasonInsufficientACR, ACRValues: []string{"a b"}},
			challenge: weak,
		},
		{
			name: "an authorizer of one's own, with no requirement", req: bearer, p: tokenUser,
			d: authz.Decision{Reason: authz.ReasonInsufficientACR}, challenge: weak,
		},
		{
			name: "max_age in whole seconds, rounded down", req: bearer, p: tokenUser,
			d:         authz.Decision{Reason: authz.ReasonAuthTooOld, MaxAuthAge: authz.Duration(90*time.Second + 900*time.Millisecond)},
			challenge: `Bearer realm="payments", error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="90"`,
			maxAge:    90 * time.Second, hasMaxAge: true,
		},
		{
			name: "under a second: authenticate now", req: bearer, p: tokenUser,
			d:         authz.Decision{Reason: authz.ReasonAuthTooOld, MaxAuthAge: authz.Duration(500 * time.Millisecond)},
			challenge: `Bearer realm="payments", error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="0"`,
			hasMaxAge: true,
		},
		{
			name: "DPoP: the DPoP scheme, algs and the nonce", req: dpopReq, p: dpopUser,
			d:         authz.Decision{Reason: authz.ReasonInsufficientACR, ACRValues: []string{"phr"}, MaxAuthAge: authz.Duration(time.Hour)},
			challenge: `DPoP realm="payments", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="phr", max_age="3600", algs="ES256"`,
			nonce:     true, acr: []string{"phr"}, maxAge: time.Hour, hasMaxAge: true,
		},
		{name: "mTLS only: no user authentication to step up", req: bearer, p: &authn.Principal{Methods: authn.MethodMTLS},
			d: authz.Decision{Reason: authz.ReasonInsufficientACR, ACRValues: []string{"mfa"}}},
		{name: "JWT-SVID only", req: bearer, p: &authn.Principal{Methods: authn.MethodJWTSVID, Kind: authn.WorkloadKind},
			d: authz.Decision{Reason: authz.ReasonAuthTooOld, MaxAuthAge: authz.Duration(time.Minute)}},
		{name: "no principal", req: bearer, d: authz.Decision{Reason: authz.ReasonInsufficientACR}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := g.denial(tc.req, tc.p, tc.d)
			assert.Equal(t, Reason(tc.d.Reason), ref.Reason, "the reason code is the authz reason")
			assert.NotEmpty(t, ref.Detail)
			if tc.challenge == "" {
				assert.Equal(t, ClassPermissionDenied, ref.Class)
				assert.Equal(t, 403, ref.HTTPStatus())
				assert.Empty(t, ref.Challenges)
				assert.Empty(t, ref.Nonce)
				return
			}
			assert.Equal(t, ClassUnauthenticated, ref.Class)
			assert.Equal(t, 401, ref.HTTPStatus())
			assert.Equal(t, []string{tc.challenge}, ref.Challenges)
			var nonce []string
			if tc.nonce {
				assert.Equal(t, nonces.Current(), ref.Nonce)
				nonce = []string{ref.Nonce}
			} else {
				assert.Empty(t, ref.Nonce)
			}
			adv, err := dpop.Advise("", ref.Challenges, nonce)
			require.NoError(t, err)
			assert.Equal(t, dpop.ActionStepUp, adv.Action)
			assert.Equal(t, tc.acr, adv.ACRValues)
			assert.Equal(t, tc.maxAge, adv.MaxAge)
			assert.Equal(t, tc.hasMaxAge, adv.HasMaxAge)
		})
	}
}

// FuzzStepUpChallenge: whatever acr values and max age a decision carries
// (an authorizer of one's own may put anything there), the step-up
// challenge reads back through dpop.Advise as a step-up with exactly the
// acr values a client can read as such, and the max age in whole seconds.
func FuzzStepUpChallenge(f *testing.F) {
	f.Add("mfa\x00phr", int64(300*time.Second), true)
	f.Add("myACR", int64(0), false)
	f.Add("a b\x00\"\x00\\\x00é\x00urn:x", int64(1500*time.Millisecond), true)
	f.Add("", int64(-1), false)
	f.Add("\x00\x00", int64(1<<62), true)
	g := &Guard{cfg: config{realm: "payments", algs: "ES256"}}
	f.Fuzz(func(t *testing.T, acr string, age int64, dpopScheme bool) {
		var values []string
		if acr != "" {
			values = strings.Split(acr, "\x00")
		}
		req := &inbound.Request{Authorization: []string{"Bearer t"}}
		p := &authn.Principal{Methods: authn.MethodBearer}
		if dpopScheme {
			req.Authorization, p.Methods = []string{"DPoP t"}, authn.MethodDPoP
		}
		ref := g.denial(req, p, authz.Decision{Reason: authz.ReasonAuthTooOld, ACRValues: values, MaxAuthAge: authz.Duration(age)})
		require.Equal(t, ClassUnauthenticated, ref.Class)
		require.Len(t, ref.Challenges, 1)
		adv, err := dpop.Advise("", ref.Challenges, nil)
		require.NoError(t, err)
		require.Equal(t, dpop.ActionStepUp, adv.Action)
		var want []string
		for _, v := range values {
			if isNQToken(v) {
				want = append(want, v)
			}
		}
		require.Equal(t, want, adv.ACRValues)
		require.Equal(t, age > 0, adv.HasMaxAge)
		if age > 0 {
			require.Equal(t, time.Duration(age).Truncate(time.Second), adv.MaxAge)
		}
	})
}

// TestRiskStepUpACROnly: a RiskDecider of one's own that sets only the
// Decision's ACR (written before ACRValues existed) still asks for it in
// acr_values; ACRValues, when set, are what the challenge sends.
func TestRiskStepUpACROnly(t *testing.T) {
	g := &Guard{cfg: config{realm: "payments", algs: "ES256"}}
	bearer := &inbound.Request{Method: "GET", Path: "/x", Authorization: []string{"Bearer t"}}
	user := &authn.Principal{Methods: authn.MethodBearer, Kind: authn.UserKind}
	ref := g.riskRefusal(bearer, user, risk.Decision{Outcome: risk.StepUp, ACR: "mfa", MaxAge: time.Minute})
	require.NotNil(t, ref)
	require.Len(t, ref.Challenges, 1)
	assert.Contains(t, ref.Challenges[0], `acr_values="mfa"`)
	assert.Contains(t, ref.Challenges[0], `max_age="60"`)

	ref = g.riskRefusal(bearer, user, risk.Decision{Outcome: risk.StepUp, ACR: "mfa", ACRValues: []string{"mfa", "phr"}})
	require.NotNil(t, ref)
	assert.Contains(t, ref.Challenges[0], `acr_values="mfa phr"`)
}
