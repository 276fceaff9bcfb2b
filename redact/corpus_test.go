package redact_test

// This file measures the default Redactor's recall and precision on a corpus
// of commerce log records generated here, deterministically (a seeded PCG),
// with no data files and no network. Each record is one or more log lines in
// one of ten formats; it embeds labelled values of two sorts:
//
//   - secrets, which must go: payment cards, IBANs, e-mail addresses, phone
//     numbers, JWTs, provider tokens, values of secret-looking keys, private
//     keys and chat-webhook URLs, each class in the forms logs carry them;
//   - look-alikes, which must stay byte for byte: order ids, 16-digit numbers
//     that fail the Luhn check, epoch milliseconds, RFC 3339 times, parcel
//     tracking numbers, UUIDs, SKUs, versions, IP addresses, prices, hashes,
//     file names with @2x, base64 image data.
//
// Every record goes through RedactString and a Writer (written in random
// chunks, one Writer for the whole corpus, as a service's stderr would be);
// the records of the slog format also go through a Handler in front of a
// JSONHandler. How each value is judged is in corpusLeaked and corpusKept.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

// Targets of issue 12.
const (
	corpusLines        = 20000 // lines generated, at least
	corpusRecallTarget = 1.0   // of every secret class
	corpusKeepTarget   = 0.999 // of every look-alike class
	corpusMinSamples   = 100   // observations a class needs to be judged
)

// corpusFormat is the shape of a log record.
type corpusFormat uint16

const (
	corpusFmtSlog    corpusFormat = 1 << iota // log/slog JSONHandler, attributes in groups or not
	corpusFmtJSON                             // a JSON line written by another stack (Node, PHP, Java)
	corpusFmtLogfmt                           // key=value
	corpusFmtPlain                            // a sentence with the values in it
	corpusFmtAccess                           // nginx combined access log, values in the query string
	corpusFmtHeaders                          // an HTTP request dump, one header a line
	corpusFmtStack                            // a Go panic or a Java exception with its frames
	corpusFmtEnv                              // an environment dump, KEY=value a line
	corpusFmtINI                              // an AWS credentials or INI config file
	corpusFmtPEM                              // a log line, a PEM private key block, a log line
)

// corpusFmtText are the formats that take any printable value as it is.
const corpusFmtText = corpusFmtSlog | corpusFmtJSON | corpusFmtLogfmt | corpusFmtPlain | corpusFmtStack | corpusFmtEnv | corpusFmtINI | corpusFmtHeaders

func (f corpusFormat) String() string {
	switch f {
	case corpusFmtSlog:
		return "slog"
	case corpusFmtJSON:
		return "json"
	case corpusFmtLogfmt:
		return "logfmt"
	case corpusFmtPlain:
		return "plain"
	case corpusFmtAccess:
		return "access"
	case corpusFmtHeaders:
		return "headers"
	case corpusFmtStack:
		return "stack"
	case corpusFmtEnv:
		return "env"
	case corpusFmtINI:
		return "ini"
	case corpusFmtPEM:
		return "pem"
	}
	return "?"
}

// corpusSig says which characters of a secret count when looking for what is
// left of it: a run of runLen of them, with whatever lies between,
// must not survive.
type corpusSig uint8

const (
	corpusSigAll    corpusSig = iota // every byte; runs of 6
	corpusSigDigits                  // digits (cards, phones); runs of 4
	corpusSigAlnum                   // letters and digits (IBANs); runs of 4
)

func (s corpusSig) is(c byte) bool {
	switch s {
	case corpusSigDigits:
		return c >= '0' && c <= '9'
	case corpusSigAlnum:
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	return true
}

func (s corpusSig) runLen() int {
	if s == corpusSigAll {
		return 6
	}
	return 4
}

// corpusValue is one labelled value of a record.
type corpusValue struct {
	class    string
	secret   bool
	key      string      // field, header or query key it is logged under
	keyed    bool        // the key is what makes it secret: always write key and value as a pair
	raw      string      // the value as the program holds it
	core     string      // secrets: the part of raw that must go ("" = all of raw)
	sig      corpusSig   // secrets: what counts when looking for leftovers
	num      *slog.Value // a number: slog and JSON write it unquoted
	verbatim bool        // raw is already JSON text (\u escapes): written as is, JSON only
	note     string      // a detail that is not secret (brand, country, key, form) for failures

	text     string // raw as the record holds it
	coreText string // core as the record holds it
}

// corpusRecord is one log record and the values in it.
type corpusRecord struct {
	format corpusFormat
	text   string       // the record as an unredacted logger writes it, each line ending in \n
	rec    *slog.Record // corpusFmtSlog: the record a Handler gets
	values []corpusValue
}

// corpusClass is one class of value and how to make one.
type corpusClass struct {
	name    string
	secret  bool
	formats corpusFormat
	gen     func(g *corpusGen, f corpusFormat) corpusValue
}

// corpusGen makes values and records from one seeded source.
type corpusGen struct {
	rnd *rand.Rand
	now time.Time
}

func newCorpusGen() *corpusGen {
	return &corpusGen{
		rnd: rand.New(rand.NewPCG(0x7a746b6974, 12)),
		now: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC),
	}
}

const (
	corpusAlphaDigits = "0123456789"
	corpusAlphaUpper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	corpusAlphaLower  = "abcdefghijklmnopqrstuvwxyz"
	corpusAlphaAlnum  = corpusAlphaUpper + corpusAlphaLower + corpusAlphaDigits
	corpusAlphaB64URL = corpusAlphaAlnum + "-_"
	corpusAlphaB64    = corpusAlphaAlnum + "+/"
	corpusAlphaHex    = "0123456789abcdef"
	corpusAlphaPass   = corpusAlphaAlnum + "-_.!*~"
)

func (g *corpusGen) intn(n int) int           { return g.rnd.IntN(n) }
func (g *corpusGen) chance(p float64) bool    { return g.rnd.Float64() < p }
func (g *corpusGen) pick(xs ...string) string { return xs[g.rnd.IntN(len(xs))] }
func (g *corpusGen) between(lo, hi int) int   { return lo + g.rnd.IntN(hi-lo+1) }

func (g *corpusGen) chars(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.rnd.IntN(len(alphabet))]
	}
	return string(b)
}

func (g *corpusGen) digits(n int) string { return g.chars(n, corpusAlphaDigits) }

// nzDigits returns n digits, the first not 0.
func (g *corpusGen) nzDigits(n int) string {
	return string(byte('1'+g.intn(9))) + g.digits(n-1)
}

func (g *corpusGen) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rnd.Uint32())
	}
	return b
}

func (g *corpusGen) tick() time.Time {
	g.now = g.now.Add(time.Duration(g.between(1, 5000)) * time.Millisecond)
	return g.now
}

// ----- payment cards -----

