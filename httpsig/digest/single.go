package digest

import "encoding/base64"

// parseSingle recognizes the field almost every sender sends, one line
// holding one supported member and nothing else ("sha-256=:...:" or
// "sha-512=:...:", no parameters, no spaces), and returns that member
// without building a Dictionary. It reports false for anything else, which
// [Parse] then reads: whenever it reports true, Parse would have returned
// exactly that one member (FuzzParseSingle checks it): its algorithm, and
// its value in buf[:Size()].
func parseSingle(lines []string, buf *[64]byte) (Algorithm, bool) {
	if len(lines) != 1 {
		return "", false
	}
	l := lines[0]
	var a Algorithm
	switch {
	case len(l) > len(SHA256)+2 && Algorithm(l[:len(SHA256)]) == SHA256:
		a = SHA256
	case len(l) > len(SHA512)+2 && Algorithm(l[:len(SHA512)]) == SHA512:
		a = SHA512
	default:
		return "", false
	}
	v := l[len(a):]
	if v[0] != '=' || v[1] != ':' || v[len(v)-1] != ':' {
		return "", false
	}
	v = v[2 : len(v)-1]
	// The encoded digest: 44 or 88 characters of RFC 8941 byte sequence
	// alphabet, decoded as httpsfv does (padded standard base64).
	var src [88]byte // Decode takes a []byte; a copy on the stack
	if len(v) != base64.StdEncoding.EncodedLen(a.Size()) {
		return "", false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return "", false
		}
		src[i] = c
	}
	// Decode writes up to DecodedLen bytes: 66 for 88 characters.
	var dst [66]byte
	n, err := base64.StdEncoding.Decode(dst[:], src[:len(v)])
	if err != nil || n != a.Size() {
		return "", false
	}
	copy(buf[:], dst[:n])
	return a, true
}
