package redact

// keyClass says how the value of a key whose name says secret is read.
type keyClass uint8

const (
	keyNone   keyClass = iota // not a secret key
	keyPlain                  // the value is secret
	keyAuth                   // Authorization: an auth-scheme may precede the secret
	keyHeader                 // Cookie, Set-Cookie: a header-style value runs to the end of the line
	keyProof                  // DPoP: the value is secret when it is a compact JWS ([proofValue])
)

// proofValue reports whether v, the value of a DPoP key, is secret: a DPoP
// proof is a JWT, a compact JWS (RFC 9449 §4.2, RFC 7515 §7.1), so a value of
// base64url segments joined by two dots (or four, a JWE), the first of at
// least four characters, is one. Anything else under such a key (the
// package prefix of an error message, "dpop: replay check unavailable") is
// prose, which the other detectors still look at.
func proofValue(v []byte) bool {
	dots, seg := 0, 0
	for _, c := range v {
		switch {
		case c == '.':
			if dots == 0 && seg < 4 {
				return false
			}
			dots++
			seg = 0
		case isB64URL(c):
			seg++
		default:
			return false
		}
	}
	return dots == 2 || dots == 4
}

// secretFor reports whether v, the value of a key of class c, is secret.
func (c keyClass) secretFor(v []byte) bool {
	switch c {
	case keyNone:
		return false
	case keyProof:
		return proofValue(v)
	}
	return true
}

// secretKeyEnds is a bit set of the last two letters of the secret key
// names, indexed by their low five bits (so case-insensitively): bit b&31 of
// row a&31, four bytes a row. A byte pair that is not two letters may alias a
// listed one, which only costs a full check.
const secretKeyEnds = "" +
	"\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x20\x00\x00\x00\x00\x40\x10\x02\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x20\x40\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x40\x01\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x20\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x40\x00\x10\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// mayEndSecretKey reports whether a and b may be the last two bytes of a
// secret key name: password, passwd, pwd, secret, api key, private key,
// secret key, token, authorization, pin, cookie, passphrase, passcode,
// credential(s), cvv, cvc, dpop.
func mayEndSecretKey(a, b byte) bool {
	return secretKeyEnds[int(a&31)<<2|int(b&31)>>3]>>(b&7)&1 != 0
}

// hasSuffixFold reports whether k ends with the lower-case word w, ignoring
// ASCII case. With boundary, the word must also be the whole key or follow
// '_', '-', '.', ' ' or a lower-case letter as the word's first letter is
// upper case (userPin).
func hasSuffixFold(k []byte, w string, boundary bool) bool {
	n, m := len(k), len(w)
	if n < m {
		return false
	}
	for i := 0; i < m; i++ {
		if toLower(k[n-m+i]) != w[i] {
			return false
		}
	}
	if !boundary || n == m {
		return true
	}
	switch p := k[n-m-1]; {
	case p == '_' || p == '-' || p == '.' || p == ' ':
		return true
	case isLower(p) && isUpper(k[n-m]):
		return true
	}
	return false
}

