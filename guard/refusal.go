package guard

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// Reason is the short, bounded code a refusal is reported under in logs,
// metrics, spans and problem bodies, whatever the transport. It names the
// failed check, never a value. An authorization denial is reported under
// its authz.Reason.
type Reason string

// Reasons.
const (
	ReasonNone               Reason = ""
	ReasonMissingToken       Reason = "missing_token"
	ReasonInvalidRequest     Reason = "invalid_request"
	ReasonMisdirected        Reason = "misdirected"
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

// Reasons of the refusals of an HTTP message signature (RFC 9421, package
// httpsig) or a webhook signature (package webhook), decided outside
// [Guard.Check] by a verifier that needs the whole HTTP message, and
// recorded with [Guard.Refuse]. Package middleware maps the errors of both
// verifiers to them.
const (
	// ReasonSignatureMissing: no signature, or none with the required label
	// or tag. 401.
	ReasonSignatureMissing Reason = "signature_missing"
	// ReasonSignatureMalformed: the Signature-Input or Signature field, or
	// a webhook's signature headers, cannot be parsed. 400.
	ReasonSignatureMalformed Reason = "signature_malformed"
	// ReasonSignatureInvalid: the signature does not verify. 401, logged
	// at Warn.
	ReasonSignatureInvalid Reason = "signature_invalid"
	// ReasonSignatureExpired: the signature expired, or was created too long
	// ago or in the future. 401.
	ReasonSignatureExpired Reason = "signature_expired"
	// ReasonSignatureReplayed: the signature's nonce, or the webhook's id,
	// was seen before. 401, logged at Warn.
	ReasonSignatureReplayed Reason = "signature_replayed"
	// ReasonSignatureUnknownKey: no key has the signature's keyid, or its
	// alg contradicts the key. 401.
	ReasonSignatureUnknownKey Reason = "signature_unknown_key"
	// ReasonDigestMismatch: the Content-Digest the signature covers does not
	// match the body (RFC 9530): the body was changed. 401, logged at Warn.
	ReasonDigestMismatch Reason = "digest_mismatch"
	// ReasonSignatureInsufficient: the signature does not cover a component
	// or carry a parameter the route requires. 401.
	ReasonSignatureInsufficient Reason = "signature_insufficient"
	// ReasonSignatureUnavailable: the key source or the replay store cannot
	// answer. 503, logged at Error.
	ReasonSignatureUnavailable Reason = "signature_unavailable"
)

// signature reports whether r is one of the signature reasons.
func (r Reason) signature() bool {
	switch r {
	case ReasonSignatureMissing, ReasonSignatureMalformed, ReasonSignatureInvalid, ReasonSignatureExpired,
		ReasonSignatureReplayed, ReasonSignatureUnknownKey, ReasonDigestMismatch, ReasonSignatureInsufficient,
		ReasonSignatureUnavailable:
		return true
	}
	return false
}

// Class is what kind of refusal a [Refusal] is, which each transport
// renders as its own status: an HTTP status code, a gRPC status code.
type Class uint8

// Classes. The zero value is not a class.
const (
	// ClassUnauthenticated: credentials are missing or not valid, or the
	// user's authentication behind a valid access token is too weak or too
	// old for the route (an authorization denial for insufficient_acr or
	// auth_too_old, answered with an RFC 9470 §3 step-up challenge). HTTP
	// 401 with a challenge (RFC 9110 §15.5.2); 403 for a TLS client
	// certificate, for which HTTP has no challenge. gRPC Unauthenticated.
	ClassUnauthenticated Class = iota + 1
	// ClassPermissionDenied: the caller is known but not allowed: a peer
	// policy or an authorization denial (except the step-up ones above).
	// HTTP 403, gRPC PermissionDenied.
	ClassPermissionDenied
	// ClassBadRequest: the request is malformed (RFC 6750 §3.1
	// invalid_request) or its path has no canonical form. HTTP 400, gRPC
	// InvalidArgument.
	ClassBadRequest
	// ClassUnavailable: infrastructure the decision needs (a key set, the
	// replay store) cannot be reached; never a bad credential. HTTP 503,
	// gRPC Unavailable.
	ClassUnavailable
	// ClassInternal: a fault on the server's side. HTTP 500, gRPC Internal.
	ClassInternal
	// ClassRateLimited: the caller is over a rate limit ([WithRateLimits]);
	// [Refusal.RetryAfter] says how long to wait. HTTP 429 with
	// Retry-After (RFC 6585 §4, RFC 9110 §10.2.3), gRPC ResourceExhausted
	// with a google.rpc.RetryInfo.
	ClassRateLimited
)

// String names the class: "unauthenticated", "permission_denied",
// "bad_request", "unavailable", "internal" or "rate_limited"; "unknown"
// otherwise.
func (c Class) String() string {
	switch c {
	case ClassUnauthenticated:
		return "unauthenticated"
	case ClassPermissionDenied:
		return "permission_denied"
	case ClassBadRequest:
		return "bad_request"
	case ClassUnavailable:
		return "unavailable"
	case ClassInternal:
		return "internal"
	case ClassRateLimited:
		return "rate_limited"
	}
	return "unknown"
}

// Refusal is a refused request, as a value every transport renders in its
// own protocol: the class, the [Reason] code, a fixed public sentence, the
// challenges to send and the DPoP nonce the client must use. It holds
// nothing secret: no token, proof, key, subject or internal error text.
// Treat it as read-only.
type Refusal struct {
	// Class says how to answer.
	Class Class
	// Reason is the bounded code of the refusal.
	Reason Reason
	// Detail is a fixed, public sentence, such as the detail of an RFC 9457
	// problem object.
	Detail string
	// Challenges are the WWW-Authenticate values to send, in order: RFC 6750
	// §3 Bearer and RFC 9449 §7.1 DPoP challenges with error, realm, algs
	// and (for insufficient_scope) scope parameters, and RFC 9470 §3
	// insufficient_user_authentication challenges with error_description,
	// acr_values and max_age. Empty when none is due.
	Challenges []string
	// Nonce is the DPoP nonce the client must put in its next proof (RFC
	// 9449 §8), when the refusal is use_dpop_nonce, or a step-up challenge
	// in the DPoP scheme from a guard with [WithNonces] (the current nonce,
	// for the proof of the retry with the stepped-up token); "" otherwise.
	Nonce string
	// RetryAfter, for a [ClassRateLimited] refusal, is how long the client
	// should wait before it retries, in whole seconds (at least one): the
	// Retry-After of HTTP (RFC 9110 §10.2.3), the retry_delay of gRPC's
	// google.rpc.RetryInfo. Zero otherwise.
	RetryAfter time.Duration
}

// RetryAfterSeconds is [Refusal.RetryAfter] in whole seconds, rounded up
// and at least 1, the delay-seconds of a Retry-After field (RFC 9110
// §10.2.3); 0 when RetryAfter is not positive.
func (r *Refusal) RetryAfterSeconds() int64 {
	if r.RetryAfter <= 0 {
		return 0
	}
	s := int64(r.RetryAfter / time.Second) // not (RetryAfter+1s-1)/1s: that wraps near the largest Duration
	if r.RetryAfter%time.Second != 0 {
		s++
	}
	return s
}

// HTTPStatus is the HTTP status of the refusal: 401, 403, 400, 429, 503 or
// 500 by [Class]. A ClassUnauthenticated refusal without a challenge (the TLS
// client certificate is missing or not trusted) is 403, as a 401 must carry
// a challenge (RFC 9110 §15.5.2); except a refusal of a message signature
// (the signature reasons, such as signature_invalid), which is 401: RFC 9421
// defines no authentication scheme to challenge with, and a client is asked
// for a signature with an Accept-Signature field (RFC 9421 §5.1) instead.
func (r *Refusal) HTTPStatus() int {
	switch r.Class {
	case ClassUnauthenticated:
		if len(r.Challenges) == 0 && !r.Reason.signature() {
			return http.StatusForbidden
		}
		return http.StatusUnauthorized
	case ClassPermissionDenied:
		return http.StatusForbidden
	case ClassBadRequest:
		return http.StatusBadRequest
	case ClassUnavailable:
		return http.StatusServiceUnavailable
	case ClassRateLimited:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// verdict is how an authentication error is answered, before the
// challenges, which depend on the request.
type verdict struct {
	class Class
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
func classify(err error) verdict {
	is := func(target error) bool { return errors.Is(err, target) }
	switch {
	case is(dpop.ErrUseDPoPNonce):
		return verdict{ClassUnauthenticated, "use_dpop_nonce", ReasonNonceRequired, true, "A fresh DPoP proof with the server's nonce is required."}
	case is(authn.ErrMissingToken), is(dpop.ErrMissingAccessToken):
		return verdict{ClassUnauthenticated, "", ReasonMissingToken, false, "Authentication is required."}
	case is(dpop.ErrInvalidRequest):
		return verdict{ClassBadRequest, "invalid_request", ReasonInvalidRequest, false, "The Authorization header is malformed."}
	case is(dpop.ErrMisdirected):
		return verdict{ClassBadRequest, "invalid_request", ReasonMisdirected, false, "The request is addressed to an authority this service does not serve."}
	case is(authn.ErrMissingPeer):
		return verdict{ClassUnauthenticated, "", ReasonPeerMissing, false, "A client certificate is required."}
	case is(authn.ErrInvalidPeer):
		return verdict{ClassUnauthenticated, "", ReasonPeerInvalid, false, "The client certificate is not trusted."}
	case is(authn.ErrPeerNotAuthorized):
		return verdict{ClassPermissionDenied, "", ReasonPeerForbidden, false, "The calling workload may not use this resource."}
	case is(authn.ErrInvalidJWTSVID):
		return verdict{ClassUnauthenticated, "invalid_token", ReasonJWTSVIDInvalid, false, "The JWT-SVID is not valid."}
	case is(dpop.ErrReplayCheckUnavailable):
		return verdict{ClassUnavailable, "", ReasonReplayUnavailable, false, "Authentication is temporarily unavailable."}
	case is(tokens.ErrKeySetUnavailable):
		return verdict{ClassUnavailable, "", ReasonKeysUnavailable, false, "Authentication is temporarily unavailable."}
	case is(dpop.ErrReplayed):
		return verdict{ClassUnauthenticated, "invalid_dpop_proof", ReasonProofReplayed, true, "The DPoP proof is not valid."}
	case is(dpop.ErrMissingProof), is(dpop.ErrMultipleProofs):
		return verdict{ClassUnauthenticated, "invalid_dpop_proof", ReasonProofMissing, true, "Exactly one DPoP proof is required."}
	case is(dpop.ErrMalformedProof), is(dpop.ErrInvalidProofType), is(dpop.ErrUnsupportedAlgorithm),
		is(dpop.ErrInvalidProofKey), is(dpop.ErrInvalidProofSignature), is(dpop.ErrMethodMismatch),
		is(dpop.ErrURIMismatch), is(dpop.ErrProofExpired), is(dpop.ErrProofFromFuture), is(dpop.ErrAccessTokenHashMismatch):
		return verdict{ClassUnauthenticated, "invalid_dpop_proof", ReasonProofInvalid, true, "The DPoP proof is not valid."}
	case is(dpop.ErrBindingMismatch):
		return verdict{ClassUnauthenticated, "invalid_token", ReasonBindingMismatch, true, "The access token is not valid."}
	case is(dpop.ErrBoundTokenAsBearer):
		return verdict{ClassUnauthenticated, "invalid_token", ReasonBoundTokenAsBearer, false, "The access token is not valid."}
	case is(authn.ErrDPoPRequired), is(dpop.ErrBearerNotAccepted):
		return verdict{ClassUnauthenticated, "invalid_token", ReasonDPoPRequired, true, "A DPoP-bound access token is required."}
	case is(tokens.ErrExpired):
		return verdict{ClassUnauthenticated, "invalid_token", ReasonTokenExpired, false, "The access token expired."}
	case is(tokens.ErrInvalidAudience):
		return verdict{ClassUnauthenticated, "invalid_token", ReasonTokenAudience, false, "The access token is not valid."}
	case is(tokens.ErrInvalidIssuer):
		return verdict{ClassUnauthenticated, "invalid_token", ReasonTokenIssuer, false, "The access token is not valid."}
	case is(tokens.ErrInvalidSignature), is(tokens.ErrAlgorithmKeyMismatch), is(tokens.ErrWeakKey):
		return verdict{ClassUnauthenticated, "invalid_token", ReasonTokenSignature, false, "The access token is not valid."}
	case is(tokens.ErrUnknownKey):
		return verdict{ClassUnauthenticated, "invalid_token", ReasonUnknownKey, false, "The access token is not valid."}
	case is(tokens.ErrMalformed), is(tokens.ErrUnsupportedAlgorithm), is(tokens.ErrInvalidType), is(tokens.ErrUnknownCritical),
		is(tokens.ErrEmbeddedKey), is(tokens.ErrMissingClaim), is(tokens.ErrNotYetValid), is(tokens.ErrIssuedInFuture),
		is(tokens.ErrLifetimeTooLong):
		return verdict{ClassUnauthenticated, "invalid_token", ReasonTokenInvalid, false, "The access token is not valid."}
	}
	// Anything else is a fault on the server's side; refuse without detail.
	return internalVerdict
}

// refusal is the answer to the authentication error err of req, as v
// classified it.
func (g *Guard) refusal(req *inbound.Request, v verdict, err error) *Refusal {
	ref := &Refusal{Class: v.class, Reason: v.reason, Detail: v.detail, Challenges: g.challenges(req, v)}
	var ne *dpop.NonceError
	if errors.As(err, &ne) && ne.Nonce != "" {
		ref.Nonce = ne.Nonce
	}
	return ref
}

// denial is the answer to an authorization denial d of principal p: 403,
// or 400 for a path the policy refuses to route, with an insufficient_scope
// challenge (RFC 6750 §3.1) naming the missing scopes when scopes are
// missing; or, when the user's authentication is too weak or too old, the
// step-up refusal of [Guard.stepUp].
func (g *Guard) denial(req *inbound.Request, p *authn.Principal, d authz.Decision) *Refusal {
	ref := &Refusal{Class: ClassPermissionDenied, Reason: Reason(d.Reason), Detail: "The caller is not allowed to make this request."}
	switch d.Reason {
	case authz.ReasonBadRequest:
		ref.Class, ref.Detail = ClassBadRequest, "The request path is not acceptable."
	case authz.ReasonInsufficientScope:
		ref.Detail = "The access token lacks a required scope."
		c := g.challenge(usesDPoP(req), "insufficient_scope")
		if scopes := strings.Join(d.MissingScopes, " "); scopes != "" && !strings.ContainsAny(scopes, "\"\\") {
			c += fmt.Sprintf(", scope=%q", scopes)
		}
		ref.Challenges = []string{c}
	case authz.ReasonInsufficientACR, authz.ReasonAuthTooOld:
		g.stepUp(ref, req, p, d)
	}
	return ref
}

// The error code of an RFC 9470 §3 step-up challenge, and its
// error_description for each cause: the wording of RFC 9470 §3's examples.
const (
	codeStepUp        = "insufficient_user_authentication"
	describeWeakAuth  = "A different authentication level is required"
	describeStaleAuth = "More recent authentication is required"
)

// stepUp makes ref, the refusal of a denial d for insufficient_acr or
// auth_too_old, a step-up refusal (RFC 9470 §3) when p authenticated with
// an access token, the credential a new authentication of the user
// replaces: [ClassUnauthenticated], with one insufficient_user_authentication
// challenge in the scheme the request used, carrying the acr_values and
// max_age of d ([authz.Decision.ACRValues], [authz.Decision.MaxAuthAge]),
// and, in the DPoP scheme, the current nonce of [WithNonces]. A caller
// without an access token (mTLS or a JWT-SVID only) has no user
// authentication to step up: its refusal stays a plain 403.
func (g *Guard) stepUp(ref *Refusal, req *inbound.Request, p *authn.Principal, d authz.Decision) {
	if p == nil || !(p.Has(authn.MethodBearer) || p.Has(authn.MethodDPoP)) {
		return
	}
	desc := describeWeakAuth
	if d.Reason == authz.ReasonAuthTooOld {
		desc = describeStaleAuth
	}
	params := []string{fmt.Sprintf("error_description=%q", desc)}
	if acr := acrValues(d.ACRValues); acr != "" {
		params = append(params, fmt.Sprintf("acr_values=%q", acr))
	}
	if age := time.Duration(d.MaxAuthAge); age > 0 {
		// Whole seconds, rounded down: an authentication that young meets the rule.
		params = append(params, fmt.Sprintf("max_age=\"%d\"", age/time.Second))
	}
	dpopScheme := usesDPoP(req)
	ref.Class, ref.Detail = ClassUnauthenticated, desc+"."
	ref.Challenges = []string{g.challenge(dpopScheme, codeStepUp, params...)}
	if dpopScheme {
		ref.Nonce = g.Nonce()
	}
}

// acrValues is the acr_values parameter of a step-up challenge: values
// joined by single spaces (RFC 9470 §3), leaving out any that is not an
// RFC 6749 §3.3 scope-token (1*( %x21 / %x23-5B / %x5D-7E )), which a
// client could not read back as one value; "" when none is left.
func acrValues(values []string) string {
	var b strings.Builder
	for _, v := range values {
		if !isNQToken(v) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(v)
	}
	return b.String()
}

// isNQToken reports whether v is 1*NQCHAR without the space: %x21 /
// %x23-5B / %x5D-7E.
func isNQToken(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// challenges are the WWW-Authenticate values of an authentication refusal:
// one for a 401 or a malformed request. Without credentials, every scheme
// the route accepts is offered, with no error code (RFC 6750 §3.1).
func (g *Guard) challenges(req *inbound.Request, v verdict) []string {
	switch {
	case v.class == ClassBadRequest:
		return []string{g.challenge(usesDPoP(req) || g.tokenDPoP, v.code)}
	case v.class != ClassUnauthenticated || v.reason == ReasonPeerMissing || v.reason == ReasonPeerInvalid:
		return nil
	case v.reason == ReasonMissingToken:
		if g.a == nil {
			return nil
		}
		switch g.a.Policy().Token {
		case authn.DPoPBoundToken:
			return []string{g.challenge(true, "")}
		case authn.AccessToken:
			return []string{g.challenge(true, ""), g.challenge(false, "")}
		}
		return []string{g.challenge(false, "")}
	}
	dpopScheme := v.dpop || usesDPoP(req)
	if v.reason == ReasonBoundTokenAsBearer {
		dpopScheme = false
	}
	return []string{g.challenge(dpopScheme, v.code)}
}

// challenge is one RFC 6750 §3 or RFC 9449 §7.1 challenge with error code
// code, or none when code is "", followed by params, each name="value"
// already quoted, and then algs.
func (g *Guard) challenge(dpopScheme bool, code string, params ...string) string {
	var b strings.Builder
	if dpopScheme {
		b.WriteString("DPoP")
	} else {
		b.WriteString("Bearer")
	}
	sep := " "
	if g.cfg.realm != "" {
		fmt.Fprintf(&b, "%srealm=%q", sep, g.cfg.realm)
		sep = ", "
	}
	if code != "" {
		fmt.Fprintf(&b, "%serror=%q", sep, code)
		sep = ", "
	}
	for _, p := range params {
		b.WriteString(sep)
		b.WriteString(p)
		sep = ", "
	}
	if dpopScheme && g.cfg.algs != "" {
		fmt.Fprintf(&b, "%salgs=%q", sep, g.cfg.algs)
	}
	return b.String()
}

// usesDPoP reports whether the request used the DPoP authorization scheme
// in its first Authorization value.
func usesDPoP(req *inbound.Request) bool {
	if len(req.Authorization) == 0 {
		return false
	}
	v := req.Authorization[0]
	return len(v) > 5 && strings.EqualFold(v[:5], "DPoP ")
}
