package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/authz/authztest"
	"github.com/ztkit/ztkit/internal/srcloc"
)

// maxStdin bounds a cases file read from standard input, as LoadCases bounds files.
const maxStdin = 4 << 20

func policyUsage(w io.Writer) {
	fmt.Fprint(w, `usage: ztkit policy <command> [flags] FILE...

commands:
  check    parse and compile authz policy files; errors give file:line
  test     run what-if cases files against a policy, like go test
  explain  print the full evaluation trace of each case

  ztkit policy check authz.json
  ztkit policy test -policy authz.json [-run regexp] [-v] [-now time] cases.json...
  ztkit policy explain -policy authz.json [-run regexp] [-now time] cases.json...

A cases file named "-" is read from standard input. ztkit policy test -h
lists the flags; the cases file format is documented in package
github.com/ztkit/ztkit/authz/authztest (ParseCases).
`)
}

func runPolicy(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		policyUsage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "check":
		return runPolicyCheck(args[1:], stdout, stderr)
	case "test":
		return runPolicyTest(args[1:], stdin, stdout, stderr, false)
	case "explain":
		return runPolicyTest(args[1:], stdin, stdout, stderr, true)
	case "help":
		if len(args) > 1 { // ztkit policy help test: ztkit policy test -h
			return runPolicy(append(args[1:len(args):len(args)], "-h"), stdin, stdout, stderr)
		}
		policyUsage(stdout)
		return exitOK
	case "-h", "-help", "--help":
		policyUsage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "ztkit policy: unknown command %q\n", args[0])
	policyUsage(stderr)
	return exitUsage
}

func runPolicyCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ztkit policy check", flag.ContinueOnError)
	usage := func(w io.Writer) {
		fmt.Fprint(w, "usage: ztkit policy check FILE...\n\n"+
			"Parses and compiles each policy file; exits 1 if any is invalid or cannot be\n"+
			"read. A policy without rules is invalid: it would deny every request.\n")
	}
	if code, ok := parseFlags(fs, args, usage, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "ztkit policy check: no policy files given")
		usage(stderr)
		return exitUsage
	}
	code := exitOK
	for _, path := range fs.Args() {
		p, err := authz.LoadFile(path) // parses and compiles: an invalid policy fails here
		if msg, tag, ok := readError("policy file", path, err); ok {
			fmt.Fprintf(stderr, "ztkit policy check: %s\n", msg)
			fmt.Fprintf(stdout, "FAIL\t%s\t%s\n", path, tag)
			code = exitError
			continue
		}
		if err != nil {
			printErrors(stderr, "ztkit policy check", err)
			fmt.Fprintf(stdout, "FAIL\t%s\t[invalid policy]\n", path)
			code = exitError
			continue
		}
		if !allowsAny(p) {
			fmt.Fprintf(stderr, "%s: warning: no rule is an enforced allow rule (all forbid or shadow): the policy denies every request\n", path)
		}
		fmt.Fprintf(stdout, "ok  \t%s\t%s\n", path, count(len(p.Rules), "rule"))
	}
	return code
}

// allowsAny reports whether p has an enforced allow rule: without one,
// every request is denied (or, in a shadow policy, reported as denied).
func allowsAny(p authz.Policy) bool {
	for _, r := range p.Rules {
		if r.Effect == authz.Allow && !r.Shadow {
			return true
		}
	}
	return false
}

// printErrors writes each of err's problems on its own line. Policy and
// cases errors start with their file:line, as compilers' do, so editors and
// CI annotate the right line; other errors get the command's prefix.
func printErrors(w io.Writer, prefix string, err error) {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok { // splitting errors.Join, not matching a cause
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var pe *authz.PolicyError
		var ce *authztest.CasesError
		switch {
		case errors.As(e, &pe) && pe.File != "":
			fmt.Fprintln(w, strings.TrimPrefix(e.Error(), "authz: "))
		case errors.As(e, &ce) && ce.File != "":
			fmt.Fprintln(w, strings.TrimPrefix(e.Error(), "authztest: "))
		default:
			fmt.Fprintf(w, "%s: %v\n", prefix, e)
		}
	}
}

