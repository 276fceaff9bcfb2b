// Package webhook verifies the webhooks that payment providers and platforms
// send, and signs them for the services, tests and demos that send their own.
//
// Two signature schemes are supported:
//
//   - Standard Webhooks (https://www.standardwebhooks.com): the headers
//     webhook-id, webhook-timestamp and webhook-signature; the signed content is
//     "{id}.{timestamp}.{body}"; v1 is HMAC-SHA256 under a "whsec_" secret
//     (base64), v1a is Ed25519 under a "whpk_" public key (the sender holds the
//     "whsk_" private key). The prefix of the key says which scheme it checks.
//   - Stripe-Signature: "t={unix},v1={hex}" where v1 is HMAC-SHA256 of
//     "{t}.{body}" under the endpoint's "whsec_..." secret, used as given (its
//     bytes are the HMAC key, as Stripe's libraries do). v0 and unknown schemes
//     are ignored.
//
// A header may carry several signatures (a sender signs with the old and the new
// secret while it rotates them); one valid signature suffices.
//
// # Verifying
//
//	v, err := webhook.NewStandard(
//		webhook.WithSource(src, "secret"), // a *secrets.Source: rotations apply at once
//		webhook.WithReplayStore(store),    // redisreplay.Store shared by the replicas
//		webhook.WithScope("payments/acme"),
//	)
//	msg, err := v.Verify(ctx, r.Header, body)
//
// [Verifier.Verify] checks, in this order and failing closed at the first
// refusal: the headers are present, single and well-formed (bounded sizes and
// number of signatures); the timestamp is within the tolerance of the local
// clock in both directions (5 minutes by default); one signature verifies under
// one of the verifier's keys (constant-time compares); and the message was not
// accepted before. Only a message whose signature verified is recorded in the
// replay store, so that forged messages cannot fill it.
//
// Replay: a Standard Webhooks message is recorded under (scope, webhook-id);
// a Stripe message, which carries no id outside its body, under (scope,
// t, SHA-256 of the body), so that the same signed content is accepted once
// whichever of its signatures is presented. Records live a second past the
// last instant the message would be accepted, on the verifier's clock
// ([WithClock]) and on time.Now alike, whichever the store reads. The store
// is a [dpop.ReplayStore]: the
// default is a bounded [dpop.MemoryReplayStore] of one process; replicas share
// a redisreplay.Store.
//
// Note that a Standard Webhooks sender keeps the webhook-id when it retries a
// delivery: a retry that arrives within the tolerance of an attempt the service
// accepted (and perhaps failed to process) is refused as replayed, and the
// sender's next retry, later, is accepted.
//
// # Secrets
//
// Keys come from a secrets.Source ([WithSource]): each rotation takes effect on
// the next message, without a restart, and the previous key is still accepted for
// a grace period ([WithRotationGrace], [DefaultRotationGrace]) so that messages
// signed before the sender switched still verify. When the Source cannot serve a
// credential (expired, closed), every message is refused with an error matching
// [httpsig.ErrUnavailable]. [WithSecrets] gives fixed keys, for tests and demos.
//
// Verifiers and signers, and the keys they hold, print as [REDACTED] through
// fmt, slog and encoding/json. [GenerateSecret] and [GenerateKeyPair] make new
// keys for a sender, as redact.Secret values that print as [REDACTED] too:
// Reveal returns the string to store or to give to a verifier or signer.
//
// # Errors
//
// Every refusal matches one of the httpsig sentinels with [errors.Is], so that a
// service maps webhooks and RFC 9421 signatures to the same reasons:
// [httpsig.ErrMissing], [httpsig.ErrMalformed], [httpsig.ErrInvalid],
// [httpsig.ErrExpired], [httpsig.ErrReplayed] and [httpsig.ErrUnavailable].
// No error message carries a secret, a signature or a header value.
//
// # Signing
//
// A [Signer] adds the headers of either scheme to an outgoing request, with one
// or several keys:
//
//	s, err := webhook.NewStandardSigner(secret)
//	err = s.Sign(req.Header, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", time.Now(), body)
package webhook
