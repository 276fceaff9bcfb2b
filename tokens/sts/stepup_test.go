package sts_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/sts"
	stotp "github.com/ztkit/ztkit/tokens/sts/totp"
)

// totpSecret is the customer's TOTP secret: the RFC 6238 Appendix B SHA-1
// seed "12345678901234567890", base32.
const totpSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// lateVerifier lets a test hand the rig's own subject verifier to
// WithStepUp, which is given before the rig exists.
type lateVerifier struct {
	v atomic.Pointer[tokens.Verifier]
}

func (l *lateVerifier) Verify(ctx context.Context, token string) (*tokens.Claims, error) {
	return l.v.Load().Verify(ctx, token)
}

// customerSecrets knows the customer's secret and nobody else's.
var customerSecrets = stotp.SecretsFunc(func(_ context.Context, subject string) (redact.Secret[string], error) {
	if subject != customer {
		return redact.Secret[string]{}, sts.ErrFactorNotEnrolled
	}
	return redact.NewSecret(totpSecret), nil
})

// newStepUpRig is a token service with step-up by TOTP, opts added.
func newStepUpRig(t *testing.T, opts ...sts.Option) *rig {
	t.Helper()
	factor, err := stotp.New(customerSecrets)
	require.NoError(t, err)
	lv := &lateVerifier{}
	rg := newRig(t, append([]sts.Option{sts.WithStepUp(lv, factor)}, opts...)...)
	lv.v.Store(rg.subjects)
	return rg
}

// code is the customer's current code, as their authenticator app shows it.
func code(t testing.TB) string {
	t.Helper()
	c, err := totp.GenerateCode(totpSecret, time.Now())
	require.NoError(t, err)
	return c
}

// wrongCode is a code that no step near now accepts.
func wrongCode(t testing.TB) string {
	t.Helper()
	var near []string
	for d := -2; d <= 2; d++ {
		c, err := totp.GenerateCode(totpSecret, time.Now().Add(time.Duration(d)*30*time.Second))
		require.NoError(t, err)
		near = append(near, c)
	}
	for _, c := range []string{"000000", "111111", "222222", "333333", "444444", "555555"} {
		if !slices.Contains(near, c) {
			return c
		}
	}
	t.Fatal("no wrong code")
	return ""
}

// stepUp is the body of a step-up request for subject with code, acr_values
// mfa, and more parameters.
func stepUp(subject, code string, more ...string) string {
	return exchange(subject, append([]string{"acr_values=mfa", "otp=" + code}, more...)...)
}

// pwdToken is the customer's token after a password sign-in, bound to p.
func (rg *rig) pwdToken(p *dpop.Proofer, tr tokens.TokenRequest) string {
	tr.ACR, tr.AMR = "pwd", []string{"pwd"}
	tr.AuthTime = time.Now().Add(-time.Hour).Truncate(time.Second)
	tr.DPoPKeyThumbprint = p.Thumbprint()
	if tr.Scopes == nil {
		tr.Scopes = []string{"cart:read", "checkout:write"}
	}
	return rg.customerToken(tr)
}

