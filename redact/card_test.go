package redact_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

// TestCardSeparators: a card number is found however its groups are joined
// or its digits encoded.
func TestCardSeparators(t *testing.T) {
	const m = "[REDACTED:card]"
	runDetectCases(t, []detectCase{
		{"dots", "pan 4111.1111.1111.1111 ok", "pan " + m + " ok"},
		{"slashes", "pan 4111/1111/1111/1111", "pan " + m},
		{"tabs", "pan\t4111\t1111\t1111\t1111\tok", "pan\t" + m + "\tok"},
		{"no-break spaces", "pan 4111\u00a01111\u00a01111\u00a01111", "pan " + m},
		{"narrow no-break spaces", "4111\u202f1111\u202f1111\u202f1111", m},
		{"figure spaces", "5555\u20075555\u20075555\u20074444", m},
		{"mixed", "4111 1111-1111.1111", m},
		{"mixed amex", "3782-822463 10005", m},
		{"doubled spaces", "4111  1111  1111  1111", m},
		{"spaced dashes", "4111 - 1111 - 1111 - 1111", m},
		{"doubled dashes", "5555--5555--5555--4444", m},
		{"url-encoded spaces", "/pay?pan=4111%201111%201111%201111&x=1", "/pay?pan=" + m + "&x=1"},
		{"url-encoded plus", "pan=4111+1111+1111+1111&x=1", "pan=" + m + "&x=1"},
		{"url-encoded tab", "4111%091111%091111%091111", m},
		{"url-encoded dashes", "/pay?pan=4111%2D1111%2D1111%2D1111&x=1", "/pay?pan=" + m + "&x=1"},
		{"url-encoded lower-case dashes", "pan=3782%2d822463%2d10005", "pan=" + m},
		{"url-encoded dots", "pan=5555%2E5555%2E5555%2E4444", "pan=" + m},
		{"url-encoded slashes", "pan=6011%2f1111%2f1111%2f1117", "pan=" + m},
		{"url-encoded six-digit first group", "pan=378282%2D246310%2D005", "pan=" + m},
		{"json escaped digits", `{"pan":"\u0034\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031"}`,
			`{"pan":"` + m + `"}`},
		{"json escaped upper digits", `{"pan":"\u0035\u0035\u0035\u0035 \u0035\u0035\u0035\u0035 \u0035\u0035\u0035\u0035 \u0034\u0034\u0034\u0034"}`,
			`{"pan":"` + m + `"}`},
		{"json escaped mixed", `{"pan":"4111\u00201111\u00a01111 1111"}`, `{"pan":"` + m + `"}`},
		{"json escaped tab", `{"pan":"4111\t1111\t1111\t1111"}`, `{"pan":"` + m + `"}`},
		{"plain digit then escaped digits", `{"pan":"4\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031"}`,
			`{"pan":"` + m + `"}`},
		{"plain and escaped digits interleaved", `{"pan":"55\u00355\u00205\u00355\u0035 5555 \u00344\u00344"}`, `{"pan":"` + m + `"}`},
		{"after escaped quote", `{"msg":"{\"pan\":\"\u0034111111111111111\"}"}`, `{"msg":"{\"pan\":\"` + m + `\"}"}`},
	})
}

