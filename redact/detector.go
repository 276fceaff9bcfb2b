package redact

import (
	"bytes"
	"fmt"
)

// Detector finds one kind of sensitive value. A service adds its own with
// [WithDetectors], next to or instead of the built-in ones.
//
// A Detector must be safe for concurrent use, must not modify or retain src,
// and should run in time linear in len(src)-from: the [Redactor] calls Find
// again from the end of each match it returns.
type Detector interface {
	// Kind names what the detector finds; it selects the [Mode] and appears in
	// the replacement.
	Kind() Kind
	// Find returns the bounds of the first value to replace in src that starts
	// at or after from, with from <= start < end <= len(src), or ok false when
	// there is none. It may read src before from as context.
	Find(src []byte, from int) (start, end int, ok bool)
}

// prefixDetector finds tokens that start with one of a set of prefixes.
type prefixDetector struct {
	kind     Kind
	prefixes [][]byte
	minBody  int
}

// NewPrefixDetector returns a [Detector] of kind that finds a token made of
// one of prefixes and at least minBody more characters from [A-Za-z0-9_-],
// starting at a word boundary: the shape of most API keys (say "shop_live_").
// Each prefix must be non-empty; minBody must be at least 1 ([ErrInvalidOption]).
// kind must be a valid kind name ([ErrInvalidKind]).
func NewPrefixDetector(kind Kind, minBody int, prefixes ...string) (Detector, error) {
	if !validKindName(kind) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidKind, kind)
	}
	if minBody < 1 || len(prefixes) == 0 {
		return nil, fmt.Errorf("%w: prefix detector needs prefixes and minBody >= 1", ErrInvalidOption)
	}
	d := &prefixDetector{kind: kind, minBody: minBody}
	for _, p := range prefixes {
		if p == "" {
			return nil, fmt.Errorf("%w: empty prefix", ErrInvalidOption)
		}
		d.prefixes = append(d.prefixes, []byte(p))
	}
	return d, nil
}

// Kind returns the detector's kind.
func (d *prefixDetector) Kind() Kind { return d.kind }

// Find returns the first token at or after from. It looks at each position
// once per prefix, so a scan over a whole line is linear.
func (d *prefixDetector) Find(src []byte, from int) (int, int, bool) {
	for at := max(from, 0); at < len(src); at++ {
		if at > 0 && isB64URL(src[at-1]) {
			continue
		}
		for _, p := range d.prefixes {
			if len(src)-at >= len(p) && bytes.Equal(src[at:at+len(p)], p) {
				if e := b64End(src, at+len(p)); e-at-len(p) >= d.minBody {
					return at, e, true
				}
			}
		}
	}
	return 0, 0, false
}
