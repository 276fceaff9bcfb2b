package redact_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

// gen makes random sensitive values and look-alikes.
type gen struct{ r *rand.Rand }

const (
	alnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b64url  = alnum + "-_"
	upperDg = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

func (g gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g gen) chars(set string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[g.r.IntN(len(set))]
	}
	return string(b)
}

func (g gen) digits(n int) string { return g.chars("0123456789", n) }

// luhnDigit returns the check digit that makes body+digit pass the Luhn check.
func luhnDigit(body string) byte {
	sum := 0
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if (len(body)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// card returns a card number of a random brand and its digits.
func (g gen) card() (string, string) {
	brands := []struct {
		prefix string
		length int
	}{
		{"4", 16}, {"4", 13}, {"4", 19}, {"51", 16}, {"55", 16}, {"2221", 16}, {"2720", 16},
		{"34", 15}, {"37", 15}, {"6011", 16}, {"645", 19}, {"65", 16}, {"3528", 16}, {"3589", 19},
		{"62", 16}, {"36", 14}, {"300", 14}, {"38", 16}, {"50", 12}, {"67", 18},
	}
	b := brands[g.r.IntN(len(brands))]
	body := b.prefix + g.digits(b.length-len(b.prefix)-1)
	pan := body + string(luhnDigit(body))
	switch {
	case b.length == 16 && g.r.IntN(3) == 0:
		sep := g.pick([]string{" ", "-"})
		return pan[0:4] + sep + pan[4:8] + sep + pan[8:12] + sep + pan[12:16], pan
	case b.length == 15 && g.r.IntN(2) == 0:
		return pan[0:4] + " " + pan[4:10] + " " + pan[10:15], pan
	}
	return pan, pan
}

// lukewarmID is a 16-digit number that fails the Luhn check.
func (g gen) luhnInvalid() string {
	_, pan := g.card()
	for len(pan) != 16 {
		_, pan = g.card()
	}
	last := pan[15]
	return pan[:15] + string('0'+(last-'0'+1+byte(g.r.IntN(9)))%10)
}

// iban returns a random IBAN of a registry country: the country's example
// with its digits shuffled and check digits recomputed.
func (g gen) iban(examples []string) string {
	ex := []byte(g.pick(examples))
	for i := 4; i < len(ex); i++ {
		if ex[i] >= '0' && ex[i] <= '9' {
			ex[i] = '0' + byte(g.r.IntN(10))
		}
	}
	ex[2], ex[3] = '0', '0'
	rem := 0
	moved := append(append([]byte{}, ex[4:]...), ex[:4]...)
	for _, c := range moved {
		if c >= 'A' && c <= 'Z' {
			rem = (rem*100 + int(c-'A'+10)) % 97
		} else {
			rem = (rem*10 + int(c-'0')) % 97
		}
	}
	check := 98 - rem
	ex[2], ex[3] = byte('0'+check/10), byte('0'+check%10)
	s := string(ex)
	if g.r.IntN(2) == 0 {
		var b strings.Builder
		for k := 0; k < len(s); k += 4 {
			if k > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(s[k:min(k+4, len(s))])
		}
		return b.String()
	}
	return s
}

func (g gen) email() string {
	local := g.chars("abcdefghijklmnopqrstuvwxyz", 1+g.r.IntN(3)) + g.chars("abcdefghijklmnopqrstuvwxyz0123456789._+-", g.r.IntN(12)) + g.chars("abcdefghijklmnopqrstuvwxyz0123456789", 1)
	domain := g.chars("abcdefghijklmnopqrstuvwxyz", 2+g.r.IntN(8))
	if g.r.IntN(2) == 0 {
		domain += "." + g.chars("abcdefghijklmnopqrstuvwxyz0123456789", 2+g.r.IntN(6))
	}
	return local + "@" + domain + "." + g.pick([]string{"com", "de", "co.uk", "shop", "io", "fr"})
}

func (g gen) phone() string {
	nxx := func() string { return string('2'+byte(g.r.IntN(8))) + g.digits(2) }
	switch g.r.IntN(9) {
	case 0:
		return "+1 (" + nxx() + ") " + nxx() + "-" + g.digits(4)
	case 1:
		return "+1 " + nxx() + " " + nxx() + " " + g.digits(4)
	case 2:
		return "+44 20 " + g.digits(4) + " " + g.digits(4)
	case 3:
		return "+49 30 " + g.digits(8)
	case 4:
		return "+33 6 " + g.digits(2) + " " + g.digits(2) + " " + g.digits(2) + " " + g.digits(2)
	case 5:
		return "(" + nxx() + ") " + nxx() + "-" + g.digits(4)
	case 6:
		return nxx() + "-" + nxx() + "-" + g.digits(4)
	case 7:
		return "020 " + g.digits(4) + " " + g.digits(4)
	}
	return "+" + string('1'+byte(g.r.IntN(9))) + g.digits(9+g.r.IntN(4))
}

func (g gen) token() string {
	switch g.r.IntN(9) {
	case 0:
		return "eyJ" + g.chars(b64url, 17+g.r.IntN(30)) + "." + g.chars(b64url, 10+g.r.IntN(80)) + "." + g.chars(b64url, 20+g.r.IntN(60))
	case 1:
		return "hvs." + g.chars(b64url, 24+g.r.IntN(80))
	case 2:
		return g.pick([]string{"AKIA", "ASIA"}) + g.chars(upperDg, 16)
	case 3:
		return g.pick([]string{"sk_live_", "rk_live_", "sk_test_", "rk_test_"}) + g.chars(alnum, 24+g.r.IntN(70))
	case 4:
		return g.pick([]string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}) + g.chars(alnum, 36)
	case 5:
		return "github_pat_" + g.chars(alnum+"_", 82)
	case 6:
		return g.pick([]string{"xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-"}) + g.digits(10) + "-" + g.chars(alnum, 24)
	case 7:
		return "hvb." + g.chars(b64url, 24+g.r.IntN(80))
	}
	return "s." + g.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 6) + g.chars("abcdefghijklmnopqrstuvwxyz", 6) + g.chars(alnum, 12)
}

