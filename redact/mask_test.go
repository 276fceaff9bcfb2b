package redact

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPairAt checks pairAt against the secret key names.
func TestPairAt(t *testing.T) {
	var ends []string
	for _, w := range []string{"password", "passwd", "pwd", "secret", "apikey", "api_key", "privatekey", "authorization",
		"token", "pin", "cookie", "passphrase", "passcode", "cvv", "cvc", "dpop", "credential", "credentials", "secret_key"} {
		require.NotEqual(t, keyNone, secretKey([]byte("db_"+w)), w)
		ends = append(ends, w[len(w)-2:])
	}
	extra := []string{"vs", "vl", "lv", "lc", "ll", "av", "ac", "as"}
	for a := range 256 {
		for b := range 256 {
			pair := string([]byte{toLower(byte(a)), toLower(byte(b))})
			letters := isLetter(byte(a)) && isLetter(byte(b))
			want := letters && (slices.Contains(ends, pair) || slices.Contains(extra, pair))
			require.Equal(t, want, pairAt(byte(a), byte(b)), "%q %q", a, b)
			if letters && mayEndSecretKey(byte(a), byte(b)) {
				require.True(t, pairAt(byte(a), byte(b)), "%q %q passes the visit but is no candidate", a, b)
			}
		}
	}
}

// TestClassifyVector holds the vector classifier to candidateAt.
func TestClassifyVector(t *testing.T) {
	if detectSIMD() == simdNone {
		t.Skip("this CPU runs the plain scan: no vector classifier to test")
	}
	tabs := newLaneTables()
	rng := rand.New(rand.NewPCG(1, 2))
	const set = ":=._-+(@AJaoyhksbrwetnpdcvi\"'\\/ \t0123456789eyJxXKS"
	for range 5000 {
		nb := 1 + rng.IntN(4)
		src := make([]byte, blockBefore+64*nb+blockAfter)
		for i := range src {
			if rng.IntN(4) == 0 {
				src[i] = byte(rng.IntN(256))
			} else {
				src[i] = set[rng.IntN(len(set))]
			}
		}
		got := make([]uint64, nb)
		classifyVector(tabs, src, nb, got)
		for b := range nb {
			want := classifyGeneric(src, blockBefore+64*b)
			require.Equal(t, want, got[b], "block %d of %q: %064b", b, src, want^got[b])
		}
	}
}