// The stepped-up token: same customer, client, audience, scopes and may_act;
// acr mfa, amr pwd+otp, auth_time now; bound to the same key; no longer
// lived than the token it replaces.
func TestStepUp(t *testing.T) {
	rg := newStepUpRig(t)
	p := newProofer(t)
	subject := rg.pwdToken(p, tokens.TokenRequest{Lifetime: 4 * time.Minute, MayAct: &tokens.Actor{Subject: checkoutID.String()}})
	before := time.Now().Truncate(time.Second)
	r := rg.post(rg.client(storefrontID), stepUp(subject, code(t), "max_age=0", "client_id=storefront"), "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "DPoP", r.body["token_type"])
	assert.Equal(t, sts.TokenTypeAccessToken, r.body["issued_token_type"])
	assert.Equal(t, "cart:read checkout:write", r.body["scope"])
	assert.LessOrEqual(t, r.body["expires_in"], float64(240))

	tok := r.body["access_token"].(string)
	got, err := rg.subjects.Verify(context.Background(), tok)
	require.NoError(t, err)
	old, err := rg.subjects.Verify(context.Background(), subject)
	require.NoError(t, err)
	assert.Equal(t, customer, got.Subject)
	assert.Equal(t, "storefront", got.ClientID)
	assert.Equal(t, []string{checkoutAud}, got.Audience)
	assert.Equal(t, "mfa", got.ACR)
	assert.Equal(t, []string{"pwd", "otp"}, got.AMR)
	assert.False(t, got.AuthTime.Before(before), "auth_time is the step-up's")
	assert.Equal(t, p.Thumbprint(), got.Confirmation.JKT)
	assert.Equal(t, &tokens.Actor{Subject: checkoutID.String()}, got.MayAct)
	assert.Nil(t, got.Actor)
	assert.False(t, got.Expiry.After(old.Expiry))
}

// A step-up narrows scope and audience on request, never widens them.
func TestStepUpNarrows(t *testing.T) {
	rg := newStepUpRig(t)
	p := newProofer(t)
	subject := rg.pwdToken(p, tokens.TokenRequest{Audience: []string{checkoutAud, paymentsAud}})
	r := rg.post(rg.client(storefrontID), stepUp(subject, code(t), "scope=cart%3Aread", "audience="+url.QueryEscape(checkoutAud)), "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	c := claims(t, r.body["access_token"].(string))
	assert.Equal(t, "cart:read", c["scope"])
	assert.Equal(t, checkoutAud, c["aud"])

	r = rg.post(rg.client(storefrontID), stepUp(subject, wrongCode(t), "scope=admin"), "DPoP", proof(t, p, rg.endpoint, ""))
	assert.Equal(t, "invalid_scope", r.body["error"])
}

// Each refusal, with its RFC 6749 §5.2 code and description.
func TestStepUpRefusals(t *testing.T) {
	rg := newStepUpRig(t)
	expiredIssuer, err := tokens.NewIssuer(issuerURL, rg.keys, tokens.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }))
	require.NoError(t, err)
	thief := newProofer(t)

	for _, tc := range []struct {
		name    string
		body    func(p *dpop.Proofer) string
		proof   func(p *dpop.Proofer) string
		code    string
		message string
	}{
		{name: "wrong code", code: "invalid_grant", message: "the one-time password is invalid",
			body: func(p *dpop.Proofer) string { return stepUp(rg.pwdToken(p, tokens.TokenRequest{}), wrongCode(t)) }},
		{name: "not six digits", code: "invalid_grant", message: "the one-time password is invalid",
			body: func(p *dpop.Proofer) string { return stepUp(rg.pwdToken(p, tokens.TokenRequest{}), "12345a") }},
		{name: "code too long", code: "invalid_request", message: "otp is too long",
			body: func(p *dpop.Proofer) string {
				return stepUp(rg.pwdToken(p, tokens.TokenRequest{}), strings.Repeat("1", 65))
			}},
		{name: "proof by another key", code: "invalid_grant", message: "the DPoP proof is not made with the key the subject_token is bound to",
			body:  func(p *dpop.Proofer) string { return stepUp(rg.pwdToken(p, tokens.TokenRequest{}), code(t)) },
			proof: func(*dpop.Proofer) string { return proof(t, thief, rg.endpoint, "") }},
		{name: "no proof", code: "invalid_request", message: "a DPoP proof is required",
			body:  func(p *dpop.Proofer) string { return stepUp(rg.pwdToken(p, tokens.TokenRequest{}), code(t)) },
			proof: func(*dpop.Proofer) string { return "" }},
		{name: "acr not requested", code: "invalid_request", message: "the second factor does not reach any of the requested acr_values",
			body: func(p *dpop.Proofer) string {
				return exchange(rg.pwdToken(p, tokens.TokenRequest{}), "acr_values=phr", "otp="+code(t))
			}},
		{name: "no acr_values", code: "invalid_request", message: "acr_values is required: acr values separated by single spaces",
			body: func(p *dpop.Proofer) string { return exchange(rg.pwdToken(p, tokens.TokenRequest{}), "otp="+code(t)) }},
		{name: "acr_values with two spaces", code: "invalid_request", message: "acr_values is required: acr values separated by single spaces",
			body: func(p *dpop.Proofer) string {
				return exchange(rg.pwdToken(p, tokens.TokenRequest{}), "acr_values=mfa++phr", "otp="+code(t))
			}},
		{name: "negative max_age", code: "invalid_request", message: "max_age must be a non-negative whole number of seconds",
			body: func(p *dpop.Proofer) string {
				return stepUp(rg.pwdToken(p, tokens.TokenRequest{}), code(t), "max_age=-1")
			}},
		{name: "no otp", code: "invalid_request", message: "otp is required",
			body: func(p *dpop.Proofer) string { return exchange(rg.pwdToken(p, tokens.TokenRequest{}), "acr_values=mfa") }},
		{name: "bearer subject token", code: "invalid_request", message: "the subject_token must be DPoP-bound (cnf.jkt)",
			body: func(*dpop.Proofer) string {
				return stepUp(rg.customerToken(tokens.TokenRequest{ACR: "pwd", AMR: []string{"pwd"}}), code(t))
			}},
		{name: "delegated subject token", code: "invalid_request", message: "a delegated subject_token (act) cannot be stepped up",
			body: func(p *dpop.Proofer) string {
				return stepUp(rg.pwdToken(p, tokens.TokenRequest{Actor: &tokens.Actor{Subject: checkoutID.String()}}), code(t))
			}},
		{name: "expired subject token", code: "invalid_request", message: "subject_token is expired",
			body: func(p *dpop.Proofer) string {
				tok, err := expiredIssuer.Issue(context.Background(), tokens.TokenRequest{Subject: customer, ClientID: "storefront",
					Audience: []string{checkoutAud}, ACR: "pwd", DPoPKeyThumbprint: p.Thumbprint()})
				require.NoError(t, err)
				return stepUp(tok, code(t))
			}},
		{name: "client_id of another client", code: "invalid_request", message: "client_id does not match the subject_token",
			body: func(p *dpop.Proofer) string {
				return stepUp(rg.pwdToken(p, tokens.TokenRequest{}), code(t), "client_id=checkout")
			}},
		{name: "with an actor token", code: "invalid_request", message: "a step-up is made by the subject token's holder, without actor_token",
			body: func(p *dpop.Proofer) string {
				return stepUp(rg.pwdToken(p, tokens.TokenRequest{}), code(t), "actor_token="+rg.jwtSVID(checkoutID, stsID.String()), "actor_token_type="+url.QueryEscape(sts.TokenTypeJWT))
			}},
		{name: "audience beyond the subject token", code: "invalid_target", message: "the subject token may not get tokens for a requested audience or resource",
			body: func(p *dpop.Proofer) string {
				return stepUp(rg.pwdToken(p, tokens.TokenRequest{}), code(t), "audience="+url.QueryEscape(paymentsAud))
			}},
		{name: "customer without TOTP", code: "invalid_grant", message: "the subject has no second factor of this method",
			body: func(p *dpop.Proofer) string {
				return stepUp(rg.pwdToken(p, tokens.TokenRequest{Subject: "someone-else"}), code(t))
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProofer(t)
			body := tc.body(p)
			pr := proof(t, p, rg.endpoint, "")
			if tc.proof != nil {
				pr = tc.proof(p)
			}
			var headers []string
			if pr != "" {
				headers = []string{"DPoP", pr}
			}
			r := rg.post(rg.client(storefrontID), body, headers...)
			assert.Equal(t, http.StatusBadRequest, r.status)
			assert.Equal(t, tc.code, r.body["error"])
			assert.Equal(t, tc.message, r.body["error_description"])
			assert.Nil(t, r.body["access_token"])
		})
	}
}

