package httpsig

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/dunglas/httpsfv"
)

// A small RFC 8941 Dictionary parser for Signature-Input and Signature,
// built for the verifier's hot path: no maps, no interface values, strings
// as substrings of the field, byte sequences decoded into one reused
// buffer. It follows httpsfv's grammar exactly (FuzzSFDictionary checks it
// accepts and refuses the same inputs and yields the same values); for what
// it does not handle itself (decimals, dates, display strings, very many
// members or parameters) it hands the field to httpsfv and converts the
// result, and for a field it refuses it returns httpsfv's error.

// sfKind is the type of a bare item.
type sfKind uint8

const (
	sfBool sfKind = iota + 1
	sfInt
	sfString
	sfToken
	sfBytes
	sfOther // decimal, date, display string: the httpsfv value is in other
)

// sfBare is a bare item.
type sfBare struct {
	kind  sfKind
	b     bool
	i     int64
	s     string // sfString, sfToken
	bytes []byte // sfBytes
	other any    // sfOther
}

// sfParam is one parameter.
type sfParam struct {
	key string
	v   sfBare
}

// sfItem is an item with its parameters; raw is its text as received when
// the fast parser read it (empty after a fallback).
type sfItem struct {
	v      sfBare
	params []sfParam
	raw    string
}

// sfMember is one dictionary member: an item (v, params) or, when inner, an
// inner list (items, params).
type sfMember struct {
	key    string
	inner  bool
	v      sfBare
	items  []sfItem
	params []sfParam
}

// sfDict is a parsed dictionary. Its slices are reused by the next parse,
// which overwrites the members, items, parameters and byte sequences: only
// strings may be kept.
type sfDict struct {
	members []sfMember
	items   []sfItem
	params  []sfParam
	bytes   []byte
	tmp     []byte
}

// get returns the member with key k.
func (d *sfDict) get(k string) (*sfMember, bool) {
	for i := range d.members {
		if d.members[i].key == k {
			return &d.members[i], true
		}
	}
	return nil, false
}

// sfParamsGet returns the parameter k.
func sfParamsGet(ps []sfParam, k string) (sfBare, bool) {
	for i := range ps {
		if ps[i].key == k {
			return ps[i].v, true
		}
	}
	return sfBare{}, false
}

// errSFFallback is what the fast parser returns for input it leaves to
// httpsfv.
var errSFFallback = errors.New("httpsig: structured field left to httpsfv")

// sfMaxFast bounds the members of a dictionary and the parameters of one
// item or inner list the fast parser handles (it looks keys up linearly);
// beyond, httpsfv (maps) parses the field.
const sfMaxFast = 32

// parseSFDictionary parses lines as an RFC 8941 Dictionary into d, as
// httpsfv.UnmarshalDictionary does. A refusal is httpsfv's error.
func parseSFDictionary(d *sfDict, lines []string) error {
	data := strings.Join(lines, ", ")
	err := d.parseFast(data)
	if err == nil {
		return nil
	}
	hd, herr := httpsfv.UnmarshalDictionary([]string{data})
	if herr != nil {
		return herr
	}
	if !errors.Is(err, errSFFallback) {
		// Cannot happen (the fuzz target checks it); refuse anyway.
		return err
	}
	d.fromHTTPSFV(hd)
	return nil
}

// sfKeepCap bounds the capacity of each slice an sfDict keeps for the next
// parse, so that one huge field does not stay in a pool.
const sfKeepCap = 256

// trim drops the slices grown beyond sfKeepCap.
func (d *sfDict) trim() {
	if cap(d.members) > sfKeepCap {
		d.members = nil
	}
	if cap(d.items) > sfKeepCap {
		d.items = nil
	}
	if cap(d.params) > sfKeepCap {
		d.params = nil
	}
	if cap(d.bytes) > 4*sfKeepCap {
		d.bytes = nil
	}
	if cap(d.tmp) > 4*sfKeepCap {
		d.tmp = nil
	}
}

