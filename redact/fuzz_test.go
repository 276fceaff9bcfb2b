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

func addSeeds(f *testing.F) {
	seeds := []string{
		"", " ", "{", `{"a":"`, "password=", "x:", "4111", "+", "(", "@", "-----BEGIN RSA PRIVATE KEY-----",
		"https://u:", "eyJ", "GB82", "2026-11-23", "1.26.8", "1,299.00", "\\\"", "token: ", "a@a@a@",
		"550e8400-e29b-41d4-a716-446655440000", "1732350000123", "Cookie: ", "\n",
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
		if bytes.Contains(out, []byte(secret)) && !bytes.Contains(prefix, []byte(secret)) && !bytes.Contains(suffix, []byte(secret)) {
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
	if bytes.Contains(whole, []byte(secret)) && !bytes.Contains(prefix, []byte(secret)) && !bytes.Contains(cuts, []byte(secret)) {
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