// maskedFragments are pieces of log lines that anchor detectors or look as if
// they might.
var maskedFragments = []string{
	`{"time":"2026-11-23T10:00:00.123456789+01:00",`, `"level":"INFO",`, `"password":"hunter2",`,
	`\"token\":\"abc\"`, `token=abc&`, `Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln`,
	`4111 1111 1111 1111`, `4111111111111111`, `4111-1111-1111-1111`, `5555555555554444`, `378282246310005`,
	`1732350000123`, `+1 (415) 555-2671`, `(415) 555-2671`, `415-555-2671`, `+44 20 7946 0958`, `0612345678`,
	`GB82WEST12345698765432`, `DE89 3704 0044 0532 0130 00`, `AKIAIOSFODNN7EXAMPLE`, `ASIA`, `alice@example.com`,
	`ghp_abcdefghijklmnopqrstuvwxyz0123456789`, `github_pat_11ABCDEFG0123456789_abcdefghijklmnop`,
	`sk_live_4eC39HqLyjWDarjtT1zdp7dc`, `rk_test_abc`, `xoxb-123456789012-abcdef`, `hvs.CAESIabcdefghijklmnop`,
	`s.abcdefghijklmnopqrstuvwx`, `hvb.AAAAAQ`, `-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----`,
	`https://app:s3cr3t@pay.example.com/v1`, `550e8400-e29b-41d4-a716-446655440000`, `12345678-1234-1234-1234-123456789012`,
	`1.26.8`, `10.0.12.7`, `1,299.00`, `2026-11-25`, `10:30`, `x86_64`, `3ds2`, `SKU-1001`, `ORD-2026-000123`,
	`cvv=123`, `pin: 1234`, `Cookie: a=b; c=d`, `api_key = x`, `"secret" : "x"`, ` `, `,`, `"`, `:`, `=`, `\`,
	`-`, `.`, `_`, `@`, `+`, `(`, `eyJ`, `J`, `A`, "\t", "\n", `db_password=`, `set-cookie:`, `"dpop":"x"`,
	`4111.1111.1111.1111`, `4111/1111/1111/1111`, "4111\u00a01111\u00a01111\u00a01111", "4111\u202f1111",
	`4111%201111%201111%201111`, `4111+1111+1111+1111`, `\u0034\u0031\u0031\u0031\u0031`, `\u0020`, `\u00a0`,
	`4111  1111 - 1111`, `%20`, `%40`, `\u0040`, `\t`, `12\u00a0`, "0 +44 20", `%09`,
	`de89370400440532013000`, `gb82 west 1234 5698 7654 32`, `JO94CBJO0010000000000131000302`, `DE89-3704-0044`,
	`alice%40example.com`, `bob\u0040example.org`, "ivan@пример.рф", `icon@2x.png`, "\xd0\xbf@", `xn--p1ai`,
	`"\u0070assword":"x"`, `api%5Fkey=x&`, `password%3Dx%26`, `pwd=x`, `passcode:`, `credentials=`, `"total":1`,
	`X-Amz-Credential: x`, `SECRET_KEY = 'x'`, `\u00`, `%3D`, `%5F`, `"\u0074oken"  :  "x"`,
	`whsec_5a6d7c2e1f0b9a8c7d6e5f4a3b2c1d0e`, `c_`, `c.`, `https://hooks.slack.com/services/T0/B0/XXXX`,
	`https://discord.com/api/webhooks/1/abc`, `https://x.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d`,
	`ab12`, `xy1`, `ghr_`, `ghu_abcdefghijklmnopqrstuvwxyz0123456789`, `o.`, `r_`, `uJ`, `JO95 CBJO 0010 0000`,
}

// maskedLine returns a random line of fragments, random bytes and padding.
func maskedLine(rng *rand.Rand) []byte {
	var b strings.Builder
	for n := rng.IntN(40); n >= 0; n-- {
		switch rng.IntN(6) {
		case 0:
			b.WriteByte(byte(rng.IntN(256)))
		case 1:
			b.WriteString(strings.Repeat("x", rng.IntN(70)))
		default:
			b.WriteString(maskedFragments[rng.IntN(len(maskedFragments))])
		}
	}
	return []byte(b.String())
}

// scanWith returns the matches the scan finds in src with the given way of
// finding anchors.
func scanWith(src []byte, simd simdKind) []match {
	s := scanner{src: src, simd: simd, tabs: newLaneTables()}
	if len(src) < maskedMin && simd != simdNone {
		s.runMasked()
	} else {
		s.run()
	}
	return s.ms
}

// checkMaskedScan fails when a masked scan of src finds other matches than the
// plain scan.
func checkMaskedScan(t *testing.T, src []byte) {
	t.Helper()
	want := scanWith(src, simdNone)
	if got := scanWith(src, simdGeneric); !assert.Equal(t, want, got, "generic classifier on %q", src) {
		t.FailNow()
	}
	if simd := detectSIMD(); simd != simdNone {
		if got := scanWith(src, simd); !assert.Equal(t, want, got, "vector classifier on %q", src) {
			t.FailNow()
		}
	}
}

func TestMaskedScanMatchesPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		checkMaskedScan(t, maskedLine(rng))
	}
	for _, f := range maskedFragments {
		for pad := range 70 {
			checkMaskedScan(t, []byte(strings.Repeat("x", pad)+f+strings.Repeat(" ", 64)))
		}
	}
}

func FuzzMaskedScan(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 50 {
		f.Add(maskedLine(rng))
	}
	for _, s := range maskedFragments {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkMaskedScan(t, src)
	})
}
