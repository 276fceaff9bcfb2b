package authz

import (
	"fmt"
	"strconv"
	"time"
)

// Policy is a deny-by-default list of rules: a request is allowed only when
// an enforced allow rule for its route matches the principal and no enforced
// forbid rule does. It is plain data, safe to build in Go or to load with
// [Parse] or [LoadFile]. A policy without rules, its zero value among them,
// is refused with [ErrNoRules]: it would deny every request, which by
// accident (an emptied file, a rules key misspelled in Go) is an outage; use
// [DenyAll] to deny everything on purpose. A Policy is not used after [New]
// or [Engine.Update] return, so the caller may reuse it.
type Policy struct {
	// ACRLevels orders acr values from weakest to strongest, for example
	// ["pwd", "mfa", "phr"]. A rule's MinACR must be one of them; a
	// principal's ACR outside the ladder satisfies no MinACR. Each is
	// printable ASCII without space, '"' or '\', so that a step-up
	// challenge can carry it in acr_values (RFC 9470 §3).
	ACRLevels []string `json:"acr_levels,omitempty"`
	// Shadow puts the whole policy in dry-run mode: every decision is
	// computed and logged, but the engine allows and reports what it would
	// have decided in [Decision.ShadowDeny]. Use it to trial a first policy.
	Shadow bool `json:"shadow,omitempty"`
	// Rules are evaluated in order within each route; forbid wins over allow.
	Rules []Rule `json:"rules"`

	file   string  // the name Parse was given
	lines  []int   // the line of each rule in file
	starts []int64 // the offset of each rule in file
}

// Rule allows or forbids Routes to the principals that Match describes.
type Rule struct {
	// ID names the rule in decisions, logs and errors. It must be unique and non-empty.
	ID string `json:"id"`
	// Effect is Allow or Forbid; the zero value is invalid.
	Effect Effect `json:"effect"`
	// Routes are net/http.ServeMux patterns without a host:
	// "POST /payments/{id}", "/admin/{path...}", "GET /static/", "/{$}", or a
	// gRPC full method such as "/shop.Payments/Charge" (gRPC requests are
	// matched as POST). A route without a method matches every method; GET
	// also matches HEAD.
	Routes []string `json:"routes"`
	// Match describes the principals the rule applies to.
	Match Match `json:"match"`
	// Shadow makes the rule dry-run: it is evaluated and reported in
	// [Decision.ShadowAllow] or [Decision.ShadowDeny] but never changes the
	// enforced decision.
	Shadow bool `json:"shadow,omitempty"`
}

