package secrets

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/ztkit/ztkit/internal/redacted"
)

// Secret is one credential as a [Provider] issued it: named fields whose
// values are secret (a username and password, an API key, a Vault token) and
// a [Lease] that is not.
//
// A Secret prints, logs and marshals as [REDACTED] through fmt (every verb),
// slog and encoding/json; the values are reachable only through
// [Secret.Reveal]. Printers that walk a value by reflection without calling
// its methods (fmt on a struct's unexported field, testify's failure diff)
// find no value in it either, only its lease. A Secret is immutable and safe
// for concurrent use.
type Secret struct {
	// fields returns the values. They are behind a function because
	// reflection-based printers print a function as its address: a map here
	// would be printed whole.
	fields func() map[string]string
	lease  Lease
}

// Lease is what is known of a credential's lifetime. None of it is secret.
type Lease struct {
	// ID is the backend's lease ID (a Vault lease ID or token accessor), or
	// "" when the credential has none.
	ID string
	// Version is the backend's version of the value (a KV version, a Transit
	// key version), or "".
	Version string
	// IssuedAt is when the credential was issued or last renewed, read from
	// the local clock before the request was sent, so that the lifetime a
	// backend grants is never counted from later than it began.
	IssuedAt time.Time
	// ExpiresAt is when the credential stops being valid; the zero time
	// means it does not expire (a static or KV value).
	ExpiresAt time.Time
	// Renewable says whether the backend can extend the lease.
	Renewable bool
}

// TTL returns the lifetime granted at IssuedAt, or 0 when the credential does
// not expire.
func (l Lease) TTL() time.Duration {
	if l.ExpiresAt.IsZero() {
		return 0
	}
	return l.ExpiresAt.Sub(l.IssuedAt)
}

// NewSecret returns a secret holding a copy of fields, with lease.
func NewSecret(fields map[string]string, lease Lease) *Secret {
	m := maps.Clone(fields)
	return &Secret{fields: func() map[string]string { return m }, lease: lease}
}

// Reveal returns the raw value of the field name, and whether the secret has
// that field. It is the only way to a secret's values: call it where the
// value is used (a connection's AUTH, a request's header), not to log it.
func (s *Secret) Reveal(name string) (string, bool) {
	v, ok := s.values()[name]
	return v, ok
}

// Fields returns the names of the secret's fields, sorted. Names are not
// secret.
func (s *Secret) Fields() []string {
	if s == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(s.values()))
}

// Lease returns the secret's lease.
func (s *Secret) Lease() Lease {
	if s == nil {
		return Lease{}
	}
	return s.lease
}

// values returns s's fields, or nil for a nil or zero Secret.
func (s *Secret) values() map[string]string {
	if s == nil || s.fields == nil {
		return nil
	}
	return s.fields()
}

// sameValue reports whether s and o hold the same fields and values.
func (s *Secret) sameValue(o *Secret) bool {
	return s != nil && o != nil && maps.Equal(s.values(), o.values())
}

// String returns [REDACTED].
func (Secret) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (Secret) GoString() string { return redacted.Marker }

// Format prints [REDACTED] for every verb.
func (Secret) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue logs [REDACTED].
func (Secret) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON encodes [REDACTED].
func (Secret) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }

// WithLease returns a secret with s's fields and lease: what a provider's
// Renew returns.
func (s *Secret) WithLease(lease Lease) *Secret {
	if s == nil {
		return &Secret{lease: lease}
	}
	return &Secret{fields: s.fields, lease: lease}
}
