package redact

// isLocalChar reports the characters this package accepts in the local part
// of an address: letters, digits and . _ % + - '. RFC 5322 allows more (= / ?
// …), but in logs they far more often join an address to what precedes it.
func isLocalChar(c byte) bool {
	return isWord(c) || c == '.' || c == '%' || c == '+' || c == '-' || c == '\''
}

func isLabelChar(c byte) bool { return isAlnum(c) || c == '-' }

// emailAt matches an address around the '@' at at: a local part of at most 64
// characters that starts at or after floor, and a domain of at least two
// labels whose last is two or more letters, at most 253 characters. It
// returns the bounds, or end -1.
func emailAt(src []byte, at, floor int) (start, end int) {
	n := len(src)
	j := at
	for j > floor && at-j < 64 && isLocalChar(src[j-1]) {
		j--
	}
	if j > floor && isLocalChar(src[j-1]) {
		return 0, -1 // local part longer than 64
	}
	for j < at && (src[j] == '.' || src[j] == '-' || src[j] == '+' || src[j] == '\'') {
		j++
	}
	if j == at || src[at-1] == '.' {
		return 0, -1
	}
	k := at + 1
	labels, lastStart := 0, 0
	for k < n && k-at <= 253 {
		ls := k
		for k < n && isLabelChar(src[k]) {
			k++
		}
		if k == ls || src[ls] == '-' || src[k-1] == '-' {
			return 0, -1
		}
		labels++
		lastStart = ls
		if k+1 < n && src[k] == '.' && isLabelChar(src[k+1]) {
			k++
			continue
		}
		break
	}
	if labels < 2 || k-at > 254 || (k < n && (isWord(src[k]) || src[k] == '@')) {
		return 0, -1
	}
	if k-lastStart < 2 {
		return 0, -1
	}
	for t := lastStart; t < k; t++ {
		if !isLetter(src[t]) {
			return 0, -1
		}
	}
	return j, k
}
