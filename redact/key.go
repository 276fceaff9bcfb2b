package redact

import (
	"fmt"
	"log/slog"
)

// MinKeySize is the shortest [Key] that [NewKey] accepts, in bytes.
const MinKeySize = 16

// Key is the secret of keyed tokenisation ([ModeToken]). Services that must
// give the same customer the same token share one Key, read from a secret
// store; it never prints: every text form of a Key is [Marker].
//
// A Key is immutable and safe for concurrent use. Its zero value holds no key
// and is refused by [WithKey].
type Key struct {
	s Secret[[]byte] // a Secret, so that a struct that holds a Key prints none of it
}

// bytes returns the key.
func (k *Key) bytes() []byte { return k.s.Reveal() }

// NewKey copies b into a Key. b must hold at least [MinKeySize] bytes
// ([ErrShortKey]); 32 random bytes are a good choice.
func NewKey(b []byte) (*Key, error) {
	if len(b) < MinKeySize {
		return nil, fmt.Errorf("%w: %d bytes, need at least %d", ErrShortKey, len(b), MinKeySize)
	}
	return &Key{s: NewSecret(append([]byte(nil), b...))}, nil
}

// String returns [Marker].
func (Key) String() string { return Marker }

// GoString returns [Marker].
func (Key) GoString() string { return Marker }

// Format writes [Marker] for every verb.
func (Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Marker)) }

// LogValue returns [Marker].
func (Key) LogValue() slog.Value { return slog.StringValue(Marker) }

// MarshalJSON returns [Marker] as a JSON string.
func (Key) MarshalJSON() ([]byte, error) { return []byte(`"` + Marker + `"`), nil }

// MarshalText returns [Marker].
func (Key) MarshalText() ([]byte, error) { return []byte(Marker), nil }
