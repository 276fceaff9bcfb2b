package redact_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

// planted returns values of every built-in kind; whatever surrounds them,
// none may survive redaction.
func planted() []string {
	return []string{
		"4111111111111111", "4111 1111 1111 1111", "378282246310005", "6200000000000005", "36227206271667",
		"GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32", "FR1420041010050500013M02606",
		"alice@example.com", "bob.smith+shop@mail.example.co.uk",
		"+1 (415) 555-2671", "+44 20 7946 0958", "(415) 555-2671", "020 7946 0958",
		"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl",
		"hvs.CAESIJ3bC5eXb1x6i2e8yq0kAbCdEfGhIjKlMnOp", "AKIAIOSFODNN7EXAMPLE",
		"sk_live_4eC39HqLyjWDarjtT1zdp7dc", "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
		"xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp",
	}
}

// plantedPairs returns key-value fragments and the secret in each.
func plantedPairs() [][2]string {
	return [][2]string{
		{`"password":"Zq8vLm3Kp0"`, "Zq8vLm3Kp0"},
		{"api_key=Xw7Tn2Rb5Yc", "Xw7Tn2Rb5Yc"},
		{"Authorization: Bearer Ab3Cd4Ef5Gh", "Ab3Cd4Ef5Gh"},
		{"postgres://app:Pw9Qx8Rz7@db:5432/x", "Pw9Qx8Rz7"},
	}
}

func plant(prefix, suffix []byte, which uint8) ([]byte, string) {
	values, pairs := planted(), plantedPairs()
	var frag, secret string
	if k := int(which) % (len(values) + len(pairs)); k < len(values) {
		frag, secret = values[k], values[k]
	} else {
		frag, secret = pairs[k-len(values)][0], pairs[k-len(values)][1]
	}
	in := make([]byte, 0, len(prefix)+len(frag)+len(suffix)+2)
	in = append(append(append(append(append(in, prefix...), ' '), frag...), ' '), suffix...)
	return in, secret
}

// trailingDigits returns how many digits b ends in.
func trailingDigits(b []byte) int {
	n := 0
	for n < len(b) && b[len(b)-1-n] >= '0' && b[len(b)-1-n] <= '9' {
		n++
	}
	return n
}

// phoneInsideRun reports whether the planted phone number 020 7946 0958
// goes on a group of three digits that ends the prefix: 100 020 7946 0958 is
// one grouped number of 13 digits, a reference or account number as such
// numbers are printed, and no phone number starts inside such a run. It is
// not a leak: written so, the digits are not a phone number, and no card is
// excluded this way.
func phoneInsideRun(prefix []byte, secret string) bool {
	if secret != "020 7946 0958" {
		return false
	}
	// The prefix may end in up to two of the three separator units that
	// join two groups (the planted space is the third).
	for range 2 {
		prefix = trimSepUnit(prefix)
	}
	return trailingDigits(prefix) == 3
}

// trimSepUnit drops one separator unit that joins digit groups (a space,
// tab, dash, dot, slash, a no-break, figure, thin or narrow no-break space,
// or one URL- or JSON-escaped) from the end of b.
func trimSepUnit(b []byte) []byte {
	for _, u := range []string{" ", "\t", "-", ".", "/", "\u00a0", "\u2007", "\u2009", "\u202f",
		"%20", "%09", "%2d", "%2e", "%2f", `\u0020`, `\u00a0`, `\t`} {
		if n := len(u); len(b) >= n && strings.EqualFold(string(b[len(b)-n:]), u) {
			return b[:len(b)-n]
		}
	}
	return b
}

// cardInUSPSTracking reports whether the planted card 4111 1111 1111 1111,
// with the four digits that end the prefix and the two that start the
// suffix, makes a 22-digit USPS tracking number (92 to 95, Mod 10 check
// digit valid; USPS Publication 199), which a card inside it does not take:
// 9400 4111 1111 1111 1111 15 is a valid tracking number, and one card in
// ten planted there would form one. No other shape excludes a card.
func cardInUSPSTracking(prefix, suffix []byte, secret string) bool {
	if secret != "4111 1111 1111 1111" || trailingDigits(prefix) != 4 || len(suffix) < 2 ||
		trailingDigits(suffix[:2]) != 2 || len(suffix) > 3 && suffix[2] == ' ' && suffix[3] >= '0' && suffix[3] <= '9' {
		return false
	}
	d := string(prefix[len(prefix)-4:]) + "4111111111111111" + string(suffix[:2])
	if d[0] != '9' || d[1] < '2' || d[1] > '5' {
		return false
	}
	sum := 0
	for j := 20; j >= 0; j-- {
		v := int(d[j] - '0')
		if (20-j)%2 == 0 {
			v *= 3
		}
		sum += v
	}
	return (10-sum%10)%10 == int(d[21]-'0')
}

