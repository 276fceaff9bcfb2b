package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/middleware"
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/tokens/grant"
)

// checkoutAudience is the checkout API's identifier in tokens' aud.
const checkoutAudience = "https://checkout.shop.example"

// checkout is the checkout API. ztkit's middleware admits only requests over
// mTLS from an allowed workload that carry a DPoP-bound access token for this
// audience and a fresh proof with the server's nonce, and then asks the
// policy engine (policy.json) whether that principal may call the route.
type checkout struct {
	decide func(format string, args ...any)
	// log writes the checkout's structured log through a redacting handler.
	log *slog.Logger
	// pay is checkout's client of the payments gRPC service.
	pay *paymentsClient
	// handshakes receives the reason of each refused TLS handshake.
	handshakes chan string
	// guard is the middleware's guard (checkoutGuard), whose risk step the
	// order handler runs with the order's amount (Guard.CheckRisk).
	guard *guard.Guard

	mu sync.Mutex
	// orders maps an order ID to the customer who placed it.
	orders map[string]string
	next   int
	// devices maps a customer to the DPoP key thumbprints (RFC 7638) of the
	// devices their orders came from: risk's History.Devices.
	devices map[string]map[string]bool
	// last is the policy engine's last decision, for the scenario to check.
	last    authz.Decision
	hasLast bool
}

func newCheckout(decide func(format string, args ...any), log *slog.Logger) *checkout {
	return &checkout{decide: decide, log: log, handshakes: make(chan string, 4), orders: map[string]string{}, next: 1001,
		devices: map[string]map[string]bool{}}
}

// routes returns the API, with auth (middleware.FromGuard) around each route.
func (c *checkout) routes(auth func(http.Handler) http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /orders", auth(http.HandlerFunc(c.createOrder)))
	mux.Handle("GET /orders/{id}", auth(http.HandlerFunc(c.getOrder)))
	mux.Handle("/admin/{path...}", auth(http.HandlerFunc(c.admin)))
	return mux
}

// authorize wraps the policy engine's Authorizer for guard.WithAuthorizer:
// it keeps the decision for the scenario to check.
func (c *checkout) authorize(next authz.Authorizer) authz.Authorizer {
	return func(ctx context.Context, p *authn.Principal, req authz.Request) authz.Decision {
		d := next.Decide(ctx, p, req)
		c.mu.Lock()
		c.last, c.hasLast = d, true
		c.mu.Unlock()
		return d
	}
}

// takeDecision returns the policy engine's last decision and forgets it; ok
// is false when no request reached the engine since the last call.
func (c *checkout) takeDecision() (d authz.Decision, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok = c.last, c.hasLast
	c.last, c.hasLast = authz.Decision{}, false
	return d, ok
}

