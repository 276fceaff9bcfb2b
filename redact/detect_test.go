package redact_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

// detectCase is one line in, one line out under the default Redactor.
type detectCase struct {
	name, in, want string
}

// runKeepCases checks look-alikes: each line must come back untouched.
func runKeepCases(t *testing.T, cases [][2]string) {
	t.Helper()
	dc := make([]detectCase, len(cases))
	for i, c := range cases {
		dc[i] = detectCase{name: c[0], in: c[1]}
	}
	runDetectCases(t, dc)
}

func runDetectCases(t *testing.T, cases []detectCase) {
	t.Helper()
	r, err := redact.New()
	require.NoError(t, err)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.in // a false positive must come back untouched
			}
			assert.Equal(t, want, r.RedactString(tc.in))
			assert.Equal(t, want, string(r.Redact(nil, []byte(tc.in))))
		})
	}
}

// Published test card numbers (card networks' and processors' test PANs).
func TestCardTruePositives(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"visa", "pan 4111111111111111 ok", "pan [REDACTED:card] ok"},
		{"visa 13", "pan 4222222222222 ok", "pan [REDACTED:card] ok"},
		{"visa 19", "pan 4000000000000000006", "pan [REDACTED:card]"},
		{"visa spaced", "pan 4111 1111 1111 1111.", "pan [REDACTED:card]."},
		{"visa dashed", "pan=4111-1111-1111-1111&x", "pan=[REDACTED:card]&x"},
		{"mastercard", "5555555555554444", "[REDACTED:card]"},
		{"mastercard 5105", "5105105105105100", "[REDACTED:card]"},
		{"mastercard 2-series", "2223003122003222", "[REDACTED:card]"},
		{"mastercard 2720", "2720990000000007", "[REDACTED:card]"},
		{"amex", "378282246310005", "[REDACTED:card]"},
		{"amex 34", "371449635398431 and 340000000000009", "[REDACTED:card] and [REDACTED:card]"},
		{"amex grouped", "3782 822463 10005", "[REDACTED:card]"},
		{"discover", "6011111111111117", "[REDACTED:card]"},
		{"discover 644", "6445644564456445", "[REDACTED:card]"},
		{"discover 65", "6500000000000002", "[REDACTED:card]"},
		{"jcb", "3530111333300000", "[REDACTED:card]"},
		{"jcb 3566", "3566002020360505", "[REDACTED:card]"},
		{"unionpay", "6200000000000005", "[REDACTED:card]"},
		{"unionpay 19", "6205500000000000004", "[REDACTED:card]"},
		{"diners 14", "36227206271667", "[REDACTED:card]"},
		{"diners 300", "30569309025904", "[REDACTED:card]"},
		{"diners 38", "38520000023237", "[REDACTED:card]"},
		{"maestro 12", "675964982648", "[REDACTED:card]"},
		{"maestro 50", "5018000000000009", "[REDACTED:card]"},
		{"in json string", `{"pan":"4111111111111111"}`, `{"pan":"[REDACTED:card]"}`},
		{"in json number", `{"n":4111111111111111}`, `{"n":[REDACTED:card]}`},
		{"after an order id", "order 1234 4111111111111111", "order 1234 [REDACTED:card]"},
		{"two in a row", "4111111111111111 5555555555554444", "[REDACTED:card] [REDACTED:card]"},
		{"at start and end", "4111111111111111", "[REDACTED:card]"},
		{"after colon", "card:4111111111111111", "card:[REDACTED:card]"},
		{"in a path", "/cards/4111111111111111/charge", "/cards/[REDACTED:card]/charge"},
	})
}

func TestCardFalsePositives(t *testing.T) {
	runKeepCases(t, [][2]string{
		{"luhn invalid", "order 4111111111111112"},
		{"luhn invalid grouped", "4111 1111 1111 1112"},
		{"millisecond timestamp", "ts=1732350000123"},
		{"microsecond timestamp", "ts=1732350000123456"},
		{"nanosecond timestamp", "ts=1732350000123456789"},
		{"luhn valid ms timestamp", "ts=1732350000128"}, // no issuer starts with 1
		{"visa 18 digits", "id 411111111111111118"},
		{"20 digits", "41111111111111111113"},
		{"visa 12 digits", "411111111117"},
		{"visa wrong length", "411111111111118"},
		{"amex wrong length", "3782822463100054"},
		{"mastercard wrong length", "555555555555443"},
		{"glued to letters", "x4111111111111111 4111111111111111y"},
		{"hex id", "trace 4111111111111111abcdef0123456789"},
		{"decimal fraction", "pi 0.4111111111111111"},
		{"decimal integer part", "4111111111111111.5"},
		{"uuid", "550e8400-e29b-41d4-a716-446655440000"},
		{"uuid all digits", "12345678-1234-5678-1234-567812345678"},
		{"uuid maestro tail", "deadbeef-0000-4000-8000-675964982648"},
		{"short groups", "41 11 11 11 11 11 11 11"},
		{"date and time", "2026-11-23 10:00:00.123"},
		{"order ids", "ORD-2026-000123 INV-88123"},
		{"price", "total 1,299.00 EUR"},
		{"ipv4", "10.0.0.1 192.168.100.254"},
	})
}

