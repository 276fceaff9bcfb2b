package redact_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

func newWriter(t *testing.T, opts ...redact.WriterOption) (*redact.Writer, *bytes.Buffer) {
	t.Helper()
	r, err := redact.New()
	require.NoError(t, err)
	var out bytes.Buffer
	w, err := redact.NewWriter(&out, r, opts...)
	require.NoError(t, err)
	return w, &out
}

func TestWriterLines(t *testing.T) {
	in := "user alice@example.com paid with 4111 1111 1111 1111\n" +
		"clean line 2026-11-23 v1.26.8\n" +
		`{"password":"hunter2","iban":"GB82WEST12345698765432"}` + "\n" +
		"no newline at the end +44 20 7946 0958"
	want := "user [REDACTED:email] paid with [REDACTED:card]\n" +
		"clean line 2026-11-23 v1.26.8\n" +
		`{"password":"[REDACTED:secret]","iban":"[REDACTED:iban]"}` + "\n" +
		"no newline at the end [REDACTED:phone]"
	for _, size := range []int{1, 2, 3, 7, 64, len(in)} {
		t.Run(fmt.Sprintf("writes of %d", size), func(t *testing.T) {
			w, out := newWriter(t)
			for rest := in; len(rest) > 0; {
				n := min(size, len(rest))
				m, err := w.Write([]byte(rest[:n]))
				require.NoError(t, err)
				require.Equal(t, n, m)
				rest = rest[n:]
			}
			assert.NotContains(t, out.String(), "no newline", "a line without newline waits for more")
			require.NoError(t, w.Close())
			assert.Equal(t, want, out.String())
		})
	}
}

func TestWriterPEMAcrossLines(t *testing.T) {
	w, out := newWriter(t)
	_, err := fmt.Fprint(w, "key follows\nk=-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nqhkiG9w0BAQEFAAOC\n-----END RSA PRIVATE KEY-----\nafter\n"+
		"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY----- tail\n")
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, "key follows\nk=[REDACTED:private_key]\nafter\n[REDACTED:private_key] tail\n", out.String())
}

// TestWriterLongLine streams one 1 MiB line with secrets everywhere, some
// straddling where the buffer must be cut: none may survive.
func TestWriterLongLine(t *testing.T) {
	secrets := []string{
		"4111111111111111", "alice@example.com", "GB82WEST12345698765432", "+44 20 7946 0958",
		"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl", "AKIAIOSFODNN7EXAMPLE",
	}
	var in strings.Builder
	var planted []string
	for k := 0; in.Len() < 1<<20; k++ {
		in.WriteString(strings.Repeat("x", 1+k*37%4000))
		switch k % 4 {
		case 0:
			s := secrets[k%len(secrets)]
			in.WriteString(" " + s + " ")
			planted = append(planted, s)
		case 1:
			v := fmt.Sprintf("S3cr3t%06d", k)
			in.WriteString(` "password":"` + v + `" `)
			planted = append(planted, v)
		case 2:
			v := fmt.Sprintf("Pw%06dq", k)
			in.WriteString(" postgres://app:" + v + "@db/x ")
			planted = append(planted, v)
		default:
			in.WriteString(" 1732350000123 2026-11-23 ")
		}
	}
	in.WriteString("\nnext line alice@example.com\n")
	for _, size := range []int{redact.MinBufferSize, 5000, redact.DefaultBufferSize} {
		for _, chunk := range []int{1 << 20, 4093, 1} {
			if chunk == 1 && size != redact.MinBufferSize {
				continue
			}
			t.Run(fmt.Sprintf("buffer %d writes %d", size, chunk), func(t *testing.T) {
				w, out := newWriter(t, redact.WithBufferSize(size))
				src := []byte(in.String())
				for len(src) > 0 {
					n := min(chunk, len(src))
					_, err := w.Write(src[:n])
					require.NoError(t, err)
					src = src[n:]
				}
				require.NoError(t, w.Close())
				got := out.String()
				for _, p := range planted {
					if !assert.NotContains(t, got, p) {
						return
					}
				}
				assert.Contains(t, got, "1732350000123 2026-11-23")
				assert.True(t, strings.HasSuffix(got, "\nnext line [REDACTED:email]\n"))
				assert.Equal(t, 2, strings.Count(got, "\n"))
			})
		}
	}
}

