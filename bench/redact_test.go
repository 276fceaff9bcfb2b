package bench

import (
	"bytes"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	re2 "github.com/wasilibs/go-re2"

	"github.com/ztkit/ztkit/redact"
)

// The inputs below are copied byte for byte from redact/bench_test.go
// (cleanLine, denseLine, adversarial), so that these numbers compare with the
// package's own benchmarks.

// redactCleanLine is a 1 KiB slog JSON line with nothing to redact.
func redactCleanLine(tb testing.TB) []byte {
	tb.Helper()
	line := `{"time":"2026-11-23T10:00:00.123456789+01:00","level":"INFO","source":{"function":"github.com/shop/checkout.(*Service).PlaceOrder","file":"/src/checkout/service.go","line":217},` +
		`"msg":"order placed","service":"checkout","version":"1.26.8","env":"production","region":"eu-west-1",` +
		`"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","request_id":"550e8400-e29b-41d4-a716-446655440000",` +
		`"order_id":"ORD-2026-000123","order_number":4111111111111112,"ts_ms":1732350000123,"customer_id":"cus_8842","cart":{"items":3,"sku":["SKU-1001","SKU-2002","SKU-3003"],` +
		`"subtotal":"1,299.00","tax":"259.80","currency":"EUR"},"payment":{"method":"card","brand":"visa","last4":"1111","status":"authorized"},` +
		`"http":{"method":"POST","route":"/v1/orders","status":201,"duration_ms":42.7,"peer":"10.0.12.7","user_agent":"Mozilla/5.0 (X11; Linux x86_64) shop-web/3.4.1"},` +
		`"shipping":{"carrier":"dhl","service":"express","eta":"2026-11-25","zone":"DE-BE"},"flags":["new_checkout","3ds2"],"retries":0}`
	for len(line) < 1024 {
		line = line[:len(line)-1] + `,"pad":"` + strings.Repeat("x", min(64, 1024-len(line)+2)) + `"}`
	}
	require.GreaterOrEqual(tb, len(line), 1024)
	return []byte(line)
}

// redactDenseParts are the pieces denseLine repeats; each holds values to
// redact.
var redactDenseParts = []string{
	`{"email":"alice@example.com","card":"4111 1111 1111 1111","phone":"+1 (415) 555-2671"`,
	`"iban":"GB82WEST12345698765432","password":"hunter2","token":"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"`,
	`"msg":"charged 5555555555554444 for bob.smith+shop@mail.example.co.uk via https://app:s3cr3t@pay.example.com/v1"`,
	`"aws":"AKIAIOSFODNN7EXAMPLE","gh":"ghp_abcdefghijklmnopqrstuvwxyz0123456789","auth":"Authorization: Bearer abc.def.ghi"`,
	`"amex":"378282246310005","de":"DE89 3704 0044 0532 0130 00","uk":"+44 20 7946 0958","cvv":"123","pin":1234`,
	`"more":"carol@example.org 6011111111111117 (415) 555-2671 sk_live_4eC39HqLyjWDarjtT1zdp7dc NL91ABNA0417164300"`,
}

// redactDenseLine is a 1 KiB line packed with values to redact.
func redactDenseLine() []byte {
	var b strings.Builder
	for b.Len() < 1024 {
		for _, p := range redactDenseParts {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(p)
		}
	}
	return []byte(b.String()[:1024])
}

