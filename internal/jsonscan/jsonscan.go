// Package jsonscan reads JSON objects strictly and without allocating.
//
// It exists for the hot path of token and proof verification, where
// encoding/json costs more than the signature check it guards and, worse for a
// security library, matches member names case-insensitively (so {"alg":..,"ALG":..}
// means different things to different parsers). jsonscan:
//
//   - accepts exactly RFC 8259 JSON: no trailing data, no comments, no NaN, no
//     control characters or invalid UTF-8 in strings, no lone surrogates;
//   - compares member names byte for byte after unescaping;
//   - rejects an object that names the same member twice;
//   - limits nesting depth.
//
// Iterate an object with [NewObject] and [Object.Next]; the iteration is complete
// and the whole input validated only when Next has returned false and Err is nil.
package jsonscan

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects accepted.
const MaxDepth = 32

// Errors. Callers wrap these in their own package's errors.
var (
	ErrSyntax    = errors.New("jsonscan: invalid JSON")
	ErrDuplicate = errors.New("jsonscan: duplicate member name")
	ErrDepth     = errors.New("jsonscan: nesting too deep")
	ErrType      = errors.New("jsonscan: unexpected JSON type")
)

// Kind is the JSON type of a value.
type Kind uint8

// The JSON types.
const (
	Invalid Kind = iota
	String
	Number
	ObjectKind
	ArrayKind
	True
	False
	Null
)

// Value is one JSON value: its kind and its raw bytes, already validated.
type Value struct {
	Kind Kind
	// Raw is the value's text, including quotes for strings. It aliases the input.
	Raw []byte
}

// maxInlineKeys members are checked for duplicates without allocating; larger
// objects fall back to a map.
const maxInlineKeys = 24

// Object iterates the members of one JSON object. The zero value is not usable;
// create one with [NewObject] or [Value.Object].
//
// The iterator keeps offsets into its input, never slices of it, so that the
// compiler can keep the input (and an Object on the stack) off the heap.
type Object struct {
	data  []byte
	pos   int
	depth int
	err   error
	done  bool
	first bool
	top   bool

	keyStart, keyEnd int
	keyAlloc         []byte // the unescaped name, when it had escapes
	valStart, valEnd int
	valKind          Kind
	seen             [maxInlineKeys][2]int32
	nseen            int
	seenMore         map[string]struct{}
}

// NewObject starts iterating data, which must hold exactly one JSON object
// surrounded by optional whitespace.
func NewObject(data []byte) Object {
	o := Object{data: data, top: true}
	o.pos = skipWS(data, 0)
	if o.pos >= len(data) || data[o.pos] != '{' {
		o.err = ErrSyntax
		return o
	}
	o.pos++
	o.first = true
	return o
}

// Next advances to the next member. It returns false at the end of the object or
// on error; check [Object.Err].
func (o *Object) Next() bool {
	if o.err != nil || o.done {
		return false
	}
	d := o.data
	i := skipWS(d, o.pos)
	if i >= len(d) {
		o.err = ErrSyntax
		return false
	}
	if d[i] == '}' {
		// Either "{}" or the end after a member: a trailing comma ("{..,}") is
		// refused below, where a name must follow the comma.
		return o.finish(i + 1)
	}
	if !o.first {
		if d[i] != ',' {
			o.err = ErrSyntax
			return false
		}
		i = skipWS(d, i+1)
		if i >= len(d) {
			o.err = ErrSyntax
			return false
		}
	}
	o.first = false
	if d[i] != '"' {
		o.err = ErrSyntax
		return false
	}
	end, escaped, err := scanString(d, i)
	if err != nil {
		o.err = err
		return false
	}
	o.keyStart, o.keyEnd, o.keyAlloc = i+1, end-1, nil
	if escaped {
		// Escaped member names are rare in honest input; they get their own
		// allocation and switch duplicate detection to a map.
		k, ok := unescape(nil, d[i+1:end-1])
		if !ok {
			o.err = ErrSyntax
			return false
		}
		o.keyAlloc = k
	}
	if err := o.remember(); err != nil {
		o.err = err
		return false
	}
	i = skipWS(d, end)
	if i >= len(d) || d[i] != ':' {
		o.err = ErrSyntax
		return false
	}
	i = skipWS(d, i+1)
	vend, kind, err := scanValue(d, i, o.depth+1)
	if err != nil {
		o.err = err
		return false
	}
	o.valStart, o.valEnd, o.valKind = i, vend, kind
	o.pos = vend
	return true
}

func (o *Object) finish(i int) bool {
	o.done = true
	if o.top {
		if skipWS(o.data, i) != len(o.data) {
			o.err = ErrSyntax
		}
	}
	o.pos = i
	return false
}

