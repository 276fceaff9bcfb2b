package risk

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/internal/policyfile"
)

// Engine decides actions against a compiled risk policy. It always holds a
// valid policy: [Engine.Update] and reloads swap in a new one atomically
// and keep the old one when the new one is invalid. An Engine is safe for
// concurrent use; build it with [New] or [Watch]. The zero value is not
// usable.
type Engine struct {
	store *policyfile.Store[compiled]
	cfg   *config
	tel   *telemetry
}

// New compiles p into an Engine. It returns an error matching
// [ErrInvalidPolicy] that lists every problem when p does not compile, or
// an error from the meter provider.
func New(p Policy, opts ...Option) (*Engine, error) {
	e, err := newEngine(opts)
	if err != nil {
		return nil, err
	}
	c, err := e.compile(&p)
	if err != nil {
		return nil, err
	}
	e.store = policyfile.New(c, e.storeConfig())
	return e, nil
}

// Watch loads the JSON policy file at path (see [Parse]) and returns an
// Engine that polls the file every [WithPollInterval] (default 5s),
// swapping in each new valid version atomically, exactly as authz.Watch
// does: the file is re-read and hashed on each poll, so atomic renames,
// symlink swaps (Kubernetes ConfigMaps) and in-place writes all work.
//
// Watch blocks until the first load; if that fails it returns the error and
// no Engine. Later invalid versions are rejected: the engine keeps the last
// good policy, logs the error and records it in [Engine.LastError] and
// [Engine.ReloadFailures]. Call [Engine.Close] to stop polling; ctx bounds
// only the first load.
func Watch(ctx context.Context, path string, opts ...Option) (*Engine, error) {
	e, err := newEngine(opts)
	if err != nil {
		return nil, err
	}
	s, err := policyfile.Watch(ctx, path, e.storeConfig())
	if err != nil {
		return nil, err
	}
	e.store = s
	return e, nil
}

func newEngine(opts []Option) (*Engine, error) {
	cfg := newConfig(opts)
	tel, err := newTelemetry(cfg.meters)
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, tel: tel}, nil
}

// compile compiles p and prepares its metric attributes.
func (e *Engine) compile(p *Policy) (*compiled, error) {
	c, err := compile(p)
	if err != nil {
		return nil, err
	}
	e.tel.prepare(c)
	return c, nil
}

func (e *Engine) storeConfig() policyfile.Config[compiled] {
	return policyfile.Config[compiled]{
		Read: func(path string) ([]byte, error) { return readLimited(path, e.cfg.maxSize) },
		Compile: func(path string, data []byte) (*compiled, error) {
			c, err := parseCompile(path, data)
			if err == nil {
				e.tel.prepare(c)
			}
			return c, err
		},
		Report:   e.report,
		Closed:   ErrClosed,
		Interval: e.cfg.interval,
	}
}

func (e *Engine) report(ctx context.Context, c *compiled, err error) {
	if err != nil {
		e.cfg.logger.Error("risk: policy rejected, keeping the last good policy", slog.String("file", e.store.File()), slog.Any("error", err))
		e.tel.policy(ctx, false)
		return
	}
	e.cfg.logger.Info("risk: policy loaded", slog.String("file", e.store.File()), slog.Int("actions", len(c.actions)))
	e.tel.policy(ctx, true)
}

// Update compiles p and, if it is valid, makes it the engine's policy for
// every later decision. If p is invalid the current policy stays, the error
// is recorded for [Engine.LastError] and counted in [Engine.ReloadFailures].
func (e *Engine) Update(p Policy) error {
	c, err := e.compile(&p)
	return e.store.Update(context.Background(), c, err)
}

// Reload re-reads the watched file now and swaps in its policy if it
// changed and is valid. It returns nil when the file is unchanged, the
// rejection error otherwise (also kept in [Engine.LastError]), and
// [ErrClosed] after [Engine.Close]. On an Engine built by [New] it does
// nothing and returns nil.
func (e *Engine) Reload(ctx context.Context) error { return e.store.Reload(ctx) }

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

// Close stops polling and waits for the poller to exit. It may be called
// more than once. Afterwards [Engine.Update] and [Engine.Reload] return
// [ErrClosed]; [Engine.Decide] keeps deciding with the last policy. It
// does not close the [Counter].
func (e *Engine) Close() error { return e.store.Close() }

// Decide scores one attempt at action with signals s and returns the
// outcome, with its reasons. An action no policy covers is denied with
// [ReasonUnknownAction]. Each call counts one attempt in the velocity
// windows of the action's policy, in one [Counter] call; when the counter
// fails, the action's on_counter_error outcome applies
// ([ReasonCounterUnavailable]), never a silent allow.
//
// A [StepUp] that the caller's token already satisfies (acr at least
// Decision.ACR, auth_time within Decision.MaxAge) is returned as [Allow]
// with SteppedUp set, so that the customer who stepped up gets through.
// An action in shadow mode is always allowed; see [Decision.Shadow].
//
// Decide keeps working after [Engine.Close], with the last policy.
func (e *Engine) Decide(ctx context.Context, action string, s Signals) Decision {
	var d Decision
	c := e.store.Load()
	a := c.lookup(action)
	c.decide(ctx, &d, a, &s, e.cfg.now(), e.cfg.counter, nil)
	e.tel.decision(ctx, a, &d)
	if e.cfg.logOn {
		e.log(ctx, &s, &d)
	}
	return d
}

