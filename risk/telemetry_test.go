package risk_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ztkit/ztkit/risk"
)

// sums collects the int64 sums of metric name by their attribute sets.
func sums(t *testing.T, r *sdkmetric.ManualReader, name string) map[attribute.Distinct]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	out := map[attribute.Distinct]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				out[dp.Attributes.Equivalent()] = dp.Value
			}
		}
	}
	return out
}

func set(kvs ...attribute.KeyValue) attribute.Distinct {
	s := attribute.NewSet(kvs...)
	return s.Equivalent()
}

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	e, _ := loadEngine(t, risk.WithMeterProvider(mp))
	ctx := t.Context()
	big := risk.Signals{Principal: newDevice(), Amount: 100001, Currency: "EUR", History: history()}
	e.Decide(ctx, "checkout", big)
	e.Decide(ctx, "checkout", big)
	e.Decide(ctx, "checkout", risk.Signals{Principal: known(), Amount: 1, Currency: "EUR", History: history()})
	big.Principal = withACR(newDevice(), "mfa", 0)
	e.Decide(ctx, "checkout", big)
	e.Decide(ctx, "refund", risk.Signals{Numbers: map[string]float64{"ip_risk": 1}})
	e.Decide(ctx, "no.such.action", risk.Signals{})
	e.Explain(ctx, "checkout", big) // not counted

	checkout := risk.AttrAction.String("checkout")
	d := sums(t, reader, "ztkit.risk.decisions")
	assert.Equal(t, map[attribute.Distinct]int64{
		set(checkout, risk.AttrOutcome.String("step_up")):                                                  2,
		set(checkout, risk.AttrOutcome.String("allow")):                                                    1,
		set(checkout, risk.AttrOutcome.String("allow"), risk.AttrSteppedUp.Bool(true)):                     1,
		set(risk.AttrAction.String("refund"), risk.AttrShadow.Bool(true), risk.AttrOutcome.String("deny")): 1,
		set(risk.AttrAction.String("_unknown"), risk.AttrOutcome.String("deny")):                           1,
	}, d)
	r := sums(t, reader, "ztkit.risk.reasons")
	assert.Equal(t, map[attribute.Distinct]int64{
		set(checkout, risk.AttrOutcome.String("step_up"), risk.AttrReason.String("new_device")):                                               2,
		set(checkout, risk.AttrOutcome.String("step_up"), risk.AttrReason.String("amount_over_limit")):                                        2,
		set(risk.AttrAction.String("refund"), risk.AttrShadow.Bool(true), risk.AttrOutcome.String("deny"), risk.AttrReason.String("ip_risk")): 1,
		set(risk.AttrAction.String("_unknown"), risk.AttrOutcome.String("deny"), risk.AttrReason.String("unknown_action")):                    1,
	}, r)

	assert.Error(t, e.Update(risk.Policy{}))
	u := sums(t, reader, "ztkit.risk.policy.updates")
	assert.Equal(t, map[attribute.Distinct]int64{set(risk.AttrResult.String("rejected")): 1}, u)
}
