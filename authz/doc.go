// Package authz decides, inside a service, whether an authenticated
// principal may call a route: deny by default, least privilege, at the cost
// of a map lookup or two.
//
// A [Policy] is a list of [Rule] values. A rule allows, or forbids, a set of
// routes written as net/http.ServeMux patterns ("POST /payments/{id}",
// "/admin/{path...}", "/shop.Payments/Charge" for gRPC) to the principals
// its [Match] describes: SPIFFE IDs (exact, trust domain, prefix or glob)
// of the mTLS peer, of the JWT-SVID and of the token's current actor (the
// workload a token exchange issued a customer's token to, named by the act
// claim of RFC 8693 §4.1: "actors"), client IDs, workload or end user,
// scopes, roles, groups, a minimum acr on the policy's ACR ladder, required
// amr values, a maximum auth_time age and a DPoP or mTLS token binding ([BindingRequirement]: "dpop", "mtls", "bound"
// for either, or "any"; a token's own binding, [authn.Binding], is "none",
// "dpop" or "mtls"). Anything no enforced allow rule allows is
// denied, and a matching enforced forbid rule always wins. The mesh can say
// "checkout may call payments"; this package can say "checkout may call
// POST /payments only with a customer's DPoP-bound token carrying
// payments:write and acr ≥ mfa", and "payments accepts Charge only for a
// customer's token that the token service issued to checkout to act for
// them":
//
//	{"id": "charge-for-customer", "effect": "allow", "routes": ["/shop.Payments/Charge"],
//	 "match": {"kind": "user", "actors": ["spiffe://shop.example/checkout"], "binding": "dpop"}}
//
// A rule with "actors" matches only the current actor, the outermost act
// claim; a token without act never matches it (reason actor_mismatch), and
// neither does one where checkout is only a prior actor (a nested act).
//
// Decisions are made on one canonical form of the request path (see
// [Request.Path]); percent-encoded dot segments, encoded slashes and other
// paths that routers read differently are denied as bad requests, never
// matched, so a wildcard never captures "..".
//
// Policies are compiled into an index: by method, then a trie of path
// segments with single- and multi-wildcard children mirroring ServeMux's
// routing tree, so a decision visits only the rules of the patterns that
// match the request, however many rules the policy has. Conditions are
// checked on slices of a handful of strings, which costs less than hashing
// and does not allocate.
//
// [Engine.Decide] returns a [Decision] with a bounded [Reason] (for metrics
// and logs), the deciding rule and, for insufficient_scope, the missing
// scopes an HTTP layer needs for an RFC 6750 §3.1 error; for insufficient_acr
// and auth_too_old, what a step-up must achieve, the acr_values and max_age
// of an RFC 9470 §3 insufficient_user_authentication challenge
// ([Decision.ACRValues]: the rule's min_acr and every stronger level,
// weakest first; [Decision.MaxAuthAge]: its max_auth_age). Package guard
// answers those two denials with that challenge (HTTP 401, gRPC
// Unauthenticated); insufficient_amr stays a plain denial, as RFC 9470 has
// no parameter for amr.
// [Engine.Explain] returns the full [Trace], and [ExplainHandler] serves it
// as a debug endpoint, off unless a service mounts it. Shadow rules, or a shadow
// policy, are evaluated and reported without being enforced.
//
// # Policy files
//
// [Parse], [LoadFile] and [Watch] read JSON with encoding/json. We chose
// JSON over YAML (go.yaml.in/yaml/v3) to keep authz free of dependencies, as
// the project's dependency rule asks of this package, and because JSON has
// one way to write each value (no implicit typing such as "no" → false or
// 010 → 8, no anchors that expand). What YAML would add, line numbers in
// errors, we get by walking the token stream: errors name the file, line,
// rule and field. Unknown and duplicate keys are rejected.
//
// # Reload
//
// [Watch] polls the file (no fsnotify) and swaps the compiled policy with an
// atomic pointer, so there is never a moment without a policy; an invalid
// version is rejected, logged and counted while the last good policy stays.
//
// # Decision log and metrics
//
// [WithLogger] writes one record per decision (outcome, reason, rule,
// pattern, method, client, peer, workload and actor IDs; never the subject, the path or a
// token), denials at Info and allows at Debug: give it a logger whose
// handler is redact.NewHandler so that nothing slips through. Behind package
// middleware, whose WithLogger logs every refusal, a decision logger adds the
// allows. [WithObserver] reports each decision and each
// policy update to an [Observer]; package authz/authzotel counts them as
// OpenTelemetry metrics by decision, reason and rule.
//
// # Usage
//
//	eng, err := authz.Watch(ctx, "/etc/shop/authz.json", authz.WithLogger(logger))
//	if err != nil { ... }
//	defer eng.Close()
//	d := eng.Decide(ctx, principal, authz.Request{Method: r.Method, Path: r.URL.EscapedPath()})
//	if !d.Allow { ... 403 ... }
//
// Test a policy with package authztest: authztest.Run(t, eng, cases).
package authz