// remember records the current name and refuses a repeated one.
func (o *Object) remember() error {
	if o.seenMore == nil && o.keyAlloc == nil && o.nseen < maxInlineKeys {
		key := o.data[o.keyStart:o.keyEnd]
		for _, r := range o.seen[:o.nseen] {
			if string(o.data[r[0]:r[1]]) == string(key) {
				return ErrDuplicate
			}
		}
		o.seen[o.nseen] = [2]int32{int32(o.keyStart), int32(o.keyEnd)}
		o.nseen++
		return nil
	}
	if o.seenMore == nil {
		o.seenMore = make(map[string]struct{}, 2*maxInlineKeys)
		for _, r := range o.seen[:o.nseen] {
			o.seenMore[string(o.data[r[0]:r[1]])] = struct{}{}
		}
	}
	key := o.Key()
	if _, dup := o.seenMore[string(key)]; dup {
		return ErrDuplicate
	}
	o.seenMore[string(key)] = struct{}{}
	return nil
}

// Key is the current member's name, unescaped. It is valid until the next call to Next.
func (o *Object) Key() []byte {
	if o.keyAlloc != nil {
		return o.keyAlloc
	}
	return o.data[o.keyStart:o.keyEnd]
}

// Value is the current member's value.
func (o *Object) Value() Value { return Value{Kind: o.valKind, Raw: o.data[o.valStart:o.valEnd]} }

// Err is the first error met, or nil.
func (o *Object) Err() error { return o.err }

// Object iterates v, which must be a JSON object.
func (v Value) Object() Object {
	if v.Kind != ObjectKind {
		return Object{err: ErrType}
	}
	// v.Raw is validated and the nesting depth was checked when it was scanned.
	return Object{data: v.Raw, pos: 1, first: true, top: true}
}

// Array iterates the elements of one JSON array.
type Array struct {
	data             []byte
	pos              int
	first            bool
	done             bool
	err              error
	valStart, valEnd int
	valKind          Kind
}

// Array iterates v, which must be a JSON array.
func (v Value) Array() Array {
	if v.Kind != ArrayKind {
		return Array{err: ErrType}
	}
	return Array{data: v.Raw, pos: 1, first: true}
}

// Next advances to the next element.
func (a *Array) Next() bool {
	if a.err != nil || a.done {
		return false
	}
	d := a.data
	i := skipWS(d, a.pos)
	if i >= len(d) {
		a.err = ErrSyntax
		return false
	}
	if d[i] == ']' {
		a.done = true
		return false
	}
	if !a.first {
		if d[i] != ',' {
			a.err = ErrSyntax
			return false
		}
		i = skipWS(d, i+1)
	}
	a.first = false
	end, kind, err := scanValue(d, i, 1)
	if err != nil {
		a.err = err
		return false
	}
	a.valStart, a.valEnd, a.valKind = i, end, kind
	a.pos = end
	return true
}

// Value is the current element.
func (a *Array) Value() Value { return Value{Kind: a.valKind, Raw: a.data[a.valStart:a.valEnd]} }

// Err is the first error met, or nil.
func (a *Array) Err() error { return a.err }

// Str returns the unescaped string value, or ErrType if v is not a string.
func (v Value) Str() (string, error) {
	if v.Kind != String {
		return "", ErrType
	}
	inner := v.Raw[1 : len(v.Raw)-1]
	for _, c := range inner {
		if c == '\\' {
			b, ok := unescape(nil, inner)
			if !ok {
				return "", ErrSyntax
			}
			return string(b), nil
		}
	}
	return string(inner), nil
}

// Equal reports whether v is a string equal to s, without allocating for
// strings that hold no escapes.
func (v Value) Equal(s string) bool {
	if v.Kind != String {
		return false
	}
	inner := v.Raw[1 : len(v.Raw)-1]
	for _, c := range inner {
		if c == '\\' {
			var buf [128]byte
			b, ok := unescape(buf[:0], inner)
			return ok && string(b) == s
		}
	}
	return string(inner) == s
}

// AppendStr appends the unescaped string value to dst.
func (v Value) AppendStr(dst []byte) ([]byte, error) {
	if v.Kind != String {
		return dst, ErrType
	}
	b, ok := unescape(dst, v.Raw[1:len(v.Raw)-1])
	if !ok {
		return dst, ErrSyntax
	}
	return b, nil
}

// Float returns the value of a JSON number.
func (v Value) Float() (float64, error) {
	if v.Kind != Number {
		return 0, ErrType
	}
	f, err := strconv.ParseFloat(string(v.Raw), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, ErrSyntax
	}
	return f, nil
}

// Valid reports whether data is exactly one JSON value under jsonscan's strict rules
// (duplicate member names are checked only in objects that are iterated).
func Valid(data []byte) bool {
	i := skipWS(data, 0)
	end, _, err := scanValue(data, i, 1)
	return err == nil && skipWS(data, end) == len(data)
}

