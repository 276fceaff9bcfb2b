package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/authz/authztest"
)

const (
	policyFile   = "testdata/policy.json"
	casesFile    = "testdata/cases.json"
	failingFile  = "testdata/failing_cases.json"
	badPolicy    = "testdata/invalid_policy.json"
	badCasesFile = "testdata/invalid_cases.json"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestPolicyCheck(t *testing.T) {
	code, out, errOut := runCmd(t, "", nil, "policy", "check", policyFile)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "ok  \ttestdata/policy.json\t8 rules\n", out)
	assert.Empty(t, errOut)

	code, out, errOut = runCmd(t, "", nil, "policy", "check", policyFile, badPolicy)
	assert.Equal(t, exitError, code)
	assert.Equal(t, "ok  \ttestdata/policy.json\t8 rules\nFAIL\ttestdata/invalid_policy.json\t[invalid policy]\n", out)
	assert.Equal(t, `testdata/invalid_policy.json:9: rule "pay" (#1): match.min_acr: acr value not in acr_levels: "phr"`+"\n", errOut)

	// Every problem of a policy is listed, each with its line.
	twoBad := writeFile(t, "two.json", `{
  "rules": [
    {"id": "a", "effect": "allow", "routes": ["GET /a"], "match": {}},
    {"id": "b", "effect": "allow", "routes": ["GET /b/{x"], "match": {"any_principal": true}}
  ]
}`)
	code, _, errOut = runCmd(t, "", nil, "policy", "check", twoBad)
	assert.Equal(t, exitError, code)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	require.Len(t, lines, 2, errOut)
	assert.True(t, strings.HasPrefix(lines[0], twoBad+":3: rule \"a\" (#0): "), lines[0])
	assert.Contains(t, lines[0], "without any_principal")
	assert.True(t, strings.HasPrefix(lines[1], twoBad+":4: rule \"b\" (#1): routes[0]: "), lines[1])

	syntax := writeFile(t, "syntax.json", "{\n  \"rules\": [\n    {\"id\": \"a\", \"effect\": \"permit\"}\n  ]\n}")
	code, _, errOut = runCmd(t, "", nil, "policy", "check", syntax)
	assert.Equal(t, exitError, code)
	assert.True(t, strings.HasPrefix(errOut, syntax+":3: "), errOut)

	// A file that cannot be read is reported as such, not as an invalid policy.
	code, out, errOut = runCmd(t, "", nil, "policy", "check", "testdata/none.json", policyFile)
	assert.Equal(t, exitError, code)
	assert.Equal(t, "FAIL\ttestdata/none.json\t[no such file]\nok  \ttestdata/policy.json\t8 rules\n", out)
	assert.Equal(t, "ztkit policy check: policy file \"testdata/none.json\": no such file\n", errOut)

	code, out, errOut = runCmd(t, "", nil, "policy", "check", "testdata")
	assert.Equal(t, exitError, code)
	assert.Equal(t, "FAIL\ttestdata\t[unreadable]\n", out)
	assert.Equal(t, "ztkit policy check: policy file \"testdata\": is a directory\n", errOut)
}

