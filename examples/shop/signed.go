package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ztkit/ztkit/authz/egress"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/middleware"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/webhook"
)

// Signed messages between payments and the outside (steps 24 and 25).
//
// The payment provider delivers events to payments' webhook endpoint over
// HTTPS, signed with Standard Webhooks v1 (HMAC-SHA256) under the endpoint's
// secret, which payments reads from package secrets (webhookSecretName);
// middleware.VerifyWebhooks lets through only a delivery whose signature
// verifies, within the timestamp window, and whose webhook-id it has not
// accepted before. Payments calls a fraud-screening partner with RFC 9421
// signed requests (httpsig.Transport: Content-Digest, ecdsa-p256-sha256,
// created, keyid, nonce) through its own egress allow-list, which lists the
// partner and nothing else; the partner verifies them with
// middleware.VerifySignatures. Both are in-process HTTPS servers on loopback
// with httptest's certificate, which the provider and payments' egress trust.

const (
	// webhookRoute is payments' webhook endpoint.
	webhookRoute = "POST /webhooks/provider"
	// partnerRoute is the partner's screening API.
	partnerRoute = "POST /v1/screenings"
	// webhookSecretName names the webhook secret's source in logs.
	webhookSecretName = "provider-webhook-secret"
	// paymentsKeyID is the keyid of payments' request-signing key, which
	// the partner registered.
	paymentsKeyID = "payments-2026-12"
	// signedSecretFrom says where payments' webhook secret comes from.
	signedSecretFrom = "an embedded secrets.Static source (a random secret the provider made at start)"
)

// The accessors of what the middleware verified: one place each, for the
// packages that own them.
func webhookOf(ctx context.Context) (*webhook.Message, bool) { return webhook.FromContext(ctx) }

func signatureOf(ctx context.Context) (*httpsig.Verified, bool) { return httpsig.FromContext(ctx) }

// signedParties are the payment provider, payments' webhook endpoint, the
// partner, and payments' signing client of the partner.
type signedParties struct {
	// provider signs deliveries with the endpoint's secret and sends them
	// through providerRT, which trusts the endpoint's certificate.
	provider   *webhook.Signer
	providerRT http.RoundTripper
	hooks      *httptest.Server
	events     *paymentEvents
	secret     *secrets.Source
	secretFrom string
	verifier   *webhook.Verifier

	partner *httptest.Server
	screens *partnerAPI
	// egress is payments' outbound allow-list (the partner only); signer
	// signs payments' requests to it.
	egress *egress.Transport
	signer *httpsig.Signer

	closers []func() error
}

// startSigned starts payments' webhook endpoint and the partner, and builds
// the provider's signer and payments' signing client. The webhook secret
// comes from where key comes from (processorKey.openWebhookSecret). decide prints the
// services' lines; logger gets their refusals.
func startSigned(ctx context.Context, key *processorKey, logger *slog.Logger, decide func(string, ...any)) (_ *signedParties, err error) {
	s := &signedParties{}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()
	// The endpoint's secret: the provider made it and keeps it; the shop's
	// operator stored it in the secrets backend (processor.go).
	if s.secret, s.secretFrom, err = key.openWebhookSecret(ctx, logger); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.secret.Close)
	current, err := s.secret.Current()
	if err != nil {
		return nil, err
	}
	// The provider's own copy, for the demo: taken from the source once.
	secret, _ := current.Reveal(webhook.DefaultSecretField)
	if s.provider, err = webhook.NewStandardSigner(secret); err != nil {
		return nil, err
	}
	if s.verifier, err = webhook.NewStandard(webhook.WithSource(s.secret, ""), webhook.WithScope("payments/provider")); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.verifier.Close)
	// The endpoint authenticates no caller (no mTLS, no token: the
	// signature vouches for the message); its guard records and logs the
	// refusals with every other refusal of the shop.
	g, err := guard.NewRecorder(guard.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	hooks, err := middleware.VerifyWebhooks(g, s.verifier)
	if err != nil {
		return nil, err
	}
	s.events = &paymentEvents{decide: decide, processed: map[string]int{}}
	mux := http.NewServeMux()
	mux.Handle(webhookRoute, hooks(s.events))
	s.hooks = startTLS(mux)
	s.closers = append(s.closers, closeServer(s.hooks))
	s.providerRT = s.hooks.Client().Transport

	// Payments' request-signing key; the partner has its public key.
	sigKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sk, err := httpsig.NewSigningKey(paymentsKeyID, httpsig.AlgECDSAP256SHA256, sigKey)
	if err != nil {
		return nil, err
	}
	if s.signer, err = httpsig.NewSigner(sk, httpsig.WithRandomNonce()); err != nil {
		return nil, err
	}
	if s.screens, err = newPartner(sigKey, logger, decide); err != nil {
		return nil, err
	}
	s.partner = startTLS(s.screens.mux)
	s.closers = append(s.closers, closeServer(s.partner))
	if s.egress, err = paymentsEgress(s.partner, logger); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() error { s.egress.CloseIdleConnections(); return nil })
	return s, nil
}

