package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/grant"
)

// largeOrder is step 21's order, in euro cents: over risk.json's limit.
const largeOrder = 129900

// stepUpSteps plays steps 21 and 22, the step-up loop (RFC 9470) driven by
// the risk of the order: the customer, signed in on a new device (a new
// DPoP key, never seen for this customer), places a large order, which the
// risk policy steps up; the storefront reads the challenge, has the
// customer enter a TOTP code, steps the token up at the identity service
// and retries. The same order from a known device (proofer's key, which
// ordered in step 2) passes with no step-up. Then a guessed code and a
// replayed one are refused.
func (s *stage) stepUpSteps(ctx context.Context, p *printer, proofer *dpop.Proofer) error {
	orders := s.coURL + "/orders"
	p.line("21. The customer signs in on a new device (pwd+otp, as in step 1): the storefront makes a new DPoP key for the session, a key")
	p.line("    never seen for this customer. A large order (EUR %d.%02d) from it scores new_device + amount_over_limit in risk.json: the", largeOrder/100, largeOrder%100)
	p.line("    guard's risk step (Guard.CheckRisk in the order handler) asks for acr mfa within the last minute, with an RFC 9470 step-up")
	p.line("    challenge. The storefront has the customer enter the code of their authenticator app, steps up at the identity service (a")
	p.line("    token exchange of the customer's token with acr_values, max_age and the code: tokens/grant StepUpper) and retries.")
	newKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	newDevice, err := dpop.NewProofer(newKey, "")
	if err != nil {
		return err
	}
	first, err := s.signIn(ctx, p, newDevice, "the new device's DPoP key", "cart:read checkout:write orders:read payments:write")
	if err != nil {
		return err
	}
	held := &heldToken{tok: first}
	rec := &recorder{base: s.egress, p: p, who: "storefront", peer: "mTLS " + s.w.storefrontID.String()}
	shop := &http.Client{Transport: &dpop.Transport{Base: rec, Proofer: newDevice, Token: held}}

	resp, err := postOrder(ctx, shop, orders, largeOrder)
	if err != nil {
		return err
	}
	adv, advErr := dpop.AdviseHTTP(resp)
	// The policy allowed (checkout-place-order); the risk step refused.
	if _, err := s.expect(outcome{status: http.StatusUnauthorized, reason: authz.ReasonAllowed, rule: "checkout-place-order"})(resp, nil); err != nil {
		return err
	}
	if advErr != nil || adv.Action != dpop.ActionStepUp || adv.Error != "insufficient_user_authentication" || len(adv.ACRValues) == 0 || !adv.HasMaxAge {
		return fmt.Errorf("expected a step-up challenge with acr_values and max_age, got %s %q (%v)", adv.Action, adv.Error, advErr)
	}
	p.line("storefront: challenge %s → advice %s: acr_values %q, max_age %s", adv.Error, adv.Action, strings.Join(adv.ACRValues, " "), adv.MaxAge)

	code, err := s.id.expectedCode(time.Now())
	if err != nil {
		return err
	}
	p.line("identity: (demo only) the TOTP code %s's authenticator app shows now, the one the token service expects: %s", customerID, code)
	idRec := &recorder{base: s.egress, p: p, who: "storefront"}
	stepper, err := grant.NewStepUpper(s.idURL+"/token", "storefront", grant.NoClientAuth(),
		grant.WithDPoP(newDevice), grant.WithInsecureHTTP(), grant.WithHTTPClient(&http.Client{Transport: idRec}))
	if err != nil {
		return err
	}
	req := grant.StepUpRequest{ACRValues: adv.ACRValues, MaxAge: adv.MaxAge, HasMaxAge: adv.HasMaxAge, OTP: redact.NewSecret(code)}
	stepped, err := stepper.StepUp(ctx, first, req)
	if err != nil {
		return fmt.Errorf("expected the identity service to step the customer's token up: %w", err)
	}
	p.line("storefront: stepped up: a new %s token for %s (the code was the second factor; same key, same scopes), retries the order", stepped.TokenType, customerID)
	held.set(stepped.AccessToken)
	if _, err := s.expect(outcome{status: http.StatusCreated, reason: authz.ReasonAllowed, rule: "checkout-place-order"})(postOrder(ctx, shop, orders, largeOrder)); err != nil {
		return err
	}

	p.line("    The same order from a known device (the storefront's key of step 2), with a token from the same sign-in (pwd+otp,")
	p.line("    two minutes ago): only the device differs, the score (30) stays under step_up_at, and it passes with no step-up.")
	known, err := s.signIn(ctx, p, proofer, sessionKey, "cart:read checkout:write orders:read payments:write")
	if err != nil {
		return err
	}
	knownShop := &http.Client{Transport: &dpop.Transport{Base: rec, Proofer: proofer, Token: staticToken(known)}}
	if _, err := s.expect(outcome{status: http.StatusCreated, reason: authz.ReasonAllowed, rule: "checkout-place-order"})(postOrder(ctx, knownShop, orders, largeOrder)); err != nil {
		return err
	}
	pwd := first

	p.line("22. An attacker with the customer's first token and the new device's DPoP key, but not the customer's phone, tries the")
	p.line("    same step-up: with a guessed code, then with the code of step 21 read off the wire. Both are refused (invalid_grant).")
	guess, err := s.wrongCode(time.Now())
	if err != nil {
		return err
	}
	attacker := &recorder{base: s.egress, p: p, who: "attacker  "}
	thief, err := grant.NewStepUpper(s.idURL+"/token", "storefront", grant.NoClientAuth(),
		grant.WithDPoP(newDevice), grant.WithInsecureHTTP(), grant.WithHTTPClient(&http.Client{Transport: attacker}))
	if err != nil {
		return err
	}
	for _, try := range []struct{ what, code string }{{"a guessed code", guess}, {"step 21's code, replayed", code}} {
		req.OTP = redact.NewSecret(try.code)
		_, err := thief.StepUp(ctx, pwd, req)
		var refused *grant.Error
		if !errors.As(err, &refused) || !errors.Is(err, grant.ErrRefused) || refused.Code != "invalid_grant" {
			return fmt.Errorf("expected the identity service to refuse a step-up with %s with invalid_grant, got %v", try.what, err)
		}
		// The description is the token service's fixed text: it never
		// holds the code or a token (package sts).
		p.line("attacker  : step-up refused (%s): %s (%s)", try.what, refused.Code, refused.Description)
	}
	return nil
}

// wrongCode returns a code that the customer's authenticator app shows
// neither at now nor one step either side, as a guess would be.
func (s *stage) wrongCode(now time.Time) (string, error) {
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		c, err := s.id.expectedCode(now.Add(d))
		if err != nil {
			return "", err
		}
		valid[c] = true
	}
	for _, guess := range []string{"123456", "654321", "000000", "999999"} {
		if !valid[guess] {
			return guess, nil
		}
	}
	return "", errors.New("no wrong code found")
}

// heldToken is the storefront's current token for the customer, replaced
// after a step-up. It is safe for concurrent use.
type heldToken struct {
	mu  sync.Mutex
	tok string
}

// AccessToken implements dpop.TokenSource.
func (h *heldToken) AccessToken(context.Context) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tok, nil
}

func (h *heldToken) set(tok string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tok = tok
}
