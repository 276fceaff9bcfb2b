package guard

import (
	"errors"
	"fmt"

	"github.com/ztkit/ztkit/authn"
)

// internalVerdict is the answer to a fault on the server's side.
var internalVerdict = verdict{ClassInternal, "", ReasonInternal, false, "Authentication failed."}

// errRecorder is the cause, in the log, of a refusal by the Check of a
// guard of NewRecorder.
var errRecorder = errors.New("guard: a recorder (guard.NewRecorder) authenticates nobody: Check refuses every request")

// NewRecorder returns a guard that authenticates nobody and only records
// refusals decided outside [Guard.Check]: those of [Guard.Refuse] and
// [Guard.Reject], with the same metrics, span attributes and log as every
// refusal. It is the guard of a service that verifies only message
// signatures, such as a webhook receiver for payment providers (no mTLS, no
// token): package middleware's VerifyWebhooks and VerifySignatures record
// their refusals with it.
//
// It fails closed: its Check refuses every request as [ClassInternal]
// (HTTP 500), recorded and logged at Error, so that a recorder given by
// mistake to middleware that authenticates (middleware.FromGuard, package
// guardgrpc) lets nothing through. [Guard.CheckRisk] refuses as
// ClassInternal too.
//
// It takes the options that shape what is recorded ([WithLogger],
// [WithMeterProvider], [WithRealm]...); [WithAuthorizer], [WithRisk] and
// [WithRateLimits], which decide on an authenticated caller, have nobody to
// decide on and make it fail with an error matching authn.ErrInvalidConfig.
// The guard is safe for concurrent use.
func NewRecorder(opts ...Option) (*Guard, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if c.authz != nil || c.risk != nil || c.limits != nil {
		return nil, fmt.Errorf("%w: guard: NewRecorder authenticates nobody: WithAuthorizer, WithRisk and WithRateLimits have no caller to decide on", authn.ErrInvalidConfig)
	}
	return newGuard(c)
}
