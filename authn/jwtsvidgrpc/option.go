package jwtsvidgrpc

import (
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Option configures [NewPerRPCCredentials].
type Option interface{ apply(*PerRPCCredentials) }

type optionFunc func(*PerRPCCredentials)

func (f optionFunc) apply(c *PerRPCCredentials) { f(c) }

// WithSubject asks the source for the JWT-SVID of id, for a workload that
// has several identities; a JWT-SVID of another ID is refused. By default
// the source picks the workload's default identity.
func WithSubject(id spiffeid.ID) Option {
	return optionFunc(func(c *PerRPCCredentials) { c.params.Subject = id })
}

// WithClock sets the clock the JWT-SVID's lifetime is measured with; nil
// keeps time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *PerRPCCredentials) {
		if now != nil {
			c.now = now
		}
	})
}