func runPolicyTest(args []string, stdin io.Reader, stdout, stderr io.Writer, explain bool) int {
	name := "ztkit policy test"
	if explain {
		name = "ztkit policy explain"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	policyPath := fs.String("policy", "", "the policy `file` to test (required)")
	runExpr := fs.String("run", "", "run only the cases whose name matches this `regexp`")
	nowFlag := fs.String("now", "", "decide cases that set no \"now\" at this RFC 3339 `time` (default: the current time)")
	verbose := new(bool)
	if !explain {
		verbose = fs.Bool("v", false, "list passing cases too")
	}
	usage := func(w io.Writer) {
		if explain {
			fmt.Fprint(w, "usage: ztkit policy explain -policy FILE [flags] CASES...\n\n"+
				"Prints how the policy decides each case: the matching route patterns, every\nrule considered and why it did or did not match.\n\n")
		} else {
			fmt.Fprint(w, "usage: ztkit policy test -policy FILE [flags] CASES...\n\n"+
				"Runs what-if cases files against the policy. Exits 0 when every case passes,\n1 when a case fails or a file is invalid, 2 on usage errors.\n\n")
		}
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, usage, stdout, stderr); !ok {
		return code
	}
	if *policyPath == "" {
		fmt.Fprintf(stderr, "%s: -policy is required\n", name)
		usage(stderr)
		return exitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "%s: no cases files given\n", name)
		usage(stderr)
		return exitUsage
	}
	var filter *regexp.Regexp
	if *runExpr != "" {
		re, err := regexp.Compile(*runExpr)
		if err != nil {
			fmt.Fprintf(stderr, "%s: -run: %v\n", name, err)
			return exitUsage
		}
		filter = re
	}
	ref := time.Now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			fmt.Fprintf(stderr, "%s: -now: want an RFC 3339 time such as 2025-06-01T12:00:00Z\n", name)
			return exitUsage
		}
		ref = t
	}

	// Cases run one after the other, each at its own time.
	var now time.Time
	p, err := authz.LoadFile(*policyPath)
	if msg, _, ok := readError("policy file", *policyPath, err); ok {
		fmt.Fprintf(stderr, "%s: %s\n", name, msg)
		return exitError
	}
	if err != nil {
		printErrors(stderr, name, err)
		return exitError
	}
	eng, err := authz.New(p, authz.WithClock(func() time.Time { return now }))
	if err != nil {
		printErrors(stderr, name, err)
		return exitError
	}

	code, ran, stdinUsed := exitOK, 0, false
	for _, path := range fs.Args() {
		cases, err := loadCases(path, ref, stdin, &stdinUsed)
		if msg, tag, ok := readError("cases file", path, err); ok {
			fmt.Fprintf(stderr, "%s: %s\n", name, msg)
			fmt.Fprintf(stdout, "FAIL\t%s\t%s\n", display(path), tag)
			code = exitError
			continue
		}
		if err != nil {
			printErrors(stderr, name, err)
			fmt.Fprintf(stdout, "FAIL\t%s\t[invalid cases file]\n", display(path))
			code = exitError
			continue
		}
		failed, n := 0, 0
		for _, c := range cases {
			if filter != nil && !filter.MatchString(c.Name) {
				continue
			}
			n++
			now = c.Now
			tr := eng.Explain(context.Background(), c.Principal, c.Request)
			ok := c.Matches(tr.Decision)
			switch {
			case explain:
				printExplain(stdout, c, tr, ok)
			case !ok:
				failed++
				fmt.Fprintf(stdout, "--- FAIL: %s (%s:%d)\n", c.Name, c.File, c.Line)
				fmt.Fprintf(stdout, "    %s %s: got %s, want %s\n", tr.Method, tr.Path, describeDecision(tr.Decision), describeWant(c.Case))
				printTrace(stdout, "    ", tr)
			case *verbose:
				fmt.Fprintf(stdout, "--- PASS: %s (%s:%d)\n", c.Name, c.File, c.Line)
			}
		}
		ran += n
		switch {
		case explain:
		case failed > 0:
			fmt.Fprintf(stdout, "FAIL\t%s\t%d of %s failed\n", display(path), failed, count(n, "case"))
			code = exitError
		case n == 0:
			fmt.Fprintf(stdout, "ok  \t%s\t0 cases [none match -run]\n", display(path))
		default:
			fmt.Fprintf(stdout, "ok  \t%s\t%s\n", display(path), count(n, "case"))
		}
	}
	if filter != nil && ran == 0 && code == exitOK {
		fmt.Fprintf(stderr, "%s: no cases match -run %q\n", name, *runExpr)
		return exitError
	}
	return code
}

