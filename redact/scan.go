package redact

import "slices"

// match is one value to replace: src[start:end]. ctx is where the text that
// made it a match begins (a key name, a URL scheme), so that a streaming cut
// never separates the two.
type match struct {
	start, end int
	ctx        int
	kind       int  // a built-in index, or numBuiltin+i for a custom kind
	open       bool // a PEM block that the input ended inside
	merged     bool // overlapping matches joined into one
}

// scanner runs the built-in detectors over src in one pass, left to right.
// Every handler returns a position past the one it was called at, and every
// look-ahead or look-behind is bounded or skipped over afterwards, so a scan is
// linear in len(src).
//
// A scanner either collects its matches in ms or, when r is set, renders
// them straight into out, which keeps a scan that finds nothing free of
// allocations.
type scanner struct {
	src   []byte
	floor int    // end of the last match: matches start at or after it
	off   uint32 // built-in detectors switched off, by index
	ms    []match

	// stream: more input follows src (a Writer's line), so a key block
	// that src ends inside is a match, reported open.
	stream bool

	r     *Redactor // render mode
	out   []byte
	found int

	// The last run scanned for the end of an unquoted value: its end does not
	// depend on where in the run a scan starts, so a value that starts inside
	// it ends where it does. This keeps nested key=value pairs linear.
	runFrom, runTo int
	runLine        bool

	// The end of the last string (escTo) and run of query key characters
	// (encTo) that encodedKey looked at: the escapes before it are done.
	escTo, encTo int

	simd simdKind    // how run finds the bytes worth a visit
	tabs *laneTables // for simdAVX512
}

func (s *scanner) on(k int) bool { return s.off&(1<<k) == 0 }

func (s *scanner) emit(start, end, ctx, kind int, open bool) {
	if start < s.floor { // a handler that looked back into the last match
		if end <= s.floor {
			return
		}
		start = s.floor
	}
	if s.r != nil {
		if s.found == 0 {
			s.out = slices.Grow(s.out, len(s.src)+64)
		}
		s.out = append(s.out, s.src[s.floor:start]...)
		s.out = s.r.replace(s.out, s.src[start:end], kind, false)
	} else {
		s.ms = append(s.ms, match{start: start, end: end, ctx: ctx, kind: kind, open: open})
	}
	s.found++
	s.floor = end
}

// wordStart reports whether a word starts at i.
func (s *scanner) wordStart(i int) bool { return i == 0 || !isWord(s.src[i-1]) }

func (s *scanner) run() {
	if s.simd != simdNone && len(s.src) >= maskedMin {
		s.runMasked()
		return
	}
	src := s.src
	n := len(src)
	for i := 0; i < n; {
		// Most bytes anchor nothing: skip them four at a time.
		for i+4 <= n {
			b := src[i : i+4 : i+4]
			if (charClass[b[0]]|charClass[b[1]]|charClass[b[2]]|charClass[b[3]])&classMask != cNone {
				break
			}
			i += 4
		}
		for i < n && charClass[src[i]]&classMask == cNone {
			i++
		}
		if i >= n {
			break
		}
		i = s.visit(i)
	}
}

