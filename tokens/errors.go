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
	// ErrInvalidConfig: a constructor was given options that would turn a check off
	// or cannot work, such as an empty audience.
	ErrInvalidConfig = errors.New("tokens: invalid configuration")
	// ErrInvalidKey: a key or JWK is malformed, private where a public key is needed,
	// or of a type ztkit does not sign or verify with.
	ErrInvalidKey = errors.New("tokens: invalid key")
	// ErrClosed: the value was used after Close.
	ErrClosed = errors.New("tokens: closed")
)
