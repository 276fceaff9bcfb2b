// Package urlpath computes the one canonical form of a request path that
// ztkit decides on: authz matches routes against it, the DPoP htu check
// (RFC 9449 §4.3 check 9) compares it, and the HTTP middleware hands it to
// the next handler, so that no two of them can read a path differently.
//
// The canonical form is the syntax-based normalization of RFC 3986 §6.2.2:
// percent-encodings are upper-cased (§6.2.2.1), those of unreserved
// characters are decoded (§6.2.2.2), characters a path may not hold raw are
// percent-encoded, and dot segments are handled (§6.2.2.3, §5.2.4) after that
// decoding, so "%2e%2E" is "..". What cannot be canonicalised, or could be
// read two ways by the servers a request may pass through, is refused with an
// error matching [ErrInvalid]:
//
//   - a path that does not start with "/" ([ErrNotAbsolute]);
//   - a malformed percent-encoding ([ErrBadEscape]);
//   - "/" or "\" encoded inside a segment (%2F, %5C) and a raw "\"
//     ([ErrEncodedSeparator]): routers disagree on whether they split there;
//   - NUL and other control characters, raw or encoded ([ErrControl]);
//   - raw space, "?" or "#", which cannot be part of a path ([ErrBadChar]);
//   - percent-encodings that do not decode to UTF-8, such as the overlong
//     "%C0%AE" some decoders read as "." ([ErrInvalidUTF8]);
//   - an encoded "%" followed by two hex digits ("%252e"), which a second
//     decoder would turn into another character ([ErrDoubleEncoding]);
//   - a segment that is a dot segment once ";" parameters are stripped
//     (".;x", "..;", "..%3B"), as some servers do ([ErrDotSegment]);
//   - in [Canonical], any dot segment and any empty segment ("//"), which
//     net/http.ServeMux and other routers resolve or redirect differently
//     ([ErrDotSegment], [ErrEmptySegment]); in [Resolve], dot segments that
//     climb above the root ([ErrAboveRoot]).
//
// A ";" is an ordinary character of a segment (RFC 3986 §3.3), as it is to
// net/http: "/a;x/b" is not "/a/b".
package urlpath

import (
	"strings"
	"unicode/utf8"
)

// pathError is a refusal; every one matches [ErrInvalid].
type pathError struct{ msg string }

func (e *pathError) Error() string { return e.msg }

// Is reports whether target is [ErrInvalid].
func (e *pathError) Is(target error) bool { return target == ErrInvalid }

// Errors. Each matches [ErrInvalid] with errors.Is.
var (
	// ErrInvalid matches every refusal of this package.
	ErrInvalid error = &pathError{"urlpath: path cannot be canonicalised"}
	// ErrNotAbsolute: the path is empty or does not start with "/".
	ErrNotAbsolute error = &pathError{"urlpath: path does not start with /"}
	// ErrBadEscape: a "%" is not followed by two hex digits.
	ErrBadEscape error = &pathError{"urlpath: invalid percent-encoding"}
	// ErrEncodedSeparator: an encoded "/" or "\" (%2F, %5C), or a raw "\".
	ErrEncodedSeparator error = &pathError{"urlpath: encoded / or \\ in a path"}
	// ErrControl: NUL or another control character, raw or percent-encoded.
	ErrControl error = &pathError{"urlpath: control character in a path"}
	// ErrBadChar: a raw space, "?" or "#".
	ErrBadChar error = &pathError{"urlpath: character not allowed in a path"}
	// ErrInvalidUTF8: the decoded path is not valid UTF-8.
	ErrInvalidUTF8 error = &pathError{"urlpath: path is not UTF-8"}
	// ErrDoubleEncoding: "%25" followed by two hex digits.
	ErrDoubleEncoding error = &pathError{"urlpath: double percent-encoding"}
	// ErrDotSegment: a dot segment where none is allowed, or a segment that
	// is one once its ";" parameters are stripped.
	ErrDotSegment error = &pathError{"urlpath: dot segment"}
	// ErrEmptySegment: an empty segment ("//") where none is allowed.
	ErrEmptySegment error = &pathError{"urlpath: empty segment"}
	// ErrAboveRoot: ".." segments climb above the root.
	ErrAboveRoot error = &pathError{"urlpath: dot segments climb above the root"}
)

