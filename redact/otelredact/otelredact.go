package otelredact

import (
	"context"
	"errors"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ztkit/ztkit/redact"
)

// orDefault returns r, or the Redactor of redact.New() (every built-in
// detector, every kind masked) when r is nil.
func orDefault(r *redact.Redactor) *redact.Redactor {
	if r != nil {
		return r
	}
	if d, err := redact.New(); err == nil {
		return d
	}
	// New fails only on options; the zero Redactor detects the same, with
	// the plain scan.
	return new(redact.Redactor)
}

// exporter is the SpanExporter NewExporter returns.
type exporter struct {
	next sdktrace.SpanExporter
	r    *redact.Redactor
}

// NewExporter returns a [sdktrace.SpanExporter] that redacts each span with r
// and exports the redacted copies through next. A nil r redacts as
// redact.New() does. With a nil next every export fails with [ErrNoNext]:
// nothing is ever exported unredacted, and nothing panics.
//
// The exporter is safe for concurrent use if next is. It never changes the
// spans it is given or the slice that holds them.
func NewExporter(next sdktrace.SpanExporter, r *redact.Redactor) sdktrace.SpanExporter {
	return &exporter{next: next, r: orDefault(r)}
}

// ExportSpans redacts spans and passes the redacted copies to the next
// exporter.
func (e *exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.next == nil {
		return ErrNoNext
	}
	var out []sdktrace.ReadOnlySpan // nil until a span changes
	for i, s := range spans {
		rs, changed := redactSpan(e.r, s)
		if out == nil {
			if !changed {
				continue
			}
			out = make([]sdktrace.ReadOnlySpan, len(spans))
			copy(out, spans[:i])
		}
		out[i] = rs
	}
	if out == nil {
		out = spans
	}
	return e.next.ExportSpans(ctx, out)
}

// Shutdown shuts the next exporter down.
func (e *exporter) Shutdown(ctx context.Context) error {
	if e.next == nil {
		return ErrNoNext
	}
	return e.next.Shutdown(ctx)
}

// ErrNoNext is returned by an exporter built without a next exporter.
var ErrNoNext = errors.New("otelredact: no next exporter or processor")

// processor is the SpanProcessor NewProcessor returns.
type processor struct {
	next sdktrace.SpanProcessor
	r    *redact.Redactor
}

// NewProcessor returns a [sdktrace.SpanProcessor] that passes each ended span,
// redacted with r, to next's OnEnd. OnStart, ForceFlush and Shutdown go to
// next unchanged: at OnStart next sees the live span, unredacted, as every
// processor does. A nil r redacts as redact.New() does. With a nil next the
// processor drops every span (nothing unredacted leaves it) and nothing panics.
//
// Redaction runs in OnEnd, on the goroutine that ends the span; [NewExporter]
// moves it to the exporter's goroutine.
func NewProcessor(next sdktrace.SpanProcessor, r *redact.Redactor) sdktrace.SpanProcessor {
	if next == nil {
		return dropAll{}
	}
	return &processor{next: next, r: orDefault(r)}
}

// OnStart passes s to the next processor.
func (p *processor) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) {
	p.next.OnStart(ctx, s)
}

// OnEnd passes a redacted copy of s to the next processor.
func (p *processor) OnEnd(s sdktrace.ReadOnlySpan) {
	rs, _ := redactSpan(p.r, s)
	p.next.OnEnd(rs)
}

// ForceFlush flushes the next processor.
func (p *processor) ForceFlush(ctx context.Context) error { return p.next.ForceFlush(ctx) }

// Shutdown shuts the next processor down.
func (p *processor) Shutdown(ctx context.Context) error { return p.next.Shutdown(ctx) }

// span is a redacted view of an ended span. The embedded ReadOnlySpan answers
// everything not overridden here (and gives span the SDK's unexported method,
// so it is a ReadOnlySpan: the interface cannot be implemented otherwise).
type span struct {
	sdktrace.ReadOnlySpan
	name   string
	attrs  []attribute.KeyValue
	events []sdktrace.Event
	links  []sdktrace.Link
	status sdktrace.Status
}

func (s *span) Name() string                     { return s.name }
func (s *span) Attributes() []attribute.KeyValue { return s.attrs }
func (s *span) Events() []sdktrace.Event         { return s.events }
func (s *span) Links() []sdktrace.Link           { return s.links }
func (s *span) Status() sdktrace.Status          { return s.status }

