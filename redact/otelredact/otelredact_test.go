package otelredact_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/redact/otelredact"
)

const (
	card    = "4111 1111 1111 1111"
	cardRaw = "4111111111111111"
	email   = "alice@example.com"
	jwt     = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	bearer  = "opaque-bearer-c2VjcmV0LXRva2Vu"
	pass    = "hunter2-Correct-Horse"
	iban    = "GB82 WEST 1234 5698 7654 32"
	ibanRaw = "GB82WEST12345698765432"
	phone   = "+14155552671"
)

// secrets are the strings no exported span may contain.
var secrets = []string{card, cardRaw, email, jwt, bearer, pass, iban, ibanRaw, phone, "alice@"}

func newRedactor(t testing.TB) *redact.Redactor {
	t.Helper()
	r, err := redact.New()
	require.NoError(t, err)
	return r
}

// recordPIISpan records one span carrying PII everywhere a span can carry it.
func recordPIISpan(tp trace.TracerProvider, i int) {
	ctx := context.Background()
	_, linked := tp.Tracer("test").Start(ctx, "linked")
	linked.End()
	_, s := tp.Tracer("test").Start(ctx, "checkout for "+email,
		trace.WithLinks(trace.Link{
			SpanContext: linked.SpanContext(),
			Attributes:  []attribute.KeyValue{attribute.String("link.customer", email)},
		}))
	s.SetAttributes(
		attribute.String("payment.card", card),
		attribute.String("customer.email", email),
		attribute.String("auth.jwt", "token "+jwt),
		attribute.StringSlice("http.request.header.authorization", []string{"Bearer " + bearer}),
		attribute.String("db.connection", "host=db user=app password="+pass+" sslmode=require"),
		attribute.StringSlice("customer.contacts", []string{"order ord_1001", email, phone}),
		// Not PII: passed on as they are.
		attribute.String("order.id", "ord_1001"),
		attribute.String("order.uuid", "3f2b8c1e-9d4a-4e7b-8c2d-1a2b3c4d5e6f"),
		attribute.String("order.created", "2025-03-14T09:26:53Z"),
		attribute.String("order.total", "1234.56 EUR"),
		attribute.Float64("order.amount", 1234.56),
		attribute.Int64("order.amount_cents", 123456),
		attribute.Int64("order.created_ms", 1741944413000),
		attribute.Int("order.seq", i),
		attribute.Bool("order.paid", false),
		attribute.StringSlice("order.items", []string{"sku_1", "sku_2"}),
	)
	s.AddEvent("card "+card+" declined", trace.WithAttributes(
		attribute.String("payment.card", card),
		attribute.String("note", "customer "+email+" retried with password="+pass),
		attribute.String("order.id", "ord_1001"),
		attribute.Int64("attempt", 2),
	))
	s.RecordError(fmt.Errorf("charge %s failed", card))
	s.SetStatus(codes.Error, "payout to "+iban+" rejected for "+email)
	s.End()
}

// assertClean fails if any exported span, anywhere, holds a secret.
func assertClean(t *testing.T, spans tracetest.SpanStubs) {
	t.Helper()
	for _, s := range spans {
		text := fmt.Sprintf("%+v", s)
		for _, sec := range secrets {
			assert.NotContains(t, text, sec, "span %q", s.Name)
		}
	}
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func checkoutSpan(t *testing.T, spans tracetest.SpanStubs) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if strings.HasPrefix(s.Name, "checkout") {
			return s
		}
	}
	t.Fatalf("no checkout span among %d", len(spans))
	return tracetest.SpanStub{}
}

