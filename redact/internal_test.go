package redact

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCharClass rebuilds the scanner's class table from its definition.
func TestCharClass(t *testing.T) {
	require.Len(t, charClass, 256)
	for c := 0; c < 256; c++ {
		b := byte(c)
		var want byte
		switch {
		case b >= '0' && b <= '9':
			want = wordBit | cDigit
		case b >= 'A' && b <= 'Z':
			want = wordBit | cUpper
		case b >= 'a' && b <= 'z':
			want = wordBit
		case b == '_':
			want = wordBit | cUnderscore
		case b == '@':
			want = cAt
		case b == ':':
			want = cColon
		case b == '=':
			want = cEquals
		case b == '+':
			want = cPlus
		case b == '(':
			want = cParen
		case b == '-':
			want = cDash
		case b == '.':
			want = cDot
		case b == '\\' || b == '%':
			want = cEscape
		}
		assert.Equal(t, want, charClass[c], "byte %#x", c)
	}
}

// TestCardSepStart rebuilds cardSepStart: every byte a separator unit
// starts with, and no other.
func TestCardSepStart(t *testing.T) {
	require.Len(t, cardSepStart, 256)
	for c := 0; c < 256; c++ {
		var src []byte
		switch c {
		case 0xc2:
			src = []byte{0xc2, 0xa0}
		case 0xe2:
			src = []byte{0xe2, 0x80, 0xaf}
		case '%':
			src = []byte("%20")
		case '\\':
			src = []byte(`\t`)
		default:
			src = []byte{byte(c)}
		}
		want := cardSepUnit(src, 0) > 0 || c == '+'
		assert.Equal(t, want, cardSepStart[c] != 0, "byte %#x", c)
		if want {
			assert.True(t, isCardSepByte(byte(c)), "byte %#x", c)
		}
	}
}

// TestIBANRegistry checks the length table against one example per country
// of the SWIFT IBAN Registry.
func TestIBANRegistry(t *testing.T) {
	examples := strings.Fields(registryExamples)
	require.Len(t, examples, 89)
	require.Equal(t, 89*4, len(ibanRegistry))
	for _, iban := range examples {
		assert.Equal(t, len(iban), ibanLength(iban[0], iban[1]), iban)
		assert.Equal(t, 1, mod97([]byte(iban)), iban)
		assert.Equal(t, len(iban), ibanAt([]byte(iban), 0), iban)
		var print strings.Builder
		for k := 0; k < len(iban); k += 4 {
			if k > 0 {
				print.WriteByte(' ')
			}
			print.WriteString(iban[k:min(k+4, len(iban))])
		}
		assert.Equal(t, print.Len(), ibanAt([]byte(print.String()), 0), print.String())
	}
	assert.Zero(t, ibanLength('U', 'S'))
	for _, table := range []string{ibanRegistry, ibanPartial} {
		for k := 0; k < len(table); k += 4 {
			want := int(table[k+2]-'0')*10 + int(table[k+3]-'0')
			assert.Equal(t, want, ibanLength(table[k], table[k+1]), table[k:k+2])
		}
	}
	n := 0
	for _, l := range []byte(ibanLengths) {
		if l != 0 {
			n++
		}
	}
	assert.Equal(t, 89+22, n)
	partial := strings.Fields(partialExamples)
	require.Len(t, partial, 22)
	require.Equal(t, 22*4, len(ibanPartial))
	for _, iban := range partial {
		assert.Equal(t, len(iban), ibanLength(iban[0], iban[1]), iban)
		assert.Equal(t, 1, mod97([]byte(iban)), iban)
		assert.Equal(t, len(iban), ibanAt([]byte(iban), 0), iban)
	}
}

// partialExamples holds an IBAN of every country of ibanPartial, in the
// national formats (the BCEAO countries start their BBAN with letters),
// with computed check digits.
const partialExamples = `
AO06004400006729503010102 BF42BF0840101300463574000390 BJ66BJ0610100100144390000769 CF4220001000010120069700160
CG5230011000202151234567890 CI93CI0080111301134291200589 CM2110002000300277976315008 CV64000300004547069110176
DZ580002100001113000000570 GA9040021010320017001000104 GQ7050002001003715228190196 GW04GW1430010181800637601
IR710570029971601460641001 KM3800005000010010329680131 MA64011519000001205000534921 MG4600005030071289421016045
ML13ML0160120102600100668497 MZ59000301080016367102371 NE58NE0380100100130305000268 SN84SN0120101001350015220105
TD8960002000010271091600153 TG53TG0090604310346500400070
`

