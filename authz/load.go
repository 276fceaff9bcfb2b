package authz

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/ztkit/ztkit/internal/policyfile"
	"github.com/ztkit/ztkit/internal/srcloc"
)

// Parse decodes and validates a JSON policy. name is used in errors only,
// which give the line and, for rule problems, the rule's index and ID:
//
//	{
//	  "acr_levels": ["pwd", "mfa", "phr"],
//	  "rules": [
//	    {"id": "checkout-pays", "effect": "allow",
//	     "routes": ["POST /payments"],
//	     "match": {"peers": ["spiffe://shop.example/checkout"], "kind": "user",
//	               "all_scopes": ["payments:write"], "min_acr": "mfa", "binding": "dpop"}}
//	  ]
//	}
//
// Unknown and duplicate keys are errors. All errors match [ErrInvalidPolicy].
func Parse(name string, data []byte) (Policy, error) {
	p, err := parse(name, data)
	if err != nil {
		return Policy{}, err
	}
	if _, err := compile(&p); err != nil {
		return Policy{}, fieldLines(err, data, p.starts)
	}
	return p, nil
}

func parseCompile(name string, data []byte) (*compiled, error) {
	p, err := parse(name, data)
	if err != nil {
		return nil, err
	}
	c, err := compile(&p)
	if err != nil {
		return nil, fieldLines(err, data, p.starts)
	}
	return c, nil
}

func parse(name string, data []byte) (Policy, error) {
	p := Policy{file: name}
	err := policyfile.Decode(data, func(key string, dec *json.Decoder) error {
		switch key {
		case "acr_levels":
			return dec.Decode(&p.ACRLevels)
		case "shadow":
			return dec.Decode(&p.Shadow)
		case "rules":
			return policyfile.DecodeItems(dec, data, "rules", &p.Rules, &p.starts, func(r *Rule) string { return r.ID })
		}
		return fmt.Errorf("unknown key %q", key)
	})
	if err != nil {
		de := &policyfile.DecodeError{Index: -1, Err: err}
		errors.As(err, &de)
		return Policy{}, &PolicyError{File: name, Line: srcloc.Line(data, de.Offset), Index: de.Index, RuleID: de.Name, Field: de.Key, Err: syntax(de.Err)}
	}
	p.lines = make([]int, len(p.starts))
	for i, off := range p.starts {
		p.lines[i] = srcloc.Line(data, off)
	}
	return p, nil
}

// fieldLines moves each rule problem in err (the errors compile joined)
// from the line of its rule to the line of its field; see
// [policyfile.FieldLines].
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
	if errors.Is(err, ErrSyntax) || errors.Is(err, ErrInvalidMatch) || errors.Is(err, ErrInvalidEffect) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrSyntax, err)
}

// LoadFile reads and parses the JSON policy at path; see [Parse]. Files over
// 4 MiB are refused with [ErrPolicyTooLarge].
func LoadFile(path string) (Policy, error) {
	data, err := readLimited(path, 4<<20)
	if err != nil {
		return Policy{}, err
	}
	return Parse(path, data)
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("authz: %w", err)
	}
	defer f.Close()
	data, tooLarge, err := srcloc.ReadLimited(f, limit)
	if err != nil {
		return nil, fmt.Errorf("authz: %w", err)
	}
	if tooLarge {
		return nil, &PolicyError{File: path, Index: -1, Err: ErrPolicyTooLarge}
	}
	return data, nil
}