func (d *sfDict) reset() {
	d.members, d.items, d.params, d.bytes = d.members[:0], d.items[:0], d.params[:0], d.bytes[:0]
}

// sfScanner is the fast parser's state.
type sfScanner struct {
	d    *sfDict
	data string
	off  int
}

// parseFast parses data, or fails with a syntax error or errSFFallback.
func (d *sfDict) parseFast(data string) error {
	d.reset()
	s := sfScanner{d: d, data: data}
	for s.off < len(data) && data[s.off] == ' ' {
		s.off++
	}
	for s.off < len(data) {
		k, err := s.key()
		if err != nil {
			return err
		}
		var m sfMember
		if s.off < len(data) && data[s.off] == '=' {
			s.off++
			if s.off < len(data) && data[s.off] == '(' {
				m.inner = true
				if m.items, m.params, err = s.innerList(); err != nil {
					return err
				}
			} else {
				if m.v, err = s.bare(); err != nil {
					return err
				}
				if m.params, err = s.parameters(); err != nil {
					return err
				}
			}
		} else {
			m.v = sfBare{kind: sfBool, b: true}
			if m.params, err = s.parameters(); err != nil {
				return err
			}
		}
		m.key = k
		if old, ok := d.get(k); ok {
			*old = m // httpsfv: the last value, at the first position
		} else {
			if len(d.members) == sfMaxFast {
				return errSFFallback
			}
			d.members = append(d.members, m)
		}
		for s.off < len(data) && (data[s.off] == ' ' || data[s.off] == '\t') {
			s.off++
		}
		if s.off == len(data) {
			return nil
		}
		if data[s.off] != ',' {
			return httpsfv.ErrInvalidDictionaryFormat
		}
		s.off++
		for s.off < len(data) && (data[s.off] == ' ' || data[s.off] == '\t') {
			s.off++
		}
		if s.off == len(data) {
			return httpsfv.ErrInvalidDictionaryFormat
		}
	}
	return nil
}

func sfKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*'
}

func (s *sfScanner) key() (string, error) {
	if s.off == len(s.data) {
		return "", httpsfv.ErrInvalidKeyFormat
	}
	if c := s.data[s.off]; !(c >= 'a' && c <= 'z' || c == '*') {
		return "", httpsfv.ErrInvalidKeyFormat
	}
	start := s.off
	s.off++
	for s.off < len(s.data) && sfKeyChar(s.data[s.off]) {
		s.off++
	}
	return s.data[start:s.off], nil
}

// parameters parses parameters into d.params and returns them.
func (s *sfScanner) parameters() ([]sfParam, error) {
	d := s.d
	start := len(d.params)
	for s.off < len(s.data) && s.data[s.off] == ';' {
		s.off++
		for s.off < len(s.data) && s.data[s.off] == ' ' {
			s.off++
		}
		k, err := s.key()
		if err != nil {
			return nil, err
		}
		v := sfBare{kind: sfBool, b: true}
		if s.off < len(s.data) && s.data[s.off] == '=' {
			s.off++
			if v, err = s.bare(); err != nil {
				return nil, err
			}
		}
		dup := false
		for i := start; i < len(d.params); i++ {
			if d.params[i].key == k {
				d.params[i].v, dup = v, true
				break
			}
		}
		if !dup {
			if len(d.params)-start == sfMaxFast {
				return nil, errSFFallback
			}
			d.params = append(d.params, sfParam{key: k, v: v})
		}
	}
	if len(d.params) == start {
		return nil, nil
	}
	return d.params[start:len(d.params):len(d.params)], nil
}

