package dpop

import (
	"errors"
)

// Errors returned when a DPoP proof or a DPoP-bound request is refused (RFC 9449).
// Each names the failed check and never the proof, the token or key material.
// Match them with [errors.Is]; a returned error may wrap one with more detail.
var (
	// ErrMissingProof: the request has no DPoP header.
	ErrMissingProof = errors.New("dpop: missing DPoP proof")
	// ErrMultipleProofs: the request has more than one DPoP header (RFC 9449 §4.3 check 1).
	ErrMultipleProofs = errors.New("dpop: more than one DPoP proof")
	// ErrMalformedProof: the proof is not a well-formed JWS with JSON header and
	// claims, lacks a required claim, or is too large (RFC 9449 §4.3 checks 2-3).
	ErrMalformedProof = errors.New("dpop: malformed DPoP proof")
	// ErrInvalidProofType: the proof's typ is not "dpop+jwt" (check 4).
	ErrInvalidProofType = errors.New("dpop: proof type is not dpop+jwt")
	// ErrUnsupportedAlgorithm: the proof's alg is not on the allow-list (check 5).
	ErrUnsupportedAlgorithm = errors.New("dpop: proof algorithm not allowed")
	// ErrInvalidProofKey: the proof's jwk is missing, malformed, not usable with alg,
	// or carries private key material (check 7).
	ErrInvalidProofKey = errors.New("dpop: invalid proof key")
	// ErrInvalidProofSignature: the proof's signature does not verify with its jwk (check 6).
	ErrInvalidProofSignature = errors.New("dpop: invalid proof signature")
	// ErrMethodMismatch: htm is not the request's method (check 8).
	ErrMethodMismatch = errors.New("dpop: htm does not match the request method")
	// ErrURIMismatch: htu is not the request's URI (check 9).
	ErrURIMismatch = errors.New("dpop: htu does not match the request URI")
	// ErrProofExpired: iat is older than the acceptance window (check 11).
	ErrProofExpired = errors.New("dpop: proof too old")
	// ErrProofFromFuture: iat is ahead of the clock by more than the leeway (check 11).
	ErrProofFromFuture = errors.New("dpop: proof issued in the future")
	// ErrReplayed: a proof with this key and jti was already accepted (check 12, §11.1).
	ErrReplayed = errors.New("dpop: proof replayed")
	// ErrReplayCheckUnavailable: the replay store could not be asked (for example,
	// Redis is unreachable). The proof is refused: ztkit never accepts a proof it
	// could not check for replay.
	ErrReplayCheckUnavailable = errors.New("dpop: replay check unavailable")
	// ErrUseDPoPNonce: the server requires a nonce and the proof has none, or a
	// stale or invalid one (§8). The error is a [*NonceError] carrying the nonce to
	// send back in the DPoP-Nonce header.
	ErrUseDPoPNonce = errors.New("dpop: use_dpop_nonce")
	// ErrAccessTokenHashMismatch: ath is missing or is not the hash of the access
	// token presented with the proof (check 12, §4.3).
	ErrAccessTokenHashMismatch = errors.New("dpop: ath does not match the access token")
	// ErrBindingMismatch: the access token's cnf.jkt is absent or is not the
	// thumbprint of the proof's key (§6.1, §7.1).
	ErrBindingMismatch = errors.New("dpop: token is not bound to the proof key")
	// ErrBoundTokenAsBearer: a DPoP-bound access token was presented with the
	// Bearer scheme (§7.2).
	ErrBoundTokenAsBearer = errors.New("dpop: DPoP-bound token presented as Bearer")
	// ErrMissingAccessToken: the request has no Authorization header.
	ErrMissingAccessToken = errors.New("dpop: no access token")
	// ErrInvalidRequest: the Authorization header is malformed, repeated, or of
	// a scheme other than DPoP and Bearer (RFC 6750 §3.1 invalid_request).
	ErrInvalidRequest = errors.New("dpop: malformed authorization request")
	// ErrMisdirected: the request names an authority (inbound.Request.Authority,
	// a gRPC call's :authority) that is not the one of the external URL
	// ([WithExternalURL]), and it did not come from a trusted proxy.
	ErrMisdirected = errors.New("dpop: request addressed to an authority this service does not serve")
	// ErrBearerNotAccepted: an unbound token was presented as Bearer to a
	// verifier that accepts DPoP-bound tokens only.
	ErrBearerNotAccepted = errors.New("dpop: Bearer tokens not accepted")
	// ErrNonceRetryImpossible: the server answered a [Transport]'s request
	// with a use_dpop_nonce challenge (RFC 9449 §8, §9) and the request
	// cannot be sent again because its body has no GetBody (or GetBody
	// failed). The challenge's response is closed; the Transport keeps the
	// nonce, so sending the request again with a fresh body succeeds.
	// http.NewRequest sets GetBody for *bytes.Buffer, *bytes.Reader and
	// *strings.Reader bodies.
	ErrNonceRetryImpossible = errors.New("dpop: server requires a DPoP nonce and the request body cannot be sent again")
	// ErrMalformedChallenge: a WWW-Authenticate value given to
	// [ParseChallenges] is not a list of challenges (RFC 9110 §11.6.1), or a
	// refusal given to [Advise], [AdviseHTTP] or dpopgrpc.Advise breaks the
	// rules of its challenge's parameters (RFC 6750 §3, RFC 9449 §7.1, RFC
	// 9470 §3) or asks for a nonce without one valid DPoP-Nonce (RFC 9449
	// §8). The advice is then [ActionGiveUp].
	ErrMalformedChallenge = errors.New("dpop: malformed WWW-Authenticate challenge")
	// ErrInvalidConfig: a constructor was given options that would turn a check off
	// or cannot work.
	ErrInvalidConfig = errors.New("dpop: invalid configuration")
)

// NonceError is returned when the server requires a fresh DPoP nonce (RFC 9449 §8).
// It matches [ErrUseDPoPNonce] with [errors.Is]. Nonce is the value to send to
// the client in the DPoP-Nonce response header; it is not secret.
type NonceError struct {
	// Nonce is the server's current nonce.
	Nonce string
}

// Error implements error.
func (e *NonceError) Error() string { return ErrUseDPoPNonce.Error() }

// Is reports whether target is [ErrUseDPoPNonce].
func (e *NonceError) Is(target error) bool { return target == ErrUseDPoPNonce }
