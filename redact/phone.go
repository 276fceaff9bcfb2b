package redact

func isPhoneSep(c byte) bool { return c == ' ' || c == '-' || c == '.' }

// phoneEndOK reports whether a national phone number may end at e: not glued
// to a word, and not followed by a dash, dot, comma, slash or colon and a digit
// (a longer number, a date, a time, a version, a price).
func phoneEndOK(src []byte, e int) bool {
	if e == len(src) {
		return true
	}
	c := src[e]
	if isWord(c) {
		return false
	}
	if e+1 < len(src) && isDigit(src[e+1]) {
		switch c {
		case '-', '.', ',', '/', ':':
			return false
		}
	}
	return true
}

// nanpBody matches the ten digits of a North American number written
// NXX-NXX-XXXX with one separator throughout (a dash, a dot or a space) and
// returns its end, or -1.
func nanpBody(src []byte, j int) int {
	n := len(src)
	if n-j < 12 || digitsAt(src, j) != 3 || src[j] < '2' {
		return -1
	}
	sep := src[j+3]
	if !isPhoneSep(sep) || digitsAt(src, j+4) != 3 || src[j+4] < '2' || src[j+7] != sep || digitsAt(src, j+8) != 4 {
		return -1
	}
	return j + 12
}

// nationalPhoneAt matches a national number without a leading + that starts
// at the digit at g: 415-555-2671, 1-415-555-2671, 415.555.2671, or a number
// with a trunk prefix 0 in two to five groups (020 7946 0958, 06 12 34 56 78,
// 030-12345678), 9 to 12 digits, one separator throughout. It returns the
// end, or -1.
func nationalPhoneAt(src []byte, g int) int {
	n := len(src)
	if g > 1 && (src[g-1] == '-' || src[g-1] == '.' || src[g-1] == '/') && isAlnum(src[g-2]) {
		return -1 // inside a longer dash- or dot-joined token
	}
	e := nanpBody(src, g)
	if e < 0 && src[g] == '1' && g+2 < n && isPhoneSep(src[g+1]) {
		e = nanpBody(src, g+2)
	}
	if e > 0 {
		if phoneEndOK(src, e) {
			return e
		}
		return -1
	}
	if src[g] != '0' {
		return -1
	}
	var sep byte
	total, groups, best := 0, 0, -1
	for j := g; ; {
		d := digitsAt(src, j)
		if groups == 0 && (d < 2 || d > 5) || groups > 0 && (d < 2 || d > 8) || total+d > 12 {
			break
		}
		total += d
		groups++
		end := j + d
		if groups >= 2 && total >= 9 && phoneEndOK(src, end) {
			best = end
		}
		if end+1 < n && isPhoneSep(src[end]) && isDigit(src[end+1]) && groups < 6 {
			if sep == 0 {
				sep = src[end]
			} else if src[end] != sep {
				break
			}
			j = end + 1
			continue
		}
		break
	}
	return best
}

// parenPhoneAt matches (NXX) NXX-XXXX, (NXX)NXX-XXXX or (NXX) NXX XXXX at
// the '(' at i, and returns the end, or -1.
func parenPhoneAt(src []byte, i int) int {
	n := len(src)
	if i > 0 && isWord(src[i-1]) || n-i < 13 || digitsAt(src, i+1) != 3 || src[i+1] < '2' || src[i+4] != ')' {
		return -1
	}
	j := i + 5
	if src[j] == ' ' {
		j++
	}
	if n-j < 8 || digitsAt(src, j) != 3 || src[j] < '2' || !isPhoneSep(src[j+3]) || digitsAt(src, j+4) != 4 {
		return -1
	}
	e := j + 8
	if !phoneEndOK(src, e) {
		return -1
	}
	return e
}

// intlPhoneAt matches an E.164 number at the '+' at i: the country code and
// 8 to 15 digits in all, plain (+4915112345678) or in groups separated by a
// space, a dash or a dot, with the area code perhaps in parentheses
// (+1 (415) 555-2671, +44 20 7946 0958). A +1 number stops at its eleventh
// digit. The number does not run on into a group that starts a date, a time
// or a version written with another separator. It returns the end, or -1.
func intlPhoneAt(src []byte, i int) int {
	n := len(src)
	if i > 0 && (isWord(src[i-1]) || src[i-1] == '+') || i+1 >= n || !isDigit(src[i+1]) {
		return -1
	}
	nanp := src[i+1] == '1'
	var sepB byte
	var glen [3]int
	total, groups := 0, 0
	goodEnd, goodTotal, goodGroups := -1, 0, 0 // the longest prefix not glued to a word
walk:
	for j := i + 1; j < n; {
		paren := src[j] == '('
		if paren {
			j++
		}
		d := digitsAt(src, j)
		if d == 0 || paren && (j+d >= n || src[j+d] != ')') {
			break
		}
		if total+d > 15 {
			if groups == 0 {
				return -1
			}
			break
		}
		if nanp && groups > 0 && total+d > 11 {
			break
		}
		if groups < len(glen) {
			glen[groups] = d
		}
		total += d
		groups++
		k := j + d
		if paren {
			k++
		}
		if k == n || !isWord(src[k]) {
			goodEnd, goodTotal, goodGroups = k, total, groups
		}
		if k+1 >= n {
			break
		}
		c := src[k]
		if paren && isDigit(c) {
			j = k
			continue
		}
		if !isPhoneSep(c) || !(isDigit(src[k+1]) || src[k+1] == '(') {
			break
		}
		if groups > 1 && !paren {
			if sepB == 0 {
				sepB = c
			} else if c != sepB {
				break
			}
		}
		// The next group would start a date, a time, a price or a version.
		nj := k + 1
		if src[nj] != '(' {
			x := nj + digitsAt(src, nj)
			if x+1 < n && isDigit(src[x+1]) {
				switch p := src[x]; p {
				case ':', '/', ',':
					break walk
				case '-', '.':
					if p != c && groups > 1 && !paren {
						break walk
					}
				}
			}
		}
		j = nj
	}
	if goodTotal < 8 || goodEnd < 0 {
		return -1
	}
	if goodGroups == 3 && glen[0] == 4 && glen[1] == 2 && glen[2] == 2 {
		return -1 // +2026-11-23
	}
	return goodEnd
}
