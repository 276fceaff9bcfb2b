// Package policyfile holds what ztkit's policy files share: strict JSON
// checks (duplicate and non-canonical keys refused), the line of a field
// for error messages, and [Store], which holds the current compiled policy,
// swaps in new ones atomically, keeps the last good one on error and polls a
// file for changes. Packages authz and risk build their engines on it; each
// keeps its own syntax, errors and log messages.
package policyfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/ztkit/ztkit/internal/srcloc"
)

// ErrKey: a key is repeated in one object or is not in canonical form.
// Callers wrap it in their own syntax error.
var ErrKey = errors.New("bad key")

// CheckKeys walks the JSON document data and reports the offset of the
// first repeated key in any object: encoding/json would silently keep the
// last, which would let a reviewer read one value while the engine enforces
// another. It also refuses a key that is not in canonical form (lower-case
// ASCII letters, digits and '_'): encoding/json matches field names
// case-insensitively (with Unicode folding: "ſ" is "s"), so
// {"effect": "allow", "EFFECT": "forbid"} would otherwise pass the duplicate
// check and enforce the second. A JSON syntax error is returned as is, with
// its offset; a key error wraps [ErrKey].
func CheckKeys(data []byte) (int64, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // next token in an object is a key
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return 0, nil
		}
		if err != nil {
			return dec.InputOffset(), err
		}
		if len(stack) > 0 && stack[len(stack)-1].obj {
			f := &stack[len(stack)-1]
			if f.key {
				if d, ok := tok.(json.Delim); ok && d == '}' {
					stack = stack[:len(stack)-1]
					continue
				}
				k, _ := tok.(string)
				if !CanonicalKey(k) {
					return dec.InputOffset(), fmt.Errorf("%w %q: keys are lower case ASCII letters, digits and '_'", keyErr{"key"}, k)
				}
				if f.keys[k] {
					return dec.InputOffset(), fmt.Errorf("%w %q", keyErr{"duplicate key"}, k)
				}
				f.keys[k] = true
				f.key = false
				continue
			}
			f.key = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{obj: true, keys: map[string]bool{}, key: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

// keyErr prints its text and matches ErrKey, so that messages read
// `duplicate key "x"` rather than `bad key: duplicate key "x"`.
type keyErr struct{ s string }

func (e keyErr) Error() string        { return e.s }
func (e keyErr) Is(target error) bool { return target == ErrKey }

// CanonicalKey reports whether k is spelled as every key of a policy file
// is: lower-case ASCII letters, digits and underscores.
func CanonicalKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// SkipSpace returns the offset of the first byte at or after off that is
// not white space or a separator.
func SkipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) && bytes.IndexByte([]byte(" \t\r\n,:"), data[off]) >= 0 {
		off++
	}
	return off
}

// FieldLine returns the line of the value at path ("id", "routes[1]",
// "match.min_acr") in the JSON value that starts at offset start of data,
// or 0 when it is not there. It is meant for the error path only: it
// re-reads the value's text.
func FieldLine(data []byte, start int64, path string) int {
	type frame struct {
		path  string
		obj   bool
		index int
	}
	if start < 0 || start > int64(len(data)) {
		return 0
	}
	dec := json.NewDecoder(bytes.NewReader(data[start:]))
	var stack []frame
	key := ""
	for {
		off := SkipSpace(data, start+dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return 0
		}
		p := ""
		if n := len(stack); n > 0 {
			f := &stack[n-1]
			if f.obj {
				if k, ok := tok.(string); ok && key == "" {
					key = k // a key; its value comes next
					continue
				}
				if d, ok := tok.(json.Delim); ok && d == '}' {
					if stack = stack[:n-1]; len(stack) == 0 {
						return 0
					}
					continue
				}
				p = key
				if f.path != "" {
					p = f.path + "." + key
				}
				key = ""
			} else {
				if d, ok := tok.(json.Delim); ok && d == ']' {
					stack = stack[:n-1]
					continue
				}
				p = f.path + "[" + strconv.Itoa(f.index) + "]"
				f.index++
			}
			if p == path {
				return srcloc.Line(data, off)
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{path: p, obj: true})
		case json.Delim('['):
			stack = append(stack, frame{path: p})
		}
	}
}

// FieldLines moves each located problem in err (or in the errors it joins)
// to the line of its field, or, when it has none or the field is not in
// the text (a missing key), to its item's line if it has no line yet: loc says, for one
// error, the index of its item (whose text starts at starts[index] in data)
// and the field's path within it, and returns where to write the line; it
// returns a nil line for an error it does not locate. It runs only when a
// policy is refused, so parsing does no such work for a valid one.
func FieldLines(err error, data []byte, starts []int64, loc func(error) (index int, field string, line *int)) error {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		index, field, line := loc(e)
		if line == nil || index < 0 || index >= len(starts) {
			continue
		}
		if l := FieldLine(data, starts[index], field); field != "" && l > 0 {
			*line = l
		} else if *line == 0 {
			*line = srcloc.Line(data, SkipSpace(data, starts[index]))
		}
	}
	return err
}
