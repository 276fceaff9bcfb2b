// Command shop is ztkit's demo shop: an identity service, ztkit's token
// service (tokens/sts), that issues DPoP-bound access tokens, a checkout API that admits only the storefront
// workload over SPIFFE mTLS carrying such a token, a storefront that calls
// checkout with them, and an attacker who tries to reuse what it can steal.
// Everything runs in one process on loopback with embedded defaults (an
// in-process SPIFFE issuer serving the Workload API); no external server is
// needed.
//
// After authentication, checkout asks a policy engine (package authz) whether
// the caller may call the route. Its rules, with those of the storefront,
// the payments service and the admin console, are in policy.json, a file the
// engine watches and reloads while it runs: the scenario edits it, enforcing
// a rule that ran in shadow mode, then saves a broken version that the engine
// rejects, keeping the last good policy.
//
// Checkout charges each order through payments, a gRPC service (payments.go)
// that admits only checkout over SPIFFE mTLS, and asks the same policy, which
// requires a customer's token acted on by checkout: checkout exchanges the
// customer's token at the identity service (RFC 8693, tokens/grant) for a
// DPoP-bound token for payments that names checkout in act, proving who it is
// with its JWT-SVID. The customer's token names checkout in may_act, so the
// storefront, trying the same exchange to act for the customer itself, is
// refused; and checkout's own client-credentials token, which names no
// actor, is refused by payments' policy (actor_mismatch). Payments
// charges the card processor with an API key from package secrets
// (processor.go): an embedded random key by default, or a KV secret in
// OpenBao or Vault with -vault-addr, read again while the shop runs so that a
// new version reaches payments without a restart; never printed. The
// scenario then shows a gRPC call refused for each cause, with the status
// code and ErrorInfo reason the client sees: no token, a replayed proof, a
// method the policy allows nobody, the wrong workload, and no actor.
//
// Checkout also weighs the risk of each order (package risk, through the
// guard's risk step: risk.json, decided in the order handler, which knows
// the amount, with Guard.CheckRisk): a large order from a new device (a DPoP
// key the customer never ordered from) needs a fresh second factor. It is
// refused with an RFC 9470 insufficient_user_authentication challenge,
// which the storefront reads with dpop.AdviseHTTP as a step-up. It has the
// customer enter the code of their authenticator app (TOTP, RFC 6238; the
// identity service prints the code it expects, for the demo only), steps the
// customer's token up at the identity service (tokens/grant's StepUpper;
// tokens/sts with WithStepUp and tokens/sts/totp) and retries with the new
// token, which checkout's exchange carries on to payments. The same order
// from a known device passes with no step-up; a guessed code and a replayed
// one are refused with invalid_grant. risk.json is watched and reloaded
// like policy.json (risk.Watch).
//
// Checkout limits each customer's orders (guard.WithRateLimits, keyed on
// the verified token's subject, not on an address): a card-testing bot's
// burst in a taken-over account is refused with 429 and Retry-After after
// five orders, while another customer behind the same storefront orders on.
// The counters are in memory, or in Redis with -redis-addr, shared by every
// replica.
//
// The storefront's own calls go through an egress allow-list (package
// authz/egress): checkout, over SPIFFE mTLS and only if the server presents
// checkout's SPIFFE ID, and the identity service, in plaintext on loopback.
// The scenario ends with an SSRF that aims the storefront at the cloud
// metadata service and an exfiltration server, refused before any
// connection, and an impostor at checkout's address, refused in the TLS
// handshake before a byte of the request is sent.
//
// Payments also exchanges signed messages with the outside (signed.go). The
// payment provider delivers a webhook to its HTTPS endpoint, signed with
// Standard Webhooks v1 under a secret payments reads from package secrets
// (embedded, or OpenBao KV with -vault-addr); middleware.VerifyWebhooks
// accepts it once, and refuses it replayed (signature_replayed) and with its
// amount changed (signature_invalid). Payments asks a fraud-screening partner
// about the order with an RFC 9421 signed request (httpsig.Transport:
// Content-Digest, ecdsa-p256-sha256, created, keyid, nonce) through an egress
// allow-list of its own; the partner verifies it with
// middleware.VerifySignatures, and refuses the request with its body changed
// on the way (digest_mismatch) and one without a signature
// (signature_missing).
//
//	go run ./examples/shop                                    # run the scenario, print each request and decision, exit 0
//	go run ./examples/shop -serve                             # then keep the services running
//	go run ./examples/shop -policy my-policy.json -serve      # watch a policy file of your own
//	go run ./examples/shop -risk my-risk.json -serve          # watch a risk policy file of your own
//	go run ./examples/shop -redis-addr 127.0.0.1:6379         # rate-limit and velocity counters in Redis
//	go run ./examples/shop -workload-api unix:///run/spire/agent.sock   # identities from a SPIRE agent
//	go run ./examples/shop -vault-addr https://127.0.0.1:8200 -vault-cacert ca.pem \
//		-vault-role-id ROLE -vault-secret-id-file secret-id   # payments' processor key and webhook secret from OpenBao KV
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/authz/egress"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/middleware"
	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "shop:", err)
		os.Exit(1)
	}
}

