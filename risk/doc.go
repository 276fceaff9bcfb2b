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
//	case risk.StepUp: // challenge: acr_values=d.ACRValues, max_age=d.MaxAge (RFC 9470)
//	case risk.Deny:
//	}
//
// Decisions are deterministic and explainable: each carries bounded
// [Reason] codes, and [Engine.Explain] returns every rule considered and
// the first condition each failed, in the vocabulary of authz's Explain.
//
// Velocity counts live behind the [Counter] interface: one call per
// decision, so that a store shared by replicas answers in one round trip;
// [MemoryCounter] serves a single replica, package risk/rediscounter many
// (one Redis round trip per decision). When the counter fails, each
// action's on_counter_error outcome (step_up or deny) applies: an outage
// never allows a high-risk action silently.
//
// # Rate limits
//
// A [Limiter] enforces per-caller rate limits on the same Counter: at most
// [Limit].Max requests per sliding window, declared per scope (a route or
// an action) and keyed on the verified identity ([CallerOf]): per customer
// (the token's subject), per client (client_id), per workload SPIFFE ID,
// per DPoP key and per IP prefix, rather than on an address a bot rotates.
// With a counter shared by replicas they enforce one limit together.
// When the counter fails, a limit fails closed (the request is refused as
// unavailable) unless it is declared FailOpen. Package guard enforces
// limits on HTTP and gRPC alike (guard.WithRateLimits: 429 with
// Retry-After, gRPC ResourceExhausted with a RetryInfo), and the risk
// step (guard.WithRisk) after authorization.
//
// # Simulation
//
// TestSimulation runs a seeded month of synthetic checkouts through an
// Engine with a MemoryCounter and the checkout policy of
// testdata/checkout.json: good customers coming back on known devices
// (now and then on a new device, with a new card or address, a bigger
// basket, travelling, through a VPN, after a declined card) and new
// customers' first orders, beside card-testing bursts (fresh accounts,
// stolen cards, small amounts, from datacenter networks or residential
// proxies), credential-stuffing runs and account-takeover sessions on new
// devices. An attack attempt is stopped when it is stepped up (the attacker
// has no second factor) or denied. Targets: good customers stepped up at
// most 3%, attack attempts stopped at least 99%:
//
//	| stream (seed 20261207)          | attempts | step-up | denied | stopped | top reasons |
//	| good: returning customers       |     9285 |  0.59% |  0.00% |   0.59% | new_device_new_address 25, new_device_big_spend 22, hosting_network 7 |
//	| good: first orders              |       91 |  3.30% |  0.00% |   3.30% | hosting_network 2, velocity_customer 1, velocity_device 1 |
//	| good: all                       |     9376 |  0.62% |  0.00% |   0.62% |  |
//	| attack: card testing            |     2770 | 99.64% |  0.00% |  99.64% | velocity_device 2606, hosting_network 2039, velocity_customer 1795 |
//	| attack: credential stuffing     |      323 | 100.00% |  0.00% | 100.00% | new_device_new_address 246, new_device_big_spend 128, new_device 66 |
//	| attack: account takeover        |      374 | 100.00% |  0.00% | 100.00% | new_device_new_address 276, new_device_big_spend 149, new_device 80 |
//	| attack: all                     |     3467 | 99.71% |  0.00% |  99.71% |  |
//
// The figures show the policy doing what it was written to do on traffic
// modelled with the signals it reads; they are no measure of real fraud,
// whose shape a team learns in shadow mode. Other seeds give 0.5-0.6% and
// 99.2-99.6%. The README has the same table.
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
