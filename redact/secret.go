package redact

import (
	"fmt"
	"log/slog"
)

// Marker is what a [Secret], a [Key], a [Redactor] and a [Writer] print
// instead of their contents.
const Marker = "[REDACTED]"

// Secret holds a value that must never be printed, logged or encoded. Every
// way of turning it into text (String, GoString, fmt verbs, slog, encoding/json,
// encoding/text and everything built on them) yields [Marker]; only [Secret.Reveal]
// returns the value.
//
// A Secret also prints nothing of T as an unexported field of a caller's
// struct, where fmt cannot call its methods and, for a verb that does not fit
// a pointer (%s, %q), follows one pointer: T sits two pointers down, and fmt
// prints the second as an address.
//
// The zero value holds the zero T. Copying a Secret shares the value it
// wraps; it is as safe for concurrent use as T is. Two Secrets are == only
// when one is a copy of the other: compare revealed values, with
// crypto/subtle where timing matters.
type Secret[T any] struct {
	p **T
}

// NewSecret wraps v.
func NewSecret[T any](v T) Secret[T] {
	pv := &v
	return Secret[T]{p: &pv}
}

// Reveal returns the wrapped value. Call it only where the value is used,
// never to log it.
func (s Secret[T]) Reveal() T {
	if s.p == nil {
		var zero T
		return zero
	}
	return **s.p
}

// String returns [Marker].
func (Secret[T]) String() string { return Marker }

// GoString returns [Marker], so %#v hides the value too.
func (Secret[T]) GoString() string { return Marker }

// Format writes [Marker] for every verb and flag.
func (Secret[T]) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Marker)) }

// LogValue returns [Marker] as a string value, so [log/slog] never sees T.
func (Secret[T]) LogValue() slog.Value { return slog.StringValue(Marker) }

// MarshalJSON returns [Marker] as a JSON string.
func (Secret[T]) MarshalJSON() ([]byte, error) { return []byte(`"` + Marker + `"`), nil }

// MarshalText returns [Marker].
func (Secret[T]) MarshalText() ([]byte, error) { return []byte(Marker), nil }