// TestPolicyCheckDeniesEverything: a policy without rules would deny every
// request: it is invalid. One whose rules allow nothing (only forbid or
// shadow rules) is valid but warned about.
func TestPolicyCheckDeniesEverything(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		code      int
		out       string
		errOut    string
	}{
		{
			name: "no rules", doc: `{"rules": []}`, code: exitError,
			out:    "FAIL\t%s\t[invalid policy]\n",
			errOut: "%s: rules: policy has no rules: it would deny every request\n",
		},
		{
			name: "no rules key", doc: `{"acr_levels": ["pwd", "mfa"]}`, code: exitError,
			out:    "FAIL\t%s\t[invalid policy]\n",
			errOut: "%s: rules: policy has no rules: it would deny every request\n",
		},
		{
			name: "only forbid and shadow rules", code: exitOK,
			doc: `{"rules": [{"id": "no-debug", "effect": "forbid", "routes": ["/debug/"], "match": {}},
				{"id": "trial", "effect": "allow", "shadow": true, "routes": ["GET /x"], "match": {"any_principal": true}}]}`,
			out:    "ok  \t%s\t2 rules\n",
			errOut: "%s: warning: no rule is an enforced allow rule (all forbid or shadow): the policy denies every request\n",
		},
		{
			name: "an allow rule", code: exitOK,
			doc: `{"rules": [{"id": "health", "effect": "allow", "routes": ["GET /healthz"], "match": {"any_principal": true}}]}`,
			out: "ok  \t%s\t1 rule\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "policy.json", tc.doc)
			code, out, errOut := runCmd(t, "", nil, "policy", "check", path)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, fmt.Sprintf(tc.out, path), out)
			if tc.errOut == "" {
				assert.Empty(t, errOut)
			} else {
				assert.Equal(t, fmt.Sprintf(tc.errOut, path), errOut)
			}
		})
	}
}

func TestPolicyTestPasses(t *testing.T) {
	code, out, errOut := runCmd(t, "", nil, "policy", "test", "-policy", policyFile, casesFile)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Equal(t, "ok  \ttestdata/cases.json\t11 cases\n", out)
	assert.Empty(t, errOut)

	code, out, errOut = runCmd(t, "", nil, "policy", "test", "-policy", policyFile, "-v", casesFile)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "--- PASS: checkout pays with a DPoP-bound MFA token (testdata/cases.json:4)\n")
	assert.Contains(t, out, "--- PASS: unlisted routes are denied (testdata/cases.json:108)\n")
	assert.Contains(t, out, "--- PASS: the storefront cannot refund by having checkout as a prior actor (testdata/cases.json:92)\n")
	assert.Equal(t, 11, strings.Count(out, "--- PASS: "))
	assert.True(t, strings.HasSuffix(out, "ok  \ttestdata/cases.json\t11 cases\n"), out)
}

func TestPolicyTestFailures(t *testing.T) {
	code, out, errOut := runCmd(t, "", nil, "policy", "test", "-policy", policyFile, failingFile)
	assert.Equal(t, exitError, code)
	assert.Empty(t, errOut)
	assert.NotContains(t, out, "health stays open", "passing cases are listed only with -v")
	assert.Equal(t, `--- FAIL: storefront pays directly (testdata/failing_cases.json:9)
    POST /payments: got deny (peer_mismatch, rule "checkout-pays"), want allow, rule "checkout-pays"
    patterns: "POST /payments"
      allow  "checkout-pays" on "POST /payments": no match: peer_mismatch
--- FAIL: admins read debug vars (testdata/failing_cases.json:22)
    GET /admin/debug/vars: got deny (forbidden, rule "no-debug"), want allow, rule "admin"
    patterns: "/admin/debug/", "/admin/{path...}"
      forbid "no-debug" on "/admin/debug/": matched
--- FAIL: orders need a scope (testdata/failing_cases.json:28)
    GET /orders/ord-7: got deny (insufficient_scope, rule "orders-read", missing scopes [orders:read orders:admin]), want deny, reason missing_role
    patterns: "GET /orders/{id}"
      allow  "orders-read" on "GET /orders/{id}": no match: insufficient_scope
      forbid "trial-block-eu" (shadow) on "GET /orders/{id}": matched
FAIL	testdata/failing_cases.json	3 of 4 cases failed
`, out)

	// A failing file fails the run, whatever the others do.
	code, out, _ = runCmd(t, "", nil, "policy", "test", "-policy", policyFile, casesFile, failingFile)
	assert.Equal(t, exitError, code)
	assert.Contains(t, out, "ok  \ttestdata/cases.json\t11 cases\n")
	assert.Contains(t, out, "FAIL\ttestdata/failing_cases.json\t3 of 4 cases failed\n")

	// A route no pattern matches says so.
	noRoute := writeFile(t, "noroute.json", `{"cases": [{"name": "wrong", "request": {"method": "GET", "path": "/nowhere"}, "expect": {"allow": true}}]}`)
	code, out, _ = runCmd(t, "", nil, "policy", "test", "-policy", policyFile, noRoute)
	assert.Equal(t, exitError, code)
	assert.Contains(t, out, "    GET /nowhere: got deny (no_rule), want allow\n    no route pattern matches GET /nowhere\n")
}