// run plays the scenario and returns an error if any step's outcome is not
// the expected one.
func run(ctx context.Context, out io.Writer, args []string) (err error) {
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	fs.SetOutput(out)
	serve := fs.Bool("serve", false, "keep the services running after the scenario")
	agent := fs.String("workload-api", "", "SPIFFE Workload API address of a SPIRE agent (unix:///path); default: an embedded issuer")
	policyPath := fs.String("policy", "", "JSON authorization policy file for checkout, watched for changes; default: the embedded policy.json, written to a temporary file")
	redisAddr := fs.String("redis-addr", "", "Redis address (host:port) for checkout's rate-limit and risk velocity counters, shared by replicas; default: in memory")
	riskPath := fs.String("risk", "", "JSON risk policy file for checkout's orders, watched for changes; default: the embedded risk.json, written to a temporary file")
	var vf vaultFlags
	vf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	p := &printer{w: out}

	// SPIFFE identities of the checkout and the storefront.
	w, err := newWorkloads(ctx, *agent)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, w.Close()) }()

	// The shop's structured log, through a redacting handler; the policy
	// engine's decisions and reloads go there too.
	logger, err := newLogger(p)
	if err != nil {
		return err
	}
	policy, err := openPolicy(ctx, *policyPath, w, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, policy.Close()) }()

	// Identity service: signing keys, issuer, JWKS, token endpoint.
	idLn, idURL, err := listen("http")
	if err != nil {
		return err
	}
	signingKey, err := newSigningKey()
	if err != nil {
		return err
	}
	keys, err := tokens.NewKeySet(signingKey)
	if err != nil {
		return err
	}
	issuer, err := tokens.NewIssuer(identityIssuer, keys)
	if err != nil {
		return err
	}
	// Checkout's key for its client assertions (private_key_jwt) at the
	// identity service, for the tokens it gets for itself.
	checkoutClientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	id, err := newIdentity(idURL, keys, issuer, w, w.jwt, checkoutClientKey, logger)
	if err != nil {
		return err
	}
	stopID := startServer(idLn, &http.Server{Handler: id.routes()})
	defer stopID()

	// Checkout API: the issuer's keys from its JWKS, tokens and proofs,
	// nonces, the mTLS peer; all enforced by the middleware.
	coLn, coURL, err := listen("https")
	if err != nil {
		return err
	}
	// Plain HTTP on loopback for the demo; in production the JWKS URL is https.
	remote, err := tokens.NewRemoteKeySet(ctx, idURL+"/.well-known/jwks.json", tokens.WithInsecureHTTP())
	if err != nil {
		return err
	}
	defer remote.Close()
	// Payments' processor key, from package secrets: embedded, or from
	// OpenBao KV with -vault-addr (processor.go).
	key, err := openProcessorKey(ctx, vf, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, key.Close()) }()
	// Payments: a gRPC service over SPIFFE mTLS that checkout calls for the
	// customer, with the customer's token exchanged for one naming checkout
	// as the actor (payments.go).
	ps, err := startPayments(remote, w, policy.engine.Authorizer(), logger, p.line, key.src, &cardProcessor{})
	if err != nil {
		return err
	}
	defer ps.Stop()
	pay, err := dialPayments(w, idURL, ps, checkoutClientKey, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, pay.Close()) }()
	co := newCheckout(p.line, logger)
	co.pay = pay
	// Checkout's velocity counters, for its rate limits and its risk
	// policy's velocity rules: in memory, or in Redis with -redis-addr.
	ctrs, err := openCounters(ctx, *redisAddr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, ctrs.Close()) }()
	riskPolicy, err := openRisk(ctx, *riskPath, ctrs.ctr, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, riskPolicy.Close()) }()
	limits, err := checkoutLimits(ctrs.ctr)
	if err != nil {
		return err
	}
	g, err := checkoutGuard(remote, coURL, w, co.authorize(policy.engine.Authorizer()), riskPolicy.engine, limits, logger)
	if err != nil {
		return err
	}
	co.guard = g
	auth := middleware.FromGuard(g)
	coTLS, err := authn.ServerTLSConfig(w.checkoutSVID, w.checkoutBundles, w.checkoutPeers)
	if err != nil {
		return err
	}
	stopCO := startServer(coLn, &http.Server{
		Handler:   co.routes(auth),
		TLSConfig: coTLS,
		ErrorLog:  log.New(handshakeLog{co}, "", 0),
	})
	defer stopCO()

	// The storefront's outbound transport: checkout and the identity
	// service are listed, nothing else is.
	sfEgress, err := storefrontEgress(w, idURL, coURL, logger)
	if err != nil {
		return err
	}
	defer sfEgress.CloseIdleConnections()

	// Payments' webhook endpoint for the payment provider, and the partner
	// it calls with signed requests (signed.go).
	signed, err := startSigned(ctx, key, logger, p.line)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, signed.Close()) }()

	for _, l := range w.describe {
		p.line("%s", l)
	}
	p.line("identity: %s (JWKS at /.well-known/jwks.json; tokens/sts at /token: token exchange for checkout acting for a customer,", idURL)
	p.line("          client_credentials with private_key_jwt, DPoP-bound tokens; RFC 8414 metadata at /.well-known/oauth-authorization-server)")
	p.line("checkout: %s (POST /orders, GET /orders/{id}, /admin/...: the mTLS peer above and a DPoP-bound token, then the policy)", coURL)
	if riskPolicy.text != nil {
		p.line("risk:     embedded risk.json written to %s, watched every %s (edit it while -serve runs): action checkout, decided by", riskPolicy.path, pollInterval)
	} else {
		p.line("risk:     %s, watched every %s: action checkout, decided by", riskPolicy.path, pollInterval)
	}
	p.line("          checkout's order handler (Guard.CheckRisk) on the amount and the device; in risk.json, new_device (30) +")
	p.line("          amount_over_limit (30, over EUR 500.00) reach step_up_at 50: a step-up to acr mfa within 1m")
	p.line("limits:   POST /orders: %d per customer (the token's subject) per %s (guard.WithRateLimits); counters %s", ordersMax, ordersWindow, ctrs.where)
	p.line("payments: %s (gRPC %s: the mTLS peer above, a DPoP-bound token for %s acted on by checkout, then the policy)", ps.url, chargeMethod, paymentsAudience)
	p.line("payments: card processor key from %s", key.describe())
	p.line("payments: webhooks at %s%s (Standard Webhooks v1, middleware.VerifyWebhooks); secret from %s", signed.hooks.URL, strings.TrimPrefix(webhookRoute, "POST "), signed.secretFrom)
	p.line("payments: egress allow-list: %s (the fraud-screening partner) only; requests signed with httpsig.Transport, keyid %s", signed.partner.URL, paymentsKeyID)
	p.line("%s", describeEgress(sfEgress, w))
	if policy.text != nil {
		p.line("policy:   embedded policy.json written to %s, watched every %s (edit it while -serve runs)", policy.path, pollInterval)
	} else {
		p.line("policy:   %s, watched every %s", policy.path, pollInterval)
	}
	p.line("")

	if err := scenario(ctx, p, &stage{id: id, idURL: idURL, coURL: coURL, payURL: ps.url, pay: pay, w: w, co: co, policy: policy, egress: sfEgress, log: logger, signed: signed}); err != nil {
		return err
	}
	if !*serve {
		return nil
	}
	p.line("")
	p.line("serving; press Ctrl-C to stop")
	<-ctx.Done()
	return nil
}

