package risk_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ztkit/ztkit/risk"
)

// action wraps one action's JSON in a policy, the action starting on line 3.
func action(a string) string {
	return "{\"acr_levels\": [\"pwd\", \"mfa\"],\n \"actions\": [\n" + a + "\n]}"
}

func TestParseErrors(t *testing.T) {
	ok := `{"action": "checkout", "rules": [{"id": "r", "reason": "new_device", "when": {"new_device": true}, "outcome": "deny"}]}`
	_, err := risk.Parse("p.json", []byte(action(ok)))
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		doc  string
		want error
		line int
		msg  string
	}{
		{"not an object", `[]`, risk.ErrSyntax, 1, "want a JSON object"},
		{"unknown top-level key", `{"actions": [], "rules": []}`, risk.ErrSyntax, 1, `unknown key "rules"`},
		{"duplicate key", "{\"acr_levels\": [],\n\"acr_levels\": []}", risk.ErrSyntax, 2, `duplicate key "acr_levels"`},
		{"upper-case key", action(`{"ACTION": "x"}`), risk.ErrSyntax, 3, `key "ACTION"`},
		{"unknown action key", action("{\"action\": \"checkout\",\n \"rulez\": []}"), risk.ErrSyntax, 4, `unknown field "rulez"`},
		{"unknown condition", action("{\"action\": \"checkout\", \"rules\": [\n {\"id\": \"r\", \"reason\": \"x\", \"when\": {\"new_devise\": true}, \"outcome\": \"deny\"}]}"), risk.ErrSyntax, 4, `unknown field "new_devise"`},
		{"trailing data", `{"actions": []} {}`, risk.ErrSyntax, 1, "data after the policy object"},
		{"no actions", `{"actions": []}`, risk.ErrNoActions, 0, "no actions"},
		{"bad action name", action(`{"action": "Checkout", "rules": []}`), risk.ErrInvalidAction, 3, `action "Checkout"`},
		{"duplicate action", action(ok + ",\n" + ok), risk.ErrInvalidAction, 4, "declared twice"},
		{"bad outcome", action("{\"action\": \"a\", \"rules\": [\n{\"id\": \"r\", \"reason\": \"x\", \"when\": {\"flag\": \"f\"}, \"outcome\": \"maybe\"}]}"), risk.ErrInvalidRule, 4, `outcome "maybe"`},
		{"bad reason", action("{\"action\": \"a\", \"rules\": [\n{\"id\": \"r\",\n \"reason\": \"Not-A-Reason\", \"when\": {\"flag\": \"f\"}, \"outcome\": \"deny\"}]}"), risk.ErrInvalidRule, 5, "rules[0].reason"},
		{"no condition", action("{\"action\": \"a\", \"rules\": [\n{\"id\": \"r\", \"reason\": \"x\",\n \"when\": {}, \"outcome\": \"deny\"}]}"), risk.ErrInvalidCondition, 5, "at least one condition"},
		{"outcome and weight", action("{\"action\": \"a\", \"deny_at\": 5, \"rules\": [\n{\"id\": \"r\", \"reason\": \"x\", \"when\": {\"flag\": \"f\"}, \"outcome\": \"deny\",\n \"weight\": 5}]}"), risk.ErrInvalidRule, 5, "not both"},
		{"neither outcome nor weight", action(`{"action": "a", "rules": [{"id": "r", "reason": "x", "when": {"flag": "f"}}]}`), risk.ErrInvalidRule, 3, "needs an outcome"},
		{"weight without threshold", action("{\"action\": \"a\", \"rules\": [{\"id\": \"r\", \"reason\": \"x\", \"when\": {\"flag\": \"f\"}, \"weight\": 5}]}"), risk.ErrInvalidRule, 3, "need step_up_at or deny_at"},
		{"weight too big", action(`{"action": "a", "deny_at": 5, "rules": [{"id": "r", "reason": "x", "when": {"flag": "f"}, "weight": 1001}]}`), risk.ErrInvalidRule, 3, "weight must be"},
		{"deny_at not above step_up_at", action("{\"action\": \"a\", \"step_up\": {\"acr\": \"mfa\"}, \"step_up_at\": 10,\n \"deny_at\": 10, \"rules\": [{\"id\": \"r\", \"reason\": \"x\", \"when\": {\"flag\": \"f\"}, \"weight\": 5}]}"), risk.ErrInvalidRule, 4, "deny_at above step_up_at"},
		{"step_up without requirement", action(`{"action": "a", "rules": [{"id": "r", "reason": "x", "when": {"flag": "f"}, "outcome": "step_up"}]}`), risk.ErrInvalidRule, 3, "neither acr nor max_age"},
		{"unknown acr", action("{\"action\": \"a\",\n \"step_up\": {\"acr\": \"gold\"}, \"rules\": [{\"id\": \"r\", \"reason\": \"x\", \"when\": {\"flag\": \"f\"}, \"outcome\": \"step_up\"}]}"), risk.ErrUnknownACR, 4, `step_up.acr: acr value not in acr_levels: "gold"`},
		{"duplicate rule id", action("{\"action\": \"a\", \"rules\": [{\"id\": \"r\", \"reason\": \"x\", \"when\": {\"flag\": \"f\"}, \"outcome\": \"deny\"},\n {\"id\": \"r\", \"reason\": \"x\", \"when\": {\"flag\": \"g\"}, \"outcome\": \"deny\"}]}"), risk.ErrInvalidRule, 4, "duplicate rule id"},
		{"velocity without fallback", action("{\"action\": \"a\", \"rules\": [{\"id\": \"r\", \"reason\": \"x\", \"outcome\": \"deny\",\n \"when\": {\"velocity\": {\"event\": \"a\", \"key\": \"card\", \"window\": \"1m\", \"over\": 1}}}]}"), risk.ErrInvalidRule, 3, "needs on_counter_error"},
		{"velocity window too long", action("{\"action\": \"a\", \"on_counter_error\": \"deny\", \"rules\": [{\"id\": \"r\", \"reason\": \"x\", \"outcome\": \"deny\",\n \"when\": {\"velocity\": {\"event\": \"a\", \"key\": \"card\",\n \"window\": \"169h\", \"over\": 1}}}]}"), risk.ErrInvalidCondition, 5, "velocity.window"},
		{"velocity bad key", action("{\"action\": \"a\", \"on_counter_error\": \"deny\", \"rules\": [{\"id\": \"r\", \"reason\": \"x\", \"outcome\": \"deny\",\n \"when\": {\"velocity\": {\"event\": \"a\", \"key\": \"email\", \"window\": \"1m\", \"over\": 1}}}]}"), risk.ErrInvalidCondition, 4, `key "email"`},
		{"currency upper case", action("{\"action\": \"a\", \"rules\": [{\"id\": \"r\", \"reason\": \"x\", \"outcome\": \"deny\",\n \"when\": {\"amount_over\": {\"EUR\": 1}}}]}"), risk.ErrSyntax, 4, `key "EUR"`},
		{"currency not a code", action("{\"action\": \"a\", \"rules\": [{\"id\": \"r\", \"reason\": \"x\", \"outcome\": \"deny\",\n \"when\": {\"amount_over\": {\"euro\": 1}}}]}"), risk.ErrInvalidCondition, 4, `currency "euro"`},
		{"negative duration", action("{\"action\": \"a\", \"rules\": [{\"id\": \"r\", \"reason\": \"x\", \"outcome\": \"deny\",\n \"when\": {\"auth_older_than\": \"-1m\"}}]}"), risk.ErrInvalidCondition, 4, `duration "-1m"`},
		{"bad flag name", action("{\"action\": \"a\", \"rules\": [{\"id\": \"r\", \"reason\": \"x\", \"outcome\": \"deny\",\n \"when\": {\"flag\": \"Tor Exit\"}}]}"), risk.ErrInvalidCondition, 4, `flag "Tor Exit"`},
		{"false check", action("{\"action\": \"a\", \"rules\": [{\"id\": \"r\", \"reason\": \"x\", \"outcome\": \"deny\",\n \"when\": {\"flag\": \"f\", \"new_device\": false}}]}"), risk.ErrInvalidCondition, 4, "want true"},
		{"thresholds without weights", action(`{"action": "a", "deny_at": 3, "rules": [{"id": "r", "reason": "x", "when": {"flag": "f"}, "outcome": "deny"}]}`), risk.ErrInvalidRule, 3, "without a weighted rule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := risk.Parse("p.json", []byte(tc.doc))
			require.Error(t, err)
			assert.ErrorIs(t, err, risk.ErrInvalidPolicy)
			assert.ErrorIs(t, err, tc.want)
			var pe *risk.PolicyError
			require.True(t, errors.As(err, &pe), "a *PolicyError: %v", err)
			assert.Equal(t, tc.line, pe.Line, "line of %v", err)
			assert.Contains(t, err.Error(), tc.msg)
			if tc.line > 0 {
				assert.True(t, strings.HasPrefix(err.Error(), "risk: p.json:"), err.Error())
			}
		})
	}
}

