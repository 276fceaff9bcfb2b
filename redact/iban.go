package redact

// ibanRegistry lists the country codes and IBAN lengths of the SWIFT IBAN
// Registry (release 100, 2025): 89 countries.
const ibanRegistry = "" +
	"AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27" +
	"BR29BY28CH21CR22CY28CZ24DE22DJ27DK18DO28" +
	"EE20EG29ES24FI18FK18FO18FR27GB22GE22GI23" +
	"GL18GR27GT28HN28HR21HU28IE22IL23IQ23IS26" +
	"IT27JO30KW30KZ20LB28LC32LI21LT20LU20LV21" +
	"LY25MC27MD24ME22MK19MN20MR27MT31MU30NI28" +
	"NL18NO15OM23PK24PL28PS29PT25QA29RO24RS22" +
	"RU33SA24SC31SD18SE24SI19SK24SM27SO23ST25" +
	"SV28TL23TN24TR26UA29VA22VG24XK20YE30"

// ibanPartial lists the countries outside the registry whose banks use IBANs
// at home (the registry's list of partial IBAN countries), with the length
// of their IBANs: 21 countries of Africa, and Iran.
const ibanPartial = "" +
	"AO25BF28BJ28CF27CG27CI28CM27CV25DZ26GA27" +
	"GQ27GW25IR26KM27MA28MG27ML28MZ25NE28SN28" +
	"TD27TG28"

// ibanLengths is ibanRegistry and ibanPartial as a table: the length for
// country code ab at (a-'A')*26 + b-'A', or 0. TestIBANRegistry checks they
// agree.
const ibanLengths = "" +
	"\x00\x00\x00\x18\x17\x00\x00\x00\x00\x00\x00\x1c\x00\x00\x19\x00\x00\x00\x00\x14\x00\x00\x00\x00\x00\x1c" + // A
	"\x14\x00\x00\x00\x10\x1c\x16\x16\x1b\x1c\x00\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x00\x00\x00\x00\x1c\x00" + // B
	"\x00\x00\x00\x00\x00\x1b\x1b\x15\x1c\x00\x00\x00\x1b\x00\x00\x00\x00\x16\x00\x00\x00\x19\x00\x00\x1c\x18" + // C
	"\x00\x00\x00\x00\x16\x00\x00\x00\x00\x1b\x12\x00\x00\x00\x1c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x1a" + // D
	"\x00\x00\x00\x00\x14\x00\x1d\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x18\x00\x00\x00\x00\x00\x00\x00" + // E
	"\x00\x00\x00\x00\x00\x00\x00\x00\x12\x00\x12\x00\x00\x00\x12\x00\x00\x1b\x00\x00\x00\x00\x00\x00\x00\x00" + // F
	"\x1b\x16\x00\x00\x16\x00\x00\x00\x17\x00\x00\x12\x00\x00\x00\x00\x1b\x1b\x00\x1c\x00\x00\x19\x00\x00\x00" + // G
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x1c\x00\x00\x00\x15\x00\x00\x1c\x00\x00\x00\x00\x00" + // H
	"\x00\x00\x00\x00\x16\x00\x00\x00\x00\x00\x00\x17\x00\x00\x00\x00\x17\x1a\x1a\x1b\x00\x00\x00\x00\x00\x00" + // I
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x1e\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // J
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x1b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x1e\x00\x00\x14" + // K
	"\x00\x1c\x20\x00\x00\x00\x00\x00\x15\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x14\x14\x15\x00\x00\x19\x00" + // L
	"\x1c\x00\x1b\x18\x16\x00\x1b\x00\x00\x00\x13\x1c\x00\x14\x00\x00\x00\x1b\x00\x1f\x1e\x00\x00\x00\x00\x19" + // M
	"\x00\x00\x00\x00\x1c\x00\x00\x00\x1c\x00\x00\x12\x00\x00\x0f\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // N
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x17\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // O
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x18\x1c\x00\x00\x00\x00\x00\x00\x1d\x19\x00\x00\x00\x00\x00\x00" + // P
	"\x1d\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // Q
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x18\x00\x00\x00\x16\x00\x21\x00\x00\x00\x00\x00" + // R
	"\x18\x00\x1f\x12\x18\x00\x00\x00\x13\x00\x18\x00\x1b\x1c\x17\x00\x00\x00\x00\x19\x00\x1c\x00\x00\x00\x00" + // S
	"\x00\x00\x00\x1b\x00\x00\x1c\x00\x00\x00\x00\x17\x00\x18\x00\x00\x00\x1a\x00\x00\x00\x00\x00\x00\x00\x00" + // T
	"\x1d\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // U
	"\x16\x00\x00\x00\x00\x00\x18\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // V
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // W
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // X
	"\x00\x00\x00\x00\x1e\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // Y
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" // Z

// ibanLength returns the registry length of IBANs of the country a b, or 0.
func ibanLength(a, b byte) int {
	if !isUpper(a) || !isUpper(b) {
		return 0
	}
	return int(ibanLengths[int(a-'A')*26+int(b-'A')])
}

func isUpperDigit(c byte) bool { return isUpper(c) || isDigit(c) }

