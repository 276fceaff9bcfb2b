package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	perr := func(off int64, idx int, field string, err error) error {
		return &PolicyError{File: name, Line: srcloc.Line(data, off), Index: idx, Field: field, Err: err}
	}
	if off, err := policyfile.CheckKeys(data); err != nil {
		return Policy{}, perr(off, -1, "", syntax(err))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return Policy{}, perr(dec.InputOffset(), -1, "", fmt.Errorf("%w: want a JSON object", ErrSyntax))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Policy{}, perr(dec.InputOffset(), -1, "", syntax(err))
		}
		key, _ := tok.(string)
		switch key {
		case "acr_levels":
			err = dec.Decode(&p.ACRLevels)
		case "shadow":
			err = dec.Decode(&p.Shadow)
		case "rules":
			err = p.decodeRules(dec, data)
		default:
			err = fmt.Errorf("%w: unknown key %q", ErrSyntax, key)
		}
		if err != nil {
			var pe *PolicyError
			if errors.As(err, &pe) {
				return Policy{}, err
			}
			return Policy{}, perr(dec.InputOffset(), -1, key, syntax(err))
		}
	}
	if _, err := dec.Token(); err != nil {
		return Policy{}, perr(dec.InputOffset(), -1, "", syntax(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Policy{}, perr(dec.InputOffset(), -1, "", fmt.Errorf("%w: data after the policy object", ErrSyntax))
	}
	return p, nil
}

func (p *Policy) decodeRules(dec *json.Decoder, data []byte) error {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return fmt.Errorf("%w: rules must be an array", ErrSyntax)
	}
	for dec.More() {
		start := policyfile.SkipSpace(data, dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return &PolicyError{File: p.file, Line: srcloc.Line(data, dec.InputOffset()), Index: len(p.Rules), Err: syntax(err)}
		}
		rdec := json.NewDecoder(bytes.NewReader(raw))
		rdec.DisallowUnknownFields()
		var r Rule
		if err := rdec.Decode(&r); err != nil {
			return &PolicyError{File: p.file, Line: srcloc.Line(data, start+rdec.InputOffset()), Index: len(p.Rules), RuleID: r.ID, Err: syntax(err)}
		}
		p.Rules = append(p.Rules, r)
		p.lines = append(p.lines, srcloc.Line(data, start))
		p.starts = append(p.starts, start)
	}
	_, err := dec.Token() // ]
	return err
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
