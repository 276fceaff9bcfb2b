package redact

import "bytes"

// b64End returns the end of the run of base64url characters that starts at i.
func b64End(src []byte, i int) int {
	for i < len(src) && isB64URL(src[i]) {
		i++
	}
	return i
}

// jwtAt matches a JWS (three segments, RFC 7515 §7.1) or JWE (five segments,
// RFC 7516 §7.1) in compact serialisation at i: a protected header that starts
// eyJ (base64url of `{"`) and is at least 12 characters long, then '.'. A
// header followed by a single segment is taken too when the input ends there.
// It returns the end, or -1.
func jwtAt(src []byte, i int) int {
	n := len(src)
	if n-i < 13 || src[i] != 'e' || src[i+1] != 'y' || src[i+2] != 'J' || i > 0 && src[i-1] == '-' {
		return -1
	}
	j := b64End(src, i+3)
	if j-i < 12 || j >= n || src[j] != '.' {
		return -1
	}
	dots := 1
	k := b64End(src, j+1)
	for k < n && src[k] == '.' && dots < 4 {
		dots++
		k = b64End(src, k+1)
	}
	if dots >= 2 || k == n {
		return k
	}
	return -1
}

// runEnd returns the end of the run that starts at i of bytes for which ok
// holds.
func runEnd(src []byte, i int, ok func(byte) bool) int {
	for i < len(src) && ok(src[i]) {
		i++
	}
	return i
}

// vaultAt matches a HashiCorp Vault token at i: hvs. or hvb. and 24 or more
// base64url characters, or a legacy s. and 24 or more letters and digits of at
// least two of upper case, lower case and digits. It returns the end, or -1.
func vaultAt(src []byte, i int) int {
	if hasPrefixAt(src, i, "hvs.") || hasPrefixAt(src, i, "hvb.") {
		if e := b64End(src, i+4); e-i-4 >= 24 {
			return e
		}
		return -1
	}
	if !hasPrefixAt(src, i, "s.") || i > 0 && (src[i-1] == '.' || src[i-1] == '/') {
		return -1
	}
	e := runEnd(src, i+2, isAlnum)
	if e-i-2 < 24 || e < len(src) && (src[e] == '.' || src[e] == '-' || src[e] == '_') {
		return -1
	}
	var up, lo, dg int
	for _, c := range src[i+2 : e] {
		switch {
		case isUpper(c):
			up = 1
		case isLower(c):
			lo = 1
		default:
			dg = 1
		}
	}
	if up+lo+dg < 2 {
		return -1
	}
	return e
}

// awsAt matches an AWS access key id at i: AKIA (long-term) or ASIA
// (temporary) and 16 upper-case letters and digits. It returns the end, or -1.
func awsAt(src []byte, i int) int {
	if !hasPrefixAt(src, i, "AKIA") && !hasPrefixAt(src, i, "ASIA") {
		return -1
	}
	e := runEnd(src, i+4, isUpperDigit)
	if e-i != 20 || e < len(src) && isWord(src[e]) {
		return -1
	}
	return e
}

// stripeAt matches a Stripe secret or restricted key at i: sk_live_,
// rk_live_, sk_test_ or rk_test_ and 10 or more letters and digits. It returns
// the end, or -1.
func stripeAt(src []byte, i int) int {
	if len(src)-i < 8 || src[i] != 's' && src[i] != 'r' || src[i+1] != 'k' || src[i+2] != '_' ||
		!hasPrefixAt(src, i+3, "live_") && !hasPrefixAt(src, i+3, "test_") {
		return -1
	}
	if e := runEnd(src, i+8, isAlnum); e-i-8 >= 10 {
		return e
	}
	return -1
}

// githubAt matches a GitHub token at i: ghp_, gho_, ghu_, ghs_ or ghr_ and 30
// or more letters and digits, or github_pat_ and 22 or more word characters.
// It returns the end, or -1.
func githubAt(src []byte, i int) int {
	if hasPrefixAt(src, i, "github_pat_") {
		if e := runEnd(src, i+11, isWord); e-i-11 >= 22 {
			return e
		}
		return -1
	}
	if len(src)-i < 4 || src[i] != 'g' || src[i+1] != 'h' || src[i+3] != '_' {
		return -1
	}
	switch src[i+2] {
	case 'p', 'o', 'u', 's', 'r':
	default:
		return -1
	}
	if e := runEnd(src, i+4, isAlnum); e-i-4 >= 30 {
		return e
	}
	return -1
}

func isSlackChar(c byte) bool { return isAlnum(c) || c == '-' }

