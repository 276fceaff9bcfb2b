// Package tokens issues and verifies short-lived JWT access tokens (RFC 9068)
// and manages the keys that sign them.
//
// An authorization service signs with a [KeySet] (current, next and retired
// keys, kid = RFC 7638 thumbprint, signing through crypto.Signer) and an
// [Issuer]; it publishes the keys with [KeySet.JWKSHandler]. A resource service
// verifies with a [Verifier] whose [KeySource] is the issuer's [KeySet] in the
// same process or a [RemoteKeySet] that fetches the issuer's JWK Set (only
// within its origin, and only the keys whose use and key_ops allow verifying).
//
//	v, err := tokens.NewVerifier(keys, "https://id.shop.example", []string{"https://checkout.shop.example"})
//	claims, err := v.Verify(ctx, rawToken)
//
// The verifier is strict and fails closed: an allow-list of asymmetric
// algorithms (never none, never HMAC), typ at+jwt, no key taken from the token,
// no unknown crit, every claim RFC 9068 requires, issuer, audience, time checks
// with a bounded leeway and a maximum lifetime; a scope claim in the exact
// grammar of RFC 6749 §3.3 ([ParseScope]); and a cnf claim (RFC 7800 §3)
// only when it is one ztkit enforces (jkt, x5t#S256), since a token with any
// other confirmation must not pass for a bearer token; and act and may_act
// claims (RFC 8693 §4.1, §4.4) only as actor objects with a subject, nested
// at most [MaxActorDepth] deep, since a token whose actor cannot be read must
// not pass for a token without one. No option turns a check off.
//
// A token issued by token exchange for a workload acting for a user names
// that workload in act ([Claims.Actor], [TokenRequest.Actor]): the chain
// runs nearest first, the current actor outermost. Resource servers decide
// on the current actor (authz rules with "actors"); prior actors are
// informational (RFC 8693 §4.1).
// Each refusal matches one of the Err values of this package with [errors.Is]
// and never contains the token.
//
// Verified tokens are cached (by their SHA-256, bounded) so that a token sent
// with every request, as a DPoP-bound token is, costs one signature check, not
// one per request. Each Verify returns claims of its own, which the caller may
// change without touching the cache. Package dpop binds tokens to client keys (RFC 9449).
package tokens