// principal returns the request's principal; the middleware lets no request
// through without one.
func principal(w http.ResponseWriter, r *http.Request) (*authn.Principal, bool) {
	p, ok := authn.PrincipalFromContext(r.Context())
	if !ok {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
	return p, ok
}

// order is the body of POST /orders. Total is in the currency's minor
// units (cents).
type order struct {
	Cart     string `json:"cart"`
	Total    int64  `json:"total"`
	Currency string `json:"currency"`
}

// createOrder places an order. The policy has already checked the peer, the
// token's binding and its checkout:write scope; the risk of this order, now
// (its amount, and whether the DPoP key is a device the customer ordered
// from before), is decided here, where the amount is known, with the
// guard's risk step (Guard.CheckRisk): a step-up is answered with the RFC
// 9470 challenge, as the middleware answers its own refusals.
func (c *checkout) createOrder(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<10))
	var o order
	if err != nil || json.Unmarshal(body, &o) != nil {
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	devices := slices.Sorted(maps.Keys(c.devices[p.Subject]))
	c.mu.Unlock()
	req := inbound.FromHTTP(r)
	if ref := c.guard.CheckRisk(r.Context(), &req, "checkout", risk.Signals{
		Amount: o.Total, Currency: o.Currency, History: risk.History{Devices: devices},
	}); ref != nil {
		c.decide("checkout: %d %s order of %s for %s from device %s…: %s", ref.HTTPStatus(), ref.Reason, money(o), p.Subject, p.KeyThumbprint[:8], ref.Detail)
		middleware.Refuse(w, r, ref)
		return
	}
	c.mu.Lock()
	id := fmt.Sprintf("ord_%d", c.next)
	c.next++
	c.orders[id] = p.Subject
	c.mu.Unlock()
	// Payments, over gRPC, for the customer: the Exchanger in c.pay trades
	// the customer's token, the one this request carries, for a token for
	// payments naming checkout as the actor (payments.go).
	charge, err := c.pay.Charge(grant.ContextWithSubjectToken(r.Context(), accessToken(r)), id)
	if err != nil {
		c.decide("checkout: gRPC Charge(%s) [mTLS, DPoP token, DPoP proof] → %s", id, grpcOutcome(err))
		http.Error(w, http.StatusText(http.StatusBadGateway), http.StatusBadGateway)
		return
	}
	c.decide("checkout: gRPC Charge(%s) [mTLS, DPoP token, DPoP proof] → OK, charge %s", id, charge)
	c.decide("checkout: 201 allow  order %s of %s for %s via %s from %s (%s, acr %s, proof key %s…)",
		id, money(o), p.Subject, p.ClientID, p.Peer, p.Methods, p.ACR, p.KeyThumbprint[:8])
	c.mu.Lock()
	if c.devices[p.Subject] == nil {
		c.devices[p.Subject] = map[string]bool{}
	}
	c.devices[p.Subject][p.KeyThumbprint] = true
	c.mu.Unlock()
	// A careless log line of the kind services write every day: the whole
	// request body and the Authorization header. The redacting handler keeps
	// the card, the e-mail and the token out of the log.
	c.log.Info("order received", "authorization", r.Header.Get("Authorization"), "body", string(body))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"order": id, "status": "created"})
}

// getOrder returns an order to the customer who placed it. The policy decides
// who may call the route at all; whose order it is, it cannot know: that
// check is the handler's.
func (c *checkout) getOrder(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	c.mu.Lock()
	owner, found := c.orders[id]
	c.mu.Unlock()
	if !found || owner != p.Subject {
		c.decide("checkout: 404 deny   no order %q for this customer", id)
		http.NotFound(w, r)
		return
	}
	c.decide("checkout: 200 allow  order %s for %s via %s from %s", id, p.Subject, p.ClientID, p.Peer)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"order": id, "status": "created"})
}

// admin is the back office: refunds, order search. Only the policy's
// admin-console rule lets a request get here.
func (c *checkout) admin(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(w, r)
	if !ok {
		return
	}
	c.decide("checkout: 200 allow  admin %s %s for %s", r.Method, r.URL.Path, p.Subject)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
}

// accessToken returns the access token of r's Authorization header: the
// customer's DPoP-bound token, which the middleware has verified.
func accessToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "DPoP") {
		return ""
	}
	return tok
}

// handshakeLog is the checkout server's error log. It passes the reason of
// each refused TLS handshake to c.handshakes, for the scenario to print, and
// drops the rest.
type handshakeLog struct{ c *checkout }

func (l handshakeLog) Write(b []byte) (int, error) {
	// net/http logs "http: TLS handshake error from <addr>: <reason>".
	const prefix = "http: TLS handshake error from "
	if rest, ok := strings.CutPrefix(strings.TrimSpace(string(b)), prefix); ok {
		if _, reason, ok := strings.Cut(rest, ": "); ok {
			select {
			case l.c.handshakes <- reason:
			default: // nobody is waiting (-serve): drop it
			}
		}
	}
	return len(b), nil
}

// money formats an order's total, "EUR 1299.00".
func money(o order) string {
	return fmt.Sprintf("%s %d.%02d", o.Currency, o.Total/100, o.Total%100)
}