// slackAt matches a Slack token at i: xoxb-, xoxp-, xoxa-, xoxr- or xoxs- and
// 10 or more letters, digits and dashes. It returns the end, or -1.
func slackAt(src []byte, i int) int {
	if len(src)-i < 5 || !hasPrefixAt(src, i, "xox") || src[i+4] != '-' {
		return -1
	}
	switch src[i+3] {
	case 'b', 'p', 'a', 'r', 's':
	default:
		return -1
	}
	if e := runEnd(src, i+5, isSlackChar); e-i-5 >= 10 {
		return e
	}
	return -1
}

// MaxKeyBlock is the longest PEM private key block that is redacted as a
// block, from the first dash of its BEGIN line to the last dash of its END
// line, in bytes. It holds an RSA key of 8192 bits (about 6.5 KiB in PKCS#8,
// encrypted or not) with its line breaks escaped as \n, so every key a
// service logs by mistake fits; a certificate chain is not a private key and
// is left alone.
//
// A BEGIN line whose block does not end within the bound, with an END line of
// the same label, or whose body holds anything but base64 lines, line breaks
// (also escaped) and RFC 1421 headers, starts no block: an injected BEGIN
// line removes nothing from what the other detectors leave.
const MaxKeyBlock = 8 << 10

// minSpacedWord is the shortest run of base64 that a key body splits with a
// space on one line (all but its last line): PEM lines are 64 characters.
const minSpacedWord = 16

// pemAt matches a PEM private key block at i (RFC 7468 §2, with the RFC 1421
// headers of legacy encrypted keys): "-----BEGIN <label>PRIVATE KEY-----", a
// body of base64 text and line breaks, and "-----END <label>-----" with the
// same label, all within [MaxKeyBlock] bytes. Line breaks may be escaped
// (\n, \\n, \r\n) and lines indented, as logs and JSON write them. It
// returns the end of the block, or -1. When the input ends inside a block
// that is good so far and still within the bound, it returns len(src) and
// open: only a streaming Writer, which sees more input later, uses that.
func pemAt(src []byte, i int) (end int, open bool) {
	n := len(src)
	if n-i < 11 || src[i+1] != '-' || !hasPrefixAt(src, i, "-----BEGIN ") {
		return -1, false
	}
	lab := i + 11
	e := bytes.Index(src[lab:min(n, lab+64)], []byte("-----"))
	if e < 0 || !bytes.HasSuffix(src[lab:lab+e], []byte("PRIVATE KEY")) {
		return -1, false
	}
	label := src[lab : lab+e]
	for _, c := range label {
		if !isUpper(c) && !isDigit(c) && c != ' ' {
			return -1, false
		}
	}
	limit := min(n, i+MaxKeyBlock)
	lineStart := true
	// Words of base64 on one line are split by spaces only where a key's
	// line breaks became spaces: every word but the last is then a whole
	// line of the key, 16 characters or more. Prose is not a key body.
	word, prev, spaced := 0, 0, false
	b64 := func() bool {
		if word == 0 && spaced && prev < minSpacedWord {
			return false
		}
		word++
		return true
	}
	space := func() {
		if word > 0 {
			prev, spaced = word, true
		}
		word = 0
	}
	newline := func() { word, prev, spaced, lineStart = 0, 0, false, true }
	for k := lab + e + 5; k < limit; {
		c := src[k]
		switch {
		case lineStart && (c == 'P' && hasPrefixAt(src, k, "Proc-Type:") || c == 'D' && hasPrefixAt(src, k, "DEK-Info:")):
			// A header: its name, spaces, and a value without spaces.
			k += len("DEK-Info:")
			if c == 'P' {
				k += len("Proc-Type:") - len("DEK-Info:")
			}
			for k < limit && src[k] == ' ' {
				k++
			}
			for k < limit && (isAlnum(src[k]) || src[k] == ',' || src[k] == '-') {
				k++
			}
			lineStart, word, prev, spaced = false, 0, 0, false
		case isAlnum(c) || c == '+' || c == '/' || c == '=':
			if !b64() {
				return -1, false
			}
			k++
			lineStart = false
		case c == ' ' || c == '\t':
			space()
			k++
			lineStart = true
		case c == '\r' || c == '\n':
			newline()
			k++
		case c == '\\':
			// An escaped line break, tab or slash, escaped once or more.
			for k < limit && src[k] == '\\' {
				k++
			}
			if k == limit {
				break
			}
			switch src[k] {
			case 'n', 'r':
				newline()
			case 't':
				space()
				lineStart = true
			case '/':
				if !b64() {
					return -1, false
				}
				lineStart = false
			default:
				return -1, false
			}
			k++
		case c == '-':
			return pemEnd(src, i, k, label)
		default:
			return -1, false
		}
	}
	if n <= i+MaxKeyBlock {
		return n, true
	}
	return -1, false
}

