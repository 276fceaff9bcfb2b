// Command ztkit holds ztkit's operator tools.
//
// Usage:
//
//	ztkit redact [flags] < in > out
//	ztkit policy check FILE...
//	ztkit policy test -policy FILE [-run regexp] [-v] [-now time] CASES...
//	ztkit policy explain -policy FILE [-run regexp] [-now time] CASES...
//	ztkit version
//	ztkit help [command [subcommand]]
//
// Every command and subcommand prints its help on standard output and exits
// 0 with -h, -help or --help (and "ztkit help COMMAND" does the same); a
// usage error is reported on standard error with exit code 2. version prints
// the module version ztkit was built from ("(devel)" when built from a
// checkout rather than installed with go install …@version) and the Go
// version, platform included.
//
// The redact subcommand copies standard input to standard output line by
// line, with payment cards, IBANs, e-mail addresses, phone numbers, tokens,
// keys and passwords replaced (see package github.com/ztkit/ztkit/redact). A
// flag per kind chooses how its values are replaced (mask, truncate or
// token), -disable switches detectors off, and the HMAC key of token mode is
// read from a file (-key-file) or from an environment variable named by
// -key-env, never from the command line.
//
//	go run ./cmd/ztkit redact -card truncate -email token -key-env ZTKIT_REDACT_KEY < app.log
//
// # Policies
//
// The policy subcommands work on package github.com/ztkit/ztkit/authz's JSON
// policy files, so that a service's CI can reject a bad policy before it is
// deployed. check parses and compiles each file and prints every problem as
// "file:line: rule ...: cause"; it exits 1 if any file is invalid.
//
// A file that cannot be read is reported as such (`policy file "x.json": no
// such file`), not as an invalid policy. A policy without rules is invalid
// (it would deny every request; package authz refuses it with
// authz.ErrNoRules), and check warns about a policy with rules none of which
// is an enforced allow rule, which denies every request as well.
//
// test runs what-if tables against one policy: each case names a principal,
// a request and the expected decision, and optionally the reason and the
// deciding rule. The output reads like go test's: a "--- FAIL" line per
// failed case with its file and line, what the policy decided against what
// was expected, the matching route patterns and every rule considered with
// the condition it failed; then "ok" or "FAIL" per cases file. -run selects
// cases by name, -v lists passing cases too, and -now sets the time cases
// are decided at (max_auth_age, relative auth_time) unless the file or the
// case sets "now". It exits 0 when every case passes, 1 when one fails or a
// file is invalid, and 2 on usage errors. explain prints the same trace for
// every case, passing or not.
//
// A cases file (the format is documented at authztest.ParseCases; in Go
// tests, authztest.LoadCases and authztest.RunCases run the same files):
//
//	{
//	  "now": "2025-06-01T12:00:00Z",
//	  "cases": [
//	    {
//	      "name": "checkout pays with a DPoP-bound MFA token",
//	      "principal": {
//	        "kind": "user",
//	        "peer": "spiffe://shop.example/checkout",
//	        "client_id": "storefront",
//	        "scopes": ["payments:write"], "acr": "mfa", "amr": ["pwd", "otp"],
//	        "auth_time": "-5m", "binding": "dpop"
//	      },
//	      "request": {"method": "POST", "path": "/payments"},
//	      "expect": {"allow": true, "rule": "checkout-pays"}
//	    },
//	    {
//	      "name": "the storefront cannot charge over gRPC",
//	      "principal": {"kind": "workload", "peer": "spiffe://shop.example/storefront"},
//	      "request": {"grpc_method": "/shop.Payments/Charge"},
//	      "expect": {"allow": false}
//	    },
//	    {
//	      "name": "checkout refunds with a token issued to it to act for the customer",
//	      "principal": {
//	        "kind": "user", "binding": "dpop",
//	        "actors": ["spiffe://shop.example/checkout", "spiffe://shop.example/storefront"]
//	      },
//	      "request": {"grpc_method": "/shop.Payments/Refund"},
//	      "expect": {"allow": true, "rule": "refund-for-customer"}
//	    }
//	  ]
//	}
//
// A principal's "actors" is its token's act chain (RFC 8693 §4.1), nearest
// first: the current actor, then the prior ones. A rule's "actors" (a list
// of SPIFFE IDs and ID patterns, written as its "peers") matches the current
// actor only; a principal without "actors" never matches such a rule, and
// the trace says actor_mismatch.
//
//	go run ./cmd/ztkit policy check authz.json
//	go run ./cmd/ztkit policy test -policy authz.json authz_cases.json
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/ztkit/ztkit/redact"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run executes the command line args and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "redact":
		return runRedact(args[1:], stdin, stdout, stderr, getenv)
	case "policy":
		return runPolicy(args[1:], stdin, stdout, stderr)
	case "version":
		return runVersion(args[1:], stdout, stderr)
	case "help":
		if len(args) > 1 { // ztkit help policy check: ztkit policy check -h
			return run(append(args[1:len(args):len(args)], "-h"), stdin, stdout, stderr, getenv)
		}
		usage(stdout)
		return exitOK
	case "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "ztkit: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: ztkit <command> [flags]