func TestParseJoinsEveryProblem(t *testing.T) {
	doc := action("{\"action\": \"a\", \"rules\": [\n{\"id\": \"\", \"reason\": \"x\", \"when\": {\"flag\": \"f\"}, \"outcome\": \"deny\"},\n{\"id\": \"b\", \"reason\": \"BAD\", \"when\": {\"flag\": \"f\"}, \"outcome\": \"deny\"}]}")
	_, err := risk.Parse("p.json", []byte(doc))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "p.json:4:")
	assert.Contains(t, err.Error(), "p.json:5:")
}

func TestLoadFile(t *testing.T) {
	_, err := risk.LoadFile(filepath.Join(t.TempDir(), "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.True(t, strings.HasPrefix(err.Error(), "risk: "))

	big := filepath.Join(t.TempDir(), "big.json")
	require.NoError(t, os.WriteFile(big, []byte(`{"actions": [`+strings.Repeat(" ", 4<<20)+`]}`), 0o600))
	_, err = risk.LoadFile(big)
	assert.ErrorIs(t, err, risk.ErrPolicyTooLarge)
	assert.ErrorIs(t, err, risk.ErrInvalidPolicy)
}

func TestPolicyRoundTrip(t *testing.T) {
	p, err := risk.LoadFile("testdata/policy.json")
	require.NoError(t, err)
	_, err = risk.New(p)
	require.NoError(t, err)
	assert.Len(t, p.Actions, 6)
	assert.Equal(t, risk.KeyCard, p.Actions[0].Rules[4].When.Velocity.Key)
}

func TestValidReason(t *testing.T) {
	for _, r := range []risk.Reason{risk.ReasonNewDevice, risk.ReasonCounterUnavailable, "tor_exit", "a", risk.Reason(strings.Repeat("a", 48))} {
		assert.True(t, risk.ValidReason(r), r)
	}
	for _, r := range []risk.Reason{"", "1a", "_a", "New", "a-b", "a.b", risk.Reason(strings.Repeat("a", 49))} {
		assert.False(t, risk.ValidReason(r), r)
	}
}

func FuzzParse(f *testing.F) {
	seed, err := os.ReadFile("testdata/policy.json")
	require.NoError(f, err)
	f.Add(seed)
	for _, s := range []string{
		`{}`, `{"actions": []}`, `[]`, `{"actions": [{"action": "a.*", "rules": []}]}`,
		action(`{"action": "a", "on_counter_error": "deny", "rules": [{"id": "r", "reason": "x", "outcome": "deny", "when": {"velocity": {"event": "a", "key": "ip", "window": "1m", "over": 1}}}]}`),
		action(`{"action": "a", "step_up": {"acr": "mfa", "max_age": "1m"}, "step_up_at": 1, "rules": [{"id": "r", "reason": "x", "weight": 1, "when": {"amount_over": {"eur": 1}, "travel_over_kmh": 1, "number": {"name": "n", "over": 1}}}]}`),
		`{"actions": [{"action": "a", "action": "b"}]}`, `{"actions": [{"action": "a", "rules": [{"when": {"amount_over_history": 1e400}}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := risk.Parse("fuzz.json", data)
		if err != nil {
			if !errors.Is(err, risk.ErrInvalidPolicy) {
				t.Fatalf("error does not match ErrInvalidPolicy: %v", err)
			}
			return
		}
		e, err := risk.New(p)
		if err != nil {
			t.Fatalf("Parse accepted a policy New refuses: %v", err)
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		p2, err := risk.Parse("again.json", out)
		if err != nil {
			t.Fatalf("the marshalled policy does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(p.Actions, p2.Actions) || !slices.Equal(p.ACRLevels, p2.ACRLevels) {
			t.Fatalf("round trip changed the policy:\n%s", out)
		}
		for _, a := range p.Actions {
			_ = e.Decide(t.Context(), strings.TrimSuffix(a.Action, "*")+"x", risk.Signals{Amount: 1, Currency: "EUR"})
		}
	})
}

// TestParseRefusesACRsAChallengeCannotCarry checks that every acr level
// can be sent in an RFC 9470 acr_values (space-separated NQCHAR values):
// a level with a space, a quote, a backslash, a control or a non-ASCII
// byte would be dropped from the step-up challenge (or split in two), so
// the challenge would not ask for what the policy says.
func TestParseRefusesACRsAChallengeCannotCarry(t *testing.T) {
	rule := `"rules": [{"id": "r", "reason": "x", "when": {"flag": "f"}, "outcome": "step_up"}]`
	for _, acr := range []string{"mfa strong", `a\"b`, `a\\b`, "mf\u00e4", `a\tb`, `a\u0000`} {
		doc := `{"acr_levels": ["pwd", "` + acr + `"], "actions": [{"action": "a", "step_up": {"acr": "pwd"}, ` + rule + `}]}`
		_, err := risk.Parse("p.json", []byte(doc))
		assert.ErrorIs(t, err, risk.ErrInvalidPolicy, "acr %s", acr)
		assert.ErrorIs(t, err, risk.ErrInvalidRule, "acr %s", acr)
		p := risk.Policy{ACRLevels: []string{"pwd", acr}, Actions: []risk.ActionPolicy{{Action: "a", StepUp: risk.StepUpRequirement{ACR: "pwd"},
			Rules: []risk.Rule{{ID: "r", Reason: "x", When: risk.Conditions{Flag: "f"}, Outcome: risk.StepUp}}}}}
		_, err = risk.New(p)
		assert.ErrorIs(t, err, risk.ErrInvalidPolicy, "acr %s", acr)
	}
	doc := `{"acr_levels": ["urn:mace:incommon:iap:silver", "http://schemas.openid.net/pape/policies/2007/06/multi-factor", "phr", "0"], "actions": [{"action": "a", "step_up": {"acr": "phr"}, ` + rule + `}]}`
	_, err := risk.Parse("p.json", []byte(doc))
	assert.NoError(t, err)
}

// TestParseRefusesVelocityOfAnActionOnlyAPatternCovers checks that a
// velocity rule cannot count an event named like an action that only a
// pattern covers: Decide counts such an action's attempts under its
// pattern's name, so the rule would read a window nothing adds to and
// never hold, however many attempts were made.
func TestParseRefusesVelocityOfAnActionOnlyAPatternCovers(t *testing.T) {
	vel := func(event string) string {
		return `{"action": "admin.*", "on_counter_error": "deny", "rules": [{"id": "r", "reason": "x", "outcome": "deny", "when": {"velocity": {"event": "` + event + `", "key": "customer", "window": "1m", "over": 2}}}]}`
	}
	_, err := risk.Parse("p.json", []byte(action(vel("admin.refund"))))
	assert.ErrorIs(t, err, risk.ErrInvalidPolicy)
	assert.ErrorIs(t, err, risk.ErrInvalidCondition)
	assert.ErrorContains(t, err, `"admin.*"`)

	// The pattern's own name counts every attempt it covers; an exact
	// action of that name counts its own.
	_, err = risk.Parse("p.json", []byte(action(vel("admin.*"))))
	assert.NoError(t, err)
	exact := `{"action": "admin.refund", "rules": [{"id": "r", "reason": "x", "outcome": "deny", "when": {"flag": "f"}}]}`
	p, err := risk.Parse("p.json", []byte(action(vel("admin.refund")+",\n"+exact)))
	require.NoError(t, err)
	e, err := risk.New(p)
	require.NoError(t, err)
	s := risk.Signals{Customer: "c"}
	for range 2 {
		assert.Equal(t, risk.Allow, e.Decide(t.Context(), "admin.refund", s).Outcome)
	}
	assert.Equal(t, risk.Allow, e.Decide(t.Context(), "admin.users", s).Outcome, "2 refunds is not over 2")
	assert.Equal(t, risk.Allow, e.Decide(t.Context(), "admin.refund", s).Outcome)
	assert.Equal(t, risk.Deny, e.Decide(t.Context(), "admin.users", s).Outcome, "3 refunds in the window is over 2")
}