// Close stops the servers and the sources, in reverse order.
func (s *signedParties) Close() error {
	var err error
	for i := len(s.closers) - 1; i >= 0; i-- {
		err = errors.Join(err, s.closers[i]())
	}
	s.closers = nil
	return err
}

// startTLS serves h over HTTPS on loopback with httptest's certificate.
func startTLS(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	return srv
}

func closeServer(srv *httptest.Server) func() error {
	return func() error { srv.Close(); return nil }
}

// paymentsEgress is payments' outbound allow-list: the partner's HTTPS
// endpoint, whose certificate must verify against the partner's CA, pinned
// to its address (Networks); anything else is refused.
func paymentsEgress(partner *httptest.Server, logger *slog.Logger) (*egress.Transport, error) {
	d, err := destination(partner.URL)
	if err != nil {
		return nil, err
	}
	addr, err := netip.ParseAddr(d.Host)
	if err != nil {
		return nil, err
	}
	d.Networks = []netip.Prefix{netip.PrefixFrom(addr, addr.BitLen())}
	list, err := egress.NewList(d)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(partner.Certificate())
	dialer, err := egress.NewDialer(list, egress.WithRootCAs(roots), egress.WithLogger(logger), egress.WithDialTimeout(5*time.Second))
	if err != nil {
		return nil, err
	}
	return egress.NewTransport(dialer)
}

// paymentEvents is payments' webhook handler: it runs only for deliveries
// VerifyWebhooks accepted, and processes each webhook-id once.
type paymentEvents struct {
	decide    func(string, ...any)
	mu        sync.Mutex
	processed map[string]int
}

// paymentEvent is the part of the provider's event payments reads. The
// event also carries the customer's receipt e-mail, which it never prints.
type paymentEvent struct {
	Type string `json:"type"`
	Data struct {
		Order    string `json:"order"`
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	} `json:"data"`
}

func (pe *paymentEvents) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	msg, ok := webhookOf(r.Context())
	if !ok {
		http.Error(w, "no verified webhook", http.StatusInternalServerError)
		return
	}
	var ev paymentEvent
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		http.Error(w, "invalid event", http.StatusBadRequest)
		return
	}
	pe.mu.Lock()
	pe.processed[msg.ID()]++
	n := pe.processed[msg.ID()]
	pe.mu.Unlock()
	if n > 1 {
		// Not reached: VerifyWebhooks refuses a webhook-id it accepted
		// before, within the timestamp window.
		pe.decide("payments: webhook %s again (%d times)", msg.ID(), n)
	} else {
		pe.decide("payments: 200 webhook %s (%s): %s, order %s of %s marked paid",
			msg.ID(), msg.Scheme(), ev.Type, ev.Data.Order, euros(ev.Data.Amount, ev.Data.Currency))
	}
	w.WriteHeader(http.StatusOK)
}

// times returns how many times the event id was processed.
func (pe *paymentEvents) times(id string) int {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	return pe.processed[id]
}

// euros formats cents of currency.
func euros(cents int64, currency string) string {
	return fmt.Sprintf("%s %d.%02d", currency, cents/100, cents%100)
}

// partnerAPI is the fraud-screening partner: it answers only requests that
// payments signed (RFC 9421) over the method, authority, path, query and a
// Content-Digest that matches the body, with a fresh nonce.
type partnerAPI struct {
	mux    *http.ServeMux
	decide func(string, ...any)
}

