package authz

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ztkit/ztkit/internal/srcloc"
)

// Sentinel errors. Every error that [Parse], [LoadFile], [New], [Engine.Update]
// and [Watch] return for a bad policy matches [ErrInvalidPolicy] and, where
// one applies, the narrower sentinel below; test with [errors.Is].
var (
	// ErrInvalidPolicy: the policy cannot be compiled. Every [*PolicyError] matches it.
	ErrInvalidPolicy = errors.New("authz: invalid policy")
	// ErrSyntax: the policy file is not well-formed JSON, has an unknown or
	// duplicate key, or a value of the wrong type.
	ErrSyntax = errors.New("authz: policy syntax error")
	// ErrInvalidRoute: a route is not a pattern this package accepts.
	ErrInvalidRoute = errors.New("authz: invalid route pattern")
	// ErrInvalidMatch: a principal condition is malformed (a bad SPIFFE ID
	// pattern, an unknown kind, a negative duration and so on).
	ErrInvalidMatch = errors.New("authz: invalid match")
	// ErrUnknownACR: a rule names an acr value missing from the policy's ACR ladder.
	ErrUnknownACR = errors.New("authz: acr value not in acr_levels")
	// ErrEmptyMatch: an allow rule has no condition at all and does not set
	// AnyPrincipal; allowing everyone must be written down explicitly.
	ErrEmptyMatch = errors.New("authz: allow rule matches every principal without any_principal")
	// ErrNoRules: the policy has no rules, so it would deny every request.
	// A policy file that lost its rules is refused, and [Watch] keeps the
	// last good policy; an [Authorizer] that denies everything on purpose is
	// [DenyAll].
	ErrNoRules = errors.New("authz: policy has no rules: it would deny every request")
	// ErrDuplicateRuleID: two rules share an ID, or a rule has none.
	ErrDuplicateRuleID = errors.New("authz: missing or duplicate rule id")
	// ErrInvalidEffect: a rule's effect is neither allow nor forbid.
	ErrInvalidEffect = errors.New("authz: invalid effect")
	// ErrPolicyTooLarge: the policy file exceeds the size limit.
	ErrPolicyTooLarge = errors.New("authz: policy file too large")
	// ErrClosed: the engine was closed.
	ErrClosed = errors.New("authz: engine closed")
)

// PolicyError locates one problem in a policy: the file and line (when the
// policy came from a file), the rule and the field. It matches
// [ErrInvalidPolicy] and unwraps to the specific cause. Error never includes
// anything but the policy's own text, which holds no secrets.
type PolicyError struct {
	// File is the name the policy was loaded under; empty for a Go policy.
	File string
	// Line is the 1-based line in File; 0 when unknown.
	Line int
	// Index is the rule's position in Policy.Rules; -1 for a policy-wide problem.
	Index int
	// RuleID is the rule's ID, if it has one.
	RuleID string
	// Field names the offending field, such as "routes[1]"; may be empty.
	Field string
	// Err is the cause, wrapping one of the sentinels.
	Err error
}

// Error formats the location and the cause, as in
// `authz: policy.json:12: rule "pay" (#3): routes[0]: ...`.
func (e *PolicyError) Error() string {
	loc := srcloc.Loc{File: e.File, Line: e.Line, Kind: "rule", Index: e.Index, Name: e.RuleID, Field: e.Field}
	return loc.Format("authz: ", strings.TrimPrefix(fmt.Sprint(e.Err), "authz: "))
}

// Unwrap returns the cause.
func (e *PolicyError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrInvalidPolicy].
func (e *PolicyError) Is(target error) bool { return target == ErrInvalidPolicy }