// checkoutGuard returns the guard of checkout's middleware: mTLS from the peers w
// allows, and a DPoP-bound token for checkoutAudience from the identity
// service (identityIssuer) with a fresh proof carrying the server's nonce; then az
// decides whether that principal may make the request, and limits counts
// the orders of each customer (checkoutLimits). Its risk step, on re, is
// run by the order handler, which knows the amount (Guard.CheckRisk).
func checkoutGuard(keys tokens.KeySource, coURL string, w *workloads, az authz.Authorizer, re *risk.Engine, limits *risk.Limiter, logger *slog.Logger) (*guard.Guard, error) {
	tv, err := tokens.NewVerifier(keys, identityIssuer, []string{checkoutAudience})
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	nonces, err := dpop.NewNonces(secret)
	if err != nil {
		return nil, err
	}
	pv, err := dpop.NewVerifier(dpop.WithNonces(nonces))
	if err != nil {
		return nil, err
	}
	rv, err := dpop.NewRequestVerifier(tv, pv, dpop.WithExternalURL(coURL))
	if err != nil {
		return nil, err
	}
	a, err := authn.New(authn.Policy{Peer: w.checkoutPeers, Token: authn.DPoPBoundToken},
		authn.WithX509Bundles(w.checkoutBundles), authn.WithAccessTokens(rv))
	if err != nil {
		return nil, err
	}
	// No action the middleware can decide alone: the order's amount is in
	// its body, so the handler decides with CheckRisk.
	return guard.New(a, guard.WithNonces(nonces), guard.WithAuthorizer(az), guard.WithLogger(logger),
		guard.WithRateLimits(limits, checkoutScopes()),
		guard.WithRisk(re, guard.ActionsByRoute(nil), nil))
}