// Match lists the conditions a principal must meet; every non-empty
// condition must hold. An allow rule with no condition at all is rejected
// unless AnyPrincipal is set, so that "everyone" is always explicit.
type Match struct {
	// AnyPrincipal lets an allow rule apply with no other condition, even to
	// an unauthenticated caller.
	AnyPrincipal bool `json:"any_principal,omitempty"`
	// Peers match the principal's mTLS peer ID ([authn.Principal.Peer]) and
	// Workloads its JWT-SVID ID ([authn.Principal.Workload]). Each entry is a
	// SPIFFE ID ("spiffe://shop.example/checkout"), a trust domain
	// ("spiffe://shop.example") matching any of its workloads, a path prefix
	// ending in "/**" ("spiffe://shop.example/payments/**" matches
	// /payments and everything below), or a glob where "*" matches within one
	// segment ("spiffe://shop.example/*/checkout").
	Peers     []string `json:"peers,omitempty"`
	Workloads []string `json:"workloads,omitempty"`
	// Actors match the current actor of the access token: the outermost act
	// claim (RFC 8693 §4.1, [authn.Principal.Actor]), the workload a token
	// exchange issued the token to, acting for the token's subject. Entries
	// are written as in Peers. A principal whose token has no act claim, or
	// whose current actor is not a SPIFFE ID, never matches a rule with
	// Actors; prior actors (the nested act claims) are never matched, since
	// RFC 8693 §4.1 makes them informational. For example, "payments accepts
	// Charge only for a customer token acted on by checkout":
	//
	//	{"kind": "user", "actors": ["spiffe://shop.example/checkout"], "binding": "dpop"}
	//
	// The act claim says who the token was issued to, not who presents it:
	// pair Actors with a binding ("dpop" or "mtls", so that only the actor's
	// key can use the token) or with the same ID in Peers.
	Actors []string `json:"actors,omitempty"`
	// ClientIDs match the token's client_id exactly.
	ClientIDs []string `json:"client_ids,omitempty"`
	// Kind is "workload" or "user"; omitted (or "any") matches both.
	Kind KindRequirement `json:"kind,omitempty"`
	// AllScopes must all be granted; AnyScopes needs at least one of them.
	AllScopes []string `json:"all_scopes,omitempty"`
	AnyScopes []string `json:"any_scopes,omitempty"`
	// Roles and Groups need at least one of the listed values each.
	Roles  []string `json:"roles,omitempty"`
	Groups []string `json:"groups,omitempty"`
	// MinACR is the weakest acceptable acr, by the policy's ACRLevels.
	MinACR string `json:"min_acr,omitempty"`
	// AMR lists methods that must all appear in the token's amr, such as "hwk".
	AMR []string `json:"amr,omitempty"`
	// MaxAuthAge bounds how long ago the subject authenticated (auth_time);
	// a principal without auth_time fails it. Zero means no bound.
	MaxAuthAge Duration `json:"max_auth_age,omitempty"`
	// Binding requires a sender-constrained token: "dpop", "mtls" or
	// "bound" (either); omitted or "any", no requirement.
	Binding BindingRequirement `json:"binding,omitempty"`
}

func (m *Match) empty() bool {
	return len(m.Peers) == 0 && len(m.Workloads) == 0 && len(m.Actors) == 0 && len(m.ClientIDs) == 0 && m.Kind == AnyKind &&
		len(m.AllScopes) == 0 && len(m.AnyScopes) == 0 && len(m.Roles) == 0 && len(m.Groups) == 0 &&
		m.MinACR == "" && len(m.AMR) == 0 && m.MaxAuthAge == 0 && m.Binding == AnyBinding
}

// Effect says whether a rule allows or forbids. Its zero value is invalid,
// so a rule that forgets its effect fails to compile.
type Effect uint8

// Effects.
const (
	// Allow grants access when the rule matches.
	Allow Effect = iota + 1
	// Forbid denies access when the rule matches, whatever else allows it.
	Forbid
)

// String returns "allow", "forbid" or "invalid".
func (e Effect) String() string {
	switch e {
	case Allow:
		return "allow"
	case Forbid:
		return "forbid"
	}
	return "invalid"
}

// MarshalText encodes e as its String.
func (e Effect) MarshalText() ([]byte, error) {
	if e != Allow && e != Forbid {
		return nil, ErrInvalidEffect
	}
	return []byte(e.String()), nil
}

// UnmarshalText accepts "allow" or "forbid".
func (e *Effect) UnmarshalText(b []byte) error {
	switch string(b) {
	case "allow":
		*e = Allow
	case "forbid":
		*e = Forbid
	default:
		return fmt.Errorf("%w %q", ErrInvalidEffect, b)
	}
	return nil
}

// KindRequirement restricts a rule to workloads or to end users, by the
// principal's [authn.PrincipalKind] ("workload" or "user"). The zero value,
// AnyKind, matches both. In policy files it is written "workload" or
// "user", or omitted (or "any") for no restriction.
type KindRequirement uint8

// Kind requirements.
const (
	AnyKind         KindRequirement = iota // "any": no restriction
	RequireWorkload                        // "workload": only principals of [authn.WorkloadKind]
	RequireUser                            // "user": only principals of [authn.UserKind]
)

// String returns "any", "workload" or "user".
func (k KindRequirement) String() string {
	switch k {
	case RequireWorkload:
		return "workload"
	case RequireUser:
		return "user"
	case AnyKind:
		return "any"
	}
	return "invalid"
}

