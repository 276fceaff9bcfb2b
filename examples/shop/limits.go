package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// ordersScope is the rate-limit scope of checkout's POST /orders: each
// order is a payment attempt.
const ordersScope = "orders"

// The rate limit of checkout's orders: at most ordersMax attempts per
// customer in ordersWindow, however many devices, networks or storefront
// replicas they come through. A card-testing bot in a taken-over account
// is stopped after ordersMax attempts; a customer never gets near it.
const (
	ordersLimit  = "orders_per_customer"
	ordersMax    = 5
	ordersWindow = 10 * time.Minute
)

// checkoutLimits returns the limiter of checkout's rate limits, on the
// counters ctr: per customer, the access token's verified subject
// (risk.KeyCustomer), never the client's address, which a bot rotates and
// which, behind the storefront, every customer shares. A limit fails
// closed (FailOpen false): with the counters down, no order goes through
// unmetered.
func checkoutLimits(ctr risk.Counter) (*risk.Limiter, error) {
	return risk.NewLimiter(map[string][]risk.Limit{
		ordersScope: {{Name: ordersLimit, Key: risk.KeyCustomer, Window: ordersWindow, Max: ordersMax}},
	}, risk.WithCounter(ctr))
}

// checkoutScopes names checkout's routes by rate-limit scope: POST /orders
// is "orders"; every other route has no limit.
func checkoutScopes() guard.Actions {
	return guard.ActionsByRoute(map[string]string{"POST /orders": ordersScope})
}

// botCustomer is the account a card-testing bot has taken over in step 23.
const botCustomer = "customer-7"

// rateLimitSteps plays step 23, a rate limit per customer: a bot in
// botCustomer's taken-over account sends a burst of small orders (card
// testing) through the storefront: ordersMax pass, the next is refused
// with 429 and Retry-After. customerID, behind the same storefront (the
// same mTLS peer and IP address), then orders from its known device
// (proofer's key) and is not limited by the bot's count.
func (s *stage) rateLimitSteps(ctx context.Context, p *printer, proofer *dpop.Proofer) error {
	orders := s.coURL + "/orders"
	p.line("23. Rate limit: checkout allows each customer %d order attempts per %s (guard.WithRateLimits, on the verified token's", ordersMax, ordersWindow)
	p.line("    subject, not the IP address). A card-testing bot in %s's taken-over account, on a device of its own, sends a burst", botCustomer)
	p.line("    of small orders through the storefront: %d pass, the next is refused with 429 and Retry-After. %s, behind the same", ordersMax, customerID)
	p.line("    storefront (same mTLS peer, same address), orders next, from the known device: the bot's count is not theirs.")
	botKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	botDevice, err := dpop.NewProofer(botKey, "")
	if err != nil {
		return err
	}
	botTok, err := s.signInAs(ctx, p, botCustomer, botDevice, "the bot's DPoP key", "cart:read checkout:write orders:read payments:write")
	if err != nil {
		return err
	}
	rec := &recorder{base: s.egress, p: p, who: "storefront", peer: "mTLS " + s.w.storefrontID.String()}
	bot := &http.Client{Transport: &dpop.Transport{Base: rec, Proofer: botDevice, Token: staticToken(botTok)}}
	placed := outcome{status: http.StatusCreated, reason: authz.ReasonAllowed, rule: "checkout-place-order"}
	for range ordersMax {
		if _, err := s.expect(placed)(post(ctx, bot, orders)); err != nil {
			return err
		}
	}
	// The policy allowed the next one too; the limit refused it.
	resp, err := post(ctx, bot, orders)
	if err != nil {
		return err
	}
	retryAfter := resp.Header.Get("Retry-After")
	if _, err := s.expect(outcome{status: http.StatusTooManyRequests, reason: authz.ReasonAllowed, rule: "checkout-place-order"})(resp, nil); err != nil {
		return err
	}
	if want := strconv.Itoa(int(ordersWindow / time.Second)); retryAfter != want {
		return fmt.Errorf("expected Retry-After %s (the limit's window), got %q", want, retryAfter)
	}
	p.line("storefront: %s is over %s: retry after %s s", botCustomer, ordersLimit, retryAfter)

	tok, err := s.signIn(ctx, p, proofer, sessionKey, "cart:read checkout:write orders:read payments:write")
	if err != nil {
		return err
	}
	shop := &http.Client{Transport: &dpop.Transport{Base: rec, Proofer: proofer, Token: staticToken(tok)}}
	_, err = s.expect(placed)(post(ctx, shop, orders))
	return err
}