// Explain evaluates like [Engine.Decide] and returns every step: each
// rule, whether it matched and the first condition that did not hold,
// the velocity windows read and the decision, which is the one Decide
// would make now: the windows of the action's own attempts count the
// attempt explained, as Decide's do, but Explain stores no attempt. It
// does not log and is not counted in metrics; use it
// for debugging and policy tests. Its Windows hold the signals' values
// (customer, card): do not log them.
func (e *Engine) Explain(ctx context.Context, action string, s Signals) Trace {
	t := Trace{Action: action}
	c := e.store.Load()
	c.decide(ctx, &t.Decision, c.lookup(action), &s, e.cfg.now(), e.cfg.counter, &t)
	return t
}

// Record counts one event, such as "payment_failed" or "login_failed",
// for the signals' customer, card, device and IP prefix, in every velocity
// window the policy declares for it; an event no rule reads is not
// counted. Services call it where the event happens, so that rules like
// card testing (failed payments per card) see it. It returns the
// counter's error, which matches [ErrCounterUnavailable].
func (e *Engine) Record(ctx context.Context, event string, s Signals) error {
	specs := e.store.Load().events[event]
	if len(specs) == 0 {
		return nil
	}
	ws := make([]Window, len(specs))
	for i, w := range specs {
		ws[i] = Window{Event: w.event, Key: w.key, Value: keyValue(&s, w.key), Length: w.length, Add: 1}
	}
	if err := e.cfg.counter.Count(ctx, e.cfg.now(), ws); err != nil {
		return fmt.Errorf("risk: record %q: %w", event, err)
	}
	return nil
}

func (e *Engine) log(ctx context.Context, s *Signals, d *Decision) {
	level := slog.LevelDebug
	if d.Outcome != Allow || d.ShadowOutcome != Allow {
		level = slog.LevelInfo
	}
	l := e.cfg.logger
	if !l.Enabled(ctx, level) {
		return
	}
	reasons := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		reasons[i] = string(r)
	}
	attrs := []slog.Attr{
		slog.String("action", d.Action),
		slog.String("outcome", d.Outcome.String()),
		slog.Any("reasons", reasons),
		slog.Int("score", d.Score),
	}
	if s.Currency != "" || s.Amount != 0 {
		attrs = append(attrs, slog.Int64("amount", s.Amount), slog.String("currency", s.Currency))
	}
	if d.ACR != "" || d.MaxAge != 0 {
		attrs = append(attrs, slog.String("acr", d.ACR), slog.Duration("max_age", d.MaxAge))
	}
	if d.SteppedUp {
		attrs = append(attrs, slog.Bool("stepped_up", true))
	}
	if d.Shadow {
		attrs = append(attrs, slog.Bool("shadow", true), slog.String("shadow_outcome", d.ShadowOutcome.String()))
	}
	l.LogAttrs(ctx, level, "risk decision", attrs...)
}

// keyValue is the value of key in s, or "" when s lacks it.
func keyValue(s *Signals, key Key) string {
	switch key {
	case KeyCustomer:
		return s.customer()
	case KeyCard:
		return s.Card
	case KeyDevice:
		if s.Principal != nil {
			return s.Principal.KeyThumbprint
		}
	case KeyIP:
		return s.ipPrefix()
	}
	return ""
}

