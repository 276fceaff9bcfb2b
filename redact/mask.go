package redact

import (
	"math/bits"
	"strings"
)

// The masked scan: on CPUs with wide vector instructions, the scanner first
// computes, 64 bytes at a time, a mask of candidates, one bit a byte: the
// anchors of [scanner.visit] that may do more than step over themselves. A
// clean log line has about a hundred anchors (key colons, short numbers,
// upper-case words) and a dozen candidates, and visiting an anchor costs more
// than classifying a block.
//
// Candidates are a superset of the anchors whose visit does anything: every
// anchor left out is one whose visit would only move on, whatever came before
// it. The scan visits the candidates in order with the same visit as the
// plain scan, so both find the same matches; FuzzMaskedScan holds them to it.

// simdKind says how a scanner finds the bytes worth a visit.
type simdKind uint8

const (
	simdNone    simdKind = iota // the plain scan over charClass
	simdGeneric                 // the masked scan, classified in Go (for tests)
	simdAVX512                  // the masked scan, classified with AVX-512
)

// maskedMin is the shortest input the masked scan takes: below it (measured
// on slog JSON lines), classifying the padded first and last blocks costs
// more than the plain scan.
const maskedMin = 192

// chunkBlocks is how many 64-byte blocks the masked scan classifies at once.
const chunkBlocks = 16

// Bytes of context the classifier reads around a block.
const (
	blockBefore = 3
	blockAfter  = 8
)

// isQuote reports the quotes a key may stand in.
func isQuote(c byte) bool { return c == '"' || c == '\'' }

// pairAt reports whether a and b, in any case, may be the last two letters
// of a secret key name that secretKey takes: rd wd, et ey en, on op, in ie,
// se de, vv vc ls al. Six groups cannot hold the last three exactly: the
// pairs vs vl lv lc ll av ac as pass too and are refused by
// mayEndSecretKey in the visit.
func pairAt(a, b byte) bool { return pairPrev(a)&pairLast(b) != 0 }

// keyEnd reports whether a separator after the bytes a and b ends a key that
// may be secret: b is a space or a tab, or a quote after a backslash, or a
// and b are a pair of pairAt. The vector code computes it as keyPrev(a) &
// keyLast(b), from two tables.
func keyEnd(a, b byte) bool { return keyPrev(a)&keyLast(b) != 0 }

// keyPrev and keyLast extend pairPrev and pairLast with bit 6, always set in
// keyPrev and set for a space or a tab in keyLast, and bit 7, set for a
// backslash in keyPrev and for a quote in keyLast.
func keyPrev(c byte) byte {
	k := pairPrev(c) | 1<<6
	if c == '\\' {
		k |= 1 << 7
	}
	return k
}

func keyLast(c byte) byte {
	k := pairLast(c)
	if c == ' ' || c == '\t' {
		k |= 1 << 6
	}
	if isQuote(c) {
		k |= 1 << 7
	}
	return k
}

// pairPrev returns the groups of pairAt in which c is the first letter;
// pairLast, those in which it is the second.
func pairPrev(c byte) byte {
	switch toLower(c) {
	case 'r', 'w':
		return 1 << 0
	case 'e':
		return 1 << 1
	case 'o':
		return 1 << 2
	case 'i':
		return 1 << 3
	case 's', 'd':
		return 1 << 4
	case 'v', 'l', 'a':
		return 1 << 5
	}
	return 0
}

func pairLast(c byte) byte {
	switch toLower(c) {
	case 'd':
		return 1 << 0
	case 't', 'y':
		return 1 << 1
	case 'n':
		return 1<<1 | 1<<2 | 1<<3
	case 'p':
		return 1 << 2
	case 'e':
		return 1<<3 | 1<<4
	case 'v', 'c', 's', 'l':
		return 1 << 5
	}
	return 0
}

// candidateAt reports whether the byte at x is a candidate: the definition
// the vector code computes 64 bytes at a time. Bytes outside src count as
// NUL. Each term mirrors the test in [scanner.visit], or in the handler it
// calls, that lets the other anchors of its class pass.
func candidateAt(src []byte, x int) bool {
	at := func(k int) byte {
		if k >= 0 && k < len(src) {
			return src[k]
		}
		return 0
	}
	eq := func(c byte, set string) bool { return strings.IndexByte(set, c) >= 0 }
	c, c1, c2, c3, n1 := at(x), at(x-1), at(x-2), at(x-3), at(x+1)
	ws := !isWord(c1) // a word starts at x
	ds := func(c byte) bool { return isDigit(c) || isCardSepByte(c) }
	switch {
	case c == '@' || c == '+' || c == '(' || c == '\\' || c == '%':
		return true
	case isDigit(c):
		// A card or a national phone number has nine digits or more, in
		// groups joined by separators: a span of nine bytes that starts a
		// word, with digits or separator bytes at x+1, x+4 and x+8 (any
		// byte from DEL up counts, as the vector code sees them all as DEL).
		// The date of a timestamp is one.
		return ws && ds(n1) && ds(at(x+4)) && ds(at(x+8))
	case isLetter(c):
		// An IBAN, [A-Za-z]{2}[0-9]{2} with perhaps a space or a dash
		// before or between its check digits (DK 50 0040…, PK3 6…), or an
		// AWS key, AKIA or ASIA, at a word start; the J of eyJ (with the
		// '.' and '_' below).
		return ws && ibanHeadByte(at(x+2)) && ibanHeadByte(at(x+3)) ||
			c == 'A' && ws && eq(n1, "KS") ||
			c == 'J' && eq(c1, "ysbkc")
	case c == '.' || c == '_':
		// s. hvs. hvb. sk_ rk_ ghp_ github_pat_ whsec_
		return eq(c1, "ysbkc") || c == '_' && eq(c2, "h")
	case c == '-':
		return eq(n1, "-") || eq(c3, "o") // -----BEGIN, xoxb-
	case c == ':' || c == '=':
		// After a space, before "//", or after a key that may be secret:
		// bare, quoted, or quoted and escaped.
		return n1 == '/' || keyEnd(c2, c1) || isQuote(c1) && keyEnd(c3, c2)
	}
	return false
}

