package httpsig

import "strings"

// The query of a request, parsed as RFC 9421 §2.2.8 asks: as
// application/x-www-form-urlencoded (WHATWG URL §5.1), names and values
// percent-decoded, "+" read as a space, then encoded again with the
// application/x-www-form-urlencoded percent-encode set, a space as %20.

// queryParam returns the re-encoded value of the query parameter whose
// re-encoded name is name. found is false when no parameter has the name;
// dup is true when more than one has it (§2.2.8: it then cannot be signed).
func queryParam(rawQuery, name string) (value string, found, dup bool) {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if encodeQueryPart(decodeQueryPart(k)) != name {
			continue
		}
		if found {
			return "", true, true
		}
		value, found = encodeQueryPart(decodeQueryPart(v)), true
	}
	return value, found, false
}

// decodeQueryPart percent-decodes s, reading "+" as a space. A "%" not
// followed by two hex digits stays as it is (WHATWG URL §1.3 percent-decode).
func decodeQueryPart(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// encodeQueryPart percent-encodes every byte of s but ASCII letters, digits
// and "*-._" (the application/x-www-form-urlencoded percent-encode set),
// a space included, as %20.
func encodeQueryPart(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !queryUnreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if queryUnreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

func queryUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '*' || c == '-' || c == '.' || c == '_'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
