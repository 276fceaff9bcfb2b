package guard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/risk"
)

// RiskDecider decides one attempt at a sensitive action; *risk.Engine is
// one.
type RiskDecider interface {
	Decide(ctx context.Context, action string, s risk.Signals) risk.Decision
}

// RateLimiter counts one request of a caller against the limits of a
// scope; *risk.Limiter is one.
type RateLimiter interface {
	Allow(ctx context.Context, scope string, c risk.Caller) risk.LimitResult
}

// Actions names what a request is, for the risk and rate-limit steps: the
// risk action ("checkout") or the rate-limit scope, as the service
// declares them; "" for a request that is none, which skips the step. It
// is given the request and the authorizer's decision (the zero Decision
// without [WithAuthorizer]). Its results must come from a small set the
// service declares: they label metrics and logs.
type Actions func(req *inbound.Request, d authz.Decision) string

// ActionsByRoute names requests by their route: m maps a route pattern to
// a name, and a request is named by the entry for its inbound.Request.Route
// (for net/http the ServeMux pattern, "POST /checkout", when the guard runs
// inside the mux's handler; for gRPC the full method), else by the entry for
// the pattern of the authz rule that allowed it (authz.Decision.Pattern).
func ActionsByRoute(m map[string]string) Actions {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return func(req *inbound.Request, d authz.Decision) string {
		if a, ok := c[req.Route]; ok && req.Route != "" {
			return a
		}
		if d.Pattern != "" {
			return c[d.Pattern]
		}
		return ""
	}
}

// RiskSignals adds what the service knows of a request before the
// middleware runs (the customer's history, a location it derives from the
// address) to the signals the guard derived itself. It must not read the
// request's body: the guard runs before the handler. It is given the
// signals with the principal, the customer and the address already set.
type RiskSignals func(ctx context.Context, req *inbound.Request, s *risk.Signals)

// WithRisk adds the risk step (package risk): after authorization allowed
// a request that actions names, d decides that action with the signals
// derivable from the request: the verified principal (its acr, auth_time,
// binding and DPoP key, the device), the customer (its subject) and the
// client's address (inbound.Request.RemoteAddr, the immediate peer: behind a
// proxy, set IP through signals), completed by signals when it is not nil.
//
// A risk.StepUp is a [ClassUnauthenticated] refusal with reason
// risk_step_up and the RFC 9470 §3 insufficient_user_authentication
// challenge of an authorization step-up (see the package documentation),
// with acr_values the decision's ACRValues (its ACR and every stronger
// level, weakest first; its ACR alone when a decider of your own leaves
// ACRValues empty) and max_age its MaxAge, in the scheme
// the request used, with the current nonce in the DPoP scheme; a caller
// without an access token has no user authentication to step up and gets
// a 403 risk_denied. A risk.Deny is a [ClassPermissionDenied] refusal with
// reason risk_denied. The risk reasons are logged and counted (package
// risk counts them in ztkit.risk.reasons) but not sent to the client: they
// would tell a fraudster which rule to evade. An action in shadow mode is
// allowed (package risk logs and counts it).
//
// Signals known only to the handler (the amount, a new card or address in
// the request's body) cannot reach this step: a handler decides such an
// action itself with [Guard.CheckRisk], on the same decider. nil d removes
// the step; a nil *risk.Engine, or a decider without actions, makes [New]
// fail with an error matching authn.ErrInvalidConfig rather than silently
// skip the step.
func WithRisk(d RiskDecider, actions Actions, signals RiskSignals) Option {
	return optionFunc(func(c *config) {
		c.risk, c.riskActions, c.riskSignals = d, actions, signals
		if e, ok := d.(*risk.Engine); (ok && e == nil) || (d != nil && actions == nil) {
			c.err = errors.Join(c.err, fmt.Errorf("%w: guard: WithRisk: a nil *risk.Engine or nil Actions", authn.ErrInvalidConfig))
		}
	})
}

// WithRateLimits adds the rate-limit step: after authorization, every
// request that scopes names is counted by l against that scope's limits,
// keyed on the verified caller (risk.CallerOf the principal and
// inbound.Request.RemoteAddr). A request over a limit is a
// [ClassRateLimited] refusal with reason rate_limited and the wait in
// [Refusal.RetryAfter]: HTTP 429 with Retry-After, gRPC ResourceExhausted
// with a google.rpc.RetryInfo. When the counters fail, a limit that fails
// closed (risk.Limit.FailOpen false, the default) refuses the request as
// [ClassUnavailable] with reason rate_limit_unavailable; one that fails
// open lets it through. The step runs before the risk step, so that a
// flood is refused before it is scored. nil l removes the step; a nil
// *risk.Limiter, or a limiter without scopes, makes [New] fail with an
// error matching authn.ErrInvalidConfig.
//
// The IP prefix is that of inbound.Request.RemoteAddr, the immediate peer:
// behind a reverse proxy or a load balancer that is the proxy's address,
// shared by every client, so declare no per-IP limit there.
func WithRateLimits(l RateLimiter, scopes Actions) Option {
	return optionFunc(func(c *config) {
		c.limits, c.limitScopes = l, scopes
		if ll, ok := l.(*risk.Limiter); (ok && ll == nil) || (l != nil && scopes == nil) {
			c.err = errors.Join(c.err, fmt.Errorf("%w: guard: WithRateLimits: a nil *risk.Limiter or nil scopes", authn.ErrInvalidConfig))
		}
	})
}

// Reasons of the rate-limit and risk steps.
const (
	ReasonRateLimited          Reason = "rate_limited"
	ReasonRateLimitUnavailable Reason = "rate_limit_unavailable"
	ReasonRiskStepUp           Reason = "risk_step_up"
	ReasonRiskDenied           Reason = "risk_denied"
)

