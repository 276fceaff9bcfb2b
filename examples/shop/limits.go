package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/risk/rediscounter"
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

// counterPrefix is the prefix of the shop's counter keys in Redis.
const counterPrefix = "ztkit:shop:ctr:"

// counters are checkout's velocity counters, which its rate limits and its
// risk policy's velocity rules count in.
type counters struct {
	ctr risk.Counter
	// where says where the counts are kept, for the startup lines.
	where string
	// client is the Redis client, nil in memory; Close closes it.
	client *redis.Client
}

// openCounters returns checkout's counters: in memory, for this one
// replica, when redisAddr is ""; else in the Redis at redisAddr (package
// risk/rediscounter), where every replica of checkout counts against the
// same limits. It fails when that Redis does not answer, rather than start a
// checkout whose limits refuse every order (they fail closed).
func openCounters(ctx context.Context, redisAddr string) (*counters, error) {
	if redisAddr == "" {
		return &counters{ctr: risk.NewMemoryCounter(0), where: "in memory (this replica; -redis-addr shares them)"}, nil
	}
	// rediscounter's advice: one dial and one try per command, so that a
	// decision falls back at once while Redis is down, and deadlines honoured
	// by go-redis itself.
	client := redis.NewClient(&redis.Options{Addr: redisAddr, ContextTimeoutEnabled: true, DialerRetries: 1, MaxRetries: 1})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		return nil, errors.Join(fmt.Errorf("redis at %s: %w", redisAddr, err), client.Close())
	}
	// Key names are HMACs under a secret, so that who can list the keys
	// cannot test guesses of a customer or an IP prefix. Replicas of a real
	// service share one key (from package secrets); the demo makes a random
	// one, so that each run starts with fresh counts.
	hashKey := make([]byte, 32)
	if _, err := rand.Read(hashKey); err != nil {
		return nil, errors.Join(err, client.Close())
	}
	ctr, err := rediscounter.New(client, rediscounter.WithKeyPrefix(counterPrefix), rediscounter.WithHashKey(hashKey))
	if err != nil {
		return nil, errors.Join(err, client.Close())
	}
	return &counters{ctr: ctr, client: client, where: "in Redis at " + redisAddr + " (shared by every replica)"}, nil
}

// Close closes the Redis client, if any.
func (c *counters) Close() error {
	if c.client == nil {
		return nil
	}
	return c.client.Close()
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
