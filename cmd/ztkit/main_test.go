package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
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
		{"missing key file", []string{"redact", "-key-file", filepath.Join(dir, "none")}, `ztkit redact: key file "` + filepath.Join(dir, "none") + `": no such file` + "\n"},
		{"key file is a directory", []string{"redact", "-key-file", dir}, `ztkit redact: key file "` + dir + `": is a directory`},
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

// TestHelp: every command and subcommand prints its help on stdout and
// exits 0, however help is asked for; nothing goes to stderr.
func TestHelp(t *testing.T) {
	commands := []struct {
		args []string // the command
		want []string // in its help
	}{
		{nil, []string{"usage: ztkit <command>", "redact", "policy", "version"}},
		{[]string{"redact"}, []string{"usage: ztkit redact", "-key-env", "-card"}},
		{[]string{"policy"}, []string{"usage: ztkit policy", "check", "test", "explain"}},
		{[]string{"policy", "check"}, []string{"usage: ztkit policy check", "without rules"}},
		{[]string{"policy", "test"}, []string{"usage: ztkit policy test", "-policy", "-run", "-v"}},
		{[]string{"policy", "explain"}, []string{"usage: ztkit policy explain", "-policy", "-now"}},
		{[]string{"version"}, []string{"usage: ztkit version"}},
	}
	for _, c := range commands {
		forms := map[string][]string{
			"-h":     append(slices.Clone(c.args), "-h"),
			"-help":  append(slices.Clone(c.args), "-help"),
			"--help": append(slices.Clone(c.args), "--help"),
			"help":   append([]string{"help"}, c.args...),
		}
		if len(c.args) == 2 { // ztkit policy help check
			forms["policy help"] = []string{c.args[0], "help", c.args[1]}
		}
		for form, args := range forms {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, out, errOut := runCmd(t, "", nil, args...)
				assert.Equal(t, exitOK, code, form)
				assert.Empty(t, errOut)
				for _, w := range c.want {
					assert.Contains(t, out, w)
				}
			})
		}
	}
}

// TestUsageErrorsOnStderr: a usage error prints the error and the usage on
// stderr, nothing on stdout, and exits 2.
func TestUsageErrorsOnStderr(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"usage: ztkit <command>"}},
		{[]string{"help", "scrub"}, []string{`unknown command "scrub"`, "usage: ztkit <command>"}},
		{[]string{"redact", "-nope"}, []string{"flag provided but not defined: -nope", "usage: ztkit redact"}},
		{[]string{"policy", "check", "-nope"}, []string{"flag provided but not defined: -nope", "usage: ztkit policy check"}},
		{[]string{"policy", "check"}, []string{"no policy files given", "usage: ztkit policy check"}},
		{[]string{"policy", "help", "lint"}, []string{`unknown command "lint"`, "usage: ztkit policy"}},
		{[]string{"policy", "test", "-nope"}, []string{"flag provided but not defined: -nope", "usage: ztkit policy test"}},
		{[]string{"version", "-nope"}, []string{"flag provided but not defined: -nope", "usage: ztkit version"}},
		{[]string{"version", "now"}, []string{`unexpected argument "now"`, "usage: ztkit version"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, "", nil, tc.args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			for _, w := range tc.want {
				assert.Contains(t, errOut, w)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, out, errOut := runCmd(t, "", nil, "version")
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, errOut)
	assert.Regexp(t, `^ztkit version \S+ go1\.\d+\S* `+runtime.GOOS+"/"+runtime.GOARCH+"\n$", out)

	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"installed at a version", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Path: "github.com/ztkit/ztkit", Version: "v1.4.0"}}, true, "ztkit version v1.4.0 go1.26.1"},
		{"built from a checkout", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Path: "github.com/ztkit/ztkit", Version: "(devel)"}}, true, "ztkit version (devel) go1.26.1"},
		{"no main module version", &debug.BuildInfo{GoVersion: "go1.26.1"}, true, "ztkit version (devel) go1.26.1"},
		{"no build information", nil, false, "ztkit version (unknown) " + runtime.Version()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want+" "+runtime.GOOS+"/"+runtime.GOARCH, versionLine(tc.info, tc.ok))
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestRedactWriteError(t *testing.T) {
	var stderr bytes.Buffer
	code := run([]string{"redact"}, strings.NewReader("line\n"), failWriter{}, &stderr, func(string) string { return "" })
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr.String(), "file already closed")
}