// corpusLuhnOK reports whether the digits d pass the Luhn check.
func corpusLuhnOK(d string) bool {
	sum, double := 0, false
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

// corpusLuhnFinish appends the Luhn check digit to d.
func corpusLuhnFinish(d string) string {
	for c := byte('0'); c <= '9'; c++ {
		if corpusLuhnOK(d + string(c)) {
			return d + string(c)
		}
	}
	return d + "0" // not reached
}

type corpusCardBrand struct {
	name     string
	prefixes []string
	lengths  []int
}

// corpusCardBrands returns issuer ranges and lengths as the card networks publish
// them (a sample of each range).
func corpusCardBrands() []corpusCardBrand {
	return []corpusCardBrand{
		{"visa", []string{"4"}, []int{16, 16, 16, 13, 19}},
		{"mastercard", []string{"51", "52", "53", "54", "55", "2221", "2720", "23", "26"}, []int{16}},
		{"amex", []string{"34", "37"}, []int{15}},
		{"discover", []string{"6011", "644", "649", "65"}, []int{16, 19}},
		{"jcb", []string{"3528", "3530", "3589"}, []int{16, 19}},
		{"unionpay", []string{"62"}, []int{16, 19}},
		{"diners", []string{"300", "305", "36", "38"}, []int{14, 16}},
		{"maestro", []string{"5018", "5020", "6304", "6759", "6761"}, []int{16, 19}},
	}
}

// cardNumber returns a valid card number of a random brand and its brand;
// maxLen bounds its length.
func (g *corpusGen) cardNumber(maxLen int) (string, string) {
	bs := corpusCardBrands()
	for {
		b := bs[g.intn(len(bs))]
		n := b.lengths[g.intn(len(b.lengths))]
		if n > maxLen {
			continue
		}
		p := b.prefixes[g.intn(len(b.prefixes))]
		return corpusLuhnFinish(p + g.digits(n-1-len(p))), b.name
	}
}

// corpusCardGroups splits a card number as it is embossed: 4-6-5 (15 digits),
// 4-6-4 (14), otherwise fours with a short tail joined to the last group.
func corpusCardGroups(d string) []string {
	var sizes []int
	switch len(d) {
	case 15:
		sizes = []int{4, 6, 5}
	case 14:
		sizes = []int{4, 6, 4}
	default:
		for r := len(d); r > 0; r -= 4 {
			sizes = append(sizes, min(4, r))
		}
		if last := sizes[len(sizes)-1]; last < 3 {
			sizes = sizes[:len(sizes)-1]
			sizes[len(sizes)-1] += last
		}
	}
	var gs []string
	for _, s := range sizes {
		gs = append(gs, d[:s])
		d = d[s:]
	}
	return gs
}

func corpusCardValue(class, key, raw, note string) corpusValue {
	return corpusValue{class: class, secret: true, key: key, raw: raw, sig: corpusSigDigits, note: note}
}

func (g *corpusGen) cardKey() string {
	return g.pick("card", "pan", "card_number", "cc", "payment_card", "number", "instrument", "source")
}

func (g *corpusGen) cardJoined(class string, seps ...string) corpusValue {
	d, brand := g.cardNumber(19)
	sep := seps[g.intn(len(seps))]
	return corpusCardValue(class, g.cardKey(), strings.Join(corpusCardGroups(d), sep), brand)
}

// cardInRun returns a card number printed inside a longer grouped number:
// one or two groups of four random digits before it, in the same separator,
// and sometimes a CVV-like group after it (ref 1234 4111 1111 1111 1111 123).
// The whole run holds more than 19 digits, so no part of it may be taken for
// the card alone, and all of it is the secret.
func (g *corpusGen) cardInRun() corpusValue {
	d, brand := g.cardNumber(19)
	sep := g.pick(" ", "-")
	gs := corpusCardGroups(d)
	for range 1 + g.intn(2) {
		gs = append([]string{g.digits(4)}, gs...)
	}
	if g.chance(0.3) {
		gs = append(gs, g.digits(3))
	}
	return corpusCardValue("card/inside-long-run", g.pick("ref", "reference", "memo", "note", "ids"), strings.Join(gs, sep), brand)
}

func (g *corpusGen) cardOddSep() corpusValue {
	d, brand := g.cardNumber(19)
	gs := corpusCardGroups(d)
	seps := []struct{ name, sep string }{
		{"dot", "."}, {"slash", "/"}, {"tab", "\t"}, {"nbsp", "\u00a0"},
		{"double-space", "  "}, {"double-dash", "--"}, {"space-dash-space", " - "}, {"mixed", ""},
	}
	s := seps[g.intn(len(seps))]
	mixed := []string{" ", "-", "."} // each next group takes the next of these
	m := g.intn(len(mixed))
	var b strings.Builder
	for i, grp := range gs {
		if i > 0 {
			if s.name == "mixed" {
				b.WriteString(mixed[(m+i)%len(mixed)])
			} else {
				b.WriteString(s.sep)
			}
		}
		b.WriteString(grp)
	}
	return corpusCardValue("card/odd-separators", g.cardKey(), b.String(), brand+" sep="+s.name)
}

func (g *corpusGen) cardURLEncoded() corpusValue {
	d, brand := g.cardNumber(19)
	sep := g.pick("%20", "+", "%20", "%2D")
	return corpusCardValue("card/url-encoded", g.pick("pan", "card", "cc_number"), strings.Join(corpusCardGroups(d), sep), brand+" sep="+sep)
}

func (g *corpusGen) cardJSONNumber() corpusValue {
	d, brand := g.cardNumber(19)
	n, _ := strconv.ParseUint(d, 10, 64)
	v := slog.Uint64Value(n)
	c := corpusCardValue("card/json-number", g.cardKey(), d, brand)
	c.num = &v
	return c
}

func (g *corpusGen) cardUEscaped() corpusValue {
	d, brand := g.cardNumber(19)
	var b strings.Builder
	spaced := g.chance(0.3)
	for i, grp := range corpusCardGroups(d) {
		if i > 0 && spaced {
			b.WriteString(`\u0020`)
		}
		for j := 0; j < len(grp); j++ {
			if g.chance(0.8) {
				fmt.Fprintf(&b, `\u%04x`, grp[j])
			} else {
				b.WriteByte(grp[j])
			}
		}
	}
	c := corpusCardValue("card/json-u-escaped", g.cardKey(), b.String(), brand)
	c.verbatim = true
	return c
}

func (g *corpusGen) cardSlogInt() corpusValue {
	d, brand := g.cardNumber(19)
	n, _ := strconv.ParseUint(d, 10, 64)
	var v slog.Value
	if n <= math.MaxInt64 && g.chance(0.5) {
		v = slog.Int64Value(int64(n))
	} else {
		v = slog.Uint64Value(n)
	}
	c := corpusCardValue("card/slog-int", g.cardKey(), d, brand)
	c.num = &v
	return c
}

// cardSlogFloat is a card number that went through a float64 (a JSON decoder
// into any): only numbers below 2^53 survive that exactly, so 16 digits or
// fewer.
func (g *corpusGen) cardSlogFloat() corpusValue {
	for {
		d, brand := g.cardNumber(16)
		n, _ := strconv.ParseUint(d, 10, 64)
		if n >= 1<<53 {
			continue
		}
		v := slog.Float64Value(float64(n))
		c := corpusCardValue("card/slog-float64", g.cardKey(), d, brand)
		c.num = &v
		return c
	}
}

// ----- IBANs -----

type corpusIBANCountry struct {
	cc     string
	length int
	lead   int  // letters at the start of the BBAN (bank code)
	trail  int  // letters at its end
	mixed  bool // letters may appear in the account number
}

// corpusIBANCountries parses "CCnn" entries with optional flags aN (N leading
// letters), zN (N trailing letters) and m (letters in the account number).
func corpusIBANCountries(spec string) []corpusIBANCountry {
	var cs []corpusIBANCountry
	for _, e := range strings.Fields(spec) {
		n, _ := strconv.Atoi(e[2:4])
		c := corpusIBANCountry{cc: e[:2], length: n}
		for f := e[4:]; f != ""; {
			switch f[0] {
			case 'a':
				c.lead = int(f[1] - '0')
				f = f[2:]
			case 'z':
				c.trail = int(f[1] - '0')
				f = f[2:]
			case 'm':
				c.mixed = true
				f = f[1:]
			}
		}
		cs = append(cs, c)
	}
	return cs
}

// corpusIBANRegistryCountries are the 89 countries of the SWIFT IBAN Registry
// (release 99, 2025), with BBAN layouts from the registry's entries.
const corpusIBANRegistryCountries = "AD24m AE23 AL28m AT20 AZ28a4m BA20 BE16 BG22a4m BH22a4m BI27 " +
	"BR29z2 BY28a4m CH21m CR22 CY28m CZ24 DE22 DJ27 DK18 DO28a4 " +
	"EE20 EG29 ES24 FI18 FK18a2 FO18 FR27m GB22a4 GE22a2 GI23a4m " +
	"GL18 GR27m GT28a4m HN28a4 HR21 HU28 IE22a4 IL23 IQ23a4 IS26 " +
	"IT27a1m JO30a4m KW30a4m KZ20m LB28m LC32a4m LI21m LT20 LU20m LV21a4m " +
	"LY25 MC27m MD24a2m ME22 MK19m MN20 MR27 MT31a4m MU30a4z3 NI28a4 " +
	"NL18a4 NO15 OM23m PK24a4m PL28 PS29a4m PT25 QA29a4m RO24a4m RS22 " +
	"RU33m SA24m SC31a4z3 SD18 SE24 SI19 SK24 SM27a1m SO23 ST25 " +
	"SV28a4 TL23 TN24 TR26m UA29m VA22 VG24a4 XK20 YE30a4m"

// corpusIBANPartialCountries use IBANs at home without being in the registry (the
// registry's "partial" list and its usual companions).
const corpusIBANPartialCountries = "DZ26 AO25 BJ28a2 BF28a2 CM27 CV25 CF27 TD27 KM27 CG27 " +
	"GQ27 GA27 GW25a2 IR26 CI28a2 MG27 ML28a2 MA28 MZ25 NE28a2 SN28a2 TG28a2"

// ibanFor returns an IBAN of c in electronic form with good check digits
// (ISO 7064 MOD 97-10, ISO 13616-1).
func (g *corpusGen) ibanFor(c corpusIBANCountry) string {
	n := c.length - 4
	b := []byte(g.digits(n))
	for i := range b {
		switch {
		case i < c.lead, i >= n-c.trail:
			b[i] = corpusAlphaUpper[g.intn(26)]
		case c.mixed && i >= 4 && g.chance(0.2):
			b[i] = corpusAlphaUpper[g.intn(26)]
		}
	}
	bban := string(b)
	rem := 0
	for _, ch := range bban + c.cc + "00" {
		if ch >= 'A' && ch <= 'Z' {
			rem = (rem*100 + int(ch-'A'+10)) % 97
		} else {
			rem = (rem*10 + int(ch-'0')) % 97
		}
	}
	return fmt.Sprintf("%s%02d%s", c.cc, 98-rem, bban)
}

func corpusGroupsOf(s string, sizes func(i int) int) []string {
	var gs []string
	for i := 0; s != ""; i++ {
		k := min(sizes(i), len(s))
		gs = append(gs, s[:k])
		s = s[k:]
	}
	return gs
}

func corpusPrintIBAN(e string) string {
	return strings.Join(corpusGroupsOf(e, func(int) int { return 4 }), " ")
}

func (g *corpusGen) ibanKey() string {
	return g.pick("iban", "IBAN", "account", "payout_account", "refund_to", "beneficiary_iban", "debtor_account")
}

func (g *corpusGen) iban(class string, countries []corpusIBANCountry) corpusValue {
	c := countries[g.intn(len(countries))]
	e := g.ibanFor(c)
	v := corpusValue{class: class, secret: true, key: g.ibanKey(), sig: corpusSigAlnum, note: c.cc}
	switch class {
	case "iban/electronic":
		v.raw = e
	case "iban/print":
		v.raw = corpusPrintIBAN(e)
	case "iban/lower-case":
		if g.chance(0.5) {
			v.raw, v.note = strings.ToLower(e), c.cc+" electronic"
		} else {
			v.raw, v.note = strings.ToLower(corpusPrintIBAN(e)), c.cc+" print"
		}
	case "iban/irregular":
		switch g.intn(3) {
		case 0:
			v.raw, v.note = strings.Join(corpusGroupsOf(e, func(int) int { return 4 }), "-"), c.cc+" dashes"
		case 1:
			first := g.pick("2", "3", "5", "6")[0] - '0' // not the print form's 4
			v.raw = strings.Join(corpusGroupsOf(e, func(i int) int {
				if i == 0 {
					return int(first)
				}
				return g.between(2, 6)
			}), " ")
			v.note = c.cc + " irregular groups"
		default:
			v.raw, v.note = e[:2]+" "+e[2:4]+" "+e[4:], c.cc+" cc-check-bban"
		}
	default: // partial list
		if g.chance(0.5) {
			v.raw, v.note = e, c.cc+" electronic"
		} else {
			v.raw, v.note = corpusPrintIBAN(e), c.cc+" print"
		}
	}
	return v
}

// ----- e-mail addresses and phone numbers -----

func (g *corpusGen) emailLocal() string {
	first := g.pick("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar", "peggy", "trent", "victor", "walter", "noor", "mei", "lukas", "sofia")
	last := g.pick("smith", "jones", "mueller", "garcia", "rossi", "dubois", "kowalski", "nguyen", "tanaka", "obrien", "silva", "jansen")
	switch g.intn(5) {
	case 0:
		return first + "." + last
	case 1:
		return first + last + g.digits(g.between(1, 4))
	case 2:
		return first + "+" + g.pick("orders", "shop", "news", "promo")
	case 3:
		return first[:1] + "." + last
	}
	return first + "_" + last
}

func (g *corpusGen) emailDomain() string {
	return g.pick("example.com", "gmail.com", "outlook.de", "shop.example.org", "mail.co.uk", "yahoo.fr",
		"customer-mail.net", "icloud.com", "proton.me", "web.de", "corp.example.io")
}

func (g *corpusGen) emailKey() string {
	return g.pick("email", "customer_email", "user", "to", "recipient", "billing_email", "login")
}

func corpusEmailValue(class, key, raw, note string) corpusValue {
	return corpusValue{class: class, secret: true, key: key, raw: raw, sig: corpusSigAll, note: note}
}

func (g *corpusGen) emailIDN() corpusValue {
	d := g.pick("bücher.de", "müller-shop.at", "café-paris.fr", "straße.example", "почта.рф", "магазин.рф",
		"例え.jp", "メール.example.jp", "ñandú.es", "kunde.bücher.de", "δοκιμή.gr", "пример.испытание")
	return corpusEmailValue("email/idn-domain", g.emailKey(), g.emailLocal()+"@"+d, "")
}

func (g *corpusGen) phoneE164() corpusValue {
	var raw string
	switch g.intn(8) {
	case 0:
		raw = "+49" + g.pick("151", "160", "170", "176") + g.digits(8)
	case 1:
		raw = "+44 20 " + g.nzDigits(4) + " " + g.digits(4)
	case 2:
		raw = fmt.Sprintf("+1 (%d%s) %d%s-%s", 2+g.intn(8), g.digits(2), 2+g.intn(8), g.digits(2), g.digits(4))
	case 3:
		raw = fmt.Sprintf("+1-%d%s-%d%s-%s", 2+g.intn(8), g.digits(2), 2+g.intn(8), g.digits(2), g.digits(4))
	case 4:
		raw = "+33 6 " + g.digits(2) + " " + g.digits(2) + " " + g.digits(2) + " " + g.digits(2)
	case 5:
		raw = "+49 30 " + g.nzDigits(8)
	case 6:
		raw = "+81 3-" + g.digits(4) + "-" + g.digits(4)
	default:
		raw = "+61 2 " + g.nzDigits(4) + " " + g.digits(4)
	}
	return corpusValue{class: "phone/e164", secret: true, key: g.pick("phone", "mobile", "msisdn", "contact_phone"), raw: raw, sig: corpusSigDigits}
}

func (g *corpusGen) phoneNational() corpusValue {
	nanp := func(sep string) string {
		return fmt.Sprintf("%d%s%s%d%s%s%s", 2+g.intn(8), g.digits(2), sep, 2+g.intn(8), g.digits(2), sep, g.digits(4))
	}
	var raw string
	switch g.intn(7) {
	case 0:
		raw = fmt.Sprintf("(%d%s) %d%s-%s", 2+g.intn(8), g.digits(2), 2+g.intn(8), g.digits(2), g.digits(4))
	case 1:
		raw = nanp("-")
	case 2:
		raw = nanp(".")
	case 3:
		raw = "1-" + nanp("-")
	case 4:
		raw = "020 " + g.nzDigits(4) + " " + g.digits(4)
	case 5:
		raw = "0" + string(byte('6'+g.intn(2))) + " " + g.digits(2) + " " + g.digits(2) + " " + g.digits(2) + " " + g.digits(2)
	default:
		raw = "030-" + g.nzDigits(8)
	}
	return corpusValue{class: "phone/national", secret: true, key: g.pick("phone", "tel", "delivery_phone", "contact"), raw: raw, sig: corpusSigDigits}
}

// ----- tokens and keys -----

// neutralKey is a key that says nothing about its value, so that what is
// measured is the value's own detector.
func (g *corpusGen) neutralKey() string {
	return g.pick("value", "arg", "detail", "cfg", "hint", "source", "input", "ref")
}

func corpusTokenValue(class, key, raw, core, note string) corpusValue {
	return corpusValue{class: class, secret: true, key: key, raw: raw, core: core, sig: corpusSigAll, note: note}
}

func (g *corpusGen) jwt() string {
	b64 := base64.RawURLEncoding.EncodeToString
	alg := g.pick("RS256", "ES256", "PS256", "EdDSA", "HS256")
	if g.chance(0.1) { // JWE, RFC 7516 §7.1
		h := b64([]byte(`{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"` + g.chars(8, corpusAlphaAlnum) + `"}`))
		return h + "." + b64(g.bytes(256)) + "." + b64(g.bytes(12)) + "." + b64(g.bytes(g.between(40, 200))) + "." + b64(g.bytes(16))
	}
	h := b64([]byte(`{"alg":"` + alg + `","typ":"` + g.pick("JWT", "at+jwt", "dpop+jwt") + `","kid":"` + g.chars(10, corpusAlphaB64URL) + `"}`))
	iat := g.now.Unix()
	p := b64([]byte(fmt.Sprintf(`{"iss":"https://id.shop.example","sub":"%s","aud":"checkout","iat":%d,"exp":%d,"scope":"orders:read"}`,
		g.chars(12, corpusAlphaAlnum), iat, iat+900)))
	return h + "." + p + "." + b64(g.bytes(g.between(32, 256)))
}

// ----- secret keys -----

func (g *corpusGen) password() string {
	return g.chars(1, corpusAlphaAlnum) + g.chars(g.between(9, 23), corpusAlphaPass)
}

func corpusKeyedValue(class, key, raw, core string) corpusValue {
	return corpusValue{class: class, secret: true, key: key, keyed: true, raw: raw, core: core, sig: corpusSigAll, note: "key=" + key}
}

func (g *corpusGen) keyDocumented(f corpusFormat) corpusValue {
	const class = "secret/documented-key"
	if f == corpusFmtHeaders && g.chance(0.4) {
		switch g.intn(3) {
		case 0:
			sid := g.chars(32, corpusAlphaB64URL)
			return corpusKeyedValue(class, "Cookie", "sid="+sid+"; theme=dark; lang=de", sid)
		case 1:
			cred := base64.StdEncoding.EncodeToString([]byte("svc-" + g.chars(4, corpusAlphaLower) + ":" + g.password()))
			return corpusKeyedValue(class, "Authorization", "Basic "+cred, cred)
		default:
			k := g.chars(40, corpusAlphaAlnum)
			return corpusKeyedValue(class, g.pick("X-Api-Key", "x-api-key", "X-Auth-Token"), k, "")
		}
	}
	switch k := g.pick("password", "passwd", "db_password", "DB_PASSWORD", "userPassword", "passphrase",
		"secret", "client_secret", "app_secret", "api_key", "apiKey", "api-key", "access_token",
		"refresh_token", "session_token", "private_key", "card_cvv", "cvc", "userPin"); k {
	case "card_cvv", "cvc":
		return corpusKeyedValue(class, k, g.digits(3+g.intn(2)), "")
	case "userPin":
		return corpusKeyedValue(class, k, g.digits(4), "")
	default:
		return corpusKeyedValue(class, k, g.password(), "")
	}
}

// longKey returns a configuration key longer than 64 characters that ends in
// a secret word.
func (g *corpusGen) longKey(env bool) string {
	parts := []string{"spring", "datasource", "hikari", "data-source-properties", "replica", "eu-west-1",
		"orders", "primary", "connection", "pool", "settings", "warehouse", "reporting", "readonly"}
	k := g.pick("spring", "app", "shop", "service")
	for len(k) < 60 { // and at least 6 more below: longer than 64
		k += "." + parts[g.intn(len(parts))]
	}
	k += "." + g.pick("password", "secret", "api-key", "token")
	if env {
		k = strings.NewReplacer(".", "_", "-", "_").Replace(strings.ToUpper(k))
	}
	return k
}

// ----- private keys and webhooks -----

func (g *corpusGen) pemBlock(nl string) (block, body string) {
	label := g.pick("RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
	enc := base64.StdEncoding.EncodeToString(g.bytes(48 * g.between(3, 8)))
	lines := corpusGroupsOf(enc, func(int) int { return 64 })
	body = strings.Join(lines, nl)
	return "-----BEGIN " + label + "-----" + nl + body + nl + "-----END " + label + "-----", body
}

func (g *corpusGen) uuid() string {
	b := g.bytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ----- look-alikes -----

func corpusLookalike(class, key, raw string) corpusValue {
	return corpusValue{class: class, key: key, raw: raw}
}

func corpusNumLookalike(class, key string, v slog.Value, raw string) corpusValue {
	c := corpusLookalike(class, key, raw)
	c.num = &v
	return c
}

func corpusCanNum(f corpusFormat) bool { return f == corpusFmtSlog || f == corpusFmtJSON }

// nonLuhn16 returns 16 digits that fail the Luhn check, with a card brand's
// prefix most of the time; when grouped, no prefix of whole groups of 12 or
// more digits passes it either, so that the number is no card however it is
// read left to right.
func (g *corpusGen) nonLuhn16(grouped bool) string {
	for {
		var d string
		if g.chance(0.7) {
			if d, _ = g.cardNumber(16); len(d) != 16 {
				continue
			}
			d = d[:15] + string(byte('0'+(int(d[15]-'0')+1+g.intn(9))%10))
		} else {
			d = g.nzDigits(16)
		}
		if corpusLuhnOK(d) || grouped && corpusLuhnOK(d[:12]) {
			continue
		}
		return d
	}
}

func (g *corpusGen) lookDigits16(f corpusFormat) corpusValue {
	const class = "lookalike/non-luhn-16-digits"
	key := g.pick("order_number", "reference", "invoice_ref", "batch_id", "ledger_id", "external_id")
	var v corpusValue
	switch {
	case corpusCanNum(f) && g.chance(0.4):
		d := g.nonLuhn16(false)
		n, _ := strconv.ParseInt(d, 10, 64)
		if f == corpusFmtSlog && n < 1<<53 && g.chance(0.3) {
			v = corpusNumLookalike(class, key, slog.Float64Value(float64(n)), d)
		} else {
			v = corpusNumLookalike(class, key, slog.Int64Value(n), d)
		}
		v.note = "number"
	case f != corpusFmtAccess && f != corpusFmtEnv && g.chance(0.3):
		v = corpusLookalike(class, key, strings.Join(corpusGroupsOf(g.nonLuhn16(true), func(int) int { return 4 }), " "))
		v.note = "grouped"
	default:
		v = corpusLookalike(class, key, g.nonLuhn16(false))
		v.note = "compact"
	}
	return v
}

func (g *corpusGen) lookMillis(f corpusFormat) corpusValue {
	ms := g.now.UnixMilli() - int64(g.intn(86400000))
	key := g.pick("ts_ms", "created_at_ms", "event_time", "timestamp", "paid_at", "expires_at")
	if corpusCanNum(f) && g.chance(0.6) {
		return corpusNumLookalike("lookalike/epoch-millis", key, slog.Int64Value(ms), strconv.FormatInt(ms, 10))
	}
	return corpusLookalike("lookalike/epoch-millis", key, strconv.FormatInt(ms, 10))
}

func (g *corpusGen) lookRFC3339() corpusValue {
	t := g.now.Add(-time.Duration(g.intn(1e6)) * time.Millisecond)
	var raw string
	switch g.intn(4) {
	case 0:
		raw = t.Format("2006-01-02T15:04:05.000Z07:00")
	case 1:
		raw = t.In(time.FixedZone("", 3600*g.between(-8, 9))).Format(time.RFC3339)
	case 2:
		raw = t.Format(time.RFC3339Nano)
	default:
		raw = t.Format("2006-01-02T15:04:05.000000-07:00")
	}
	return corpusLookalike("lookalike/rfc3339", g.pick("created_at", "shipped_at", "updated", "not_before", "deadline"), raw)
}

func (g *corpusGen) lookOrderID(f corpusFormat) corpusValue {
	key := g.pick("order_id", "order", "cart_id", "invoice", "po_number")
	switch g.intn(5) {
	case 0:
		return corpusLookalike("lookalike/order-id", key, fmt.Sprintf("ORD-%d-%06d", 2020+g.intn(7), g.intn(1e6)))
	case 1:
		return corpusLookalike("lookalike/order-id", key, "SO-"+g.digits(9))
	case 2:
		if f != corpusFmtAccess && f != corpusFmtEnv {
			return corpusLookalike("lookalike/order-id", key, "#"+g.nzDigits(g.between(4, 10)))
		}
	case 3:
		return corpusLookalike("lookalike/order-id", key, g.chars(3, corpusAlphaUpper)+"-"+g.chars(6, corpusAlphaUpper+corpusAlphaDigits))
	}
	// Numeric order ids, 9 to 12 digits starting with 1: no card brand starts
	// with 1, so none is a card.
	d := "1" + g.digits(g.between(8, 11))
	if corpusCanNum(f) && g.chance(0.5) {
		n, _ := strconv.ParseInt(d, 10, 64)
		return corpusNumLookalike("lookalike/order-id", key, slog.Int64Value(n), d)
	}
	return corpusLookalike("lookalike/order-id", key, d)
}

// Tracking numbers as carriers print them. UPS: 1Z and 16 letters and
// digits. FedEx Express: 12 digits starting with 7, compact or 4-4-4; FedEx
// Ground: 15 digits starting with 0 or 1. USPS: 22 digits starting with 92 to
// 95 and ending in a Mod 10 check digit, compact or in groups of four. No card brand starts with 0, 1, 7 or 9, so
// none of them is a card number however its Luhn sum comes out; the digits
// after the prefix are random, so a group inside one may start a valid card or
// a phone number, which is what the grouped forms test.

func (g *corpusGen) trackingKey() string {
	return g.pick("tracking", "tracking_number", "shipment", "awb", "parcel")
}

func (g *corpusGen) lookUPS() corpusValue {
	return corpusLookalike("lookalike/tracking-ups", g.trackingKey(), "1Z"+g.chars(6, corpusAlphaUpper+corpusAlphaDigits)+g.digits(10))
}

func (g *corpusGen) lookFedEx(f corpusFormat) corpusValue {
	switch g.intn(3) {
	case 0:
		if f != corpusFmtAccess && f != corpusFmtEnv {
			d := "7" + g.digits(11)
			return corpusLookalike("lookalike/tracking-fedex", g.trackingKey(), d[:4]+" "+d[4:8]+" "+d[8:])
		}
	case 1:
		return corpusLookalike("lookalike/tracking-fedex", g.trackingKey(), string(byte('0'+g.intn(2)))+g.digits(14))
	}
	return corpusLookalike("lookalike/tracking-fedex", g.trackingKey(), "7"+g.digits(11))
}

// uspsDigits returns a USPS package identification code: 21 digits and
// the USPS Mod 10 check digit over them (USPS Publication 199), as every
// label carries.
func (g *corpusGen) uspsDigits() string {
	d := g.pick("9400", "9205", "9261", "9274", "9300", "9505") + g.digits(17)
	return d + string(byte('0'+uspsCheckDigit(d)))
}

// uspsCheckDigit returns the USPS Mod 10 check digit of the digits d:
// from the right, weights 3 and 1 in turn.
func uspsCheckDigit(d string) int {
	sum := 0
	for j := len(d) - 1; j >= 0; j-- {
		v := int(d[j] - '0')
		if (len(d)-1-j)%2 == 0 {
			v *= 3
		}
		sum += v
	}
	return (10 - sum%10) % 10
}

func (g *corpusGen) lookUUID() corpusValue {
	u := g.uuid()
	if g.chance(0.2) {
		u = strings.ToUpper(u)
	}
	return corpusLookalike("lookalike/uuid", g.pick("request_id", "customer_id", "payment_id", "idempotency_key", "correlation_id"), u)
}

func (g *corpusGen) lookSKU() corpusValue {
	var raw string
	switch g.intn(4) {
	case 0:
		raw = g.pick("TSH", "HOD", "MUG", "CAP", "SNK") + "-" + g.pick("BLK", "WHT", "RED", "NVY") + "-" + g.pick("S", "M", "L", "XL") + "-" + g.digits(4)
	case 1:
		raw = "B0" + g.chars(8, corpusAlphaUpper+corpusAlphaDigits) // ASIN
	case 2:
		raw = g.digits(6) + "-" + g.digits(2)
	default:
		raw = "SKU" + g.digits(8)
	}
	return corpusLookalike("lookalike/sku", g.pick("sku", "item", "product", "variant_sku"), raw)
}

func (g *corpusGen) lookVersion() corpusValue {
	var raw string
	switch g.intn(4) {
	case 0:
		raw = fmt.Sprintf("v%d.%d.%d", g.intn(5), g.intn(40), g.intn(20))
	case 1:
		raw = fmt.Sprintf("go1.%d.%d", 20+g.intn(7), g.intn(10))
	case 2:
		raw = fmt.Sprintf("%d.%d.%d-rc.%d", 1+g.intn(9), g.intn(30), g.intn(20), 1+g.intn(5))
	default:
		raw = fmt.Sprintf("%d.%d.%d.%d", 1+g.intn(20), g.intn(10), g.intn(100), g.intn(9999))
	}
	return corpusLookalike("lookalike/version", g.pick("version", "build", "app_version", "sdk"), raw)
}

func (g *corpusGen) lookIP() corpusValue {
	var raw string
	switch g.intn(4) {
	case 0:
		raw = fmt.Sprintf("10.%d.%d.%d", g.intn(256), g.intn(256), 1+g.intn(254))
	case 1:
		raw = fmt.Sprintf("203.0.113.%d", 1+g.intn(254))
	case 2:
		raw = fmt.Sprintf("%d.%d.%d.%d:%d", 1+g.intn(223), g.intn(256), g.intn(256), 1+g.intn(254), 1024+g.intn(60000))
	default:
		raw = fmt.Sprintf("2001:db8:%x::%x:%x", g.intn(65536), g.intn(65536), g.intn(65536))
	}
	return corpusLookalike("lookalike/ip-address", g.pick("client_ip", "remote_addr", "peer", "upstream"), raw)
}

func (g *corpusGen) lookPrice(f corpusFormat) corpusValue {
	cents := g.between(99, 999999)
	key := g.pick("amount", "total", "price", "subtotal", "refund_amount")
	if corpusCanNum(f) && g.chance(0.4) {
		v := float64(cents) / 100
		return corpusNumLookalike("lookalike/price", key, slog.Float64Value(v), strconv.FormatFloat(v, 'f', -1, 64))
	}
	switch g.intn(4) {
	case 0:
		if f != corpusFmtAccess {
			return corpusLookalike("lookalike/price", key, fmt.Sprintf("$%s.%02d", corpusThousands(cents/100), cents%100))
		}
	case 1:
		return corpusLookalike("lookalike/price", key, fmt.Sprintf("%d.%02d", cents/100, cents%100))
	case 2:
		if f != corpusFmtAccess && f != corpusFmtEnv {
			return corpusLookalike("lookalike/price", key, fmt.Sprintf("%d,%02d EUR", cents/100, cents%100))
		}
	}
	return corpusLookalike("lookalike/price", key+"_cents", strconv.Itoa(cents))
}

func corpusThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (g *corpusGen) lookHash() corpusValue {
	switch g.intn(4) {
	case 0:
		return corpusLookalike("lookalike/hex-hash", "commit", g.chars(40, corpusAlphaHex))
	case 1:
		return corpusLookalike("lookalike/hex-hash", "rev", g.chars(7, corpusAlphaHex))
	case 2:
		return corpusLookalike("lookalike/hex-hash", "digest", "sha256:"+g.chars(64, corpusAlphaHex))
	}
	return corpusLookalike("lookalike/hex-hash", "traceparent", "00-"+g.chars(32, corpusAlphaHex)+"-"+g.chars(16, corpusAlphaHex)+"-01")
}

func (g *corpusGen) lookFile() corpusValue {
	name := g.pick("icon", "logo", "hero-banner", "product-"+g.digits(5), "avatar", "sprite") +
		g.pick("@2x", "@3x", "@2x", "@1.5x") + "." + g.pick("png", "webp", "jpg", "svg", "avif")
	return corpusLookalike("lookalike/file-name-at", g.pick("asset", "file", "image", "src"), name)
}

func (g *corpusGen) lookImage() corpusValue {
	hdr := g.pick("iVBORw0KGgoAAAANSUhEUgAA", "/9j/4AAQSkZJRgABAQ", "R0lGODlhAQABAIAAAP", "UklGRiQAAABXRUJQVlA4")
	b := base64.StdEncoding.EncodeToString(g.bytes(3 * g.between(20, 80)))
	mime := g.pick("png", "jpeg", "gif", "webp")
	return corpusLookalike("lookalike/base64-image", g.pick("thumbnail", "image", "preview"), "data:image/"+mime+";base64,"+hdr+b)
}

// corpusClasses returns every class, secrets first.
func corpusClasses() []corpusClass {
	registry, partial := corpusIBANCountries(corpusIBANRegistryCountries), corpusIBANCountries(corpusIBANPartialCountries)
	return []corpusClass{
		// Payment cards.
		{"card/plain", true, corpusFmtText | corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue {
			d, b := g.cardNumber(19)
			return corpusCardValue("card/plain", g.cardKey(), d, b)
		}},
		{"card/spaces", true, corpusFmtText, func(g *corpusGen, _ corpusFormat) corpusValue { return g.cardJoined("card/spaces", " ") }},
		{"card/inside-long-run", true, corpusFmtText, func(g *corpusGen, _ corpusFormat) corpusValue { return g.cardInRun() }},
		{"card/dashes", true, corpusFmtText | corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue { return g.cardJoined("card/dashes", "-") }},
		{"card/odd-separators", true, corpusFmtSlog | corpusFmtJSON | corpusFmtLogfmt | corpusFmtPlain | corpusFmtStack, func(g *corpusGen, _ corpusFormat) corpusValue { return g.cardOddSep() }},
		{"card/url-encoded", true, corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue { return g.cardURLEncoded() }},
		{"card/json-number", true, corpusFmtJSON, func(g *corpusGen, _ corpusFormat) corpusValue { return g.cardJSONNumber() }},
		{"card/json-u-escaped", true, corpusFmtJSON, func(g *corpusGen, _ corpusFormat) corpusValue { return g.cardUEscaped() }},
		{"card/slog-int", true, corpusFmtSlog, func(g *corpusGen, _ corpusFormat) corpusValue { return g.cardSlogInt() }},
		{"card/slog-float64", true, corpusFmtSlog, func(g *corpusGen, _ corpusFormat) corpusValue { return g.cardSlogFloat() }},
		// IBANs.
		{"iban/electronic", true, corpusFmtText | corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue {
			return g.iban("iban/electronic", registry)
		}},
		{"iban/print", true, corpusFmtText, func(g *corpusGen, _ corpusFormat) corpusValue {
			return g.iban("iban/print", registry)
		}},
		{"iban/lower-case", true, corpusFmtText, func(g *corpusGen, _ corpusFormat) corpusValue {
			return g.iban("iban/lower-case", registry)
		}},
		{"iban/irregular", true, corpusFmtText, func(g *corpusGen, _ corpusFormat) corpusValue {
			return g.iban("iban/irregular", registry)
		}},
		{"iban/partial-list", true, corpusFmtText, func(g *corpusGen, _ corpusFormat) corpusValue {
			return g.iban("iban/partial-list", partial)
		}},
		// E-mail addresses and phone numbers.
		{"email/ascii", true, corpusFmtText | corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue {
			return corpusEmailValue("email/ascii", g.emailKey(), g.emailLocal()+"@"+g.emailDomain(), "")
		}},
		{"email/idn-domain", true, corpusFmtText &^ corpusFmtHeaders, func(g *corpusGen, _ corpusFormat) corpusValue { return g.emailIDN() }},
		{"email/pct40", true, corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue {
			return corpusEmailValue("email/pct40", g.emailKey(), g.emailLocal()+"%40"+g.emailDomain(), "")
		}},
		{"email/u0040", true, corpusFmtJSON, func(g *corpusGen, _ corpusFormat) corpusValue {
			v := corpusEmailValue("email/u0040", g.emailKey(), g.emailLocal()+`\u0040`+g.emailDomain(), "")
			v.verbatim = true
			return v
		}},
		{"phone/e164", true, corpusFmtText, func(g *corpusGen, _ corpusFormat) corpusValue { return g.phoneE164() }},
		{"phone/national", true, corpusFmtText, func(g *corpusGen, _ corpusFormat) corpusValue { return g.phoneNational() }},
		// Tokens.
		{"token/jwt", true, corpusFmtText | corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue {
			return corpusTokenValue("token/jwt", g.pick("assertion", "jwt", "id", "x-jwt-assertion", "sso"), g.jwt(), "", "")
		}},
		{"token/bearer", true, corpusFmtText, func(g *corpusGen, _ corpusFormat) corpusValue {
			t := g.chars(g.between(32, 64), corpusAlphaB64URL)
			v := corpusKeyedValue("token/bearer", g.pick("Authorization", "authorization"), "Bearer "+t, t)
			return v
		}},
		{"token/github", true, corpusFmtText | corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue {
			if g.chance(0.25) {
				s := g.chars(22, corpusAlphaAlnum) + "_" + g.chars(59, corpusAlphaAlnum)
				return corpusTokenValue("token/github", g.neutralKey(), "github_pat_"+s, s, "github_pat_")
			}
			p := g.pick("ghp_", "gho_", "ghu_", "ghs_", "ghr_")
			s := g.chars(36, corpusAlphaAlnum)
			return corpusTokenValue("token/github", g.neutralKey(), p+s, s, p)
		}},
		{"token/stripe", true, corpusFmtText | corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue {
			p := g.pick("sk_live_", "rk_live_", "sk_test_")
			s := g.chars(g.between(24, 99), corpusAlphaAlnum)
			return corpusTokenValue("token/stripe", g.neutralKey(), p+s, s, p)
		}},
		{"token/aws-access-key-id", true, corpusFmtText | corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue {
			p := g.pick("AKIA", "ASIA")
			s := g.chars(16, corpusAlphaUpper+"234567")
			return corpusTokenValue("token/aws-access-key-id", g.neutralKey(), p+s, s, p)
		}},
		{"token/slack", true, corpusFmtText | corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue {
			p := g.pick("xoxb-", "xoxp-", "xoxa-")
			s := g.nzDigits(12) + "-" + g.nzDigits(13) + "-" + g.chars(24, corpusAlphaAlnum)
			return corpusTokenValue("token/slack", g.neutralKey(), p+s, s, p)
		}},
		{"token/vault", true, corpusFmtText | corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue {
			s := g.chars(g.between(24, 90), corpusAlphaB64URL)
			return corpusTokenValue("token/vault", g.neutralKey(), "hvs."+s, s, "hvs.")
		}},
		{"token/webhook-secret", true, corpusFmtText | corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue {
			s := g.chars(32, corpusAlphaAlnum)
			if g.chance(0.3) { // Svix: base64 of 24 bytes
				s = base64.StdEncoding.EncodeToString(g.bytes(24))
			}
			return corpusTokenValue("token/webhook-secret", g.neutralKey(), "whsec_"+s, s, "whsec_")
		}},
		// Values of secret keys.
		{"secret/documented-key", true, corpusFmtText | corpusFmtAccess, func(g *corpusGen, f corpusFormat) corpusValue { return g.keyDocumented(f) }},
		{"secret/ecosystem-key", true, corpusFmtText | corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue {
			k := g.pick("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY", "SECRET_KEY", "DJANGO_SECRET_KEY",
				"pwd", "db_pwd", "passcode", "otp_passcode", "credentials", "google_credentials")
			return corpusKeyedValue("secret/ecosystem-key", k, g.password(), "")
		}},
		{"secret/credential-header", true, corpusFmtHeaders | corpusFmtSlog | corpusFmtJSON, func(g *corpusGen, _ corpusFormat) corpusValue {
			k := g.pick("X-Client-Credential", "Proxy-Credential", "X-Service-Credentials", "X-Goog-Credential", "Credential")
			return corpusKeyedValue("secret/credential-header", k, g.chars(40, corpusAlphaB64URL), "")
		}},
		{"secret/long-key", true, corpusFmtSlog | corpusFmtJSON | corpusFmtLogfmt | corpusFmtEnv | corpusFmtINI, func(g *corpusGen, f corpusFormat) corpusValue {
			return corpusKeyedValue("secret/long-key", g.longKey(f == corpusFmtEnv), g.password(), "")
		}},
		{"secret/json-u-escaped-key", true, corpusFmtJSON, func(g *corpusGen, _ corpusFormat) corpusValue {
			k := g.pick(`pass\u0077ord`, `\u0070assword`, `client\u005fsecret`, `api\u005Fkey`, `\u0074oken`, `pass\u0077d`)
			v := corpusKeyedValue("secret/json-u-escaped-key", k, g.password(), "")
			return v
		}},
		{"secret/url-encoded-query-key", true, corpusFmtAccess, func(g *corpusGen, _ corpusFormat) corpusValue {
			k := g.pick("pass%77ord", "api%5Fkey", "client%5Fsecret", "access%5ftoken", "%70assword", "api%5fkey")
			return corpusKeyedValue("secret/url-encoded-query-key", k, g.password(), "")
		}},
		{"secret/url-password", true, corpusFmtText, func(g *corpusGen, _ corpusFormat) corpusValue {
			pw := g.chars(g.between(10, 24), corpusAlphaAlnum)
			raw := g.pick("postgres://shop:", "amqp://orders:", "redis://default:", "https://deploy:", "mysql://app:") +
				pw + "@" + g.pick("db.internal:5432/orders?sslmode=require", "rabbit.internal:5672/", "cache:6379/0", "git.internal/shop.git", "10.0.4.7:3306/shop")
			return corpusTokenValue("secret/url-password", g.pick("dsn", "url", "broker", "remote"), raw, pw, "")
		}},
		// Private keys.
		{"private-key/pem", true, corpusFmtPEM, func(g *corpusGen, _ corpusFormat) corpusValue {
			block, body := g.pemBlock("\n")
			return corpusTokenValue("private-key/pem", "", block, body, "")
		}},
		{"private-key/json-escaped", true, corpusFmtJSON, func(g *corpusGen, _ corpusFormat) corpusValue {
			block, body := g.pemBlock(`\n`)
			v := corpusTokenValue("private-key/json-escaped", g.pick("private_key", "tls_key_pem", "material"), block+`\n`, body, "")
			v.verbatim = true
			return v
		}},
		// Chat webhooks.
		{"webhook/slack", true, corpusFmtText, func(g *corpusGen, _ corpusFormat) corpusValue {
			s := g.chars(24, corpusAlphaAlnum)
			raw := "https://hooks.slack.com/services/T" + g.chars(8, corpusAlphaUpper+corpusAlphaDigits) + "/B" + g.chars(10, corpusAlphaUpper+corpusAlphaDigits) + "/" + s
			return corpusTokenValue("webhook/slack", g.pick("webhook", "notify_url", "url", "endpoint"), raw, s, "")
		}},
		{"webhook/discord", true, corpusFmtText, func(g *corpusGen, _ corpusFormat) corpusValue {
			s := g.chars(68, corpusAlphaB64URL)
			raw := "https://" + g.pick("discord.com", "discordapp.com") + "/api/webhooks/" + g.nzDigits(19) + "/" + s
			return corpusTokenValue("webhook/discord", g.pick("webhook", "notify_url", "url", "endpoint"), raw, s, "")
		}},
		{"webhook/teams", true, corpusFmtText, func(g *corpusGen, _ corpusFormat) corpusValue {
			s := g.chars(32, corpusAlphaHex) + "/" + g.uuid()
			raw := "https://" + g.pick("contoso", "shopgmbh", "acme") + ".webhook.office.com/webhookb2/" + g.uuid() + "@" + g.uuid() + "/IncomingWebhook/" + s
			return corpusTokenValue("webhook/teams", g.pick("webhook", "notify_url", "url", "endpoint"), raw, s, "")
		}},

		// Look-alikes.
		{"lookalike/order-id", false, corpusFmtText | corpusFmtAccess | corpusFmtPEM, func(g *corpusGen, f corpusFormat) corpusValue { return g.lookOrderID(f) }},
		{"lookalike/non-luhn-16-digits", false, corpusFmtText | corpusFmtAccess | corpusFmtPEM, func(g *corpusGen, f corpusFormat) corpusValue { return g.lookDigits16(f) }},
		{"lookalike/epoch-millis", false, corpusFmtText | corpusFmtAccess | corpusFmtPEM, func(g *corpusGen, f corpusFormat) corpusValue { return g.lookMillis(f) }},
		{"lookalike/rfc3339", false, corpusFmtText | corpusFmtAccess | corpusFmtPEM, func(g *corpusGen, _ corpusFormat) corpusValue { return g.lookRFC3339() }},
		{"lookalike/tracking-ups", false, corpusFmtText | corpusFmtAccess | corpusFmtPEM, func(g *corpusGen, _ corpusFormat) corpusValue { return g.lookUPS() }},
		{"lookalike/tracking-fedex", false, corpusFmtText | corpusFmtAccess | corpusFmtPEM, func(g *corpusGen, f corpusFormat) corpusValue { return g.lookFedEx(f) }},
		{"lookalike/tracking-usps", false, corpusFmtText | corpusFmtAccess | corpusFmtPEM, func(g *corpusGen, _ corpusFormat) corpusValue {
			return corpusLookalike("lookalike/tracking-usps", g.trackingKey(), g.uspsDigits())
		}},
		{"lookalike/tracking-usps-grouped", false, corpusFmtText&^corpusFmtEnv | corpusFmtPEM, func(g *corpusGen, _ corpusFormat) corpusValue {
			return corpusLookalike("lookalike/tracking-usps-grouped", g.trackingKey(), strings.Join(corpusGroupsOf(g.uspsDigits(), func(int) int { return 4 }), " "))
		}},
		{"lookalike/uuid", false, corpusFmtText | corpusFmtAccess | corpusFmtPEM, func(g *corpusGen, _ corpusFormat) corpusValue { return g.lookUUID() }},
		{"lookalike/sku", false, corpusFmtText | corpusFmtAccess | corpusFmtPEM, func(g *corpusGen, _ corpusFormat) corpusValue { return g.lookSKU() }},
		{"lookalike/version", false, corpusFmtText | corpusFmtAccess | corpusFmtPEM, func(g *corpusGen, _ corpusFormat) corpusValue { return g.lookVersion() }},
		{"lookalike/ip-address", false, corpusFmtText | corpusFmtAccess | corpusFmtPEM, func(g *corpusGen, _ corpusFormat) corpusValue { return g.lookIP() }},
		{"lookalike/price", false, corpusFmtText | corpusFmtAccess | corpusFmtPEM, func(g *corpusGen, f corpusFormat) corpusValue { return g.lookPrice(f) }},
		{"lookalike/hex-hash", false, corpusFmtText | corpusFmtAccess | corpusFmtPEM, func(g *corpusGen, _ corpusFormat) corpusValue { return g.lookHash() }},
		{"lookalike/file-name-at", false, corpusFmtText | corpusFmtAccess | corpusFmtPEM, func(g *corpusGen, _ corpusFormat) corpusValue { return g.lookFile() }},
		{"lookalike/base64-image", false, corpusFmtSlog | corpusFmtJSON | corpusFmtLogfmt | corpusFmtPlain | corpusFmtStack | corpusFmtPEM, func(g *corpusGen, _ corpusFormat) corpusValue { return g.lookImage() }},
	}
}

// ----- records -----

// corpusJsonEscape escapes s as slog's JSONHandler does (RFC 8259 §7, without
// HTML escaping).
func corpusJsonEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// corpusNumText returns how a JSONHandler writes the number v.
func corpusNumText(v slog.Value) string {
	switch v.Kind() {
	case slog.KindInt64:
		return strconv.FormatInt(v.Int64(), 10)
	case slog.KindUint64:
		return strconv.FormatUint(v.Uint64(), 10)
	}
	return strconv.FormatFloat(v.Float64(), 'f', -1, 64)
}

// settle fills text and coreText: the value as format f writes it.
func (v *corpusValue) settle(f corpusFormat) {
	core := v.core
	if core == "" {
		core = v.raw
	}
	switch {
	case v.num != nil && corpusCanNum(f):
		v.text, v.coreText = corpusNumText(*v.num), corpusNumText(*v.num)
	case (f == corpusFmtSlog || f == corpusFmtJSON) && !v.verbatim:
		v.text, v.coreText = corpusJsonEscape(v.raw), corpusJsonEscape(core)
	default:
		v.text, v.coreText = v.raw, core
	}
}

func (g *corpusGen) message() string {
	return g.pick("payment authorised", "payment declined", "refund issued", "order shipped", "checkout started",
		"customer updated", "webhook delivered", "payout scheduled", "address verified", "login failed",
		"inventory synced", "invoice sent", "cart abandoned", "fraud check passed", "retrying request")
}

func corpusHeaderName(k string) string {
	parts := strings.FieldsFunc(k, func(r rune) bool { return r == '_' || r == '-' || r == '.' })
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return "X-" + strings.Join(parts, "-")
}

func corpusLogfmtValue(s string) string {
	if strings.ContainsAny(s, " \t\"=") {
		return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return s
}

// render writes the values into a record of format f.
func (g *corpusGen) render(f corpusFormat, vs []corpusValue) (string, *slog.Record, error) {
	t := g.tick()
	ts := t.Format("2006-01-02T15:04:05.000Z07:00")
	var b strings.Builder
	switch f {
	case corpusFmtSlog:
		rec := slog.NewRecord(t, slog.LevelInfo, g.message(), 0)
		var attrs []slog.Attr
		for _, v := range vs {
			val := slog.StringValue(v.raw)
			if v.num != nil {
				val = *v.num
			}
			attrs = append(attrs, slog.Attr{Key: v.key, Value: val})
		}
		if g.chance(0.3) {
			rec.AddAttrs(slog.String("svc", "checkout"), slog.Attr{Key: g.pick("payment", "order", "req"), Value: slog.GroupValue(attrs...)})
		} else {
			rec.AddAttrs(attrs...)
		}
		var buf bytes.Buffer
		if err := slog.NewJSONHandler(&buf, nil).Handle(context.Background(), rec); err != nil {
			return "", nil, err
		}
		return buf.String(), &rec, nil
	case corpusFmtJSON:
		fmt.Fprintf(&b, `{"@timestamp":"%s","level":"%s","service":"%s","message":"%s"`, ts, g.pick("info", "warn", "error"),
			g.pick("payments", "orders", "shipping", "accounts"), g.message())
		for _, v := range vs {
			if v.num != nil {
				fmt.Fprintf(&b, `,"%s":%s`, v.key, v.text)
			} else {
				fmt.Fprintf(&b, `,"%s":"%s"`, v.key, v.text)
			}
		}
		b.WriteString("}\n")
	case corpusFmtLogfmt:
		fmt.Fprintf(&b, `time=%s level=%s msg="%s"`, ts, g.pick("info", "warn", "error"), g.message())
		for _, v := range vs {
			fmt.Fprintf(&b, " %s=%s", v.key, corpusLogfmtValue(v.text))
		}
		b.WriteString("\n")
	case corpusFmtPlain:
		fmt.Fprintf(&b, "%s %s [%s] %s:", t.Format("2006-01-02 15:04:05.000"), g.pick("INFO", "WARN", "ERROR"), g.pick("checkout", "worker-3", "main"), g.message())
		for i, v := range vs {
			if i > 0 {
				b.WriteString(",")
			}
			switch {
			case v.keyed && i == len(vs)-1:
				// A header-style "key: value" ends the line: the redactor reads
				// an Authorization or Cookie value to the end of the line.
				fmt.Fprintf(&b, " %s%s%s", v.key, g.pick("=", ": "), v.text)
			case v.keyed:
				fmt.Fprintf(&b, " %s=%s", v.key, v.text)
			default:
				fmt.Fprintf(&b, " %s %s", strings.ReplaceAll(v.key, "_", " "), v.text)
			}
		}
		b.WriteString("\n")
	case corpusFmtAccess:
		var q []string
		for _, v := range vs {
			q = append(q, v.key+"="+v.text)
		}
		fmt.Fprintf(&b, `%s - - [%s] "%s /%s?%s HTTP/1.1" %d %d "-" "%s"`+"\n",
			fmt.Sprintf("198.51.100.%d", 1+g.intn(254)), t.Format("02/Jan/2006:15:04:05 -0700"), g.pick("GET", "POST"),
			g.pick("api/v1/checkout", "pay/return", "account/verify", "orders/search", "hooks/psp"), strings.Join(q, "&"),
			[]int{200, 302, 400, 404, 500}[g.intn(5)], 200+g.intn(5000),
			g.pick("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "curl/8.5.0", "okhttp/4.12.0"))
	case corpusFmtHeaders:
		prefix := g.pick("", "> ")
		fmt.Fprintf(&b, "%s%s /v1/%s HTTP/1.1\n%sHost: api.shop.example\n%sContent-Type: application/json\n", prefix,
			g.pick("POST", "GET", "PUT"), g.pick("payments", "refunds", "customers"), prefix, prefix)
		for _, v := range vs {
			name := v.key
			if !v.keyed {
				name = corpusHeaderName(v.key)
			}
			fmt.Fprintf(&b, "%s%s: %s\n", prefix, name, v.text)
		}
		fmt.Fprintf(&b, "%sUser-Agent: shop-sdk/%d.%d\n%s\n", prefix, 1+g.intn(3), g.intn(20), prefix)
	case corpusFmtStack:
		var msg []string
		for _, v := range vs {
			if v.keyed || g.chance(0.5) {
				msg = append(msg, v.key+"="+v.text)
			} else {
				msg = append(msg, strings.ReplaceAll(v.key, "_", " ")+" "+v.text)
			}
		}
		if g.chance(0.5) {
			fmt.Fprintf(&b, "panic: %s: %s [recovered]\n\npanic: %s\n\ngoroutine %d [running]:\n", g.message(), strings.Join(msg, ", "), g.message(), 1+g.intn(900))
			fmt.Fprintf(&b, "github.com/shop/checkout/internal/pay.(*Client).Charge(0xc000%06x, {0x%x, 0x%x})\n\t/src/internal/pay/client.go:%d +0x%x\n",
				g.intn(1<<24), g.intn(1<<20), 1+g.intn(64), 10+g.intn(400), g.intn(4096))
			fmt.Fprintf(&b, "main.main()\n\t/src/cmd/checkout/main.go:%d +0x%x\nexit status 2\n", 10+g.intn(90), g.intn(512))
		} else {
			fmt.Fprintf(&b, "%s ERROR [http-nio-8080-exec-%d] c.s.p.PaymentService - %s\n", t.Format("2006-01-02 15:04:05,000"), 1+g.intn(20), g.message())
			fmt.Fprintf(&b, "java.lang.IllegalStateException: %s\n", strings.Join(msg, ", "))
			fmt.Fprintf(&b, "\tat com.shop.payments.PaymentService.charge(PaymentService.java:%d)\n\tat com.shop.api.CheckoutController.pay(CheckoutController.java:%d)\n", 20+g.intn(300), 20+g.intn(300))
			fmt.Fprintf(&b, "\tat java.base/java.lang.Thread.run(Thread.java:1583)\nCaused by: java.net.SocketTimeoutException: Read timed out\n\t... %d more\n", 10+g.intn(40))
		}
	case corpusFmtEnv:
		fmt.Fprintf(&b, "HOSTNAME=checkout-%s\nHOME=/home/app\nGOMAXPROCS=2\n", g.chars(5, corpusAlphaLower+corpusAlphaDigits))
		for _, v := range vs {
			k := v.key
			if !v.keyed {
				k = strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(k))
			}
			val := v.text
			if strings.ContainsAny(val, " \t") {
				val = `"` + val + `"`
			}
			fmt.Fprintf(&b, "%s=%s\n", k, val)
		}
		b.WriteString("OTEL_SERVICE_NAME=checkout\n")
	case corpusFmtINI:
		fmt.Fprintf(&b, "[%s]\n", g.pick("default", "profile shop-prod", "shop-staging"))
		for _, v := range vs {
			fmt.Fprintf(&b, "%s = %s\n", v.key, v.text)
		}
		fmt.Fprintf(&b, "region = %s\n", g.pick("eu-west-1", "us-east-1", "eu-central-1"))
	case corpusFmtPEM:
		var first, last []string
		var block string
		for _, v := range vs {
			switch {
			case v.class == "private-key/pem":
				block = v.text
			case len(first) <= len(last):
				first = append(first, v.key+"="+corpusLogfmtValue(v.text))
			default:
				last = append(last, v.key+"="+corpusLogfmtValue(v.text))
			}
		}
		fmt.Fprintf(&b, "time=%s level=warn msg=\"key material in config\" %s key=\n%s\ntime=%s level=info msg=\"key loaded\" %s\n",
			ts, strings.Join(first, " "), block, ts, strings.Join(last, " "))
	}
	return b.String(), nil, nil
}

// record makes one record around a secret class drawn at random (so that
// every class gets about as many values), in one of the formats it is logged
// in; a second secret and two to five look-alikes that fit the format join it.
func (g *corpusGen) record(classes []corpusClass) (corpusRecord, error) {
	var secrets []corpusClass
	for _, c := range classes {
		if c.secret {
			secrets = append(secrets, c)
		}
	}
	first := secrets[g.intn(len(secrets))]
	var fs []corpusFormat
	for f := corpusFmtSlog; f <= corpusFmtPEM; f <<= 1 {
		if first.formats&f != 0 {
			fs = append(fs, f)
		}
	}
	f := fs[g.intn(len(fs))]
	var others, looks []corpusClass
	for _, c := range classes {
		switch {
		case c.formats&f == 0:
		case !c.secret:
			looks = append(looks, c)
		case f != corpusFmtPEM:
			others = append(others, c)
		}
	}
	var vs []corpusValue
	add := func(c corpusClass) {
		v := c.gen(g, f)
		if v.secret && v.core == "" {
			v.core = v.raw
		}
		if f == corpusFmtAccess && strings.ContainsAny(v.raw, " \t\"&#") || f == corpusFmtHeaders && strings.ContainsAny(v.raw, "\n") {
			return
		}
		vs = append(vs, v)
	}
	add(first)
	if len(others) > 0 && g.chance(0.3) {
		add(others[g.intn(len(others))])
	}
	if f == corpusFmtINI && g.chance(0.5) { // an AWS credentials file
		s := g.chars(16, corpusAlphaUpper+"234567")
		vs = append(vs, corpusTokenValue("token/aws-access-key-id", "aws_access_key_id", "AKIA"+s, s, "AKIA"))
		vs = append(vs, corpusKeyedValue("secret/ecosystem-key", "aws_secret_access_key", g.chars(40, corpusAlphaB64), ""))
		if g.chance(0.5) {
			t := base64.StdEncoding.EncodeToString(g.bytes(g.between(60, 200)))
			vs = append(vs, corpusKeyedValue("secret/documented-key", "aws_session_token", t, ""))
		}
	}
	for range g.between(2, 5) {
		add(looks[g.intn(len(looks))])
	}
	g.rnd.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
	for i := range vs {
		vs[i].settle(f)
	}
	text, rec, err := g.render(f, vs)
	return corpusRecord{format: f, text: text, rec: rec, values: vs}, err
}

// buildCorpus returns records holding at least lines lines.
func buildCorpus(lines int) ([]corpusRecord, error) {
	g := newCorpusGen()
	classes := corpusClasses()
	var rs []corpusRecord
	for n := 0; n < lines; {
		r, err := g.record(classes)
		if err != nil {
			return nil, err
		}
		n += strings.Count(r.text, "\n")
		rs = append(rs, r)
	}
	return rs, nil
}

// ----- judging -----

// corpusCountOverlapping counts the occurrences of sub in s, overlapping ones too.
func corpusCountOverlapping(s, sub string) int {
	n := 0
	for i := 0; ; {
		k := strings.Index(s[i:], sub)
		if k < 0 {
			return n
		}
		n++
		i += k + 1
	}
}

// corpusIsAlnumByte reports an ASCII letter or digit.
func corpusIsAlnumByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// corpusCountWhole counts the occurrences of sub in s that no letter or digit
// touches on either side: the places a value may stand on its own.
func corpusCountWhole(s, sub string) int {
	n := 0
	for i := 0; ; {
		k := strings.Index(s[i:], sub)
		if k < 0 {
			return n
		}
		a, b := i+k, i+k+len(sub)
		if (a == 0 || !corpusIsAlnumByte(s[a-1]) || !corpusIsAlnumByte(sub[0])) && (b == len(s) || !corpusIsAlnumByte(s[b]) || !corpusIsAlnumByte(sub[len(sub)-1])) {
			n++
		}
		i = a + 1
	}
}

// corpusCutWhole replaces the occurrences of sub in s that stand on their own
// (see corpusCountWhole) with a NUL byte.
func corpusCutWhole(s, sub string) string {
	var b strings.Builder
	for {
		k := strings.Index(s, sub)
		if k < 0 {
			b.WriteString(s)
			return b.String()
		}
		e := k + len(sub)
		if (k == 0 || !corpusIsAlnumByte(s[k-1]) || !corpusIsAlnumByte(sub[0])) && (e == len(s) || !corpusIsAlnumByte(s[e]) || !corpusIsAlnumByte(sub[len(sub)-1])) {
			b.WriteString(s[:k])
			b.WriteByte(0)
		} else {
			b.WriteString(s[:k+1])
			e = k + 1
		}
		s = s[e:]
	}
}

// corpusPieces returns the pieces of the secret v that must not survive: any
// stretch of its core, as the record wrote it, that starts with a significant
// character and holds sigLen of them (4 digits of a card or phone number, 4
// letters or digits of an IBAN, 6 bytes of anything else). A core shorter
// than that (a CVV, a PIN) is one piece, and whole reports so.
func corpusPieces(v corpusValue) (pieces []string, whole bool) {
	core, sig := v.coreText, v.sig
	k := sig.runLen()
	for i := 0; i < len(core); i++ {
		if !sig.is(core[i]) {
			continue
		}
		j, seen := i, 0
		for j < len(core) && seen < k {
			if sig.is(core[j]) {
				seen++
			}
			j++
		}
		if seen < k {
			if i == 0 {
				return []string{core}, true
			}
			break // the tail lies inside a piece already taken
		}
		pieces = append(pieces, core[i:j])
	}
	return pieces, false
}

// corpusLeaked reports whether out still holds one of the pieces of a secret.
// A piece is left when out holds it more often than base(), the record with
// the secret cut out, does: so a group of digits that also occurs in a
// timestamp, or in another secret of the same line, does not count against
// this one. A whole-value piece counts only where it stands on its own.
func corpusLeaked(pieces []string, whole bool, out string, base func() string) bool {
	for _, w := range pieces {
		if !strings.Contains(out, w) {
			continue
		}
		if whole && corpusCountWhole(out, w) > corpusCountWhole(base(), w) || !whole && corpusCountOverlapping(out, w) > corpusCountOverlapping(base(), w) {
			return true
		}
	}
	return false
}

// corpusKept reports whether out holds the look-alike v byte for byte as often
// as the record (with its secrets cut out) does.
func corpusKept(v corpusValue, out, base string) bool {
	return corpusCountOverlapping(out, v.text) >= corpusCountOverlapping(base, v.text)
}

// corpusMasked shows a secret as its first two and last two bytes and its length.
func corpusMasked(s string) string {
	if len(s) < 8 {
		return fmt.Sprintf("(%d bytes)", len(s))
	}
	return fmt.Sprintf("%q…%q (%d bytes)", s[:2], s[len(s)-2:], len(s))
}

type corpusStat struct {
	secret   bool
	n, ok    int
	examples []string
	missed   map[string]int // failures by detail (brand, country, key name, form), never by value
}

// missedSummary lists the details of a class's failures, most frequent first.
func (s *corpusStat) missedSummary() string {
	type kv struct {
		k string
		n int
	}
	var kvs []kv
	for k, n := range s.missed {
		kvs = append(kvs, kv{k, n})
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].n > kvs[j].n || kvs[i].n == kvs[j].n && kvs[i].k < kvs[j].k })
	var b strings.Builder
	for i, e := range kvs {
		if i == 12 {
			fmt.Fprintf(&b, " …")
			break
		}
		fmt.Fprintf(&b, " %s×%d", e.k, e.n)
	}
	return b.String()
}

// corpusTable formats the per-class results as a Markdown table.
func corpusTable(stats map[string]*corpusStat) string {
	names := make([]string, 0, len(stats))
	for n := range stats {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := stats[names[i]], stats[names[j]]
		if a.secret != b.secret {
			return a.secret
		}
		return names[i] < names[j]
	})
	var b strings.Builder
	b.WriteString("| class | kind | values | removed / kept | rate |\n|---|---|---:|---:|---:|\n")
	var tot [2][2]int
	for _, n := range names {
		s := stats[n]
		kind := "look-alike (kept)"
		i := 1
		if s.secret {
			kind, i = "secret (removed)", 0
		}
		tot[i][0] += s.n
		tot[i][1] += s.ok
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %.2f%% |\n", n, kind, s.n, s.ok, 100*float64(s.ok)/float64(s.n))
	}
	fmt.Fprintf(&b, "| **all secrets** | recall | %d | %d | %.3f%% |\n", tot[0][0], tot[0][1], 100*float64(tot[0][1])/float64(max(1, tot[0][0])))
	fmt.Fprintf(&b, "| **all look-alikes** | precision | %d | %d | %.3f%% |\n", tot[1][0], tot[1][1], 100*float64(tot[1][1])/float64(max(1, tot[1][0])))
	return b.String()
}

// TestCorpusPrecisionRecall runs the default Redactor over the generated
// corpus through RedactString, a Writer and, for slog records, a Handler, and
// checks every class against the targets of issue 12: every secret removed,
// at least 99.9% of look-alikes kept. With -v it logs the table that
// redact/README.md shows.
func TestCorpusPrecisionRecall(t *testing.T) {
	// knownGaps are classes that miss their target today. The test reports
	// their figures without failing, and fails once a listed class meets its
	// target, so that the list only shrinks. Every gap issue 12 names is
	// fixed: a class added here needs an issue that says why.
	var knownGaps []string

	r, err := redact.New()
	require.NoError(t, err)
	records, err := buildCorpus(corpusLines)
	require.NoError(t, err)

	var wout bytes.Buffer
	w, err := redact.NewWriter(&wout, r)
	require.NoError(t, err)
	chunks := rand.New(rand.NewPCG(7, 7))

	stats := map[string]*corpusStat{}
	for _, c := range corpusClasses() {
		stats[c.name] = &corpusStat{secret: c.secret}
	}
	// judge scores the values of record rc against out, what path made of it;
	// clean is the record with every secret cut out.
	judge := func(rec int, path string, rc corpusRecord, clean, out string) {
		for _, v := range rc.values {
			st := stats[v.class]
			if st == nil {
				st = &corpusStat{secret: v.secret}
				stats[v.class] = st
			}
			st.n++
			var ok bool
			var shown string
			if v.secret {
				pieces, whole := corpusPieces(v)
				ok = !corpusLeaked(pieces, whole, out, func() string { return corpusCutWhole(rc.text, v.text) })
				shown = corpusMasked(v.text)
			} else {
				ok = corpusKept(v, out, clean)
				shown = fmt.Sprintf("%q", v.text) // generated, not secret
			}
			if ok {
				st.ok++
				continue
			}
			if st.missed == nil {
				st.missed = map[string]int{}
			}
			detail := v.note
			if detail == "" {
				detail = rc.format.String()
			}
			st.missed[detail]++
			if len(st.examples) < 3 {
				st.examples = append(st.examples, fmt.Sprintf("record %d (%s) via %s: key %q %s %s", rec, rc.format, path, v.key, v.note, shown))
			}
		}
	}
	lines := 0
	for i, rc := range records {
		lines += strings.Count(rc.text, "\n")
		for _, v := range rc.values {
			if corpusCountWhole(rc.text, v.text) == 0 {
				t.Fatalf("corpus: record %d (%s) does not hold its %s value %s", i, rc.format, v.class, corpusMasked(v.text))
			}
		}
		clean := rc.text
		for _, v := range rc.values {
			if v.secret {
				clean = corpusCutWhole(clean, v.text)
			}
		}
		judge(i, "RedactString", rc, clean, r.RedactString(rc.text))

		wout.Reset()
		for p := rc.text; p != ""; {
			n := min(len(p), 1+chunks.IntN(96))
			_, err := w.Write([]byte(p[:n]))
			require.NoError(t, err)
			p = p[n:]
		}
		judge(i, "Writer", rc, clean, wout.String())

		if rc.rec != nil {
			var buf bytes.Buffer
			h, err := redact.NewHandler(slog.NewJSONHandler(&buf, nil), r)
			require.NoError(t, err)
			require.NoError(t, h.Handle(context.Background(), *rc.rec))
			judge(i, "slog.Handler", rc, clean, buf.String())
		}
	}
	require.NoError(t, w.Close())
	require.GreaterOrEqual(t, lines, corpusLines)

	t.Logf("corpus: %d records, %d lines\n%s", len(records), lines, corpusTable(stats))
	for name, st := range stats {
		if st.n < corpusMinSamples {
			t.Errorf("class %s: %d values, want at least %d for a meaningful rate", name, st.n, corpusMinSamples)
			continue
		}
		rate := float64(st.ok) / float64(st.n)
		target := corpusKeepTarget
		if st.secret {
			target = corpusRecallTarget
		}
		met := rate >= target
		switch {
		case slices.Contains(knownGaps, name) && met:
			t.Errorf("class %s meets its target now (%.3f%%): remove it from knownGaps", name, 100*rate)
		case slices.Contains(knownGaps, name):
			t.Logf("known gap %s: %.3f%%, target %.1f%%; missed:%s", name, 100*rate, 100*target, st.missedSummary())
		case !met:
			t.Errorf("class %s: %d of %d (%.3f%%), target %.1f%%; missed:%s; e.g.\n\t%s",
				name, st.ok, st.n, 100*rate, 100*target, st.missedSummary(), strings.Join(st.examples, "\n\t"))
		}
	}
}

// TestCorpusJudge checks the measure itself: what counts as a leak and what
// as a kept look-alike.
func TestCorpusJudge(t *testing.T) {
	card := corpusValue{secret: true, sig: corpusSigDigits, text: "4111 1111 1111 1111", coreText: "4111 1111 1111 1111"}
	cvv := corpusValue{secret: true, sig: corpusSigAll, text: "202", coreText: "202"}
	tok := corpusValue{secret: true, sig: corpusSigAll, text: "ghp_abcdefghij", coreText: "abcdefghij"}
	tests := []struct {
		name     string
		v        corpusValue
		in, out  string
		wantLeak bool
	}{
		{"card removed", card, "t=2026 card=4111 1111 1111 1111", "t=2026 card=[REDACTED:card]", false},
		{"card half left", card, "card=4111 1111 1111 1111", "card=4111 1111 [REDACTED:phone]", true},
		{"card last group left", card, "card=4111 1111 1111 1111", "card=[REDACTED:card] 1111", true},
		{"card digits also in a timestamp", card, "ts=1111 card=4111 1111 1111 1111", "ts=1111 card=[REDACTED:card]", false},
		{"cvv removed, year kept", cvv, `{"t":"2026-01-01","cvv":"202"}`, `{"t":"2026-01-01","cvv":"[REDACTED:secret]"}`, false},
		{"cvv left", cvv, `{"t":"2026-01-01","cvv":"202"}`, `{"t":"2026-01-01","cvv":"202"}`, true},
		{"token prefix kept", tok, "k=ghp_abcdefghij", "k=ghp_[REDACTED]", false},
		{"token tail left", tok, "k=ghp_abcdefghij", "k=[REDACTED]efghij", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pieces, whole := corpusPieces(tc.v)
			got := corpusLeaked(pieces, whole, tc.out, func() string { return corpusCutWhole(tc.in, tc.v.text) })
			assert.Equal(t, tc.wantLeak, got)
		})
	}
	look := corpusValue{text: "9400 1000 0000 0000 0000 00"}
	assert.True(t, corpusKept(look, "awb=9400 1000 0000 0000 0000 00", "awb=9400 1000 0000 0000 0000 00"), "untouched")
	assert.False(t, corpusKept(look, "awb=9400 1000 0000 [REDACTED:phone]", "awb=9400 1000 0000 0000 0000 00"), "half redacted")
}
