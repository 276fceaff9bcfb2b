package redact_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

// pemKeys returns PEM private key blocks as services hold them: PKCS#8
// Ed25519 and EC keys, SEC 1, and a block the size of a 4096-bit RSA key
// (PKCS#1, about 2.35 KB of DER), plain and with the RFC 1421 headers of a
// legacy encrypted key.
func pemKeys(t *testing.T) map[string]string {
	t.Helper()
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pkcs8 := func(k any) string {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		require.NoError(t, err)
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	require.NoError(t, err)
	rsa4096 := make([]byte, 2350)
	_, err = rand.Read(rsa4096)
	require.NoError(t, err)
	return map[string]string{
		"ed25519 pkcs8": pkcs8(edKey),
		"ec pkcs8":      pkcs8(ecKey),
		"ec sec1":       string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})),
		"rsa 4096 size": string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: rsa4096})),
		"rsa encrypted": string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: rsa4096,
			Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,5A1B2C3D4E5F60718293A4B5C6D7E8F9"}})),
	}
}

// bodyLines returns the base64 lines of a PEM block: none may survive.
func bodyLines(block string) []string {
	var out []string
	for _, l := range strings.Split(block, "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") && !strings.Contains(l, ":") {
			out = append(out, l)
		}
	}
	return out
}

// assertSame compares got with want without printing either: they may hold
// key material.
func assertSame(t *testing.T, want, got, what string) {
	t.Helper()
	if got != want {
		t.Errorf("%s: output differs from what was expected (%d bytes, want %d)", what, len(got), len(want))
	}
}

func assertNoKey(t *testing.T, got, block string) {
	t.Helper()
	for _, l := range bodyLines(block) {
		if strings.Contains(got, l) {
			t.Errorf("a line of the key body survived (%d bytes of output)", len(got))
			return
		}
	}
}

// TestPEMKeyBlockRedacted: a real key block goes whole, in every form a log
// writes it, through RedactString and through a Writer whatever the writes.
func TestPEMKeyBlockRedacted(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	for name, block := range pemKeys(t) {
		t.Run(name, func(t *testing.T) {
			trimmed := strings.TrimSuffix(block, "\n")
			quoted, err := json.Marshal(trimmed)
			require.NoError(t, err)
			forms := map[string]struct{ in, want string }{
				"raw":       {"before " + trimmed + " after", "before [REDACTED:private_key] after"},
				"json":      {`{"key":` + string(quoted) + `,"n":1}`, `{"key":"[REDACTED:private_key]","n":1}`},
				"go quoted": {"key=" + strconv.Quote(trimmed) + " n=1", `key="[REDACTED:private_key]" n=1`},
				"crlf":      {strings.ReplaceAll(trimmed, "\n", "\r\n"), "[REDACTED:private_key]"},
				"spaces":    {strings.ReplaceAll(trimmed, "\n", " "), "[REDACTED:private_key]"},
				"indented":  {"key: |\n  " + strings.ReplaceAll(trimmed, "\n", "\n  "), "key: |\n  [REDACTED:private_key]"},
			}
			for fname, f := range forms {
				t.Run(fname, func(t *testing.T) {
					got := r.RedactString(f.in)
					assertSame(t, f.want, got, "RedactString")
					assertNoKey(t, got, block)
				})
			}
			in := "audit start\nkey=" + block + "audit end\n"
			want := "audit start\nkey=[REDACTED:private_key]\naudit end\n"
			for _, size := range []int{1, 7, 64, 1000, len(in)} {
				t.Run("writer/"+strconv.Itoa(size), func(t *testing.T) {
					got := writeInPieces(t, r, in, size)
					assertSame(t, want, got, "Writer")
					assertNoKey(t, got, block)
				})
			}
		})
	}
}

func writeInPieces(t *testing.T, r *redact.Redactor, in string, size int, opts ...redact.WriterOption) string {
	t.Helper()
	var out bytes.Buffer
	w, err := redact.NewWriter(&out, r, opts...)
	require.NoError(t, err)
	for rest := in; rest != ""; {
		n := min(size, len(rest))
		m, err := w.Write([]byte(rest[:n]))
		require.NoError(t, err)
		require.Equal(t, n, m)
		rest = rest[n:]
	}
	require.NoError(t, w.Close())
	return out.String()
}

