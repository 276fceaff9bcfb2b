package tokens

import "errors"

// Errors returned when a token is refused. Each names the check that failed and
// never the token, its claims or key material. Match them with [errors.Is]; a
// returned error may wrap one of them with more detail.
var (
	// ErrMalformed: the token is not a well-formed JWS compact serialization
	// (RFC 7515 §7.1) with a JSON header and a JSON claims object, or it is too large.
	ErrMalformed = errors.New("tokens: malformed token")
	// ErrUnsupportedAlgorithm: the header's alg is not on the verifier's allow-list
	// ("none" and HMAC never are).
	ErrUnsupportedAlgorithm = errors.New("tokens: algorithm not allowed")
	// ErrAlgorithmKeyMismatch: the header's alg cannot be used with the key named by kid.
	ErrAlgorithmKeyMismatch = errors.New("tokens: algorithm does not match the key")
	// ErrInvalidType: the header's typ is not "at+jwt" (RFC 9068 §2.1).
	ErrInvalidType = errors.New("tokens: token type is not at+jwt")
	// ErrUnknownCritical: the header lists a crit extension the verifier does not
	// understand (RFC 7515 §4.1.11).
	ErrUnknownCritical = errors.New("tokens: unknown critical header parameter")
	// ErrEmbeddedKey: the header carries its own key (jwk, jku, x5u, x5c, x5t); a
	// verifier never takes a key from the token it verifies.
	ErrEmbeddedKey = errors.New("tokens: key embedded in token header")
	// ErrUnknownKey: no verification key has the header's kid, or the header has no kid.
	ErrUnknownKey = errors.New("tokens: unknown signing key")
	// ErrInvalidSignature: the signature does not verify. Deliberately generic.
	ErrInvalidSignature = errors.New("tokens: invalid signature")
	// ErrWeakKey: an RSA key is shorter than 2048 bits, or a key is otherwise unfit for signing.
	ErrWeakKey = errors.New("tokens: key too weak")
	// ErrMissingClaim: a claim that RFC 9068 §2.2 requires (iss, exp, aud, sub,
	// client_id, iat, jti) is absent, or has the wrong JSON type.
	ErrMissingClaim = errors.New("tokens: required claim missing or invalid")
	// ErrInvalidIssuer: iss is not the expected issuer.
	ErrInvalidIssuer = errors.New("tokens: invalid issuer")
	// ErrInvalidAudience: aud names none of the verifier's audiences.
	ErrInvalidAudience = errors.New("tokens: invalid audience")
	// ErrExpired: exp is in the past, beyond the leeway.
	ErrExpired = errors.New("tokens: token expired")
	// ErrNotYetValid: nbf is in the future, beyond the leeway.
	ErrNotYetValid = errors.New("tokens: token not yet valid")
	// ErrIssuedInFuture: iat is in the future, beyond the leeway.
	ErrIssuedInFuture = errors.New("tokens: token issued in the future")
	// ErrLifetimeTooLong: exp - iat exceeds the verifier's maximum token lifetime.
	ErrLifetimeTooLong = errors.New("tokens: token lifetime too long")
	// ErrKeySetUnavailable: the keys to verify with cannot be had (a remote JWKS has
	// been unreachable for longer than the stale bound allows).
	ErrKeySetUnavailable = errors.New("tokens: key set unavailable")
	// ErrCrossOriginRedirect: the server of a [RemoteKeySet]'s JWK Set answered
	// with a redirect to another origin (scheme, host or port, RFC 6454 §4),
	// which is refused: the JWK Set is the trust anchor for every token. It
	// comes wrapped with [ErrKeySetUnavailable].
	ErrCrossOriginRedirect = errors.New("tokens: JWK Set redirected to another origin")
	// ErrInvalidConfig: a constructor was given options that would turn a check off
	// or cannot work, such as an empty audience.
	ErrInvalidConfig = errors.New("tokens: invalid configuration")
	// ErrInvalidKey: a key or JWK is malformed, private where a public key is needed,
	// or of a type ztkit does not sign or verify with.
	ErrInvalidKey = errors.New("tokens: invalid key")
	// ErrClosed: the value was used after Close.
	ErrClosed = errors.New("tokens: closed")

	// ErrInvalidScope: a scope claim, or a scope given to [Issuer.Issue],
	// [ParseScope] or [FormatScope], does not follow the scope grammar of
	// RFC 6749 §3.3 (scope-tokens of printable ASCII other than '"' and '\',
	// separated by single spaces). It also matches [ErrMalformed], so that a
	// token refused for its scope claim is classified as an invalid token.
	ErrInvalidScope error = &refinedError{msg: "tokens: scope does not follow RFC 6749 §3.3", parent: ErrMalformed}
	// ErrUnsupportedConfirmation: the token carries a cnf claim (RFC 7800 §3)
	// that ztkit cannot enforce: not a JSON object, empty, with a member other
	// than jkt (RFC 9449 §6.1) and x5t#S256 (RFC 8705 §3.1), such as jwk or
	// kid, or with one of those two not a base64url SHA-256 thumbprint. A
	// token with any confirmation is a proof-of-possession token, so it is
	// refused, never accepted as a bearer token. It also matches [ErrMalformed].
	ErrUnsupportedConfirmation error = &refinedError{msg: "tokens: confirmation (cnf) cannot be enforced", parent: ErrMalformed}
	// ErrInvalidActor: an act (RFC 8693 §4.1) or may_act (RFC 8693 §4.4)
	// claim is not a JSON object with a non-empty string sub, has an iss
	// that is not a non-empty string, nests act deeper than [MaxActorDepth],
	// or (may_act) names a prior actor. A token whose actor cannot be read is
	// refused, never taken for a token with no actor. It also matches
	// [ErrMalformed]. [Issuer.Issue] returns it, with [ErrInvalidConfig],
	// for a [TokenRequest.Actor] or [TokenRequest.MayAct] it cannot issue.
	ErrInvalidActor error = &refinedError{msg: "tokens: actor claim (act or may_act) is invalid", parent: ErrMalformed}
)

// refinedError is a sentinel that is a special case of another: errors.Is
// matches both, so callers that only know the general one still classify it.
type refinedError struct {
	msg    string
	parent error
}

func (e *refinedError) Error() string { return e.msg }
func (e *refinedError) Unwrap() error { return e.parent }
