// Package bench measures ztkit's token and DPoP verification against the
// libraries a user would pick instead (golang-jwt, jwx, go-jose), on the same
// tokens and proofs, in the same run, and the whole per-request cost of
// ztkit's net/http middleware (mTLS peer, DPoP-bound token, proof) against a
// hand-assembled stack. cmd/e2e and e2e.sh load a small HTTPS server with wrk,
// with and without ztkit. It also times redact against regular expressions
// (Go regexp, RE2) and the IndexByte floor, and one authz decision against
// cedar-go, OPA and Casbin on equivalent policies of 10 to 10,000 rules, and
// the read of a current credential from a secrets.Source against a Vault KV
// read per use (against the real OpenBao) and mutex-guarded caches, one
// RFC 9421 signed request (Content-Digest and one signature) against the
// bare cryptography and a hand-written verifier, and one Stripe-Signature or
// Standard Webhooks delivery against stripe-go and the Standard Webhooks
// library, and one risk decision (in memory and on Redis) and one DPoP-bound
// checkout whose replay check and risk decision both go to Redis against a
// hand-written go-redis sliding window (with a SET NX of the jti) and
// redis_rate. It is a module of its own so that the competitors stay out of ztkit's
// go.mod. See README.md.
package bench
