package middleware

import (
	"errors"
	"net/http"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// Reason is the short, bounded code a refusal is reported under in
// challenges' logs, metrics and problem bodies. It names the failed check,
// never a value.
type Reason string

// Reasons.
const (
	ReasonNone               Reason = ""
	ReasonMissingToken       Reason = "missing_token"
	ReasonInvalidRequest     Reason = "invalid_request"
	ReasonTokenExpired       Reason = "token_expired"
	ReasonTokenInvalid       Reason = "token_invalid"
	ReasonTokenAudience      Reason = "token_audience"
	ReasonTokenIssuer        Reason = "token_issuer"
	ReasonTokenSignature     Reason = "token_signature"
	ReasonUnknownKey         Reason = "token_unknown_key"
	ReasonKeysUnavailable    Reason = "keys_unavailable"
	ReasonProofMissing       Reason = "dpop_missing"
	ReasonProofInvalid       Reason = "dpop_invalid"
	ReasonProofReplayed      Reason = "dpop_replayed"
	ReasonReplayUnavailable  Reason = "dpop_replay_unavailable"
	ReasonNonceRequired      Reason = "dpop_nonce"
	ReasonBindingMismatch    Reason = "token_binding"
	ReasonBoundTokenAsBearer Reason = "bound_token_as_bearer"
	ReasonDPoPRequired       Reason = "dpop_required"
	ReasonPeerMissing        Reason = "peer_missing"
	ReasonPeerInvalid        Reason = "peer_invalid"
	ReasonPeerForbidden      Reason = "peer_forbidden"
	ReasonJWTSVIDInvalid     Reason = "jwt_svid_invalid"
	ReasonInternal           Reason = "internal"
)

// refusal is how a refused request is answered.
type refusal struct {
	status int
	// code is the RFC 6750 / RFC 9449 error code of the challenge, or "".
	code   string
	reason Reason
	// dpop says the challenge is for the DPoP scheme rather than Bearer.
	dpop bool
	// detail is a fixed, public sentence for the problem body.
	detail string
}

// classify maps an authentication error to its answer. The order matters:
// the more specific conditions first.
func classify(err error) refusal {
	is := func(target error) bool { return errors.Is(err, target) }
	switch {
	case is(dpop.ErrUseDPoPNonce):
		return refusal{http.StatusUnauthorized, "use_dpop_nonce", ReasonNonceRequired, true, "A fresh DPoP proof with the server's nonce is required."}
	case is(authn.ErrMissingToken), is(dpop.ErrMissingAccessToken):
		return refusal{http.StatusUnauthorized, "", ReasonMissingToken, false, "Authentication is required."}
	case is(dpop.ErrInvalidRequest):
		return refusal{http.StatusBadRequest, "invalid_request", ReasonInvalidRequest, false, "The Authorization header is malformed."}
	case is(authn.ErrMissingPeer):
		return refusal{http.StatusForbidden, "", ReasonPeerMissing, false, "A client certificate is required."}
	case is(authn.ErrInvalidPeer):
		return refusal{http.StatusForbidden, "", ReasonPeerInvalid, false, "The client certificate is not trusted."}
	case is(authn.ErrPeerNotAuthorized):
		return refusal{http.StatusForbidden, "", ReasonPeerForbidden, false, "The calling workload may not use this resource."}
	case is(authn.ErrInvalidJWTSVID):
		return refusal{http.StatusUnauthorized, "invalid_token", ReasonJWTSVIDInvalid, false, "The JWT-SVID is not valid."}
	case is(dpop.ErrReplayCheckUnavailable):
		return refusal{http.StatusServiceUnavailable, "", ReasonReplayUnavailable, false, "Authentication is temporarily unavailable."}
	case is(tokens.ErrKeySetUnavailable):
		return refusal{http.StatusServiceUnavailable, "", ReasonKeysUnavailable, false, "Authentication is temporarily unavailable."}
	case is(dpop.ErrReplayed):
		return refusal{http.StatusUnauthorized, "invalid_dpop_proof", ReasonProofReplayed, true, "The DPoP proof is not valid."}
	case is(dpop.ErrMissingProof), is(dpop.ErrMultipleProofs):
		return refusal{http.StatusUnauthorized, "invalid_dpop_proof", ReasonProofMissing, true, "Exactly one DPoP proof is required."}
	case is(dpop.ErrMalformedProof), is(dpop.ErrInvalidProofType), is(dpop.ErrUnsupportedAlgorithm),
		is(dpop.ErrInvalidProofKey), is(dpop.ErrInvalidProofSignature), is(dpop.ErrMethodMismatch),
		is(dpop.ErrURIMismatch), is(dpop.ErrProofExpired), is(dpop.ErrProofFromFuture), is(dpop.ErrAccessTokenHashMismatch):
		return refusal{http.StatusUnauthorized, "invalid_dpop_proof", ReasonProofInvalid, true, "The DPoP proof is not valid."}
	case is(dpop.ErrBindingMismatch):
		return refusal{http.StatusUnauthorized, "invalid_token", ReasonBindingMismatch, true, "The access token is not valid."}
	case is(dpop.ErrBoundTokenAsBearer):
		return refusal{http.StatusUnauthorized, "invalid_token", ReasonBoundTokenAsBearer, false, "The access token is not valid."}
	case is(authn.ErrDPoPRequired), is(dpop.ErrBearerNotAccepted):
		return refusal{http.StatusUnauthorized, "invalid_token", ReasonDPoPRequired, true, "A DPoP-bound access token is required."}
	case is(tokens.ErrExpired):
		return refusal{http.StatusUnauthorized, "invalid_token", ReasonTokenExpired, false, "The access token expired."}
	case is(tokens.ErrInvalidAudience):
		return refusal{http.StatusUnauthorized, "invalid_token", ReasonTokenAudience, false, "The access token is not valid."}
	case is(tokens.ErrInvalidIssuer):
		return refusal{http.StatusUnauthorized, "invalid_token", ReasonTokenIssuer, false, "The access token is not valid."}
	case is(tokens.ErrInvalidSignature), is(tokens.ErrAlgorithmKeyMismatch), is(tokens.ErrWeakKey):
		return refusal{http.StatusUnauthorized, "invalid_token", ReasonTokenSignature, false, "The access token is not valid."}
	case is(tokens.ErrUnknownKey):
		return refusal{http.StatusUnauthorized, "invalid_token", ReasonUnknownKey, false, "The access token is not valid."}
	case is(tokens.ErrMalformed), is(tokens.ErrUnsupportedAlgorithm), is(tokens.ErrInvalidType), is(tokens.ErrUnknownCritical),
		is(tokens.ErrEmbeddedKey), is(tokens.ErrMissingClaim), is(tokens.ErrNotYetValid), is(tokens.ErrIssuedInFuture),
		is(tokens.ErrLifetimeTooLong):
		return refusal{http.StatusUnauthorized, "invalid_token", ReasonTokenInvalid, false, "The access token is not valid."}
	}
	// Anything else is a fault on the server's side; refuse without detail.
	return refusal{http.StatusInternalServerError, "", ReasonInternal, false, "Authentication failed."}
}

// denial is how an authorization denial d is answered: 403, or 400 for a
// path the policy refuses to route.
func denial(d authz.Decision) refusal {
	ref := refusal{status: http.StatusForbidden, reason: Reason(d.Reason), detail: "The caller is not allowed to make this request."}
	switch d.Reason {
	case authz.ReasonBadRequest:
		ref.status, ref.detail = http.StatusBadRequest, "The request path is not acceptable."
	case authz.ReasonInsufficientScope:
		ref.detail = "The access token lacks a required scope."
	}
	return ref
}