commands:
  redact   copy stdin to stdout line by line with sensitive values replaced
           (ztkit redact -h lists its flags)
  policy   check authz policy files and run what-if cases against them
           (ztkit policy help lists its commands)
  version  print ztkit's module version and the Go version it was built with
  help     print this help, or a command's: ztkit help policy test
`)
}

// parseFlags parses args into fs. With -h, -help or --help it prints usage
// on stdout and returns exitOK and false; on a usage error it prints the
// error (the flag package does) and usage on stderr and returns exitUsage
// and false.
func parseFlags(fs *flag.FlagSet, args []string, usage func(io.Writer), stdout, stderr io.Writer) (int, bool) {
	fs.SetOutput(stderr)
	fs.Usage = func() {} // printed below, on the stream the outcome calls for
	err := fs.Parse(args)
	switch {
	case err == nil:
		return exitOK, true
	case errors.Is(err, flag.ErrHelp):
		usage(stdout)
		return exitOK, false
	}
	usage(stderr)
	return exitUsage, false
}

// readError describes err when it is a failure to read the file at path,
// of the given kind ("policy file"): `policy file "x.json": no such file`.
// ok is false for any other error, such as an invalid policy.
func readError(kind, path string, err error) (msg, tag string, ok bool) {
	var pe *os.PathError
	if !errors.As(err, &pe) {
		return "", "", false
	}
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("%s %q: no such file", kind, path), "[no such file]", true
	}
	return fmt.Sprintf("%s %q: %v", kind, path, pe.Err), "[unreadable]", true
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ztkit version", flag.ContinueOnError)
	usage := func(w io.Writer) {
		fmt.Fprint(w, "usage: ztkit version\n\nPrints the module version ztkit was built from and the Go version.\n")
	}
	if code, ok := parseFlags(fs, args, usage, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ztkit version: unexpected argument %q\n", fs.Arg(0))
		usage(stderr)
		return exitUsage
	}
	info, ok := debug.ReadBuildInfo()
	fmt.Fprintln(stdout, versionLine(info, ok))
	return exitOK
}

// versionLine is what ztkit version prints, as go version does:
// "ztkit version v1.2.0 go1.26.0 linux/amd64". The module version is
// "(devel)" when ztkit was built from a checkout, "(unknown)" when the
// binary carries no build information.
func versionLine(info *debug.BuildInfo, ok bool) string {
	v, goVersion := "(unknown)", runtime.Version()
	if ok && info != nil {
		v = info.Main.Version
		if v == "" {
			v = "(devel)"
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
	}
	return fmt.Sprintf("ztkit version %s %s %s/%s", v, goVersion, runtime.GOOS, runtime.GOARCH)
}

// flagName is the command-line spelling of a kind: dashes for underscores.
func flagName(k redact.Kind) string { return strings.ReplaceAll(string(k), "_", "-") }

func runRedact(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("ztkit redact", flag.ContinueOnError)
	kinds := redact.BuiltinKinds()
	modes := make(map[redact.Kind]*string, len(kinds))
	for _, k := range kinds {
		help := "how to replace " + string(k) + " values: mask, token"
		if k == redact.KindCard || k == redact.KindIBAN {
			help = "how to replace " + string(k) + " values: mask, truncate, token"
		}
		modes[k] = fs.String(flagName(k), "", help+" (default mask)")
	}
	disable := fs.String("disable", "", "comma-separated kinds whose detectors are switched off")
	keyFile := fs.String("key-file", "", "read the HMAC key of token mode from this file (trailing newline dropped)")
	keyEnv := fs.String("key-env", "", "read the HMAC key of token mode from the environment variable with this `name`")
	tokenLen := fs.Int("token-length", 0, "hex digits of a token, 8 to 64 (default 10)")
	bufSize := fs.Int("buffer", 0, fmt.Sprintf("bound in bytes of the buffer for a line without a newline (default %d)", redact.DefaultBufferSize))
	usage := func(w io.Writer) {
		fmt.Fprint(w, "usage: ztkit redact [flags] < in > out\n\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, usage, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ztkit redact: unexpected argument %q: input is read from stdin\n", fs.Arg(0))
		return exitUsage
	}

	opts := []redact.Option{redact.WithTokenLength(*tokenLen)}
	for _, k := range kinds {
		if *modes[k] == "" {
			continue
		}
		m, err := redact.ParseMode(*modes[k])
		if err != nil {
			fmt.Fprintf(stderr, "ztkit redact: -%s: %v\n", flagName(k), err)
			return exitUsage
		}
		opts = append(opts, redact.WithMode(k, m))
	}
	if *disable != "" {
		var off []redact.Kind
		for _, name := range strings.Split(*disable, ",") {
			off = append(off, redact.Kind(strings.ReplaceAll(strings.TrimSpace(name), "-", "_")))
		}
		opts = append(opts, redact.WithoutDetectors(off...))
	}
	key, err := readKey(*keyFile, *keyEnv, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "ztkit redact: %v\n", err)
		return exitUsage
	}
	if key != nil {
		opts = append(opts, redact.WithKey(key))
	}
	r, err := redact.New(opts...)
	if err != nil {
		fmt.Fprintf(stderr, "ztkit redact: %v\n", err)
		return exitUsage
	}

	bw := bufio.NewWriterSize(stdout, 64<<10)
	w, err := redact.NewWriter(bw, r, redact.WithBufferSize(*bufSize))
	if err != nil {
		fmt.Fprintf(stderr, "ztkit redact: %v\n", err)
		return exitUsage
	}
	_, copyErr := io.Copy(w, stdin)
	if err := errors.Join(copyErr, w.Close(), bw.Flush()); err != nil {
		fmt.Fprintf(stderr, "ztkit redact: %v\n", err)
		return exitError
	}
	return exitOK
}

// readKey reads the token key from a file or a named environment variable.
// Neither given means no key; both is an error.
func readKey(file, env string, getenv func(string) string) (*redact.Key, error) {
	var raw []byte
	switch {
	case file != "" && env != "":
		return nil, errors.New("give -key-file or -key-env, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if msg, _, ok := readError("key file", file, err); ok {
			return nil, errors.New(msg)
		}
		if err != nil {
			return nil, fmt.Errorf("key file %q: %w", file, err)
		}
		raw = bytes.TrimRight(b, "\r\n")
	case env != "":
		v := getenv(env)
		if v == "" {
			return nil, fmt.Errorf("environment variable %s is empty or unset", env)
		}
		raw = []byte(v)
	default:
		return nil, nil
	}
	return redact.NewKey(raw)
}