// visit handles the byte at i, which anchors a detector, and returns where
// scanning goes on: always past i.
func (s *scanner) visit(i int) int {
	src := s.src
	n := len(src)
	switch charClass[src[i]] & classMask {
	case cDigit:
		// The check digits of an IBAN written in lower case (de89…): the
		// letters before them anchor nothing.
		if i >= 2 && isLower(src[i-1]) && isLower(src[i-2]) && i+1 < n && isDigit(src[i+1]) {
			if e := s.lowerIBAN(i - 2); e > i-1 {
				return e
			}
		}
		// A short number standing alone, the most common case, is skipped
		// here without a call.
		j := i + 1
		for j < n && isDigit(src[j]) {
			j++
		}
		if j-i < 9 && !joinAt(src, j) {
			// A UUID (request and order ids) is skipped whole: no card
			// or phone number is looked for inside one anyway.
			if i+36 <= n && src[i+8] == '-' && s.wordStart(i) && uuidAt(src, i) {
				return i + 36
			}
			return skipWord(src, j)
		}
		return s.digit(i, j)
	case cUpper:
		// An IBAN starts [A-Z]{2}[0-9]{2}, perhaps with a space or a dash
		// before or between the check digits, an AWS key AKIA or ASIA; a
		// JWT's eyJ is anchored at the J; nothing else starts with upper
		// case.
		if src[i] != 'J' && (i+3 >= n || !ibanHeadByte(src[i+2]) || !ibanHeadByte(src[i+3])) &&
			(src[i] != 'A' || i+1 >= n || src[i+1] != 'K' && src[i+1] != 'S') {
			return skipWord(src, i+1)
		}
		return s.upper(i)
	case cAt:
		return s.at(i)
	case cColon, cEquals:
		// Most keys end in two bytes no secret key name ends in: a JSON key
		// ("level":), an escaped one (\"level\":), a bare one (level=), or
		// the digits of a time (10:30).
		if k := i - 1; k >= 3 && src[k] != ' ' && src[k] != '\t' {
			if src[k] == '"' || src[k] == '\'' {
				k--
				if src[k] == '\\' {
					k--
				}
			}
			if !mayEndSecretKey(src[k-1], src[k]) && (src[i] != ':' || i+1 >= n || src[i+1] != '/') {
				return i + 1
			}
		}
		return s.separator(i)
	case cPlus:
		return s.plus(i)
	case cParen:
		return s.paren(i)
	case cDash:
		if (i+1 >= n || src[i+1] != '-') && (i < 4 || src[i-3] != 'o') {
			return i + 1
		}
		return s.dash(i)
	case cUnderscore:
		if i < 2 || src[i-1] != 'k' && src[i-2] != 'h' && src[i-1] != 'b' && src[i-1] != 'c' {
			return i + 1
		}
		return s.underscore(i)
	case cDot:
		if i == 0 || src[i-1] != 's' && src[i-1] != 'b' {
			return i + 1
		}
		return s.dot(i)
	case cEscape:
		return s.escape(i)
	case cNone:
		// Only the masked scan visits a lower-case letter: the start of an
		// IBAN in lower case (de89…), which the plain scan finds from its
		// check digits.
		if isLower(src[i]) && i+3 < n && isLower(src[i+1]) && isDigit(src[i+2]) && isDigit(src[i+3]) {
			return s.lowerIBAN(i)
		}
	}
	return i + 1
}

// lowerIBAN matches an IBAN written in lower case that starts at i, a word
// start, and returns where scanning goes on.
func (s *scanner) lowerIBAN(i int) int {
	if i >= s.floor && s.wordStart(i) && s.on(kIBAN) {
		if e := ibanAt(s.src, i); e > i {
			s.emit(i, e, i, kIBAN, false)
			return e
		}
	}
	return i + 1
}

// tokenAt reports whether a prefixed token may start at st: at a word start,
// not before the last match and not right after a '-' (base64url and Slack
// tokens contain dashes, so a dash joins st to what precedes it). Callers ask
// before scanning the token, which keeps a run of prefixes linear.
func (s *scanner) tokenAt(st int) bool {
	return st >= s.floor && s.wordStart(st) && (st == 0 || s.src[st-1] != '-')
}

// token emits the token src[st:e] when e lies past the anchor at i, and
// returns where to go on.
func (s *scanner) token(i, st, e, kind int) int {
	if e > i {
		s.emit(st, e, st, kind, false)
		return e
	}
	return i + 1
}

func (s *scanner) upper(i int) int {
	src := s.src
	if src[i] == 'J' && i >= 2 && src[i-1] == 'y' && src[i-2] == 'e' {
		if s.on(kJWT) && s.tokenAt(i-2) {
			return s.token(i, i-2, jwtAt(src, i-2), kJWT)
		}
		return i + 1
	}
	if !s.wordStart(i) {
		return skipWord(src, i+1) // no token starts inside a word
	}
	if s.on(kIBAN) {
		if e := ibanAt(src, i); e > i {
			s.emit(i, e, i, kIBAN, false)
			return e
		}
	}
	if src[i] == 'A' && s.on(kAWS) {
		if e := awsAt(src, i); e > i {
			s.emit(i, e, i, kAWS, false)
			return e
		}
	}
	return skipWord(src, i+1)
}

