package risk

import (
	"fmt"
	"strconv"
	"time"
)

// Policy is a risk policy: for each action a service declares, the rules
// that score one attempt at it. Decode it from JSON with [Parse] or
// [LoadFile], or build it in Go; [New] validates it.
type Policy struct {
	// ACRLevels orders acr values from weakest to strongest, as authz's
	// acr_levels do; step_up.acr and acr_below name values from it. Each
	// is printable ASCII without space, '"' or '\', so that a step-up
	// challenge can carry it in acr_values (RFC 9470 §3).
	ACRLevels []string `json:"acr_levels,omitempty"`
	// Actions are the action policies. An action not covered is denied
	// with [ReasonUnknownAction].
	Actions []ActionPolicy `json:"actions"`

	file string // for errors
}

// ActionPolicy decides one action, or every action under a pattern.
type ActionPolicy struct {
	// Action is the action's name, dot-separated lower-case segments
	// ("checkout", "payment_method.add"), or a pattern ending in ".*"
	// ("admin.*") that covers every action under that prefix. An exact
	// name wins over a pattern, a longer pattern over a shorter one.
	Action string `json:"action"`
	// Shadow puts the action in shadow mode: decided, logged and counted,
	// but always allowed (see [Decision.Shadow]).
	Shadow bool `json:"shadow,omitempty"`
	// StepUp is what a step-up must reach. Required when a rule, the
	// step_up_at threshold or on_counter_error can ask for a step-up.
	StepUp StepUpRequirement `json:"step_up,omitzero"`
	// StepUpAt and DenyAt are score thresholds: a score at or above
	// DenyAt denies, at or above StepUpAt steps up. 0: no threshold. When
	// both are set DenyAt must be higher.
	StepUpAt int `json:"step_up_at,omitempty"`
	DenyAt   int `json:"deny_at,omitempty"`
	// OnCounterError is the outcome, [StepUp] or [Deny], when the velocity
	// counters fail; required when a rule has a velocity condition, so
	// that an outage never silently allows. Like any step-up, a step_up
	// fallback lets through a token that already meets StepUp; choose deny
	// for an action that must stop while its counts are unknown.
	OnCounterError Outcome `json:"on_counter_error,omitempty"`
	// Rules are evaluated in order, all of them (the decision is their
	// combination, not the first match).
	Rules []Rule `json:"rules"`
}

// StepUpRequirement is what a step-up asks for: at least ACR, and an
// authentication no older than MaxAge (RFC 9470 acr_values and max_age).
type StepUpRequirement struct {
	ACR    string   `json:"acr,omitempty"`
	MaxAge Duration `json:"max_age,omitempty"`
}

// Rule is one risk check: when every condition in When holds, it reports
// its Reason and either decides an Outcome ([StepUp] or [Deny]) or adds
// its Weight to the score.
type Rule struct {
	// ID names the rule in traces; unique within its action.
	ID string `json:"id"`
	// Reason is reported when the rule matches; see [ValidReason].
	Reason Reason `json:"reason"`
	// When holds the conditions, all of which must hold; at least one.
	When Conditions `json:"when"`
	// Outcome, StepUp or Deny, is decided when the rule matches; or
	// Weight, 1 to 1000, is added to the score. Exactly one is set.
	Outcome Outcome `json:"outcome,omitempty"`
	Weight  int     `json:"weight,omitempty"`
}

// Conditions are a rule's conditions; an unset one is not checked. Each
// says what a missing signal counts as. The [Check] conditions are written
// true or left out: false is refused, since {"new_device": false} would
// read as "a known device" and check nothing.
type Conditions struct {
	// NewDevice (only true): the caller's DPoP key is not in
	// History.Devices, or the token has no DPoP key.
	NewDevice Check `json:"new_device,omitempty"`
	// NewCustomer (only true): History.Orders is 0.
	NewCustomer Check `json:"new_customer,omitempty"`
	// NewPaymentMethod and NewShippingAddress (only true): the signal is set.
	NewPaymentMethod   Check `json:"new_payment_method,omitempty"`
	NewShippingAddress Check `json:"new_shipping_address,omitempty"`
	// Unbound (only true): the token is not sender-constrained (no DPoP,
	// no mTLS binding), or there is no principal.
	Unbound Check `json:"unbound,omitempty"`
	// AmountOver maps lower-case currency codes to limits in minor units:
	// it holds when Amount is above the limit of its currency, or when
	// the currency has no limit here (an unknown currency fails closed).
	AmountOver map[string]int64 `json:"amount_over,omitempty"`
	// AmountOverHistory holds when Amount is above this factor times
	// History.MaxAmount (so always, for a positive amount and no history).
	AmountOverHistory float64 `json:"amount_over_history,omitempty"`
	// AuthOlderThan holds when auth_time is missing or more than this long
	// ago (exactly this long ago does not hold).
	AuthOlderThan Duration `json:"auth_older_than,omitempty"`
	// ACRBelow holds when acr is missing, unknown to acr_levels or below this level.
	ACRBelow string `json:"acr_below,omitempty"`
	// Velocity holds when its window counts more than Over events.
	Velocity *Velocity `json:"velocity,omitempty"`
	// TravelOverKmh holds when the speed from Signals.LastLocation to
	// Signals.Location is above this many km/h; it does not hold when
	// either location is unknown.
	TravelOverKmh float64 `json:"travel_over_kmh,omitempty"`
	// Number holds when the service-defined number is above Over; it does
	// not hold when the service did not supply it.
	Number *NumberCondition `json:"number,omitempty"`
	// Flag holds when the service-defined flag of this name is true.
	Flag string `json:"flag,omitempty"`
}