// stage is what the scenario plays on.
type stage struct {
	// id is the identity service, where the customer signs in.
	id                   *identity
	idURL, coURL, payURL string
	// pay is checkout's client of payments.
	pay    *paymentsClient
	w      *workloads
	co     *checkout
	policy *policyFile
	// egress is the storefront's outbound transport (storefrontEgress).
	egress *egress.Transport
	// log is the shop's redacting structured log.
	log *slog.Logger
	// signed are the provider, payments' webhook endpoint and the partner.
	signed *signedParties
}

// scenario plays the storefront's and the attacker's requests and checks each outcome.
func scenario(ctx context.Context, p *printer, s *stage) error {
	coOrders := s.coURL + "/orders"
	storefrontKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	proofer, err := dpop.NewProofer(storefrontKey, "")
	if err != nil {
		return err
	}
	// The storefront's connections go through its egress allow-list: mTLS
	// with its SVID to checkout, plain HTTP to the identity service on
	// loopback, nowhere else.
	rec := &recorder{base: s.egress, p: p, who: "storefront", peer: "mTLS " + s.w.storefrontID.String()}

	p.line("1. The customer signs in at the identity service (its login pages are not part of this demo). The storefront receives")
	p.line("   the customer's token for checkout, bound to its DPoP key; may_act names checkout, the one workload that may act for them.")
	tok, err := s.signIn(ctx, p, proofer, sessionKey, "cart:read checkout:write orders:read payments:write")
	if err != nil {
		return err
	}
	shop := &http.Client{Transport: &dpop.Transport{Base: rec, Proofer: proofer, Token: staticToken(tok)}}

	p.line("2. It places an order over mTLS: checkout asks for a nonce, the transport retries with it; the policy allows.")
	p.line("   Checkout exchanges the customer's token at the identity service (tokens/grant, its JWT-SVID as actor_token) for a")
	p.line("   DPoP-bound token for payments naming checkout in act, and charges through payments over gRPC (nonce, dpopgrpc retries).")
	body, err := s.expect(outcome{status: http.StatusCreated, reason: authz.ReasonAllowed, rule: "checkout-place-order"})(post(ctx, shop, coOrders))
	if err != nil {
		return err
	}
	var order struct {
		Order string `json:"order"`
	}
	if err := json.Unmarshal(body, &order); err != nil || !strings.HasPrefix(order.Order, "ord_") {
		return fmt.Errorf("expected an order ID from checkout (%v)", err)
	}
	orderURL := coOrders + "/" + order.Order

	p.line("3. It reads the order back. The policy allows; its shadow rule retire-storefront-order-reads, a dry run, logs that it would forbid.")
	readOrder := func(want outcome) error {
		_, err := s.expect(want)(get(ctx, shop, orderURL))
		return err
	}
	if err := readOrder(outcome{status: http.StatusOK, reason: authz.ReasonAllowed, rule: "checkout-read-order", shadowRule: "retire-storefront-order-reads"}); err != nil {
		return err
	}

	// Steps 4 to 6: the attacker sends through the storefront's own mTLS
	// connection (a compromised dependency, an SSRF): checkout is on the
	// storefront's egress list, so only DPoP stops it.
	p.line("4. An attacker who can send through the storefront's mTLS connection (an SSRF, a bad dependency) replays that request.")
	last := rec.lastRequest()
	attacker := &recorder{base: s.egress, p: p, who: "attacker  ", peer: rec.peer}
	replay, err := http.NewRequestWithContext(ctx, http.MethodGet, orderURL, nil)
	if err != nil {
		return err
	}
	replay.Header = last.Clone()
	if _, err := s.expect(outcome{status: http.StatusUnauthorized})(send(attacker, replay)); err != nil {
		return err
	}

	p.line("5. The attacker presents the stolen token as a plain Bearer token.")
	bearer, err := http.NewRequestWithContext(ctx, http.MethodPost, coOrders, nil)
	if err != nil {
		return err
	}
	bearer.Header.Set("Authorization", "Bearer "+tok)
	if _, err := s.expect(outcome{status: http.StatusUnauthorized})(send(attacker, bearer)); err != nil {
		return err
	}

	p.line("6. The attacker signs fresh proofs with its own key for the stolen token.")
	attackerKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	attackerProofer, err := dpop.NewProofer(attackerKey, "")
	if err != nil {
		return err
	}
	stolen := &http.Client{Transport: &dpop.Transport{Base: attacker, Proofer: attackerProofer, Token: staticToken(tok)}}
	if _, err := s.expect(outcome{status: http.StatusUnauthorized})(post(ctx, stolen, coOrders)); err != nil {
		return err
	}

	p.line("7. A token for browsing only (cart:read) cannot place an order: the policy answers insufficient_scope and names the scope.")
	readOnly, err := s.signIn(ctx, p, proofer, sessionKey, "cart:read")
	if err != nil {
		return err
	}
	browse := &http.Client{Transport: &dpop.Transport{Base: rec, Proofer: proofer, Token: staticToken(readOnly)}}
	if _, err := s.expect(outcome{status: http.StatusForbidden, reason: authz.ReasonInsufficientScope, rule: "checkout-place-order", scope: "checkout:write"})(post(ctx, browse, coOrders)); err != nil {
		return err
	}

	p.line("8. A request for the admin API through the storefront (an SSRF, say): the policy forbids /admin to the storefront's SPIFFE ID, whatever the token.")
	p.line("   It asks for an RFC 9457 problem, whose code is the policy's reason.")
	adminReq, err := http.NewRequestWithContext(ctx, http.MethodGet, s.coURL+"/admin/orders", nil)
	if err != nil {
		return err
	}
	adminReq.Header.Set("Accept", "application/problem+json")
	body, err = s.expect(outcome{status: http.StatusForbidden, reason: authz.ReasonForbidden, rule: "storefront-never-admin"})(shop.Do(adminReq))
	if err != nil {
		return err
	}
	var problem struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(body, &problem); err != nil || problem.Code != string(authz.ReasonForbidden) {
		return fmt.Errorf("expected a problem with code %q (%v)", authz.ReasonForbidden, err)
	}

	// Step 9: the reverse. The attacker has the token and the DPoP key, so
	// token and proof are valid, but not the storefront's SVID.
	p.line("9. An attacker with the storefront's token and DPoP key but no SVID of its own:")
	p.line("   a. over TLS with no client certificate (it trusts the public bundle to reach checkout);")
	noCert := &http.Transport{DialTLSContext: awaitVerdict(tlsconfig.TLSClientConfig(s.w.storefrontBundles, s.w.storefrontServers.TLS()))}
	defer noCert.CloseIdleConnections()
	if err := s.expectHandshakeRefused(ctx, p, proofer, tok, noCert, "no client certificate"); err != nil {
		return err
	}
	p.line("   b. with an X509-SVID for %s that it signed with a CA of its own.", s.w.storefrontID)
	forged, err := s.w.forgedSVID(ctx, s.w.storefrontID)
	if err != nil {
		return err
	}
	forgedTLS, err := authn.ClientTLSConfig(forged, s.w.storefrontBundles, s.w.storefrontServers)
	if err != nil {
		return err
	}
	forgedCert := &http.Transport{DialTLSContext: awaitVerdict(forgedTLS)}
	defer forgedCert.CloseIdleConnections()
	if err := s.expectHandshakeRefused(ctx, p, proofer, tok, forgedCert, "forged SVID"); err != nil {
		return err
	}

	if err := s.hotReload(ctx, p, readOrder); err != nil {
		return err
	}
	if err := s.egressSteps(ctx, p, shop, proofer, tok); err != nil {
		return err
	}
	if err := s.grpcSteps(ctx, p, proofer, tok); err != nil {
		return err
	}
	if err := s.stepUpSteps(ctx, p, proofer); err != nil {
		return err
	}
	if err := s.rateLimitSteps(ctx, p, proofer); err != nil {
		return err
	}
	if err := s.webhookSteps(ctx, p); err != nil {
		return err
	}
	if err := s.partnerSteps(ctx, p); err != nil {
		return err
	}
	p.line("")
	p.line("every request was decided as expected; no token or proof was printed")
	return nil
}