// Character classes of a raw byte in a path.
const (
	cKeep    = iota // unreserved, sub-delims, ":", "@"
	cSlash          // "/"
	cPct            // "%"
	cEncode         // printable ASCII a path may not hold raw, and bytes ≥ 0x80: percent-encoded
	cControl        // C0 controls and DEL
	cRefuse         // "\", space, "?", "#"
)

var class = func() (t [256]uint8) {
	for i := range t {
		c := byte(i)
		switch {
		case c < 0x20 || c == 0x7f:
			t[i] = cControl
		case c >= 0x80:
			t[i] = cEncode
		case c == '/':
			t[i] = cSlash
		case isUnreserved(c) || strings.IndexByte("!$&'()*+,;=:@", c) >= 0:
			t[i] = cKeep
		case c == '%':
			t[i] = cPct
		case c == '\\' || c == ' ' || c == '?' || c == '#':
			t[i] = cRefuse
		default:
			t[i] = cEncode
		}
	}
	return t
}()

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Canonical returns the canonical form of the escaped request path p (as
// net/url's EscapedPath returns it) for deciding on: percent-encodings
// normalized, with no dot segment and no empty segment but a final one
// ("/a/" is kept). A path that is already canonical is returned as is,
// without allocating. Refusals match [ErrInvalid].
func Canonical(p string) (string, error) { return canonical(p, false) }

// Resolve returns the canonical form of the path of a URI, such as a DPoP
// proof's htu: like [Canonical], except that dot segments are removed as
// RFC 3986 §5.2.4 says (refusing those that climb above the root) and empty
// segments are kept. Where [Canonical] succeeds, Resolve returns the same.
func Resolve(p string) (string, error) { return canonical(p, true) }

func canonical(p string, resolve bool) (string, error) {
	if p == "" || p[0] != '/' {
		return "", ErrNotAbsolute
	}
	// One pass validates the characters and, while nothing needs
	// rewriting, the segments; a path that needs rewriting has its
	// segments checked again once normalized, since "%2E" becomes ".".
	rewrite, high, dots := false, false, false
	seg := 1 // start of the current segment
	for i := 1; i < len(p); i++ {
		c := p[i]
		k := class[c]
		if k == cKeep {
			continue
		}
		switch k {
		case cSlash:
			if !rewrite {
				switch checkSegment(p[seg:i], resolve, false) {
				case segDot:
					dots = true
				case segRefused:
					return "", segmentError(p[seg:i], resolve)
				}
			}
			seg = i + 1
		case cPct:
			if i+2 >= len(p) {
				return "", ErrBadEscape
			}
			hi, ok1 := unhex(p[i+1])
			lo, ok2 := unhex(p[i+2])
			if !ok1 || !ok2 {
				return "", ErrBadEscape
			}
			v := hi<<4 | lo
			switch {
			case v == '/' || v == '\\':
				return "", ErrEncodedSeparator
			case v < 0x20 || v == 0x7f:
				return "", ErrControl
			case v == '%' && i+4 < len(p):
				if _, ok := unhex(p[i+3]); ok {
					if _, ok := unhex(p[i+4]); ok {
						return "", ErrDoubleEncoding
					}
				}
			case v >= 0x80:
				high = true
			}
			if isUnreserved(v) || p[i+1] >= 'a' || p[i+2] >= 'a' {
				rewrite = true
			}
			i += 2
		case cEncode:
			rewrite = true
			high = high || c >= 0x80
		case cControl:
			return "", ErrControl
		default:
			if c == '\\' {
				return "", ErrEncodedSeparator
			}
			return "", ErrBadChar
		}
	}
	if rewrite {
		s := normalize(p)
		if high && !validUTF8(s) {
			return "", ErrInvalidUTF8
		}
		return segments(s, resolve)
	}
	switch checkSegment(p[seg:], resolve, true) {
	case segDot:
		dots = true
	case segRefused:
		return "", segmentError(p[seg:], resolve)
	}
	if high && !validUTF8(p) {
		return "", ErrInvalidUTF8
	}
	if dots {
		return removeDots(p)
	}
	return p, nil
}

// Outcomes of checkSegment.
const (
	segOK = iota
	segDot
	segRefused
)

// checkSegment classifies one normalized segment: a dot segment that
// resolve removes, or one refused; last says it ends the path, where an
// empty segment is allowed.
func checkSegment(seg string, resolve, last bool) int {
	switch {
	case seg == "":
		if last || resolve {
			return segOK
		}
		return segRefused
	case seg[0] != '.':
		return segOK
	case seg == "." || seg == "..":
		if resolve {
			return segDot
		}
		return segRefused
	case paramDot(seg):
		return segRefused
	}
	return segOK
}

// segmentError is the error for a segment checkSegment refused.
func segmentError(seg string, resolve bool) error {
	if seg == "" && !resolve {
		return ErrEmptySegment
	}
	return ErrDotSegment
}

// normalize rewrites a scanned path into its normalized percent-encoding.
func normalize(p string) string {
	const hexdigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p) + 8)
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch class[c] {
		case cPct:
			hi, _ := unhex(p[i+1])
			lo, _ := unhex(p[i+2])
			v := hi<<4 | lo
			if isUnreserved(v) {
				b.WriteByte(v)
			} else {
				b.WriteByte('%')
				b.WriteByte(hexdigits[v>>4])
				b.WriteByte(hexdigits[v&15])
			}
			i += 2
		case cEncode:
			b.WriteByte('%')
			b.WriteByte(hexdigits[c>>4])
			b.WriteByte(hexdigits[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// validUTF8 reports whether the normalized path s decodes to UTF-8. It
// decodes one sequence at a time and does not allocate.
func validUTF8(s string) bool {
	next := func(i int) (byte, int) {
		if s[i] == '%' {
			hi, _ := unhex(s[i+1])
			lo, _ := unhex(s[i+2])
			return hi<<4 | lo, i + 3
		}
		return s[i], i + 1
	}
	for i := 0; i < len(s); {
		var c byte
		c, i = next(i)
		if c < utf8.RuneSelf {
			continue
		}
		var buf [utf8.UTFMax]byte
		buf[0] = c
		n := 1
		for n < utf8.UTFMax && i < len(s) && !utf8.FullRune(buf[:n]) {
			buf[n], i = next(i)
			n++
		}
		if !utf8.Valid(buf[:n]) {
			return false
		}
	}
	return true
}

// segments checks the segments of the normalized path s and, when resolve
// is set, removes its dot segments.
func segments(s string, resolve bool) (string, error) {
	dots := false
	for i := 1; i <= len(s); {
		j := strings.IndexByte(s[i:], '/')
		if j < 0 {
			j = len(s) - i
		}
		seg := s[i : i+j]
		i += j + 1
		switch checkSegment(seg, resolve, i > len(s)) {
		case segDot:
			dots = true
		case segRefused:
			return "", segmentError(seg, resolve)
		}
	}
	if !dots {
		return s, nil
	}
	return removeDots(s)
}

// paramDot reports whether seg is "." or ".." followed by ";" parameters.
func paramDot(seg string) bool {
	rest := strings.TrimPrefix(strings.TrimPrefix(seg, "."), ".")
	return strings.HasPrefix(rest, ";") || strings.HasPrefix(rest, "%3B")
}

// removeDots implements RFC 3986 §5.2.4 for an absolute path, refusing ".."
// at the root instead of dropping it.
func removeDots(s string) (string, error) {
	segs := strings.Split(s[1:], "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		switch seg {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) == 0 {
				return "", ErrAboveRoot
			}
			out = out[:len(out)-1]
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/"), nil
}
