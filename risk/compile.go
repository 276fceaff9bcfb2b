package risk

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// maxWindow bounds a velocity window, and so the memory a counter keeps.
const maxWindow = 7 * 24 * time.Hour

// maxRules bounds the rules of one action, and so a decision's reasons.
const maxRules = 64

// maxWeight bounds a rule's weight, so that scores cannot overflow.
const maxWeight = 1000

// compiled is a validated policy, ready to decide.
type compiled struct {
	acr     map[string]int
	levels  []string // acr_levels, weakest first
	exact   map[string]*caction
	pattern map[string]*caction // "admin." for "admin.*"
	events  map[string][]winSpec
	actions []*caction
	file    string
}

type caction struct {
	name     string
	shadow   bool
	acr      string
	acrLevel int // -1: no acr required
	// acrValues are acr and every stronger level of acr_levels, weakest
	// first: Decision.ACRValues (copied out, never shared).
	acrValues []string
	maxAge    time.Duration
	stepUpAt  int
	denyAt    int
	onErr     Outcome
	rules     []crule
	// wins are the windows one decision counts and reads: every window
	// of the action's own event (added to) and those its rules read.
	wins    []winSpec
	metrics *actionMetrics // set by the engine
}

// winSpec is one sliding window of a policy.
type winSpec struct {
	event  string
	key    Key
	length time.Duration
	add    bool // the action's own event: an attempt counts
}

type crule struct {
	id      string
	reason  Reason
	outcome Outcome
	weight  int
	c       Conditions
	minACR  int // for acr_below; -1 unset
	win     int // index in caction.wins; -1: no velocity condition
}