// Example IBANs of the SWIFT IBAN Registry.
func TestIBANTruePositives(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"GB", "iban GB82WEST12345698765432.", "iban [REDACTED:iban]."},
		{"GB print", "iban GB82 WEST 1234 5698 7654 32.", "iban [REDACTED:iban]."},
		{"DE", "DE89370400440532013000", "[REDACTED:iban]"},
		{"DE print", "DE89 3704 0044 0532 0130 00", "[REDACTED:iban]"},
		{"FR", "FR1420041010050500013M02606", "[REDACTED:iban]"},
		{"FR print", "FR14 2004 1010 0505 0001 3M02 606", "[REDACTED:iban]"},
		{"NL", "NL91ABNA0417164300", "[REDACTED:iban]"},
		{"NO shortest", "NO9386011117947", "[REDACTED:iban]"},
		{"RU longest", "RU0304452522540817810538091310419", "[REDACTED:iban]"},
		{"MT letters", "MT84MALT011000012345MTLCAST001S", "[REDACTED:iban]"},
		{"in json", `{"iban":"BE68539007547034"}`, `{"iban":"[REDACTED:iban]"}`},
		{"check digits 02", "DE02370400440532010007", "[REDACTED:iban]"},
		{"check digits 98", "DE98370400440532010025", "[REDACTED:iban]"},
	})
}

func TestIBANFalsePositives(t *testing.T) {
	runKeepCases(t, [][2]string{
		{"bad checksum", "DE88370400440532013000"},
		{"bad checksum print", "GB83 WEST 1234 5698 7654 32"},
		{"unknown country", "US88370400440532013000 XX46370400440532013000"},
		{"too short", "GB88WEST1234569876543"},
		{"too long", "NO37860111179470"},
		{"check digits 00", "DE00370400440532010043"},
		{"check digits 99", "DE99370400440532010007"},
		{"glued", "xDE89370400440532013000"},
		{"bic and codes", "BIC DEUTDEFF ISO DE89 ABC"},
		{"sku", "SKU AB12-3456"},
	})
}

func TestEmail(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"plain", "to alice@example.com.", "to [REDACTED:email]."},
		{"plus tag", "bob.smith+shop@mail.example.co.uk", "[REDACTED:email]"},
		{"in json", `{"email":"Alice.O'Neil@Example.COM"}`, `{"email":"[REDACTED:email]"}`},
		{"single quoted", "user 'dave@example.com' not found", "user '[REDACTED:email]' not found"},
		{"mailto", "mailto:carol@example.org", "mailto:[REDACTED:email]"},
		{"angle brackets", "From: Dave <dave@example.net>", "From: Dave <[REDACTED:email]>"},
		{"query", "?email=erin@example.io&x=1", "?email=[REDACTED:email]&x=1"},
		{"two", "a@example.com,b@example.com", "[REDACTED:email],[REDACTED:email]"},
		{"leading dot trimmed", "..frank@example.com", "..[REDACTED:email]"},
		{"subdomain", "ops@eu-west-1.mail.example.com", "[REDACTED:email]"},
	})
	runKeepCases(t, [][2]string{
		{"handle", "thanks @alice"},
		{"no tld", "user@localhost"},
		{"numeric tld", "pkg@1.26.8"},
		{"npm scope", "@scope/pkg@2.0.1"},
		{"at runs", "a@a@a@a@a@a"},
		{"decorator", "@Override"},
		{"trailing dot", "x@example."},
		{"one letter tld", "x@example.c"},
		{"ssh url", "ssh://git@github.com/org/repo"},
	})
}

