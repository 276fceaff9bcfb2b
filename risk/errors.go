package risk

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ztkit/ztkit/internal/srcloc"
)

// Sentinel errors. Every error that [Parse], [LoadFile], [New],
// [Engine.Update] and [Watch] return for a bad policy matches
// [ErrInvalidPolicy] and, where one applies, a narrower sentinel below;
// test with [errors.Is].
var (
	// ErrInvalidPolicy: the policy cannot be compiled. Every [*PolicyError] matches it.
	ErrInvalidPolicy = errors.New("risk: invalid policy")
	// ErrSyntax: the policy file is not well-formed JSON, has an unknown or
	// duplicate key, or a value of the wrong type.
	ErrSyntax = errors.New("risk: policy syntax error")
	// ErrInvalidAction: an action name is malformed or declared twice.
	ErrInvalidAction = errors.New("risk: invalid action")
	// ErrInvalidRule: a rule has no or a duplicate ID, a bad reason, no
	// condition, or not exactly one of outcome and weight; or the action's
	// thresholds, step_up or on_counter_error are missing or inconsistent.
	ErrInvalidRule = errors.New("risk: invalid rule")
	// ErrInvalidCondition: a condition is malformed (a false flag, a bad
	// currency, a velocity window out of range, a bad signal name).
	ErrInvalidCondition = errors.New("risk: invalid condition")
	// ErrUnknownACR: an acr value is missing from the policy's acr_levels.
	ErrUnknownACR = errors.New("risk: acr value not in acr_levels")
	// ErrNoActions: the policy declares no action, so it would deny every one.
	ErrNoActions = errors.New("risk: policy has no actions: it would deny every action")
	// ErrPolicyTooLarge: the policy file exceeds the size limit.
	ErrPolicyTooLarge = errors.New("risk: policy file too large")
	// ErrClosed: the engine was closed.
	ErrClosed = errors.New("risk: engine closed")
	// ErrCounterUnavailable: the velocity counter store failed. Counters
	// wrap their own errors in it.
	ErrCounterUnavailable = errors.New("risk: velocity counters unavailable")
)

// PolicyError locates one problem in a policy: the file and line (when the
// policy came from a file), the action and the field. It matches
// [ErrInvalidPolicy] and unwraps to the specific cause.
type PolicyError struct {
	// File is the name the policy was loaded under; empty for a Go policy.
	File string
	// Line is the 1-based line in File; 0 when unknown.
	Line int
	// Index is the action's position in Policy.Actions; -1 for a policy-wide problem.
	Index int
	// Action is the action's name, if it has one.
	Action string
	// Field names the offending field within the action, such as
	// "rules[1].when.amount_over"; may be empty.
	Field string
	// Err is the cause, wrapping one of the sentinels.
	Err error
}

// Error formats the location and the cause, as in
// `risk: policy.json:12: action "checkout" (#0): rules[1].weight: ...`.
func (e *PolicyError) Error() string {
	loc := srcloc.Loc{File: e.File, Line: e.Line, Kind: "action", Index: e.Index, Name: e.Action, Field: e.Field}
	return loc.Format("risk: ", strings.TrimPrefix(fmt.Sprint(e.Err), "risk: "))
}

// Unwrap returns the cause.
func (e *PolicyError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrInvalidPolicy].
func (e *PolicyError) Is(target error) bool { return target == ErrInvalidPolicy }
