// Package authzotel counts authz decisions and policy reloads with
// OpenTelemetry metrics. It implements [authz.Observer]:
//
//	m, err := authzotel.New(meterProvider)
//	if err != nil { ... }
//	eng, err := authz.Watch(ctx, "/etc/shop/authz.json", authz.WithObserver(m))
//
// Two counters are recorded:
//
//   - ztkit.authz.decisions, one per [authz.Engine.Decide], with attributes
//     ztkit.authz.decision ("allow" or "deny"), ztkit.authz.reason (an
//     [authz.Reason]), ztkit.authz.rule_id (the deciding rule, absent when no
//     rule covers the route) and, when a shadow rule or policy disagreed with
//     the enforced decision, ztkit.authz.shadow ("would_deny" or
//     "would_allow"), so a team rolling out a stricter policy can watch what
//     it would deny before enforcing it.
//   - ztkit.authz.policy.updates, one per policy update or reload attempt,
//     with ztkit.authz.result "applied" or "rejected"; alert on rejected.
//
// Every attribute value comes from the policy (rule IDs) or from small fixed
// sets (reasons, outcomes): never a subject, a path or a token, so the
// cardinality is bounded by the number of rules and the values carry no
// personal data. Recording a decision is a map look-up and an atomic add and
// does not allocate; the SDK reads the totals when it collects.
package authzotel

import (
	"context"
	"errors"
	"maps"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/ztkit/ztkit/authz"
)

// ScopeName is the OpenTelemetry instrumentation scope of the metrics.
const ScopeName = "github.com/ztkit/ztkit/authz/authzotel"

// Attribute keys of the decision and update counters.
const (
	// AttrDecision is "allow" or "deny", the enforced decision.
	AttrDecision = attribute.Key("ztkit.authz.decision")
	// AttrReason is the decision's [authz.Reason].
	AttrReason = attribute.Key("ztkit.authz.reason")
	// AttrRuleID is the deciding rule; absent when no rule covers the route,
	// "_OTHER" past the bound on distinct attribute sets.
	AttrRuleID = attribute.Key("ztkit.authz.rule_id")
	// AttrShadow is "would_deny" or "would_allow" when a shadow rule or
	// policy disagreed with the enforced decision; absent otherwise.
	AttrShadow = attribute.Key("ztkit.authz.shadow")
	// AttrResult is "applied" or "rejected", on the update counter.
	AttrResult = attribute.Key("ztkit.authz.result")
)

// maxSets bounds the distinct attribute sets counted. A policy of n rules
// gives at most a few per rule; past the bound, decisions are counted under
// rule_id "_OTHER", so memory stays bounded whatever the policy.
const maxSets = 16384

// otherRule is the rule_id of decisions counted past maxSets.
const otherRule = "_OTHER"

// maxEntries bounds the keys mapped to counters, aliases of _OTHER
// included; a key past it is counted correctly but looked up under the lock.
const maxEntries = 2 * maxSets

// ErrNilMeterProvider is returned by [New] when given a nil MeterProvider.
var ErrNilMeterProvider = errors.New("authzotel: nil MeterProvider")

// Metrics records authz decisions and policy updates as OpenTelemetry
// counters. It implements [authz.Observer] and is safe for concurrent use.
// Build it with [New] and call [Metrics.Close] when done.
//
// A decision costs one map look-up and one atomic add: the counters are
// asynchronous (observable) instruments whose totals the SDK reads when it
// collects, rather than synchronous ones that would hash the attribute set
// on every request.
type Metrics struct {
	reg metric.Registration

	applied, rejected atomic.Int64

	// read maps attribute keys to counters without locking. New keys go to
	// dirty, under mu, until add merges them into a new read map.
	read   atomic.Pointer[map[setKey]*counter]
	mu     sync.Mutex
	dirty  map[setKey]*counter
	misses int        // lookups that missed read since it was built
	sets   int        // distinct counters (attribute sets)
	all    []*counter // every counter once, for the callback
}

var _ authz.Observer = (*Metrics)(nil)

// setKey is every attribute of a decision.
type setKey struct {
	allow  bool
	reason authz.Reason
	ruleID string
	shadow string
}

type counter struct {
	n   atomic.Int64
	set attribute.Set
}