// TestPEMInjectedBegin: a BEGIN line that starts no block that ends, with
// the same label, within redact.MaxKeyBlock, silences nothing: every line
// is written, with only what the detectors find redacted.
func TestPEMInjectedBegin(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	const begin = "-----BEGIN RSA PRIVATE KEY-----"
	audit := "time=2026-12-06T10:00:00.000Z user=alice action=delete_user target=bob\n" +
		`{"level":"INFO","msg":"refund","card":"4111 1111 1111 1111"}` + "\n" +
		"GET /admin/users 200\n"
	auditWant := strings.Replace(audit, "4111 1111 1111 1111", "[REDACTED:card]", 1)
	b64 := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJjZGVmZ2hpamtsbW5v\n", redact.MaxKeyBlock/65+8)
	cases := []struct{ name, in, want string }{
		{"user agent, no END", "ua=\"curl " + begin + "\"\n" + audit, "ua=\"curl " + begin + "\"\n" + auditWant},
		{"BEGIN line alone, no END", begin + "\n" + audit, begin + "\n" + auditWant},
		{"BEGIN at the end of the stream", audit + begin, auditWant + begin},
		{"END after log lines", begin + "\n" + audit + "-----END RSA PRIVATE KEY-----\nlast\n",
			begin + "\n" + auditWant + "-----END RSA PRIVATE KEY-----\nlast\n"},
		{"END past the bound", begin + "\n" + b64 + "-----END RSA PRIVATE KEY-----\n" + audit,
			begin + "\n" + b64 + "-----END RSA PRIVATE KEY-----\n" + auditWant},
		{"prose between two injected lines", begin + "\nadmin deleted user bob\n-----END RSA PRIVATE KEY-----\n" + audit,
			begin + "\nadmin deleted user bob\n-----END RSA PRIVATE KEY-----\n" + auditWant},
		{"mismatched labels", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\n-----END RSA PRIVATE KEY-----\n" + audit,
			"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\n-----END RSA PRIVATE KEY-----\n" + auditWant},
		{"END of another label", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END CERTIFICATE-----\n" + audit,
			"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END CERTIFICATE-----\n" + auditWant},
		{"BEGIN twice then a real block", begin + "\n" + begin + "\nMIIEow\n-----END RSA PRIVATE KEY-----\n" + audit,
			begin + "\n[REDACTED:private_key]\n" + auditWant},
		{"many BEGINs", strings.Repeat(begin+"\n", 300) + audit, strings.Repeat(begin+"\n", 300) + auditWant},
		{"stream ends inside the block", audit + begin + "\nMIIEowIBAAKCAQEA\nqhkiG9w0BAQEFAAOC\n",
			auditWant + begin + "\nMIIEowIBAAKCAQEA\nqhkiG9w0BAQEFAAOC\n"},
		{"stream ends inside the block, no newline", begin + "\nMIIEowIBAAKCAQEA", begin + "\nMIIEowIBAAKCAQEA"},
		{"crlf block then audit", "-----BEGIN PRIVATE KEY-----\r\nMIIB\r\n-----END PRIVATE KEY-----\r\n" + audit,
			"[REDACTED:private_key]\r\n" + auditWant},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{1, 13, 4096, len(tc.in)} {
				assert.Equal(t, tc.want, writeInPieces(t, r, tc.in, size), "writes of %d bytes", size)
			}
			assert.Equal(t, tc.want, writeInPieces(t, r, tc.in, 100, redact.WithBufferSize(redact.MinBufferSize)))
			assert.Equal(t, tc.want, r.RedactString(tc.in))
		})
	}
}

// TestPEMMidLine: in one string, a BEGIN in the middle of a line removes
// nothing after it unless its block ends.
func TestPEMMidLine(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"user agent", `ua="-----BEGIN PRIVATE KEY-----" path=/admin status=403 user=alice@example.com`,
			`ua="-----BEGIN PRIVATE KEY-----" path=/admin status=403 user=[REDACTED:email]`},
		{"json value", `{"ua":"-----BEGIN PRIVATE KEY-----","action":"delete","card":"4111111111111111"}`,
			`{"ua":"-----BEGIN PRIVATE KEY-----","action":"delete","card":"[REDACTED:card]"}`},
		{"escaped newline then text", `{"ua":"-----BEGIN PRIVATE KEY-----\nx","msg":"-----END PRIVATE KEY-----"}`, ""},
		{"prose between two injections", "ua=-----BEGIN PRIVATE KEY----- admin deleted user bob -----END PRIVATE KEY-----", ""},
		{"prose lines between two injections", "-----BEGIN PRIVATE KEY-----\nadmin deleted user bob\nrefund 42 issued\n-----END PRIVATE KEY-----", ""},
		{"block", `{"key":"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----","n":1}`,
			`{"key":"[REDACTED:private_key]","n":1}`},
	})
}

// TestPEMLongLineWriter: a JSON-escaped key block in a line longer than the
// Writer's buffer goes whole.
func TestPEMLongLineWriter(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	block := strings.TrimSuffix(pemKeys(t)["rsa 4096 size"], "\n")
	quoted, err := json.Marshal(block)
	require.NoError(t, err)
	pad := strings.Repeat("x", redact.MinBufferSize-100)
	in := `{"pad":"` + pad + `","key":` + string(quoted) + `,"pad2":"` + pad + `"}` + "\n"
	want := `{"pad":"` + pad + `","key":"[REDACTED:private_key]","pad2":"` + pad + `"}` + "\n"
	for _, size := range []int{1, 100, len(in)} {
		got := writeInPieces(t, r, in, size, redact.WithBufferSize(redact.MinBufferSize))
		assertSame(t, want, got, "Writer, writes of "+strconv.Itoa(size)+" bytes")
		assertNoKey(t, got, block)
	}
}