// secretKey classifies a key name: password, passwd, pwd, passphrase,
// passcode, secret, token, api_key/apikey/api-key, private_key, secret_key,
// secret_access_key (AWS credential files), secret_key_base (Rails), app_key
// (Laravel), encryption, signing, master, hmac, auth and session keys,
// credential(s), authorization,
// cookie, cvv, cvc, pin and dpop, in any case, whole or as a suffix
// (db_password, X-Api-Key, refresh_token, Set-Cookie, SECRET_KEY,
// X-Amz-Credential), of any length; the short words pwd, cvv, cvc, pin,
// cookie and dpop only after a separator or a case change. A dpop key is
// keyProof: its value is secret only when it is a JWT.
func secretKey(k []byte) keyClass {
	n := len(k)
	if n < 3 {
		return keyNone
	}
	switch k[n-1] | 0x20 {
	case 'd':
		if hasSuffixFold(k, "password", false) || hasSuffixFold(k, "passwd", false) || hasSuffixFold(k, "pwd", true) {
			return keyPlain
		}
	case 't':
		if hasSuffixFold(k, "secret", false) {
			return keyPlain
		}
	case 'y':
		if !hasSuffixFold(k, "key", false) {
			break
		}
		head := k[:n-3]
		if h := len(head); h > 0 && (head[h-1] == '_' || head[h-1] == '-' || head[h-1] == '.') {
			head = head[:h-1]
		}
		for _, w := range [...]string{"api", "private", "secret", "secret_access", "secretaccess", "secret-access"} {
			if hasSuffixFold(head, w, false) {
				return keyPlain
			}
		}
		for _, w := range [...]string{"encryption", "signing", "master", "hmac", "app", "auth", "session"} {
			if hasSuffixFold(head, w, true) {
				return keyPlain
			}
		}
	case 's':
		if hasSuffixFold(k, "credentials", false) {
			return keyPlain
		}
	case 'l':
		if hasSuffixFold(k, "credential", false) {
			return keyPlain
		}
	case 'n':
		if hasSuffixFold(k, "authorization", false) {
			return keyAuth
		}
		if hasSuffixFold(k, "token", false) || hasSuffixFold(k, "pin", true) {
			return keyPlain
		}
	case 'e':
		if hasSuffixFold(k, "cookie", true) {
			return keyHeader
		}
		if hasSuffixFold(k, "passphrase", false) || hasSuffixFold(k, "passcode", false) ||
			hasSuffixFold(k, "secret_key_base", false) || hasSuffixFold(k, "secretkeybase", false) {
			return keyPlain
		}
	case 'v':
		if hasSuffixFold(k, "cvv", true) {
			return keyPlain
		}
	case 'c':
		if hasSuffixFold(k, "cvc", true) {
			return keyPlain
		}
	case 'p':
		if hasSuffixFold(k, "dpop", true) {
			return keyProof
		}
	}
	return keyNone
}

func isKeyChar(c byte) bool { return isWord(c) || c == '-' || c == '.' }

// keyWindow is how far back from its separator a key name is read: a longer
// name is classified by its last keyWindow bytes, which hold any suffix
// secretKey looks for.
const keyWindow = 256

