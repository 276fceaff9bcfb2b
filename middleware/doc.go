// Package middleware wraps net/http handlers with ztkit's authentication: every
// request arrives with a verified [authn.Principal] in its context, or is
// refused with the status and challenge the RFCs prescribe (RFC 6750 §3,
// RFC 9449 §7.1 and §8, RFC 9470 §3 for a step-up), and with no token or
// internal reason in the body.
//
//	auth, _ := middleware.New(authenticator, guard.WithNonces(nonces), guard.WithLogger(logger))
//	mux.Handle("POST /orders", auth(orders))
//
// Wrap each route with the middleware of its [authn.Policy]; http.route in the
// metrics and route in the logs are then the route's pattern.
//
// The middleware is the net/http transport of package guard, ztkit's one
// decision path: it describes the request ([inbound.FromHTTP]), lets a
// [guard.Guard] decide, and renders the outcome. Every option is a
// [guard.Option]; package guard documents the refusal log, the span
// attributes and the metrics, which are those of every transport.
//
// # Refusals
//
// A refused request is answered with the status of its [guard.Refusal]
// (400, 401, 403, 429, 500 or 503), its WWW-Authenticate challenges and
// DPoP-Nonce, Retry-After for a rate-limited one (guard.WithRateLimits), and
// Cache-Control: no-store. The body is the status text or, for clients
// that accept application/problem+json, an RFC 9457 problem object whose
// member "code" is the [guard.Reason] code, the code also found in the
// metrics, the span and the log record of guard.WithLogger.
//
// The next handler gets the request with the canonical path the authorizer
// decided on (guard.WithAuthorizer).
//
// # Signed requests and webhooks
//
// [VerifySignatures] lets through only requests with an RFC 9421 HTTP
// message signature that an httpsig.Verifier accepts, body included
// (through a signed Content-Digest, RFC 9530), and puts the accepted
// signature in the context (httpsig.FromContext). [VerifyWebhooks] does
// the same for webhooks (Standard Webhooks, Stripe-Signature: a
// webhook.Verifier), reading the body once, bounded ([WithMaxBody], 1 MiB
// by default), and giving the handler the bytes that were verified
// (webhook.FromContext has the webhook's id). Both refuse with the
// signature reasons of package guard (signature_missing,
// signature_invalid, digest_mismatch, signature_replayed, …: 400, 401 or
// 503), recorded and logged by the guard they are given
// (guard.Guard.Refuse) like every refusal:
//
//	sigs, _ := middleware.VerifySignatures(g, partnerVerifier,
//		middleware.WithAcceptSignature(`sig1=("@method" "@authority" "@path" "@query" "content-digest");created;nonce`))
//	mux.Handle("POST /partner/orders", sigs(orders))
//	hooks, _ := middleware.VerifyWebhooks(g, pspVerifier)
//	mux.Handle("POST /webhooks/psp", hooks(paymentEvents))
//
// The other direction, signing the requests a service sends, is
// httpsig.Transport, an http.RoundTripper.
//
// A handler that decides a risk action itself, on signals from the
// request's body (guard.Guard.CheckRisk), builds the middleware with
// [FromGuard] on the same guard and answers a refusal with [Refuse], exactly
// as the middleware answers its own.
package middleware
