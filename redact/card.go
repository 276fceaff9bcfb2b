package redact

// cardAt returns the end of the longest payment card number that starts at
// the digit group at g, or -1. A number is one group of 12 to 19 digits, or
// groups of 3 to 6 digits joined by separators ([cardSepAt]), as people and
// encoders write them: 4111 1111 1111 1111, 3782-822463-10005,
// 4111.1111.1111.1111, 4111%201111%201111%201111; a digit may be escaped
// as JSON writes it (\u0034). It must pass the Luhn check and fall in an
// issuer range with a length that issuer uses.
func cardAt(src []byte, g int) int {
	var d [19]byte
	nd := 0
	best := -1
	for j, groups := g, 0; ; groups++ {
		ge, glen := groupAt(src, j)
		if glen == 0 || nd+glen > 19 {
			break
		}
		sl := 1
		if c := src[min(ge, len(src)-1)]; ge+1 >= len(src) || c != ' ' && c != '-' && c != '.' || !isDigit(src[ge+1]) {
			sl = cardSepAt(src, ge) // past the common case of one space, dash or dot
		}
		next := sl > 0 && digitUnit(src, ge+sl) > 0
		if multi := groups > 0 || next; multi && (glen < 3 || glen > 6) {
			if groups == 0 && glen >= 12 {
				// a whole number followed by more digits: try it alone
				groupDigits(d[:glen], src, j, ge)
				if cardEndOK(src, ge) && validCard(d[:glen]) {
					return ge
				}
			}
			break
		}
		groupDigits(d[nd:nd+glen], src, j, ge)
		nd += glen
		if nd >= 12 && cardEndOK(src, ge) && validCard(d[:nd]) {
			best = ge
		}
		if !next {
			break
		}
		j = ge + sl
	}
	return best
}

// digitUnit returns the length of the digit at k: 1 for a digit, 6 for one
// escaped as JSON writes it (\u0030 to \u0039), 0 for none.
func digitUnit(src []byte, k int) int {
	if k >= len(src) {
		return 0
	}
	if isDigit(src[k]) {
		return 1
	}
	if src[k] == '\\' && hasPrefixAt(src, k, "\\u003") && k+5 < len(src) && isDigit(src[k+5]) {
		return 6
	}
	return 0
}

// groupAt returns the end of the run of digits, plain or escaped, at k and
// how many digits it holds.
func groupAt(src []byte, k int) (end, digits int) {
	d := digitsAt(src, k)
	if j := k + d; j >= len(src) || src[j] != '\\' {
		return j, d
	}
	return escapedGroupAt(src, k)
}

// escapedGroupAt is groupAt for a run that holds escaped digits; it counts
// at most 20.
func escapedGroupAt(src []byte, k int) (end, digits int) {
	for digits < 20 {
		u := digitUnit(src, k)
		if u == 0 {
			break
		}
		k += u
		digits++
	}
	return k, digits
}

// groupDigits fills d with the len(d) digits of src[k:e], a run of plain
// or escaped digits.
func groupDigits(d, src []byte, k, e int) {
	if e-k == len(d) {
		copy(d, src[k:e])
		return
	}
	escapedDigits(d, src, k, e)
}

func escapedDigits(d, src []byte, k, e int) {
	for i := 0; k < e && i < len(d); i++ {
		u := digitUnit(src, k)
		d[i] = src[k+u-1]
		k += u
	}
}

// cardSepAt returns the length of the separator between two digit groups of a
// card at k, or 0: a plus (a space in a query string) alone, or one to three
// of a space, a tab, a dash, a dot, a slash, a no-break, figure, thin or narrow
// no-break space (U+00A0, U+2007, U+2009, U+202F), a URL-encoded space, tab,
// dash, dot or slash (%20, %09, %2D, %2E, %2F, in either case) and a
// JSON-escaped space, no-break space or tab (\u0020, \u00a0, \t), mixed.
func cardSepAt(src []byte, k int) int {
	if k >= len(src) || cardSepStart[src[k]] == 0 {
		return 0 // the common case: no separator at all
	}
	return cardSepRun(src, k)
}

// cardSepRun is cardSepAt past its common case.
func cardSepRun(src []byte, k int) int {
	if c := src[k]; c != '+' && c != '%' && c != '\\' && c < 0x80 && k+1 < len(src) && isDigit(src[k+1]) {
		return 1 // one space, tab, dash, dot or slash before the next group
	}
	if src[k] == '+' {
		// A plus stands alone: next to other separators it starts a
		// phone number (+44 20 7946 0958).
		if k+1 < len(src) && cardSepUnit(src, k+1) > 0 {
			return 0
		}
		return 1
	}
	l := 0
	for units := 0; units < 3; units++ {
		u := cardSepUnit(src, k+l)
		if u == 0 {
			break
		}
		l += u
	}
	return l
}