// encodedKey handles the escape at i (a '\\' or a '%') inside a key name: a
// JSON key with \u escapes ("\u0070assword":) or a URL-encoded query key
// (api%5Fkey=), decoded before it is classified, and a key followed by a
// URL-encoded '=' (password%3D…, a query string inside a parameter). It
// returns where scanning goes on, i+1 when there is no such key.
func (s *scanner) encodedKey(i int) int {
	src := s.src
	n := len(src)
	var buf [keyWindow]byte
	if src[i] == '\\' {
		// Every escape of one string is looked at once: the first finds
		// its end, and the key it may be.
		if i+1 >= n || src[i+1] != 'u' || i < s.escTo {
			return i + 1
		}
		ke := i
		for ke < n && ke-i < keyWindow && src[ke] != '"' {
			if src[ke] == '\\' {
				ke++
			}
			ke++
		}
		s.escTo = ke
		if ke >= n || src[ke] != '"' {
			return i + 1
		}
		sep := ke + 1
		for sep < n && sep-ke <= 4 && (src[sep] == ' ' || src[sep] == '\t') {
			sep++
		}
		if sep >= n || src[sep] != ':' {
			return i + 1
		}
		// The key's opening quote, not escaped.
		ks := i
		for ks > 0 && i-ks < keyWindow && src[ks-1] != '"' {
			ks--
		}
		if ks == 0 || src[ks-1] != '"' || ks >= 2 && src[ks-2] == '\\' || ks-1 < s.floor {
			return i + 1
		}
		if cls := secretKey(decodeJSONKey(buf[:0], src[ks:ke])); cls != keyNone {
			return s.secretValue(sep, ks-1, cls, true)
		}
		return i + 1
	}
	// '%': a query key, plain or encoded, before '=' or %3D.
	if i+2 >= n || !isHex(src[i+1]) || !isHex(src[i+2]) {
		return i + 1
	}
	isQKey := func(c byte) bool { return isKeyChar(c) || c == '%' }
	if hasPrefixAt(src, i, "%3D") || hasPrefixAt(src, i, "%3d") {
		// The key starts after the last encoded delimiter before it.
		ks := i
		for ks > s.floor && i-ks < keyWindow && isQKey(src[ks-1]) && !encodedDelimiterBefore(src, ks) {
			ks--
		}
		if cls := secretKey(decodePercent(buf[:0], src[ks:i])); cls != keyNone {
			// The value runs to an encoded or plain separator.
			vs := i + 3
			ve := vs
			for ve < n && isUserinfoChar(src[ve]) && src[ve] != '&' && src[ve] != ';' &&
				!(src[ve] == '%' && (hasPrefixAt(src, ve, "%26") || hasPrefixAt(src, ve, "%20"))) {
				ve++
			}
			if ve > vs {
				s.emit(vs, ve, ks, kSecret, false)
				return ve
			}
		}
		return i + 1
	}
	// A key with escapes before '=': the run of key characters is scanned
	// once, and the key classified once.
	if i < s.encTo {
		return i + 1
	}
	ke := i
	for ke < n && ke-i < keyWindow && isQKey(src[ke]) {
		ke++
	}
	s.encTo = ke
	if ke >= n || src[ke] != '=' {
		return i + 1
	}
	ks := i
	for ks > s.floor && i-ks < keyWindow && isQKey(src[ks-1]) {
		ks--
	}
	if cls := secretKey(decodePercent(buf[:0], src[ks:ke])); cls != keyNone {
		return s.secretValue(ke, ks, cls, false)
	}
	return i + 1
}

// encodedDelimiterBefore reports whether src[:k] ends with a URL-encoded
// '&', '?', '=', '/' or space, which a key inside an encoded query follows.
func encodedDelimiterBefore(src []byte, k int) bool {
	if k < 3 || src[k-3] != '%' {
		return false
	}
	switch string([]byte{src[k-2], src[k-1] | 0x20}) {
	case "26", "3f", "3d", "2f", "20":
		return true
	}
	return false
}

// decodeJSONKey appends the JSON string body b to dst, \u escapes of ASCII
// and the short escapes decoded; others become '?'. It stops when dst is full.
func decodeJSONKey(dst, b []byte) []byte {
	for k := 0; k < len(b) && len(dst) < cap(dst); k++ {
		c := b[k]
		if c == '\\' && k+1 < len(b) {
			k++
			c = b[k]
			if c == 'u' {
				c = '?'
				if k+4 < len(b) && b[k+1] == '0' && b[k+2] == '0' && isHex(b[k+3]) && isHex(b[k+4]) {
					c = unhex(b[k+3])<<4 | unhex(b[k+4])
				}
				k += 4
			}
		}
		dst = append(dst, c)
	}
	return dst
}

// decodePercent appends b with its %XX escapes decoded to dst (RFC 3986
// §2.1), stopping when dst is full.
func decodePercent(dst, b []byte) []byte {
	for k := 0; k < len(b) && len(dst) < cap(dst); k++ {
		c := b[k]
		if c == '%' && k+2 < len(b) && isHex(b[k+1]) && isHex(b[k+2]) {
			c = unhex(b[k+1])<<4 | unhex(b[k+2])
			k += 2
		}
		dst = append(dst, c)
	}
	return dst
}

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return (c | 0x20) - 'a' + 10
}