// innerList parses an inner list, s at its "(".
func (s *sfScanner) innerList() ([]sfItem, []sfParam, error) {
	d := s.d
	s.off++
	start := len(d.items)
	for s.off < len(s.data) {
		for s.off < len(s.data) && s.data[s.off] == ' ' {
			s.off++
		}
		if s.off == len(s.data) {
			return nil, nil, httpsfv.ErrInvalidInnerListFormat
		}
		if s.data[s.off] == ')' {
			s.off++
			ps, err := s.parameters()
			if err != nil {
				return nil, nil, err
			}
			var items []sfItem
			if len(d.items) > start {
				items = d.items[start:len(d.items):len(d.items)]
			}
			return items, ps, nil
		}
		itemStart := s.off
		v, err := s.bare()
		if err != nil {
			return nil, nil, err
		}
		ps, err := s.parameters()
		if err != nil {
			return nil, nil, err
		}
		if s.off == len(s.data) || (s.data[s.off] != ')' && s.data[s.off] != ' ') {
			return nil, nil, httpsfv.ErrInvalidInnerListFormat
		}
		d.items = append(d.items, sfItem{v: v, params: ps, raw: s.data[itemStart:s.off]})
	}
	return nil, nil, httpsfv.ErrInvalidInnerListFormat
}

// bare parses a bare item.
func (s *sfScanner) bare() (sfBare, error) {
	if s.off == len(s.data) {
		return sfBare{}, httpsfv.ErrUnexpectedEndOfString
	}
	switch c := s.data[s.off]; {
	case c == '"':
		return s.str()
	case c == '?':
		s.off++
		if s.off < len(s.data) {
			switch s.data[s.off] {
			case '0':
				s.off++
				return sfBare{kind: sfBool}, nil
			case '1':
				s.off++
				return sfBare{kind: sfBool, b: true}, nil
			}
		}
		return sfBare{}, httpsfv.ErrInvalidBooleanFormat
	case c == '*' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		start := s.off
		s.off++
		for s.off < len(s.data) && sfTokenChar(s.data[s.off]) {
			s.off++
		}
		return sfBare{kind: sfToken, s: s.data[start:s.off]}, nil
	case c == ':':
		return s.binary()
	case c == '-' || c >= '0' && c <= '9':
		return s.integer()
	case c == '@' || c == '%':
		return sfBare{}, errSFFallback
	}
	return sfBare{}, httpsfv.ErrUnrecognizedCharacter
}

func sfTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~:/", c) >= 0
}

func (s *sfScanner) str() (sfBare, error) {
	s.off++
	start := s.off
	escaped := false
	for s.off < len(s.data) {
		c := s.data[s.off]
		s.off++
		switch {
		case c == '\\':
			if s.off == len(s.data) {
				return sfBare{}, httpsfv.ErrInvalidStringFormat
			}
			if n := s.data[s.off]; n != '"' && n != '\\' {
				return sfBare{}, httpsfv.ErrInvalidStringFormat
			}
			s.off++
			escaped = true
		case c == '"':
			v := s.data[start : s.off-1]
			if escaped {
				b := make([]byte, 0, len(v))
				for i := 0; i < len(v); i++ {
					if v[i] == '\\' {
						i++
					}
					b = append(b, v[i])
				}
				v = string(b)
			}
			return sfBare{kind: sfString, s: v}, nil
		case c <= 0x1f || c >= 0x7f:
			return sfBare{}, httpsfv.ErrInvalidStringFormat
		}
	}
	return sfBare{}, httpsfv.ErrInvalidStringFormat
}

func (s *sfScanner) binary() (sfBare, error) {
	s.off++
	start := s.off
	for s.off < len(s.data) {
		c := s.data[s.off]
		if c == ':' {
			d := s.d
			d.tmp = append(d.tmp[:0], s.data[start:s.off]...)
			n := len(d.bytes)
			d.bytes = append(d.bytes, make([]byte, base64.StdEncoding.DecodedLen(len(d.tmp)))...)
			m, err := base64.StdEncoding.Decode(d.bytes[n:], d.tmp)
			if err != nil {
				return sfBare{}, err
			}
			s.off++
			d.bytes = d.bytes[:n+m]
			return sfBare{kind: sfBytes, bytes: d.bytes[n : n+m : n+m]}, nil
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return sfBare{}, httpsfv.ErrInvalidBinaryFormat
		}
		s.off++
	}
	return sfBare{}, httpsfv.ErrInvalidBinaryFormat
}