// loadCases reads a cases file, or standard input for "-" (once).
func loadCases(path string, ref time.Time, stdin io.Reader, stdinUsed *bool) ([]authztest.FileCase, error) {
	if path != "-" {
		return authztest.LoadCases(path, ref)
	}
	if *stdinUsed {
		return nil, errors.New(`standard input ("-") given twice`)
	}
	*stdinUsed = true
	data, tooLarge, err := srcloc.ReadLimited(stdin, maxStdin)
	if err != nil {
		return nil, fmt.Errorf("reading standard input: %w", err)
	}
	if tooLarge {
		return nil, fmt.Errorf("standard input larger than %d bytes", maxStdin)
	}
	return authztest.ParseCases(display(path), data, ref)
}

// display names a cases file in messages: "-" is standard input.
func display(path string) string {
	if path == "-" {
		return "<stdin>"
	}
	return path
}

// count writes "1 case" or "3 cases".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// verdict names a decision's outcome.
func verdict(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}

// describeDecision writes d as `deny (insufficient_scope, rule "pay", missing scopes [a])`.
func describeDecision(d authz.Decision) string {
	parts := []string{string(d.Reason)}
	if d.RuleID != "" {
		parts = append(parts, fmt.Sprintf("rule %q", d.RuleID))
	}
	if len(d.MissingScopes) > 0 {
		parts = append(parts, fmt.Sprintf("missing scopes %v", d.MissingScopes))
	}
	s := verdict(d.Allow) + " (" + strings.Join(parts, ", ") + ")"
	if d.ShadowAllow || d.ShadowDeny {
		s += fmt.Sprintf(" [shadow: would %s (%s, rule %q)]", verdict(d.ShadowAllow), d.ShadowReason, d.ShadowRuleID)
	}
	return s
}

// describeWant writes c's expectation as `allow, rule "pay"`.
func describeWant(c authztest.Case) string {
	s := verdict(c.Allow)
	if c.Reason != "" {
		s += ", reason " + string(c.Reason)
	}
	if c.RuleID != "" {
		s += fmt.Sprintf(", rule %q", c.RuleID)
	}
	return s
}

// printTrace writes the matching patterns and every rule considered.
func printTrace(w io.Writer, indent string, tr authz.Trace) {
	if len(tr.Patterns) == 0 {
		fmt.Fprintf(w, "%sno route pattern matches %s %s\n", indent, tr.Method, tr.Path)
		return
	}
	quoted := make([]string, len(tr.Patterns))
	for i, p := range tr.Patterns {
		quoted[i] = fmt.Sprintf("%q", p)
	}
	fmt.Fprintf(w, "%spatterns: %s\n", indent, strings.Join(quoted, ", "))
	for _, s := range tr.Steps {
		shadow := ""
		if s.Shadow {
			shadow = " (shadow)"
		}
		outcome := "matched"
		if !s.Matched {
			outcome = "no match: " + string(s.Reason)
		}
		fmt.Fprintf(w, "%s  %-6s %q%s on %q: %s\n", indent, s.Effect, s.RuleID, shadow, s.Pattern, outcome)
	}
}

func printExplain(w io.Writer, c authztest.FileCase, tr authz.Trace, ok bool) {
	fmt.Fprintf(w, "=== %s (%s:%d)\n", c.Name, c.File, c.Line)
	fmt.Fprintf(w, "    request:  %s %s at %s\n", tr.Method, tr.Path, c.Now.Format(time.RFC3339))
	printTrace(w, "    ", tr)
	fmt.Fprintf(w, "    decision: %s\n", describeDecision(tr.Decision))
	result := "as expected"
	if !ok {
		result = "NOT as expected"
	}
	fmt.Fprintf(w, "    expected: %s (%s)\n", describeWant(c.Case), result)
}