// newPartner returns the partner, which knows payments' public key under
// paymentsKeyID. Its refusals go to logger, marked as the partner's.
func newPartner(key *ecdsa.PrivateKey, logger *slog.Logger, decide func(string, ...any)) (*partnerAPI, error) {
	vk, err := httpsig.NewVerifyingKey(paymentsKeyID, httpsig.AlgECDSAP256SHA256, &key.PublicKey)
	if err != nil {
		return nil, err
	}
	keys, err := httpsig.NewStaticKeys(vk)
	if err != nil {
		return nil, err
	}
	replay, err := dpop.NewMemoryReplayStore()
	if err != nil {
		return nil, err
	}
	v, err := httpsig.NewVerifier(keys,
		httpsig.WithAlgorithms(httpsig.AlgECDSAP256SHA256),
		httpsig.WithRequiredComponents(httpsig.Derived("@method"), httpsig.Derived("@authority"), httpsig.Derived("@path"),
			httpsig.Derived("@query"), httpsig.Field("content-digest")),
		httpsig.WithRequiredParams("keyid", "nonce"),
		httpsig.WithReplayStore(replay))
	if err != nil {
		return nil, err
	}
	// Only the signature admits payments; the partner's guard records the
	// refusals, in its own log (here the shop's, marked as the partner's).
	g, err := guard.NewRecorder(guard.WithLogger(logger.With("service", "partner")))
	if err != nil {
		return nil, err
	}
	sigs, err := middleware.VerifySignatures(g, v,
		middleware.WithAcceptSignature(`sig1=("@method" "@authority" "@path" "@query" "content-digest");created;keyid;nonce`))
	if err != nil {
		return nil, err
	}
	pa := &partnerAPI{mux: http.NewServeMux(), decide: decide}
	pa.mux.Handle(partnerRoute, sigs(http.HandlerFunc(pa.screen)))
	return pa, nil
}

