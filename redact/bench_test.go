package redact_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

// cleanLine is a 1 KiB slog JSON line from a checkout service with nothing to
// redact: ids, timestamps, a UUID, a trace id, prices, versions, an IP.
func cleanLine(tb testing.TB) []byte {
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

// textLine is a 1 KiB plain-text log line with nothing to redact.
func textLine() []byte {
	line := "level=info service=checkout msg=\"order placed after payment authorisation, " +
		"stock reserved in the nearest warehouse and a confirmation queued for delivery by the mailer worker\" " +
		"route=/v1/orders method=POST status=201 duration=42.7ms region=eu-west-1 version=1.26.8 "
	for len(line) < 1024 {
		line += "note=\"the customer chose express shipping and asked for a gift wrap with a handwritten card\" "
	}
	return []byte(line[:1024])
}

// denseLine is a 1 KiB line packed with values to redact.
func denseLine(tb testing.TB) []byte {
	tb.Helper()
	parts := []string{
		`{"email":"alice@example.com","card":"4111 1111 1111 1111","phone":"+1 (415) 555-2671"`,
		`"iban":"GB82WEST12345698765432","password":"hunter2","token":"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"`,
		`"msg":"charged 5555555555554444 for bob.smith+shop@mail.example.co.uk via https://app:s3cr3t@pay.example.com/v1"`,
		`"aws":"AKIAIOSFODNN7EXAMPLE","gh":"ghp_abcdefghijklmnopqrstuvwxyz0123456789","auth":"Authorization: Bearer abc.def.ghi"`,
		`"amex":"378282246310005","de":"DE89 3704 0044 0532 0130 00","uk":"+44 20 7946 0958","cvv":"123","pin":1234`,
		`"more":"carol@example.org 6011111111111117 (415) 555-2671 sk_live_4eC39HqLyjWDarjtT1zdp7dc NL91ABNA0417164300"`,
	}
	var b strings.Builder
	for b.Len() < 1024 {
		for _, p := range parts {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(p)
		}
	}
	return []byte(b.String()[:1024])
}

func BenchmarkRedact(b *testing.B) {
	r, err := redact.New()
	require.NoError(b, err)
	key, err := redact.NewKey(bytes.Repeat([]byte{7}, 32))
	require.NoError(b, err)
	rt, err := redact.New(redact.WithKey(key), redact.WithMode(redact.KindEmail, redact.ModeToken),
		redact.WithMode(redact.KindCard, redact.ModeTruncate), redact.WithMode(redact.KindSecret, redact.ModeToken))
	require.NoError(b, err)
	clean, dense := cleanLine(b), denseLine(b)
	dst := make([]byte, 0, 8<<10)

	b.Run("clean-1KiB", func(b *testing.B) {
		b.SetBytes(int64(len(clean)))
		b.ReportAllocs()
		for b.Loop() {
			if out := r.Redact(nil, clean); len(out) != len(clean) {
				b.Fatal("clean line changed")
			}
		}
	})
	b.Run("clean-1KiB-text", func(b *testing.B) {
		text := textLine()
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			if out := r.Redact(nil, text); len(out) != len(text) {
				b.Fatal("clean line changed")
			}
		}
	})
	b.Run("clean-1KiB-string", func(b *testing.B) {
		s := string(clean)
		b.SetBytes(int64(len(s)))
		b.ReportAllocs()
		for b.Loop() {
			if out := r.RedactString(s); len(out) != len(s) {
				b.Fatal("clean line changed")
			}
		}
	})
	b.Run("dense-1KiB", func(b *testing.B) {
		b.SetBytes(int64(len(dense)))
		b.ReportAllocs()
		for b.Loop() {
			dst = r.Redact(dst[:0], dense)
		}
	})
	b.Run("dense-1KiB-token", func(b *testing.B) {
		b.SetBytes(int64(len(dense)))
		b.ReportAllocs()
		for b.Loop() {
			dst = rt.Redact(dst[:0], dense)
		}
	})
	b.Run("dense-1KiB-string", func(b *testing.B) {
		s := string(dense)
		b.SetBytes(int64(len(s)))
		b.ReportAllocs()
		for b.Loop() {
			_ = r.RedactString(s)
		}
	})
}

// adversarial inputs: each must scan in linear time.
func adversarial() map[string][]byte {
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

func BenchmarkAdversarial(b *testing.B) {
	r, err := redact.New()
	require.NoError(b, err)
	for name, in := range adversarial() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			var dst []byte
			for b.Loop() {
				dst = r.Redact(dst[:0], in)
			}
		})
	}
}
