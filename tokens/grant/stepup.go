package grant

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/tokens"
)

// StepUpRequest is what a step-up asks for: the acr values and max_age of
// the resource server's RFC 9470 §3 challenge (dpop.Advice's ACRValues,
// MaxAge and HasMaxAge, as dpop.AdviseHTTP and dpopgrpc.Advise read them),
// and the second factor the user gave.
type StepUpRequest struct {
	// ACRValues are the acceptable acr values, in order of preference; at
	// least one.
	ACRValues []string
	// MaxAge, when HasMaxAge, is the largest acceptable age of the user's
	// authentication, sent as max_age in whole seconds.
	MaxAge    time.Duration
	HasMaxAge bool
	// OTP is the one-time password the user entered (RFC 8176 amr "otp"),
	// such as a TOTP code (RFC 6238). It is secret and never printed.
	OTP redact.Secret[string]
}

// StepUpper asks a token endpoint for a token at a higher authentication
// level for the user of an access token the client holds, after the user's
// second factor: an RFC 8693 token exchange whose subject_token is the
// user's current access token, with the acr_values and max_age of RFC 9470
// §4 and the user's one-time password (otp), proved with the DPoP key the
// token is bound to. ztkit's token service answers it (tokens/sts,
// WithStepUp); see its package documentation for the request.
//
//	adv, _ := dpop.AdviseHTTP(resp) // 401 insufficient_user_authentication
//	if adv.Action == dpop.ActionStepUp {
//		tok, err := stepper.StepUp(ctx, customerToken, grant.StepUpRequest{
//			ACRValues: adv.ACRValues, MaxAge: adv.MaxAge, HasMaxAge: adv.HasMaxAge,
//			OTP: redact.NewSecret(codeTheCustomerTyped)})
//		...
//	}
//
// Nothing is cached: every code is used once. A StepUpper is safe for
// concurrent use; create it with [NewStepUpper].
type StepUpper struct {
	e        *endpoint
	subjType string
}

// NewStepUpper returns a StepUpper at the token endpoint at tokenURL (https,
// unless [WithInsecureHTTP]) for clientID, the client the user's tokens were
// issued to, authenticated by auth: [NoClientAuth] for ztkit's token
// service, where the DPoP proof by the token's key is what authenticates
// the holder (clientID may then be "", else it must be the token's
// client_id). [WithDPoP] is required, with the proofer of the key the
// tokens are bound to. It accepts the options of [NewClientCredentials];
// [WithScopes], [WithAudience] and [WithResource] narrow the stepped-up
// token. It returns an error matching [ErrInvalidConfig] when an argument
// or option is unusable.
func NewStepUpper(tokenURL, clientID string, auth ClientAuth, opts ...Option) (*StepUpper, error) {
	cfg, bad := newConfig(forRequest, opts)
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w: options %v do not apply to NewStepUpper", ErrInvalidConfig, bad)
	}
	if cfg.proofer == nil {
		return nil, fmt.Errorf("%w: NewStepUpper needs WithDPoP: the proof by the token's key authenticates the step-up", ErrInvalidConfig)
	}
	e, err := newEndpoint(tokenURL, clientID, auth, cfg, true)
	if err != nil {
		return nil, err
	}
	return &StepUpper{e: e, subjType: tokenTypeAccessToken}, nil
}

// StepUp exchanges subjectToken, the user's current access token (bound to
// the proofer's key), for one at one of r.ACRValues. Errors match
// [ErrNoSubjectToken] for an empty subjectToken, [ErrInvalidConfig] for a
// request without acr values, with an acr value outside RFC 9470 §3's
// grammar, a negative MaxAge or an OTP that is empty or not visible ASCII,
// [ErrRefused] (an [*Error]: "invalid_grant" for a wrong or reused code, a
// user locked out after too many failures, or a proof by another key;
// "invalid_request" for an acr the factor does not reach),
// [ErrUnavailable], [ErrMalformedResponse] or [ErrTokenType]. No error
// contains the code or a token.
func (s *StepUpper) StepUp(ctx context.Context, subjectToken string, r StepUpRequest) (*Token, error) {
	if s == nil || s.e == nil {
		return nil, fmt.Errorf("%w: StepUpper not created by NewStepUpper", ErrInvalidConfig)
	}
	if subjectToken == "" {
		return nil, ErrNoSubjectToken
	}
	if len(r.ACRValues) == 0 {
		return nil, fmt.Errorf("%w: a step-up needs acr values", ErrInvalidConfig)
	}
	for _, v := range r.ACRValues {
		if !tokens.IsScopeToken(v) {
			return nil, fmt.Errorf("%w: an acr value is not a space-free NQCHAR string (RFC 9470 §3)", ErrInvalidConfig)
		}
	}
	if r.HasMaxAge && r.MaxAge < 0 {
		return nil, fmt.Errorf("%w: negative max_age", ErrInvalidConfig)
	}
	code := r.OTP.Reveal()
	if code == "" || !validAccessToken(code) {
		return nil, fmt.Errorf("%w: the one-time password is empty or not visible ASCII", ErrInvalidConfig)
	}
	form := url.Values{
		"grant_type":         {grantTypeExchange},
		"subject_token":      {subjectToken},
		"subject_token_type": {s.subjType},
		"acr_values":         {strings.Join(r.ACRValues, " ")},
		"otp":                {code},
	}
	if r.HasMaxAge {
		form.Set("max_age", strconv.FormatInt(int64(r.MaxAge/time.Second), 10))
	}
	return s.e.request(ctx, form, true)
}
