package spiffesource

import "time"

// DefaultStartTimeout bounds [NewX509Source] and [NewBundleSource] unless
// [WithStartTimeout] says otherwise.
const DefaultStartTimeout = 15 * time.Second

// Option configures [NewX509Source] and [NewBundleSource].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	startTimeout time.Duration
}

func newConfig(opts []Option) config {
	c := config{startTimeout: DefaultStartTimeout}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithStartTimeout bounds how long the constructor waits for the Workload
// API's first answer (an X.509-SVID, or trust bundles) before it gives up
// with [authn.ErrSourceUnavailable]. A zero or negative d keeps
// [DefaultStartTimeout]. The parent context still applies: the constructor
// returns when either ends.
func WithStartTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.startTimeout = d
		}
	})
}
