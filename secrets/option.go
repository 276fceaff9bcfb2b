package secrets

import (
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// Defaults of a [Source].
const (
	// DefaultRefresh is how often a credential that does not expire is
	// issued again (read again, for a KV secret).
	DefaultRefresh = 5 * time.Minute
	// DefaultMinBackoff and DefaultMaxBackoff bound the wait between two
	// attempts after a failure; each wait is drawn at random up to twice
	// the previous one, within the bounds.
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// Option configures a [Source].
type Option interface{ apply(*config) }

type config struct {
	logger     *slog.Logger
	meters     metric.MeterProvider
	refresh    time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration
}

func newConfig(opts []Option) config {
	c := config{
		logger:     slog.New(slog.DiscardHandler),
		meters:     otel.GetMeterProvider(),
		refresh:    DefaultRefresh,
		minBackoff: DefaultMinBackoff,
		maxBackoff: DefaultMaxBackoff,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLogger sets where a Source logs what it does: issues and rotations at
// Info, renewals at Debug, failures at Warn and an expiry with no replacement
// at Error. Records carry the source's name (key "source"), the lease's version and expiry,
// and the error; never a secret value. nil keeps the default, which discards.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithMeterProvider sets where a Source's metrics go (see the package
// documentation). nil keeps the global provider (otel.GetMeterProvider),
// which is a no-op until one is installed.
func WithMeterProvider(p metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if p != nil {
			c.meters = p
		}
	})
}

// WithRefresh sets how often a credential that does not expire (a static or
// KV value) is issued again, so that a value changed in the backend reaches
// the service. Each wait is drawn at random within 10% of d. Zero or less
// keeps [DefaultRefresh].
func WithRefresh(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.refresh = d
		}
	})
}

// WithBackoff bounds the wait between attempts after a failure. Values of
// zero or less keep the defaults; hi is raised to lo when lower.
func WithBackoff(lo, hi time.Duration) Option {
	return optionFunc(func(c *config) {
		if lo > 0 {
			c.minBackoff = lo
		}
		if hi > 0 {
			c.maxBackoff = hi
		}
		if c.maxBackoff < c.minBackoff {
			c.maxBackoff = c.minBackoff
		}
	})
}