// TestCardSeparatorLookalikes: numbers joined the same ways that are no card
// stay.
func TestCardSeparatorLookalikes(t *testing.T) {
	runKeepCases(t, [][2]string{
		{"luhn invalid dots", "4111.1111.1111.1112"},
		{"luhn invalid slashes", "4111/1111/1111/1112"},
		{"luhn invalid nbsp", "4111\u00a01111\u00a01111\u00a01112"},
		{"luhn invalid url-encoded", "pan=4111%201111%201111%201112"},
		{"luhn invalid url-encoded dashes", "pan=4111%2D1111%2D1111%2D1112"},
		{"url-encoded date", "since=2026%2F11%2F23%2010%3A00"},
		{"url-encoded other escape", "q=4111%2A1111%2A1111%2A1111"},
		{"luhn invalid escaped", `\u0034\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0032`},
		{"ipv4 with port", "10.0.0.1:8080 192.168.100.254/24"},
		{"dotted version", "v4.1.1.1111"},
		{"date with slashes", "2026/11/23 10:00"},
		{"path ids", "/orders/4111/items/1111"},
		{"sum", "1234+5678=6912"},
		{"decimal fraction", "pi 0.4111111111111111"},
		{"dotted fraction", "3.4111 1111 1111"},
		{"millisecond timestamps tab", "1732350000123\t1732350000124"},
		{"luhn invalid plain then escaped", `\u0034 4\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0032`},
		{"short plain then escaped", `{"n":"1\u0032\u0033 4\u0035"}`},
		{"escaped non digits", `\u0041\u0042 \u0034\u0032`},
		{"short groups dots", "41.11.11.11.11.11.11.11"},
		{"plus before phone", "0 +1 4111"},
	})
}

// TestHandlerFloatCard: a card number that reaches the handler as a float64
// (decoded from JSON) is redacted like an int64 one, and a float that is no
// card keeps its value.
func TestHandlerFloatCard(t *testing.T) {
	log, buf := newLogger(t)
	log.Info("charge", "pan", float64(4111111111111111), "pan_u", uint64(5555555555554444),
		"order", float64(4111111111111112), "amount", 12.5, "ts", float64(1732350000123))
	out := buf.String()
	assert.Contains(t, out, `"pan":"[REDACTED:card]"`)
	assert.Contains(t, out, `"pan_u":"[REDACTED:card]"`)
	assert.Contains(t, out, `"order":4111111111111112`)
	assert.Contains(t, out, `"amount":12.5`)
	assert.Contains(t, out, `"ts":1732350000123`)
	assert.NotContains(t, out, "4.111111111111111e+15")

	r, err := redact.New()
	require.NoError(t, err)
	var text bytes.Buffer
	h, err := redact.NewHandler(slog.NewTextHandler(&text, nil), r)
	require.NoError(t, err)
	slog.New(h).Info("charge", "pan", 4111111111111111.0)
	assert.True(t, strings.Contains(text.String(), "pan=[REDACTED:card]"), "text handler")
}

// TestCardTokenForms: one card gives one token whatever its separators or
// escapes.
func TestCardTokenForms(t *testing.T) {
	key, err := redact.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	r, err := redact.New(redact.WithKey(key), redact.WithMode(redact.KindCard, redact.ModeToken))
	require.NoError(t, err)
	want := r.RedactString("4111111111111111")
	require.True(t, strings.HasPrefix(want, "[card:"))
	for _, form := range []string{"4111 1111 1111 1111", "4111.1111.1111.1111", "4111%201111%201111%201111", "4111%2D1111%2d1111%2E1111",
		"4111\u00a01111\u00a01111\u00a01111", `\u0034\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031`} {
		assert.Equal(t, want, r.RedactString(form), "form %d bytes", len(form))
	}
}

