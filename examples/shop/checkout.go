package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/ztkit/ztkit/authn"
)

// checkoutAudience is the checkout API's identifier in tokens' aud.
const checkoutAudience = "https://checkout.shop.example"

// checkout is the checkout API. ztkit's middleware admits only requests over
// mTLS from an allowed workload that carry a DPoP-bound access token for this
// audience and a fresh proof with the server's nonce; the handler then checks
// the scope.
type checkout struct {
	decide func(format string, args ...any)
	// log writes the checkout's structured log through a redacting handler.
	log *slog.Logger
	// handshakes receives the reason of each refused TLS handshake.
	handshakes chan string
}

// routes returns the API, with auth (middleware.New) around each route.
func (c *checkout) routes(auth func(http.Handler) http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /orders", c.decisions(auth(http.HandlerFunc(c.createOrder))))
	return mux
}

func (c *checkout) createOrder(w http.ResponseWriter, r *http.Request) {
	p, ok := authn.PrincipalFromContext(r.Context())
	if !ok { // the middleware lets no request through without one
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	if !p.HasScope("checkout:write") {
		// RFC 6750 §3.1: the caller is authenticated, the token just does not allow this.
		w.Header().Set("WWW-Authenticate", `DPoP error="insufficient_scope", scope="checkout:write"`)
		c.decide("checkout: 403 deny   %s lacks scope checkout:write", p.ClientID)
		http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
		return
	}
	c.decide("checkout: 201 allow  order for %s via %s from %s (%s, acr %s, proof key %s…)",
		p.Subject, p.ClientID, p.Peer, p.Methods, p.ACR, p.KeyThumbprint[:8])
	// A careless log line of the kind services write every day: the whole
	// request body and the Authorization header. The redacting handler keeps
	// the card, the e-mail and the token out of the log.
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<10))
	c.log.Info("order received", "authorization", r.Header.Get("Authorization"), "body", string(body))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"order": "ord_1001", "status": "created"})
}

// decisions prints every refusal of the middleware with its reason. The
// middleware records its decision as attributes of the request's
// OpenTelemetry span (otelhttp would put one there and export it); here a
// minimal recording span in the request's context collects them instead, so
// the demo needs no OpenTelemetry SDK.
func (c *checkout) decisions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		span := &decisionSpan{}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(trace.ContextWithSpan(r.Context(), span)))
		if outcome, reason := span.get("ztkit.authn.outcome"), span.get("ztkit.authn.reason"); outcome == "deny" {
			c.decide("checkout: %d deny   %s", sw.status, reason)
		}
	})
}

// decisionSpan is a recording span that keeps string attributes and ignores
// everything else.
type decisionSpan struct {
	noop.Span
	mu    sync.Mutex
	attrs map[attribute.Key]string
}

func (s *decisionSpan) IsRecording() bool { return true }

func (s *decisionSpan) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attrs == nil {
		s.attrs = make(map[attribute.Key]string, len(kv))
	}
	for _, a := range kv {
		s.attrs[a.Key] = a.Value.Emit()
	}
}

func (s *decisionSpan) get(k attribute.Key) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attrs[k]
}

// statusWriter remembers the status of the response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
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
