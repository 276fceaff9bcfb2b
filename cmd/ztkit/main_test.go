package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runCmd(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(stdin), &stdout, &stderr, func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}

const input = "user alice@example.com paid 4111 1111 1111 1111\n" +
	`{"password":"hunter2","iban":"GB82WEST12345698765432","order":"4111111111111112"}` + "\n" +
	"Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln\n" +
	"last line without newline +1 (415) 555-2671"

func TestRedactDefault(t *testing.T) {
	code, out, errOut := runCmd(t, input, nil, "redact")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "user [REDACTED:email] paid [REDACTED:card]\n"+
		`{"password":"[REDACTED:secret]","iban":"[REDACTED:iban]","order":"4111111111111112"}`+"\n"+
		"Authorization: Bearer [REDACTED:secret]\n"+
		"last line without newline [REDACTED:phone]", out)
}

func TestRedactModesAndKeys(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	require.NoError(t, os.WriteFile(keyFile, []byte("0123456789abcdef0123456789abcdef\n"), 0o600))
	env := map[string]string{"SHOP_REDACT_KEY": "0123456789abcdef0123456789abcdef"}

	code, fromFile, errOut := runCmd(t, input, nil, "redact", "-card", "truncate", "-email", "token", "-iban", "truncate", "-key-file", keyFile)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, fromFile, "paid 411111******1111")
	assert.Contains(t, fromFile, `"iban":"GB****************5432"`)
	assert.Regexp(t, `user \[email:[0-9a-f]{10}\]`, fromFile)

	code, fromEnv, errOut := runCmd(t, input, env, "redact", "-card", "truncate", "-email", "token", "-iban", "truncate", "-key-env", "SHOP_REDACT_KEY")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, fromFile, fromEnv, "the same key from a file or the environment gives the same tokens")

	code, out, errOut := runCmd(t, input, nil, "redact", "-disable", "email,phone", "-vault-token", "mask", "-token-length", "16")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "alice@example.com")
	assert.Contains(t, out, "+1 (415) 555-2671")
	assert.Contains(t, out, "[REDACTED:card]")
}

func TestRedactUsageErrors(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	require.NoError(t, os.WriteFile(short, []byte("abc\n"), 0o600))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "usage"},
		{"unknown command", []string{"scrub"}, "unknown command"},
		{"bad mode", []string{"redact", "-card", "hash"}, "invalid option"},
		{"unsupported mode", []string{"redact", "-email", "truncate"}, "not supported"},
		{"token without key", []string{"redact", "-email", "token"}, "needs a key"},
		{"key on the command line", []string{"redact", "-key", "0123456789abcdef"}, "flag provided but not defined"},
		{"unset env", []string{"redact", "-key-env", "NOPE"}, "NOPE is empty or unset"},
		{"both key sources", []string{"redact", "-key-env", "A", "-key-file", "f"}, "not both"},
		{"missing key file", []string{"redact", "-key-file", filepath.Join(dir, "none")}, "key file"},
		{"short key", []string{"redact", "-key-file", short}, "key too short"},
		{"unknown kind", []string{"redact", "-disable", "nope"}, "unknown kind"},
		{"argument", []string{"redact", "in.log"}, "read from stdin"},
		{"small buffer", []string{"redact", "-buffer", "10"}, "buffer size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, "x\n", nil, tc.args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, tc.want)
			assert.NotContains(t, errOut, "0123456789abcdef")
		})
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := runCmd(t, "", nil, "help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "redact")
	code, _, errOut := runCmd(t, "", nil, "redact", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, errOut, "-key-env")
	assert.Contains(t, errOut, "-card")
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestRedactWriteError(t *testing.T) {
	var stderr bytes.Buffer
	code := run([]string{"redact"}, strings.NewReader("line\n"), failWriter{}, &stderr, func(string) string { return "" })
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr.String(), "file already closed")
}
