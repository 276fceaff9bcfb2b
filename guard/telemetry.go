package guard

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/inbound"
)

// instrumentationName is the OpenTelemetry scope of the decision metrics.
// It names package middleware, where they were first recorded, so that
// dashboards keep working; every transport records under it.
const instrumentationName = "github.com/ztkit/ztkit/middleware"

// Attribute keys, on spans and metrics.
const (
	attrOutcome = attribute.Key("ztkit.authn.outcome")
	attrReason  = attribute.Key("ztkit.authn.reason")
	attrMethods = attribute.Key("ztkit.authn.methods")
	attrBinding = attribute.Key("ztkit.authn.binding")
	attrKind    = attribute.Key("ztkit.authn.principal_kind")
	attrPeerTD  = attribute.Key("ztkit.authn.peer_trust_domain")
	attrMethod  = attribute.Key("http.request.method")
	attrRoute   = attribute.Key("http.route")
	attrAction  = attribute.Key("ztkit.guard.action")
)

// maxSets bounds the cached attribute sets. Every attribute comes from a small
// fixed set or from the service's route patterns (http.route is the pattern,
// never the path), so the bound is not reached in practice; past it, options
// are built per call and not cached.
const maxSets = 1024

type telemetry struct {
	decisions metric.Int64Counter
	duration  metric.Float64Histogram

	mu   sync.RWMutex
	sets map[setKey]*recordOpts
}

// setKey is every attribute of a decision metric. All values come from small
// fixed sets or from the route patterns the service registered.
type setKey struct {
	allow  bool
	reason Reason
	method string
	route  string
	kind   string
	authn  string
	action string
}

type recordOpts struct {
	add []metric.AddOption
	rec []metric.RecordOption
}

func newTelemetry(mp metric.MeterProvider) (*telemetry, error) {
	m := mp.Meter(instrumentationName)
	decisions, err := m.Int64Counter("ztkit.authn.decisions",
		metric.WithDescription("Authentication decisions, by outcome and reason."), metric.WithUnit("{decision}"))
	if err != nil {
		return nil, err
	}
	duration, err := m.Float64Histogram("ztkit.authn.duration",
		metric.WithDescription("Time spent authenticating a request."), metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25))
	if err != nil {
		return nil, err
	}
	return &telemetry{decisions: decisions, duration: duration, sets: map[setKey]*recordOpts{}}, nil
}

// knownMethods are the HTTP methods reported as themselves; others are _OTHER,
// as OpenTelemetry's HTTP semantic conventions say.
func normalizeMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodHead, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

func (t *telemetry) record(ctx context.Context, req *inbound.Request, start time.Time, allow bool, reason Reason, p *authn.Principal, action string) {
	k := setKey{allow: allow, reason: reason, method: normalizeMethod(req.Method), route: routeTemplate(req.Route), action: action}
	if p != nil {
		k.kind, k.authn = p.Kind.String(), p.Methods.String()
	}
	opts := t.opts(k)
	t.decisions.Add(ctx, 1, opts.add...)
	t.duration.Record(ctx, time.Since(start).Seconds(), opts.rec...)

	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if !allow {
		span.SetAttributes(attrOutcome.String("deny"), attrReason.String(string(reason)))
		if action != "" {
			span.SetAttributes(attrAction.String(action))
		}
		return
	}
	attrs := []attribute.KeyValue{
		attrOutcome.String("allow"), attrMethods.String(p.Methods.String()),
		attrBinding.String(p.Binding.String()), attrKind.String(p.Kind.String()),
	}
	if !p.Peer.IsZero() {
		attrs = append(attrs, attrPeerTD.String(p.Peer.TrustDomain().Name()))
	}
	span.SetAttributes(attrs...)
}

// opts returns the cached metric options for k, building them once.
func (t *telemetry) opts(k setKey) *recordOpts {
	t.mu.RLock()
	o, ok := t.sets[k]
	t.mu.RUnlock()
	if ok {
		return o
	}
	outcome := "deny"
	if k.allow {
		outcome = "allow"
	}
	attrs := []attribute.KeyValue{attrOutcome.String(outcome), attrMethod.String(k.method)}
	if k.reason != ReasonNone {
		attrs = append(attrs, attrReason.String(string(k.reason)))
	}
	if k.route != "" {
		attrs = append(attrs, attrRoute.String(k.route))
	}
	if k.kind != "" {
		attrs = append(attrs, attrKind.String(k.kind), attrMethods.String(k.authn))
	}
	if k.action != "" {
		attrs = append(attrs, attrAction.String(k.action))
	}
	set := attribute.NewSet(attrs...)
	o = &recordOpts{add: []metric.AddOption{metric.WithAttributeSet(set)}, rec: []metric.RecordOption{metric.WithAttributeSet(set)}}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.sets) < maxSets {
		t.sets[k] = o
	}
	return o
}

// routeTemplate is the path template of a ServeMux pattern ("[METHOD ][HOST]/PATH"),
// as OpenTelemetry's http.route expects: "GET shop.example/orders/{id}" gives
// "/orders/{id}". A route that is already a path (a gRPC full method) is
// itself.
func routeTemplate(pattern string) string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = strings.TrimLeft(pattern[i+1:], " \t")
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:]
	}
	return pattern
}
