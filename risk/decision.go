package risk

import (
	"fmt"
	"time"
)

// Outcome is what a risk decision asks of the caller: go ahead, step up
// authentication first, or refuse. Outcomes are ordered: [Deny] is stronger
// than [StepUp], which is stronger than [Allow]. The zero value is [Allow];
// a [Decision] is never zero, see [Decision.Outcome].
type Outcome uint8

// Outcomes.
const (
	// Allow: let the action proceed.
	Allow Outcome = iota
	// StepUp: proceed only after the customer authenticates again, with
	// the [Decision.ACR] and within the [Decision.MaxAge] (RFC 9470).
	StepUp
	// Deny: refuse the action.
	Deny
)

// String returns "allow", "step_up" or "deny".
func (o Outcome) String() string {
	switch o {
	case Allow:
		return "allow"
	case StepUp:
		return "step_up"
	case Deny:
		return "deny"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// MarshalText encodes o as its String.
func (o Outcome) MarshalText() ([]byte, error) {
	if o > Deny {
		return nil, fmt.Errorf("%w: %s", ErrInvalidRule, o)
	}
	return []byte(o.String()), nil
}

// UnmarshalText parses "allow", "step_up" or "deny".
func (o *Outcome) UnmarshalText(b []byte) error {
	switch string(b) {
	case "allow":
		*o = Allow
	case "step_up":
		*o = StepUp
	case "deny":
		*o = Deny
	default:
		return fmt.Errorf("%w: outcome %q: want allow, step_up or deny", ErrInvalidRule, b)
	}
	return nil
}

// Reason is a bounded, machine-readable code saying why a decision is not
// a plain allow. It is one of the reasons below or a name a policy defines
// (see [ValidReason]), so it is safe as a metric label and carries no
// personal data.
type Reason string

// The documented reasons. A policy names the reason of each of its rules;
// these are the names it should use for these ideas. The engine itself
// gives only [ReasonUnknownAction] and [ReasonCounterUnavailable].
const (
	// ReasonNewDevice: the DPoP key is not one of the customer's known
	// devices, or the token is not DPoP-bound (no device to recognise).
	ReasonNewDevice Reason = "new_device"
	// ReasonNewCustomer: the customer has no previous order.
	ReasonNewCustomer Reason = "new_customer"
	// ReasonNewPaymentMethod: the action uses a payment method the
	// customer has not used before.
	ReasonNewPaymentMethod Reason = "new_payment_method"
	// ReasonNewShippingAddress: the order ships to a new address.
	ReasonNewShippingAddress Reason = "new_shipping_address"
	// ReasonAmountOverLimit: the amount exceeds the action's limit for its currency.
	ReasonAmountOverLimit Reason = "amount_over_limit"
	// ReasonAmountOverHistory: the amount is far above the customer's largest previous order.
	ReasonAmountOverHistory Reason = "amount_over_history"
	// ReasonAuthTooOld: auth_time is missing or older than the rule allows.
	ReasonAuthTooOld Reason = "auth_too_old"
	// ReasonInsufficientACR: acr is missing or below the rule's level.
	ReasonInsufficientACR Reason = "insufficient_acr"
	// ReasonUnboundToken: the access token is a bearer token.
	ReasonUnboundToken Reason = "unbound_token"
	// ReasonVelocityCustomer: too many events for this customer in a window.
	ReasonVelocityCustomer Reason = "velocity_customer"
	// ReasonVelocityCard: too many events for this card (card testing).
	ReasonVelocityCard Reason = "velocity_card"
	// ReasonVelocityDevice: too many events for this device key.
	ReasonVelocityDevice Reason = "velocity_device"
	// ReasonVelocityIP: too many events from this IP prefix (credential stuffing).
	ReasonVelocityIP Reason = "velocity_ip"
	// ReasonImpossibleTravel: the customer moved faster than the rule allows
	// since the last known location.
	ReasonImpossibleTravel Reason = "impossible_travel"
	// ReasonUnknownAction: the action is not in the policy. It is denied.
	ReasonUnknownAction Reason = "unknown_action"
	// ReasonCounterUnavailable: the velocity counters failed, so the
	// action's on_counter_error outcome applies.
	ReasonCounterUnavailable Reason = "counter_unavailable"
)

// maxNameLen bounds reason, action, event and signal names.
const maxNameLen = 48

// ValidReason reports whether r is spelled as every reason is: 1 to 48
// lower-case ASCII letters, digits and '_', starting with a letter.
func ValidReason(r Reason) bool { return validName(string(r)) }

func validName(s string) bool {
	if s == "" || len(s) > maxNameLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Decision is the outcome of [Engine.Decide] for one action. Its zero
// value allows; the engine never returns one for an action it does not know.
type Decision struct {
	// Action is the action's policy: the action itself, or the pattern
	// ("admin.*") that covered it; "" when no policy covers it.
	Action string
	// Outcome is the enforced outcome. In shadow mode it is [Allow] and
	// the would-be outcome is in ShadowOutcome.
	Outcome Outcome
	// Reasons are the reasons of the rules that made the outcome what it
	// is, in policy order, each once; empty for a plain allow. The caller owns it.
	Reasons []Reason
	// Score is the sum of the weights of the weighted rules that matched.
	Score int
	// ACR and MaxAge are what a step-up must reach, for the acr_values and
	// max_age of an RFC 9470 §3 challenge; set when the policy's outcome
	// was [StepUp] (enforced, shadow, or already satisfied: SteppedUp).
	// ACR "": no acr required; MaxAge 0: no max_age.
	ACR    string
	MaxAge time.Duration
	// ACRValues, set with ACR, are the acr values that meet it: ACR and
	// every stronger level of the policy's acr_levels, weakest first, the
	// order of preference RFC 9470 §3 asks for acr_values (as
	// authz.Decision.ACRValues), so that an authorization server that
	// cannot do ACR may pick a stronger level. nil when ACR is "". The
	// caller owns the slice.
	ACRValues []string
	// SteppedUp reports that the risk called for a step-up that the
	// caller's token already satisfies (acr at least ACR, auth_time within
	// MaxAge), so the action is allowed; Reasons still says why.
	SteppedUp bool
	// Shadow reports that the action's policy is in shadow mode: Outcome
	// is [Allow], ShadowOutcome is what the policy would have decided.
	Shadow        bool
	ShadowOutcome Outcome
}

// Trace is the full evaluation of one action, from [Engine.Explain].
type Trace struct {
	// Action is the action asked about; Decision.Action is the policy that covered it.
	Action string
	// Steps are the action's rules, in policy order.
	Steps []Step
	// Windows are the velocity windows read, with their counts; a window
	// of the action's own attempts counts the attempt explained, as
	// Decide's would, though Explain stores none (its Add is 0). Their
	// Values are the caller's.
	Windows []Window
	// CounterError is the velocity counters' error, when they failed.
	CounterError error
	// Decision is what [Engine.Decide] returns for the same input.
	Decision Decision
}

// Step is one rule considered in a [Trace].
type Step struct {
	RuleID string
	// Reason is the rule's reason, reported when it matched.
	Reason Reason
	// Outcome and Weight are the rule's: a rule either decides an outcome
	// or adds its weight to the score.
	Outcome Outcome
	Weight  int
	// Matched reports whether every condition of the rule held.
	Matched bool
	// Unmet is the first condition that did not hold, by its policy key
	// ("amount_over", "velocity"), when Matched is false.
	Unmet string
}
