package redact

import (
	"unicode"
	"unicode/utf8"
)

// isLocalChar reports the characters this package accepts in the local part
// of an address: letters, digits and . _ % + - '. RFC 5322 allows more (= / ?
// …), but in logs they far more often join an address to what precedes it.
func isLocalChar(c byte) bool {
	return isWord(c) || c == '.' || c == '%' || c == '+' || c == '-' || c == '\''
}

func isLabelChar(c byte) bool { return isAlnum(c) || c == '-' }

// idnRune reports a non-ASCII letter, digit or mark: what an internationalised
// domain label (RFC 5890) or local part (RFC 6531) holds besides ASCII.
func idnRune(r rune) bool {
	return r >= utf8.RuneSelf && r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r))
}

// idnAt returns the length of the non-ASCII letter, digit or mark at k, or 0.
func idnAt(src []byte, k int) int {
	if k >= len(src) || src[k] < utf8.RuneSelf {
		return 0
	}
	if r, size := utf8.DecodeRune(src[k:]); idnRune(r) {
		return size
	}
	return 0
}

// atSignAt returns the length of the '@' at k: 1, 3 for its URL encoding %40,
// 6 for its JSON escape \u0040, or 0.
func atSignAt(src []byte, k int) int {
	switch {
	case k >= len(src):
		return 0
	case src[k] == '@':
		return 1
	case hasPrefixAt(src, k, "%40"):
		return 3
	case hasPrefixAt(src, k, "\\u0040"):
		return 6
	}
	return 0
}

// emailAt matches an address around the '@' (or its encoding, atLen bytes)
// at at: a local part of at most 64 characters that starts at or after
// floor, and a domain of at least two labels whose last is two or more
// letters, or an A-label (xn--…), at most 253 characters. Labels and the
// local part may hold non-ASCII letters (RFC 5890, RFC 6531). A file name
// with a display scale (icon@2x.png) is no address. It returns the bounds,
// or end -1.
func emailAt(src []byte, at, atLen, floor int) (start, end int) {
	n := len(src)
	j := at
	for j > floor && at-j < 64 {
		if isLocalChar(src[j-1]) {
			j--
			continue
		}
		if src[j-1] >= utf8.RuneSelf {
			if r, size := utf8.DecodeLastRune(src[floor:j]); idnRune(r) {
				j -= size
				continue
			}
		}
		break
	}
	if j > floor && at-j >= 64 && isLocalChar(src[j-1]) {
		return 0, -1 // local part longer than 64
	}
	for j < at && (src[j] == '.' || src[j] == '-' || src[j] == '+' || src[j] == '\'') {
		j++
	}
	if j == at || src[at-1] == '.' {
		return 0, -1
	}
	k := at + atLen
	labels, lastStart := 0, 0
	for k < n && k-at <= 253 {
		ls := k
		for k < n {
			if isLabelChar(src[k]) {
				k++
			} else if src[k] < utf8.RuneSelf {
				break
			} else if l := idnAt(src, k); l > 0 {
				k += l
			} else {
				break
			}
		}
		if k == ls || src[ls] == '-' || src[k-1] == '-' {
			return 0, -1
		}
		labels++
		lastStart = ls
		if k+1 < n && src[k] == '.' && (isLabelChar(src[k+1]) || idnAt(src, k+1) > 0) {
			k++
			continue
		}
		break
	}
	if labels < 2 || k-at > 254 || (k < n && (isWord(src[k]) || src[k] == '@')) {
		return 0, -1
	}
	if scaleAt(src[at+atLen : k]) {
		return 0, -1
	}
	if !topLabel(src[lastStart:k]) {
		return 0, -1
	}
	return j, k
}

// topLabel reports whether l can be the last label of a domain: two or more
// letters, or an A-label (xn--…, RFC 5890).
func topLabel(l []byte) bool {
	if len(l) >= 5 && (l[0]|0x20) == 'x' && (l[1]|0x20) == 'n' && l[2] == '-' && l[3] == '-' {
		return true
	}
	letters := 0
	for k := 0; k < len(l); {
		if isLetter(l[k]) {
			k++
			letters++
			continue
		}
		r, size := utf8.DecodeRune(l[k:])
		if r < utf8.RuneSelf || !unicode.IsLetter(r) && !unicode.IsMark(r) {
			return false
		}
		k += size
		letters++
	}
	return letters >= 2
}

// scaleAt reports whether the domain d starts with the display scale of an
// image file name, a number and an x in either case (icon@2x.png,
// logo@3X.webp, avatar@1.5x.jpg): its first label, or its first two when
// the number has a fraction. Such a name is no address.
func scaleAt(d []byte) bool {
	k := digitsAt(d, 0)
	if k == 0 {
		return false
	}
	if k+1 < len(d) && d[k] == '.' && isDigit(d[k+1]) {
		k += 1 + digitsAt(d, k+1)
	}
	return k < len(d) && d[k]|0x20 == 'x' && (k+1 == len(d) || d[k+1] == '.')
}