// digit handles a run of digits that starts at i and whose first group ends
// at j.
func (s *scanner) digit(i, j int) int {
	src := s.src
	n := len(src)
	if i > 0 && isWord(src[i-1]) {
		return skipWord(src, j) // inside a word: a hex id, an IBAN, a version tag
	}
	if j-i >= 9 && !joinAt(src, j) {
		// One group of nine digits or more and nothing joined to it, the
		// most common long number (ids, epoch times): it may be a card,
		// never a national phone number, which has groups.
		return s.compact(i, j)
	}
	if j-i == 4 && src[j] == '-' {
		// An RFC 3339 timestamp, which starts most JSON log lines, in
		// one step: its fixed fields hold no card or phone number.
		if e := timestampAt(src, i); e > 0 {
			return e
		}
	}
	// Count the digits of the span of joined groups: fewer than nine make
	// neither a card nor a national phone number. A group may go on in
	// digits a JSON encoder escaped (4\u0031\u0031\u0031).
	total, first := j-i, j
	if j < n && src[j] == '\\' {
		first, total = groupAt(src, i)
		j = first
	}
	for total < 9 && j < n {
		l := 1
		if c := src[j]; c != ' ' && c != '-' && c != '.' || j+1 >= n || !isDigit(src[j+1]) {
			// Past the common case of one space, dash or dot.
			if l = cardSepAt(src, j); l == 0 || digitUnit(src, j+l) == 0 {
				break
			}
		}
		e, d := groupAt(src, j+l)
		total += d
		j = e
	}
	if total < 9 {
		// The groups after the first hold fewer digits still; a separator
		// between them (a '+') may anchor something else.
		return skipWord(src, first)
	}
	if s.on(kCard) || s.on(kPhone) {
		j = s.numeric(i)
	}
	return skipWord(src, j)
}

// compact handles the digits src[i:j], nine or more, that stand alone: it
// finds what numeric would, in fewer steps.
func (s *scanner) compact(i, j int) int {
	src := s.src
	if d := j - i; d >= 12 && d <= 19 && s.on(kCard) && cardEndOK(src, j) && validCard(src[i:j]) &&
		!(i > 1 && (src[i-1] == '.' || src[i-1] == ',') && isDigit(src[i-2])) && !inUUID(src, i, j) {
		s.emit(i, j, i, kCard, false)
		return j
	}
	return skipWord(src, j)
}

// numeric walks the digit groups joined by card separators that start at i,
// trying a card, then a national phone number, at each group. It returns
// where the walk stopped.
//
// A value is redacted whole or not at all. Groups of the same number of
// digits, three to six, joined by one and the same separator make one run,
// as account, reference and tracking numbers are printed (6494 0423 0241
// 6655, 9400 1000 0000 0000 0000 00), and a later group of a run starts no
// value of its own: a phone number there is not one (0423 0241 6655) unless
// the run follows the head of an IBAN ([valueSpan]); a card there that
// holds 13 digits or more takes the whole run, however long, unless the run
// is a USPS tracking number ([uspsTracking]); a 12-digit Maestro number
// there is none. A card that a run goes on past takes the rest of the run
// ([cardRunEnd]): a card number is never redacted in part, nor left in a
// longer run (ref 1234 4111 1111 1111 1111 is redacted whole).
func (s *scanner) numeric(i int) int {
	src := s.src
	// A group following a decimal point (also one that joins two groups) is
	// a fraction; a dash carries that over to the next group, other
	// separators do not.
	tainted := i > 1 && (src[i-1] == '.' || src[i-1] == ',') && isDigit(src[i-2])
	cont := false     // the group at g may go on the run before it
	var runSep []byte // the separator of that run
	runSize := 0      // the digits of each of its groups
	runStart, runDigits := i, 0
	for g := i; ; {
		ge, gd := groupAt(src, g)
		inside := cont && gd == runSize
		if !inside {
			runStart, runDigits = g, 0
		}
		if !tainted {
			if s.on(kCard) {
				if e := cardAt(src, g); e > g && !inUUID(src, g, e) {
					st := g
					if inside {
						var d [20]byte
						nd := len(cardDigits(d[:0], src[g:e]))
						st = runStart
						if nd < 13 || runDigits+nd > 19 && uspsTracking(src, runStart, runSep) {
							st = -1
						}
					}
					if st >= 0 {
						e = cardRunEnd(src, g, e)
						s.emit(st, e, st, kCard, false)
						return e
					}
				}
			}
			if s.on(kPhone) && isDigit(src[g]) {
				if e := nationalPhoneAt(src, g); e > g && !inUUID(src, g, e) {
					if st, en := valueSpan(src, g, e, s.floor); !inside || st < g {
						s.emit(st, en, st, kPhone, false)
						return en
					}
				}
			}
		}
		runDigits += gd
		// The walk stops at a plus, which may start a phone number.
		if l := cardSepAt(src, ge); l > 0 && src[ge] != '+' && digitUnit(src, ge+l) > 0 {
			switch {
			case l == 1 && (src[ge] == '.' || src[ge] == ','):
				tainted = true
			case l == 1 && src[ge] == '-':
			default:
				tainted = false
			}
			sep := src[ge : ge+l]
			cont = gd >= 3 && gd <= 6 && (!inside || string(sep) == string(runSep))
			runSep, runSize = sep, gd
			g = ge + l
			continue
		}
		return ge
	}
}

