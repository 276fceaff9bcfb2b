package grant_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/middleware"
	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/grant"
	"github.com/ztkit/ztkit/tokens/sts"
	stotp "github.com/ztkit/ztkit/tokens/sts/totp"
)

// The customer's TOTP secret (RFC 6238 Appendix B's SHA-1 seed, base32).
const customerTOTP = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

const stepUpIssuer = "https://id.shop.test"

// stepUpLoop is the whole step-up loop on real sockets: the identity
// service's token endpoint with TOTP step-up, and the checkout service
// behind the guard middleware, whose payment route needs acr mfa.
type stepUpLoop struct {
	issuer   *tokens.Issuer
	tokenURL string
	shopURL  string
}

func newStepUpLoop(t *testing.T, opts ...sts.Option) *stepUpLoop {
	t.Helper()
	sk, err := tokens.NewSigningKey(newKey(t), "")
	require.NoError(t, err)
	keys, err := tokens.NewKeySet(sk)
	require.NoError(t, err)
	issuer, err := tokens.NewIssuer(stepUpIssuer, keys)
	require.NoError(t, err)
	subjects, err := tokens.NewVerifier(keys, stepUpIssuer, []string{checkoutAud})
	require.NoError(t, err)

	// The identity service.
	factor, err := stotp.New(stotp.SecretsFunc(func(_ context.Context, subject string) (redact.Secret[string], error) {
		if subject != "customer-42" {
			return redact.Secret[string]{}, sts.ErrFactorNotEnrolled
		}
		return redact.NewSecret(customerTOTP), nil
	}))
	require.NoError(t, err)
	idp := httptest.NewServer(nil)
	t.Cleanup(idp.Close)
	server, err := sts.New(stepUpIssuer, idp.URL+"/token", issuer, append([]sts.Option{sts.WithStepUp(subjects, factor)}, opts...)...)
	require.NoError(t, err)
	idp.Config.Handler = server

	// Checkout, which needs a second factor to pay.
	shop := httptest.NewServer(nil)
	t.Cleanup(shop.Close)
	pv, err := dpop.NewVerifier()
	require.NoError(t, err)
	rv, err := dpop.NewRequestVerifier(subjects, pv, dpop.WithExternalURL(shop.URL))
	require.NoError(t, err)
	a, err := authn.New(authn.Policy{Token: authn.AccessToken}, authn.WithAccessTokens(rv))
	require.NoError(t, err)
	az, err := authz.AuthorizePolicy(authz.Policy{
		ACRLevels: []string{"pwd", "mfa", "phr"},
		Rules: []authz.Rule{{
			ID: "pay", Effect: authz.Allow, Routes: []string{"POST /pay"},
			Match: authz.Match{MinACR: "mfa", MaxAuthAge: authz.Duration(5 * time.Minute)},
		}},
	})
	require.NoError(t, err)
	mw, err := middleware.New(a, guard.WithAuthorizer(az))
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("POST /pay", mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := authn.PrincipalFromContext(r.Context())
		_, _ = w.Write([]byte("paid by " + p.Subject + " at " + p.ACR))
	})))
	shop.Config.Handler = mux
	return &stepUpLoop{issuer: issuer, tokenURL: idp.URL + "/token", shopURL: shop.URL}
}

// signIn is the customer's password sign-in an hour ago: a token for
// checkout from the storefront, bound to p's key.
func (l *stepUpLoop) signIn(t *testing.T, p *dpop.Proofer) string {
	t.Helper()
	tok, err := l.issuer.Issue(context.Background(), tokens.TokenRequest{
		Subject: "customer-42", ClientID: "storefront", Audience: []string{checkoutAud},
		Scopes: []string{"checkout:write"}, ACR: "pwd", AMR: []string{"pwd"}, AuthTime: time.Now().Add(-time.Hour),
		DPoPKeyThumbprint: p.Thumbprint(),
	})
	require.NoError(t, err)
	return tok
}

// heldToken is the storefront's current token for the customer.
type heldToken struct{ v atomic.Value }