// hotReload edits the policy file while checkout runs (steps 10 to 12) and
// checks the decisions on readOrder before and after. It leaves a file named
// with -policy alone.
func (s *stage) hotReload(ctx context.Context, p *printer, readOrder func(outcome) error) error {
	pf := s.policy
	if pf.text == nil {
		p.line("10-12. Hot reload: skipped, the policy is your file (-policy) and the scenario writes only to its own copy.")
		return nil
	}
	p.line("10. Hot reload: the operator enforces retire-storefront-order-reads (deletes its \"shadow\": true) and saves the file.")
	enforced, err := replaceOnce(pf.text, shadowLine, "")
	if err != nil {
		return err
	}
	if err := pf.swap(ctx, enforced); err != nil {
		return err
	}
	p.line("policy:   reloaded %s", pf.path)
	forbidden := outcome{status: http.StatusForbidden, reason: authz.ReasonForbidden, rule: "retire-storefront-order-reads"}
	if err := readOrder(forbidden); err != nil {
		return err
	}

	p.line("11. A careless edit: the payments rule's min_acr becomes \"MFA\", which is not on the ACR ladder. The engine rejects the file.")
	broken, err := replaceOnce(enforced, paymentsACR, typoACR)
	if err != nil {
		return err
	}
	failures := pf.engine.ReloadFailures()
	if err := pf.write(broken); err != nil {
		return err
	}
	// Check now rather than wait for the next poll. If the poller has read
	// the file already, Reload finds it unchanged and returns nil; either way
	// the rejection is in LastError.
	_ = pf.engine.Reload(ctx)
	rejected := pf.engine.LastError()
	var pe *authz.PolicyError
	if !errors.Is(rejected, authz.ErrUnknownACR) || !errors.As(rejected, &pe) || pe.Line == 0 {
		return fmt.Errorf("expected the engine to reject the file for an unknown acr at a line, got %v", rejected)
	}
	if n := pf.engine.ReloadFailures(); n != failures+1 {
		return fmt.Errorf("expected %d reload failures, got %d", failures+1, n)
	}
	p.line("policy:   rejected %s:%d, rule %s, %s; reload failures: %d; the last good policy stays",
		pe.File, pe.Line, pe.RuleID, pe.Field, pf.engine.ReloadFailures())
	if err := readOrder(forbidden); err != nil {
		return err
	}

	p.line("12. The operator restores the original policy.")
	if err := pf.swap(ctx, pf.text); err != nil {
		return err
	}
	if err := pf.engine.LastError(); err != nil {
		return fmt.Errorf("expected no policy error after the restore, got %w", err)
	}
	p.line("policy:   reloaded %s; no error, reload failures: %d", pf.path, pf.engine.ReloadFailures())
	return nil
}