// RFC 6238 §5.2: a code is accepted once, whoever presents it again.
func TestStepUpCodeUsedOnce(t *testing.T) {
	rg := newStepUpRig(t)
	p := newProofer(t)
	subject := rg.pwdToken(p, tokens.TokenRequest{})
	c := code(t)
	r := rg.post(rg.client(storefrontID), stepUp(subject, c), "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	r = rg.post(rg.client(storefrontID), stepUp(subject, c), "DPoP", proof(t, p, rg.endpoint, ""))
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "invalid_grant", r.body["error"])
	assert.Equal(t, "the one-time password has been used before", r.body["error_description"])
}

// After the allowed failures the customer is locked out, right code or not;
// the log says why, never the code; proofs by another key do not count, so
// that a thief of the token alone cannot lock the customer out.
func TestStepUpLockout(t *testing.T) {
	var logs bytes.Buffer
	rg := newStepUpRig(t, sts.WithStepUpAttempts(3, time.Hour), sts.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	p, thief := newProofer(t), newProofer(t)
	subject := rg.pwdToken(p, tokens.TokenRequest{})
	for range 5 {
		r := rg.post(rg.client(storefrontID), stepUp(subject, wrongCode(t)), "DPoP", proof(t, thief, rg.endpoint, ""))
		require.Equal(t, "the DPoP proof is not made with the key the subject_token is bound to", r.body["error_description"])
	}
	for range 3 {
		r := rg.post(rg.client(storefrontID), stepUp(subject, wrongCode(t)), "DPoP", proof(t, p, rg.endpoint, ""))
		require.Equal(t, "the one-time password is invalid", r.body["error_description"])
	}
	c := code(t)
	r := rg.post(rg.client(storefrontID), stepUp(subject, c), "DPoP", proof(t, p, rg.endpoint, ""))
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "invalid_grant", r.body["error"])
	assert.Equal(t, "too many failed second-factor attempts; try again later", r.body["error_description"])
	assert.Contains(t, logs.String(), "reason=too_many_attempts")
	assert.Contains(t, logs.String(), "grant_type=step_up")
	assert.False(t, strings.Contains(logs.String(), c), "the log holds no code")
	assert.False(t, strings.Contains(logs.String(), totpSecret), "the log holds no secret")

	// Another customer is not locked out by this one.
	other := newProofer(t)
	r = rg.post(rg.client(storefrontID), stepUp(rg.pwdToken(other, tokens.TokenRequest{Subject: "someone-else"}), c), "DPoP", proof(t, other, rg.endpoint, ""))
	assert.Equal(t, "the subject has no second factor of this method", r.body["error_description"])
}

