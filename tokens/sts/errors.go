package sts

import (
	"errors"
	"net/http"
)

// ErrInvalidConfig is returned by [New] and [NewStaticClients] when the
// configuration cannot work or would turn a check off: an empty issuer or
// token endpoint, a grant with nothing to check it with, an actor or client
// that may be given no audience.
var ErrInvalidConfig = errors.New("sts: invalid configuration")

// ErrUnknownClient is returned by a [ClientRegistry] when it has no client
// with the requested client_id. The endpoint answers invalid_client.
var ErrUnknownClient = errors.New("sts: unknown client")

// The error codes of RFC 6749 §5.2, RFC 8693 §2.2.2, RFC 8707 §2 and
// RFC 9449 §5, §8 that the endpoint answers with.
const (
	errInvalidRequest       = "invalid_request"
	errInvalidClient        = "invalid_client"
	errInvalidGrant         = "invalid_grant"
	errUnauthorizedClient   = "unauthorized_client"
	errUnsupportedGrantType = "unsupported_grant_type"
	errInvalidScope         = "invalid_scope"
	errInvalidTarget        = "invalid_target"
	errInvalidDPoPProof     = "invalid_dpop_proof"
	errUseDPoPNonce         = "use_dpop_nonce"
	errServerError          = "server_error"
)

// Reason codes: why a request was refused, for logs and metrics. They come
// from this fixed set, so a metric attribute built from them stays bounded.
const (
	reasonMethod              = "method_not_allowed"
	reasonContentType         = "content_type"
	reasonBodyTooLarge        = "body_too_large"
	reasonMalformedForm       = "malformed_form"
	reasonDuplicateParameter  = "duplicate_parameter"
	reasonQueryParameters     = "query_parameters"
	reasonMissingParameter    = "missing_parameter"
	reasonUnsupportedGrant    = "unsupported_grant_type"
	reasonAuthorizationHeader = "authorization_header"
	reasonNoClientAuth        = "no_client_authentication"
	reasonUnknownClient       = "unknown_client"
	reasonAuthMethod          = "auth_method_not_registered"
	reasonClientAssertion     = "invalid_client_assertion"
	reasonAssertionReplayed   = "client_assertion_replayed"
	reasonClientCertificate   = "invalid_client_certificate"
	reasonCertificateMismatch = "client_certificate_mismatch"
	reasonClientMismatch      = "client_id_mismatch"
	reasonGrantNotAllowed     = "grant_not_allowed"
	reasonNoActor             = "no_actor"
	reasonActorToken          = "invalid_actor_token"
	reasonActorMismatch       = "actor_mismatch"
	reasonActorNotAllowed     = "actor_not_allowed"
	reasonTokenType           = "unsupported_token_type"
	reasonSubjectToken        = "invalid_subject_token"
	reasonSubjectExpired      = "subject_token_expired"
	reasonSubjectAudience     = "subject_token_audience"
	reasonMayAct              = "may_act_mismatch"
	reasonActorChain          = "actor_chain_too_long"
	reasonTarget              = "invalid_target"
	reasonTargetNotAllowed    = "target_not_allowed"
	reasonScope               = "invalid_scope"
	reasonScopeNotAllowed     = "scope_not_allowed"
	reasonDPoPRequired        = "dpop_required"
	reasonDPoPProof           = "invalid_dpop_proof"
	reasonDPoPReplayed        = "dpop_proof_replayed"
	reasonDPoPNonce           = "use_dpop_nonce"
	reasonReplayUnavailable   = "replay_check_unavailable"
	reasonIssue               = "issue_failed"
	reasonStepUpUnsupported   = "step_up_not_supported"
	reasonStepUpActor         = "step_up_with_actor"
	reasonStepUpDelegated     = "step_up_delegated_subject"
	reasonStepUpUnbound       = "step_up_unbound_subject"
	reasonStepUpKeyMismatch   = "step_up_key_mismatch"
	reasonACRValues           = "invalid_acr_values"
	reasonMaxAge              = "invalid_max_age"
	reasonACRNotMet           = "acr_not_met"
	reasonTooManyAttempts     = "too_many_attempts"
	reasonFactorRejected      = "factor_rejected"
	reasonFactorReplayed      = "factor_replayed"
	reasonFactorNotEnrolled   = "factor_not_enrolled"
	reasonFactorUnavailable   = "factor_unavailable"
)

// refusal is a refused token request: what the client is told (code and
// description, RFC 6749 §5.2), what operators are told (reason, err) and
// how it is sent (status, and for use_dpop_nonce the nonce).
type refusal struct {
	status      int
	code        string
	description string
	reason      string
	// err is the underlying error, for the log only. It never holds a token.
	err error
	// nonce is the DPoP-Nonce to send (RFC 9449 §8).
	nonce string
	// wwwAuthenticate is the auth-scheme the client used in an
	// Authorization header, for the 401 challenge (RFC 6749 §5.2).
	wwwAuthenticate string
}

func (r *refusal) Error() string { return "sts: " + r.code + ": " + r.description }

func (r *refusal) Unwrap() error { return r.err }

func badRequest(code, reason, description string, err error) *refusal {
	return &refusal{status: http.StatusBadRequest, code: code, reason: reason, description: description, err: err}
}

// invalidClient is RFC 6749 §5.2 invalid_client, answered with 401.
func invalidClient(reason, description string, err error) *refusal {
	return &refusal{status: http.StatusUnauthorized, code: errInvalidClient, reason: reason, description: description, err: err}
}