func TestPhone(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"e164", "call +4915112345678 now", "call [REDACTED:phone] now"},
		{"us intl", "+1 415 555 2671", "[REDACTED:phone]"},
		{"us intl parens", "+1 (415) 555-2671.", "[REDACTED:phone]."},
		{"us intl dashes", "+1-415-555-2671", "[REDACTED:phone]"},
		{"uk intl", "tel +44 20 7946 0958", "tel [REDACTED:phone]"},
		{"fr intl", "+33 6 12 34 56 78", "[REDACTED:phone]"},
		{"de intl", "+49 30 12345678", "[REDACTED:phone]"},
		{"us parens", "(415) 555-2671", "[REDACTED:phone]"},
		{"us dashes", "415-555-2671", "[REDACTED:phone]"},
		{"us dots", "415.555.2671", "[REDACTED:phone]"},
		{"us with 1", "1-800-555-0199", "[REDACTED:phone]"},
		{"uk national", "020 7946 0958", "[REDACTED:phone]"},
		{"fr national", "06 12 34 56 78", "[REDACTED:phone]"},
		{"de national", "030-12345678", "[REDACTED:phone]"},
		{"in json", `{"phone":"+1 415 555 2671"}`, `{"phone":"[REDACTED:phone]"}`},
		{"then a date", "+44 20 7946 0958 2026-11-23", "[REDACTED:phone] 2026-11-23"},
		{"then a date fr", "+33 6 12 34 56 78 2026-11-23", "[REDACTED:phone] 2026-11-23"},
		{"then a time", "+33 6 12 34 56 78 10:30", "[REDACTED:phone] 10:30"},
		{"us then a year", "+1 415 555 2671 2026", "[REDACTED:phone] 2026"},
	})
	runKeepCases(t, [][2]string{
		{"iso date", "2026-11-23"},
		{"eu date", "23.11.2026 and 05-11-2026"},
		{"iso date plus", "+2026-11-23"},
		{"timestamp", "2026-11-23T10:00:00.123+01:00"},
		{"timezone", "+05:30 +0100"},
		{"version", "go1.26.8 v1.26.8 1.26.8"},
		{"semver build", "1.0.0+20261123"},
		{"price", "1,299.00 and 12,345,678.90"},
		{"ip", "10.0.0.1 192.168.100.254 255.255.255.0"},
		{"uuid", "123e4567-e89b-12d3-a456-426614174000"},
		{"plain digits", "order 4155552671"},
		{"short plus", "+123"},
		{"math", "2+2=4 x+15"},
		{"too long intl", "+12345678901234567"},
		{"nanp bad area", "123-456-7890"},
		{"isbn", "978-3-16-148410-0"},
		{"durations", "took 0.123 s, 010 ms"},
	})
}

