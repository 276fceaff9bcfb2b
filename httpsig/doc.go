// Package httpsig signs and verifies HTTP messages with RFC 9421 HTTP Message
// Signatures.
//
// A [Signer] adds a Signature-Input and a Signature field to a request
// ([Signer.SignRequest]) or a response ([Signer.SignResponse]), beside any
// signature already there; a [Verifier] checks one signature of a request
// ([Verifier.VerifyRequest]) or a response ([Verifier.VerifyResponse]):
//
//	key, err := httpsig.NewSigningKey("partner-2026", httpsig.AlgEd25519, priv)
//	signer, err := httpsig.NewSigner(key, httpsig.WithRandomNonce())
//	req.Header.Set("Content-Digest", value) // package httpsig/digest
//	err = signer.SignRequest(req)
//
//	verifier, err := httpsig.NewVerifier(keys, httpsig.WithRequiredComponents(
//		httpsig.Derived("@method"), httpsig.Derived("@authority"), httpsig.Derived("@path"),
//		httpsig.Derived("@query"), httpsig.Field("content-digest")))
//	verified, err := verifier.VerifyRequest(ctx, req)
//
// # Algorithms and keys
//
// ecdsa-p256-sha256 (r||s, 64 bytes), ed25519, rsa-pss-sha512 (64-byte salt),
// rsa-v1_5-sha256 and hmac-sha256 (RFC 9421 §3.3). A [SigningKey] is a
// crypto.Signer with its algorithm (a key in memory, an HSM, Vault Transit
// through secrets/vault.TransitSigner) or an HMAC secret, fixed or read from
// a secrets.Source at each signature so that it rotates without a restart.
//
// The verifier never takes the algorithm from the message: its
// [KeyResolver] returns each key with the one algorithm it verifies, and a
// signature whose alg parameter names another is refused ([ErrUnknownKey]).
// Resolvers: [StaticKeys], [HMACSourceKeys] (rotating HMAC secrets),
// [TokenKeys] (a JWK Set through a tokens.KeySource such as
// tokens.RemoteKeySet; the JWK's alg maps to the RFC 9421 one) and
// [SPIFFEKeys] (the JWT authorities of a SPIFFE trust domain).
//
// # Components
//
// Derived components (§2.2) @method, @target-uri, @authority, @scheme,
// @request-target, @path, @query, @query-param (decoded and re-encoded as
// §2.2.8 asks) and @status; HTTP fields (§2.1), several field lines
// combined, with the sf, key, bs and req parameters; not tr (trailers),
// which is refused. A component is a [Component] value ([Field], [Derived],
// [QueryParam], [ParseComponent]).
//
// The default Signer covers @method, @authority, @path and @query of a
// request (@status of a response), and content-digest when the message has
// a Content-Digest field; it never computes Content-Digest itself (package
// httpsig/digest does). The default Verifier requires the same request
// components, and always requires the created parameter.
//
// # What the verifier checks
//
// In this order, so that work an attacker can cause stays small and only
// signatures that verify reach the replay store: both fields parse as RFC
// 8941 dictionaries with the same labels, within bounds (16 KiB per field,
// 16 signatures, 64 components, 512-byte parameters, and 64 KiB of the
// message read for the signature bases of one verification, all signatures
// together), or [ErrMalformed]; the
// label or tag asked for is there, or [ErrMissing]; no component is covered
// twice and each is valid for the message, or [ErrMalformed]; the required
// components and parameters are covered, or [ErrInsufficient]; created is
// neither older than the maximum age nor ahead of the clock by more than the
// leeway, and expires has not passed, or [ErrExpired]; the key is known,
// has the keyid asked for, and its algorithm is allowed and not
// contradicted, or [ErrUnknownKey]; the
// signature verifies over the signature base (§2.5), or [ErrInvalid] (a
// covered component the message lacks is [ErrInvalid] too); when
// content-digest is covered, the body (read up to 1 MiB by default, then
// given back to the handler) matches it, or [ErrDigestMismatch] (a
// forgery), while a body that cannot be read or is longer than that, or a
// Content-Digest that is malformed or names no supported algorithm (only
// sha-256 and sha-512 are), is [ErrMalformed] (a message that cannot be
// checked, not an attack); and a
// nonce, when present, was not accepted before for the same keyid, or
// [ErrReplayed]. A key source or replay store that cannot answer makes the
// verification fail with [ErrUnavailable], never pass.
//
// Nonces are remembered in a tokens/dpop.ReplayStore: a
// dpop.MemoryReplayStore by default, tokens/dpop/redisreplay for services
// with several replicas ([WithReplayStore]).
//
// Each refusal matches one of the Err values of this package with
// [errors.Is] and never contains a key, a secret or a signature. Keys print
// as [REDACTED].
package httpsig