// MarshalText encodes k as its String.
func (k KindRequirement) MarshalText() ([]byte, error) {
	if k > RequireUser {
		return nil, fmt.Errorf("%w: kind %d", ErrInvalidMatch, k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText accepts "" or "any", "workload" and "user". "end_user",
// "enduser" and "service" are refused with the word to write instead.
func (k *KindRequirement) UnmarshalText(b []byte) error {
	switch string(b) {
	case "", "any":
		*k = AnyKind
	case "workload":
		*k = RequireWorkload
	case "user":
		*k = RequireUser
	case "end_user", "enduser", "end-user", "customer":
		return fmt.Errorf(`%w: kind %q: write "user"`, ErrInvalidMatch, b)
	case "service":
		return fmt.Errorf(`%w: kind %q: write "workload"`, ErrInvalidMatch, b)
	default:
		return fmt.Errorf(`%w: kind %q: want "any", "workload" or "user"`, ErrInvalidMatch, b)
	}
	return nil
}

// BindingRequirement is what a rule requires of the access token's binding
// ([authn.Binding], which says what a token IS bound to: "none", "dpop" or
// "mtls"). The zero value, AnyBinding, accepts bearer tokens too.
//
// In policy files it is written "dpop", "mtls" or "bound" (either of the
// two), or omitted (or "any") for no requirement. "none" and "unbound" are
// refused with an error naming the right word: they describe a token, and a
// rule that accepted only unbound tokens would make no sense.
type BindingRequirement uint8

// Binding requirements.
const (
	AnyBinding   BindingRequirement = iota // "any": no requirement
	RequireDPoP                            // "dpop": [authn.BoundToDPoPKey] (RFC 9449)
	RequireMTLS                            // "mtls": [authn.BoundToCertificate] (RFC 8705)
	RequireBound                           // "bound": DPoP or mTLS
)

// String returns "any", "dpop", "mtls" or "bound".
func (b BindingRequirement) String() string {
	switch b {
	case AnyBinding:
		return "any"
	case RequireDPoP:
		return "dpop"
	case RequireMTLS:
		return "mtls"
	case RequireBound:
		return "bound"
	}
	return "invalid"
}

// MarshalText encodes b as its String.
func (b BindingRequirement) MarshalText() ([]byte, error) {
	if b > RequireBound {
		return nil, fmt.Errorf("%w: binding %d", ErrInvalidMatch, b)
	}
	return []byte(b.String()), nil
}

// UnmarshalText accepts "" or "any", "dpop", "mtls" and "bound". Words that
// describe a token rather than a requirement are refused with an error that
// names the word to write instead.
func (b *BindingRequirement) UnmarshalText(t []byte) error {
	switch string(t) {
	case "", "any":
		*b = AnyBinding
	case "dpop":
		*b = RequireDPoP
	case "mtls":
		*b = RequireMTLS
	case "bound":
		*b = RequireBound
	case "none", "unbound", "bearer":
		return fmt.Errorf(`%w: binding %q says what a token is bound to, not what a rule requires: omit "binding" (or write "any") to accept every token; "bound" requires a DPoP- or mTLS-bound one`, ErrInvalidMatch, t)
	case "either", "dpop_or_mtls", "dpop|mtls":
		return fmt.Errorf(`%w: binding %q: write "bound" for a DPoP- or mTLS-bound token`, ErrInvalidMatch, t)
	default:
		return fmt.Errorf(`%w: binding %q: want "any", "dpop", "mtls" or "bound"`, ErrInvalidMatch, t)
	}
	return nil
}

// Duration is a time.Duration written as "15m" or "1h30m" in policy files.
type Duration time.Duration

// MarshalText encodes d in time.Duration.String form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses a time.ParseDuration string; negative values are rejected.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v < 0 {
		return fmt.Errorf("%w: duration %s", ErrInvalidMatch, strconv.Quote(string(b)))
	}
	*d = Duration(v)
	return nil
}