// keyValue handles the ':' or '=' at i: when the key before it says secret,
// its value is a match.
func (s *scanner) keyValue(i int) int {
	src := s.src
	// The key may lie inside an earlier match (token: "password":"x"): it is
	// context, not replaced, so look-behind is bounded by its length only.
	lo := max(0, i-keyWindow)
	j := i
	for j > lo && i-j < 4 && (src[j-1] == ' ' || src[j-1] == '\t') {
		j--
	}
	if j <= lo {
		return i + 1
	}
	var ks, ke, ctx int
	quotedKey := false
	switch q := src[j-1]; q {
	case '"', '\'':
		ke = j - 1
		esc := ke > lo && src[ke-1] == '\\'
		if esc {
			ke--
		}
		if ke-2 < lo || !mayEndSecretKey(src[ke-2], src[ke-1]) {
			return i + 1
		}
		ks = ke
		for ks > lo && src[ks-1] != q {
			ks--
		}
		if ks <= lo || src[ks-1] != q {
			return i + 1
		}
		ctx = ks - 1
		if esc && ctx > lo && src[ctx-1] == '\\' {
			ctx--
		}
		quotedKey = true
	default:
		ke = j
		if ke-2 < lo || !mayEndSecretKey(src[ke-2], src[ke-1]) {
			return i + 1
		}
		ks = ke
		for ks > lo && isKeyChar(src[ks-1]) {
			ks--
		}
		// A name longer than the window is classified by its end.
		ctx = ks
	}
	cls := secretKey(src[ks:ke])
	if cls == keyNone {
		return i + 1
	}
	return s.secretValue(i, ctx, cls, quotedKey)
}

// runEnd returns the end of an unquoted value that starts at v: the first
// byte that ends a bare value, or, for a header field (line), the end of the
// line or of an enclosing string.
func (s *scanner) runEnd(v int, line bool) int {
	if s.runTo > 0 && line == s.runLine && v >= s.runFrom && v <= s.runTo {
		return s.runTo
	}
	src := s.src
	e := v
	if line {
		for e < len(src) && src[e] != '\n' && src[e] != '\r' && src[e] != '"' && src[e] != '\\' {
			e++
		}
	} else {
	bare:
		for ; e < len(src); e++ {
			switch src[e] {
			case ' ', '\t', '\r', '\n', '"', '\'', ',', ';', '&', '\\', '}', ']', ')', '<', '>':
				break bare
			}
		}
	}
	s.runFrom, s.runTo, s.runLine = v, e, line
	return e
}

// isLiteral reports a JSON literal, which holds no secret.
func isLiteral(v []byte) bool {
	switch len(v) {
	case 4:
		return string(v) == "null" || string(v) == "true"
	case 5:
		return string(v) == "false"
	}
	return false
}

// containerEnd returns the end of the JSON object or array that starts at v,
// or len(src) and true when the input ends inside it.
func containerEnd(src []byte, v int) (int, bool) {
	depth := 0
	in := false
	for k := v; k < len(src); k++ {
		c := src[k]
		if in {
			if c == '\\' {
				k++
			} else if c == '"' {
				in = false
			}
			continue
		}
		switch c {
		case '"':
			in = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return k + 1, false
			}
		}
	}
	return len(src), true
}

// skipScheme returns where the credentials start in an Authorization value
// [vs, ve): after an auth-scheme (RFC 9110 §11.4) and its spaces, when there is
// one and something follows it; otherwise vs.
func skipScheme(src []byte, vs, ve int) int {
	k := vs
	for k < ve && k-vs <= 24 && (isAlnum(src[k]) || src[k] == '-' || src[k] == '_') {
		k++
	}
	if k-vs < 2 || k >= ve || src[k] != ' ' {
		return vs
	}
	for k < ve && src[k] == ' ' {
		k++
	}
	if k >= ve {
		return vs
	}
	return k
}

