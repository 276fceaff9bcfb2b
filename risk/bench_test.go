package risk_test

import (
	"testing"

	"github.com/ztkit/ztkit/risk"
)

// BenchmarkDecide is one checkout decision with in-memory velocity
// counters: seven rules, two windows counted in one Counter call.
func BenchmarkDecide(b *testing.B) {
	for _, bc := range []struct {
		name string
		s    risk.Signals
	}{
		{"allow", risk.Signals{Principal: known(), Customer: "cust-1", Card: "card-a", Amount: 5000, Currency: "EUR", History: history()}},
		{"step_up", risk.Signals{Principal: newDevice(), Customer: "cust-1", Card: "card-a", Amount: 100001, Currency: "EUR", History: history()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e, _ := loadEngine(b)
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				_ = e.Decide(ctx, "checkout", bc.s)
			}
		})
	}
}