func skipWS(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanValue validates the value starting at d[i] and returns the index after it.
func scanValue(d []byte, i, depth int) (int, Kind, error) {
	if i >= len(d) {
		return 0, Invalid, ErrSyntax
	}
	switch c := d[i]; {
	case c == '"':
		end, _, err := scanString(d, i)
		return end, String, err
	case c == '{':
		if depth > MaxDepth {
			return 0, Invalid, ErrDepth
		}
		end, err := scanComposite(d, i, depth, '}')
		return end, ObjectKind, err
	case c == '[':
		if depth > MaxDepth {
			return 0, Invalid, ErrDepth
		}
		end, err := scanComposite(d, i, depth, ']')
		return end, ArrayKind, err
	case c == 't':
		return literal(d, i, "true", True)
	case c == 'f':
		return literal(d, i, "false", False)
	case c == 'n':
		return literal(d, i, "null", Null)
	case c == '-' || (c >= '0' && c <= '9'):
		end, err := scanNumber(d, i)
		return end, Number, err
	}
	return 0, Invalid, ErrSyntax
}

func literal(d []byte, i int, lit string, k Kind) (int, Kind, error) {
	if len(d)-i >= len(lit) && string(d[i:i+len(lit)]) == lit {
		return i + len(lit), k, nil
	}
	return 0, Invalid, ErrSyntax
}

// scanComposite validates an object or array starting at d[i] (its opening
// bracket). Duplicate names in nested objects are not checked here.
func scanComposite(d []byte, i, depth int, closer byte) (int, error) {
	i = skipWS(d, i+1)
	if i < len(d) && d[i] == closer {
		return i + 1, nil
	}
	for {
		if closer == '}' {
			if i >= len(d) || d[i] != '"' {
				return 0, ErrSyntax
			}
			end, _, err := scanString(d, i)
			if err != nil {
				return 0, err
			}
			i = skipWS(d, end)
			if i >= len(d) || d[i] != ':' {
				return 0, ErrSyntax
			}
			i = skipWS(d, i+1)
		}
		end, _, err := scanValue(d, i, depth+1)
		if err != nil {
			return 0, err
		}
		i = skipWS(d, end)
		if i >= len(d) {
			return 0, ErrSyntax
		}
		switch d[i] {
		case ',':
			i = skipWS(d, i+1)
		case closer:
			return i + 1, nil
		default:
			return 0, ErrSyntax
		}
	}
}

// scanString validates the string starting at d[i] (its opening quote) and
// returns the index after the closing quote and whether it holds escapes.
func scanString(d []byte, i int) (end int, escaped bool, err error) {
	i++
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(d) {
				return 0, false, ErrSyntax
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				_, n, ok := readEscapedRune(d[i:])
				if !ok {
					return 0, false, ErrSyntax
				}
				i += n
			default:
				return 0, false, ErrSyntax
			}
		case c < 0x20:
			return 0, false, ErrSyntax
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size <= 1 {
				return 0, false, ErrSyntax
			}
			i += size
		}
	}
	return 0, false, ErrSyntax
}

// readEscapedRune reads \uXXXX, or a surrogate pair \uD8XX\uDCXX, at the start of
// b. Lone surrogates are refused (RFC 7493 §2.1).
func readEscapedRune(b []byte) (rune, int, bool) {
	r1, ok := hex4(b)
	if !ok {
		return 0, 0, false
	}
	if !utf16.IsSurrogate(r1) {
		return r1, 6, true
	}
	if r1 >= 0xDC00 {
		return 0, 0, false
	}
	if len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
		return 0, 0, false
	}
	r2, ok := hex4(b[6:])
	if !ok || r2 < 0xDC00 || r2 > 0xDFFF {
		return 0, 0, false
	}
	return utf16.DecodeRune(r1, r2), 12, true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range b[2:6] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

func scanNumber(d []byte, i int) (int, error) {
	if d[i] == '-' {
		i++
	}
	if i >= len(d) {
		return 0, ErrSyntax
	}
	switch {
	case d[i] == '0':
		i++
	case d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		return 0, ErrSyntax
	}
	if i < len(d) && d[i] == '.' {
		i++
		start := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == start {
			return 0, ErrSyntax
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		start := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == start {
			return 0, ErrSyntax
		}
	}
	return i, nil
}

// unescape appends the decoded form of the validated string body s to dst.
func unescape(dst, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return dst, false
		}
		switch s[i+1] {
		case '"', '\\', '/':
			dst = append(dst, s[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n, ok := readEscapedRune(s[i:])
			if !ok {
				return dst, false
			}
			dst = utf8.AppendRune(dst, r)
			i += n
			continue
		default:
			return dst, false
		}
		i += 2
	}
	return dst, true
}