func TestPolicyTestRun(t *testing.T) {
	code, out, errOut := runCmd(t, "", nil, "policy", "test", "-policy", policyFile, "-run", "debug", failingFile)
	assert.Equal(t, exitError, code)
	assert.Empty(t, errOut)
	assert.Contains(t, out, "--- FAIL: admins read debug vars")
	assert.NotContains(t, out, "storefront pays directly")
	assert.Contains(t, out, "FAIL\ttestdata/failing_cases.json\t1 of 1 case failed\n")

	code, out, errOut = runCmd(t, "", nil, "policy", "test", "-policy", policyFile, "-run", "^health", "-v", failingFile)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Equal(t, "--- PASS: health stays open (testdata/failing_cases.json:4)\nok  \ttestdata/failing_cases.json\t1 case\n", out)

	code, out, _ = runCmd(t, "", nil, "policy", "test", "-policy", policyFile, "-run", "health", casesFile, failingFile)
	require.Equal(t, exitOK, code, out)
	assert.Equal(t, "ok  \ttestdata/cases.json\t1 case\nok  \ttestdata/failing_cases.json\t1 case\n", out)

	code, out, _ = runCmd(t, "", nil, "policy", "test", "-policy", policyFile, "-run", "gRPC", casesFile, failingFile)
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "ok  \ttestdata/failing_cases.json\t0 cases [none match -run]\n")

	// Selecting nothing at all fails: a CI job with a mistyped -run tests nothing.
	code, out, errOut = runCmd(t, "", nil, "policy", "test", "-policy", policyFile, "-run", "no such case", casesFile)
	assert.Equal(t, exitError, code)
	assert.Equal(t, "ok  \ttestdata/cases.json\t0 cases [none match -run]\n", out)
	assert.Equal(t, "ztkit policy test: no cases match -run \"no such case\"\n", errOut)
}

func TestPolicyTestInvalidInputs(t *testing.T) {
	code, out, errOut := runCmd(t, "", nil, "policy", "test", "-policy", policyFile, badCasesFile, casesFile)
	assert.Equal(t, exitError, code)
	assert.Equal(t, `testdata/invalid_cases.json:12: case "typo in a scope key" (#1): principal.scope: unknown key`+"\n", errOut)
	assert.Equal(t, "FAIL\ttestdata/invalid_cases.json\t[invalid cases file]\nok  \ttestdata/cases.json\t11 cases\n", out,
		"an invalid file does not stop the others")

	code, out, errOut = runCmd(t, "", nil, "policy", "test", "-policy", badPolicy, casesFile)
	assert.Equal(t, exitError, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "testdata/invalid_policy.json:9: rule \"pay\"")

	code, out, errOut = runCmd(t, "", nil, "policy", "test", "-policy", policyFile, "testdata/none.json", casesFile)
	assert.Equal(t, exitError, code)
	assert.Equal(t, "FAIL\ttestdata/none.json\t[no such file]\nok  \ttestdata/cases.json\t11 cases\n", out)
	assert.Equal(t, "ztkit policy test: cases file \"testdata/none.json\": no such file\n", errOut)

	for _, sub := range []string{"test", "explain"} {
		code, out, errOut = runCmd(t, "", nil, "policy", sub, "-policy", "testdata/none.json", casesFile)
		assert.Equal(t, exitError, code)
		assert.Empty(t, out)
		assert.Equal(t, "ztkit policy "+sub+": policy file \"testdata/none.json\": no such file\n", errOut)
	}
}