// redactAdversarial returns 1 MiB inputs that stress each detector.
func redactAdversarial() map[string][]byte {
	const n = 1 << 20
	rep := func(s string) []byte { return bytes.Repeat([]byte(s), n/len(s)) }
	return map[string][]byte{
		"digits-spaces": rep("1 "),
		"digit-groups":  rep("4111 "),
		"digits":        rep("4"),
		"at-signs":      rep("a@"),
		"colons":        rep("a:"),
		"keys":          rep("password"),
		"key-equals":    rep("db_password="),
		"quotes":        rep(`"token":"`),
		"eyJ":           rep("eyJhbGciOi."),
		"url":           rep("s://a:b"),
		"plus":          rep("+1 "),
		"dashes":        rep("-----BEGIN "),
		"uuid-ish":      rep("deadbeef-"),
		"iban-ish":      rep("GB82 "),
		"email-local":   rep("a.b"),
		"backslashes":   rep(`\"password\":\"\\`),
		"eyJ-run":       rep("eyJ"),
		"eyJ-dash":      rep("eyJ-"),
		"slack-run":     rep("xoxb-"),
		"github-pat":    rep("github_pat_"),
		"cookie-header": rep("Cookie: "),
		"token-colon":   rep("token: "),
		"token-brace":   rep("token={"),
		"pem-no-end":    rep("-----BEGIN RSA PRIVATE KEY-----"),
		"hvs-run":       rep("hvs.a-"),
		"phone-groups":  rep("+33 6 12 "),
		"nanp":          rep("415-555-"),
		"quote-escape":  rep(`"token":"\`),
	}
}

// redactPattern is one kind of value for the regular-expression redactors:
// keep matches what stays before the value (a key name, a scheme), value what
// is replaced and after what stays after it (a closing quote, the '@' of a
// URL). None of the three may hold a capturing group.
type redactPattern struct {
	kind               string
	keep, value, after string
}

// secretWords are the key names whose value is secret, as in the redact
// package's doc (password, passwd, passphrase, secret, token, api key,
// private key, authorization, cookie, cvv, cvc, pin, dpop), whole or as a
// suffix. A regular expression cannot apply ztkit's boundary rule for the
// short words (cvv, pin, …: only after a separator or a case change).
const secretWords = `(?:password|passwd|passphrase|secret|token|api[_-]?key|private[_-]?key|authorization|cookie|cvv|cvc|pin|dpop)`

// redactPatterns are the patterns a user would write for what ztkit's
// built-in detectors find, ordered by priority (a regular expression takes
// the leftmost match, and among those starting at the same place the first
// alternative). They check shape only: no Luhn check for cards, no ISO 7064
// mod-97 or country length for IBANs, no issuer ranges, so they redact
// look-alikes that ztkit keeps (see TestRedactEquivalence).
var redactPatterns = []redactPattern{
	{"private_key", ``, `-----BEGIN [A-Z ]*PRIVATE KEY-----(?s:.*?)-----END [A-Z ]*PRIVATE KEY-----`, ``},
	{"jwt", ``, `\beyJ[A-Za-z0-9_-]{9,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){1,3}`, ``},
	{"vault_token", ``, `\bhv[sb]\.[A-Za-z0-9_-]{24,}`, ``},
	{"aws_key", ``, `\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`, ``},
	{"stripe_key", ``, `\b[sr]k_(?:live|test)_[A-Za-z0-9]{10,}`, ``},
	{"github_token", ``, `\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})`, ``},
	{"slack_token", ``, `\bxox[bpars]-[A-Za-z0-9-]{10,}`, ``},
	// Authorization header or key: keep the scheme.
	{"secret", `\b(?i:authorization)\s*[=:]\s*(?:(?i:bearer|basic|dpop|token|digest)\s+)?`, `[^\s",;&]+`, ``},
	// JSON: "db_password":"…" (escapes included) and "pin":1234.
	{"secret", `"[A-Za-z0-9_.-]*(?i:` + secretWords + `)"\s*:\s*"`, `(?:[^"\\]|\\.)*`, `"`},
	{"secret", `"[A-Za-z0-9_.-]*(?i:` + secretWords + `)"\s*:\s*`, `[0-9.eE+-]+|true|false`, ``},
	// key=value, key: value, query strings.
	// (Authorization is left to its own pattern above, which keeps the
	// scheme: a second pass must not take the scheme for the value.)
	{"secret", `\b[A-Za-z0-9_.-]*(?i:` + strings.Replace(secretWords, `|authorization`, ``, 1) + `)\s*[=:]\s*`, `[^\s"&,;]+`, ``},
	{"url_password", `\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@"]+:`, `[^\s/@"]+`, `@`},
	{"email", ``, `\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b`, ``},
	// IBAN shape: country, check digits, 11 to 30 letters and digits, compact
	// or in groups of four.
	{"iban", ``, `\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b`, ``},
	// Phone: E.164 with +, NANP, and national numbers with a trunk 0.
	{"phone", ``, `\+[1-9](?:[ .-]?\(?[0-9]{1,4}\)?){2,5}[0-9]`, ``},
	{"phone", ``, `(?:\([2-9][0-9]{2}\)|\b[2-9][0-9]{2})[ .-]?[0-9]{3}[ .-][0-9]{4}\b`, ``},
	{"phone", ``, `\b0[0-9]{2,4}[ -][0-9]{3,4}[ -][0-9]{4}\b`, ``},
	// Card: 12 to 19 digits, plain or with space or dash separators.
	{"card", ``, `\b[0-9](?:[ -]?[0-9]){11,18}\b`, ``},
}

// textRedactor is a redactor built on a regular-expression engine.
type textRedactor interface {
	Redact(dst, src []byte) []byte
}

// reEngine is what the redactors need of *regexp.Regexp and *re2.Regexp.
type reEngine interface {
	ReplaceAll(src, repl []byte) []byte
	FindAllSubmatchIndex(b []byte, n int) [][]int
}

// passRedactor runs one regular expression per pattern with ReplaceAll, in
// order: what most code does.
type passRedactor struct {
	res   []reEngine
	repls [][]byte
}

func newPassRedactor(compile func(string) reEngine) *passRedactor {
	p := &passRedactor{}
	for _, pt := range redactPatterns {
		p.res = append(p.res, compile(`(`+pt.keep+`)(?:`+pt.value+`)(`+pt.after+`)`))
		p.repls = append(p.repls, []byte(`${1}[REDACTED:`+pt.kind+`]${2}`))
	}
	return p
}

func (p *passRedactor) Redact(dst, src []byte) []byte {
	cur := src
	for i, re := range p.res {
		cur = re.ReplaceAll(cur, p.repls[i])
	}
	return append(dst, cur...)
}

// altRedactor runs all patterns as one alternation, (keep)(value)(after) for
// each, in a single FindAllSubmatchIndex pass, and writes into dst.
type altRedactor struct {
	re    reEngine
	kinds [][]byte
}

func newAltRedactor(compile func(string) reEngine) *altRedactor {
	a := &altRedactor{}
	var alt []string
	for _, pt := range redactPatterns {
		alt = append(alt, `(`+pt.keep+`)(`+pt.value+`)(`+pt.after+`)`)
		a.kinds = append(a.kinds, []byte(`[REDACTED:`+pt.kind+`]`))
	}
	a.re = compile(strings.Join(alt, `|`))
	return a
}

func (a *altRedactor) Redact(dst, src []byte) []byte {
	last := 0
	for _, m := range a.re.FindAllSubmatchIndex(src, -1) {
		for k := range a.kinds {
			g := 6*k + 4 // the value group, 3k+2, of alternative k
			if m[g] < 0 {
				continue
			}
			dst = append(dst, src[last:m[g]]...)
			dst = append(dst, a.kinds[k]...)
			last = m[g+1]
			break
		}
	}
	return append(dst, src[last:]...)
}

func compileStd(s string) reEngine { return regexp.MustCompile(s) }
func compileRE2(s string) reEngine { return re2.MustCompile(s) }

type namedRedactor struct {
	name string
	r    textRedactor
}

// redactors returns ztkit (mask mode, the default) and the regular-expression
// redactors, in benchmark order.
func redactors(tb testing.TB) []namedRedactor {
	tb.Helper()
	z, err := redact.New()
	require.NoError(tb, err)
	return []namedRedactor{
		{"ztkit", z},
		{"regexp", newPassRedactor(compileStd)},
		{"regexp-1pass", newAltRedactor(compileStd)},
		{"re2", newAltRedactor(compileRE2)},
		{"re2-passes", newPassRedactor(compileRE2)},
	}
}

var indexByteSink int

func BenchmarkRedact(b *testing.B) {
	lines := []struct {
		name string
		line []byte
	}{{"clean", redactCleanLine(b)}, {"dense", redactDenseLine()}}
	rs := redactors(b)
	for _, l := range lines {
		b.Run(l.name, func(b *testing.B) {
			for _, nr := range rs {
				b.Run(nr.name, func(b *testing.B) {
					dst := make([]byte, 0, 8<<10)
					b.SetBytes(int64(len(l.line)))
					b.ReportAllocs()
					cpu := startCPU()
					for b.Loop() {
						dst = nr.r.Redact(dst[:0], l.line)
					}
					cpu.report(b)
				})
			}
			b.Run("indexbyte-floor", func(b *testing.B) {
				b.SetBytes(int64(len(l.line)))
				b.ReportAllocs()
				cpu := startCPU()
				for b.Loop() {
					indexByteSink += bytes.IndexByte(l.line, 0)
				}
				cpu.report(b)
			})
		})
	}
}

// BenchmarkRedactAdversarial runs the 1 MiB adversarial inputs of
// redact/bench_test.go through ztkit and the standard-library regexp
// redactor (multi-pass; one op of regexp is about a second per MiB).
func BenchmarkRedactAdversarial(b *testing.B) {
	adv := redactAdversarial()
	names := make([]string, 0, len(adv))
	for name := range adv {
		names = append(names, name)
	}
	sort.Strings(names)
	var rs []namedRedactor
	for _, nr := range redactors(b) {
		if nr.name == "ztkit" || nr.name == "regexp" {
			rs = append(rs, nr)
		}
	}
	for _, name := range names {
		in := adv[name]
		b.Run(name, func(b *testing.B) {
			for _, nr := range rs {
				b.Run(nr.name, func(b *testing.B) {
					dst := make([]byte, 0, 2*len(in))
					b.SetBytes(int64(len(in)))
					b.ReportAllocs()
					for b.Loop() {
						dst = nr.r.Redact(dst[:0], in)
					}
				})
			}
		})
	}
}

// TestRedactEquivalence checks that every redactor benchmarked removes every
// value planted in the dense line, so that none is timed doing less work,
// and records the look-alikes in the clean line that the regular expressions
// redact and ztkit keeps (they check shape, not Luhn, ranges or mod-97).
func TestRedactEquivalence(t *testing.T) {
	dense := redactDenseLine()
	planted := []string{
		`alice@example.com`, `4111 1111 1111 1111`, `+1 (415) 555-2671`, `555-2671`,
		`GB82WEST12345698765432`, `hunter2`, `eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln`,
		`5555555555554444`, `bob.smith+shop@mail.example.co.uk`, `s3cr3t`,
		`AKIAIOSFODNN7EXAMPLE`, `ghp_abcdefghijklmnopqrstuvwxyz0123456789`, `abc.def.ghi`,
		`378282246310005`, `DE89 3704 0044 0532 0130 00`, `+44 20 7946 0958`, `7946 0958`,
		`"cvv":"123"`, `"pin":1234`, `carol@example.org`, `6011111111111117`,
		`sk_live_4eC39HqLyjWDarjtT1zdp7dc`, `NL91ABNA0417164300`,
	}
	for _, p := range planted {
		require.Contains(t, string(dense), p, "planted value not in the dense line")
	}
	clean := redactCleanLine(t)
	// Look-alikes in the clean line: an order number that fails the Luhn
	// check, a millisecond timestamp, the 12-digit tail of a UUID.
	lookAlikes := []string{`4111111111111112`, `1732350000123`, `446655440000`}
	for _, nr := range redactors(t) {
		t.Run(nr.name, func(t *testing.T) {
			out := string(nr.r.Redact(nil, dense))
			for _, p := range planted {
				require.NotContains(t, out, p, "%s left a planted value", nr.name)
			}
			// The key names and JSON structure survive.
			for _, k := range []string{`"email":"`, `"password":"`, `"cvv":"`, `"auth":"Authorization: Bearer `, `https://app:`} {
				require.Contains(t, out, k, "%s lost context", nr.name)
			}
			cout := string(nr.r.Redact(nil, clean))
			if nr.name == "ztkit" {
				require.Equal(t, string(clean), cout, "ztkit changed the clean line")
				return
			}
			for _, la := range lookAlikes {
				require.NotContains(t, cout, la, "%s was expected to over-redact %s", nr.name, la)
			}
			t.Logf("%s over-redacts the clean line: %s", nr.name, cout)
		})
	}
}
