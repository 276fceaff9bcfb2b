package grant_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/grant"
	"github.com/ztkit/ztkit/tokens/sts"
	stotp "github.com/ztkit/ztkit/tokens/sts/totp"
)

// The storefront steps up a customer's password-level token after a
// resource server's RFC 9470 challenge asked for acr "mfa": the customer
// types the code of their authenticator app, and the identity service (ztkit's
// token service with TOTP step-up) issues the same customer's token at acr
// mfa, bound to the same DPoP key. The code works once. Every clock is the
// example's, so the code is always the same.
func ExampleStepUpper() {
	now := func() time.Time { return time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC) }
	const secret = "JBSWY3DPEHPK3PXP" // the customer's TOTP secret, enrolled in their app
	ctx := context.Background()

	// The identity service.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fmt.Println(err)
		return
	}
	sk, err := tokens.NewSigningKey(key, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	keys, err := tokens.NewKeySet(sk)
	if err != nil {
		fmt.Println(err)
		return
	}
	issuer, err1 := tokens.NewIssuer("https://id.shop.example", keys, tokens.WithClock(now))
	verifier, err2 := tokens.NewVerifier(keys, "https://id.shop.example", []string{"https://checkout.shop.example"}, tokens.WithClock(now))
	factor, err3 := stotp.New(stotp.SecretsFunc(func(_ context.Context, subject string) (redact.Secret[string], error) {
		if subject != "customer-42" {
			return redact.Secret[string]{}, sts.ErrFactorNotEnrolled
		}
		return redact.NewSecret(secret), nil
	}), stotp.WithClock(now))
	if err := errors.Join(err1, err2, err3); err != nil {
		fmt.Println(err)
		return
	}
	idp := httptest.NewServer(nil)
	defer idp.Close()
	server, err := sts.New("https://id.shop.example", idp.URL+"/token", issuer,
		sts.WithStepUp(verifier, factor), sts.WithClock(now))
	if err != nil {
		fmt.Println(err)
		return
	}
	idp.Config.Handler = server

	// The storefront's DPoP key, and the customer's token from a password
	// sign-in an hour ago, bound to it.
	storefrontKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fmt.Println(err)
		return
	}
	proofer, err := dpop.NewProofer(storefrontKey, "", dpop.WithClock(now))
	if err != nil {
		fmt.Println(err)
		return
	}
	pwd, err := issuer.Issue(ctx, tokens.TokenRequest{
		Subject: "customer-42", ClientID: "storefront", Audience: []string{"https://checkout.shop.example"},
		ACR: "pwd", AMR: []string{"pwd"}, AuthTime: now().Add(-time.Hour), DPoPKeyThumbprint: proofer.Thumbprint(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// The code the customer's app shows, which the identity service expects.
	code, err := totp.GenerateCode(secret, now())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("code:", code)

	stepper, err := grant.NewStepUpper(idp.URL+"/token", "storefront", grant.NoClientAuth(),
		grant.WithDPoP(proofer), grant.WithClock(now), grant.WithInsecureHTTP())
	if err != nil {
		fmt.Println(err)
		return
	}
	// acr_values and max_age as dpop.AdviseHTTP read them from the challenge.
	req := grant.StepUpRequest{ACRValues: []string{"mfa", "phr"}, MaxAge: 5 * time.Minute, HasMaxAge: true, OTP: redact.NewSecret(code)}
	tok, err := stepper.StepUp(ctx, pwd, req)
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := verifier.Verify(ctx, tok.AccessToken)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.TokenType, c.Subject, c.ACR, strings.Join(c.AMR, "+"), c.AuthTime.UTC().Format(time.RFC3339),
		c.Confirmation.JKT == proofer.Thumbprint())

	// The same code again (RFC 6238 §5.2).
	_, err = stepper.StepUp(ctx, pwd, req)
	var ge *grant.Error
	if errors.As(err, &ge) {
		fmt.Println(ge.Code+":", ge.Description)
	}
	// Output:
	// code: 667590
	// DPoP customer-42 mfa pwd+otp 2026-12-07T10:00:00Z true
	// invalid_grant: the one-time password has been used before
}