// Velocity is a velocity condition: more than Over events named Event,
// for the same Key, within the sliding Window.
type Velocity struct {
	// Event is what is counted: an action's policy name (each
	// [Engine.Decide] of it counts one attempt) or an event the service
	// reports with [Engine.Record] ("payment_failed", "login_failed").
	// Attempts at an action a pattern covers count under the pattern
	// ("admin.*"), so a name only a pattern covers ("admin.refund") is
	// refused: nothing would count it.
	Event string `json:"event"`
	// Key is what the events are counted per.
	Key Key `json:"key"`
	// Window is the sliding window's length, up to 7 days.
	Window Duration `json:"window"`
	// Over is the most events that do not trigger the condition. The
	// count includes the attempt being decided when Event is its action.
	// A window whose key is missing from the signals (no card, no IP)
	// counts nothing and does not hold.
	Over int64 `json:"over"`
}

// NumberCondition compares a service-defined number.
type NumberCondition struct {
	Name string  `json:"name"`
	Over float64 `json:"over"`
}

// Key is what a velocity window counts per.
type Key uint8

// Keys.
const (
	// KeyCustomer: per Signals.Customer (or the principal's subject).
	KeyCustomer Key = iota + 1
	// KeyCard: per Signals.Card, the card fingerprint.
	KeyCard
	// KeyDevice: per DPoP key thumbprint.
	KeyDevice
	// KeyIP: per IP prefix of Signals.IP.
	KeyIP
	// KeyClient: per OAuth client_id of the access token. Rate limits
	// only ([Limit]); velocity rules count per the four keys above.
	KeyClient
	// KeyWorkload: per SPIFFE ID of the calling workload (the mTLS peer or
	// the JWT-SVID). Rate limits only ([Limit]).
	KeyWorkload
)

var keyNames = [...]string{KeyCustomer: "customer", KeyCard: "card", KeyDevice: "device", KeyIP: "ip",
	KeyClient: "client", KeyWorkload: "workload"}

// String returns "customer", "card", "device", "ip", "client" or "workload".
func (k Key) String() string {
	if k >= KeyCustomer && int(k) < len(keyNames) {
		return keyNames[k]
	}
	return fmt.Sprintf("key(%d)", uint8(k))
}

// MarshalText encodes k as its String.
func (k Key) MarshalText() ([]byte, error) {
	if k < KeyCustomer || int(k) >= len(keyNames) {
		return nil, fmt.Errorf("%w: %s", ErrInvalidCondition, k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText parses "customer", "card", "device", "ip", "client" or
// "workload".
func (k *Key) UnmarshalText(b []byte) error {
	for i, n := range keyNames {
		if i > 0 && n == string(b) {
			*k = Key(i)
			return nil
		}
	}
	return fmt.Errorf("%w: key %q: want customer, card, device, ip, client or workload", ErrInvalidCondition, b)
}

// Duration is a time.Duration written as "15m" or "1h30m" in policy
// files, as in authz policies.
type Duration time.Duration

// MarshalText encodes d in time.Duration.String form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses a time.ParseDuration string; negative values are rejected.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v < 0 {
		return fmt.Errorf("%w: duration %s: want a non-negative Go duration such as \"15m\"", ErrInvalidCondition, strconv.Quote(string(b)))
	}
	*d = Duration(v)
	return nil
}

// Check turns on a yes/no condition of [Conditions]. In a policy file it
// is true or absent; false is refused.
type Check bool

// UnmarshalJSON accepts true only.
func (c *Check) UnmarshalJSON(b []byte) error {
	if string(b) != "true" {
		return fmt.Errorf("%w: want true, or leave the condition out", ErrInvalidCondition)
	}
	*c = true
	return nil
}