// TestDigitRunWholeOrNothing: groups of three to six digits joined by one
// separator are one value, redacted whole or not at all. A later group is no
// phone number of its own; a card at any group of the run takes the whole run
// unless the run is a check-digit-valid USPS tracking number; a card that the
// run goes on past takes the rest of it. Each case runs alone and padded past
// the masked scan's minimum.
func TestDigitRunWholeOrNothing(t *testing.T) {
	const c, p = "[REDACTED:card]", "[REDACTED:phone]"
	cases := []struct{ name, in, want string }{
		// Kept: no value starts inside a run.
		{"maestro 12 inside a 16-digit reference", "ref 5518 5043 0821 9303 ok", ""},
		{"trunk-0 phone inside a 16-digit reference", "ref 6494 0423 0241 6655 ok", ""},
		{"usps grouped", "tracking 9400 1000 0000 0000 0000 00", ""},
		{"usps grouped with a card-like tail", "tracking 9261 6581 9890 7783 5997 23", ""},
		{"usps dashes", "tracking 9505-5043-0821-9303-0000-12", ""},
		{"usps with a 16-digit card-like tail", "tracking 9400 4111 1111 1111 1111 15", ""},
		{"non-luhn 16 digits after a group", "ref 1234 4111 1111 1111 1112 ok", ""},
		{"non-luhn 16 digits after two groups", "ref 1234 5678 4111 1111 1111 1112", ""},
		{"maestro 12 inside a 19-digit run", "ref 123 675 964 982 648", ""},
		{"trunk-0 phone inside tab-joined ids", "ids\t4800\t0574\t7787\t6938", ""},
		// Redacted: the run is the value, or the value starts a run.
		{"card then cvv", "pan 4111 1111 1111 1111 123 ok", "pan " + c + " ok"},
		{"card then two more groups", "pan 4111-1111-1111-1111-1234-5678.", "pan " + c + "."},
		{"card then another separator", "pan 4111 1111 1111 1111/1234", "pan " + c + "/1234"},
		{"card after a short group", "qty 12 4111 1111 1111 1111", "qty 12 " + c},
		{"card after a group joined otherwise", "ref 1234-5678 4111 1111 1111 1111", "ref 1234-5678 " + c},
		{"compact card after a group", "order 1234 4111111111111111", "order 1234 " + c},
		{"phone after a date", "2026-11-23 020 7946 0958", "2026-11-23 " + p},
		{"phone after a short group", "no 12 020 7946 0958", "no 12 " + p},
		{"phone at the start of a run", "tel 0207 9460 9581", "tel " + p},
		{"card after a group of another size", "100 4111 1111 1111 1111 0", "100 " + c + " 0"},
		{"phone after a group of another size", "ref 1234 020 7946 0958", "ref 1234 " + p},
		{"card inside a run of at most 19 digits", "no 1234 3782 822463 10005 ok", "no " + c + " ok"},
		{"card inside a run takes the run", "ids 123 378 282 246 310 005 ok", "ids " + c + " ok"},
		// Redacted: a card inside a run of more than 19 digits takes it all.
		{"card after a group of the same size", "ref 1234 4111 1111 1111 1111", "ref " + c},
		{"card after a group of another size, cut short", "100 4111 1111 1111 1111", "100 " + c},
		{"card after two groups", "ids 1234 5678 4111 1111 1111 1111 ok", "ids " + c + " ok"},
		{"card then cvv inside a run", "ref 1234 4111 1111 1111 1111 123 ok", "ref " + c + " ok"},
		{"card then cvv of the run's size", "ref 987 378 282 246 310 005 123 ok", "ref " + c + " ok"},
		{"card inside a dashed run", "ref 1234-4111-1111-1111-1111-9999.", "ref " + c + "."},
		{"card after a 94xx group, 20 digits", "ref 9400 4111 1111 1111 1111 ok", "ref " + c + " ok"},
		{"card in a 22-digit run whose usps check fails", "tracking 9400 4111 1111 1111 1111 12", "tracking " + c + " 12"},
		{"card in a usps-shaped run of 23 digits", "ref 9400 4111 1111 1111 1111 123", "ref " + c},
		{"card in a usps run of 24 digits", "ref 9400 4111 1111 1111 1111 1500", "ref " + c},
		{"card in a check-valid usps number grouped otherwise", "ref 9400-4111-1111-1111-1111-1-5", "ref " + c + "-1-5"},
		{"bad-checksum iban head", "iban DE88 3704 0044 0532 0130 00 ok", "iban " + p + " ok"},
	}
	r, err := redact.New()
	require.NoError(t, err)
	pre, post := strings.Repeat("x ", 100), strings.Repeat(" y", 100)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.in
			}
			assert.Equal(t, want, r.RedactString(tc.in))
			assert.Equal(t, pre+want+post, r.RedactString(pre+tc.in+post), "padded")
		})
	}
}