// TestPolicyTestNow checks that -now sets the decision time of cases that set
// none, and that a case's own "now" wins: max_auth_age is 15 minutes, and the
// login was at 11:50.
func TestPolicyTestNow(t *testing.T) {
	cases := writeFile(t, "now.json", `{"cases": [
  {"name": "recent login pays",
   "principal": {"kind": "user", "peer": "spiffe://shop.example/checkout", "scopes": ["payments:write"],
                 "acr": "mfa", "auth_time": "2025-06-01T11:50:00Z", "binding": "dpop"},
   "request": {"method": "POST", "path": "/payments"},
   "expect": {"allow": true}},
  {"name": "relative login at its own time", "now": "2030-01-01T00:00:00Z",
   "principal": {"kind": "user", "peer": "spiffe://shop.example/checkout", "scopes": ["payments:write"],
                 "acr": "mfa", "auth_time": "-10m", "binding": "dpop"},
   "request": {"method": "POST", "path": "/payments"},
   "expect": {"allow": true}}
]}`)
	code, out, errOut := runCmd(t, "", nil, "policy", "test", "-policy", policyFile, "-now", "2025-06-01T12:00:00Z", cases)
	require.Equal(t, exitOK, code, out+errOut)

	code, out, _ = runCmd(t, "", nil, "policy", "test", "-policy", policyFile, "-now", "2025-06-01T13:00:00+01:00", cases)
	require.Equal(t, exitOK, code, "13:00+01:00 is 12:00Z: %s", out)

	code, out, _ = runCmd(t, "", nil, "policy", "test", "-policy", policyFile, "-now", "2025-06-01T12:30:00Z", cases)
	assert.Equal(t, exitError, code)
	assert.Contains(t, out, "--- FAIL: recent login pays")
	assert.Contains(t, out, "got deny (auth_too_old, rule \"checkout-pays\")")
	assert.NotContains(t, out, "relative login at its own time")
	assert.Contains(t, out, "1 of 2 cases failed")
}

func TestPolicyTestStdin(t *testing.T) {
	doc := `{"cases": [{"name": "health", "request": {"method": "GET", "path": "/healthz"}, "expect": {"allow": true, "rule": "health"}}]}`
	code, out, errOut := runCmd(t, doc, nil, "policy", "test", "-policy", policyFile, "-v", "-")
	require.Equal(t, exitOK, code, out+errOut)
	assert.Equal(t, "--- PASS: health (<stdin>:1)\nok  \t<stdin>\t1 case\n", out)

	code, out, errOut = runCmd(t, "{\"cases\": [\n{\"name\": 1}]}", nil, "policy", "test", "-policy", policyFile, "-")
	assert.Equal(t, exitError, code)
	assert.Equal(t, "FAIL\t<stdin>\t[invalid cases file]\n", out)
	assert.True(t, strings.HasPrefix(errOut, "<stdin>:2: case \"\" (#0): name: "), errOut)

	code, _, errOut = runCmd(t, doc, nil, "policy", "test", "-policy", policyFile, "-", "-")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, `standard input ("-") given twice`)

	code, _, errOut = runCmd(t, doc+strings.Repeat(" ", 4<<20), nil, "policy", "test", "-policy", policyFile, "-")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "standard input larger than")
}