// redactSpan returns a redacted view of s and true, or s itself and false
// when there is nothing to redact. The view holds its own copies of whatever
// changed: s is not modified. (The result is reported rather than found by
// comparing views with s: a ReadOnlySpan's dynamic type need not be
// comparable.)
func redactSpan(r *redact.Redactor, s sdktrace.ReadOnlySpan) (sdktrace.ReadOnlySpan, bool) {
	if s == nil {
		return nil, false
	}
	name := s.Name()
	rname := r.RedactString(name)
	attrs, ca := redactAttrs(r, s.Attributes())
	events, ce := redactEvents(r, s.Events())
	links, cl := redactLinks(r, s.Links())
	status := s.Status()
	rdesc := r.RedactString(status.Description)
	if rname == name && !ca && !ce && !cl && rdesc == status.Description {
		return s, false
	}
	status.Description = rdesc
	return &span{
		ReadOnlySpan: s,
		name:         rname,
		attrs:        attrs,
		events:       events,
		links:        links,
		status:       status,
	}, true
}

// redactAttrs returns kvs with its string values redacted and true, or kvs
// itself and false when nothing changed. kvs is not modified.
func redactAttrs(r *redact.Redactor, kvs []attribute.KeyValue) ([]attribute.KeyValue, bool) {
	var out []attribute.KeyValue // nil until a value changes
	for i, kv := range kvs {
		rkv, changed := redactAttr(r, kv)
		if out == nil {
			if !changed {
				continue
			}
			out = make([]attribute.KeyValue, len(kvs))
			copy(out, kvs[:i])
		}
		out[i] = rkv
	}
	if out == nil {
		return kvs, false
	}
	return out, true
}

// redactAttr redacts a STRING or STRINGSLICE value as r.Attr redacts a slog
// string attribute with the same key, so that a key naming a secret has the
// whole value replaced. The key and the type are kept.
func redactAttr(r *redact.Redactor, kv attribute.KeyValue) (attribute.KeyValue, bool) {
	switch kv.Value.Type() {
	case attribute.STRING:
		v := kv.Value.AsString()
		rv := redactValue(r, kv.Key, v)
		if rv == v {
			return kv, false
		}
		return attribute.String(string(kv.Key), rv), true
	case attribute.STRINGSLICE:
		vs := kv.Value.AsStringSlice() // a copy: ours to change
		changed := false
		for i, v := range vs {
			if rv := redactValue(r, kv.Key, v); rv != v {
				vs[i] = rv
				changed = true
			}
		}
		if !changed {
			return kv, false
		}
		return attribute.StringSlice(string(kv.Key), vs), true
	}
	return kv, false
}

func redactValue(r *redact.Redactor, k attribute.Key, v string) string {
	if v == "" {
		return v
	}
	return r.Attr(slog.String(string(k), v)).Value.String()
}

// redactEvents returns events with names and attributes redacted and true, or
// events itself and false when nothing changed.
func redactEvents(r *redact.Redactor, events []sdktrace.Event) ([]sdktrace.Event, bool) {
	var out []sdktrace.Event
	for i, ev := range events {
		name := r.RedactString(ev.Name)
		attrs, changed := redactAttrs(r, ev.Attributes)
		changed = changed || name != ev.Name
		if out == nil {
			if !changed {
				continue
			}
			out = make([]sdktrace.Event, len(events))
			copy(out, events[:i])
		}
		ev.Name, ev.Attributes = name, attrs
		out[i] = ev
	}
	if out == nil {
		return events, false
	}
	return out, true
}

// redactLinks returns links with attributes redacted and true, or links
// itself and false when nothing changed.
func redactLinks(r *redact.Redactor, links []sdktrace.Link) ([]sdktrace.Link, bool) {
	var out []sdktrace.Link
	for i, l := range links {
		attrs, changed := redactAttrs(r, l.Attributes)
		if out == nil {
			if !changed {
				continue
			}
			out = make([]sdktrace.Link, len(links))
			copy(out, links[:i])
		}
		l.Attributes = attrs
		out[i] = l
	}
	if out == nil {
		return links, false
	}
	return out, true
}

// dropAll is the processor of a NewProcessor call without a next processor.
type dropAll struct{}

func (dropAll) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (dropAll) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (dropAll) Shutdown(context.Context) error                  { return ErrNoNext }
func (dropAll) ForceFlush(context.Context) error                { return ErrNoNext }
