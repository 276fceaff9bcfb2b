package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/internal/replaydefer"
	"github.com/ztkit/ztkit/internal/urlpath"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// Guard is the decision path of every request, whatever its transport: it
// authenticates the request with an [authn.Authenticator], authorizes it
// ([WithAuthorizer]), records the decision (span attributes and metrics) and
// logs a refusal ([WithLogger]), and answers with a [Result]. It is safe for
// concurrent use.
type Guard struct {
	a         *authn.Authenticator
	cfg       config
	tel       *telemetry
	refusals  *refusalLog
	tokenDPoP bool
	// deferReplay: Check lets a DPoP replay check on Redis wait for the
	// pipeline of the steps' first velocity count (see internal/replaydefer).
	deferReplay bool
}

// New returns the guard of a. A nil a is refused with an error matching
// authn.ErrInvalidConfig.
func New(a *authn.Authenticator, opts ...Option) (*Guard, error) {
	if a == nil {
		return nil, fmt.Errorf("%w: guard: nil Authenticator", authn.ErrInvalidConfig)
	}
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	g, err := newGuard(c)
	if err != nil {
		return nil, err
	}
	g.a = a
	g.tokenDPoP = a.Policy().Token == authn.DPoPBoundToken
	g.deferReplay = (c.limits != nil || c.risk != nil) && a.Policy().Token != authn.NoToken
	return g, nil
}

// newConfig is the configuration of opts over the defaults.
func newConfig(opts []Option) (config, error) {
	c := config{meters: otel.GetMeterProvider(), algs: "ES256 ES384 EdDSA Ed25519 PS256 RS256", logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c, c.err
}

// newGuard is a guard of c without an authenticator: its telemetry and its
// refusal log.
func newGuard(c config) (*Guard, error) {
	tel, err := newTelemetry(c.meters)
	if err != nil {
		return nil, err
	}
	refusals, err := newRefusalLog(c.logger)
	if err != nil {
		return nil, err
	}
	return &Guard{cfg: c, tel: tel, refusals: refusals}, nil
}

// Result is the outcome of [Guard.Check]: a principal, or a refusal.
type Result struct {
	// Principal is who is calling; nil when Refusal is set.
	Principal *authn.Principal
	// Decision is the authorizer's decision ([WithAuthorizer]); the zero
	// Decision without one.
	Decision authz.Decision
	// Path is the path the decision was made on: the canonical form of the
	// request's Path with an authorizer, its Path as given without one. A
	// transport routes the request on it.
	Path string
	// Refusal is set when the request is refused; the transport answers
	// with it and does not call the handler.
	Refusal *Refusal
}

// Check decides on req. The steps, in order, each of which may refuse:
//
//  1. authentication: the mTLS peer, the token and its DPoP proof, or the
//     JWT-SVID, as the authenticator's policy requires
//     ([authn.Authenticator.AuthenticateInbound]);
//  2. authorization of the principal on req.Method and the canonical form
//     of req.Path ([WithAuthorizer]);
//  3. the rate limits of the request's scope ([WithRateLimits]), keyed on
//     the verified caller: 429 / ResourceExhausted over a limit;
//  4. the risk decision of the request's action ([WithRisk]): an RFC 9470
//     step-up challenge (401 / Unauthenticated) or a denial (403 /
//     PermissionDenied).
//
// A DPoP proof's replay check may wait for the first velocity count of
// steps 3 and 4, to share its Redis round trip (see "One Redis round trip"
// in the package documentation); Check never answers before its verdict,
// and a replayed proof is refused as in step 1 whatever steps 2 to 4 said.
// Then the decision is recorded (span attributes and metrics, see the
// package documentation) and a refusal logged. A nil ctx or req is refused
// as a bad request; a nil Guard refuses every request as [ClassInternal],
// unrecorded, and a guard of [NewRecorder] as ClassInternal too, recorded
// and logged.
func (g *Guard) Check(ctx context.Context, req *inbound.Request) Result {
	if g == nil {
		return Result{Refusal: nilGuard()}
	}
	if ctx == nil || req == nil {
		return Result{Refusal: g.Reject(ctx, req, "The request is missing.")}
	}
	start := time.Now()
	if g.a == nil { // a recorder (NewRecorder): it authenticates nobody
		return Result{Refusal: g.refuseAuthn(ctx, req, start, internalVerdict, errRecorder)}
	}
	var replay *replaydefer.Collector
	if g.deferReplay {
		ctx, replay = replaydefer.NewContext(ctx)
	}
	p, err := g.a.AuthenticateInbound(ctx, req)
	// Only this request's own proof waits for the verdict: a proof that
	// code of the steps verifies with ctx (a guard called from an
	// authorizer or risk signals) is checked at once, by its verifier.
	replay.Seal()
	if err != nil {
		return Result{Refusal: g.refuseAuthn(ctx, req, start, classify(err), err)}
	}
	res, action, logRefusal := g.decide(ctx, req, p)
	// The one way out after authentication: a DPoP replay check that was
	// deferred (into the first velocity count's pipeline, or not sent at
	// all) has its verdict before the guard answers anything, and a
	// replayed proof, or a store that cannot tell, is refused exactly as
	// authentication refuses it, whatever the other steps said.
	if err := replay.Resolve(ctx); err != nil {
		err = replayError(p, err)
		return Result{Refusal: g.refuseAuthn(ctx, req, start, classify(err), err)}
	}
	if res.Refusal != nil {
		g.tel.record(ctx, req, start, false, res.Refusal.Reason, p, action)
		logRefusal()
		return res
	}
	g.tel.record(ctx, req, start, true, ReasonNone, p, "")
	return res
}

// decide authorizes the authenticated request req of p and runs the
// steps. It returns the result, and on a refusal the scope or action of
// the step that refused and the function that logs the refusal.
func (g *Guard) decide(ctx context.Context, req *inbound.Request, p *authn.Principal) (Result, string, func()) {
	res := Result{Principal: p, Path: req.Path}
	if g.cfg.authz != nil {
		path, perr := urlpath.Canonical(req.Path)
		if perr != nil {
			path = req.Path
		}
		d := g.cfg.authz.Decide(ctx, p, authz.Request{Method: req.Method, Path: path})
		if perr != nil {
			d = authz.Decision{Reason: authz.ReasonBadRequest} // even a shadow policy: no canonical path to hand on
		}
		if !d.Allow {
			ref := g.denial(req, p, d)
			return Result{Decision: d, Path: path, Refusal: ref}, "", func() { g.refusals.authz(ctx, req, p, d, ref) }
		}
		res.Decision, res.Path = d, path
	}
	if ref, action, logRefusal := g.steps(ctx, req, p, res.Decision); ref != nil {
		return Result{Decision: res.Decision, Path: res.Path, Refusal: ref}, action, logRefusal
	}
	return res, "", nil
}

// replayError is the refusal error of a deferred replay check's verdict
// err, as authentication would have returned it: dpop.ErrReplayed, or an
// error matching dpop.ErrReplayCheckUnavailable, in an
// [authn.RefusalError] naming the verified peer when there is one (the
// proof is the last thing authentication checks: the token's client was not
// recorded yet).
func replayError(p *authn.Principal, err error) error {
	switch {
	case errors.Is(err, dpop.ErrReplayed):
		err = dpop.ErrReplayed
	case !errors.Is(err, dpop.ErrReplayCheckUnavailable):
		err = fmt.Errorf("%w: %w", dpop.ErrReplayCheckUnavailable, err)
	}
	if p.Peer.IsZero() {
		return err
	}
	return &authn.RefusalError{Peer: p.Peer, Err: err}
}

// Reject refuses a request its transport could not describe, such as an
// HTTP request without a URL, as a [ClassBadRequest] refusal with reason
// invalid_request and the public sentence detail; it is recorded and logged
// like every refusal of [Guard.Check]. A nil Guard answers as Check does.
func (g *Guard) Reject(ctx context.Context, req *inbound.Request, detail string) *Refusal {
	if g == nil {
		return nilGuard()
	}
	if ctx == nil {
		ctx = context.Background() // only to record the refusal
	}
	if req == nil {
		req = &inbound.Request{}
	}
	v := verdict{ClassBadRequest, "invalid_request", ReasonInvalidRequest, false, detail}
	return g.refuseAuthn(ctx, req, time.Now(), v, dpop.ErrInvalidRequest)
}

// Nonce returns the server's current DPoP nonce, for a transport to send
// with every response (RFC 9449 §8), or "" without [WithNonces].
func (g *Guard) Nonce() string {
	if g == nil || g.cfg.nonces == nil {
		return ""
	}
	return g.cfg.nonces.Current()
}

// refuseAuthn answers the authentication error err of req as v classified
// it, and records and logs the refusal.
func (g *Guard) refuseAuthn(ctx context.Context, req *inbound.Request, start time.Time, v verdict, err error) *Refusal {
	ref := g.refusal(req, v, err)
	g.tel.record(ctx, req, start, false, ref.Reason, nil, "")
	g.refusals.authn(ctx, req, ref, err)
	return ref
}

// nilGuard is the answer of a nil *Guard: a fault on the server's side.
func nilGuard() *Refusal {
	return &Refusal{Class: ClassInternal, Reason: ReasonInternal, Detail: "Authentication failed."}
}