func TestPolicyExplain(t *testing.T) {
	code, out, errOut := runCmd(t, "", nil, "policy", "explain", "-policy", policyFile, "-run", "debug", failingFile, casesFile)
	require.Equal(t, exitOK, code, "explain reports, it does not judge: %s", errOut)
	assert.Equal(t, `=== admins read debug vars (testdata/failing_cases.json:22)
    request:  GET /admin/debug/vars at 2025-06-01T12:00:00Z
    patterns: "/admin/debug/", "/admin/{path...}"
      forbid "no-debug" on "/admin/debug/": matched
    decision: deny (forbidden, rule "no-debug")
    expected: allow, rule "admin" (NOT as expected)
=== debug stays forbidden to admins (testdata/cases.json:64)
    request:  GET /admin/debug/vars at 2025-06-01T12:00:00Z
    patterns: "/admin/debug/", "/admin/{path...}"
      forbid "no-debug" on "/admin/debug/": matched
    decision: deny (forbidden, rule "no-debug")
    expected: deny, reason forbidden, rule "no-debug" (as expected)
`, out)

	// Shadow rules are reported beside the enforced decision.
	code, out, errOut = runCmd(t, "", nil, "policy", "explain", "-policy", policyFile, "-run", "reads orders", casesFile)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, `      forbid "trial-block-eu" (shadow) on "GET /orders/{id}": matched
    decision: allow (allowed, rule "orders-read") [shadow: would deny (forbidden, rule "trial-block-eu")]
`)

	code, _, _ = runCmd(t, "", nil, "policy", "explain", "-policy", policyFile, badCasesFile)
	assert.Equal(t, exitError, code)
}

// TestCasesFileWithGoHelper runs the example cases file through the Go helper
// too: the command and authztest.RunCases read the same files the same way.
func TestCasesFileWithGoHelper(t *testing.T) {
	p, err := authz.LoadFile(policyFile)
	require.NoError(t, err)
	cases, err := authztest.LoadCases(casesFile, time.Now())
	require.NoError(t, err)
	require.Len(t, cases, 11)
	authztest.RunCases(t, p, cases)
}

func TestPolicyUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"policy"}, "usage: ztkit policy"},
		{"unknown subcommand", []string{"policy", "lint"}, `unknown command "lint"`},
		{"check without files", []string{"policy", "check"}, "no policy files given"},
		{"check bad flag", []string{"policy", "check", "-x", policyFile}, "flag provided but not defined"},
		{"test without policy", []string{"policy", "test", casesFile}, "-policy is required"},
		{"test without cases", []string{"policy", "test", "-policy", policyFile}, "no cases files given"},
		{"bad run", []string{"policy", "test", "-policy", policyFile, "-run", "(", casesFile}, "-run: error parsing regexp"},
		{"bad now", []string{"policy", "test", "-policy", policyFile, "-now", "noon", casesFile}, "-now: want an RFC 3339 time"},
		{"explain has no -v", []string{"policy", "explain", "-policy", policyFile, "-v", casesFile}, "flag provided but not defined: -v"},
		{"explain without policy", []string{"policy", "explain", casesFile}, "ztkit policy explain: -policy is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, "", nil, tc.args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, tc.want)
		})
	}

	for _, args := range [][]string{{"policy", "help"}, {"help"}} {
		code, out, _ := runCmd(t, "", nil, args...)
		assert.Equal(t, exitOK, code)
		assert.Contains(t, out, "policy")
	}
	for _, sub := range []string{"check", "test", "explain"} {
		code, out, errOut := runCmd(t, "", nil, "policy", sub, "-h")
		assert.Equal(t, exitOK, code)
		assert.Contains(t, out, "usage: ztkit policy "+sub)
		assert.Empty(t, errOut)
	}
}

// TestPolicyExplainActor: the trace names actor_mismatch for a token whose
// current actor is not the one the rule requires ("actors", RFC 8693 act).
func TestPolicyExplainActor(t *testing.T) {
	code, out, errOut := runCmd(t, "", nil, "policy", "explain", "-policy", policyFile, "-run", "storefront cannot refund", casesFile)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, `allow  "refund-for-customer" on "/shop.Payments/Refund": no match: actor_mismatch`)
	assert.Contains(t, out, `decision: deny (actor_mismatch, rule "refund-for-customer")`)
}
