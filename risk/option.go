package risk

import (
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// Option configures [New] and [Watch].
type Option interface {
	apply(*config)
}

type config struct {
	logger   *slog.Logger
	logOn    bool
	meters   metric.MeterProvider
	counter  Counter
	now      func() time.Time
	interval time.Duration
	maxSize  int64
}

func newConfig(opts []Option) *config {
	c := &config{
		logger:   slog.New(slog.DiscardHandler),
		meters:   otel.GetMeterProvider(),
		now:      time.Now,
		interval: 5 * time.Second,
		maxSize:  defaultMaxSize,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if c.counter == nil {
		c.counter = NewMemoryCounter(0)
	}
	c.logOn = c.logger.Handler() != slog.DiscardHandler
	return c
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLogger logs one record per decision ("risk decision": action,
// outcome, reasons, score, amount and currency, acr and max_age of a
// step-up, stepped_up, shadow and shadow_outcome; never the customer, the
// card, the IP address, the device key or a token) and one per policy
// reload. A plain allow is logged at Debug; a step-up, a denial, and a
// shadow decision that would not have allowed, at Info; a rejected policy
// at Error. nil keeps the default, which discards.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithMeterProvider sets where decision metrics go (see the package
// documentation). nil keeps the global provider (otel.GetMeterProvider).
func WithMeterProvider(p metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if p != nil {
			c.meters = p
		}
	})
}

// WithCounter sets the velocity counter store, shared by every policy the
// engine loads. nil keeps the default, a [MemoryCounter] of
// [DefaultMemoryKeys] windows, right for a single replica only; replicas
// share counts through package risk/rediscounter.
func WithCounter(ctr Counter) Option {
	return optionFunc(func(c *config) {
		if ctr != nil {
			c.counter = ctr
		}
	})
}

// WithClock sets the clock of velocity windows and auth_time ages. nil
// keeps time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithPollInterval sets how often [Watch] checks the policy file. Zero or
// negative keeps the default, 5s.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.interval = d
		}
	})
}
