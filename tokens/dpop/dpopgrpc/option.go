package dpopgrpc

// Option configures [NewPerRPCCredentials].
type Option interface{ apply(*config) }

type config struct {
	authority string
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithAuthority sets the authority ("payments.shop.example", host[:port],
// RFC 3986 §3.2) of every proof's htu, instead of the one each call is
// dialed to: for a service that a proxy or load balancer forwards to under
// a name other than the one the client connects to. "" keeps the default.
// An authority that is not host[:port] makes NewPerRPCCredentials fail with
// [ErrInvalidConfig]. Nonces are then remembered for this one authority.
func WithAuthority(authority string) Option {
	return optionFunc(func(c *config) { c.authority = authority })
}