func (pa *partnerAPI) screen(w http.ResponseWriter, r *http.Request) {
	sig, ok := signatureOf(r.Context())
	if !ok {
		http.Error(w, "no verified signature", http.StatusInternalServerError)
		return
	}
	var req struct {
		Order    string `json:"order"`
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "invalid screening request", http.StatusBadRequest)
		return
	}
	covered := make([]string, 0, len(sig.Components))
	for _, c := range sig.Components {
		covered = append(covered, c.String())
	}
	pa.decide("partner:  200 signature %s by keyid %s (%s) over %s; Content-Digest matches the body: %t; nonce fresh",
		sig.Label, sig.KeyID, sig.Algorithm, strings.Join(covered, " "), sig.DigestChecked)
	pa.decide("partner:  screened order %s of %s: approve", req.Order, euros(req.Amount, req.Currency))
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"decision":"approve"}`)
}

// webhookBody is the provider's payment_intent.succeeded event for order,
// with the customer's receipt e-mail (never printed).
func webhookBody(order string, amount int64) []byte {
	return fmt.Appendf(nil, `{"type":"payment_intent.succeeded","data":{"order":%q,"amount":%d,"currency":"EUR","receipt_email":"ada@example.com"}}`, order, amount)
}

// webhookSteps plays step 24: the provider's delivery is accepted once; the
// same delivery replayed, and the delivery with its amount changed, are
// refused.
func (s *stage) webhookSteps(ctx context.Context, p *printer) error {
	sp := s.signed
	p.line("24. The payment provider tells payments that order ord_1001 is paid: a webhook to %s%s over HTTPS,", sp.hooks.URL, strings.TrimPrefix(webhookRoute, "POST "))
	p.line("    Standard Webhooks v1 (HMAC-SHA256 under the endpoint's secret, which payments reads from a secrets.Source; never printed).")
	p.line("    a. the delivery; b. the same delivery again, replayed by whoever captured it; c. that delivery with the amount changed.")
	const id = "msg_2Yw8fK3pQ1"
	body := webhookBody("ord_1001", 4990)
	h := http.Header{}
	if err := sp.provider.Sign(h, id, time.Now(), body); err != nil {
		return err
	}
	deliver := func(who string, sent []byte, wantStatus int, wantCode string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, sp.hooks.URL+"/webhooks/provider", bytes.NewReader(sent))
		if err != nil {
			return err
		}
		req.Header = h.Clone()
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/problem+json")
		return expectSigned(&recorder{base: sp.providerRT, p: p, who: who}, req, wantStatus, wantCode)
	}
	if err := deliver("provider  ", body, http.StatusOK, ""); err != nil {
		return err
	}
	if err := deliver("attacker  ", body, http.StatusUnauthorized, string(guard.ReasonSignatureReplayed)); err != nil {
		return err
	}
	if err := deliver("attacker  ", webhookBody("ord_1001", 1), http.StatusUnauthorized, string(guard.ReasonSignatureInvalid)); err != nil {
		return err
	}
	if n := sp.events.times(id); n != 1 {
		return fmt.Errorf("expected the delivery to be processed once, got %d", n)
	}
	p.line("payments: webhook %s processed once; the refusals are logged with reason and route (no peer: the provider, on the", id)
	p.line("          internet, presents no client certificate), never the secret, the signature or the customer's e-mail in the event")
	return nil
}

// partnerSteps plays step 25: payments calls the partner with a signed
// request through its egress allow-list; the partner refuses the same
// request with its body changed in flight, and one without a signature.
func (s *stage) partnerSteps(ctx context.Context, p *printer) error {
	sp := s.signed
	p.line("25. Payments asks its fraud-screening partner about the order: %s%s over HTTPS, through its egress allow-list (the partner", sp.partner.URL, strings.TrimPrefix(partnerRoute, "POST "))
	p.line("    only), signed by httpsig.Transport (RFC 9421: Content-Digest, ecdsa-p256-sha256, created, keyid, nonce); the partner verifies")
	p.line("    with middleware.VerifySignatures. a. the signed request; b. the same with its amount changed on the way (a proxy in between);")
	p.line("    c. a request with no signature.")
	u := sp.partner.URL + strings.TrimPrefix(partnerRoute, "POST ")
	body := []byte(`{"order":"ord_1001","amount":4990,"currency":"EUR"}`)
	who := "payments  "
	call := func(rt http.RoundTripper, wantStatus int, wantCode string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/problem+json")
		return expectSigned(rt, req, wantStatus, wantCode)
	}
	signed, err := httpsig.NewTransport(&recorder{base: sp.egress, p: p, who: who}, sp.signer)
	if err != nil {
		return err
	}
	if err := call(signed, http.StatusOK, ""); err != nil {
		return err
	}
	tampered, err := httpsig.NewTransport(&tamper{base: &recorder{base: sp.egress, p: p, who: "proxy     "}}, sp.signer)
	if err != nil {
		return err
	}
	if err := call(tampered, http.StatusUnauthorized, string(guard.ReasonDigestMismatch)); err != nil {
		return err
	}
	return call(&recorder{base: sp.egress, p: p, who: who}, http.StatusUnauthorized, string(guard.ReasonSignatureMissing))
}

// expectSigned sends req through rt and checks the status and, for a
// refusal, the problem's code.
func expectSigned(rt http.RoundTripper, req *http.Request, wantStatus int, wantCode string) error {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return refusalError(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	if resp.StatusCode != wantStatus {
		return fmt.Errorf("expected status %d, got %d", wantStatus, resp.StatusCode)
	}
	if wantCode == "" {
		return nil
	}
	var problem struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(b, &problem); err != nil || problem.Code != wantCode {
		return fmt.Errorf("expected a problem with code %q, got %q (%v)", wantCode, problem.Code, err)
	}
	return nil
}

// refusalError is err without the URL an *url.Error carries.
func refusalError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// tamper is a proxy between payments and the partner that changes the
// amount of a signed request's body, leaving its headers as they are.
type tamper struct{ base http.RoundTripper }

func (t *tamper) RoundTrip(req *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	b = bytes.Replace(b, []byte(`"amount":4990`), []byte(`"amount":1`), 1)
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = nil
	r.ContentLength = int64(len(b))
	return t.base.RoundTrip(r)
}