// classifyGeneric returns the candidates of the block at p, found one byte
// at a time.
func classifyGeneric(src []byte, p int) uint64 {
	var m uint64
	for k := range 64 {
		if candidateAt(src, p+k) {
			m |= 1 << k
		}
	}
	return m
}

// The lanes of laneTables: each bit of a class byte is one test of
// candidateAt that looks at single bytes only.
const (
	laneDigit  = iota // a digit at a word start before digits or separators
	laneUpper         // a letter at a word start before two digits, spaces or dashes
	laneA             // 'A' at a word start before 'K' or 'S'
	laneAlways        // '@', '+', '(', '\\', '%'
	laneAfter         // '.', '_' or 'J' after y, s, b, k, p, o, u or r
	laneUS            // '_' two after 'h'
	laneDash          // '-' before '-'
	laneDashO         // '-' three after 'o'
)

// The neighbours laneTables.fail tests, by index: x-3, x-2, x-1, x+1, x+2,
// x+3, x+4 and x+8.
const (
	failM3 = iota
	failM2
	failM1
	failP1
	failP2
	failP3
	failP4
	failP8
)

// laneTables drive the vector code: 128-byte tables that map an ASCII byte
// to a class byte with one bit a lane. A lane holds at x when its bit is set
// in start[x] and in none of the fail tables at their neighbours. prev and
// last are keyPrev and keyLast. The vector code looks non-ASCII bytes up
// as DEL, which is in no class, as none of them is.
type laneTables struct {
	start      [128]byte
	fail       [8][128]byte
	prev, last [128]byte
}

// newLaneTables builds the tables from the tests of candidateAt.
func newLaneTables() *laneTables {
	t := new(laneTables)
	for i := range 128 {
		c := byte(i)
		set := func(tab *[128]byte, lane int, on bool) {
			if on {
				tab[i] |= 1 << lane
			}
		}
		ds := isDigit(c) || isCardSepByte(c)
		set(&t.start, laneDigit, isDigit(c))
		set(&t.start, laneUpper, isLetter(c))
		set(&t.start, laneA, c == 'A')
		set(&t.start, laneAlways, c == '@' || c == '+' || c == '(' || c == '\\' || c == '%')
		set(&t.start, laneAfter, c == '.' || c == '_' || c == 'J')
		set(&t.start, laneUS, c == '_')
		set(&t.start, laneDash, c == '-')
		set(&t.start, laneDashO, c == '-')
		for _, l := range []int{laneDigit, laneUpper, laneA} {
			set(&t.fail[failM1], l, isWord(c))
		}
		for _, k := range []int{failP1, failP4, failP8} {
			set(&t.fail[k], laneDigit, !ds)
		}
		set(&t.fail[failP2], laneUpper, !ibanHeadByte(c))
		set(&t.fail[failP3], laneUpper, !ibanHeadByte(c))
		set(&t.fail[failP1], laneA, c != 'K' && c != 'S')
		set(&t.fail[failM1], laneAfter, c != 'y' && c != 's' && c != 'b' && c != 'k' && c != 'c')
		set(&t.fail[failM2], laneUS, c != 'h')
		set(&t.fail[failP1], laneDash, c != '-')
		set(&t.fail[failM3], laneDashO, c != 'o')
		t.prev[i] = keyPrev(c)
		t.last[i] = keyLast(c)
	}
	return t
}

// runMasked scans src visiting only candidates. It finds what run's plain
// loop finds.
func (s *scanner) runMasked() {
	n := len(s.src)
	var cand [chunkBlocks]uint64
	i := 0
	for base := 0; base < n && i < n; base += chunkBlocks * 64 {
		nb := min(chunkBlocks, (n-base+63)/64)
		s.classify(base, cand[:nb])
		for k := range nb {
			bs := base + 64*k
			c := cand[k]
			for {
				if d := i - bs; d > 0 {
					if d >= 64 {
						break
					}
					c &= ^uint64(0) << uint(d)
				}
				if c == 0 {
					break
				}
				i = s.visit(bs + bits.TrailingZeros64(c))
			}
		}
	}
}

// classify sets out to the candidates of the len(out) blocks from p.
func (s *scanner) classify(p int, out []uint64) {
	src := s.src
	n := len(src)
	for b := 0; b < len(out); {
		q := p + 64*b
		if s.simd == simdGeneric {
			out[b] = classifyGeneric(src, q)
			b++
			continue
		}
		if full := min(len(out)-b, (n-q-blockAfter)/64); q >= blockBefore && full > 0 {
			classifyVector(s.tabs, src[q-blockBefore:q+64*full+blockAfter], full, out[b:b+full])
			b += full
			continue
		}
		// A block too near either end of src: classify a copy padded with
		// NUL, which stands for "no byte" in candidateAt.
		var buf [blockBefore + 64 + blockAfter]byte
		lo := max(0, q-blockBefore)
		copy(buf[lo-(q-blockBefore):], src[lo:min(n, q+64+blockAfter)])
		classifyVector(s.tabs, buf[:], 1, out[b:b+1])
		b++
	}
}