// registryExamples holds the example IBAN of every country in the SWIFT IBAN
// Registry.
const registryExamples = `
AD1200012030200359100100 AE070331234567890123456 AL47212110090000000235698741
AT611904300234573201 AZ21NABZ00000000137010001944 BA391290079401028494
BE68539007547034 BG80BNBG96611020345678 BH67BMAG00001299123456
BI4210000100010000332045181 BR6699999A03000010009795493C1 BY13NBRB3600900000002Z00AB00
CH9300762011623852957 CR05015202001026284066 CY17002001280000001200527600
CZ6508000000192000145399 DE89370400440532013000 DJ2100010000000154000100186
DK5000400440116243 DO28BAGR00000001212453611324 EE382200221020145685
EG380019000500000000263180002 ES9121000418450200051332 FI2112345600000785
FK88SC123456789012 FO6264600001631634 FR1420041010050500013M02606
GB29NWBK60161331926819 GE29NB0000000101904917 GI75NWBK000000007099453
GL8964710001000206 GR1601101250000000012300695 GT82TRAJ01020000001210029690
HN88CABF00000000000250005469 HR1210010051863000160 HU42117730161111101800000000
IE29AIBK93115212345678 IL620108000000099999999 IQ98NBIQ850123456789012
IS140159260076545510730339 IT60X0542811101000000123456 JO94CBJO0010000000000131000302
KW81CBKU0000000000001234560101 KZ86125KZT5004100100 LB62099900000001001901229114
LC55HEMM000100010012001200023015 LI21088100002324013AA LT121000011101001000
LU280019400644750000 LV80BANK0000435195001 LY83002048000020100120361
MC5811222000010123456789030 MD24AG000225100013104168 ME25505000012345678951
MK07250120000058984 MN121234123456789123 MR1300020001010000123456753
MT84MALT011000012345MTLCAST001S MU17BOMM0101101030300200000MUR NI45BAPR00000013000003558124
NL91ABNA0417164300 NO9386011117947 OM810180000001299123456
PK36SCBL0000001123456702 PL61109010140000071219812874 PS92PALS000000000400123456702
PT50000201231234567890154 QA58DOHB00001234567890ABCDEFG RO49AAAA1B31007593840000
RS35260005601001611379 RU0304452522540817810538091310419 SA0380000000608010167519
SC18SSCB11010000000000001497USD SD2129010501234001 SE4550000000058398257466
SI56263300012039086 SK3112000000198742637541 SM86U0322509800000000270100
SO211000001001000100141 ST23000100010051845310146 SV62CENR00000000000000700025
TL380080012345678910157 TN5910006035183598478831 TR330006100519786457841326
UA213223130000026007233566001 VA59001123000012345678 VG96VPVG0000012345678901
XK051212012345678906 YE15CBYE0001018861234567891234
`

func TestLuhnAndBrand(t *testing.T) {
	for _, tc := range []struct {
		pan   string
		luhn  bool
		brand bool
	}{
		{"4111111111111111", true, true},
		{"4111111111111112", false, true},
		{"1732350000128", true, false},
		{"5555555555554444", true, true},
		{"555555555555444", false, false},
		{"2221000000000009", true, true},
		{"2720990000000007", true, true},
		{"2721000000000004", true, false},
		{"378282246310005", true, true},
		{"6011111111111117", true, true},
		{"3530111333300000", true, true},
		{"6200000000000005", true, true},
		{"36227206271667", true, true},
		{"501800000009", true, true},
		{"411111111117", true, false},
	} {
		t.Run(tc.pan, func(t *testing.T) {
			assert.Equal(t, tc.luhn, luhn([]byte(tc.pan)))
			assert.Equal(t, tc.brand, cardBrand([]byte(tc.pan)))
		})
	}
}