// expectHandshakeRefused places an order with tok and proofs from proofer over
// base, and checks that checkout refuses the TLS handshake, before any HTTP.
func (s *stage) expectHandshakeRefused(ctx context.Context, p *printer, proofer *dpop.Proofer, tok string, base http.RoundTripper, peer string) error {
	rec := &recorder{base: base, p: p, who: "attacker  ", peer: peer}
	c := &http.Client{Transport: &dpop.Transport{Base: rec, Proofer: proofer, Token: staticToken(tok)}}
	resp, err := post(ctx, c, s.coURL+"/orders")
	if err == nil {
		resp.Body.Close()
		return fmt.Errorf("expected checkout to refuse the TLS handshake, got status %d", resp.StatusCode)
	}
	if tlsAlert(err) == "" {
		return err
	}
	select {
	case reason := <-s.co.handshakes:
		p.line("checkout: TLS deny   %s", reason)
	case <-time.After(5 * time.Second):
		return errors.New("checkout did not report the refused TLS handshake")
	}
	return nil
}

// verdictWait is how long awaitVerdict waits for a server to refuse the
// client's certificate.
const verdictWait = 2 * time.Second

// awaitVerdict returns a dialer for http.Transport.DialTLSContext that, after
// its side of the TLS handshake, waits for the server's verdict on its client
// certificate before it sends anything. In TLS 1.3 the server checks the
// client certificate after the client has finished, so a refusal (an alert)
// can otherwise race with the request being written, and the client reports
// "broken pipe" instead of the server's reason. A server that accepts sends
// no data first; the wait then ends at verdictWait and the connection is
// used as usual.
func awaitVerdict(cfg *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		conn := tls.Client(raw, cfg)
		if err := conn.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		if err := conn.SetReadDeadline(time.Now().Add(verdictWait)); err != nil {
			_ = conn.Close()
			return nil, err
		}
		_, err = conn.Read(make([]byte, 1))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return conn, conn.SetReadDeadline(time.Time{})
		}
		_ = conn.Close()
		if err == nil {
			err = errors.New("server sent data before the request")
		}
		return nil, err
	}
}

// signIn signs the customer in (identity.signIn) with scope, a token bound
// to proofer's key, which key describes, and prints what the token says.
func (s *stage) signIn(ctx context.Context, p *printer, proofer *dpop.Proofer, key, scope string) (string, error) {
	return s.signInAs(ctx, p, customerID, proofer, key, scope)
}

// signInAs is signIn for the customer subject.
func (s *stage) signInAs(ctx context.Context, p *printer, subject string, proofer *dpop.Proofer, key, scope string) (string, error) {
	tok, err := s.id.signIn(ctx, subject, proofer.Thumbprint(), strings.Fields(scope))
	if err != nil {
		return "", err
	}
	p.line("identity: %s signed in (pwd+otp, acr mfa): token for %s, scope %q, may_act %s, bound to %s",
		subject, checkoutAudience, scope, s.id.checkout, key)
	return tok, nil
}