// secretPair returns a key-value fragment and the secret value in it.
func (g gen) secretPair() (string, string) {
	key := g.pick([]string{"password", "passwd", "secret", "api_key", "apikey", "api-key", "token",
		"access_token", "refresh_token", "client_secret", "private_key", "db_password", "X-Api-Key", "cvv", "cvc", "pin"})
	val := g.chars(alnum, 10+g.r.IntN(14))
	switch g.r.IntN(5) {
	case 0:
		return `{"` + key + `":"` + val + `"}`, val
	case 1:
		return key + "=" + val, val
	case 2:
		return "GET /cb?x=1&" + key + "=" + val + "&y=2", val
	case 3:
		return key + ": " + val, val
	}
	user := g.chars("abcdefghijklmnopqrstuvwxyz", 3+g.r.IntN(5))
	return g.pick([]string{"postgres", "redis", "https", "amqp"}) + "://" + user + ":" + val + "@db.internal:5432/x", val
}

// lastFragment returns a fragment that runs to the end of its line, and its
// secret: a header field or a PEM block.
func (g gen) lastFragment() (string, string) {
	v := g.chars(alnum, 20)
	switch g.r.IntN(4) {
	case 0:
		return "Authorization: Bearer " + v, v
	case 1:
		return "Cookie: sid=" + v + "; theme=dark", v
	case 2:
		return "DPoP: eyJ" + v + "." + v + "." + v, v
	}
	return "-----BEGIN RSA PRIVATE KEY-----\\n" + v + "\\n-----END RSA PRIVATE KEY-----", v
}

func (g gen) lookalike() string {
	switch g.r.IntN(14) {
	case 0:
		return "17" + g.digits(11) // millisecond timestamp
	case 1:
		return g.luhnInvalid()
	case 2:
		return fmt.Sprintf("20%02d-%02d-%02d", g.r.IntN(40), 1+g.r.IntN(12), 1+g.r.IntN(28))
	case 3:
		return fmt.Sprintf("%02d:%02d:%02d.%03d", g.r.IntN(24), g.r.IntN(60), g.r.IntN(60), g.r.IntN(1000))
	case 4:
		return fmt.Sprintf("v%d.%d.%d", g.r.IntN(3), g.r.IntN(40), g.r.IntN(20))
	case 5:
		return fmt.Sprintf("%d,%03d.%02d", 1+g.r.IntN(99), g.r.IntN(1000), g.r.IntN(100))
	case 6:
		return fmt.Sprintf("%d.%d.%d.%d", g.r.IntN(256), g.r.IntN(256), g.r.IntN(256), g.r.IntN(256))
	case 7:
		return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", g.r.Uint32(), g.r.IntN(1<<16), g.r.IntN(1<<16), g.r.IntN(1<<16), g.r.Int64N(1<<48))
	case 8:
		return fmt.Sprintf("%08d-%04d-%04d-%04d-%012d", g.r.IntN(1e8), g.r.IntN(1e4), g.r.IntN(1e4), g.r.IntN(1e4), g.r.Int64N(1e12))
	case 9:
		return fmt.Sprintf("ORD-%d-%06d", 2020+g.r.IntN(10), g.r.IntN(1e6))
	case 10:
		return g.chars("0123456789abcdef", 32) // trace id
	case 11:
		return "cus_" + g.chars(alnum, 14)
	case 12:
		return g.digits(1 + g.r.IntN(8))
	}
	return g.pick([]string{"order placed", "status=paid", "retry in 5s", "user_agent=shop/3.4.1", "qty=3", "tax: 19%"})
}