// compile validates p and builds its decision structures. The error joins
// every problem found, each a *PolicyError.
func compile(p *Policy) (*compiled, error) {
	var errs []error
	fail := func(i int, action, field string, err error) {
		errs = append(errs, &PolicyError{File: p.file, Index: i, Action: action, Field: field, Err: err})
	}
	c := &compiled{
		acr: make(map[string]int, len(p.ACRLevels)), exact: map[string]*caction{},
		pattern: map[string]*caction{}, events: map[string][]winSpec{}, file: p.file,
	}
	for i, a := range p.ACRLevels {
		if _, dup := c.acr[a]; dup || a == "" {
			fail(-1, "", fmt.Sprintf("acr_levels[%d]", i), fmt.Errorf("%w: empty or duplicate acr %q", ErrInvalidRule, a))
		} else if !challengeToken(a) {
			fail(-1, "", fmt.Sprintf("acr_levels[%d]", i), fmt.Errorf("%w: acr %q: want printable ASCII without space, '\"' or '\\', as an RFC 9470 acr_values entry", ErrInvalidRule, a))
		}
		c.acr[a] = i
	}
	c.levels = append([]string(nil), p.ACRLevels...)
	if len(p.Actions) == 0 {
		fail(-1, "", "", ErrNoActions)
	}
	for i := range p.Actions {
		a := &p.Actions[i]
		ca := c.compileAction(a, func(field string, err error) { fail(i, a.Action, field, err) })
		if ca == nil {
			continue
		}
		m := c.exact
		key := ca.name
		if prefix, ok := strings.CutSuffix(ca.name, "*"); ok {
			m, key = c.pattern, prefix
		}
		if _, dup := m[key]; dup {
			fail(i, a.Action, "action", fmt.Errorf("%w: %q declared twice", ErrInvalidAction, a.Action))
			continue
		}
		m[key] = ca
		c.actions = append(c.actions, ca)
	}
	// Decide counts an action's attempts under the name of its policy: a
	// velocity event named like an action that only a pattern covers
	// would read a window no attempt is added to, and never hold.
	for i := range p.Actions {
		a := &p.Actions[i]
		for j := range a.Rules {
			v := a.Rules[j].When.Velocity
			if v == nil || c.exact[v.Event] != nil {
				continue
			}
			if pa := c.lookup(v.Event); pa != nil && pa.name != v.Event {
				fail(i, a.Action, fmt.Sprintf("rules[%d].when.velocity.event", j), fmt.Errorf(
					"%w: event %q: attempts at that action are counted as event %q, the name of the policy covering it; count that, or declare the action", ErrInvalidCondition, v.Event, pa.name))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Every window of an event is counted whenever the event happens, so
	// that each action reading it sees the same count.
	for _, ca := range c.actions {
		for _, r := range ca.rules {
			if v := r.c.Velocity; v != nil {
				w := winSpec{event: v.Event, key: v.Key, length: time.Duration(v.Window)}
				if !containsWin(c.events[w.event], w) {
					c.events[w.event] = append(c.events[w.event], w)
				}
			}
		}
	}
	for _, ca := range c.actions {
		for _, w := range c.events[ca.name] {
			w.add = true
			ca.wins = append(ca.wins, w)
		}
		for j := range ca.rules {
			r := &ca.rules[j]
			v := r.c.Velocity
			if v == nil {
				continue
			}
			w := winSpec{event: v.Event, key: v.Key, length: time.Duration(v.Window), add: v.Event == ca.name}
			r.win = indexWin(ca.wins, w)
			if r.win < 0 {
				r.win = len(ca.wins)
				ca.wins = append(ca.wins, w)
			}
		}
	}
	return c, nil
}

func containsWin(ws []winSpec, w winSpec) bool { return indexWin(ws, w) >= 0 }

func indexWin(ws []winSpec, w winSpec) int {
	for i, x := range ws {
		if x.event == w.event && x.key == w.key && x.length == w.length {
			return i
		}
	}
	return -1
}

func (c *compiled) compileAction(a *ActionPolicy, fail func(field string, err error)) *caction {
	ok := true
	bad := func(field string, err error) { ok = false; fail(field, err) }
	if !validAction(a.Action, true) {
		bad("action", fmt.Errorf("%w: %q: want dot-separated segments of lower-case letters, digits and '_', optionally ending in \".*\"", ErrInvalidAction, a.Action))
	}
	ca := &caction{name: a.Action, shadow: a.Shadow, acr: a.StepUp.ACR, acrLevel: -1, maxAge: time.Duration(a.StepUp.MaxAge),
		stepUpAt: a.StepUpAt, denyAt: a.DenyAt, onErr: a.OnCounterError}
	if ca.acr != "" {
		lvl, known := c.acr[ca.acr]
		if !known {
			bad("step_up.acr", fmt.Errorf("%w: %q", ErrUnknownACR, ca.acr))
		}
		ca.acrLevel = lvl
		if known {
			ca.acrValues = append([]string(nil), c.levels[lvl:]...)
		}
	}
	if ca.maxAge < 0 {
		bad("step_up.max_age", fmt.Errorf("%w: negative max_age", ErrInvalidRule))
	}
	if a.StepUpAt < 0 || a.DenyAt < 0 || (a.StepUpAt > 0 && a.DenyAt > 0 && a.DenyAt <= a.StepUpAt) {
		bad("deny_at", fmt.Errorf("%w: thresholds must be positive and deny_at above step_up_at", ErrInvalidRule))
	}
	if a.OnCounterError > Deny {
		bad("on_counter_error", fmt.Errorf("%w: on_counter_error must be step_up or deny", ErrInvalidRule))
	}
	if len(a.Rules) == 0 || len(a.Rules) > maxRules {
		bad("rules", fmt.Errorf("%w: an action needs 1 to %d rules", ErrInvalidRule, maxRules))
	}
	weighted, velocity, stepUp := false, false, a.StepUpAt > 0 || a.OnCounterError == StepUp
	ids := map[string]bool{}
	for j := range a.Rules {
		r := &a.Rules[j]
		f := fmt.Sprintf("rules[%d]", j)
		if r.ID == "" || ids[r.ID] {
			bad(f+".id", fmt.Errorf("%w: missing or duplicate rule id %q", ErrInvalidRule, r.ID))
		}
		ids[r.ID] = true
		if !ValidReason(r.Reason) {
			bad(f+".reason", fmt.Errorf("%w: reason %q: want 1 to %d lower-case letters, digits and '_', starting with a letter", ErrInvalidRule, r.Reason, maxNameLen))
		}
		switch {
		case r.Weight != 0 && r.Outcome != Allow:
			bad(f+".weight", fmt.Errorf("%w: a rule has an outcome or a weight, not both", ErrInvalidRule))
		case r.Weight == 0 && r.Outcome == Allow:
			bad(f+".outcome", fmt.Errorf("%w: a rule needs an outcome (step_up or deny) or a weight", ErrInvalidRule))
		case r.Weight < 0 || r.Weight > maxWeight:
			bad(f+".weight", fmt.Errorf("%w: weight must be 1 to %d", ErrInvalidRule, maxWeight))
		case r.Outcome > Deny:
			bad(f+".outcome", fmt.Errorf("%w: outcome must be step_up or deny", ErrInvalidRule))
		}
		weighted = weighted || r.Weight > 0
		stepUp = stepUp || r.Outcome == StepUp
		cr := crule{id: r.ID, reason: r.Reason, outcome: r.Outcome, weight: r.Weight, c: r.When, minACR: -1, win: -1}
		cr.c.AmountOver = nil // compiled below, lower-case keys checked
		if !c.compileWhen(&cr, &r.When, func(field string, err error) { bad(f+".when"+field, err) }) {
			ok = false
		}
		velocity = velocity || r.When.Velocity != nil
		ca.rules = append(ca.rules, cr)
	}
	if weighted && a.StepUpAt == 0 && a.DenyAt == 0 {
		bad("step_up_at", fmt.Errorf("%w: weighted rules need step_up_at or deny_at", ErrInvalidRule))
	}
	if !weighted && (a.StepUpAt > 0 || a.DenyAt > 0) {
		bad("step_up_at", fmt.Errorf("%w: thresholds without a weighted rule", ErrInvalidRule))
	}
	if velocity && a.OnCounterError == Allow {
		bad("on_counter_error", fmt.Errorf("%w: an action with velocity rules needs on_counter_error (step_up or deny)", ErrInvalidRule))
	}
	if stepUp && ca.acr == "" && ca.maxAge == 0 {
		bad("step_up", fmt.Errorf("%w: the action can step up but step_up names neither acr nor max_age", ErrInvalidRule))
	}
	if !ok {
		return nil
	}
	return ca
}

func (c *compiled) compileWhen(cr *crule, w *Conditions, bad func(field string, err error)) bool {
	ok := true
	fail := func(field string, format string, args ...any) {
		ok = false
		bad(field, fmt.Errorf("%w: "+format, append([]any{ErrInvalidCondition}, args...)...))
	}
	if conditionCount(w) == 0 {
		fail("", "a rule needs at least one condition")
	}
	if w.AmountOver != nil && len(w.AmountOver) == 0 {
		fail(".amount_over", "no currency")
	}
	for cur, limit := range w.AmountOver {
		if len(cur) != 3 || strings.ToLower(cur) != cur || strings.Trim(cur, "abcdefghijklmnopqrstuvwxyz") != "" {
			fail(".amount_over", "currency %q: want a lower-case ISO 4217 code", cur)
		}
		if limit < 0 {
			fail(".amount_over", "negative limit for %q", cur)
		}
	}
	if len(w.AmountOver) > 0 {
		cr.c.AmountOver = w.AmountOver
	}
	if w.AmountOverHistory < 0 || math.IsNaN(w.AmountOverHistory) || math.IsInf(w.AmountOverHistory, 0) {
		fail(".amount_over_history", "want a positive factor")
	}
	if w.AuthOlderThan < 0 {
		fail(".auth_older_than", "negative duration")
	}
	if w.ACRBelow != "" {
		lvl, known := c.acr[w.ACRBelow]
		if !known {
			ok = false
			bad(".acr_below", fmt.Errorf("%w: %q", ErrUnknownACR, w.ACRBelow))
		}
		cr.minACR = lvl
	}
	if v := w.Velocity; v != nil {
		if !validAction(v.Event, true) {
			fail(".velocity.event", "event %q: want dot-separated segments of lower-case letters, digits and '_'", v.Event)
		}
		if v.Key < KeyCustomer || v.Key > KeyIP {
			fail(".velocity.key", "want customer, card, device or ip")
		}
		if d := time.Duration(v.Window); d <= 0 || d > maxWindow {
			fail(".velocity.window", "window must be above 0 and at most %s", maxWindow)
		}
		if v.Over < 0 {
			fail(".velocity.over", "negative count")
		}
	}
	if w.TravelOverKmh < 0 || math.IsNaN(w.TravelOverKmh) || math.IsInf(w.TravelOverKmh, 0) {
		fail(".travel_over_kmh", "want a positive speed")
	}
	if n := w.Number; n != nil && (!validName(n.Name) || math.IsNaN(n.Over) || math.IsInf(n.Over, 0)) {
		fail(".number", "want a signal name (lower-case letters, digits and '_') and a finite over")
	}
	if w.Flag != "" && !validName(w.Flag) {
		fail(".flag", "flag %q: want lower-case letters, digits and '_'", w.Flag)
	}
	return ok
}

// conditionCount counts the conditions set in w.
func conditionCount(w *Conditions) int {
	n := 0
	for _, set := range []bool{bool(w.NewDevice), bool(w.NewCustomer), bool(w.NewPaymentMethod), bool(w.NewShippingAddress), bool(w.Unbound),
		len(w.AmountOver) > 0, w.AmountOverHistory > 0, w.AuthOlderThan > 0, w.ACRBelow != "", w.Velocity != nil,
		w.TravelOverKmh > 0, w.Number != nil, w.Flag != ""} {
		if set {
			n++
		}
	}
	return n
}

// validAction reports whether s is an action or event name: dot-separated
// segments, each a valid name; with pattern, it may end in ".*".
func validAction(s string, pattern bool) bool {
	if pattern {
		if p, ok := strings.CutSuffix(s, ".*"); ok {
			s = p
		}
	}
	if s == "" || len(s) > 128 {
		return false
	}
	for seg := range strings.SplitSeq(s, ".") {
		if !validName(seg) {
			return false
		}
	}
	return true
}

// lookup returns the policy of action: its own, else the longest pattern
// covering it, else nil.
func (c *compiled) lookup(action string) *caction {
	if a := c.exact[action]; a != nil {
		return a
	}
	for i := len(action) - 1; i > 0; i-- {
		if action[i] == '.' {
			if a := c.pattern[action[:i+1]]; a != nil {
				return a
			}
		}
	}
	return nil
}

// challengeToken reports whether an acr value can be one entry of the
// space-separated acr_values of an RFC 9470 §3 challenge: 1*NQCHAR
// without the space (%x21 / %x23-5B / %x5D-7E). Any other would be
// dropped from the challenge or split, asking for something else.
func challengeToken(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
