// Package guard is ztkit's decision path, one core that every transport
// adapts: a request described as an [inbound.Request] is authenticated
// (package authn: the mTLS peer, the access token and its DPoP proof, or the
// JWT-SVID), authorized (package authz), recorded (span attributes and
// metrics) and, when refused, logged once; the outcome is a [Result]: a
// principal, or a [Refusal] value. The transport builds the description and
// renders the outcome in its own protocol, and nothing else:
//
//	g, _ := guard.New(authenticator, guard.WithAuthorizer(az), guard.WithLogger(logger))
//	req := inbound.FromHTTP(r)
//	res := g.Check(r.Context(), &req)
//	if res.Refusal != nil {
//		// answer with res.Refusal.HTTPStatus(), its Challenges and Nonce
//	}
//
// Package middleware is the net/http transport, package guard/guardgrpc the
// gRPC server transport. The gRPC transport describes a call as Method
// "POST", Path and Route its full method, Authority its ":authority",
// Authorization and DPoP its "authorization" and "dpop" metadata, and
// PeerCertificates and RemoteAddr from its peer; it renders a Refusal's [Class] as a gRPC status
// code, its [Reason] as the reason of a google.rpc.ErrorInfo, its Challenges
// as "www-authenticate" and its Nonce as "dpop-nonce" metadata, and its
// RetryAfter as a google.rpc.RetryInfo.
//
// # Refusals
//
// A refusal has a [Class] (unauthenticated, permission denied, bad request,
// unavailable, internal, rate limited), a [Reason] code, which is bounded and names the
// failed check, never a value, a fixed public sentence, the RFC 6750 §3,
// RFC 9449 §7.1 and RFC 9470 §3 challenges to send and, for use_dpop_nonce
// and DPoP step-up challenges, the nonce to send (RFC 9449 §8). The code is in the metrics and the span below, and in the
// log record of [WithLogger], which logs each refusal once, at a level chosen
// by its cause (Info for bad credentials and policy denials, Warn for signs
// of an attack, Error for outages), with the route, method, verified peer and
// client, and never a token, proof, path or subject.
//
// An authorization denial ([WithAuthorizer]) is reported under its
// authz.Reason code and answered by what the caller can do about it:
//
//   - bad_request (a path without a canonical form): 400, gRPC
//     InvalidArgument;
//   - insufficient_scope: 403, gRPC PermissionDenied, with an RFC 6750 §3.1
//     challenge naming the missing scopes;
//   - insufficient_acr and auth_too_old, for a caller that presented an
//     access token: the user's authentication behind a valid token is too
//     weak or too old, so the refusal is a [ClassUnauthenticated] one, 401
//     or gRPC Unauthenticated, with an RFC 9470 §3 step-up challenge in the
//     scheme the request used, such as
//     `DPoP realm="payments", error="insufficient_user_authentication",
//     error_description="A different authentication level is required",
//     acr_values="mfa phr", max_age="300", algs="ES256 …"` (error_description
//     "More recent authentication is required" for auth_too_old), and, in the
//     DPoP scheme, the current nonce of [WithNonces]. acr_values are the
//     rule's min_acr and every stronger level of the policy's acr_levels,
//     weakest first, the order of preference RFC 9470 §3 asks for
//     (authz.Decision.ACRValues); values a client could not read back as one
//     token (a space, a quote, a backslash, a non-ASCII byte) are left out.
//     max_age is the rule's max_auth_age in whole seconds, rounded down, and
//     quoted as in RFC 9470's examples. Both are sent, when the rule has
//     them, whichever of the two failed, so that one new authentication
//     meets the rule. dpop.AdviseHTTP and dpopgrpc.Advise read this
//     challenge as dpop.ActionStepUp with the acr values and the max age. A
//     caller without an access token (mTLS or a JWT-SVID only) has no user
//     authentication to step up and gets a plain 403;
//   - insufficient_amr stays a plain 403, gRPC PermissionDenied: RFC 9470
//     defines no challenge parameter for amr, and a challenge that only said
//     "step up" could send the user through a new authentication that still
//     lacks the method;
//   - every other denial: 403, gRPC PermissionDenied, with no challenge.
//
// # Signatures
//
// A check that needs the whole HTTP message, the body included, runs in the
// transport, not in [Guard.Check]: an RFC 9421 HTTP message signature
// (package httpsig) or a webhook signature (package webhook), both verified
// by package middleware. Its refusal is recorded with [Guard.Refuse] exactly
// as one of Check's (metrics, span attributes, one log record, stage
// "signature"), under one of these reasons, which both verifiers share:
//
//   - signature_missing: no signature, or none with the required label:
//     401, with an Accept-Signature field (RFC 9421 §5.1) naming what the
//     route requires;
//   - signature_malformed: Signature-Input, Signature or a webhook's
//     signature headers cannot be parsed: 400;
//   - signature_invalid: the signature does not verify: 401, logged at Warn;
//   - signature_expired: expires has passed, or created is too old or in
//     the future: 401;
//   - signature_replayed: the nonce, or the webhook's id, was seen before:
//     401, logged at Warn;
//   - signature_unknown_key: no key has the keyid, or the alg contradicts
//     the key: 401;
//   - digest_mismatch: the Content-Digest the signature covers does not
//     match the body (RFC 9530), a changed body: 401, logged at Warn (a
//     Content-Digest that cannot be used, or a body that cannot be read or
//     is too long, is signature_malformed: not a forgery);
//   - signature_insufficient: the signature does not cover a component or
//     carry a parameter the route requires: 401;
//   - signature_unavailable: the key source or the replay store cannot
//     answer: 503, logged at Error.
//
// A refusal with one of these reasons is 401 without a WWW-Authenticate
// challenge ([Refusal.HTTPStatus]): RFC 9421 defines no authentication
// scheme.
//
// A service that authenticates messages only, such as a receiver of payment
// provider webhooks (no mTLS, no token), records these refusals with a guard
// of [NewRecorder], which needs no authenticator; it fails closed, its Check
// refusing every request (500, reason internal).
//
// # Steps
//
// [Guard.Check] runs authentication, then authorization, then, for a request
// the service names (an [Actions] func, such as [ActionsByRoute]), two steps
// of package risk, so that every transport gets them with no code of its own:
//
//   - rate limits ([WithRateLimits]), per caller on the verified identity
//     (customer, client, workload SPIFFE ID, DPoP key, IP prefix), on a
//     velocity counter replicas can share: over a limit, a
//     [ClassRateLimited] refusal, reason rate_limited, HTTP 429 with
//     Retry-After (RFC 9110 §10.2.3), gRPC ResourceExhausted with a
//     google.rpc.RetryInfo; counters down, a limit fails closed (503 /
//     Unavailable, rate_limit_unavailable) unless declared to fail open;
//   - the risk decision of the action ([WithRisk]), on signals derived from
//     the principal (acr, auth_time, binding, the DPoP key as the device)
//     and the request (the client's address), completed by the service:
//     a step-up is answered exactly as an authorization step-up, 401 /
//     Unauthenticated with the RFC 9470 §3 challenge carrying the
//     decision's acr and max_age (reason risk_step_up), which
//     dpop.AdviseHTTP and dpopgrpc.Advise read as dpop.ActionStepUp; a
//     denial is 403 / PermissionDenied (reason risk_denied); shadow mode
//     allows. The risk reasons go to the log (risk_reasons) and to package
//     risk's metrics, not to the client, whom they would tell which rule to
//     evade.
//
// A handler decides an action on signals only it knows (the amount, a new
// card or address, from the body) with [Guard.CheckRisk], and answers the
// refusal with middleware.Refuse or guardgrpc's Interceptors.Refuse.
//
// # One Redis round trip for the replay check and the counters
//
// When the proof's replay store is a tokens/dpop/redisreplay Store and the
// steps count on a risk/rediscounter Counter with the same go-redis client
// (the same redis.UniversalClient value), a DPoP request costs one Redis
// round trip, not two: [Guard.Check] lets the proof's replay check (a SET
// NX) wait, and the steps' first count sends it with its EVALSHA in one
// pipeline (one Exec; on Cluster, go-redis sends each node its part in
// parallel, so the keys need not share a slot). Only the first count
// carries it: a request counted by a rate limit and then by the risk
// engine makes two round trips (three before). The deferral happens only
// inside Check, for a guard with a rate-limit or risk step and a policy
// that reads tokens, and only for a redisreplay.Store as it is (a store of
// your own, or one wrapped, is checked during authentication); an
// authenticator or a dpop.RequestVerifier used without a guard checks the
// proof as before, and no option or API skips the check. Only the proof
// of the request Check authenticates waits: a proof that code of the steps
// verifies with the context Check hands it (another guard's Check called
// from an authorizer or [RiskSignals]) is checked when it is verified.
//
// The guard owns the verdict, and never answers before it: whatever
// authorization, the rate limits and the risk decision said, Check has
// the replay check's answer before it returns, sending the check alone
// when no count carried it (a request no step names, an action without
// velocity windows, counters in memory or on another client: as many
// round trips as before). A replayed proof is then refused exactly as
// authentication refuses it (401, reason dpop_replayed, the same challenge
// and log record), and a store that cannot answer, or a pipeline that
// failed or timed out (the shorter of the counter's and the store's
// timeouts), as dpop_replay_unavailable (503): the verdict replaces any
// other outcome, allow or refusal. The price, accepted on purpose: the
// steps run before the verdict, so a replayed request's events are
// counted. Counts only go up, which can only make limits and velocity
// rules stricter: someone replaying a captured proof within its window (a
// minute and the leeway by default) adds events to its owner's counts,
// and gets nothing through. For the same reason, [RiskSignals] and a
// [RiskDecider] of your own must not act on the request (they run before
// the replay verdict, as they run before the handler).
//
// # Traces
//
// A guard starts no span: it adds attributes to the request's current span
// (put one there with otelhttp, or otelgrpc's stats handler). On a refusal:
//
//   - ztkit.authn.outcome: "deny";
//   - ztkit.authn.reason: the [Reason] code (an authentication code, or the
//     authz.Reason of a denial by [WithAuthorizer]).
//
// When the request is let through:
//
//   - ztkit.authn.outcome: "allow";
//   - ztkit.authn.methods: how the caller proved who it is, an
//     [authn.Method] combination such as "mtls+dpop";
//   - ztkit.authn.binding: the token's [authn.Binding]: "none", "dpop" or
//     "mtls";
//   - ztkit.authn.principal_kind: the [authn.PrincipalKind]: "user" or "workload";
//   - ztkit.authn.peer_trust_domain: the trust domain of the mTLS peer, when
//     there is one.
//
// # Metrics
//
// Recorded on the meter "github.com/ztkit/ztkit/middleware" (the package
// that first recorded them) of the [WithMeterProvider] provider, once per
// request, whatever its transport:
//
//   - ztkit.authn.decisions, an Int64Counter, unit "{decision}";
//   - ztkit.authn.duration, a Float64Histogram of the time spent
//     authenticating and authorizing, unit "s", with bucket boundaries 50µs,
//     100µs, 200µs, 500µs, 1ms, 2.5ms, 5ms, 10ms, 50ms and 250ms.
//
// Both carry the same attributes:
//
//   - ztkit.authn.outcome: "allow" or "deny";
//   - http.request.method: the method, or "_OTHER" outside RFC 9110's
//     (OpenTelemetry HTTP semantic conventions);
//   - ztkit.authn.reason: the [Reason] code, on denials only;
//   - http.route: the path template of the route the request was routed by
//     (inbound.Request.Route): "/orders/{id}" for the ServeMux pattern
//     "GET /orders/{id}"; absent when there is none;
//   - ztkit.authn.principal_kind and ztkit.authn.methods: as on the span,
//     when the caller authenticated (so also on authorization denials);
//   - ztkit.guard.action: on refusals by the rate-limit and risk steps, the
//     scope or action the service named the request (also on the span).
//
// Every value comes from a small fixed set or from the service's own route
// patterns: never a path, a subject, a client or workload ID, a token or an
// address, so the cardinality is bounded and the series carry no personal
// data. Authorization decisions have their own metrics in package
// authz/authzotel (ztkit.authz.decisions and ztkit.authz.policy.updates).
package guard
