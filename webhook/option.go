package webhook

import (
	"time"

	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// Defaults of a Verifier.
const (
	// DefaultTolerance is how far a message's timestamp may be from the local
	// clock, in either direction: the Standard Webhooks reference libraries'
	// 5 minutes, which is also Stripe's default tolerance (300 s).
	DefaultTolerance = 5 * time.Minute
	// DefaultRotationGrace is how long the previous key of a secrets.Source is
	// still accepted after a rotation.
	DefaultRotationGrace = time.Hour
	// DefaultSecretField is the field of a secrets.Source credential that holds
	// the key, unless [WithSource] names another.
	DefaultSecretField = "secret"
	// DefaultMaxBodyBytes bounds the body a Verifier accepts (1 MiB).
	DefaultMaxBodyBytes = 1 << 20
	// DefaultReplayEntries bounds the in-memory replay store a Verifier makes
	// when it is given none ([WithReplayStore], which says how to size one).
	DefaultReplayEntries = 10_000
	// MaxScopeLen bounds the scope given to [WithScope].
	MaxScopeLen = 256
)

// Option configures a Verifier ([NewStandard], [NewStripe]).
type Option interface {
	apply(*config)
}

type config struct {
	src       *secrets.Source
	field     string
	static    []string
	hasStatic bool
	grace     time.Duration
	tolerance time.Duration
	store     dpop.ReplayStore
	scope     string
	now       func() time.Time
	maxBody   int64
	err       error
}

func newConfig(opts []Option) *config {
	c := &config{
		field:     DefaultSecretField,
		grace:     DefaultRotationGrace,
		tolerance: DefaultTolerance,
		now:       time.Now,
		maxBody:   DefaultMaxBodyBytes,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	return c
}

func (c *config) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithSource takes the verifier's key from the field of src's credential
// (DefaultSecretField when field is ""): a Standard Webhooks "whsec_" secret or
// "whpk_" public key, or a Stripe endpoint secret. Each rotation of src applies
// to the next message, and the key it replaces is still accepted for the grace
// period ([WithRotationGrace]). While src cannot serve a credential, every
// message is refused with an error matching [httpsig.ErrUnavailable]. The
// Verifier does not own src: close src after the Verifier. A nil src makes the
// constructor fail with ErrInvalidConfig.
func WithSource(src *secrets.Source, field string) Option {
	return optionFunc(func(c *config) {
		if src == nil {
			c.fail(invalidConfig("nil secrets source"))
			return
		}
		c.src = src
		if field != "" {
			c.field = field
		}
	})
}

// WithSecrets gives the verifier fixed keys (at most 8), each accepted: for
// tests, demos, and keys that do not rotate. A Standard Webhooks key is a
// "whsec_" secret or a "whpk_" public key (not a point of small order, such as
// the all-zero key, under which signatures verify that anyone can make); a
// Stripe one is the endpoint secret.
// Use [WithSource] for keys that rotate. Exactly one of WithSecrets and
// WithSource must be given.
func WithSecrets(keys ...string) Option {
	return optionFunc(func(c *config) {
		c.static = append([]string(nil), keys...)
		c.hasStatic = true
	})
}

// WithRotationGrace sets how long, after a rotation of the [WithSource] source,
// the previous key is still accepted (DefaultRotationGrace by default). Zero
// refuses it at once, as after a compromise. A negative d makes the
// constructor fail with ErrInvalidConfig.
func WithRotationGrace(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			c.fail(invalidConfig("negative rotation grace"))
			return
		}
		c.grace = d
	})
}

// WithTolerance sets how far a message's timestamp may be from the local clock,
// in the past or in the future (DefaultTolerance by default). A message is
// remembered for replay until a second after its timestamp plus d. Zero or a
// negative d makes the constructor fail with ErrInvalidConfig.
func WithTolerance(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.fail(invalidConfig("tolerance must be positive"))
			return
		}
		c.tolerance = d
	})
}

// WithReplayStore sets where accepted messages are remembered: a
// redisreplay.Store shared by a service's replicas, or a
// [dpop.MemoryReplayStore]. The same store may serve DPoP proofs and several
// verifiers: keys never collide (see [WithScope]). nil keeps the default, a
// MemoryReplayStore of DefaultReplayEntries entries for this Verifier alone.
//
// A MemoryReplayStore full of records that have not expired evicts the oldest
// (and counts it in its Evictions): a message whose record was evicted can be
// accepted once more within its window. A record lives up to twice the
// tolerance (a timestamp in the future), so size a store to at least the peak
// rate of messages accepted per second times twice the tolerance in seconds:
// the default store holds about 16 messages a second at the default
// tolerance. Above that, give a larger MemoryReplayStore, or a redisreplay.Store.
func WithReplayStore(s dpop.ReplayStore) Option {
	return optionFunc(func(c *config) {
		if s != nil {
			c.store = s
		}
	})
}

// WithScope names what the verifier's messages are replay-checked within, such
// as "payments/stripe" or the provider account: two verifiers with different
// scopes sharing a replay store never refuse each other's ids. The default is
// "". A scope longer than MaxScopeLen makes the constructor fail with
// ErrInvalidConfig.
func WithScope(scope string) Option {
	return optionFunc(func(c *config) {
		if len(scope) > MaxScopeLen {
			c.fail(invalidConfig("scope longer than 256 bytes"))
			return
		}
		c.scope = scope
	})
}

// WithClock sets where the verifier reads the time from, for the timestamp
// window and the rotation grace. Tests inject one instead of sleeping. nil
// keeps time.Now. The replay store may read another clock: a message's
// record outlives its window on both (see the package documentation).
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithMaxBodyBytes sets the largest body [Verifier.Verify] accepts
// (DefaultMaxBodyBytes by default); a larger one is refused with an error
// matching [httpsig.ErrMalformed]. [Verifier.MaxBodyBytes] reports it to the
// code that reads the body. Zero or a negative n makes the constructor fail
// with ErrInvalidConfig.
func WithMaxBodyBytes(n int64) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			c.fail(invalidConfig("max body bytes must be positive"))
			return
		}
		c.maxBody = n
	})
}