func addSeeds(f *testing.F) {
	seeds := []string{
		"", " ", "{", `{"a":"`, "password=", "x:", "4111", "+", "(", "@", "-----BEGIN RSA PRIVATE KEY-----",
		"https://u:", "eyJ", "GB82", "2026-11-23", "1.26.8", "1,299.00", "\\\"", "token: ", "a@a@a@",
		"550e8400-e29b-41d4-a716-446655440000", "1732350000123", "Cookie: ", "\n",
		"ref 1234", "100", "9400", "15", "12", "1234 5678", "987 654 321",
	}
	for i, s := range seeds {
		f.Add([]byte(s), []byte(seeds[(i+1)%len(seeds)]), uint8(i))
	}
}

// FuzzRedact checks the scanner on arbitrary input around a planted value: no
// panic, bounded output, the string and byte paths agreeing, and the planted
// value gone.
func FuzzRedact(f *testing.F) {
	addSeeds(f)
	r, err := redact.New()
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, prefix, suffix []byte, which uint8) {
		for _, in := range [][]byte{prefix, suffix} {
			out := r.Redact(nil, in)
			if len(out) > 24*len(in)+32 {
				t.Fatalf("output %d bytes for %d bytes of input", len(out), len(in))
			}
			if s := r.RedactString(string(in)); s != string(out) {
				t.Fatalf("RedactString %q != Redact %q", s, out)
			}
		}
		in, secret := plant(prefix, suffix, which)
		out := r.Redact(nil, in)
		if bytes.Contains(out, []byte(secret)) && !bytes.Contains(prefix, []byte(secret)) && !bytes.Contains(suffix, []byte(secret)) &&
			!phoneInsideRun(prefix, secret) && !cardInUSPSTracking(prefix, suffix, secret) {
			t.Fatalf("%q survived:\n in: %q\nout: %q", secret, in, out)
		}
		if len(out) > 24*len(in)+32 {
			t.Fatalf("output %d bytes for %d bytes of input", len(out), len(in))
		}
	})
}

// writeChunked writes in through a Writer, split where cuts says.
func writeChunked(t *testing.T, r *redact.Redactor, in, cuts []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := redact.NewWriter(&out, r, redact.WithBufferSize(redact.MinBufferSize))
	require.NoError(t, err)
	for i := 0; len(in) > 0; i++ {
		n := len(in)
		if len(cuts) > 0 {
			n = min(n, 1+int(cuts[i%len(cuts)])*int(cuts[i%len(cuts)]))
		}
		m, err := w.Write(in[:n])
		require.NoError(t, err)
		require.Equal(t, n, m)
		in = in[n:]
	}
	require.NoError(t, w.Close())
	return out.Bytes()
}

// FuzzWriter checks the streaming writer with a buffer small enough for the
// fuzzer to overflow: no panic, bounded output, the same output however the
// input is split into writes, and the planted value gone, also when it
// straddles a cut of an over-long line.
func FuzzWriter(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, prefix, cuts []byte, which uint8) {
		fuzzWriterBody(t, prefix, cuts, which)
	})
}

func fuzzWriterBody(t *testing.T, prefix, cuts []byte, which uint8) {
	t.Helper()
	r, err := redact.New()
	require.NoError(t, err)
	// Stretch the prefix past the buffer so that lines get cut, and put the
	// planted value where a cut may fall.
	if len(prefix) > 0 && which&0x80 != 0 {
		prefix = bytes.Repeat(prefix, 1+(redact.MinBufferSize*3/4+int(which))/len(prefix))
	}
	in, secret := plant(prefix, cuts, which)
	whole := writeChunked(t, r, in, nil)
	split := writeChunked(t, r, in, cuts)
	if !bytes.Equal(whole, split) {
		t.Fatalf("output depends on how writes split:\nwhole: %q\nsplit: %q", whole, split)
	}
	if bytes.Contains(whole, []byte(secret)) && !bytes.Contains(prefix, []byte(secret)) && !bytes.Contains(cuts, []byte(secret)) &&
		!phoneInsideRun(prefix, secret) && !cardInUSPSTracking(prefix, cuts, secret) {
		t.Fatalf("%q survived:\n in: %q\nout: %q", secret, in, whole)
	}
	if len(whole) > 24*len(in)+32 {
		t.Fatalf("output %d bytes for %d bytes of input", len(whole), len(in))
	}
	if !bytes.Contains(in, []byte("-----BEGIN")) && !strings.Contains(string(in), "\r") {
		// Lines that fit the buffer come out as Redact makes them.
		want := make([]byte, 0, len(in)) // never nil: Redact(nil, clean) returns its input
		lines := bytes.Split(in, []byte("\n"))
		fits := true
		for i, l := range lines {
			if len(l) > redact.MinBufferSize {
				fits = false
				break
			}
			want = r.Redact(want, l)
			if i < len(lines)-1 {
				want = append(want, '\n')
			}
		}
		if fits && !bytes.Equal(want, whole) {
			t.Fatalf("writer and Redact differ:\nwriter: %q\nredact: %q", whole, want)
		}
	}
}