func checkRedacted(t *testing.T, spans tracetest.SpanStubs) {
	t.Helper()
	require.Len(t, spans, 2)
	assertClean(t, spans)
	s := checkoutSpan(t, spans)

	assert.Equal(t, "checkout for [REDACTED:email]", s.Name)

	a := attrMap(s.Attributes)
	// Redacted, keys and types kept.
	assert.Equal(t, attribute.StringValue("[REDACTED:card]"), a["payment.card"])
	assert.Equal(t, attribute.StringValue("[REDACTED:email]"), a["customer.email"])
	assert.Equal(t, attribute.StringValue("token [REDACTED:jwt]"), a["auth.jwt"])
	require.Equal(t, attribute.STRINGSLICE, a["http.request.header.authorization"].Type())
	assert.Equal(t, []string{"[REDACTED:secret]"}, a["http.request.header.authorization"].AsStringSlice())
	assert.Equal(t, attribute.StringValue("host=db user=app password=[REDACTED:secret] sslmode=require"), a["db.connection"])
	assert.Equal(t, []string{"order ord_1001", "[REDACTED:email]", "[REDACTED:phone]"}, a["customer.contacts"].AsStringSlice())
	// Untouched.
	assert.Equal(t, attribute.StringValue("ord_1001"), a["order.id"])
	assert.Equal(t, attribute.StringValue("3f2b8c1e-9d4a-4e7b-8c2d-1a2b3c4d5e6f"), a["order.uuid"])
	assert.Equal(t, attribute.StringValue("2025-03-14T09:26:53Z"), a["order.created"])
	assert.Equal(t, attribute.StringValue("1234.56 EUR"), a["order.total"])
	assert.Equal(t, attribute.Float64Value(1234.56), a["order.amount"])
	assert.Equal(t, attribute.Int64Value(123456), a["order.amount_cents"])
	assert.Equal(t, attribute.Int64Value(1741944413000), a["order.created_ms"])
	assert.Equal(t, attribute.BoolValue(false), a["order.paid"])
	assert.Equal(t, []string{"sku_1", "sku_2"}, a["order.items"].AsStringSlice())
	assert.Len(t, s.Attributes, 16)

	require.Len(t, s.Events, 2)
	ev := s.Events[0]
	assert.Equal(t, "card [REDACTED:card] declined", ev.Name)
	ea := attrMap(ev.Attributes)
	assert.Equal(t, attribute.StringValue("[REDACTED:card]"), ea["payment.card"])
	assert.Equal(t, attribute.StringValue("customer [REDACTED:email] retried with password=[REDACTED:secret]"), ea["note"])
	assert.Equal(t, attribute.StringValue("ord_1001"), ea["order.id"])
	assert.Equal(t, attribute.Int64Value(2), ea["attempt"])
	assert.False(t, ev.Time.IsZero())
	exc := s.Events[1]
	assert.Equal(t, "exception", exc.Name)
	assert.Equal(t, attribute.StringValue("charge [REDACTED:card] failed"), attrMap(exc.Attributes)["exception.message"])

	require.Len(t, s.Links, 1)
	assert.Equal(t, attribute.StringValue("[REDACTED:email]"), attrMap(s.Links[0].Attributes)["link.customer"])
	assert.True(t, s.Links[0].SpanContext.IsValid())

	assert.Equal(t, codes.Error, s.Status.Code)
	assert.Equal(t, "payout to [REDACTED:iban] rejected for [REDACTED:email]", s.Status.Description)

	// What is not redacted passes through the embedded span.
	assert.True(t, s.SpanContext.IsValid())
	assert.True(t, s.Parent.Equal(trace.SpanContext{}))
	assert.False(t, s.StartTime.IsZero())
	assert.False(t, s.EndTime.Before(s.StartTime))
	assert.Equal(t, "test", s.InstrumentationScope.Name)
}

func TestExporter(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(otelredact.NewExporter(mem, newRedactor(t))))
	recordPIISpan(tp, 1)
	require.NoError(t, tp.ForceFlush(context.Background()))
	checkRedacted(t, mem.GetSpans())
	require.NoError(t, tp.Shutdown(context.Background()))
}

func TestProcessor(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(
		otelredact.NewProcessor(sdktrace.NewSimpleSpanProcessor(mem), newRedactor(t))))
	recordPIISpan(tp, 1)
	require.NoError(t, tp.ForceFlush(context.Background()))
	checkRedacted(t, mem.GetSpans())
	require.NoError(t, tp.Shutdown(context.Background()))
}

// Without the wrapper the same spans carry every secret: the test spans do
// test something.
func TestUnredactedBaseline(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(mem))
	recordPIISpan(tp, 1)
	require.NoError(t, tp.ForceFlush(context.Background()))
	text := fmt.Sprintf("%+v", mem.GetSpans())
	for _, sec := range []string{card, email, jwt, bearer, pass, iban, phone} {
		assert.Contains(t, text, sec)
	}
}