func TestTokens(t *testing.T) {
	const jwt = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZw"
	runDetectCases(t, []detectCase{
		{"jwt", "tok " + jwt + " end", "tok [REDACTED:jwt] end"},
		{"jwt bearer", "Bearer " + jwt, "Bearer [REDACTED:jwt]"},
		{"jwt unsigned", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "[REDACTED:jwt]"},
		{"jwe", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", "[REDACTED:jwt]"},
		{"jwt in json", `{"id_token":"` + jwt + `"}`, `{"id_token":"[REDACTED:secret]"}`},
		{"jwt in json value", `{"x":"` + jwt + `"}`, `{"x":"[REDACTED:jwt]"}`},
		{"vault hvs", "hvs.CAESIJ3bC5eXb1x6i2e8yq0kAbCdEfGhIjKlMnOp", "[REDACTED:vault_token]"},
		{"vault hvb", "X-Thing hvb.AAAAAQJ3bC5eXb1x6i2e8yq0kAbCd", "X-Thing [REDACTED:vault_token]"},
		{"vault legacy", "s.Q8nDg2cT6fB4rM1kLx0yZw3e ok", "[REDACTED:vault_token] ok"},
		{"aws akia", "AKIAIOSFODNN7EXAMPLE", "[REDACTED:aws_key]"},
		{"aws asia", "key=ASIAY34FZKBOKMUTVV7A,", "key=[REDACTED:aws_key],"},
		{"stripe live", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "[REDACTED:stripe_key]"},
		{"stripe test", "rk_test_51H8abcdefghijk", "[REDACTED:stripe_key]"},
		{"github classic", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "[REDACTED:github_token]"},
		{"github app", "ghs_16C7e42F292c6912E7710c838347Ae178B4a", "[REDACTED:github_token]"},
		{"github pat", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "[REDACTED:github_token]"},
		{"slack bot", "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp", "[REDACTED:slack_token]"},
		{"slack user", "xoxp-1234-5678-abcdefghij", "[REDACTED:slack_token]"},
		{"pem", "k=-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\nkqhkiG9w0BAQ==\n-----END PRIVATE KEY----- done",
			"k=[REDACTED:private_key] done"},
		{"pem escaped", `"key":"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"`,
			`"key":"[REDACTED:private_key]\n"`},
	})
	runKeepCases(t, [][2]string{
		{"base64 json without dots", "cursor=eyJpZCI6MTIzNDU2Nzg5MH0"},
		{"eyJ short", "eyJhbGci.x.y"},
		{"word eyJ", "keyJohn.b.c"},
		{"vault short", "hvs.short s.tooShort"},
		{"vault one class", "s.abcdefghijklmnopqrstuvwxyz"},
		{"package path", "os.ReadFile strings.s.abc"},
		{"aws short", "AKIA1234"},
		{"aws long", "AKIAIOSFODNN7EXAMPLEX"},
		{"stripe publishable", "pk_live_4eC39HqLyjWDarjtT1zdp7dc"},
		{"stripe short", "sk_live_abc"},
		{"github short", "ghp_abc"},
		{"github other", "ghx_abcdefghijklmnopqrstuvwxyz0123456789"},
		{"github look-alike", "xhp_abcdefghijklmnopqrstuvwxyz0123456789 0hp_0000000000000000000000000000000"},
		{"slack other", "xoxz-1234567890-abc"},
		{"certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"},
		{"public key", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"},
		{"markdown rule", "-----"},
		{"pem without END", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"},
	})
}

func TestKeyValue(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"json", `{"password":"hunter2","user":"bob"}`, `{"password":"[REDACTED:secret]","user":"bob"}`},
		{"json escaped quote", `{"password":"pa\"ss\\","n":1}`, `{"password":"[REDACTED:secret]","n":1}`},
		{"json spaces", `{"Password" : "hunter2"}`, `{"Password" : "[REDACTED:secret]"}`},
		{"json suffix", `{"db_password":"x1","clientSecret":"x2","refresh_token":"x3"}`,
			`{"db_password":"[REDACTED:secret]","clientSecret":"[REDACTED:secret]","refresh_token":"[REDACTED:secret]"}`},
		{"json number", `{"cvv":123,"pin":1234}`, `{"cvv":[REDACTED:secret],"pin":[REDACTED:secret]}`},
		{"json object", `{"secret":{"a":"b"},"x":1}`, `{"secret":[REDACTED:secret],"x":1}`},
		{"json literals kept", `{"has_password":true,"token":null}`, ""},
		{"json in json", `{"msg":"{\"password\":\"hunter2\"}"}`, `{"msg":"{\"password\":\"[REDACTED:secret]\"}"}`},
		{"json unterminated", `{"password":"hunt`, `{"password":"[REDACTED:secret]`},
		{"query", "GET /cb?code=abc&access_token=xyz&state=1", "GET /cb?code=abc&access_token=[REDACTED:secret]&state=1"},
		{"logfmt", "user=bob password=hunter2 ok=1", "user=bob password=[REDACTED:secret] ok=1"},
		{"logfmt quoted", `api_key="a b c" x=1`, `api_key="[REDACTED:secret]" x=1`},
		{"logfmt single quoted", `passwd='a b' x=1`, `passwd='[REDACTED:secret]' x=1`},
		{"colon text", "password: hunter2, retry", "password: [REDACTED:secret], retry"},
		{"apikey variants", "apikey=a API-KEY=b Api_Key=c", "apikey=[REDACTED:secret] API-KEY=[REDACTED:secret] Api_Key=[REDACTED:secret]"},
		{"authorization bearer", "Authorization: Bearer abc.def", "Authorization: Bearer [REDACTED:secret]"},
		{"authorization basic", "authorization: Basic dXNlcjpwYXNz", "authorization: Basic [REDACTED:secret]"},
		{"authorization raw", "Authorization: abcdef", "Authorization: [REDACTED:secret]"},
		{"authorization json", `{"Authorization":"Bearer abc"}`, `{"Authorization":"Bearer [REDACTED:secret]"}`},
		{"authorization logfmt", `authorization=Bearer abc x=1`, `authorization=Bearer [REDACTED:secret] x=1`},
		{"proxy authorization", "Proxy-Authorization: Basic Zm9v", "Proxy-Authorization: Basic [REDACTED:secret]"},
		{"dpop", "DPoP: eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiIxIn0.c2ln", "DPoP: [REDACTED:secret]"},
		{"cookie header", "Cookie: sid=abc; theme=dark", "Cookie: [REDACTED:secret]"},
		{"set-cookie header", "Set-Cookie: sid=abc; Path=/; HttpOnly\nnext", "Set-Cookie: [REDACTED:secret]\nnext"},
		{"x-api-key", "X-Api-Key: k-123", "X-Api-Key: [REDACTED:secret]"},
		{"client_secret", "client_secret=s3cr3t&grant_type=x", "client_secret=[REDACTED:secret]&grant_type=x"},
		{"private_key", `private_key: "abc"`, `private_key: "[REDACTED:secret]"`},
		{"camel pin", "userPin=1234", "userPin=[REDACTED:secret]"},
		{"card in secret", "cvv: 4111 1111 1111 1111", "cvv: [REDACTED:secret]"},
		{"url password", "postgres://app:s3cr3t@db.internal:5432/shop", "postgres://app:[REDACTED:password]@db.internal:5432/shop"},
		{"url password with at", "redis://:p@ss@cache:6379", "redis://:[REDACTED:password]@cache:6379"},
		{"url user only", "https://alice@example.com/x", ""},
		{"url no userinfo", "https://example.com:8443/?q=1", ""},
	})
	runKeepCases(t, [][2]string{
		{"not secret keys", `{"token_count":3,"tokens":5,"spin":2,"shipping":"x","pinned":true,"tokenizer":"y"}`},
		{"password hint kept", `{"password_hint":"first pet"}`},
		{"cvv word", "cvvx=1 xcvv=2"},
		{"times", "10:00:00 T10:30"},
		{"base64 padding", "abc== def="},
		{"empty values", "password= token=&x=1"},
		{"prose", "token expired for user"},
	})
}

