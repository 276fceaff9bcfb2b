package redact_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

// printForm writes an IBAN in groups of n joined by sep.
func printForm(iban string, n int, sep string) string {
	var b strings.Builder
	for k := 0; k < len(iban); k += n {
		if k > 0 {
			b.WriteString(sep)
		}
		b.WriteString(iban[k:min(k+n, len(iban))])
	}
	return b.String()
}

// TestIBANForms: every registry and partial-list country, in each form people
// and systems write, goes whole.
func TestIBANForms(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	ibans := []string{
		"JO94CBJO0010000000000131000302", // Jordan: its J was taken for the J of eyJ
		"AD1200012030200359100100", "GB82WEST12345698765432", "MT84MALT011000012345MTLCAST001S",
		"DZ580002100001113000000570", "AO06004400006729503010102", "BJ66BJ0610100100144390000769",
		"BF42BF0840101300463574000390", "CM2110002000300277976315008", "CV64000300004547069110176",
		"CF4220001000010120069700160", "TD8960002000010271091600153", "KM3800005000010010329680131",
		"CG5230011000202151234567890", "GQ7050002001003715228190196", "GA9040021010320017001000104",
		"GW04GW1430010181800637601", "IR710570029971601460641001", "CI93CI0080111301134291200589",
		"MG4600005030071289421016045", "ML13ML0160120102600100668497", "MA64011519000001205000534921",
		"MZ59000301080016367102371", "NE58NE0380100100130305000268", "SN84SN0120101001350015220105",
		"TG53TG0090604310346500400070",
		"BI4210000100010000332045181", "DJ2100010000000154000100186", "HN88CABF00000000000250005469",
	}
	for _, iban := range ibans {
		forms := map[string]string{
			"electronic":         iban,
			"print":              printForm(iban, 4, " "),
			"lower":              strings.ToLower(iban),
			"lower print":        strings.ToLower(printForm(iban, 4, " ")),
			"dashes":             printForm(iban, 4, "-"),
			"irregular":          iban[:4] + " " + printForm(iban[4:], 5, " "),
			"irregular dash":     iban[:4] + "-" + printForm(iban[4:], 8, "-"),
			"groups of 6":        printForm(iban, 6, " "),
			"check together":     iban[:4] + " " + iban[4:],
			"check apart":        iban[:2] + " " + iban[2:4] + " " + iban[4:],
			"check apart print":  iban[:2] + " " + iban[2:4] + " " + printForm(iban[4:], 4, " "),
			"check apart dashes": iban[:2] + "-" + iban[2:4] + "-" + printForm(iban[4:], 4, "-"),
			"check split":        iban[:3] + " " + printForm(iban[3:], 3, " "),
			"country apart":      iban[:2] + " " + printForm(iban[2:], 5, " "),
		}
		for name, form := range forms {
			t.Run(iban[:2]+"/"+name, func(t *testing.T) {
				for _, tc := range []struct{ in, want string }{
					{form, "[REDACTED:iban]"},
					{"iban " + form + ".", "iban [REDACTED:iban]."},
					{`{"iban":"` + form + `"}`, `{"iban":"[REDACTED:iban]"}`},
					{strings.Repeat("x ", 100) + form + strings.Repeat(" y", 100), strings.Repeat("x ", 100) + "[REDACTED:iban]" + strings.Repeat(" y", 100)},
				} {
					assert.Equal(t, tc.want, r.RedactString(tc.in))
				}
			})
		}
	}
}

// TestIBANLookalikes: what only looks like an IBAN stays, whatever form.
func TestIBANLookalikes(t *testing.T) {
	runKeepCases(t, [][2]string{
		{"bad checksum lower", "de88370400440532013000"},
		{"bad checksum dashes", "DE88-3704-0044-0532-0130-00"},
		{"bad checksum jordan", "JO95CBJO0010000000000131000302"},
		{"bad checksum partial list", "MA65011519000001205000534921 DZ590002100001113000000570"},
		{"prose", "no 12 items in the cart and it 27 minutes to go"},
		{"mixed case country", "De89370400440532013000"},
		{"lower glued", "xde89370400440532013000"},
		{"too few digits irregular", "NO93 ABCD EFGH IJK"},
		{"not a country", "zz12345678901234567890 AB12-3456-7890-1234"},
		{"double separator", "DE89  3704  0044  0532  0130  00"},
		{"uuid with an IBAN's head", "correlation_id=be7698ae-1dc8-42a4-bbdd-13ce6ce8fd68 ok BE7698AE-1DC8-42A4-BBDD-13CE6CE8FD68"},
		{"bad checksum check apart", "DE 88 370400440532013000 and DE 88-3704-0044-0532-0130-00"},
		{"check apart prose", "AT 10 am we ship 12 items, DE 12 34 or GB 22 WEST"},
		{"check apart too few digits", "NO 93 ABCD EFGH IJK"},
		{"check digits split twice", "DE 8 9 370400440532013000"},
		{"check apart double separator", "DE  89 370400440532013000 DE 89  370400440532013000"},
		{"check apart glued", "XDE 89 370400440532013000"},
	})
}

// TestIBANWholeOrNothing: a print-form value that no detector takes whole is
// not half-redacted by the phone detector: it goes whole, its first groups
// included.
func TestIBANWholeOrNothing(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"bad checksum print", "iban JO95 CBJO 0010 0000 0000 0131 0003 02 ok", "iban [REDACTED:phone] ok"},
		{"unknown country print", "ZZ64 0115 1900 0001 2050 0053 4921", "[REDACTED:phone]"},
		{"bad checksum with trunk zero groups", "acct MA65 0115 1900 0001 2050 0053 4921.", "acct [REDACTED:phone]."},
		{"dashes, not touched", "ZZ64-0115-1900-0001-2050-0053-4921", ""},
		{"long zero grouped id", "ref 0010 0000 0000 0131 0003 02", "ref [REDACTED:phone]"},
		{"phone after a word", "tel 020 7946 0958", "tel [REDACTED:phone]"},
		{"phone after capitals", "TEL 020 7946 0958", "TEL [REDACTED:phone]"},
		{"phone after capitals and a date", "2026-11-23 CALL 020 7946 0958", "2026-11-23 CALL [REDACTED:phone]"},
		{"phone then words", "call 020 7946 0958 now", "call [REDACTED:phone] now"},
		{"bad checksum check apart", "acct DK 51 0040 0440 1162 43.", "acct [REDACTED:phone]."},
		{"phone after a two-letter word", "TE 020 7946 0958 at 10 020 7946 0958 XX 10 020 7946 0958", "TE [REDACTED:phone] at 10 [REDACTED:phone] XX 10 [REDACTED:phone]"},
		{"jordan print", "JO94 CBJO 0010 0000 0000 0131 0003 02", "[REDACTED:iban]"},
		{"morocco print", "MA64 0115 1900 0001 2050 0053 4921", "[REDACTED:iban]"},
	})
}