// uspsTracking reports whether the digit groups joined by sep from k hold a
// USPS tracking number, which a card found inside a run does not take: the
// 22-digit package identification code of the Intelligent Mail package
// barcode (USPS Publication 199, IMpb Implementation Guide: channel
// application identifier 92 to 95, service type code, mailer ID, serial
// number), whose last digit is the USPS Mod 10 check digit over the 21
// before it (weights 3 and 1 from the right, as GS1 check digits). Only the
// check-digit-valid 22-digit form counts: the 20-digit shape is exactly a
// four-digit group and a 16-digit card, and without the check one card in
// ten planted after a 94xx group would still pass. Only the printed form
// counts, groups of four and two digits at the end (9400 1000 0000 0000 0000
// 00). A card inside a valid code is the price of keeping real tracking
// numbers: about one in 25 holds a Luhn-valid card range at a group
// boundary, and without the exemption the corpus keeps 96.05% of grouped
// USPS numbers.
func uspsTracking(src []byte, k int, sep []byte) bool {
	var d [22]byte
	n := 0
	for {
		ge, gd := groupAt(src, k)
		if !(gd == 4 && n <= 16 || gd == 2 && n == 20) {
			return false // printed in fours with two at the end
		}
		groupDigits(d[n:n+gd], src, k, ge)
		n += gd
		l := cardSepAt(src, ge)
		if l == 0 || string(src[ge:ge+l]) != string(sep) || digitUnit(src, ge+l) == 0 {
			break
		}
		k = ge + l
	}
	if n != len(d) || d[0] != '9' || d[1] < '2' || d[1] > '5' {
		return false
	}
	sum := 0
	for j := 20; j >= 0; j-- {
		v := int(d[j] - '0')
		if (20-j)%2 == 0 {
			v *= 3
		}
		sum += v
	}
	return (10-sum%10)%10 == int(d[21]-'0')
}

// cardRunEnd returns the end of the card number src[g:e] widened over the rest
// of the run its last group is in: the groups after it of three to six
// digits joined by the separator of its last join, so that a card followed
// by more digits (4111 1111 1111 1111 123) is redacted with them.
func cardRunEnd(src []byte, g, e int) int {
	if !joinAt(src, e) {
		return e // the common case: nothing joined after the card
	}
	var sep []byte
	ke, kd := groupAt(src, g)
	for ke < e {
		l := cardSepAt(src, ke)
		if l == 0 {
			return e
		}
		sep = src[ke : ke+l]
		ke, kd = groupAt(src, ke+l)
	}
	if ke != e || kd < 3 || kd > 6 {
		return e // a card in one group, or one that ends in a long group
	}
	for {
		l := cardSepAt(src, e)
		if l == 0 || src[e] == '+' || string(src[e:e+l]) != string(sep) {
			return e
		}
		ne, nd := groupAt(src, e+l)
		if nd < 3 || nd > 6 || ne < len(src) && isWord(src[ne]) {
			return e
		}
		e = ne
	}
}

// joinAt reports whether a separator at j joins the digits before it to
// more digits, or an escaped digit (\u0031) continues them: the short number
// before it may be part of a card or phone number.
func joinAt(src []byte, j int) bool {
	if j >= len(src) || cardSepStart[src[j]] == 0 {
		return false
	}
	return joinRun(src, j)
}