func (s *sfScanner) integer() (sfBare, error) {
	neg := s.data[s.off] == '-'
	if neg {
		s.off++
	}
	if s.off == len(s.data) || s.data[s.off] < '0' || s.data[s.off] > '9' {
		return sfBare{}, httpsfv.ErrNotDigit
	}
	start := s.off
	for s.off < len(s.data) {
		c := s.data[s.off]
		if c == '.' {
			return sfBare{}, errSFFallback // a decimal
		}
		if c < '0' || c > '9' {
			break
		}
		s.off++
		if s.off-start > 15 {
			return sfBare{}, httpsfv.ErrNumberOutOfRange
		}
	}
	n, err := strconv.ParseInt(s.data[start:s.off], 10, 64)
	if err != nil {
		return sfBare{}, err
	}
	if neg {
		n = -n
	}
	return sfBare{kind: sfInt, i: n}, nil
}

// fromHTTPSFV fills d from a dictionary httpsfv parsed.
func (d *sfDict) fromHTTPSFV(hd *httpsfv.Dictionary) {
	d.reset()
	for _, k := range hd.Names() {
		mv, _ := hd.Get(k)
		m := sfMember{key: k}
		switch x := mv.(type) {
		case httpsfv.Item:
			m.v, m.params = sfBareOf(x.Value), sfParamsOf(x.Params)
		case httpsfv.InnerList:
			m.inner, m.params = true, sfParamsOf(x.Params)
			for _, it := range x.Items {
				m.items = append(m.items, sfItemOf(it))
			}
		}
		d.members = append(d.members, m)
	}
}

func sfItemOf(it httpsfv.Item) sfItem {
	return sfItem{v: sfBareOf(it.Value), params: sfParamsOf(it.Params)}
}

func sfParamsOf(p *httpsfv.Params) []sfParam {
	if p == nil {
		return nil
	}
	var ps []sfParam
	for _, k := range p.Names() {
		v, _ := p.Get(k)
		ps = append(ps, sfParam{key: k, v: sfBareOf(v)})
	}
	return ps
}

func sfBareOf(v any) sfBare {
	switch x := v.(type) {
	case bool:
		return sfBare{kind: sfBool, b: x}
	case int64:
		return sfBare{kind: sfInt, i: x}
	case string:
		return sfBare{kind: sfString, s: x}
	case httpsfv.Token:
		return sfBare{kind: sfToken, s: string(x)}
	case []byte:
		return sfBare{kind: sfBytes, bytes: x}
	}
	return sfBare{kind: sfOther, other: v}
}

// appendSFBare appends the RFC 8941 serialization of a parameter value
// (after its "="), or reports false for one it cannot write.
func appendSFBare(dst []byte, v sfBare) ([]byte, bool) {
	switch v.kind {
	case sfInt:
		return strconv.AppendInt(dst, v.i, 10), true
	case sfString:
		dst = append(dst, '"')
		for i := 0; i < len(v.s); i++ {
			if v.s[i] == '"' || v.s[i] == '\\' {
				dst = append(dst, '\\')
			}
			dst = append(dst, v.s[i])
		}
		return append(dst, '"'), true
	case sfToken:
		return append(dst, v.s...), true
	case sfBytes:
		dst = append(dst, ':')
		dst = base64.StdEncoding.AppendEncode(dst, v.bytes)
		return append(dst, ':'), true
	case sfBool:
		if v.b {
			return append(dst, "?1"...), true
		}
		return append(dst, "?0"...), true
	case sfOther:
		s, err := httpsfv.Marshal(httpsfv.NewItem(v.other))
		if err != nil {
			return dst, false
		}
		return append(dst, s...), true
	}
	return dst, false
}