func TestNilRedactorRedactsWithDefaults(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(otelredact.NewExporter(mem, nil)))
	recordPIISpan(tp, 1)
	require.NoError(t, tp.ForceFlush(context.Background()))
	checkRedacted(t, mem.GetSpans())
	require.NoError(t, tp.Shutdown(context.Background()))
}

func TestModesApply(t *testing.T) {
	r, err := redact.New(redact.WithMode(redact.KindCard, redact.ModeTruncate))
	require.NoError(t, err)
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(otelredact.NewExporter(mem, r)))
	_, s := tp.Tracer("test").Start(context.Background(), "pay")
	s.SetAttributes(attribute.String("payment.card", "4111-1111-1111-1111"))
	s.End()
	require.NoError(t, tp.ForceFlush(context.Background()))
	spans := mem.GetSpans()
	require.Len(t, spans, 1)
	assert.Equal(t, "411111******1111", attrMap(spans[0].Attributes)["payment.card"].AsString())
}

// captureExporter keeps the spans it is given, as they are.
type captureExporter struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
	err   error
	shut  int
}

func (c *captureExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spans = append(c.spans, spans...)
	return c.err
}

func (c *captureExporter) Shutdown(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shut++
	return nil
}

// ptrSpan gives a span an identity, for assert.Same.
type ptrSpan struct{ sdktrace.ReadOnlySpan }

func TestExporterLeavesInputAlone(t *testing.T) {
	clean := tracetest.SpanStub{
		Name:       "clean",
		Attributes: []attribute.KeyValue{attribute.String("order.id", "ord_1001")},
		Events:     []sdktrace.Event{{Name: "paid", Attributes: []attribute.KeyValue{attribute.Int("n", 1)}}},
		Status:     sdktrace.Status{Code: codes.Error, Description: "insufficient funds"},
	}.Snapshot()
	cleanPtr := &ptrSpan{clean}
	dirty := tracetest.SpanStub{
		Name:       "dirty",
		Attributes: []attribute.KeyValue{attribute.String("order.id", "ord_1001"), attribute.StringSlice("to", []string{email})},
		Events:     []sdktrace.Event{{Name: "mail", Attributes: []attribute.KeyValue{attribute.String("to", email)}}},
		Status:     sdktrace.Status{Code: codes.Error, Description: "bounced: " + email},
	}.Snapshot() // a struct holding slices: not comparable, so the exporter must not compare spans
	in := []sdktrace.ReadOnlySpan{cleanPtr, dirty}

	capt := &captureExporter{err: errors.New("next failed")}
	exp := otelredact.NewExporter(capt, newRedactor(t))
	err := exp.ExportSpans(context.Background(), in)
	require.EqualError(t, err, "next failed", "the next exporter's error is returned")

	require.Len(t, capt.spans, 2)
	assert.Same(t, cleanPtr, capt.spans[0], "a span with nothing to redact is passed on as is")
	assert.Equal(t, []string{"[REDACTED:email]"}, attrMap(capt.spans[1].Attributes())["to"].AsStringSlice())
	assert.Equal(t, "bounced: [REDACTED:email]", capt.spans[1].Status().Description)
	assert.Equal(t, "to", string(capt.spans[1].Events()[0].Attributes[0].Key))

	// The input spans and slice are unchanged.
	assert.Same(t, cleanPtr, in[0])
	assert.Equal(t, "dirty", in[1].Name())
	assert.Equal(t, []string{email}, attrMap(dirty.Attributes())["to"].AsStringSlice())
	assert.Equal(t, email, dirty.Events()[0].Attributes[0].Value.AsString())
	assert.Equal(t, "bounced: "+email, dirty.Status().Description)

	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Equal(t, 1, capt.shut)
}