func joinRun(src []byte, j int) bool {
	if digitUnit(src, j) > 0 {
		return true
	}
	l := cardSepAt(src, j)
	return l > 0 && digitUnit(src, j+l) > 0
}

// escape handles a '\\' or a '%': the first digit of a card that a JSON
// encoder escaped (\u0034\u0031…), the '@' of an e-mail address escaped
// (\u0040) or URL-encoded (%40), or an escape in a key name or separator
// ([scanner.encodedKey]).
func (s *scanner) escape(i int) int {
	src := s.src
	if src[i] == '\\' && (s.on(kCard) || s.on(kPhone)) && digitUnit(src, i) == 6 && s.wordStart(i) {
		if e := s.numeric(i); e > i {
			return e
		}
	}
	if l := atSignAt(src, i); l > 1 && s.on(kEmail) {
		if st, e := emailAt(src, i, l, s.floor); e > i {
			s.emit(st, e, st, kEmail, false)
			return e
		}
	}
	if s.on(kSecret) {
		return s.encodedKey(i)
	}
	return i + 1
}

// valueSpan widens the national phone number src[g:e] to the grouped value
// it is part of, so that a value is redacted whole or not at all: an IBAN in
// print form that no detector took, an account or tracking number. The value
// runs on over groups of digits and capitals that start with a digit, and
// back over up to four groups of digits and capitals to one that starts as
// an IBAN does (JO95 CBJO 0010 0000 …, DK 50 0040 …; not TEL 020 …), each joined by one
// space, dash or dot, not back past floor.
func valueSpan(src []byte, g, e, floor int) (int, int) {
	for e+1 < len(src) && isPhoneSep(src[e]) && isDigit(src[e+1]) {
		k := e + 1
		for k < len(src) && isUpperDigit(src[k]) {
			k++
		}
		if k < len(src) && isWord(src[k]) {
			break
		}
		e = k
	}
	// Back over groups of digits and capitals as far as one that starts as
	// an IBAN does (JO95): a date or a word before a phone number stays.
	start := g
	for at, groups := g, 0; groups < 4 && at-2 >= floor && isPhoneSep(src[at-1]) && isUpperDigit(src[at-2]); groups++ {
		k := at - 2
		for k > floor && at-1-k < 8 && isUpperDigit(src[k-1]) {
			k--
		}
		if k > 0 && isWord(src[k-1]) {
			break
		}
		if at-1-k >= 4 && isUpper(src[k]) && isUpper(src[k+1]) && isDigit(src[k+2]) && isDigit(src[k+3]) {
			start = k
			break
		}
		if c := k - 3; at-1-k == 2 && c >= floor && isDigit(src[k]) && isPhoneSep(src[k-1]) && ibanLength(src[c], src[c+1]) > 0 &&
			(c == 0 || !isWord(src[c-1])) {
			start = c // the check digits set apart (DK 50 0040 …)
			break
		}
		at = k
	}
	return start, e
}

// inUUID reports whether src[g:e] lies inside an RFC 9562 UUID.
func inUUID(src []byte, g, e int) bool {
	// A UUID that holds g starts at g, with a dash 8 bytes on, or g follows
	// one of its dashes.
	if (g+8 >= len(src) || src[g+8] != '-') && (g == 0 || src[g-1] != '-') {
		return false
	}
	for _, off := range [...]int{0, 9, 14, 19, 24} {
		if u := g - off; u >= 0 && (u == 0 || !isWord(src[u-1])) && uuidAt(src, u) {
			return e <= u+36
		}
	}
	return false
}

func (s *scanner) at(i int) int {
	if s.on(kEmail) {
		if st, e := emailAt(s.src, i, 1, s.floor); e > i {
			s.emit(st, e, st, kEmail, false)
			return e
		}
	}
	return i + 1
}

func (s *scanner) separator(i int) int {
	src := s.src
	if src[i] == ':' && i+2 < len(src) && src[i+1] == '/' && src[i+2] == '/' {
		if s.on(kWebhook) {
			if st, e := webhookURLAt(src, i, s.floor); e > i {
				s.emit(st, e, st, kWebhook, false)
				return e
			}
		}
		if s.on(kURLPassword) {
			return s.userinfo(i)
		}
		return i + 3
	}
	if s.on(kSecret) {
		return s.keyValue(i)
	}
	return i + 1
}

