package otelredact_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/redact/otelredact"
)

func ExampleNewExporter() {
	r, err := redact.New()
	if err != nil {
		panic(err)
	}
	// In production the wrapped exporter is an OTLP exporter, under
	// sdktrace.WithBatcher.
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(otelredact.NewExporter(mem, r)))

	_, span := tp.Tracer("shop").Start(context.Background(), "checkout")
	span.SetAttributes(
		attribute.String("order.id", "ord_1001"),
		attribute.String("customer.email", "alice@example.com"),
		attribute.String("payment.card", "4111 1111 1111 1111"),
		attribute.StringSlice("http.request.header.authorization", []string{"Bearer opaque-token-123"}),
		attribute.Int64("amount_cents", 1250),
	)
	span.AddEvent("retry", trace.WithAttributes(attribute.String("note", "login password=hunter2")))
	span.SetStatus(codes.Error, "payout to GB82 WEST 1234 5698 7654 32 rejected")
	span.End()
	// An InMemoryExporter forgets its spans on Shutdown: read them first.
	defer func() { _ = tp.Shutdown(context.Background()) }()

	s := mem.GetSpans()[0]
	for _, kv := range s.Attributes {
		fmt.Printf("%s (%s): %s\n", kv.Key, kv.Value.Type(), kv.Value.Emit())
	}
	fmt.Println(s.Events[0].Name+":", s.Events[0].Attributes[0].Value.Emit())
	fmt.Println("status:", s.Status.Description)
	// Output:
	// order.id (STRING): ord_1001
	// customer.email (STRING): [REDACTED:email]
	// payment.card (STRING): [REDACTED:card]
	// http.request.header.authorization (STRINGSLICE): ["[REDACTED:secret]"]
	// amount_cents (INT64): 1250
	// retry: login password=[REDACTED:secret]
	// status: payout to [REDACTED:iban] rejected
}