// sessionKey describes the storefront's DPoP key of the customer's
// session, for signIn.
const sessionKey = "the storefront's DPoP key"

type staticToken string

func (t staticToken) AccessToken(context.Context) (string, error) { return string(t), nil }

// post places an order of EUR 49.90 at u with c.
func post(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	return postOrder(ctx, c, u, 4990)
}

// postOrder places an order of total euro cents at u with c.
func postOrder(ctx context.Context, c *http.Client, u string, total int64) (*http.Response, error) {
	body := fmt.Sprintf(`{"cart":"cart_7","total":%d,"currency":"EUR","card":"4111 1111 1111 1111","email":"ada@example.com"}`, total)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.Do(req)
}

func send(rt http.RoundTripper, req *http.Request) (*http.Response, error) { return rt.RoundTrip(req) }

// get reads u with c.
func get(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}

// outcome is what a request to checkout must come to.
type outcome struct {
	status int
	// reason and rule are the policy engine's decision; an empty reason
	// means that the request must be refused before it reaches the engine.
	reason authz.Reason
	rule   string
	// shadowRule, when set, is the shadow rule that must report that it
	// would have forbidden the request.
	shadowRule string
	// scope, when set, is the scope an insufficient_scope challenge must name.
	scope string
}

// expect returns a check that a response and checkout's decision are want;
// it returns the body.
func (s *stage) expect(want outcome) func(*http.Response, error) ([]byte, error) {
	return func(resp *http.Response, err error) ([]byte, error) {
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != want.status {
			return nil, fmt.Errorf("expected status %d, got %d", want.status, resp.StatusCode)
		}
		d, decided := s.co.takeDecision()
		switch {
		case want.reason == "" && decided:
			return nil, fmt.Errorf("expected a refusal before the policy, but the policy decided %s (rule %q)", d.Reason, d.RuleID)
		case want.reason == "":
		case !decided:
			return nil, fmt.Errorf("expected the policy to decide %s, but the request did not reach it", want.reason)
		case d.Reason != want.reason || d.RuleID != want.rule:
			return nil, fmt.Errorf("expected the policy to decide %s by rule %q, got %s by rule %q", want.reason, want.rule, d.Reason, d.RuleID)
		case want.shadowRule != "" && (!d.ShadowDeny || d.ShadowRuleID != want.shadowRule):
			return nil, fmt.Errorf("expected shadow rule %q to report a denial, got %q (shadow deny %v)", want.shadowRule, d.ShadowRuleID, d.ShadowDeny)
		case want.shadowRule == "" && (d.ShadowDeny || d.ShadowAllow):
			return nil, fmt.Errorf("expected no shadow outcome, got rule %q", d.ShadowRuleID)
		}
		if want.scope != "" {
			if code, scope := challenge(resp.Header); code != "insufficient_scope" || scope != want.scope {
				return nil, fmt.Errorf("expected an insufficient_scope challenge for %q, got %q for %q", want.scope, code, scope)
			}
		}
		return body, nil
	}
}

// recorder prints each request and its response, and remembers the headers
// of the last request so the attacker can replay it. It never prints a token
// or a proof.
type recorder struct {
	base http.RoundTripper
	p    *printer
	who  string
	// peer describes the client certificate, for https requests.
	peer string

	mu   sync.Mutex
	last http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.last = req.Header.Clone()
	r.mu.Unlock()
	var what string
	if req.URL.Scheme == "https" {
		what = describe(r.peer, req.Header)
	} else {
		what = describe("", req.Header)
	}
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		// An egress refusal is printed without the URL's path (the
		// endpoint is in the error), and without the client certificate:
		// the storefront refused before presenting it.
		var refused *egress.DestinationError
		switch {
		case errors.As(err, &refused) && refused.Reason == egress.ReasonServerIdentity:
			r.p.line("%s: %s%s → refused in the TLS handshake (%v)", r.who, req.Method, describe("", req.Header), refused)
		case errors.As(err, &refused):
			r.p.line("%s: %s%s → refused before connecting (%v)", r.who, req.Method, describe("", req.Header), refused)
		case tlsAlert(err) != "":
			r.p.line("%s: %s %s%s → refused in the TLS handshake (%s)", r.who, req.Method, req.URL.Path, what, tlsAlert(err))
		}
		return nil, err
	}
	outcome := resp.Status
	adv, advErr := dpop.AdviseHTTP(resp)
	if advErr == nil && adv.Error != "" {
		// What the challenge tells the client to do: the Transport
		// retries a nonce challenge by itself; the rest is the caller's.
		outcome += fmt.Sprintf(" %s (client: %s)", adv.Error, adv.Action)
	}
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if err != nil {
			return nil, err
		}
		var problem struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(body, &problem) == nil {
			outcome += fmt.Sprintf(" (problem code %q)", problem.Code)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.p.line("%s: %s %s%s → %s", r.who, req.Method, req.URL.Path, what, outcome)
	if v := resp.Header.Get("Retry-After"); v != "" && resp.StatusCode == http.StatusTooManyRequests {
		r.p.line("%*s  Retry-After: %s", len(r.who), "", v)
	}
	if resp.StatusCode == http.StatusForbidden || adv.Action == dpop.ActionStepUp {
		// A challenge holds no secret: the scheme, the error, the scopes,
		// the acr values and max_age a step-up needs.
		for _, v := range resp.Header.Values("WWW-Authenticate") {
			r.p.line("%*s  WWW-Authenticate: %s", len(r.who), "", v)
		}
	}
	return resp, nil
}

