// Package dpop binds access tokens to a client's key with DPoP proofs
// (RFC 9449), so that a stolen token is useless without the key.
//
// On the client, a [Proofer] signs a fresh proof for each request, and a
// [Transport] adds proofs, the `Authorization: DPoP` token and server nonces
// to an http.Client's requests:
//
//	p, _ := dpop.NewProofer(clientKey, "")
//	client := &http.Client{Transport: &dpop.Transport{Proofer: p, Token: tokenSource}}
//
// Package dpopgrpc does the same for gRPC clients, with per-RPC credentials
// and interceptors that share the Transport's nonce rules.
//
// When a request is refused, [AdviseHTTP] (dpopgrpc.Advise for a gRPC call)
// reads the refusal's challenges (RFC 6750 §3, RFC 9449 §7.1, RFC 9470 §3)
// and says what the client must do, as an [Advice]: retry with the server's
// nonce, step up to one of the acr values it names, get a new token or a
// token with more scopes, make a new proof, or give up:
//
//	adv, err := dpop.AdviseHTTP(resp)
//	if err == nil && adv.Action == dpop.ActionStepUp {
//		// authenticate the user again, asking for adv.ACRValues and adv.MaxAge
//	}
//
// On the server, a [Verifier] performs every check of RFC 9449 §4.3 on a proof,
// and a [RequestVerifier] checks a whole request: the access token (through
// package tokens), the proof against the request's method and URL, ath against
// the token, and the token's cnf.jkt against the proof's key:
//
//	proofs, _ := dpop.NewVerifier(dpop.WithReplayStore(store))
//	rv, _ := dpop.NewRequestVerifier(tokenVerifier, proofs, dpop.WithExternalURL("https://checkout.shop.example"))
//	res, err := rv.Verify(ctx, r)
//
// A transport other than net/http describes its request as an
// inbound.Request and calls [RequestVerifier.VerifyInbound]: a gRPC call is
// a POST whose htu is the external URL's origin plus its full method,
// "/shop.payments.v1.Payments/Charge".
//
// The URL a proof's htu is checked against is never taken from the request's
// Host header. It is the external URL, or, behind reverse proxies, what the
// proxies report in the one header family the service names:
//
//	rv, _ := dpop.NewRequestVerifier(tokenVerifier, proofs,
//		dpop.WithExternalURL("https://checkout.shop.example"),
//		dpop.WithTrustedProxies(dpop.ForwardedHeader, netip.MustParsePrefix("10.0.0.0/8")))
//
// The request's path is compared in the canonical form package authz decides
// on (RFC 3986 §6.2.2): percent-encodings normalized, dot segments
// resolved, and paths without a canonical form (an encoded "/", NUL, dot
// segments above the root) refused with [ErrURIMismatch].
//
// Replayed proofs are refused through a [ReplayStore]: [MemoryReplayStore] for
// one process, package redisreplay for replicas sharing Redis. When the store
// cannot answer, the proof is refused with [ErrReplayCheckUnavailable]. Server
// nonces ([Nonces], §8) are stateless and shared by replicas through a secret.
//
// Every refusal matches one of this package's Err values with [errors.Is] and
// names the failed check without the proof, the token or key material.
package dpop