// A success clears the failures.
func TestStepUpSuccessClearsFailures(t *testing.T) {
	rg := newStepUpRig(t, sts.WithStepUpAttempts(2, time.Hour))
	p := newProofer(t)
	subject := rg.pwdToken(p, tokens.TokenRequest{})
	r := rg.post(rg.client(storefrontID), stepUp(subject, wrongCode(t)), "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, "invalid_grant", r.body["error"])
	r = rg.post(rg.client(storefrontID), stepUp(subject, code(t)), "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	r = rg.post(rg.client(storefrontID), stepUp(subject, wrongCode(t)), "DPoP", proof(t, p, rg.endpoint, ""))
	assert.Equal(t, "the one-time password is invalid", r.body["error_description"])
}

// Without WithStepUp a step-up request is refused, not served as a plain
// exchange; the metadata lists token exchange when only step-up is on.
func TestStepUpConfiguration(t *testing.T) {
	rg := newRig(t)
	p := newProofer(t)
	r := rg.post(rg.client(checkoutID), stepUp(rg.pwdToken(p, tokens.TokenRequest{}), "123456"), "DPoP", proof(t, p, rg.endpoint, ""))
	assert.Equal(t, "invalid_request", r.body["error"])
	assert.Equal(t, "step-up is not supported", r.body["error_description"])

	sk, err := tokens.NewSigningKey(newKey(t), "")
	require.NoError(t, err)
	keys, err := tokens.NewKeySet(sk)
	require.NoError(t, err)
	issuer, err := tokens.NewIssuer(issuerURL, keys)
	require.NoError(t, err)
	v, err := tokens.NewVerifier(keys, issuerURL, []string{checkoutAud})
	require.NoError(t, err)
	factor, err := stotp.New(customerSecrets)
	require.NoError(t, err)
	srv, err := sts.New(issuerURL, issuerURL+"/token", issuer, sts.WithStepUp(v, factor))
	require.NoError(t, err)
	assert.Equal(t, []string{sts.GrantTypeTokenExchange}, srv.Metadata().GrantTypesSupported)

	for name, opts := range map[string][]sts.Option{
		"no factor":       {sts.WithStepUp(v, nil)},
		"no verifier":     {sts.WithStepUp(nil, factor)},
		"attempts only":   {sts.WithStepUpAttempts(3, time.Minute)},
		"zero failures":   {sts.WithStepUp(v, factor), sts.WithStepUpAttempts(0, time.Minute)},
		"negative window": {sts.WithStepUp(v, factor), sts.WithStepUpAttempts(3, -time.Minute)},
	} {
		_, err := sts.New(issuerURL, issuerURL+"/token", issuer, opts...)
		assert.ErrorIs(t, err, sts.ErrInvalidConfig, name)
	}
}

// Step-ups are counted apart from other exchanges, as grant step_up, and
// logged without code, token or secret.
func TestStepUpLogAndMetrics(t *testing.T) {
	var logs bytes.Buffer
	reader := sdkmetric.NewManualReader()
	rg := newStepUpRig(t,
		sts.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		sts.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	p, thief := newProofer(t), newProofer(t)
	subject := rg.pwdToken(p, tokens.TokenRequest{})
	bad, good := wrongCode(t), code(t)
	require.Equal(t, "invalid_grant", rg.post(rg.client(storefrontID), stepUp(subject, good), "DPoP", proof(t, thief, rg.endpoint, "")).body["error"])
	require.Equal(t, "invalid_grant", rg.post(rg.client(storefrontID), stepUp(subject, bad), "DPoP", proof(t, p, rg.endpoint, "")).body["error"])
	ok := rg.post(rg.client(storefrontID), stepUp(subject, good), "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, ok.status)

	out := logs.String()
	assert.Contains(t, out, `"msg":"sts: token issued","grant_type":"step_up","client_id":"storefront","aud":["https://checkout.shop.test"]`)
	assert.Contains(t, out, `"grant_type":"step_up","error":"invalid_grant","reason":"step_up_key_mismatch"`, "no client_id before the key is proved")
	assert.Contains(t, out, `"grant_type":"step_up","client_id":"storefront","error":"invalid_grant","reason":"factor_rejected"`)
	for _, secret := range []string{bad, good, totpSecret, subject, ok.body["access_token"].(string)} {
		assert.False(t, strings.Contains(out, secret), "a secret reached the log")
	}

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				g, _ := dp.Attributes.Value("ztkit.sts.grant_type")
				o, _ := dp.Attributes.Value("ztkit.sts.outcome")
				r, _ := dp.Attributes.Value("ztkit.sts.reason")
				got[g.AsString()+"/"+o.AsString()+"/"+r.AsString()] += dp.Value
			}
		}
	}
	assert.Equal(t, map[string]int64{
		"step_up/issued/":                      1,
		"step_up/refused/step_up_key_mismatch": 1,
		"step_up/refused/factor_rejected":      1,
	}, got)
}

// A stepped-up token never outlives the token it replaces, also when the
// second factor takes seconds to verify (a secret store on a slow network).
func TestStepUpLifetimeBoundBySubjectAfterSlowFactor(t *testing.T) {
	slow := stotp.SecretsFunc(func(ctx context.Context, subject string) (redact.Secret[string], error) {
		time.Sleep(2100 * time.Millisecond)
		return customerSecrets(ctx, subject)
	})
	factor, err := stotp.New(slow)
	require.NoError(t, err)
	lv := &lateVerifier{}
	rg := newRig(t, sts.WithStepUp(lv, factor))
	lv.v.Store(rg.subjects)
	p := newProofer(t)
	subject := rg.pwdToken(p, tokens.TokenRequest{Lifetime: 30 * time.Second})
	r := rg.post(rg.client(storefrontID), stepUp(subject, code(t)), "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	got, sub := claims(t, r.body["access_token"].(string)), claims(t, subject)
	assert.LessOrEqual(t, got["exp"], sub["exp"], "the stepped-up token outlives the token it replaces")
}
