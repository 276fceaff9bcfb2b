package redact

// Character classes of the scanner's main loop: the low four bits of
// charClass. Most bytes, lower-case letters included, are cNone and cost the
// loop one table look-up; the others anchor a detector. Bit wordBit marks
// [A-Za-z0-9_].
const (
	cNone       = iota // nothing is anchored here
	cDigit             // 0-9: a card, a phone number, an IBAN's check digits
	cUpper             // A-Z: an IBAN, AKIA/ASIA, the J of eyJ
	cAt                // '@': an e-mail address
	cColon             // ':': a key: value pair, a URL's ://
	cEquals            // '=': a key=value pair
	cPlus              // '+': an E.164 phone number
	cParen             // '(': a phone number such as (415) 555-2671
	cDash              // '-': -----BEGIN … PRIVATE KEY-----, xoxb-
	cUnderscore        // '_': sk_live_, rk_test_, ghp_, github_pat_
	cDot               // '.': hvs., hvb., s.
	cEscape            // '\\' and '%': escaped and URL-encoded values

	classMask = 0x0f
	wordBit   = 0x10
)

// charClass maps a byte to its class and word bit. TestCharClass rebuilds it
// from the definitions above.
const charClass = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x0b\x00\x00\x07\x00\x00\x06\x00\x08\x0a\x00" +
	"\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x04\x00\x00\x05\x00\x00" +
	"\x03\x12\x12\x12\x12\x12\x12\x12\x12\x12\x12\x12\x12\x12\x12\x12" +
	"\x12\x12\x12\x12\x12\x12\x12\x12\x12\x12\x12\x00\x0b\x00\x00\x19" +
	"\x00\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10" +
	"\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// isWord reports [A-Za-z0-9_].
func isWord(c byte) bool { return charClass[c]&wordBit != 0 }

func isDigit(c byte) bool { return c-'0' < 10 }

func isUpper(c byte) bool { return c-'A' < 26 }

func isLower(c byte) bool { return c-'a' < 26 }

func isLetter(c byte) bool { return (c|0x20)-'a' < 26 }

func isAlnum(c byte) bool { return isDigit(c) || isLetter(c) }

func isHex(c byte) bool { return isDigit(c) || (c|0x20)-'a' < 6 }

func toLower(c byte) byte {
	if isUpper(c) {
		return c | 0x20
	}
	return c
}

// isB64URL reports the base64url alphabet (RFC 4648 §5).
func isB64URL(c byte) bool { return isWord(c) || c == '-' }

// skipWord returns the index of the first non-word byte at or after i.
func skipWord(src []byte, i int) int {
	for i < len(src) && isWord(src[i]) {
		i++
	}
	return i
}

// digitsAt counts the digits that start at i.
func digitsAt(src []byte, i int) int {
	j := i
	for j < len(src) && isDigit(src[j]) {
		j++
	}
	return j - i
}

// hasPrefixAt reports whether src[i:] starts with p.
func hasPrefixAt(src []byte, i int, p string) bool {
	return len(src)-i >= len(p) && string(src[i:i+len(p)]) == p
}

// uuidAt reports whether an RFC 9562 UUID in its 8-4-4-4-12 hex form starts at
// i and ends at a word boundary.
func uuidAt(src []byte, i int) bool {
	if len(src)-i < 36 {
		return false
	}
	u := src[i : i+36 : i+36]
	if u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-' {
		return false
	}
	for _, seg := range [...][2]int{{0, 8}, {9, 13}, {14, 18}, {19, 23}, {24, 36}} {
		for _, c := range u[seg[0]:seg[1]] {
			if !isHex(c) {
				return false
			}
		}
	}
	return i+36 == len(src) || !isWord(src[i+36])
}
