// Package otelredact keeps the values that package redact finds (payment
// cards, IBANs, e-mail addresses, phone numbers, tokens, keys, passwords) out
// of exported OpenTelemetry traces.
//
// It is a module of its own so that package redact, and every program that
// uses it without tracing, does not import OpenTelemetry.
//
// # Where it plugs in
//
// [NewExporter] wraps the [sdktrace.SpanExporter] a trace pipeline ends in:
//
//	r, err := redact.New()
//	...
//	exp := otelredact.NewExporter(otlpExporter, r)
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
//
// [NewProcessor] wraps a [sdktrace.SpanProcessor] instead, for pipelines
// whose processor is not built from an exporter the program holds:
//
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(
//		otelredact.NewProcessor(sdktrace.NewBatchSpanProcessor(exp), r)))
//
// Both hand the next stage a redacted copy of each ended span; neither can
// change the span in place. The SDK passes a span to OnEnd as an immutable
// [sdktrace.ReadOnlySpan], and a processor's OnStart sees the span before
// the attributes, events and status set while it runs, so redaction has to
// happen on the ended span, downstream of the SDK. The exporter wrapper
// redacts on the exporter's goroutine (off the request path under a batch
// processor); the processor wrapper redacts in OnEnd, on the goroutine that
// ends the span.
//
// # What is redacted
//
//   - the span name;
//   - the values of the span's attributes, its events' attributes and its
//     links' attributes;
//   - event names;
//   - the status description (the SDK keeps one only for an Error status).
//
// Only values of type STRING and STRINGSLICE are redacted, and they stay of
// that type; booleans and numbers, keys, the resource and the
// instrumentation scope are passed on as they are. A string value is redacted
// as [redact.Redactor.Attr] redacts a [log/slog.Attr] with the same key: the
// detectors run on the value, and a key that says secret (password, token,
// authorization, api_key, cookie, …, also as a suffix such as
// http.request.header.authorization) has its whole value replaced. Values the
// detectors leave alone (order ids, amounts, dates, timestamps, UUIDs) are
// passed on unchanged, and a span with nothing to redact is passed on as is.
//
// Redaction sees the span as the SDK kept it: a value the span limits
// truncated is redacted in its truncated form.
package otelredact
