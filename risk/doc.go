// Package risk decides, per action and in process, whether one attempt at
// a sensitive action (a checkout, adding a payment method, changing the
// account's e-mail, a refund, an admin operation) may proceed, must step
// up authentication first, or is refused: never MFA on every customer,
// only when the risk of this action, now, crosses a threshold.
//
// A service declares its actions in a [Policy], usually a JSON file loaded
// with [Watch] (validated and hot-reloaded exactly like authz policies):
// per action, rules whose conditions read the [Signals] of the attempt
// (the verified principal's acr, auth_time, binding and DPoP key as the
// device; the amount against the customer's history; a new payment method
// or address; velocity counts per customer, card, device and IP prefix;
// geo-velocity; signals the service defines). A rule either decides an
// outcome or adds its weight to a score compared with thresholds:
//
//	eng, err := risk.Watch(ctx, "/etc/shop/risk.json", risk.WithLogger(logger))
//	...
//	d := eng.Decide(ctx, "checkout", risk.Signals{Principal: p, Amount: 129900, Currency: "EUR", ...})
//	switch d.Outcome {
//	case risk.StepUp: // challenge: acr_values=d.ACR, max_age=d.MaxAge (RFC 9470)
//	case risk.Deny:
//	}
//
// Decisions are deterministic and explainable: each carries bounded
// [Reason] codes, and [Engine.Explain] returns every rule considered and
// the first condition each failed, in the vocabulary of authz's Explain.
//
// Velocity counts live behind the [Counter] interface: one call per
// decision, so that a store shared by replicas answers in one round trip;
// [MemoryCounter] serves a single replica. When the counter fails, each
// action's on_counter_error outcome (step_up or deny) applies: an outage
// never allows a high-risk action silently.
//
// # Shadow mode and telemetry
//
// An action in shadow mode is decided, logged and counted but always
// allowed, so a team sees its step-up rate before enforcing it. Through
// [WithMeterProvider], under the scope [ScopeName]:
//
//   - ztkit.risk.decisions, one per [Engine.Decide], with [AttrAction],
//     [AttrOutcome] (in shadow mode the would-be outcome), [AttrShadow] and
//     [AttrSteppedUp];
//   - ztkit.risk.reasons, one per reason of each step-up or deny, with
//     [AttrAction], [AttrOutcome], [AttrReason] and [AttrShadow];
//   - ztkit.risk.policy.updates, with [AttrResult] "applied" or "rejected".
//
// Every attribute value comes from the policy or from fixed sets, so
// cardinality is bounded and values carry no personal data.
package risk