// decide evaluates one attempt at a (nil: no policy) into d, which must be
// zero; t, when non-nil, receives every step, and the windows are read
// without adding.
func (c *compiled) decide(ctx context.Context, d *Decision, a *caction, s *Signals, now time.Time, ctr Counter, t *Trace) {
	if a == nil {
		d.Outcome, d.Reasons = Deny, []Reason{ReasonUnknownAction}
		return
	}
	d.Action = a.name
	var ws []Window
	var cerr error
	if len(a.wins) > 0 {
		ws = make([]Window, len(a.wins))
		for i, w := range a.wins {
			ws[i] = Window{Event: w.event, Key: w.key, Value: keyValue(s, w.key), Length: w.length}
			if w.add && t == nil {
				ws[i].Add = 1
			}
		}
		if cerr = ctr.Count(ctx, now, ws); cerr != nil {
			ws = nil
		}
		if t != nil {
			// Explain counts the attempt it explains without storing it,
			// so that its decision is the one Decide would make.
			for i, w := range a.wins {
				if w.add && ws != nil && ws[i].Value != "" {
					ws[i].Count++
				}
			}
		}
	}
	if t != nil {
		t.Windows, t.CounterError = ws, cerr
	}

	// Evaluate every rule: the strongest outcome of the matched outcome
	// rules, and the score of the matched weighted ones.
	var matched uint64 // bit i: rule i matched (at most maxRules)
	ruleOut := Allow
	for i := range a.rules {
		r := &a.rules[i]
		unmet := c.unmet(r, s, ws, now)
		if t != nil {
			t.Steps = append(t.Steps, Step{RuleID: r.id, Reason: r.reason, Outcome: r.outcome, Weight: r.weight, Matched: unmet == "", Unmet: unmet})
		}
		if unmet != "" {
			continue
		}
		matched |= 1 << i
		d.Score += r.weight
		ruleOut = max(ruleOut, r.outcome)
	}
	scoreOut := Allow
	switch {
	case a.denyAt > 0 && d.Score >= a.denyAt:
		scoreOut = Deny
	case a.stepUpAt > 0 && d.Score >= a.stepUpAt:
		scoreOut = StepUp
	}
	out := max(ruleOut, scoreOut)
	if cerr != nil {
		out = max(out, a.onErr)
	}
	if out != Allow {
		// The reasons are those of what set the outcome at its level.
		n := 0
		var rs [maxRules + 1]Reason
		add := func(r Reason) {
			for _, x := range rs[:n] {
				if x == r {
					return
				}
			}
			rs[n] = r
			n++
		}
		for i := range a.rules {
			r := &a.rules[i]
			if matched&(1<<i) != 0 && (r.outcome == out || r.weight > 0 && scoreOut == out) {
				add(r.reason)
			}
		}
		if cerr != nil && a.onErr == out {
			add(ReasonCounterUnavailable)
		}
		d.Reasons = make([]Reason, n)
		copy(d.Reasons, rs[:n])
	}
	if out == StepUp {
		d.ACR, d.MaxAge = a.acr, a.maxAge
		if len(a.acrValues) > 0 {
			d.ACRValues = append([]string(nil), a.acrValues...)
		}
		if c.satisfies(a, s, now) {
			out, d.SteppedUp = Allow, true
		}
	}
	d.Outcome = out
	if a.shadow {
		d.Shadow, d.ShadowOutcome, d.Outcome = true, out, Allow
	}
}

// satisfies reports whether s's principal meets a's step-up requirement.
func (c *compiled) satisfies(a *caction, s *Signals, now time.Time) bool {
	p := s.Principal
	if p == nil {
		return false
	}
	if a.acrLevel >= 0 {
		lvl, ok := c.acr[p.ACR]
		if !ok || lvl < a.acrLevel {
			return false
		}
	}
	if a.maxAge > 0 && (p.AuthTime.IsZero() || now.Sub(p.AuthTime) > a.maxAge) {
		return false
	}
	return true
}

// unmet returns the key of the first condition of r that does not hold,
// or "" when all hold.
func (c *compiled) unmet(r *crule, s *Signals, ws []Window, now time.Time) string {
	w := &r.c
	if bool(w.NewDevice) && !s.newDevice() {
		return "new_device"
	}
	if bool(w.NewCustomer) && s.History.Orders > 0 {
		return "new_customer"
	}
	if bool(w.NewPaymentMethod) && !s.NewPaymentMethod {
		return "new_payment_method"
	}
	if bool(w.NewShippingAddress) && !s.NewShippingAddress {
		return "new_shipping_address"
	}
	if bool(w.Unbound) && s.Principal != nil && s.Principal.Binding != authn.NoBinding {
		return "unbound"
	}
	if w.AmountOver != nil && !amountOver(w.AmountOver, s) {
		return "amount_over"
	}
	if f := w.AmountOverHistory; f > 0 && !(float64(s.Amount) > f*float64(s.History.MaxAmount)) {
		return "amount_over_history"
	}
	if d := time.Duration(w.AuthOlderThan); d > 0 {
		if p := s.Principal; p != nil && !p.AuthTime.IsZero() && now.Sub(p.AuthTime) <= d {
			return "auth_older_than"
		}
	}
	if r.minACR >= 0 {
		if p := s.Principal; p != nil {
			if lvl, ok := c.acr[p.ACR]; ok && lvl >= r.minACR {
				return "acr_below"
			}
		}
	}
	if w.Velocity != nil && (ws == nil || ws[r.win].Value == "" || ws[r.win].Count <= w.Velocity.Over) {
		return "velocity"
	}
	if w.TravelOverKmh > 0 {
		if v, ok := s.speedKmh(); !ok || v <= w.TravelOverKmh {
			return "travel_over_kmh"
		}
	}
	if n := w.Number; n != nil {
		if v, ok := s.Numbers[n.Name]; !ok || !(v > n.Over) {
			return "number"
		}
	}
	if w.Flag != "" && !s.Flags[w.Flag] {
		return "flag"
	}
	return ""
}

// amountOver reports whether s's amount is above the limit of its
// currency, or its currency has none.
func amountOver(limits map[string]int64, s *Signals) bool {
	var cur [3]byte
	if len(s.Currency) != 3 {
		return true
	}
	for i := range 3 {
		b := s.Currency[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		cur[i] = b
	}
	limit, ok := limits[string(cur[:])]
	return !ok || s.Amount > limit
}
