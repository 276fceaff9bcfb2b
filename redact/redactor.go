package redact

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"log/slog"
	"slices"
	"sync"
	"unsafe"
)

// Redactor finds sensitive values in text and replaces them. Build one with
// [New] at start-up and share it: it is immutable and safe for concurrent use.
//
// The zero value runs every built-in detector and masks what they find, as
// New() does; it cannot tokenise, having no key, and it scans one byte at a
// time on every CPU (see Speed in the package documentation).
type Redactor struct {
	off      uint32           // built-in detectors switched off, by index
	modes    []Mode           // by kind index; nil: all ModeMask
	names    [][]byte         // kind names by index, for tokens
	extra    []Kind           // custom kinds beyond the built-ins
	custom   []customDetector // detectors from WithDetectors
	tokenLen int              // hex digits of a token
	tokens   *sync.Pool       // of *tokenState; nil without a key
	tabs     *laneTables      // of the masked scan, on CPUs that run it; nil: the plain scan
}

type customDetector struct {
	d    Detector
	kind int
}

// tokenState is one HMAC in flight, pooled so tokenising does not allocate.
type tokenState struct {
	h    hash.Hash
	sum  [sha256.Size]byte
	norm [64]byte
}

// New returns a Redactor with every built-in detector on and every kind
// masked, adjusted by opts. It fails with [ErrUnknownKind], [ErrInvalidKind],
// [ErrUnsupportedMode], [ErrNoKey], [ErrShortKey] or [ErrInvalidOption] when
// the options do not fit together.
func New(opts ...Option) (*Redactor, error) {
	c := newConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	r := &Redactor{tokenLen: c.tokenLen}
	if detectSIMD() == simdAVX512 {
		r.tabs = newLaneTables()
	}
	for _, k := range c.off {
		i := builtinIndex(k)
		if i < 0 {
			return nil, fmt.Errorf("%w: %q is not a built-in kind", ErrUnknownKind, k)
		}
		r.off |= 1 << i
	}
	index := func(k Kind) int {
		if i := builtinIndex(k); i >= 0 {
			return i
		}
		if i := slices.Index(r.extra, k); i >= 0 {
			return numBuiltin + i
		}
		return -1
	}
	for _, d := range c.detectors {
		k := d.Kind()
		if !validKindName(k) {
			return nil, fmt.Errorf("%w: %q", ErrInvalidKind, k)
		}
		i := index(k)
		if i < 0 {
			r.extra = append(r.extra, k)
			i = numBuiltin + len(r.extra) - 1
		}
		r.custom = append(r.custom, customDetector{d: d, kind: i})
	}
	r.modes = make([]Mode, numBuiltin+len(r.extra))
	for k, m := range c.modes {
		i := index(k)
		if i < 0 {
			return nil, fmt.Errorf("%w: %q", ErrUnknownKind, k)
		}
		switch m {
		case ModeMask:
		case ModeTruncate:
			if i != kCard && i != kIBAN {
				return nil, fmt.Errorf("%w: %s for %q", ErrUnsupportedMode, m, k)
			}
		case ModeToken:
			if c.key == nil {
				return nil, fmt.Errorf("%w: %q", ErrNoKey, k)
			}
		default:
			return nil, fmt.Errorf("%w: mode %d", ErrInvalidOption, uint8(m))
		}
		r.modes[i] = m
	}
	if c.key != nil {
		r.names = make([][]byte, len(r.modes))
		for i := range r.names {
			r.names[i] = []byte(r.kindName(i))
		}
		key := c.key.bytes()
		r.tokens = &sync.Pool{New: func() any {
			return &tokenState{h: hmac.New(sha256.New, key)}
		}}
	}
	return r, nil
}

// builtinName returns the name of a built-in kind by index.
func builtinName(i int) Kind {
	switch i {
	case kCard:
		return KindCard
	case kIBAN:
		return KindIBAN
	case kEmail:
		return KindEmail
	case kPhone:
		return KindPhone
	case kJWT:
		return KindJWT
	case kSecret:
		return KindSecret
	case kURLPassword:
		return KindURLPassword
	case kVault:
		return KindVaultToken
	case kAWS:
		return KindAWSKey
	case kStripe:
		return KindStripeKey
	case kGitHub:
		return KindGitHubToken
	case kSlack:
		return KindSlackToken
	case kPrivateKey:
		return KindPrivateKey
	case kWebhook:
		return KindWebhook
	}
	return ""
}

func (r *Redactor) kindName(i int) Kind {
	if i < numBuiltin {
		return builtinName(i)
	}
	return r.extra[i-numBuiltin]
}

func (r *Redactor) mode(i int) Mode {
	if i < len(r.modes) {
		return r.modes[i]
	}
	return ModeMask
}

// Redact appends src, with every sensitive value replaced, to dst and returns
// the extended slice. When nothing in src needs replacing and dst is nil,
// Redact returns src itself, without copying or allocating; pass a non-nil dst
// (buf[:0]) to always get a copy. src is only read. Redact runs in time linear
// in len(src) (custom detectors permitting) and allocates only to grow dst.
func (r *Redactor) Redact(dst, src []byte) []byte {
	if len(r.custom) > 0 {
		ms := r.scan(src, nil, false)
		if len(ms) == 0 {
			if dst == nil {
				return src
			}
			return append(dst, src...)
		}
		return r.render(dst, src, ms, 0, len(src))
	}
	s := r.scanner(src)
	s.r, s.out = r, dst
	s.run()
	if s.found == 0 {
		if dst == nil {
			return src
		}
		return append(dst, src...)
	}
	return append(s.out, src[s.floor:]...)
}

