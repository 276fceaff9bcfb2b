package webhook

import "context"

// messageKey is the context key of a [Message].
type messageKey struct{}

// NewContext returns a copy of ctx that carries m, a webhook a [Verifier]
// accepted (package middleware's VerifyWebhooks puts the request's there).
func NewContext(ctx context.Context, m *Message) context.Context {
	return context.WithValue(ctx, messageKey{}, m)
}

// FromContext returns the webhook [NewContext] put in ctx: its id (the
// sender's idempotency key, to deduplicate deliveries), timestamp and scheme.
// ok is false when there is none (or it is nil).
func FromContext(ctx context.Context) (m *Message, ok bool) {
	m, ok = ctx.Value(messageKey{}).(*Message)
	return m, ok && m != nil
}
