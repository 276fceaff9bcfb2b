// Package dpopgrpc sends DPoP-bound access tokens (RFC 9449) on gRPC calls:
// per-RPC credentials that put the token and a fresh proof on every call,
// and client interceptors that answer a server's use_dpop_nonce challenge by
// retrying once with the server's nonce. It is the gRPC counterpart of
// dpop.Transport, and a package of its own so that services that only make
// HTTP calls do not compile gRPC.
//
//	creds, err := dpopgrpc.NewPerRPCCredentials(tokenSource, proofer)
//	conn, err := grpc.NewClient(target, append(creds.DialOptions(), grpc.WithTransportCredentials(tlsCreds))...)
//
// With an egress allow-list, whose dialer also provides the SPIFFE mTLS:
//
//	conn, err := egressgrpc.NewClient(target, dialer, creds.DialOptions()...)
//
// # DPoP over gRPC
//
// RFC 9449 names no gRPC mapping; ztkit's server interceptors and this
// client agree on the following one. A gRPC call is an HTTP/2 POST to
// "/<service>/<method>", so a call's proof has
//
//   - htm "POST";
//   - htu "https://<authority>/<service>/<method>", such as
//     "https://payments.shop.example/shop.payments.v1.Payments/Charge", where
//     the authority is the one the client dialed (the :authority of the
//     call, without a default port 443), or the one [WithAuthority] names
//     for a service reached through a proxy;
//   - ath, the hash of the access token (RFC 9449 §4.2), and the server's
//     latest nonce, when it gave one.
//
// The call carries the metadata "authorization: DPoP <token>" (RFC 9449
// §7.1) and "dpop: <proof>", one value each; a call whose outgoing metadata
// already has either key is refused with [ErrConflictingMetadata] rather
// than sent with two.
//
// A server that requires a nonce (RFC 9449 §9) refuses a call with status
// code Unauthenticated, the challenge the HTTP layer would send in the
// "www-authenticate" header or trailer metadata (a DPoP challenge with
// error="use_dpop_nonce") and the nonce in "dpop-nonce" header or trailer
// metadata. The server may send "dpop-nonce" on any response to give the
// next nonce. The challenge is recognised by www-authenticate alone, never
// by the status message or details: it is the refusal [Advise] advises
// [dpop.ActionRetryWithNonce] for. [Advise] tells a client what to do about
// any other refusal too (step up, new token, more scopes, give up).
//
// # Nonces and retries
//
// [PerRPCCredentials] remembers the latest nonce of each authority, and its
// interceptors ([PerRPCCredentials.UnaryClientInterceptor],
// [PerRPCCredentials.StreamClientInterceptor], both installed by
// [PerRPCCredentials.DialOptions]) learn it from the responses: per-RPC
// credentials see no response, so without the interceptors nonces are
// neither learnt nor retried. A call refused with the use_dpop_nonce
// challenge and a new nonce is sent again once, with a fresh proof carrying
// that nonce; a second refusal, of any kind, is returned to the caller. A
// call is never retried for any other refusal.
//
// A unary call is retried whole. A stream is retried only at its start:
// when the refusal is seen before the client has sent a message, by RecvMsg
// or by Header (which sees it only when the refusal came without a header
// frame; otherwise Header returns that header and RecvMsg the refusal), the
// stream is opened again, transparently. A stream
// refused after the client sent a message is not replayed (the messages are
// not kept); its error is the server's status and matches
// [ErrNonceRetryImpossible], and the nonce is remembered, so opening the
// stream again succeeds. A server-streaming call made by generated code
// sends its request before reading, so its refusal is of this kind.
//
// # Errors
//
// Errors from the credentials match this package's Err values with
// [errors.Is]; through the interceptors they are also gRPC statuses
// (status.Code is Unauthenticated), and a token source's error is wrapped,
// so errors.Is finds it too. Without the interceptors, grpc-go turns a
// credentials error into a status with its text only. No error, status or
// log carries the access token or a proof.
package dpopgrpc
