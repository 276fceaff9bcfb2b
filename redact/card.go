package redact

// cardAt returns the end of the longest payment card number that starts at
// the digit group at g, or -1. A number is one group of 12 to 19 digits, or
// groups of 3 to 6 digits joined by one kind of separator (a space or a dash),
// as people write them: 4111 1111 1111 1111, 3782-822463-10005. It must pass the
// Luhn check and fall in an issuer range with a length that issuer uses.
func cardAt(src []byte, g int) int {
	n := len(src)
	var d [19]byte
	nd := 0
	var sep byte
	best := -1
	for j, groups := g, 0; ; groups++ {
		glen := digitsAt(src, j)
		if nd+glen > 19 {
			break
		}
		multi := groups > 0 || (j+glen+1 < n && (src[j+glen] == ' ' || src[j+glen] == '-') && isDigit(src[j+glen+1]))
		if multi && (glen < 3 || glen > 6) {
			if groups == 0 && glen >= 12 {
				// a whole number followed by more digits: try it alone
				copy(d[:], src[j:j+glen])
				if cardEndOK(src, j+glen) && validCard(d[:glen]) {
					return j + glen
				}
			}
			break
		}
		copy(d[nd:], src[j:j+glen])
		nd += glen
		k := j + glen
		if nd >= 12 && cardEndOK(src, k) && validCard(d[:nd]) {
			best = k
		}
		if k+1 < n && (src[k] == ' ' || src[k] == '-') && isDigit(src[k+1]) {
			if sep == 0 {
				sep = src[k]
			} else if src[k] != sep {
				break
			}
			j = k + 1
			continue
		}
		break
	}
	return best
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

// truncateCard appends the PCI truncation of a card number: at most the first
// six and the last four digits, with at least six hidden, separators dropped.
func truncateCard(dst, v []byte) []byte {
	var d [32]byte
	nd := 0
	for _, c := range v {
		if isDigit(c) && nd < len(d) {
			d[nd] = c
			nd++
		}
	}
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
