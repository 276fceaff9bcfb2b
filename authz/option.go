package authz

import (
	"log/slog"
	"time"
)

// Option configures [New] and [Watch].
type Option interface {
	apply(*config)
}

type config struct {
	logger   *slog.Logger
	logOn    bool // logger is not the default, which discards
	observer Observer
	now      func() time.Time
	interval time.Duration
	maxSize  int64
	tick     <-chan time.Time // tests only
}

func newConfig(opts []Option) *config {
	c := &config{
		logger:   slog.New(slog.DiscardHandler),
		now:      time.Now,
		interval: 5 * time.Second,
		maxSize:  4 << 20,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	c.logOn = c.logger.Handler() != slog.DiscardHandler
	return c
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLogger logs one record per decision ("authz decision": allow,
// reason, rule_id, pattern, method, client_id, peer, workload, actor (the
// token's current actor, when it is a SPIFFE ID) and shadow fields; never
// the subject, the path or any token) and one record per
// policy reload. A denial is logged at Info, and so is an allow that a
// shadow rule or a shadow policy would have denied (shadow_deny true), so
// that a stricter policy can be watched before it is enforced; every other
// allow is logged at Debug, so that a service's Info log is not one line per
// request. A policy reload is logged at Info, a rejected one at Error. nil
// keeps the default, which discards.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithClock sets the clock used for max_auth_age. nil keeps time.Now.
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
