package redact

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strconv"
)

// Handler is a [slog.Handler] middleware: it redacts a record's message and
// the values of its attributes, in groups too, and hands the record on. A
// [slog.LogValuer] is resolved first and its value redacted. An attribute
// whose key says secret (password, token, authorization, … as [KindSecret])
// has its whole value replaced, whatever its type.
//
// Numbers are checked as text, so a card number logged as an int is caught;
// other values of kind [slog.KindAny] are checked in their JSON and %+v forms
// and, when either holds something to redact, replaced by the redacted form as
// a string. Keys and group names are not redacted: they are the program's.
//
// A Handler is immutable and safe for concurrent use if the next handler is.
type Handler struct {
	next slog.Handler
	r    *Redactor
}

// NewHandler returns a Handler that redacts with r and passes records to
// next. Both must be non-nil ([ErrNilArgument]).
func NewHandler(next slog.Handler, r *Redactor) (*Handler, error) {
	if next == nil || r == nil {
		return nil, fmt.Errorf("%w: NewHandler needs a handler and a redactor", ErrNilArgument)
	}
	return &Handler{next: next, r: r}, nil
}

// Enabled reports whether the next handler handles records at level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle redacts rec and passes a redacted copy to the next handler.
func (h *Handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.RedactString(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.r.Attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs redacts attrs once and returns a Handler whose next handler has
// them.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.r.Attr(a)
	}
	return &Handler{next: h.next.WithAttrs(red), r: h.r}
}

// WithGroup returns a Handler whose next handler opens group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &Handler{next: h.next.WithGroup(name), r: h.r}
}

// Attr returns a with its value resolved and redacted, as [Handler] does. It
// is for handlers and ReplaceAttr functions that redact on their own.
func (r *Redactor) Attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if cls := secretKey([]byte(a.Key)); r.on(kSecret) && cls != keyNone &&
		(cls != keyProof || v.Kind() != slog.KindString || proofValue([]byte(v.String()))) {
		return slog.Attr{Key: a.Key, Value: slog.StringValue(r.whole(v))}
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.Attr{Key: a.Key, Value: slog.StringValue(r.RedactString(v.String()))}
	case slog.KindInt64, slog.KindUint64:
		var buf [24]byte
		var b []byte
		if v.Kind() == slog.KindInt64 {
			b = strconv.AppendInt(buf[:0], v.Int64(), 10)
		} else {
			b = strconv.AppendUint(buf[:0], v.Uint64(), 10)
		}
		if len(b) >= 12 {
			if out, ok := r.redactBytes(b); ok {
				return slog.Attr{Key: a.Key, Value: slog.StringValue(string(out))}
			}
		}
	case slog.KindFloat64:
		// A number decoded from JSON is a float64: a card number logged
		// from one prints as 4.111111111111111e+15, its digits in plain
		// view. Whole numbers are checked in their integer form.
		if f := v.Float64(); f == math.Trunc(f) && math.Abs(f) >= 1e11 && math.Abs(f) < 1e20 {
			var buf [32]byte
			b := strconv.AppendFloat(buf[:0], f, 'f', -1, 64)
			if out, ok := r.redactBytes(b); ok {
				return slog.Attr{Key: a.Key, Value: slog.StringValue(string(out))}
			}
		}
	case slog.KindGroup:
		as := v.Group()
		red := make([]slog.Attr, len(as))
		for i, ga := range as {
			red[i] = r.Attr(ga)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	case slog.KindAny:
		if s, ok := r.anyText(v.Any()); ok {
			return slog.Attr{Key: a.Key, Value: slog.StringValue(s)}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// on reports whether the built-in detector of index k runs.
func (r *Redactor) on(k int) bool { return r.off&(1<<k) == 0 }

// whole returns the replacement of a secret attribute's entire value.
func (r *Redactor) whole(v slog.Value) string {
	var b []byte
	switch v.Kind() {
	case slog.KindGroup, slog.KindAny:
		b = r.replace(nil, nil, kSecret, true)
	default:
		b = r.replace(nil, []byte(v.String()), kSecret, false)
	}
	return string(b)
}

// anyText checks x's JSON and %+v forms and returns the first that has
// something to redact, redacted.
func (r *Redactor) anyText(x any) (string, bool) {
	switch x := x.(type) {
	case nil:
		return "", false
	case error:
		s := x.Error()
		rs := r.RedactString(s)
		return rs, rs != s
	case []byte:
		out, ok := r.redactBytes(x)
		return string(out), ok
	}
	if j, err := json.Marshal(x); err == nil {
		if out, ok := r.redactBytes(j); ok {
			return string(out), true
		}
	}
	s := fmt.Sprintf("%+v", x)
	rs := r.RedactString(s)
	return rs, rs != s
}
