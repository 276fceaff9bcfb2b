package guardgrpc

// Option configures [New]. The decision itself is configured on the
// guard.Guard, with the same options as package middleware.
type Option interface{ apply(*config) }

type config struct {
	exempt map[string]struct{}
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithExemptMethods lets calls of the named full methods, such as
// "/grpc.health.v1.Health/Check" or
// "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", through
// without a decision: no credentials are read, nothing is recorded, and the
// handler's context carries no principal. A name matches only exactly, as
// grpc.UnaryServerInfo.FullMethod and grpc.StreamServerInfo.FullMethod spell
// it; nothing is exempt unless named here. Calls add up.
func WithExemptMethods(fullMethods ...string) Option {
	return optionFunc(func(c *config) {
		for _, m := range fullMethods {
			c.exempt[m] = struct{}{}
		}
	})
}
