package jose

import (
	"encoding/base64"
	"errors"
	"strings"
	"unsafe"

	"github.com/ztkit/ztkit/internal/jsonscan"
)

// Errors of compact parsing.
var (
	ErrMalformed      = errors.New("jose: malformed JWS")
	ErrUnsupportedAlg = errors.New("jose: unsupported algorithm")
)

// b64 is base64url without padding, refusing non-canonical trailing bits, so each
// token has exactly one encoding (RFC 7515 §2, §7.1).
var b64 = base64.RawURLEncoding.Strict()

// Header is the part of a JOSE header that ztkit reads.
type Header struct {
	// Alg is the algorithm; AlgNone when alg named anything ztkit does not know.
	Alg Alg
	// Typ is the typ member, or a zero Value when absent.
	Typ jsonscan.Value
	// Kid is the unescaped kid, or nil when absent.
	Kid []byte
	// Crit reports a crit member.
	Crit bool
	// EmbeddedKey reports jwk, jku, x5u, x5c, x5t or x5t#S256.
	EmbeddedKey bool
	// JWK is the jwk member, or a zero Value when absent.
	JWK jsonscan.Value
}

// TypIs reports whether typ names the media type want ("at+jwt", "dpop+jwt"),
// comparing as RFC 7515 §4.1.9 says: case-insensitively, with the "application/"
// prefix optional.
func (h *Header) TypIs(want string) bool {
	if h.Typ.Kind != jsonscan.String {
		return false
	}
	var buf [64]byte
	b, err := h.Typ.AppendStr(buf[:0])
	if err != nil {
		return false
	}
	return strings.EqualFold(trimApplication(string(b)), trimApplication(want))
}

// trimApplication removes a leading "application/", in any case.
func trimApplication(s string) string {
	const prefix = "application/"
	if len(s) > len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):]
	}
	return s
}

// JWS is a parsed compact JWS. Its slices alias one buffer owned by the JWS.
type JWS struct {
	Header Header
	// SigningInput is ASCII(BASE64URL(header) || '.' || BASE64URL(payload)).
	SigningInput []byte
	// Payload is the decoded payload.
	Payload []byte
	// Signature is the decoded signature.
	Signature []byte
}

// Parse parses a JWS in compact serialization (RFC 7515 §7.1) of at most maxSize
// bytes. It checks the syntax of all three parts and reads the header; it does
// not verify the signature. An unknown alg is [ErrUnsupportedAlg]; anything else
// wrong is [ErrMalformed].
//
// The decoded parts are written to buf when it is large enough, and to a new
// buffer otherwise; the returned JWS aliases that buffer and token. A caller
// that keeps nothing of the JWS can pass a stack array and parse without
// allocating.
func Parse(token []byte, maxSize int, buf []byte) (JWS, error) {
	var out JWS
	if len(token) == 0 || len(token) > maxSize {
		return out, ErrMalformed
	}
	d1, d2 := -1, -1
	for i, c := range token {
		if !isB64URL(c) && c != '.' {
			// Go's base64 decoders skip CR and LF even in strict mode; refuse
			// them and everything else outside the alphabet so that a token
			// has exactly one spelling.
			return out, ErrMalformed
		}
		if c == '.' {
			switch {
			case d1 < 0:
				d1 = i
			case d2 < 0:
				d2 = i
			default:
				return out, ErrMalformed // more than three parts: JWE or garbage
			}
		}
	}
	if d1 <= 0 || d2 < 0 || d2 == d1+1 || d2 == len(token)-1 {
		return out, ErrMalformed // empty header, payload or signature
	}
	hb, pb, sb := token[:d1], token[d1+1:d2], token[d2+1:]
	need := b64.DecodedLen(len(hb)) + b64.DecodedLen(len(pb)) + b64.DecodedLen(len(sb))
	if cap(buf) < need {
		buf = make([]byte, need)
	}
	buf = buf[:need]
	n, err := b64.Decode(buf, hb)
	if err != nil {
		return out, ErrMalformed
	}
	header := buf[:n:n]
	rest := buf[n:]
	if n, err = b64.Decode(rest, pb); err != nil {
		return out, ErrMalformed
	}
	out.Payload = rest[:n:n]
	rest = rest[n:]
	if n, err = b64.Decode(rest, sb); err != nil {
		return out, ErrMalformed
	}
	out.Signature = rest[:n:n]
	out.SigningInput = token[:d2:d2]
	out.Header, err = parseHeader(header)
	return out, err
}

// StringBytes returns the bytes of s without copying them. The result must
// never be modified: it is for handing a string to functions that only read
// ([Parse], hashing).
func StringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// parseHeader returns the header by value so that, escape-wise, its slices
// flow only to Parse's result.
func parseHeader(data []byte) (Header, error) {
	var h Header
	algSeen := false
	var algErr error
	o := jsonscan.NewObject(data)
	for o.Next() {
		v := o.Value()
		switch string(o.Key()) {
		case "alg":
			algSeen = true
			if v.Kind != jsonscan.String {
				algErr = ErrMalformed
				continue
			}
			h.Alg = AlgNone
			for a := ES256; a <= RS256; a++ {
				if v.Equal(a.String()) {
					h.Alg = a
					break
				}
			}
			if h.Alg == AlgNone {
				algErr = ErrUnsupportedAlg
			}
		case "typ":
			if v.Kind != jsonscan.String {
				return h, ErrMalformed
			}
			h.Typ = v
		case "kid":
			if v.Kind != jsonscan.String {
				return h, ErrMalformed
			}
			raw := v.Raw[1 : len(v.Raw)-1]
			if hasEscape(raw) {
				s, err := v.AppendStr(nil)
				if err != nil {
					return h, ErrMalformed
				}
				raw = s
			}
			h.Kid = raw
		case "crit":
			h.Crit = true
		case "jwk":
			h.EmbeddedKey = true
			h.JWK = v
		case "jku", "x5u", "x5c", "x5t", "x5t#S256":
			h.EmbeddedKey = true
		case "b64":
			// RFC 7797 unencoded payloads change what is signed; refuse them outright.
			return h, ErrMalformed
		}
	}
	if err := o.Err(); err != nil {
		return h, ErrMalformed
	}
	if !algSeen {
		return h, ErrMalformed
	}
	return h, algErr
}

func hasEscape(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

// isB64URL reports whether c is in the base64url alphabet (RFC 4648 §5).
func isB64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// Encode returns the base64url encoding (no padding) of b.
func Encode(b []byte) string { return b64.EncodeToString(b) }

// AppendEncode appends the base64url encoding (no padding) of b to dst.
func AppendEncode(dst, b []byte) []byte { return b64.AppendEncode(dst, b) }

// Decode decodes strict base64url without padding.
func Decode(s []byte) ([]byte, error) {
	for _, c := range s {
		if !isB64URL(c) {
			return nil, ErrMalformed
		}
	}
	out := make([]byte, b64.DecodedLen(len(s)))
	n, err := b64.Decode(out, s)
	if err != nil {
		return nil, ErrMalformed
	}
	return out[:n], nil
}