func cardSepUnit(src []byte, k int) int {
	if k >= len(src) {
		return 0
	}
	switch src[k] {
	case ' ', '\t', '-', '.', '/':
		return 1
	case 0xc2:
		if k+1 < len(src) && src[k+1] == 0xa0 {
			return 2
		}
	case 0xe2:
		if k+2 < len(src) && src[k+1] == 0x80 && (src[k+2] == 0x87 || src[k+2] == 0x89 || src[k+2] == 0xaf) {
			return 3
		}
	case '%':
		if k+2 < len(src) && (src[k+1] == '2' && (src[k+2] == '0' || isEncodedPunct(src[k+2])) || src[k+1] == '0' && src[k+2] == '9') {
			return 3
		}
	case '\\':
		if hasPrefixAt(src, k, "\\t") {
			return 2
		}
		if hasPrefixAt(src, k, "\\u0020") || hasPrefixAt(src, k, "\\u00a0") || hasPrefixAt(src, k, "\\u00A0") {
			return 6
		}
	}
	return 0
}

// cardSepStart marks the bytes a card separator unit starts with: a space,
// a tab, - . / + % \\ and the lead bytes of U+00A0 and U+2007/U+2009/U+202F.
// TestCardSepStart rebuilds it.
const cardSepStart = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x01\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x01\x00\x01\x01\x01" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// isEncodedPunct reports the last hex digit of a URL-encoded dash, dot or
// slash (%2D, %2E, %2F) in either case.
func isEncodedPunct(c byte) bool { return c|0x20 >= 'd' && c|0x20 <= 'f' }

// isCardSepByte reports the bytes a card separator is made of, and every
// byte from DEL up: the masked scan's span test for a card lets them pass.
func isCardSepByte(c byte) bool {
	switch c {
	case ' ', '\t', '-', '.', '/', '+', '%', '\\', 'u', 'a', 'A', 't', 'd', 'D', 'e', 'E', 'f', 'F':
		return true
	}
	return c >= 0x7f
}

// cardEndOK reports whether a card number may end at k: not glued to a word
// and not the integer part of a decimal.
func cardEndOK(src []byte, k int) bool {
	if k == len(src) {
		return true
	}
	c := src[k]
	if isWord(c) {
		return false
	}
	return !((c == '.' || c == ',') && k+1 < len(src) && isDigit(src[k+1]))
}

// validCard reports whether the digits d pass the Luhn check and belong to a
// known issuer range with a length that issuer uses.
func validCard(d []byte) bool {
	return cardBrand(d) && luhn(d)
}

// luhn reports whether the digits d pass the Luhn (mod 10) check of ISO/IEC 7812-1.
func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// cardBrand reports whether the 12 to 19 digits d start with an issuer
// identification number of a brand that issues cards of that length.
func cardBrand(d []byte) bool {
	n := len(d)
	if n < 12 || n > 19 {
		return false
	}
	p2 := int(d[0]-'0')*10 + int(d[1]-'0')
	p3 := p2*10 + int(d[2]-'0')
	p4 := p3*10 + int(d[3]-'0')
	switch {
	case d[0] == '4': // Visa
		if n == 13 || n == 16 || n == 19 {
			return true
		}
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		if n == 16 {
			return true
		}
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16
	case p3 >= 300 && p3 <= 305, p4 == 3095, p2 == 36, p2 == 38, p2 == 39: // Diners Club
		return n >= 14
	}
	if p4 == 6011 || p3 >= 644 && p3 <= 649 || p2 == 65 || p2 == 62 { // Discover, UnionPay
		if n >= 16 {
			return true
		}
	}
	// Maestro: 50 and 56-69, 12 to 19 digits.
	return p2 == 50 || p2 >= 56 && p2 <= 69
}

// cardDigits appends the digits of the card number v to dst, up to its
// capacity: escaped digits decoded, separators (%20 and \u00a0 included)
// dropped.
func cardDigits(dst, v []byte) []byte {
	for k := 0; k < len(v) && len(dst) < cap(dst); {
		if u := digitUnit(v, k); u > 0 {
			dst = append(dst, v[k+u-1])
			k += u
		} else if u := cardSepUnit(v, k); u > 0 {
			k += u
		} else {
			k++
		}
	}
	return dst
}

// truncateCard appends the PCI truncation of a card number: at most the first
// six and the last four digits, with at least six hidden, separators dropped.
func truncateCard(dst, v []byte) []byte {
	var d [32]byte
	nd := len(cardDigits(d[:0], v))
	keepLast := 4
	keepFirst := nd - 10
	if keepFirst > 6 {
		keepFirst = 6
	}
	if keepFirst < 0 {
		keepFirst = 0
	}
	if nd < 10 {
		keepLast = 0
	}
	dst = append(dst, d[:keepFirst]...)
	for k := keepFirst; k < nd-keepLast; k++ {
		dst = append(dst, '*')
	}
	return append(dst, d[nd-keepLast:nd]...)
}