// TestPlantedValues builds random log lines of sensitive values and
// look-alikes: no sensitive value may survive and no look-alike may change.
func TestPlantedValues(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	g := gen{r: rand.New(rand.NewPCG(propertySeed(t), 1))}
	examples := strings.Fields(registryExamplesForTest)
	lines := 3000
	if testing.Short() {
		lines = 300
	}
	// Every line also goes through a Writer in random pieces: it must write
	// what RedactString returns.
	var streamed, want strings.Builder
	w, err := redact.NewWriter(&streamed, r, redact.WithBufferSize(redact.MinBufferSize))
	require.NoError(t, err)
	for line := 0; line < lines; line++ {
		var frags, planted, kept []string
		for k := 1 + g.r.IntN(8); k > 0; k-- {
			switch g.r.IntN(7) {
			case 0:
				s, digits := g.card()
				frags, planted = append(frags, s), append(planted, s, digits)
			case 1:
				s := g.iban(examples)
				frags, planted = append(frags, s), append(planted, s)
			case 2:
				s := g.email()
				frags, planted = append(frags, s), append(planted, s)
			case 3:
				s := g.phone()
				frags, planted = append(frags, s), append(planted, s)
			case 4:
				s := g.token()
				frags, planted = append(frags, s), append(planted, s)
			case 5:
				s, v := g.secretPair()
				frags, planted = append(frags, s), append(planted, v)
			default:
				s := g.lookalike()
				frags, kept = append(frags, s), append(kept, s)
			}
		}
		if g.r.IntN(4) == 0 {
			s, v := g.lastFragment()
			frags, planted = append(frags, s), append(planted, v)
		}
		var in string
		if g.r.IntN(2) == 0 {
			in = strings.Join(frags, g.pick([]string{", ", " | ", "; ", "\t"}))
		} else {
			var b strings.Builder
			b.WriteByte('{')
			for i, f := range frags {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%q:%q", fmt.Sprintf("f%d", i), f)
			}
			b.WriteByte('}')
			in = b.String()
		}
		out := r.RedactString(in)
		want.WriteString(out + "\n")
		for rest := in + "\n"; rest != ""; {
			n := min(len(rest), 1+g.r.IntN(300))
			_, err := w.Write([]byte(rest[:n]))
			require.NoError(t, err)
			rest = rest[n:]
		}
		for _, p := range planted {
			if !assert.NotContains(t, out, p, "line %d\n in: %s", line, in) {
				return
			}
		}
		for _, k := range kept {
			if !assert.Contains(t, out, k, "line %d\n in: %s", line, in) {
				return
			}
		}
	}
	require.NoError(t, w.Close())
	assert.Equal(t, want.String(), streamed.String())
}

// propertySeed is fixed, so a failure reproduces; ZTKIT_PROPERTY_SEED
// explores others.
func propertySeed(t *testing.T) uint64 {
	t.Helper()
	if v := os.Getenv("ZTKIT_PROPERTY_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err)
		return seed
	}
	return 20261123
}

// registryExamplesForTest are registry example IBANs of many countries.
const registryExamplesForTest = `GB82WEST12345698765432 DE89370400440532013000 FR1420041010050500013M02606
NL91ABNA0417164300 BE68539007547034 NO9386011117947 CH9300762011623852957 IT60X0542811101000000123456
ES9121000418450200051332 PL61109010140000071219812874 MT84MALT011000012345MTLCAST001S
RU0304452522540817810538091310419 LC55HEMM000100010012001200023015 SC18SSCB11010000000000001497USD
BR6699999A03000010009795493C1 QA58DOHB00001234567890ABCDEFG KZ86125KZT5004100100 YE15CBYE0001018861234567891234`