// TestWriterHugeSecret drops the rest of a line whose single secret outgrows
// the buffer, and carries on with the next line.
func TestWriterHugeSecret(t *testing.T) {
	w, out := newWriter(t, redact.WithBufferSize(redact.MinBufferSize))
	secret := strings.Repeat("A", 3*redact.MinBufferSize)
	_, err := fmt.Fprintf(w, `start {"password":"%s"} rest`+"\nnext\n", secret)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, `start {"password":"[REDACTED:secret]`+"\nnext\n", out.String())
}

func TestWriterClose(t *testing.T) {
	w, out := newWriter(t)
	_, err := w.Write([]byte("partial alice@example.com"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "Close twice")
	assert.Equal(t, "partial [REDACTED:email]", out.String())
	_, err = w.Write([]byte("x\n"))
	assert.ErrorIs(t, err, redact.ErrClosed)
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriterUnderlyingError(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	boom := errors.New("disk full")
	w, err := redact.NewWriter(failWriter{boom}, r)
	require.NoError(t, err)
	n, err := w.Write([]byte("line one\nline two\n"))
	assert.ErrorIs(t, err, boom)
	assert.Less(t, n, len("line one\nline two\n"))
	_, err = w.Write([]byte("more\n"))
	assert.ErrorIs(t, err, boom, "the error sticks")
	assert.ErrorIs(t, w.Close(), boom)
}

func TestWriterConcurrent(t *testing.T) {
	w, out := newWriter(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				_, err := fmt.Fprintf(w, "g%d i%d card 4111111111111111 mail a%d@example.com\n", g, i, i)
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, w.Close())
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 1600)
	for _, l := range lines {
		assert.Regexp(t, `^g\d i\d+ card \[REDACTED:card\] mail \[REDACTED:email\]$`, l)
	}
}

func TestNewWriterErrors(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	_, err = redact.NewWriter(nil, r)
	assert.ErrorIs(t, err, redact.ErrNilArgument)
	_, err = redact.NewWriter(&bytes.Buffer{}, nil)
	assert.ErrorIs(t, err, redact.ErrNilArgument)
	_, err = redact.NewWriter(&bytes.Buffer{}, r, redact.WithBufferSize(100))
	assert.ErrorIs(t, err, redact.ErrInvalidOption)
	w, err := redact.NewWriter(&bytes.Buffer{}, r, redact.WithBufferSize(0), nil)
	require.NoError(t, err)
	require.NoError(t, w.Close())
}

// TestWriterStraddlingCut puts each kind of value at every offset around the
// first cut of a minimum-size buffer (where a quarter of it is held back):
// whatever the offset, the value is redacted whole.
func TestWriterStraddlingCut(t *testing.T) {
	cut := redact.MinBufferSize - redact.MinBufferSize/4
	for _, tc := range []struct{ frag, secret string }{
		{"4111 1111 1111 1111", "1111 1111 1111"},
		{"alice.smith@example.com", "smith@example"},
		{"GB82 WEST 1234 5698 7654 32", "1234 5698 7654"},
		{`"password":"Zq8vLm3Kp0Zq8vLm3Kp0"`, "Kp0Zq8"},
		{"api_key=Xw7Tn2Rb5YcXw7Tn2Rb5Yc", "Rb5YcXw7"},
		{"postgres://app:Pw9Qx8Rz7Pw9Qx8Rz7@db/x", "Rz7Pw9"},
		{"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl", "c2lnbmF0dXJl"},
		{"+44 20 7946 0958", "7946 0958"},
	} {
		for at := cut - len(tc.frag) - 2; at <= cut+2; at++ {
			w, out := newWriter(t, redact.WithBufferSize(redact.MinBufferSize))
			line := strings.Repeat("~", at) + " " + tc.frag + " " + strings.Repeat("^", redact.MinBufferSize) + "\n"
			_, err := w.Write([]byte(line))
			require.NoError(t, err)
			require.NoError(t, w.Close())
			if !assert.NotContains(t, out.String(), tc.secret, "%s at %d", tc.frag, at) {
				return
			}
			assert.Equal(t, strings.Count(line, "~")+strings.Count(line, "^"),
				strings.Count(out.String(), "~")+strings.Count(out.String(), "^"), "%s at %d: only the value goes", tc.frag, at)
		}
	}
}
