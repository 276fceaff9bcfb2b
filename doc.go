// Package ztkit brings Zero Trust to e-commerce microservices written in Go.
//
// A storefront, checkout, payments, fulfilment or admin service wraps its
// http.Handler and gRPC servers with ztkit, and from then on no request is trusted
// because of where it came from: every call proves who it is, gets only what it
// needs, steps up when the action is risky, and leaves no customer data in logs.
//
// ztkit is a set of small packages, each usable on its own:
//
//	I need to …                                                        package
//	wrap an http.Handler so every request is authenticated             [github.com/ztkit/ztkit/middleware]
//	the same for a gRPC server: unary and stream interceptors          [github.com/ztkit/ztkit/guard/guardgrpc]
//	decide once for every transport: authn, authz, telemetry, refusal  [github.com/ztkit/ztkit/guard]
//	describe a request for it, whatever the transport                  [github.com/ztkit/ztkit/inbound]
//	know who is calling: mTLS SVIDs, JWT-SVIDs, tokens → Principal     [github.com/ztkit/ztkit/authn]
//	send a workload's JWT-SVID on gRPC calls                           [github.com/ztkit/ztkit/authn/jwtsvidgrpc]
//	issue or verify short-lived access tokens, JWKS, key rotation      [github.com/ztkit/ztkit/tokens]
//	bind tokens to a client key and check proofs (DPoP, RFC 9449)      [github.com/ztkit/ztkit/tokens/dpop]
//	share DPoP replay state across replicas on Redis                   [github.com/ztkit/ztkit/tokens/dpop/redisreplay]
//	send DPoP-bound tokens on gRPC calls, with server nonces           [github.com/ztkit/ztkit/tokens/dpop/dpopgrpc]
//	run a token service: RFC 8693 exchange, client credentials         [github.com/ztkit/ztkit/tokens/sts]
//	get tokens from any OAuth server, exchange them, keep them fresh   [github.com/ztkit/ztkit/tokens/grant]
//	a second factor (TOTP) for step-up at the token service            [github.com/ztkit/ztkit/tokens/sts/totp]
//	a SPIFFE Workload API in tests or a demo, without SPIRE            [github.com/ztkit/ztkit/authn/spiffetest]
//	decide who may call which route, deny by default                   [github.com/ztkit/ztkit/authz]
//	count authz decisions by outcome, reason and rule (OpenTelemetry)  [github.com/ztkit/ztkit/authz/authzotel]
//	test a policy with what-if tables, in Go or from a JSON file       [github.com/ztkit/ztkit/authz/authztest]
//	call only listed hosts, and only the expected SPIFFE ID            [github.com/ztkit/ztkit/authz/egress]
//	the same egress allow-list for gRPC clients                        [github.com/ztkit/ztkit/authz/egress/egressgrpc]
//	step up or deny a risky action (checkout, refund…), rate limits    [github.com/ztkit/ztkit/risk]
//	share risk velocity counters and rate limits across replicas       [github.com/ztkit/ztkit/risk/rediscounter]
//	use short-lived credentials, renewed and rotated in memory         [github.com/ztkit/ztkit/secrets]
//	get them from Vault or OpenBao, logged in as the workload          [github.com/ztkit/ztkit/secrets/vault]
//	authenticate go-redis with a rotating Vault-issued Redis user      [github.com/ztkit/ztkit/secrets/redisauth]
//	sign and verify HTTP requests and responses (RFC 9421)             [github.com/ztkit/ztkit/httpsig]
//	compute and check Content-Digest of a body (RFC 9530)              [github.com/ztkit/ztkit/httpsig/digest]
//	verify payment-provider webhooks (Standard Webhooks, Stripe)       [github.com/ztkit/ztkit/webhook]
//	keep cards, IBANs, emails, phones and secrets out of logs          [github.com/ztkit/ztkit/redact]
//
// The root package holds no code; import the package that does the job.
// The command [github.com/ztkit/ztkit/cmd/ztkit] holds the operator tools:
// "ztkit policy check|test|explain" for policy files and what-if tables in
// CI, and "ztkit redact" for log pipelines.
//
// Every package fails closed: a parse error, an unknown key, an unreachable store
// or a clock outside its leeway denies with a typed error that callers can match
// with [errors.Is], and no error, log line or span carries a token, a proof, key
// material or customer data.
package ztkit
