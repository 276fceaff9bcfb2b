package authz

import "context"

// Observer is told about every decision and every policy update of an
// [Engine], for metrics. Package authz/authzotel implements it with
// OpenTelemetry counters. Both methods are called synchronously on the
// request path or the reload path, so they must be fast, must not block and
// must be safe for concurrent use. They must not keep d.MissingScopes or d.ACRValues.
type Observer interface {
	// ObserveDecision is called once per [Engine.Decide], after the
	// decision is made. [Engine.Explain] is not observed.
	ObserveDecision(ctx context.Context, d Decision)
	// ObservePolicy is called once per policy update or reload attempt
	// that changed something: err is nil when the new policy was swapped in
	// and the rejection error when the last good policy was kept.
	ObservePolicy(ctx context.Context, err error)
}

// WithObserver reports every decision and policy update to o. nil keeps
// the default, which observes nothing.
func WithObserver(o Observer) Option {
	return optionFunc(func(c *config) {
		if o != nil {
			c.observer = o
		}
	})
}