func (h *heldToken) AccessToken(context.Context) (string, error) { return h.v.Load().(string), nil }

// pay posts a payment with the held token, proved by p.
func (l *stepUpLoop) pay(t *testing.T, p *dpop.Proofer, tok *heldToken) *http.Response {
	t.Helper()
	c := &http.Client{Transport: &dpop.Transport{Proofer: p, Token: tok}, Timeout: 10 * time.Second}
	resp, err := c.Post(l.shopURL+"/pay", "text/plain", nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func (l *stepUpLoop) stepper(t *testing.T, p *dpop.Proofer) *grant.StepUpper {
	t.Helper()
	s, err := grant.NewStepUpper(l.tokenURL, "storefront", grant.NoClientAuth(), grant.WithDPoP(p), grant.WithInsecureHTTP())
	require.NoError(t, err)
	return s
}

// customerCode is what the customer's authenticator app shows now.
func customerCode(t *testing.T) string {
	t.Helper()
	c, err := totp.GenerateCode(customerTOTP, time.Now())
	require.NoError(t, err)
	return c
}

// The loop the issue asks for: the pwd token is refused with the RFC 9470
// challenge, dpop.AdviseHTTP says step up with acr_values, the customer
// types the code, the storefront steps up at the token service and retries
// with the new token, which passes.
func TestStepUpLoop(t *testing.T) {
	l := newStepUpLoop(t)
	p := newProofer(t)
	held := &heldToken{}
	held.v.Store(l.signIn(t, p))

	resp := l.pay(t, p, held)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	adv, err := dpop.AdviseHTTP(resp)
	require.NoError(t, err)
	require.Equal(t, dpop.ActionStepUp, adv.Action)
	assert.Equal(t, []string{"mfa", "phr"}, adv.ACRValues)
	assert.True(t, adv.HasMaxAge)

	tok, err := l.stepper(t, p).StepUp(context.Background(), held.v.Load().(string), grant.StepUpRequest{
		ACRValues: adv.ACRValues, MaxAge: adv.MaxAge, HasMaxAge: adv.HasMaxAge, OTP: redact.NewSecret(customerCode(t)),
	})
	require.NoError(t, err)
	assert.Equal(t, grant.TokenTypeDPoP, tok.TokenType)
	assert.Equal(t, []string{"checkout:write"}, tok.Scopes)
	held.v.Store(tok.AccessToken)

	resp = l.pay(t, p, held)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// The refusals, as the client sees them: each an *grant.Error with the
// server's code.
func TestStepUpLoopRefusals(t *testing.T) {
	ctx := context.Background()
	mfa := []string{"mfa", "phr"}
	refused := func(t *testing.T, err error, code, description string) {
		t.Helper()
		var ge *grant.Error
		require.ErrorAs(t, err, &ge)
		assert.ErrorIs(t, err, grant.ErrRefused)
		assert.Equal(t, code, ge.Code)
		assert.Equal(t, description, ge.Description)
	}
	wrong := func(t *testing.T) string {
		var near []string
		for d := -2; d <= 2; d++ {
			c, err := totp.GenerateCode(customerTOTP, time.Now().Add(time.Duration(d)*30*time.Second))
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

	t.Run("wrong code", func(t *testing.T) {
		l := newStepUpLoop(t)
		p := newProofer(t)
		_, err := l.stepper(t, p).StepUp(ctx, l.signIn(t, p), grant.StepUpRequest{ACRValues: mfa, OTP: redact.NewSecret(wrong(t))})
		refused(t, err, "invalid_grant", "the one-time password is invalid")
	})
	t.Run("reused code", func(t *testing.T) {
		l := newStepUpLoop(t)
		p := newProofer(t)
		s, subject, c := l.stepper(t, p), l.signIn(t, p), customerCode(t)
		_, err := s.StepUp(ctx, subject, grant.StepUpRequest{ACRValues: mfa, OTP: redact.NewSecret(c)})
		require.NoError(t, err)
		_, err = s.StepUp(ctx, subject, grant.StepUpRequest{ACRValues: mfa, OTP: redact.NewSecret(c)})
		refused(t, err, "invalid_grant", "the one-time password has been used before")
	})
	t.Run("proof by another key", func(t *testing.T) {
		l := newStepUpLoop(t)
		p, thief := newProofer(t), newProofer(t)
		_, err := l.stepper(t, thief).StepUp(ctx, l.signIn(t, p), grant.StepUpRequest{ACRValues: mfa, OTP: redact.NewSecret(customerCode(t))})
		refused(t, err, "invalid_grant", "the DPoP proof is not made with the key the subject_token is bound to")
	})
	t.Run("locked after too many failures", func(t *testing.T) {
		l := newStepUpLoop(t, sts.WithStepUpAttempts(3, time.Hour))
		p := newProofer(t)
		s, subject := l.stepper(t, p), l.signIn(t, p)
		for range 3 {
			_, err := s.StepUp(ctx, subject, grant.StepUpRequest{ACRValues: mfa, OTP: redact.NewSecret(wrong(t))})
			refused(t, err, "invalid_grant", "the one-time password is invalid")
		}
		_, err := s.StepUp(ctx, subject, grant.StepUpRequest{ACRValues: mfa, OTP: redact.NewSecret(customerCode(t))})
		refused(t, err, "invalid_grant", "too many failed second-factor attempts; try again later")
	})
	t.Run("acr not requested", func(t *testing.T) {
		l := newStepUpLoop(t)
		p := newProofer(t)
		_, err := l.stepper(t, p).StepUp(ctx, l.signIn(t, p), grant.StepUpRequest{ACRValues: []string{"phr"}, OTP: redact.NewSecret(customerCode(t))})
		refused(t, err, "invalid_request", "the second factor does not reach any of the requested acr_values")
	})
}

// What the client refuses to send, and its configuration errors.
func TestStepUpperMisuse(t *testing.T) {
	ctx := context.Background()
	_, err := grant.NewStepUpper("https://id.shop.test/token", "storefront", grant.NoClientAuth())
	assert.ErrorIs(t, err, grant.ErrInvalidConfig, "no DPoP")
	_, err = grant.NewStepUpper("https://id.shop.test/token", "storefront", grant.NoClientAuth(), grant.WithDPoP(newProofer(t)), grant.WithCacheSize(3))
	assert.ErrorIs(t, err, grant.ErrInvalidConfig, "an Exchanger's option")
	s, err := grant.NewStepUpper("https://id.shop.test/token", "", grant.NoClientAuth(), grant.WithDPoP(newProofer(t)))
	require.NoError(t, err)
	code := redact.NewSecret("123456")
	for name, tc := range map[string]struct {
		subject string
		req     grant.StepUpRequest
		want    error
	}{
		"no subject token":  {"", grant.StepUpRequest{ACRValues: []string{"mfa"}, OTP: code}, grant.ErrNoSubjectToken},
		"no acr values":     {"t", grant.StepUpRequest{OTP: code}, grant.ErrInvalidConfig},
		"acr with a space":  {"t", grant.StepUpRequest{ACRValues: []string{"m fa"}, OTP: code}, grant.ErrInvalidConfig},
		"negative max_age":  {"t", grant.StepUpRequest{ACRValues: []string{"mfa"}, MaxAge: -time.Second, HasMaxAge: true, OTP: code}, grant.ErrInvalidConfig},
		"no code":           {"t", grant.StepUpRequest{ACRValues: []string{"mfa"}}, grant.ErrInvalidConfig},
		"code with newline": {"t", grant.StepUpRequest{ACRValues: []string{"mfa"}, OTP: redact.NewSecret("12\n456")}, grant.ErrInvalidConfig},
	} {
		_, err := s.StepUp(ctx, tc.subject, tc.req)
		assert.True(t, errors.Is(err, tc.want), name)
	}
	_, err = (*grant.StepUpper)(nil).StepUp(ctx, "t", grant.StepUpRequest{})
	assert.ErrorIs(t, err, grant.ErrInvalidConfig)
}