func TestCleanBatchIsPassedOnAsIs(t *testing.T) {
	capt := &captureExporter{}
	exp := otelredact.NewExporter(capt, newRedactor(t))
	in := []sdktrace.ReadOnlySpan{
		&ptrSpan{tracetest.SpanStub{Name: "a", Attributes: []attribute.KeyValue{attribute.String("order.id", "ord_1001")}}.Snapshot()},
		&ptrSpan{tracetest.SpanStub{Name: "b", Attributes: []attribute.KeyValue{attribute.Int64("created_ms", 1741944413000)}}.Snapshot()},
	}
	require.NoError(t, exp.ExportSpans(context.Background(), in))
	require.Len(t, capt.spans, 2)
	assert.Same(t, in[0], capt.spans[0])
	assert.Same(t, in[1], capt.spans[1])
	require.NoError(t, exp.ExportSpans(context.Background(), nil))
}

func TestNilNextFailsClosed(t *testing.T) {
	exp := otelredact.NewExporter(nil, nil)
	assert.ErrorIs(t, exp.ExportSpans(context.Background(), nil), otelredact.ErrNoNext)
	assert.ErrorIs(t, exp.Shutdown(context.Background()), otelredact.ErrNoNext)
	proc := otelredact.NewProcessor(nil, nil)
	assert.NotPanics(t, func() { proc.OnEnd(nil) })
	assert.ErrorIs(t, proc.Shutdown(context.Background()), otelredact.ErrNoNext)
}

// Many goroutines end spans through a batch processor while the exporter
// redacts them; run with -race.
func TestConcurrent(t *testing.T) {
	r := newRedactor(t)
	for _, tc := range []struct {
		name string
		tp   func(*tracetest.InMemoryExporter) *sdktrace.TracerProvider
	}{
		{"exporter", func(mem *tracetest.InMemoryExporter) *sdktrace.TracerProvider {
			return sdktrace.NewTracerProvider(sdktrace.WithBatcher(otelredact.NewExporter(mem, r),
				sdktrace.WithMaxExportBatchSize(16)))
		}},
		{"processor", func(mem *tracetest.InMemoryExporter) *sdktrace.TracerProvider {
			return sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(otelredact.NewProcessor(
				sdktrace.NewBatchSpanProcessor(mem, sdktrace.WithMaxExportBatchSize(16)), r)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := tracetest.NewInMemoryExporter()
			tp := tc.tp(mem)
			const workers, each = 8, 25
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						recordPIISpan(tp, w*each+i)
					}
				}()
			}
			wg.Wait()
			// ForceFlush, not Shutdown: an InMemoryExporter forgets its spans on Shutdown.
			require.NoError(t, tp.ForceFlush(context.Background()))
			spans := mem.GetSpans()
			require.Len(t, spans, 2*workers*each)
			assertClean(t, spans)
			seen := make(map[int64]bool)
			for _, s := range spans {
				if v, ok := attrMap(s.Attributes)["order.seq"]; ok {
					seen[v.AsInt64()] = true
					assert.Equal(t, "ord_1001", attrMap(s.Attributes)["order.id"].AsString())
				}
			}
			assert.Len(t, seen, workers*each)
		})
	}
}

func BenchmarkExportSpans(b *testing.B) {
	r := newRedactor(b)
	dirty := tracetest.SpanStub{
		Name: "checkout",
		Attributes: []attribute.KeyValue{
			attribute.String("order.id", "ord_1001"), attribute.String("customer.email", email),
			attribute.Int64("amount_cents", 123456),
		},
		Status: sdktrace.Status{Code: codes.Error, Description: "payout to " + iban + " rejected"},
	}.Snapshot()
	clean := tracetest.SpanStub{
		Name:       "checkout",
		Attributes: []attribute.KeyValue{attribute.String("order.id", "ord_1001"), attribute.Int64("amount_cents", 123456)},
	}.Snapshot()
	for _, bc := range []struct {
		name string
		s    sdktrace.ReadOnlySpan
	}{{"clean", clean}, {"pii", dirty}} {
		b.Run(bc.name, func(b *testing.B) {
			exp := otelredact.NewExporter(discard{}, r)
			spans := []sdktrace.ReadOnlySpan{bc.s}
			b.ReportAllocs()
			for b.Loop() {
				_ = exp.ExportSpans(context.Background(), spans)
			}
		})
	}
}

type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }
