package authz

// Request is what is being called: an HTTP method and escaped path, or a
// gRPC full method. Its zero value is invalid and is denied.
type Request struct {
	// Method is the HTTP method, such as "POST".
	Method string
	// Path is the escaped request path, r.URL.EscapedPath(). It is matched
	// in its canonical form (RFC 3986 §6.2.2): percent-encodings upper-cased
	// and those of unreserved characters decoded, so "/%7Ealice" is
	// "/~alice". A path that has no canonical form, or that routers read
	// differently, is denied with [ReasonBadRequest]: empty segments, "."
	// and ".." segments whether written plainly or percent-encoded ("%2e",
	// "%2E%2E", ".%2e"), such segments with ";" parameters ("..;"), an
	// encoded "/" or backslash (%2F, %5C), a raw backslash, NUL and other control
	// characters, double encodings ("%252e"), invalid percent-encodings and
	// encodings that do not decode to UTF-8. What is accepted decodes to the
	// same r.URL.Path as the request, split into the same segments, so a
	// router on the decoded path (net/http.ServeMux) routes on what was
	// decided; package middleware also hands the next handler the canonical
	// escaped path itself.
	Path string
	// GRPCMethod is a gRPC full method, "/shop.Payments/Charge". When set,
	// Method and Path are ignored and the request is matched as
	// POST GRPCMethod.
	GRPCMethod string
}

func (r Request) normalize() (method, path string) {
	if r.GRPCMethod != "" {
		return "POST", r.GRPCMethod
	}
	return r.Method, r.Path
}

// Reason is a bounded code saying why a decision came out as it did. It is
// safe to use as a metric label.
type Reason string

// Reasons.
const (
	// ReasonAllowed: an enforced allow rule matched and no forbid rule did.
	ReasonAllowed Reason = "allowed"
	// ReasonNoRule: no rule covers the route. The default: deny.
	ReasonNoRule Reason = "no_rule"
	// ReasonForbidden: an enforced forbid rule matched.
	ReasonForbidden Reason = "forbidden"
	// ReasonBadRequest: the request has no method or a path without a
	// canonical form (see [Request.Path]).
	ReasonBadRequest Reason = "bad_request"
	// ReasonPeerMismatch: the mTLS peer ID is not one the rule names.
	ReasonPeerMismatch Reason = "peer_mismatch"
	// ReasonWorkloadMismatch: the JWT-SVID ID is not one the rule names.
	ReasonWorkloadMismatch Reason = "workload_mismatch"
	// ReasonActorMismatch: the rule requires an actor (Match.Actors) and the
	// token names none (no act claim, RFC 8693 §4.1), or its current actor
	// is not one the rule names.
	ReasonActorMismatch Reason = "actor_mismatch"
	// ReasonClientMismatch: the token's client_id is not one the rule names.
	ReasonClientMismatch Reason = "client_mismatch"
	// ReasonKindMismatch: a workload called a user-only route, or the reverse.
	ReasonKindMismatch Reason = "kind_mismatch"
	// ReasonBindingRequired: the rule needs a DPoP- or mTLS-bound token.
	ReasonBindingRequired Reason = "binding_required"
	// ReasonInsufficientACR: acr is missing or below the rule's min_acr;
	// see [Decision.ACRValues] and [Decision.MaxAuthAge] for what a step-up
	// must obtain (RFC 9470 §3).
	ReasonInsufficientACR Reason = "insufficient_acr"
	// ReasonInsufficientAMR: a required amr value is missing. RFC 9470 has
	// no challenge parameter for amr, so the decision carries no step-up
	// requirement for it.
	ReasonInsufficientAMR Reason = "insufficient_amr"
	// ReasonAuthTooOld: auth_time is missing or older than max_auth_age;
	// see [Decision.ACRValues] and [Decision.MaxAuthAge].
	ReasonAuthTooOld Reason = "auth_too_old"
	// ReasonMissingRole: none of the rule's roles is held.
	ReasonMissingRole Reason = "missing_role"
	// ReasonMissingGroup: none of the rule's groups is held.
	ReasonMissingGroup Reason = "missing_group"
	// ReasonInsufficientScope: the token lacks scopes; see
	// [Decision.MissingScopes] and RFC 6750 §3.1.
	ReasonInsufficientScope Reason = "insufficient_scope"
	// ReasonShadowPolicy: the policy is in shadow mode, so the request was
	// allowed; the decision it would have made is in the Shadow fields.
	ReasonShadowPolicy Reason = "shadow_policy"
)

// Decision is the outcome of [Engine.Decide]. The zero value denies.
type Decision struct {
	// Allow is the enforced decision.
	Allow bool
	// Reason says why; for a denial, it comes from the candidate rule that
	// came closest to matching.
	Reason Reason
	// RuleID is the rule that allowed or forbade, or came closest.
	RuleID string
	// Pattern is the route pattern of that rule that matched the request.
	Pattern string
	// MissingScopes, set with [ReasonInsufficientScope], lists the scopes
	// the closest rule needs that the token lacks, for the scope attribute
	// of an RFC 6750 §3.1 insufficient_scope error. The caller owns it.
	MissingScopes []string
	// ACRValues and MaxAuthAge, set with [ReasonInsufficientACR] and
	// [ReasonAuthTooOld], say what a new authentication of the user must
	// achieve for the closest rule to match: they are the acr_values and
	// max_age of an RFC 9470 §3 insufficient_user_authentication challenge,
	// which package guard sends. Both come from that rule, whichever of its
	// two conditions failed, so that one step-up satisfies both.
	//
	// ACRValues are the acr values the rule accepts, when it has a min_acr:
	// its min_acr and every stronger level of the policy's acr_levels, in
	// the order of preference RFC 9470 §3 asks for, which is weakest first
	// (min_acr, then each stronger level in acr_levels order): the user is
	// asked for the least friction that suffices, and an authorization
	// server that cannot do that level may pick a stronger one. nil when the
	// rule has no min_acr. The caller owns the slice.
	//
	// MaxAuthAge is the rule's max_auth_age, when it has one: how long ago
	// the user may have authenticated at most. Zero when the rule has no
	// max_auth_age.
	ACRValues  []string
	MaxAuthAge Duration

	// ShadowDeny reports that a shadow forbid rule matched an allowed
	// request, or that a shadow policy would have denied it.
	ShadowDeny bool
	// ShadowAllow reports that a shadow allow rule matched a denied request.
	ShadowAllow bool
	// ShadowRuleID and ShadowReason describe the shadow outcome.
	ShadowRuleID string
	ShadowReason Reason
}

// Trace is the full evaluation of one request, from [Engine.Explain].
type Trace struct {
	// Method and Path are the request as matched: Path is canonical, or as
	// given when it has no canonical form.
	Method, Path string
	// Patterns are the matching route patterns, most specific first, in
	// net/http.ServeMux precedence.
	Patterns []string
	// Steps are the rules considered, in evaluation order: forbid rules,
	// then allow rules, then shadow rules.
	Steps []Step
	// Decision is what [Engine.Decide] returns for the same input.
	Decision Decision
}

// Step is one rule considered in a [Trace].
type Step struct {
	RuleID  string
	Effect  Effect
	Shadow  bool
	Pattern string
	// Matched reports whether the principal met every condition.
	Matched bool
	// Reason is the first condition that failed, when Matched is false.
	Reason Reason
}
