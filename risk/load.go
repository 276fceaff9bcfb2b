package risk

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/ztkit/ztkit/internal/policyfile"
	"github.com/ztkit/ztkit/internal/srcloc"
)

// Parse decodes and validates a JSON policy. name is used in errors only,
// which give the line and, for action problems, the action's index and
// name and the field:
//
//	{
//	  "acr_levels": ["pwd", "mfa"],
//	  "actions": [
//	    {"action": "checkout",
//	     "step_up": {"acr": "mfa", "max_age": "10m"},
//	     "step_up_at": 50, "deny_at": 100, "on_counter_error": "step_up",
//	     "rules": [
//	       {"id": "new-device", "reason": "new_device", "when": {"new_device": true}, "weight": 30},
//	       {"id": "big", "reason": "amount_over_limit", "when": {"amount_over": {"eur": 100000}}, "weight": 30},
//	       {"id": "card-testing", "reason": "velocity_card", "outcome": "deny",
//	        "when": {"velocity": {"event": "payment_failed", "key": "card", "window": "10m", "over": 3}}}
//	     ]}
//	  ]
//	}
//
// Unknown keys, duplicate keys and keys not in lower case are errors, as
// in authz policies. All errors match [ErrInvalidPolicy].
func Parse(name string, data []byte) (Policy, error) {
	p, err := parse(name, data)
	if err != nil {
		return Policy{}, err
	}
	if _, err := compile(&p.Policy); err != nil {
		return Policy{}, fieldLines(err, data, p.starts)
	}
	return p.Policy, nil
}

// parsed is a Policy with where its actions start in the file.
type parsed struct {
	Policy
	starts []int64
}

func parseCompile(name string, data []byte) (*compiled, error) {
	p, err := parse(name, data)
	if err != nil {
		return nil, err
	}
	c, err := compile(&p.Policy)
	if err != nil {
		return nil, fieldLines(err, data, p.starts)
	}
	return c, nil
}

func parse(name string, data []byte) (parsed, error) {
	p := parsed{Policy: Policy{file: name}}
	err := policyfile.Decode(data, func(key string, dec *json.Decoder) error {
		switch key {
		case "acr_levels":
			return dec.Decode(&p.ACRLevels)
		case "actions":
			return policyfile.DecodeItems(dec, data, "actions", &p.Actions, &p.starts, func(a *ActionPolicy) string { return a.Action })
		}
		return fmt.Errorf("unknown key %q", key)
	})
	if err != nil {
		de := &policyfile.DecodeError{Index: -1, Err: err}
		errors.As(err, &de)
		return parsed{}, &PolicyError{File: name, Line: srcloc.Line(data, de.Offset), Index: de.Index, Action: de.Name, Field: de.Key, Err: syntax(de.Err)}
	}
	return p, nil
}

// fieldLines moves each action problem in err to the line of its field.
func fieldLines(err error, data []byte, starts []int64) error {
	return policyfile.FieldLines(err, data, starts, func(e error) (int, string, *int) {
		pe, ok := e.(*PolicyError)
		if !ok {
			return -1, "", nil
		}
		return pe.Index, pe.Field, &pe.Line
	})
}

func syntax(err error) error {
	if errors.Is(err, ErrSyntax) || errors.Is(err, ErrInvalidRule) || errors.Is(err, ErrInvalidCondition) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrSyntax, err)
}

// LoadFile reads and parses the JSON policy at path; see [Parse]. Files
// over 4 MiB are refused with [ErrPolicyTooLarge].
func LoadFile(path string) (Policy, error) {
	data, err := readLimited(path, defaultMaxSize)
	if err != nil {
		return Policy{}, err
	}
	return Parse(path, data)
}

const defaultMaxSize = 4 << 20

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("risk: %w", err)
	}
	defer f.Close()
	data, tooLarge, err := srcloc.ReadLimited(f, limit)
	if err != nil {
		return nil, fmt.Errorf("risk: %w", err)
	}
	if tooLarge {
		return nil, &PolicyError{File: path, Index: -1, Err: ErrPolicyTooLarge}
	}
	return data, nil
}
