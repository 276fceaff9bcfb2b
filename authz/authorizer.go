package authz

import (
	"context"

	"github.com/ztkit/ztkit/authn"
)

// Authorizer decides whether principal p (nil when unauthenticated) may make
// request req. It is what HTTP and gRPC integrations consume. Build one with
// [Engine.Authorizer], [AuthorizePolicy] or [DenyAll]; the zero value (nil)
// denies everything through [Authorizer.Decide]. Implementations must be
// safe for concurrent use.
type Authorizer func(ctx context.Context, p *authn.Principal, req Request) Decision

// DenyAll denies every request with [ReasonNoRule]. It is the way to deny
// everything on purpose: a [Policy] without rules is refused with [ErrNoRules].
func DenyAll() Authorizer {
	return func(context.Context, *authn.Principal, Request) Decision { return Decision{Reason: ReasonNoRule} }
}

// AuthorizePolicy compiles a fixed policy into an Authorizer, for services
// whose policy is written in Go and never reloads.
func AuthorizePolicy(p Policy, opts ...Option) (Authorizer, error) {
	e, err := New(p, opts...)
	if err != nil {
		return nil, err
	}
	return e.Authorizer(), nil
}

// Decide calls a, denying with [ReasonNoRule] when a is nil.
func (a Authorizer) Decide(ctx context.Context, p *authn.Principal, req Request) Decision {
	if a == nil {
		return Decision{Reason: ReasonNoRule}
	}
	return a(ctx, p, req)
}