func (r *recorder) lastRequest() http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// describe says which credentials a request carries, without their values:
// peer describes the TLS client certificate, if any.
func describe(peer string, h http.Header) string {
	var parts []string
	if peer != "" {
		parts = append(parts, peer)
	}
	if a := h.Get("Authorization"); a != "" {
		scheme, _, _ := strings.Cut(a, " ")
		if strings.EqualFold(scheme, "Basic") {
			parts = append(parts, "client secret")
		} else {
			parts = append(parts, scheme+" token")
		}
	}
	if len(h["Dpop"]) > 0 {
		parts = append(parts, "DPoP proof")
	}
	if h.Get("Webhook-Signature") != "" {
		parts = append(parts, "webhook signature")
	}
	if h.Get("Content-Digest") != "" {
		parts = append(parts, "Content-Digest")
	}
	if h.Get("Signature") != "" {
		parts = append(parts, "RFC 9421 signature")
	}
	if len(parts) == 0 {
		return ""
	}
	return " [" + strings.Join(parts, ", ") + "]"
}

// challenge returns the error code of the DPoP or Bearer challenge a
// client acts on and, for insufficient_scope, the scopes it names (RFC 6750
// §3.1), as dpop.Advise reads them.
func challenge(h http.Header) (code, scope string) {
	adv, err := dpop.Advise("", h.Values("WWW-Authenticate"), h.Values("DPoP-Nonce"))
	if err != nil {
		return "", ""
	}
	return adv.Error, strings.Join(adv.Scopes, " ")
}

// tlsAlert returns the alert a server refused the TLS handshake with, such as
// "tls: certificate required", or "" when err is not a TLS refusal.
func tlsAlert(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" {
		return op.Err.Error()
	}
	return ""
}

// printer serialises output lines.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

// Write lets the redacting log handler share the printer's lock.
func (p *printer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w.Write(b)
}

// newLogger returns the checkout's logger: slog text lines, without the time
// so the output reads the same on every run, behind a redact.Handler that
// truncates card numbers as PCI DSS allows, turns e-mails into keyed tokens
// (the same customer gives the same token, so lines can still be joined) and
// masks tokens and secrets. It logs at Debug so that the demo shows every
// authz decision (authz.WithLogger logs allows at Debug, denials at Info) and
// every refusal (guard.WithLogger logs a nonce challenge at Debug, bad
// credentials and denials at Info, signs of an attack at Warn).
func newLogger(p *printer) (*slog.Logger, error) {
	keyBytes := make([]byte, 32)
	if _, err := rand.Read(keyBytes); err != nil {
		return nil, err
	}
	key, err := redact.NewKey(keyBytes)
	if err != nil {
		return nil, err
	}
	r, err := redact.New(redact.WithMode(redact.KindCard, redact.ModeTruncate),
		redact.WithMode(redact.KindEmail, redact.ModeToken), redact.WithKey(key))
	if err != nil {
		return nil, err
	}
	text := slog.NewTextHandler(p, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	h, err := redact.NewHandler(text, r)
	if err != nil {
		return nil, err
	}
	return slog.New(h), nil
}

func (p *printer) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

func newSigningKey() (*tokens.SigningKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return tokens.NewSigningKey(k, "")
}

// listen listens on a free loopback port and returns the URL to reach it with scheme.
func listen(scheme string) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	return ln, scheme + "://" + ln.Addr().String(), nil
}

// startServer serves srv on ln, over TLS when srv has a TLSConfig, and
// returns a function that shuts it down.
func startServer(ln net.Listener, srv *http.Server) func() {
	srv.ReadHeaderTimeout = 5 * time.Second
	if srv.TLSConfig != nil {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "shop: server:", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
}
