package digest

import (
	"fmt"

	"github.com/dunglas/httpsfv"
)

// Parse parses the field lines of a Content-Digest or Repr-Digest field (RFC
// 9530 §2, §3), as [net/http.Header.Values] returns them, into its members in
// field order.
//
// Parse fails with [ErrMissing] if there is no line or all lines are empty,
// and with [ErrMalformed] if the lines together exceed [MaxFieldLength] bytes,
// are not a Dictionary (RFC 8941 §3.2), have more than [MaxMembers] members,
// have a member whose value is not a Byte Sequence, or a supported member
// whose value is not as long as its algorithm's digest. Parameters on members
// are ignored. A key given twice keeps its last value (RFC 8941 §4.2.2).
// Members with unsupported algorithms are returned as they are: it is
// [Digests.Verify] that ignores them.
func Parse(lines ...string) (Digests, error) {
	dict, err := parseDict(lines)
	if err != nil {
		return nil, err
	}
	names := dict.Names()
	out := make(Digests, 0, len(names))
	for _, name := range names {
		m, _ := dict.Get(name)
		item, ok := m.(httpsfv.Item)
		if !ok {
			return nil, fmt.Errorf("%w: member %q is an inner list", ErrMalformed, sanitize(name))
		}
		sum, ok := item.Value.([]byte)
		if !ok {
			return nil, fmt.Errorf("%w: member %q is not a byte sequence", ErrMalformed, sanitize(name))
		}
		a := Algorithm(name)
		if a.Supported() && len(sum) != a.Size() {
			return nil, fmt.Errorf("%w: %s value has %d bytes, want %d", ErrMalformed, a, len(sum), a.Size())
		}
		out = append(out, Digest{Algorithm: a, Sum: sum})
	}
	return out, nil
}

// parseDict bounds and parses a Dictionary; it fails with ErrMissing when the
// lines are empty.
func parseDict(lines []string) (*httpsfv.Dictionary, error) {
	total, empty := 0, true
	for _, l := range lines {
		total += len(l)
		if total > MaxFieldLength {
			return nil, fmt.Errorf("%w: field longer than %d bytes", ErrMalformed, MaxFieldLength)
		}
		for i := 0; i < len(l) && empty; i++ {
			if l[i] != ' ' && l[i] != '\t' {
				empty = false
			}
		}
	}
	if empty {
		return nil, ErrMissing
	}
	dict, err := httpsfv.UnmarshalDictionary(lines)
	if err != nil {
		// The httpsfv error names the syntax rule, never the input.
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if n := len(dict.Names()); n > MaxMembers {
		return nil, fmt.Errorf("%w: %d members, at most %d", ErrMalformed, n, MaxMembers)
	}
	return dict, nil
}

// Preference is one member of a Want-Content-Digest or Want-Repr-Digest field
// (RFC 9530 §4): an algorithm and its weight, from 0 (not acceptable) to 10
// (most preferred).
type Preference struct {
	// Algorithm is the member's key.
	Algorithm Algorithm
	// Weight is the member's value, 0 to 10.
	Weight int
}

// ParseWant parses the field lines of a Want-Content-Digest or
// Want-Repr-Digest field (RFC 9530 §4) into its members in field order,
// including those with unsupported algorithms. It fails with [ErrMissing]
// when there is no line and with [ErrMalformed] when the field is not a
// Dictionary of Integers from 0 to 10 or exceeds [MaxFieldLength] or
// [MaxMembers].
func ParseWant(lines ...string) ([]Preference, error) {
	dict, err := parseDict(lines)
	if err != nil {
		return nil, err
	}
	names := dict.Names()
	out := make([]Preference, 0, len(names))
	for _, name := range names {
		m, _ := dict.Get(name)
		item, ok := m.(httpsfv.Item)
		if !ok {
			return nil, fmt.Errorf("%w: member %q is an inner list", ErrMalformed, sanitize(name))
		}
		w, ok := item.Value.(int64)
		if !ok || w < 0 || w > 10 {
			return nil, fmt.Errorf("%w: member %q is not an integer from 0 to 10", ErrMalformed, sanitize(name))
		}
		out = append(out, Preference{Algorithm: Algorithm(name), Weight: int(w)})
	}
	return out, nil
}

// Choose returns the supported algorithm a sender should use to answer a
// Want- field with these preferences: the one with the highest non-zero
// weight, the stronger on a tie. It returns false when no supported algorithm
// has a non-zero weight, in which case the sender may send no digest or one
// with [SHA256] (RFC 9530 §4 makes the field a hint, not a requirement).
func Choose(prefs []Preference) (Algorithm, bool) {
	var best Preference
	for _, p := range prefs {
		if !p.Algorithm.Supported() || p.Weight <= 0 {
			continue
		}
		if p.Weight > best.Weight || (p.Weight == best.Weight && p.Algorithm.strength() > best.Algorithm.strength()) {
			best = p
		}
	}
	return best.Algorithm, best.Algorithm != ""
}