// TestTimestampsAndUUIDs: RFC 3339 timestamps and UUIDs are skipped whole,
// and neither hides nor mangles a value next to it.
func TestTimestampsAndUUIDs(t *testing.T) {
	runKeepCases(t, [][2]string{
		{"rfc3339 nanoseconds", `{"time":"2026-11-23T10:00:00.123456789+01:00"}`},
		{"rfc3339 utc", "2026-11-23T10:00:00Z"},
		{"rfc3339 lower case", "2026-11-23t10:00:00z"},
		{"rfc3339 negative offset", "at 2026-11-23T10:00:00-05:00 sharp"},
		{"space separated", "2026-11-23 10:00:00.123 INFO"},
		{"two timestamps", "2026-11-23T10:00:00-05:00-2026-11-23 10:00:00"},
		{"timestamp then date", "2026-11-23T10:00:00.123456789+01:00-2026-11-23."},
		{"uuid", "request 550e8400-e29b-41d4-a716-446655440000 done"},
		{"uuid of digits", "12345678-1234-1234-1234-123456789012"},
		{"uuid upper case", "550E8400-E29B-41D4-A716-446655440000"},
	})
	runDetectCases(t, []detectCase{
		{"card after timestamp", "2026-11-23T10:00:00-05:00 4111 1111 1111 1111,", "2026-11-23T10:00:00-05:00 [REDACTED:card],"},
		{"card after space timestamp", "2026-11-23 10:00:00 4111 1111 1111 1111", "2026-11-23 10:00:00 [REDACTED:card]"},
		{"phone after timestamp", "2026-11-23T10:00:00Z +1 (415) 555-2671", "2026-11-23T10:00:00Z [REDACTED:phone]"},
		{"card as a long fraction", "2026-11-23T10:00:00.123 4111111111111111", "2026-11-23T10:00:00.123 [REDACTED:card]"},
		{"card after uuid", "550e8400-e29b-41d4-a716-446655440000 4111111111111111", "550e8400-e29b-41d4-a716-446655440000 [REDACTED:card]"},
		{"uuid e-mail", "550e8400-e29b-41d4-a716-446655440000@example.com", "[REDACTED:email]"},
		{"secret uuid", "api_key=550e8400-e29b-41d4-a716-446655440000", "api_key=[REDACTED:secret]"},
		{"card glued after uuid", "550e8400-e29b-41d4-a716-4466554400004111111111111111", ""},
	})
}