// The public sentences of the steps' refusals, and the error_description
// of a risk step-up challenge.
const (
	describeRiskStepUp         = "Additional authentication is required"
	detailRiskDenied           = "The request was refused."
	detailRateLimited          = "Too many requests; retry later."
	detailRateLimitUnavailable = "The service is temporarily unavailable."
)

// The stage of a step's refusal in the log.
const (
	stageLimit = "limit"
	stageRisk  = "risk"
)

// steps runs the rate-limit and risk steps on the authorized request req
// of p, with d the authorizer's decision. It returns the refusal, the
// scope or action it refused under, and the function that logs it (once
// the replay verdict is known, see Check), or a nil refusal.
func (g *Guard) steps(ctx context.Context, req *inbound.Request, p *authn.Principal, d authz.Decision) (*Refusal, string, func()) {
	if g.cfg.limits != nil {
		if scope := g.cfg.limitScopes(req, d); scope != "" {
			r := g.cfg.limits.Allow(ctx, scope, risk.CallerOf(p, req.RemoteAddr))
			if !r.Allowed {
				ref := &Refusal{Class: ClassRateLimited, Reason: ReasonRateLimited, Detail: detailRateLimited, RetryAfter: r.RetryAfter}
				if r.Err != nil {
					ref = &Refusal{Class: ClassUnavailable, Reason: ReasonRateLimitUnavailable, Detail: detailRateLimitUnavailable}
				}
				return ref, scope, func() { g.refusals.step(ctx, req, p, ref, stageLimit, scope, nil, r.Limit, r.Err) }
			}
		}
	}
	if g.cfg.risk != nil {
		if action := g.cfg.riskActions(req, d); action != "" {
			s := risk.Signals{Principal: p, IP: req.RemoteAddr}
			if p != nil {
				s.Customer = p.Subject
			}
			if g.cfg.riskSignals != nil {
				g.cfg.riskSignals(ctx, req, &s)
				s.Principal = p // the verified principal, whatever the service set
			}
			rd := g.cfg.risk.Decide(ctx, action, s)
			if ref := g.riskRefusal(req, p, rd); ref != nil {
				return ref, action, func() { g.refusals.step(ctx, req, p, ref, stageRisk, action, rd.Reasons, "", nil) }
			}
		}
	}
	return nil, "", nil
}

// CheckRisk decides action with the guard's risk decider ([WithRisk]) and
// signals s, for a handler that knows what the guard cannot (the amount,
// the card, a new address, from the request's body): it returns nil to go
// ahead, or the refusal to answer with, rendered as [WithRisk] describes
// and logged like the guard's own; package middleware writes it with
// Refuse, package guardgrpc with Interceptors.Refuse. req is the request
// (for the scheme of the challenge); s.Principal, when nil, is the
// principal of ctx (authn.PrincipalFromContext). The decision is counted
// in package risk's metrics, not in the guard's, which counted the request
// already. Without [WithRisk] it refuses as [ClassInternal].
//
// Each decision counts one attempt at action in its velocity windows: do
// not also name the handler's route as that action in [WithRisk]'s
// Actions, or each request would count twice.
func (g *Guard) CheckRisk(ctx context.Context, req *inbound.Request, action string, s risk.Signals) *Refusal {
	if g == nil {
		return nilGuard()
	}
	if ctx == nil || req == nil || g.cfg.risk == nil {
		return &Refusal{Class: ClassInternal, Reason: ReasonInternal, Detail: "Authentication failed."}
	}
	if s.Principal == nil {
		s.Principal, _ = authn.PrincipalFromContext(ctx)
	}
	d := g.cfg.risk.Decide(ctx, action, s)
	ref := g.riskRefusal(req, s.Principal, d)
	if ref != nil {
		g.refusals.step(ctx, req, s.Principal, ref, stageRisk, action, d.Reasons, "", nil)
	}
	return ref
}

// riskRefusal is the refusal of risk decision d for p, or nil when d
// allows.
func (g *Guard) riskRefusal(req *inbound.Request, p *authn.Principal, d risk.Decision) *Refusal {
	var ref *Refusal
	switch d.Outcome {
	case risk.Allow:
		return nil
	case risk.StepUp:
		if p != nil && (p.Has(authn.MethodBearer) || p.Has(authn.MethodDPoP)) {
			ref = g.riskStepUp(req, d)
			break
		}
		fallthrough
	default:
		ref = &Refusal{Class: ClassPermissionDenied, Reason: ReasonRiskDenied, Detail: detailRiskDenied}
	}
	return ref
}

// riskStepUp is the RFC 9470 §3 step-up refusal of risk decision d, the
// challenge of an authorization step-up with d's acr and max_age.
func (g *Guard) riskStepUp(req *inbound.Request, d risk.Decision) *Refusal {
	params := []string{fmt.Sprintf("error_description=%q", describeRiskStepUp)}
	values := d.ACRValues
	if len(values) == 0 && d.ACR != "" {
		// A decider of one's own that sets only ACR (as before ACRValues).
		values = []string{d.ACR}
	}
	if acr := acrValues(values); acr != "" {
		params = append(params, fmt.Sprintf("acr_values=%q", acr))
	}
	if d.MaxAge > 0 {
		params = append(params, fmt.Sprintf("max_age=\"%d\"", d.MaxAge/time.Second))
	}
	dpopScheme := usesDPoP(req)
	ref := &Refusal{Class: ClassUnauthenticated, Reason: ReasonRiskStepUp, Detail: describeRiskStepUp + ".",
		Challenges: []string{g.challenge(dpopScheme, codeStepUp, params...)}}
	if dpopScheme {
		ref.Nonce = g.Nonce()
	}
	return ref
}
