package risk

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the OpenTelemetry instrumentation scope of the metrics.
const ScopeName = "github.com/ztkit/ztkit/risk"

// Metric attribute keys; see the package documentation.
const (
	// AttrAction is the action's policy name ("checkout", "admin.*"), or
	// "_unknown" for an action no policy covers.
	AttrAction = attribute.Key("ztkit.risk.action")
	// AttrOutcome is "allow", "step_up" or "deny": the enforced outcome,
	// or in shadow mode the would-be one.
	AttrOutcome = attribute.Key("ztkit.risk.outcome")
	// AttrReason is one [Reason] of the decision.
	AttrReason = attribute.Key("ztkit.risk.reason")
	// AttrShadow is true for an action in shadow mode.
	AttrShadow = attribute.Key("ztkit.risk.shadow")
	// AttrSteppedUp is true for an allow that a step-up already satisfied.
	AttrSteppedUp = attribute.Key("ztkit.risk.stepped_up")
	// AttrResult is "applied" or "rejected", on the policy update counter.
	AttrResult = attribute.Key("ztkit.risk.result")
)

const unknownAction = "_unknown"

type telemetry struct {
	decisions metric.Int64Counter
	reasons   metric.Int64Counter
	updates   metric.Int64Counter
	unknown   *actionMetrics
	applied   []metric.AddOption
	rejected  []metric.AddOption
}

// actionMetrics are one action's attribute sets, built when its policy is
// compiled, so that recording a decision does not allocate.
type actionMetrics struct {
	// decisions by outcome; index 3 is an allow after a satisfied step-up.
	decisions [4][]metric.AddOption
	// reasons by reason, then outcome.
	reasons map[Reason]*[3][]metric.AddOption
}

func newTelemetry(mp metric.MeterProvider) (*telemetry, error) {
	m := mp.Meter(ScopeName)
	t := &telemetry{}
	var err error
	if t.decisions, err = m.Int64Counter("ztkit.risk.decisions", metric.WithUnit("{decision}"),
		metric.WithDescription("Risk decisions by action and outcome")); err != nil {
		return nil, fmt.Errorf("risk: metrics: %w", err)
	}
	if t.reasons, err = m.Int64Counter("ztkit.risk.reasons", metric.WithUnit("{reason}"),
		metric.WithDescription("Reasons of step-up and deny risk decisions, by action, outcome and reason")); err != nil {
		return nil, fmt.Errorf("risk: metrics: %w", err)
	}
	if t.updates, err = m.Int64Counter("ztkit.risk.policy.updates", metric.WithUnit("{update}"),
		metric.WithDescription("Risk policy updates and reload attempts, applied or rejected")); err != nil {
		return nil, fmt.Errorf("risk: metrics: %w", err)
	}
	t.unknown = newActionMetrics(unknownAction, false, []Reason{ReasonUnknownAction})
	t.applied = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(AttrResult.String("applied")))}
	t.rejected = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(AttrResult.String("rejected")))}
	return t, nil
}

func opts(kvs ...attribute.KeyValue) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
}

func newActionMetrics(action string, shadow bool, reasons []Reason) *actionMetrics {
	m := &actionMetrics{reasons: make(map[Reason]*[3][]metric.AddOption, len(reasons))}
	base := []attribute.KeyValue{AttrAction.String(action)}
	if shadow {
		base = append(base, AttrShadow.Bool(true))
	}
	with := func(kvs ...attribute.KeyValue) []metric.AddOption {
		return opts(append(append([]attribute.KeyValue(nil), base...), kvs...)...)
	}
	for o := Allow; o <= Deny; o++ {
		m.decisions[o] = with(AttrOutcome.String(o.String()))
	}
	m.decisions[3] = with(AttrOutcome.String(Allow.String()), AttrSteppedUp.Bool(true))
	for _, r := range reasons {
		if m.reasons[r] != nil {
			continue
		}
		var byOutcome [3][]metric.AddOption
		for o := Allow; o <= Deny; o++ {
			byOutcome[o] = with(AttrOutcome.String(o.String()), AttrReason.String(string(r)))
		}
		m.reasons[r] = &byOutcome
	}
	return m
}

// prepare builds the attribute sets of c's actions.
func (t *telemetry) prepare(c *compiled) {
	for _, a := range c.actions {
		reasons := []Reason{ReasonCounterUnavailable}
		for _, r := range a.rules {
			reasons = append(reasons, r.reason)
		}
		a.metrics = newActionMetrics(a.name, a.shadow, reasons)
	}
}

// decision counts d, decided for a (nil: no policy).
func (t *telemetry) decision(ctx context.Context, a *caction, d *Decision) {
	m := t.unknown
	if a != nil {
		m = a.metrics
	}
	out := d.Outcome
	if d.Shadow {
		out = d.ShadowOutcome
	}
	i := int(out)
	if d.SteppedUp && out == Allow {
		i = 3
	}
	t.decisions.Add(ctx, 1, m.decisions[i]...)
	if out == Allow {
		return
	}
	for _, r := range d.Reasons {
		if o := m.reasons[r]; o != nil {
			t.reasons.Add(ctx, 1, o[out]...)
		}
	}
}

func (t *telemetry) policy(ctx context.Context, applied bool) {
	if applied {
		t.updates.Add(ctx, 1, t.applied...)
	} else {
		t.updates.Add(ctx, 1, t.rejected...)
	}
}