// New creates the counters on mp's meter for [ScopeName].
func New(mp metric.MeterProvider) (*Metrics, error) {
	if mp == nil {
		return nil, ErrNilMeterProvider
	}
	m := mp.Meter(ScopeName)
	decisions, err := m.Int64ObservableCounter("ztkit.authz.decisions",
		metric.WithDescription("Authorization decisions, by outcome, reason and deciding rule."),
		metric.WithUnit("{decision}"))
	if err != nil {
		return nil, err
	}
	updates, err := m.Int64ObservableCounter("ztkit.authz.policy.updates",
		metric.WithDescription("Policy updates and reloads, applied or rejected (the last good policy kept)."),
		metric.WithUnit("{update}"))
	if err != nil {
		return nil, err
	}
	ms := &Metrics{dirty: map[setKey]*counter{}}
	ms.read.Store(&map[setKey]*counter{})
	applied := metric.WithAttributeSet(attribute.NewSet(AttrResult.String("applied")))
	rejected := metric.WithAttributeSet(attribute.NewSet(AttrResult.String("rejected")))
	ms.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		ms.mu.Lock()
		defer ms.mu.Unlock()
		for _, c := range ms.all {
			o.ObserveInt64(decisions, c.n.Load(), metric.WithAttributeSet(c.set))
		}
		o.ObserveInt64(updates, ms.applied.Load(), applied)
		o.ObserveInt64(updates, ms.rejected.Load(), rejected)
		return nil
	}, decisions, updates)
	if err != nil {
		return nil, err
	}
	return ms, nil
}

// Close unregisters the counters from the meter: later decisions are still
// counted, cheaply, but no longer reported. Remove m from the engine (or
// close the engine) as well when it is done with.
func (m *Metrics) Close() error { return m.reg.Unregister() }

// ObserveDecision counts d.
func (m *Metrics) ObserveDecision(_ context.Context, d authz.Decision) {
	k := setKey{allow: d.Allow, reason: d.Reason, ruleID: d.RuleID}
	switch {
	case d.ShadowDeny:
		k.shadow = "would_deny"
	case d.ShadowAllow:
		k.shadow = "would_allow"
	}
	c, ok := (*m.read.Load())[k]
	if !ok {
		c = m.add(k)
	}
	c.n.Add(1)
}

// ObservePolicy counts an applied (err == nil) or rejected policy update.
func (m *Metrics) ObservePolicy(_ context.Context, err error) {
	if err != nil {
		m.rejected.Add(1)
		return
	}
	m.applied.Add(1)
}

// add returns the counter of k, creating it if need be. It runs when k is
// not in the read map: the counter is then in dirty, or new. Either way it
// counts a miss, and the read map is rebuilt with dirty merged in once the
// misses or the new counters reach a quarter of its size (at least 8), so
// the copying stays linear overall and a hot counter leaves the locked
// path after a few calls.
func (m *Metrics) add(k setKey) *counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	read := *m.read.Load()
	if c, ok := read[k]; ok {
		return c
	}
	c, ok := m.dirty[k]
	if !ok {
		c = m.counterFor(read, k)
		if len(read)+len(m.dirty) < maxEntries {
			m.dirty[k] = c // for a key past maxSets, an alias of its _OTHER counter
		}
	}
	m.misses++
	if limit := max(8, len(read)/4); len(m.dirty) > 0 && (m.misses >= limit || len(m.dirty) >= limit) {
		next := make(map[setKey]*counter, len(read)+len(m.dirty))
		maps.Copy(next, read)
		maps.Copy(next, m.dirty)
		m.read.Store(&next)
		m.dirty = map[setKey]*counter{}
		m.misses = 0
	}
	return c
}

// counterFor finds or makes the counter k counts under: its own, or past
// maxSets distinct sets, the _OTHER one of its decision, reason and shadow.
func (m *Metrics) counterFor(read map[setKey]*counter, k setKey) *counter {
	if m.sets >= maxSets {
		k.ruleID = otherRule
		if c, ok := read[k]; ok {
			return c
		}
		if c, ok := m.dirty[k]; ok {
			return c
		}
	}
	decision := "deny"
	if k.allow {
		decision = "allow"
	}
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, AttrDecision.String(decision), AttrReason.String(string(k.reason)))
	if k.ruleID != "" {
		attrs = append(attrs, AttrRuleID.String(k.ruleID))
	}
	if k.shadow != "" {
		attrs = append(attrs, AttrShadow.String(k.shadow))
	}
	c := &counter{set: attribute.NewSet(attrs...)}
	m.dirty[k] = c
	m.sets++
	m.all = append(m.all, c)
	return c
}