// pemEnd matches "-----END <label>-----" at k, closing the block opened at i.
func pemEnd(src []byte, i, k int, label []byte) (end int, open bool) {
	e := k + len("-----END ") + len(label) + len("-----")
	if e-i > MaxKeyBlock {
		return -1, false
	}
	// The marker, compared as far as the input goes.
	for j := k; j < e; j++ {
		if j == len(src) {
			return len(src), true
		}
		var want byte
		switch o := j - k; {
		case o < 9:
			want = "-----END "[o]
		case o < 9+len(label):
			want = label[o-9]
		default:
			want = '-'
		}
		if src[j] != want {
			return -1, false
		}
	}
	return e, false
}

// whsecAt matches a webhook signing secret at i: whsec_ and 20 or more
// base64 characters (Stripe, Svix). It returns the end, or -1.
func whsecAt(src []byte, i int) int {
	if !hasPrefixAt(src, i, "whsec_") {
		return -1
	}
	e := runEnd(src, i+6, func(c byte) bool { return isB64URL(c) || c == '+' || c == '/' || c == '=' })
	if e-i-6 >= 20 {
		return e
	}
	return -1
}

// whskAt matches a Standard Webhooks v1a (Ed25519) private key at i: whsk_
// and 20 or more base64 characters (its seed, 44 of them). The public key,
// whpk_, is not secret. It returns the end, or -1.
func whskAt(src []byte, i int) int {
	if !hasPrefixAt(src, i, "whsk_") {
		return -1
	}
	e := runEnd(src, i+5, func(c byte) bool { return isB64URL(c) || c == '+' || c == '/' || c == '=' })
	if e-i-5 >= 20 {
		return e
	}
	return -1
}

// webhookURLAt matches a chat webhook URL whose "://" is at i, from its
// scheme to the end of the URL, and returns its bounds, or end -1. Its path
// (and for Workflows its signed query) is the credential: Slack
// hooks.slack.com/…, Discord (discord.com, discordapp.com and their ptb. and
// canary. hosts) /api/webhooks/…, Microsoft Teams *.webhook.office.com and
// outlook.office.com/webhook/…, Power Automate Workflows
// *.logic.azure.com/workflows/…, Google Chat chat.googleapis.com/v1/spaces/….
func webhookURLAt(src []byte, i, floor int) (start, end int) {
	st := i
	for st > floor && i-st < 8 && isLetter(src[st-1]) {
		st--
	}
	if i-st < 4 || toLower(src[st]) != 'h' {
		return 0, -1 // http or https
	}
	h := i + 3
	he := h
	for he < len(src) && he-h < 256 && (isLabelChar(src[he]) || src[he] == '.') {
		he++
	}
	host := src[h:he]
	if he < len(src) && src[he] == ':' { // a port
		he++
		for he < len(src) && isDigit(src[he]) {
			he++
		}
	}
	if he >= len(src) || src[he] != '/' {
		return 0, -1
	}
	hostIs := func(name string) bool {
		return len(host) == len(name) && hasSuffixFold(host, name, false)
	}
	hostUnder := func(name string) bool {
		return len(host) > len(name) && host[len(host)-len(name)-1] == '.' && hasSuffixFold(host, name, false)
	}
	var need string // what the path must hold
	switch {
	case len(host) < 10:
		return 0, -1
	case hostIs("hooks.slack.com"):
		need = "/"
	case hostIs("discord.com") || hostIs("discordapp.com") || hostUnder("discord.com") || hostUnder("discordapp.com"):
		need = "/webhooks/"
	case hostUnder("webhook.office.com"):
		need = "/"
	case hostIs("outlook.office.com") || hostIs("outlook.office365.com"):
		need = "/webhook"
	case hostUnder("logic.azure.com"):
		need = "/workflows/"
	case hostIs("chat.googleapis.com"):
		need = "/spaces/"
	default:
		return 0, -1
	}
	e := he
	for e < len(src) && isURLChar(src[e]) {
		e++
	}
	if path := src[he:e]; len(path) > 1 && indexFold(path, need) >= 0 {
		return st, e
	}
	return 0, -1
}

// isURLChar reports the characters a URL in a log line is made of (RFC 3986
// §2), '%' included.
func isURLChar(c byte) bool {
	return isUserinfoChar(c) || c == '/' || c == '?' || c == '#' || c == ':' || c == '@' || c == '[' || c == ']'
}

// indexFold returns the index of the lower-case p in b, ignoring ASCII case,
// or -1.
func indexFold(b []byte, p string) int {
	for k := 0; k+len(p) <= len(b); k++ {
		if hasSuffixFold(b[:k+len(p)], p, false) {
			return k
		}
	}
	return -1
}
