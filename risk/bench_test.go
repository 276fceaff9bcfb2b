package risk_test

import (
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/ztkit/ztkit/risk"
)

// BenchmarkDecide is one checkout decision with in-memory velocity
// counters: seven rules, two windows counted in one Counter call.
func BenchmarkDecide(b *testing.B) {
	allow := risk.Signals{Principal: known(), Customer: "cust-1", Card: "card-a", Amount: 5000, Currency: "EUR", History: history()}
	stepUp := risk.Signals{Principal: newDevice(), Customer: "cust-1", Card: "card-a", Amount: 100001, Currency: "EUR", History: history()}
	sdk := risk.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())))
	for _, bc := range []struct {
		name string
		s    risk.Signals
		opts []risk.Option
	}{
		{"allow", allow, nil},
		{"step_up", stepUp, nil},
		{"step_up/otel_sdk", stepUp, []risk.Option{sdk}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e, _ := loadEngine(b, bc.opts...)
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				_ = e.Decide(ctx, "checkout", bc.s)
			}
		})
	}
}
