// Package redacted gives secret-holding types one way to print themselves: as
// [Marker], whatever the verb, the logger or the encoder.
//
// A type that holds key material implements String, GoString, Format, LogValue and
// MarshalJSON by calling the functions here, so that fmt, slog and encoding/json
// never reach its fields.
package redacted

import (
	"fmt"
	"log/slog"
)

// Marker is what every secret-holding type prints instead of its contents.
const Marker = "[REDACTED]"

// Format writes [Marker] for any verb, so %v, %+v, %#v, %s, %q and %x all hide the value.
func Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte(Marker))
}

// LogValue is the slog value of a secret-holding type.
func LogValue() slog.Value { return slog.StringValue(Marker) }

// JSON is the JSON encoding of a secret-holding type.
func JSON() []byte { return []byte(`"` + Marker + `"`) }
