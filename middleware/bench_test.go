package middleware_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/middleware"
)

// benchSink keeps results alive so the compiler cannot drop the work.
var benchSink *authn.Principal

// benchWriter is a ResponseWriter that discards everything; an accepted
// request never makes the middleware touch it.
type benchWriter struct{ h http.Header }

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) WriteHeader(int)             {}

// BenchmarkMiddleware measures what the middleware adds to authentication:
// telemetry, the principal and its context. The policy is a cheap one, an
// mTLS peer on a prebuilt connection state whose verified leaf is cached
// after the first request, so the middleware's own cost is visible.
//
// "authenticate" is Authenticate alone; each "middleware/…" is the whole
// middleware around an empty handler that reads the principal. The overhead
// is the difference; the target is at most 1.5 µs and 10 allocations.
func BenchmarkMiddleware(b *testing.B) {
	iss := shoprig.NewIssuer(b, shoprig.TrustDomain)
	svid := shoprig.SVID(b, iss, shoprig.Checkout)
	a, err := authn.New(authn.Policy{Peer: authn.MatchID(shoprig.Checkout)}, authn.WithX509Bundles(iss.X509Bundle()))
	require.NoError(b, err)
	state := &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true, PeerCertificates: svid.Certificates}
	newRequest := func(ctx context.Context) *http.Request {
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, "https://payments.shop.example/orders/123", nil)
		r.TLS = state
		r.Pattern = mwRoute
		return r
	}

	b.Run("authenticate", func(b *testing.B) {
		r := newRequest(context.Background())
		b.ReportAllocs()
		for b.Loop() {
			p, err := a.Authenticate(r.Context(), r)
			if err != nil {
				b.Fatal(err)
			}
			benchSink = p
		}
	})

	reader := sdkmetric.NewManualReader()
	sdk := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	b.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(discardExporter{})))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("bench").Start(context.Background(), "GET /orders/{id}")
	b.Cleanup(func() { span.End() })

	for _, v := range []struct {
		name   string
		meters metric.MeterProvider
		ctx    context.Context
	}{
		{"middleware/noop", metricnoop.NewMeterProvider(), context.Background()},
		{"middleware/sdk", sdk, context.Background()},
		{"middleware/sdk+span", sdk, ctx},
	} {
		b.Run(v.name, func(b *testing.B) {
			mw, err := middleware.New(a, guard.WithMeterProvider(v.meters))
			require.NoError(b, err)
			h := mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				p, ok := authn.PrincipalFromContext(r.Context())
				if !ok {
					panic("no principal")
				}
				benchSink = p
			}))
			w := &benchWriter{h: http.Header{}}
			r := newRequest(v.ctx)
			h.ServeHTTP(w, r) // warm the peer cache and the attribute sets
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkMiddlewareAuthz is the middleware/noop case with a policy: it
// adds the decision and the canonical path hand-off, which must not allocate
// for a path that is already canonical.
func BenchmarkMiddlewareAuthz(b *testing.B) {
	iss := shoprig.NewIssuer(b, shoprig.TrustDomain)
	svid := shoprig.SVID(b, iss, shoprig.Checkout)
	a, err := authn.New(authn.Policy{Peer: authn.MatchID(shoprig.Checkout)}, authn.WithX509Bundles(iss.X509Bundle()))
	require.NoError(b, err)
	az, err := authz.AuthorizePolicy(authz.Policy{Rules: []authz.Rule{
		{ID: "orders", Effect: authz.Allow, Routes: []string{mwRoute}, Match: authz.Match{Peers: []string{shoprig.Checkout.String()}}},
	}})
	require.NoError(b, err)
	mw, err := middleware.New(a, guard.WithMeterProvider(metricnoop.NewMeterProvider()), guard.WithAuthorizer(az))
	require.NoError(b, err)
	h := mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		p, ok := authn.PrincipalFromContext(r.Context())
		if !ok {
			panic("no principal")
		}
		benchSink = p
	}))
	state := &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true, PeerCertificates: svid.Certificates}
	for _, target := range []string{"/orders/123", "/orders/%31%32%33"} {
		b.Run("path="+target, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "https://payments.shop.example"+target, nil)
			r.TLS = state
			r.Pattern = mwRoute
			w := &benchWriter{h: http.Header{}}
			h.ServeHTTP(w, r)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}

// discardExporter drops spans.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }
