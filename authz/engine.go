package authz

import (
	"context"
	"log/slog"
	"strings"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/internal/policyfile"
	"github.com/ztkit/ztkit/internal/urlpath"
)

// Engine decides requests against a compiled policy. It always holds a
// valid policy: [Engine.Update] and reloads swap in a new one atomically
// and keep the old one when the new one is invalid. An Engine is safe for
// concurrent use; build it with [New] or [Watch]. The zero value is not usable.
type Engine struct {
	store *policyfile.Store[compiled]
	cfg   *config
}

// New compiles p into an Engine. It returns an error matching
// [ErrInvalidPolicy] that lists every problem when p does not compile.
func New(p Policy, opts ...Option) (*Engine, error) {
	c, err := compile(&p)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: newConfig(opts)}
	e.store = policyfile.New(c, e.storeConfig())
	return e, nil
}

// storeConfig is how e's policy store reads, compiles and reports.
func (e *Engine) storeConfig() policyfile.Config[compiled] {
	return policyfile.Config[compiled]{
		Read:     func(path string) ([]byte, error) { return readLimited(path, e.cfg.maxSize) },
		Compile:  parseCompile,
		Report:   e.report,
		Closed:   ErrClosed,
		Interval: e.cfg.interval,
		Tick:     e.cfg.tick,
	}
}

// report logs a policy swap or rejection and tells the observer.
func (e *Engine) report(ctx context.Context, c *compiled, err error) {
	if err != nil {
		e.cfg.logger.Error("authz: policy rejected, keeping the last good policy", slog.String("file", e.store.File()), slog.Any("error", err))
	} else {
		e.cfg.logger.Info("authz: policy loaded", slog.String("file", e.store.File()), slog.Int("rules", len(c.rules)))
	}
	if o := e.cfg.observer; o != nil {
		o.ObservePolicy(ctx, err)
	}
}

// Update compiles p and, if it is valid, makes it the engine's policy for
// every later decision. If p is invalid the current policy stays, the error
// is recorded for [Engine.LastError] and counted in [Engine.ReloadFailures].
func (e *Engine) Update(p Policy) error {
	c, err := compile(&p)
	return e.store.Update(context.Background(), c, err)
}

// LastError returns the error of the last rejected policy, or nil when the
// last update or reload succeeded.
func (e *Engine) LastError() error { return e.store.LastError() }

// ReloadFailures counts the policies rejected since the engine was built.
func (e *Engine) ReloadFailures() uint64 { return e.store.ReloadFailures() }

// Updated returns a channel closed at the next successful policy swap.
func (e *Engine) Updated() <-chan struct{} { return e.store.Updated() }

// WaitUntilUpdated blocks until the next successful policy swap or until
// ctx is done, returning ctx's error.
func (e *Engine) WaitUntilUpdated(ctx context.Context) error { return e.store.WaitUntilUpdated(ctx) }

// Decide returns the enforced decision for principal p (nil for an
// unauthenticated caller) calling req. It does not allocate on the allow
// path. ctx is passed to the decision logger only.
//
// Decide keeps working after [Engine.Close], with the last policy, so that
// requests in flight during shutdown are still decided.
func (e *Engine) Decide(ctx context.Context, p *authn.Principal, req Request) Decision {
	var d Decision
	e.store.Load().decide(&d, p, req, e.cfg, nil)
	if e.cfg.logOn {
		e.log(ctx, p, req, &d)
	}
	if o := e.cfg.observer; o != nil {
		o.ObserveDecision(ctx, d)
	}
	return d
}

// Explain evaluates like [Engine.Decide] and returns every step: each
// candidate rule and the first condition it failed. It allocates and does
// not log; use it for debugging and policy tests.
func (e *Engine) Explain(_ context.Context, p *authn.Principal, req Request) Trace {
	var t Trace
	e.store.Load().decide(&t.Decision, p, req, e.cfg, &t)
	return t
}

// Authorizer returns e's Decide as an [Authorizer].
func (e *Engine) Authorizer() Authorizer { return e.Decide }

func (e *Engine) log(ctx context.Context, p *authn.Principal, req Request, d *Decision) {
	l, level := e.cfg.logger, decisionLevel(d)
	if !l.Enabled(ctx, level) {
		return
	}
	method, _ := req.normalize()
	attrs := []slog.Attr{
		slog.Bool("allow", d.Allow),
		slog.String("reason", string(d.Reason)),
		slog.String("rule_id", d.RuleID),
		slog.String("pattern", d.Pattern),
		slog.String("method", method),
	}
	if p != nil {
		if p.ClientID != "" {
			attrs = append(attrs, slog.String("client_id", p.ClientID))
		}
		if !p.Peer.IsZero() {
			attrs = append(attrs, slog.String("peer", p.Peer.String()))
		}
		if !p.Workload.IsZero() {
			attrs = append(attrs, slog.String("workload", p.Workload.String()))
		}
		if actor := p.ActorID(); !actor.IsZero() {
			attrs = append(attrs, slog.String("actor", actor.String()))
		}
	}
	if d.ShadowAllow || d.ShadowDeny {
		attrs = append(attrs, slog.Bool("shadow_allow", d.ShadowAllow), slog.Bool("shadow_deny", d.ShadowDeny),
			slog.String("shadow_rule_id", d.ShadowRuleID), slog.String("shadow_reason", string(d.ShadowReason)))
	}
	l.LogAttrs(ctx, level, "authz decision", attrs...)
}

// decisionLevel is the level d is logged at: Debug for an allow, Info for a
// denial and for an allow that a shadow rule or policy would have denied.
func decisionLevel(d *Decision) slog.Level {
	if d.Allow && !d.ShadowDeny {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// decide evaluates req into d, which must be zero; t, when non-nil,
// receives every step.
func (c *compiled) decide(d *Decision, p *authn.Principal, req Request, cfg *config, t *Trace) {
	if p == nil {
		p = &authn.Principal{}
	}
	method, raw := req.normalize()
	path, err := urlpath.Canonical(raw)
	if t != nil {
		t.Method, t.Path = method, raw
		if err == nil {
			t.Path = path
		}
	}
	if method == "" || err != nil {
		d.Reason = ReasonBadRequest
		c.finish(d)
		return
	}
	var ms matches
	c.index.match(method, path, strings.IndexByte(path, '%') >= 0, &ms)
	if t != nil {
		for i := range ms.n {
			t.Patterns = append(t.Patterns, ms.at(i).pattern)
		}
	}
	d.Reason = ReasonNoRule
	decided := false
	// Forbid wins: every enforced forbid rule of every matching pattern first.
	for i := 0; i < ms.n && !decided; i++ {
		n := ms.at(i)
		for _, ri := range n.forbid {
			r := &c.rules[ri]
			reason, _ := c.eval(r, p, cfg.now)
			t.step(r, n, reason)
			if reason == "" {
				d.Reason, d.RuleID, d.Pattern = ReasonForbidden, r.id, n.pattern
				decided = true
				break
			}
		}
	}
	best, bestRule := 0, (*crule)(nil)
	for i := 0; i < ms.n && !decided; i++ {
		n := ms.at(i)
		for _, ri := range n.allow {
			r := &c.rules[ri]
			reason, stage := c.eval(r, p, cfg.now)
			t.step(r, n, reason)
			if reason == "" {
				d.Allow, d.Reason, d.RuleID, d.Pattern = true, ReasonAllowed, r.id, n.pattern
				decided = true
				break
			}
			if stage > best {
				best, bestRule = stage, r
				d.Reason, d.RuleID, d.Pattern = reason, r.id, n.pattern
			}
		}
	}
	if !decided {
		switch d.Reason {
		case ReasonInsufficientScope:
			d.MissingScopes = bestRule.missingScopes(p)
		case ReasonInsufficientACR, ReasonAuthTooOld:
			bestRule.stepUp(d)
		}
	}
	// Shadow rules never change the enforced decision.
	for i := 0; i < ms.n; i++ {
		n := ms.at(i)
		for _, ri := range n.shadow {
			r := &c.rules[ri]
			if t == nil && (d.ShadowAllow || d.ShadowDeny) {
				break
			}
			reason, _ := c.eval(r, p, cfg.now)
			t.step(r, n, reason)
			if reason != "" || d.ShadowAllow || d.ShadowDeny {
				continue
			}
			if r.effect == Forbid && d.Allow {
				d.ShadowDeny, d.ShadowRuleID, d.ShadowReason = true, r.id, ReasonForbidden
			} else if r.effect == Allow && !d.Allow && d.Reason != ReasonForbidden {
				d.ShadowAllow, d.ShadowRuleID, d.ShadowReason = true, r.id, ReasonAllowed
			}
		}
	}
	c.finish(d)
}

// finish applies policy-wide shadow mode to d: allow, and report what it
// would have decided.
func (c *compiled) finish(d *Decision) {
	if !c.shadow || d.Allow {
		return
	}
	*d = Decision{
		Allow: true, Reason: ReasonShadowPolicy, Pattern: d.Pattern, MissingScopes: d.MissingScopes,
		ACRValues: d.ACRValues, MaxAuthAge: d.MaxAuthAge,
		ShadowDeny: true, ShadowRuleID: d.RuleID, ShadowReason: d.Reason,
	}
}

func (t *Trace) step(r *crule, n *node, reason Reason) {
	if t == nil {
		return
	}
	t.Steps = append(t.Steps, Step{RuleID: r.id, Effect: r.effect, Shadow: r.shadow, Pattern: n.pattern, Matched: reason == "", Reason: reason})
}