// redactBytes returns src redacted into a new slice and true, or src and
// false when there is nothing to replace.
func (r *Redactor) redactBytes(src []byte) ([]byte, bool) {
	out := r.Redact(nil, src)
	return out, len(src) == 0 || len(out) != len(src) || &out[0] != &src[0]
}

// RedactString returns s with every sensitive value replaced. When nothing
// needs replacing it returns s itself and does not allocate.
func (r *Redactor) RedactString(s string) string {
	b := unsafe.Slice(unsafe.StringData(s), len(s)) // only read
	out := r.Redact(nil, b)
	if len(out) == len(b) && (len(b) == 0 || &out[0] == &b[0]) {
		return s
	}
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// scanner returns a scanner of src with r's detectors, on the masked scan
// when r has its tables.
func (r *Redactor) scanner(src []byte) scanner {
	s := scanner{src: src, off: r.off, tabs: r.tabs}
	if r.tabs != nil {
		s.simd = simdAVX512
	}
	return s
}

// scan appends the matches in src to ms, ordered and disjoint. With stream,
// more input follows src: a key block that src ends inside is a match,
// reported open, that runs to the end of src.
func (r *Redactor) scan(src []byte, ms []match, stream bool) []match {
	s := r.scanner(src)
	s.ms, s.stream = ms, stream
	s.run()
	ms = s.ms
	if len(r.custom) == 0 {
		return ms
	}
	nb := len(ms)
	for _, cd := range r.custom {
		for from := 0; from < len(src); {
			st, en, ok := cd.d.Find(src, from)
			if !ok {
				break
			}
			st = max(st, from)
			en = min(en, len(src))
			if en <= st {
				break
			}
			ms = append(ms, match{start: st, end: en, ctx: st, kind: cd.kind})
			from = en
		}
	}
	if len(ms) == nb {
		return ms
	}
	slices.SortFunc(ms, func(a, b match) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	out := ms[:1]
	for _, m := range ms[1:] {
		last := &out[len(out)-1]
		if m.start < last.end {
			if m.end > last.end {
				last.end = m.end
				last.merged = true
				last.open = last.open || m.open
			}
			continue
		}
		out = append(out, m)
	}
	return out
}

// render appends src[from:to] to dst with the matches in ms replaced. A match
// that starts before from is replaced from from on; matches outside
// [from, to) are skipped.
func (r *Redactor) render(dst, src []byte, ms []match, from, to int) []byte {
	dst = slices.Grow(dst, to-from+24*len(ms))
	last := from
	for _, m := range ms {
		if m.end <= from || m.start >= to {
			continue
		}
		st := max(m.start, from)
		dst = append(dst, src[last:st]...)
		dst = r.replace(dst, src[st:m.end], m.kind, m.merged || st != m.start)
		last = m.end
	}
	return append(dst, src[last:to]...)
}

// replace appends the replacement of the value v of kind i.
func (r *Redactor) replace(dst, v []byte, i int, partial bool) []byte {
	switch r.mode(i) {
	case ModeTruncate:
		if !partial {
			switch i {
			case kCard:
				return truncateCard(dst, v)
			case kIBAN:
				return truncateIBAN(dst, v)
			}
		}
	case ModeToken:
		if r.tokens != nil {
			return r.token(dst, v, i)
		}
	}
	dst = append(dst, "[REDACTED:"...)
	dst = append(dst, r.kindName(i)...)
	return append(dst, ']')
}

// token appends [kind:hex], the HMAC-SHA-256 of the kind name, a zero byte
// and the normalised value, so equal values of different kinds differ.
func (r *Redactor) token(dst, v []byte, i int) []byte {
	ts := r.tokens.Get().(*tokenState)
	ts.h.Reset()
	nb := copy(ts.norm[:], r.names[i]) // a kind name is at most 32 bytes
	ts.norm[nb] = 0
	nb++
	if i == kCard {
		var d [32]byte
		v = cardDigits(d[:0], v)
	}
	for _, c := range v {
		switch i {
		case kCard, kPhone:
			if !isDigit(c) {
				continue
			}
		case kIBAN:
			if c == ' ' || c == '-' {
				continue
			}
			if isLower(c) {
				c -= 'a' - 'A'
			}
		case kEmail:
			c = toLower(c)
		}
		ts.norm[nb] = c
		nb++
		if nb == len(ts.norm) {
			ts.h.Write(ts.norm[:])
			nb = 0
		}
	}
	ts.h.Write(ts.norm[:nb])
	sum := ts.h.Sum(ts.sum[:0])
	dst = append(dst, '[')
	dst = append(dst, r.names[i]...)
	dst = append(dst, ':')
	var hx [2 * sha256.Size]byte
	hex.Encode(hx[:], sum)
	dst = append(dst, hx[:r.tokenLen]...)
	r.tokens.Put(ts)
	return append(dst, ']')
}

// String returns [Marker]: a Redactor holds the tokenisation key.
func (r *Redactor) String() string { return Marker }

// GoString returns [Marker].
func (r *Redactor) GoString() string { return Marker }

// Format writes [Marker] for every verb.
func (r *Redactor) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Marker)) }

// LogValue returns [Marker].
func (r *Redactor) LogValue() slog.Value { return slog.StringValue(Marker) }