func TestSecretKey(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want keyClass
	}{
		{"password", keyPlain}, {"PASSWORD", keyPlain}, {"db_password", keyPlain}, {"dbPassword", keyPlain},
		{"passwd", keyPlain}, {"secret", keyPlain}, {"client_secret", keyPlain}, {"clientSecret", keyPlain},
		{"api_key", keyPlain}, {"apikey", keyPlain}, {"api-key", keyPlain}, {"X-Api-Key", keyPlain},
		{"token", keyPlain}, {"access_token", keyPlain}, {"refresh_token", keyPlain}, {"id_token", keyPlain},
		{"authorization", keyAuth}, {"Proxy-Authorization", keyAuth},
		{"cookie", keyHeader}, {"Set-Cookie", keyHeader}, {"session_cookie", keyHeader},
		{"cvv", keyPlain}, {"cvc", keyPlain}, {"card_cvv", keyPlain}, {"pin", keyPlain}, {"userPin", keyPlain},
		{"private_key", keyPlain}, {"privateKey", keyPlain}, {"DPoP", keyProof}, {"x-dpop", keyProof}, {"passphrase", keyPlain},
		{"tokens", keyNone}, {"token_count", keyNone}, {"spin", keyNone}, {"shipping", keyNone},
		{"xcvv", keyNone}, {"fortune_cookie2", keyNone}, {"pinned", keyNone}, {"key", keyNone},
		{"password_hint", keyNone}, {"version", keyNone}, {"id", keyNone}, {"", keyNone},
		{"aws_secret_access_key", keyPlain}, {"AWS_SECRET_ACCESS_KEY", keyPlain}, {"SECRET_KEY", keyPlain},
		{"secretKey", keyPlain}, {"DJANGO_SECRET_KEY", keyPlain}, {"pwd", keyPlain}, {"DB_PWD", keyPlain},
		{"passcode", keyPlain}, {"credentials", keyPlain}, {"X-Amz-Credential", keyPlain},
		{"aws_access_key_id", keyNone}, {"public_key", keyNone}, {"cwd", keyNone}, {"keypwd2", keyNone},
		{"credential_id", keyNone}, {"monkey", keyNone}, {"sort_key", keyNone}, {"SECRET_KEY_BASE", keyPlain},
		{"APP_KEY", keyPlain}, {"ENCRYPTION_KEY", keyPlain}, {"hmacKey", keyPlain}, {"happkey", keyNone},
		{strings.Repeat("x", 80) + "_password", keyPlain},
	} {
		assert.Equal(t, tc.want, secretKey([]byte(tc.key)), tc.key)
		if tc.want != keyNone {
			k := tc.key
			assert.True(t, mayEndSecretKey(k[len(k)-2], k[len(k)-1]), k)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"4111111111111111", "411111******1111"},
		{"4111 1111 1111 1111", "411111******1111"},
		{"378282246310005", "37828******0005"},
		{"36227206271667", "3622******1667"},
		{"501800000009", "50******0009"},
		{"4000000000000000006", "400000*********0006"},
		{"4111%201111%201111%201111", "411111******1111"},
		{`\u0034\u0031\u0031\u0031\u00a01111\u00201111 1111`, "411111******1111"},
		{"4111\u00a01111\u00a01111\u00a01111", "411111******1111"},
	} {
		assert.Equal(t, tc.want, string(truncateCard(nil, []byte(tc.in))), tc.in)
	}
	assert.Equal(t, "GB****************5432", string(truncateIBAN(nil, []byte("GB82 WEST 1234 5698 7654 32"))))
}

// TestMayEndSecretKey: the bit set lets through every two-letter ending
// of a secret key name, in any case, and no other pair of letters.
func TestMayEndSecretKey(t *testing.T) {
	endings := map[string]bool{"rd": true, "wd": true, "et": true, "ey": true, "en": true, "on": true,
		"in": true, "ie": true, "se": true, "vv": true, "vc": true, "op": true, "de": true, "ls": true, "al": true}
	for a := range 256 {
		for b := range 256 {
			la, lb := byte(a)|0x20, byte(b)|0x20
			letters := la >= 'a' && la <= 'z' && lb >= 'a' && lb <= 'z'
			if !letters {
				continue
			}
			want := endings[string([]byte{la, lb})]
			if got := mayEndSecretKey(byte(a), byte(b)); got != want {
				t.Errorf("mayEndSecretKey(%q, %q) = %v, want %v", rune(a), rune(b), got, want)
			}
		}
	}
	for _, name := range []string{"password", "passwd", "secret", "api_key", "private-key", "token", "authorization",
		"pin", "cookie", "set-cookie", "passphrase", "cvv", "cvc", "dpop", "client_secret", "access_token",
		"pwd", "passcode", "credentials", "X-Amz-Credential", "SECRET_KEY", "aws_secret_access_key"} {
		n := len(name)
		if !mayEndSecretKey(name[n-2], name[n-1]) {
			t.Errorf("%s is filtered out", name)
		}
	}
}

// TestMod97 checks the chunked MOD 97-10 against a digit-at-a-time
// reference on values of every length an IBAN has, letters included.
func TestMod97(t *testing.T) {
	ref := func(b []byte) int {
		r := 0
		for _, c := range append(append([]byte{}, b[4:]...), b[:4]...) {
			if isUpper(c) {
				r = (r*100 + int(c-'A'+10)) % 97
			} else {
				r = (r*10 + int(c-'0')) % 97
			}
		}
		return r
	}
	for l := 15; l <= 34; l++ {
		for _, fill := range []byte{'Z', '9', 'A', '0'} {
			b := []byte("ZZ99")
			for len(b) < l {
				b = append(b, fill)
			}
			assert.Equal(t, ref(b), mod97(b), "length %d fill %c", l, fill)
		}
	}
}
