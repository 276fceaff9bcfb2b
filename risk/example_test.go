package risk_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/risk"
)

func Example() {
	policy, err := risk.Parse("risk.json", []byte(`{
  "acr_levels": ["pwd", "mfa"],
  "actions": [
    {"action": "checkout",
     "step_up": {"acr": "mfa", "max_age": "10m"},
     "step_up_at": 50, "deny_at": 100, "on_counter_error": "step_up",
     "rules": [
       {"id": "new-device", "reason": "new_device", "when": {"new_device": true}, "weight": 30},
       {"id": "big-order", "reason": "amount_over_limit", "when": {"amount_over": {"eur": 50000}}, "weight": 30},
       {"id": "card-testing", "reason": "velocity_card", "outcome": "deny",
        "when": {"velocity": {"event": "payment_failed", "key": "card", "window": "10m", "over": 3}}}
     ]}
  ]
}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	eng, err := risk.New(policy) // one replica: velocity counted in memory
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	customer := risk.History{Orders: 12, MaxAmount: 80000, Devices: []string{"known-key"}}
	principal := func(deviceKey, acr string) *authn.Principal {
		return &authn.Principal{Subject: "c-1", ACR: acr, AuthTime: time.Now(), Binding: authn.BoundToDPoPKey, KeyThumbprint: deviceKey}
	}

	// A large order from a known device passes.
	d := eng.Decide(ctx, "checkout", risk.Signals{Principal: principal("known-key", "pwd"), Amount: 79900, Currency: "EUR", History: customer, Card: "fp-1"})
	fmt.Println(d.Outcome, d.Reasons)

	// The same order from a new device steps up, with the challenge's acr and max_age.
	d = eng.Decide(ctx, "checkout", risk.Signals{Principal: principal("new-key", "pwd"), Amount: 79900, Currency: "EUR", History: customer, Card: "fp-1"})
	fmt.Println(d.Outcome, d.Reasons, d.ACR, d.MaxAge)

	// After the step-up, the mfa token passes.
	d = eng.Decide(ctx, "checkout", risk.Signals{Principal: principal("new-key", "mfa"), Amount: 79900, Currency: "EUR", History: customer, Card: "fp-1"})
	fmt.Println(d.Outcome, d.SteppedUp)

	// Card testing: four failed payments on one card, then any checkout with it is denied.
	for range 4 {
		_ = eng.Record(ctx, "payment_failed", risk.Signals{Card: "fp-2"})
	}
	d = eng.Decide(ctx, "checkout", risk.Signals{Principal: principal("known-key", "pwd"), Amount: 100, Currency: "EUR", History: customer, Card: "fp-2"})
	fmt.Println(d.Outcome, d.Reasons)

	// Explain says which rule did what.
	for _, s := range eng.Explain(ctx, "checkout", risk.Signals{Principal: principal("new-key", "pwd"), Amount: 100, Currency: "EUR", History: customer}).Steps {
		if s.Matched {
			fmt.Println(s.RuleID, "matched:", s.Reason)
		} else {
			fmt.Println(s.RuleID, "unmet:", s.Unmet)
		}
	}
	// Output:
	// allow []
	// step_up [new_device amount_over_limit] mfa 10m0s
	// allow true
	// deny [velocity_card]
	// new-device matched: new_device
	// big-order unmet: amount_over
	// card-testing unmet: velocity
}
