// Package authztest runs "what-if" tables against an authz policy from a
// service's own tests: principal + request → expected decision and rule.
//
// Write the table in Go and call [Run], or keep it in a JSON cases file
// beside the policy, load it with [LoadCases] or [ParseCases] and call
// [RunCases]. The same file runs in CI without Go code through
// "ztkit policy test -policy policy.json cases.json".
package authztest

import (
	"context"
	"testing"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
)

// Decider is what Run tests; *authz.Engine implements it.
type Decider interface {
	Explain(ctx context.Context, p *authn.Principal, req authz.Request) authz.Trace
}

// Case is one what-if: who calls what, and what the policy must decide.
type Case struct {
	// Name names the subtest.
	Name string
	// Principal is the caller; nil for an unauthenticated one.
	Principal *authn.Principal
	// Request is the call.
	Request authz.Request
	// Allow is the expected enforced decision.
	Allow bool
	// Reason, when non-empty, is the expected reason.
	Reason authz.Reason
	// RuleID, when non-empty, is the expected deciding rule.
	RuleID string
}

// Matches reports whether d is the decision c expects: the same Allow, and
// the same Reason and RuleID where c sets them.
func (c Case) Matches(d authz.Decision) bool {
	return d.Allow == c.Allow &&
		(c.Reason == "" || d.Reason == c.Reason) &&
		(c.RuleID == "" || d.RuleID == c.RuleID)
}

// Run checks every case as a subtest of t and, on a mismatch, prints the
// trace of every rule considered.
func Run(t *testing.T, d Decider, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Helper()
			tr := d.Explain(t.Context(), c.Principal, c.Request)
			got := tr.Decision
			if !c.Matches(got) {
				t.Errorf("%s %s: got allow=%v reason=%s rule=%q, want allow=%v reason=%s rule=%q\npatterns: %v",
					tr.Method, tr.Path, got.Allow, got.Reason, got.RuleID, c.Allow, c.Reason, c.RuleID, tr.Patterns)
				for _, s := range tr.Steps {
					t.Logf("  %-6s %-24q shadow=%-5v pattern=%q matched=%v reason=%s", s.Effect, s.RuleID, s.Shadow, s.Pattern, s.Matched, s.Reason)
				}
			}
		})
	}
}