func (s *scanner) plus(i int) int {
	if s.on(kPhone) {
		if e := intlPhoneAt(s.src, i); e > i {
			s.emit(i, e, i, kPhone, false)
			return e
		}
	}
	return i + 1
}

func (s *scanner) paren(i int) int {
	if s.on(kPhone) {
		if e := parenPhoneAt(s.src, i); e > i {
			s.emit(i, e, i, kPhone, false)
			return e
		}
	}
	return i + 1
}

func (s *scanner) dash(i int) int {
	src := s.src
	if i+1 < len(src) && src[i+1] == '-' {
		if s.on(kPrivateKey) {
			if e, open := pemAt(src, i); e > i && (!open || s.stream) {
				s.emit(i, e, i, kPrivateKey, open)
				return e
			}
		}
		return i + 1
	}
	if i >= 4 && src[i-3] == 'o' && s.on(kSlack) && s.tokenAt(i-4) {
		return s.token(i, i-4, slackAt(src, i-4), kSlack)
	}
	return i + 1
}

func (s *scanner) underscore(i int) int {
	src := s.src
	switch {
	case i >= 2 && src[i-1] == 'k' && s.on(kStripe) && s.tokenAt(i-2):
		return s.token(i, i-2, stripeAt(src, i-2), kStripe)
	case i >= 3 && src[i-2] == 'h' && s.on(kGitHub) && s.tokenAt(i-3):
		return s.token(i, i-3, githubAt(src, i-3), kGitHub)
	case i >= 6 && src[i-1] == 'b' && s.on(kGitHub) && s.tokenAt(i-6):
		return s.token(i, i-6, githubAt(src, i-6), kGitHub)
	case i >= 5 && src[i-1] == 'c' && s.on(kWebhook) && s.tokenAt(i-5):
		return s.token(i, i-5, whsecAt(src, i-5), kWebhook)
	case i >= 4 && src[i-1] == 'k' && src[i-3] == 'h' && s.on(kWebhook) && s.tokenAt(i-4):
		return s.token(i, i-4, whskAt(src, i-4), kWebhook)
	}
	return i + 1
}

func (s *scanner) dot(i int) int {
	src := s.src
	if i == 0 || src[i-1] != 's' && src[i-1] != 'b' || !s.on(kVault) {
		return i + 1
	}
	if i >= 3 && src[i-2] == 'v' {
		if s.tokenAt(i - 3) {
			return s.token(i, i-3, vaultAt(src, i-3), kVault)
		}
		return i + 1
	}
	if s.tokenAt(i - 1) {
		return s.token(i, i-1, vaultAt(src, i-1), kVault)
	}
	return i + 1
}

// timestampAt returns the end of the RFC 3339 date-time that starts at i,
// "2026-11-23T10:00:00.123456789+01:00", with at most nine fraction digits
// and not followed by a word character, or -1.
func timestampAt(src []byte, i int) int {
	const n = len("2026-11-23T10:00:00")
	if len(src)-i < n {
		return -1
	}
	t := src[i : i+n : i+n]
	// The separators first: a date alone, a range or an id fails on them.
	if t[4] != '-' || t[7] != '-' || t[10] != 'T' && t[10] != 't' && t[10] != ' ' || t[13] != ':' || t[16] != ':' {
		return -1
	}
	for _, k := range [...]int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18} {
		if !isDigit(t[k]) {
			return -1
		}
	}
	e := i + n
	if e < len(src) && src[e] == '.' {
		d := digitsAt(src, e+1)
		if d == 0 || d > 9 {
			return -1
		}
		e += 1 + d
	}
	if e < len(src) && (src[e] == 'Z' || src[e] == 'z') {
		e++
	} else if e+6 <= len(src) && (src[e] == '+' || src[e] == '-') && isDigit(src[e+1]) && isDigit(src[e+2]) &&
		src[e+3] == ':' && isDigit(src[e+4]) && isDigit(src[e+5]) {
		e += 6
	}
	if e < len(src) && isWord(src[e]) {
		return -1
	}
	return e
}