// secretValue emits the value after the separator at i of a secret key whose
// context starts at ctx, and returns where scanning goes on.
func (s *scanner) secretValue(i, ctx int, cls keyClass, quotedKey bool) int {
	src := s.src
	n := len(src)
	v := i + 1
	// After ':' and after " = ", spaces lead to the value; after a bare '='
	// they end an empty one (logfmt: password= user=bob).
	if src[i] == ':' || i > 0 && src[i-1] == ' ' {
		for v < n && v-i <= 4 && (src[v] == ' ' || src[v] == '\t') {
			v++
		}
	}
	if v >= n {
		return i + 1
	}
	var vs, ve, next int
	switch c := src[v]; {
	case c == '"' || c == '\'':
		vs = v + 1
		ve = vs
		for ve < n && src[ve] != c {
			if src[ve] == '\\' && c == '"' {
				ve++
			}
			ve++
		}
		if ve >= n {
			ve, next = n, n
		} else {
			next = ve + 1
		}
	case c == '\\' && v+1 < n && src[v+1] == '"':
		// A JSON string inside a JSON string: it ends at a quote after a run of
		// backslashes of length 1 mod 4.
		vs = v + 2
		ve, next = n, n
		for k := vs; k < n; {
			if src[k] != '\\' {
				k++
				continue
			}
			r := k
			for r < n && src[r] == '\\' {
				r++
			}
			if r < n && src[r] == '"' && (r-k)%4 == 1 {
				ve, next = r-1, r+1
				break
			}
			k = r
		}
	case c == '{' || c == '[':
		vs = v
		ve, _ = containerEnd(src, v)
		next = ve
	default:
		vs = v
		if (cls == keyAuth || cls == keyHeader) && src[i] == ':' && !quotedKey {
			// A header field: the value runs to the end of the line.
			ve = s.runEnd(vs, true)
			for ve > vs && (src[ve-1] == ' ' || src[ve-1] == '\t') {
				ve--
			}
		} else {
			ve = s.runEnd(vs, false)
			if isLiteral(src[vs:ve]) {
				return ve
			}
			if cls == keyAuth && ve+1 < n && src[ve] == ' ' && src[ve+1] != ' ' {
				ve = s.runEnd(ve+1, false) // Bearer token
			} else if isDigit(c) {
				if e := cardAt(src, vs); e > ve {
					ve = e // a card written in groups
				}
			}
		}
		next = ve
		// A key inside the value starts a pair of its own (token: Authorization:
		// Bearer x): go on from its separator.
		for k := vs; k < ve; k++ {
			if src[k] == ':' || src[k] == '=' {
				next = k
				break
			}
		}
	}
	if cls == keyAuth {
		vs = skipScheme(src, vs, ve)
	}
	if ve <= vs || cls == keyProof && !proofValue(src[vs:ve]) {
		return max(next, i+1)
	}
	s.emit(vs, ve, ctx, kSecret, false)
	return max(next, i+1)
}

func isUserinfoChar(c byte) bool {
	if isAlnum(c) {
		return true
	}
	switch c {
	case '-', '.', '_', '~', '%', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
		return true
	}
	return false
}

// userinfo handles the "://" at i: in scheme://user:password@host the
// password is a match and the user is kept (RFC 3986 §3.2.1). Scanning goes on
// after the '@', so the user and host are not taken for an e-mail address.
func (s *scanner) userinfo(i int) int {
	src := s.src
	n := len(src)
	colon, at := -1, -1
	for j := i + 3; j < n && j-i <= 1024; j++ {
		c := src[j]
		switch {
		case c == '@':
			at = j
		case c == ':':
			if colon < 0 {
				colon = j
			}
		case !isUserinfoChar(c):
			j = n
		}
	}
	if at < 0 {
		return i + 3
	}
	if colon >= 0 && colon+1 < at {
		ctx := i
		for ctx > s.floor && i-ctx < 32 && isLetter(src[ctx-1]) {
			ctx--
		}
		s.emit(colon+1, at, ctx, kURLPassword, false)
	}
	return at + 1
}
