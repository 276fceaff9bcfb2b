package webhook

import (
	"log/slog"
	"time"
)

// Scheme names the signature scheme that verified a message, or that a
// [Signer] signs with.
type Scheme string

// Schemes.
const (
	// SchemeStandardV1 is Standard Webhooks v1: HMAC-SHA256 under a whsec_ secret.
	SchemeStandardV1 Scheme = "standard-webhooks/v1"
	// SchemeStandardV1a is Standard Webhooks v1a: Ed25519 under a whpk_ public key.
	SchemeStandardV1a Scheme = "standard-webhooks/v1a"
	// SchemeStripeV1 is Stripe-Signature v1: HMAC-SHA256 under the endpoint secret.
	SchemeStripeV1 Scheme = "stripe/v1"
)

// Message is what [Verifier.Verify] learned of a message it accepted. It is
// immutable and safe for concurrent use; none of it is secret. The body is not
// kept: the caller has it.
type Message struct {
	id        string
	timestamp time.Time
	scheme    Scheme
}

// ID returns the webhook-id of a Standard Webhooks message (the sender's
// idempotency key), or "" for a Stripe message, whose event id is in its body.
// It is at most MaxIDLen printable ASCII characters. A nil Message returns "".
func (m *Message) ID() string {
	if m == nil {
		return ""
	}
	return m.id
}

// Timestamp returns the time the sender signed the message (webhook-timestamp,
// or Stripe's t), to the second. A nil Message returns the zero time.
func (m *Message) Timestamp() time.Time {
	if m == nil {
		return time.Time{}
	}
	return m.timestamp
}

// Scheme returns the scheme of the signature that verified. A nil Message
// returns "".
func (m *Message) Scheme() Scheme {
	if m == nil {
		return ""
	}
	return m.scheme
}

// LogValue logs the message's id, timestamp (Unix seconds) and scheme.
func (m *Message) LogValue() slog.Value {
	if m == nil {
		return slog.GroupValue()
	}
	return slog.GroupValue(
		slog.String("id", m.id),
		slog.Int64("timestamp", m.timestamp.Unix()),
		slog.String("scheme", string(m.scheme)),
	)
}