// ibanHeadByte reports the bytes that may follow the country code of an
// IBAN as its next two: a check digit, or a space or a dash before or
// between the check digits.
func ibanHeadByte(c byte) bool { return isDigit(c) || c == ' ' || c == '-' }

// ibanAt matches an IBAN at i: a country of the registry or of its partial
// list, that country's length, check digits 02 to 98 and a good ISO 7064
// MOD 97-10 checksum (ISO 13616-1). It takes the electronic form
// (GB82WEST12345698765432), the print form in groups of four (GB82 WEST 1234
// 5698 7654 32) and what people type: lower case, other groupings, dashes
// (gb82-west-1234-5698-7654-32), the check digits set apart (DK 50
// 0040 0440116243). A form other than the two standard ones
// must hold at least six digits after the check digits, which keeps prose
// ("no 12 items in the cart") out. It returns the end, or -1.
func ibanAt(src []byte, i int) int {
	n := len(src)
	if n-i < 15 || src[i+8] == '-' && uuidAt(src, i) {
		return -1 // be7698ae-1dc8-42a4-… is a UUID, whatever its checksum
	}
	a, b := src[i], src[i+1]
	lower := isLower(a)
	if lower {
		if !isLower(b) {
			return -1
		}
		a, b = a-'a'+'A', b-'a'+'A'
	}
	l := ibanLength(a, b)
	if l == 0 {
		return -1
	}
	var buf [34]byte
	buf[0], buf[1] = a, b
	cnt, j := 2, i+2
	seps, regular, digits := 0, true, 0
	// The check digits, perhaps set apart from the country code or split
	// by one space or dash (DK 50 0040 0440 1162 43, PK3 6SCB…): a form
	// other than the standard two.
	if isDigit(src[i+2]) && isDigit(src[i+3]) {
		buf[2], buf[3] = src[i+2], src[i+3]
		cnt, j = 4, i+4
	}
	for cnt < 4 {
		if c := src[j]; c == ' ' || c == '-' {
			if seps > 0 || !isDigit(src[j+1]) {
				return -1
			}
			seps++
			regular = false
			j++
		}
		if !isDigit(src[j]) {
			return -1
		}
		buf[cnt] = src[j]
		cnt++
		j++
	}
	if !lower {
		// The electronic form and the groups of the print form, in one
		// tight loop.
		for {
			for cnt < l && j < n && isUpperDigit(src[j]) {
				if isDigit(src[j]) {
					digits++
				}
				buf[cnt] = src[j]
				cnt++
				j++
			}
			// The one space of the print form after a group of four.
			if cnt < l && cnt%4 == 0 && j+1 < n && src[j] == ' ' && isUpperDigit(src[j+1]) {
				seps++
				j++
				continue
			}
			break
		}
	}
	for cnt < l {
		if j >= n {
			return -1
		}
		c := src[j]
		switch {
		case c == ' ' || c == '-':
			// One separator between two characters of the value.
			if j+1 >= n || !isAlnum(src[j+1]) {
				return -1
			}
			seps++
			regular = regular && c == ' ' && cnt%4 == 0
			j++
			continue
		case isDigit(c):
			digits++
		case lower && isLower(c):
			c -= 'a' - 'A'
		case lower || !isUpper(c):
			return -1
		}
		buf[cnt] = c
		cnt++
		j++
	}
	if j < n && isWord(src[j]) {
		return -1
	}
	if regular && seps != 0 && seps != (l-1)/4 {
		regular = false
	}
	if (lower || !regular) && digits < 6 {
		return -1
	}
	if check := (buf[2]-'0')*10 + (buf[3] - '0'); check < 2 || check > 98 {
		return -1
	}
	if mod97(buf[:l]) != 1 {
		return -1
	}
	return j
}

// mod97 computes ISO 7064 MOD 97-10 over an IBAN with its first four
// characters moved to the end and letters read as 10 to 35.
func mod97(b []byte) int {
	// acc stays below 97 after a reduction and grows by at most a factor
	// of 100 a character: eight characters fit in 64 bits.
	var acc uint64
	step := func(acc uint64, c byte) uint64 {
		if c >= 'A' {
			return acc*100 + uint64(c-'A'+10)
		}
		return acc*10 + uint64(c-'0')
	}
	k := 0
	for _, c := range b[4:] {
		acc = step(acc, c)
		if k++; k == 8 {
			acc, k = acc%97, 0
		}
	}
	acc %= 97
	for _, c := range b[:4] {
		acc = step(acc, c)
	}
	return int(acc % 97)
}

// truncateIBAN appends an IBAN with all but its country code and last four
// characters hidden, spaces dropped.
func truncateIBAN(dst, v []byte) []byte {
	var b [64]byte
	nb := 0
	for _, c := range v {
		if isAlnum(c) && nb < len(b) {
			b[nb] = c
			nb++
		}
	}
	if nb < 10 {
		for k := 0; k < nb; k++ {
			dst = append(dst, '*')
		}
		return dst
	}
	dst = append(dst, b[:2]...)
	for k := 2; k < nb-4; k++ {
		dst = append(dst, '*')
	}
	return append(dst, b[nb-4:nb]...)
}
