package authz_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want error
		msg  string // substring of the message
	}{
		{"not json", `{"rules": [`, authz.ErrSyntax, "bad.json:1"},
		{"not an object", `[]`, authz.ErrSyntax, "bad.json:1"},
		{"unknown top key", "{\n\"rulez\": []}", authz.ErrSyntax, `bad.json:2: rulez: policy syntax error: unknown key "rulez"`},
		{"unknown rule key", "{\"rules\": [\n{\"id\": \"a\", \"effect\": \"allow\", \"routes\": [\"/\"], \"match\": {\"any_principal\": true},\n \"efect\": \"forbid\"}]}", authz.ErrSyntax, "bad.json:3"},
		{"duplicate key", "{\"rules\": [\n{\"id\": \"a\",\n\"effect\": \"forbid\", \"effect\": \"allow\"}]}", authz.ErrSyntax, `bad.json:3: policy syntax error: duplicate key "effect"`},
		{"bad effect", `{"rules": [{"id": "a", "effect": "permit", "routes": ["/"]}]}`, authz.ErrInvalidEffect, "bad.json:1"},
		{"missing effect", "{\"rules\": [\n\n{\"id\": \"a\", \"routes\": [\"/\"], \"match\": {}}]}", authz.ErrInvalidEffect, `bad.json:3: rule "a" (#0): effect`},
		{"bad route", "{\"rules\": [{\"id\": \"ok\", \"effect\": \"forbid\", \"routes\": [\"/\"]},\n  {\"id\": \"r\", \"effect\": \"forbid\", \"routes\": [\"/a/{x...}/b\"]}]}", authz.ErrInvalidRoute, `bad.json:2: rule "r" (#1): routes[0]`},
		{"host route", `{"rules": [{"id": "r", "effect": "forbid", "routes": ["example.com/a"]}]}`, authz.ErrInvalidRoute, ""},
		{"no routes", `{"rules": [{"id": "r", "effect": "forbid"}]}`, authz.ErrInvalidRoute, ""},
		{"duplicate id", `{"rules": [{"id": "r", "effect": "forbid", "routes": ["/"]}, {"id": "r", "effect": "forbid", "routes": ["/"]}]}`, authz.ErrDuplicateRuleID, "(#1)"},
		{"empty id", `{"rules": [{"effect": "forbid", "routes": ["/"]}]}`, authz.ErrDuplicateRuleID, ""},
		{"empty allow", `{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {}}]}`, authz.ErrEmptyMatch, ""},
		{"unknown acr", `{"acr_levels": ["pwd"], "rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"min_acr": "mfa"}}]}`, authz.ErrUnknownACR, "match.min_acr"},
		{"duplicate acr", `{"acr_levels": ["pwd", "pwd"], "rules": []}`, authz.ErrInvalidMatch, "acr_levels[1]"},
		{"bad peer", `{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"peers": ["https://x"]}}]}`, authz.ErrInvalidMatch, "match.peers[0]"},
		{"bad glob", `{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"peers": ["spiffe://td/a/**/b"]}}]}`, authz.ErrInvalidMatch, ""},
		{"bad kind", `{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"kind": "robot"}}]}`, authz.ErrInvalidMatch, `want "any", "workload" or "user"`},
		{"kind end_user", `{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"kind": "end_user"}}]}`, authz.ErrInvalidMatch, `write "user"`},
		{"bad binding", `{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"binding": "sender"}}]}`, authz.ErrInvalidMatch, `want "any", "dpop", "mtls" or "bound"`},
		// A word for what a token is bound to is not a requirement; the
		// error names the word to write.
		{"binding none", `{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"binding": "none"}}]}`, authz.ErrInvalidMatch, `binding "none" says what a token is bound to, not what a rule requires: omit "binding" (or write "any")`},
		{"binding unbound", `{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"binding": "unbound"}}]}`, authz.ErrInvalidMatch, `omit "binding" (or write "any")`},
		{"binding bearer", `{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"binding": "bearer"}}]}`, authz.ErrInvalidMatch, `omit "binding" (or write "any")`},
		{"binding either", `{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"binding": "either"}}]}`, authz.ErrInvalidMatch, `write "bound"`},
		{"binding in upper case", `{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"binding": "DPoP"}}]}`, authz.ErrInvalidMatch, ""},
		{"negative age", `{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"max_auth_age": "-1m"}}]}`, authz.ErrInvalidMatch, ""},
		{"empty scope", `{"rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"all_scopes": [""]}}]}`, authz.ErrInvalidMatch, ""},
		{"trailing data", `{"rules": []} {}`, authz.ErrSyntax, ""},
		{"no rules", `{"rules": []}`, authz.ErrNoRules, `bad.json: rules: policy has no rules`},
		{"no rules key", `{"acr_levels": ["pwd"]}`, authz.ErrNoRules, `bad.json: rules: policy has no rules`},
		{"empty object", `{}`, authz.ErrNoRules, ""},
		{"null rules", `{"rules": null}`, authz.ErrSyntax, ""},
		{"shadow policy without rules", `{"shadow": true, "rules": []}`, authz.ErrNoRules, ""},
		// encoding/json folds case: without the canonical-key check the
		// second spelling would silently win.
		{"case variant of a key", "{\"rules\": [\n{\"id\": \"a\", \"effect\": \"allow\", \"EFFECT\": \"forbid\", \"routes\": [\"/\"], \"match\": {\"any_principal\": true}}]}", authz.ErrSyntax, `bad.json:2: policy syntax error: key "EFFECT"`},
		{"upper-case key alone", `{"Rules": []}`, authz.ErrSyntax, `key "Rules"`},
		{"unicode fold of a key", `{"rules": [{"id": "a", "effect": "forbid", "routeſ": ["/"]}]}`, authz.ErrSyntax, "keys are lower case"},
		{"kelvin sign in a key", `{"rules": [{"id": "a", "effect": "forbid", "routes": ["/"], "match": {"any_principal": true, "Kind": "user"}}]}`, authz.ErrSyntax, "keys are lower case"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := authz.Parse("bad.json", []byte(tt.doc))
			require.Error(t, err)
			assert.ErrorIs(t, err, authz.ErrInvalidPolicy)
			assert.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.msg)
			var pe *authz.PolicyError
			require.True(t, errors.As(err, &pe))
			assert.Equal(t, "bad.json", pe.File)
		})
	}
}

// TestParseErrorFieldLines: a problem in a field is reported at the line of
// that field's value, not the line where its rule starts.
func TestParseErrorFieldLines(t *testing.T) {
	doc := `{
  "acr_levels": ["pwd", "mfa"],
  "rules": [
    {
      "id": "pay",
      "effect": "allow",
      "routes": [
        "POST /payments",
        "/a/{x...}/b"
      ],
      "match": {
        "peers": [
          "spiffe://shop.example/checkout",
          "https://not-spiffe"
        ],
        "kind": "user",
        "min_acr": "phr"
      }
    },
    {"id": "pay", "effect": "forbid", "routes": ["/"]}
  ]
}`
	_, err := authz.Parse("p.json", []byte(doc))
	require.Error(t, err)
	got := map[string]int{}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *authz.PolicyError
		require.True(t, errors.As(e, &pe), "%T", e)
		got[pe.Field] = pe.Line
	}
	assert.Equal(t, map[string]int{"routes[1]": 9, "match.peers[1]": 14, "match.min_acr": 17, "id": 20}, got)
}

func TestParseCollectsAllErrors(t *testing.T) {
	_, err := authz.Parse("p.json", []byte("{\"rules\": [\n{\"id\": \"a\", \"effect\": \"allow\", \"routes\": [\"/\"]},\n{\"id\": \"b\", \"effect\": \"allow\", \"routes\": [\"x\"], \"match\": {\"any_principal\": true}}\n]}"))
	require.Error(t, err)
	assert.ErrorIs(t, err, authz.ErrEmptyMatch)
	assert.ErrorIs(t, err, authz.ErrInvalidRoute)
	assert.Equal(t, 2, strings.Count(err.Error(), "p.json:"), err.Error())
	assert.Contains(t, err.Error(), "p.json:2:")
	assert.Contains(t, err.Error(), "p.json:3:")
}

func TestGoPolicyErrors(t *testing.T) {
	_, err := authz.New(authz.Policy{Rules: []authz.Rule{{ID: "x", Effect: authz.Effect(9), Routes: []string{"/"}}}})
	assert.ErrorIs(t, err, authz.ErrInvalidEffect)
	assert.Equal(t, `authz: rule "x" (#0): effect: invalid effect`, err.Error())
}

func TestLoadFile(t *testing.T) {
	_, err := authz.LoadFile(t.TempDir() + "/missing.json")
	assert.Error(t, err)
	path := writePolicy(t, t.TempDir(), shopPolicy)
	p, err := authz.LoadFile(path)
	require.NoError(t, err)
	assert.Len(t, p.Rules, 7)
	big := writePolicy(t, t.TempDir(), `{"rules": []}`+strings.Repeat(" ", 5<<20))
	_, err = authz.LoadFile(big)
	assert.ErrorIs(t, err, authz.ErrPolicyTooLarge)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(shopPolicy))
	f.Add([]byte(`{"rules": []}`))
	f.Add([]byte(`{"acr_levels": ["a","b"], "shadow": true, "rules": [{"id": "r", "effect": "forbid", "routes": ["GET /{x}/{y...}"], "match": {"peers": ["spiffe://td/*/a"]}}]}`))
	f.Add([]byte(`{"rules": [{"id": "r", "effect": "allow", "routes": ["/{$}"], "match": {"max_auth_age": "1h", "kind": "user"}}]}`))
	f.Add([]byte(`{"a": {"a": [{"a": 1, "a": 2}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := authz.Parse("fuzz.json", data)
		if err != nil {
			if !errors.Is(err, authz.ErrInvalidPolicy) {
				t.Fatalf("error does not match ErrInvalidPolicy: %v", err)
			}
			return
		}
		e, err := authz.New(p)
		if err != nil {
			t.Fatalf("Parse accepted a policy New rejects: %v", err)
		}
		e.Decide(t.Context(), customer(), authz.Request{Method: "GET", Path: "/a/b"})
	})
}

// TestBindingRequirementWords: a rule's binding requirement is written
// "any" (or omitted), "dpop", "mtls" or "bound", and each word reads back as
// itself; what a token is bound to (authn.Binding) uses "none", "dpop" and
// "mtls", so "dpop" and "mtls" mean the same binding on both sides.
func TestBindingRequirementWords(t *testing.T) {
	cases := []struct {
		word string
		want authz.BindingRequirement
	}{
		{"any", authz.AnyBinding},
		{"dpop", authz.RequireDPoP},
		{"mtls", authz.RequireMTLS},
		{"bound", authz.RequireBound},
	}
	for _, tc := range cases {
		t.Run(tc.word, func(t *testing.T) {
			var b authz.BindingRequirement
			require.NoError(t, b.UnmarshalText([]byte(tc.word)))
			assert.Equal(t, tc.want, b)
			txt, err := b.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.word, string(txt))
			assert.Equal(t, tc.word, b.String())
		})
	}
	t.Run("omitted is any", func(t *testing.T) {
		var b authz.BindingRequirement
		require.NoError(t, b.UnmarshalText(nil))
		assert.Equal(t, authz.AnyBinding, b)
	})
	t.Run("the same word means the same binding on both sides", func(t *testing.T) {
		assert.Equal(t, authn.BoundToDPoPKey.String(), authz.RequireDPoP.String())
		assert.Equal(t, authn.BoundToCertificate.String(), authz.RequireMTLS.String())
		assert.NotEqual(t, authn.NoBinding.String(), authz.AnyBinding.String())
	})
	t.Run("an unknown value does not marshal", func(t *testing.T) {
		_, err := authz.BindingRequirement(9).MarshalText()
		assert.ErrorIs(t, err, authz.ErrInvalidMatch)
	})
}

// TestKindRequirementWords: a rule's kind requirement is written "any" (or
// omitted), "workload" or "user", the words of authn.PrincipalKind.
func TestKindRequirementWords(t *testing.T) {
	cases := []struct {
		word string
		want authz.KindRequirement
		kind string // the authn.PrincipalKind it requires; "" for any
	}{
		{"any", authz.AnyKind, ""},
		{"workload", authz.RequireWorkload, authn.WorkloadKind.String()},
		{"user", authz.RequireUser, authn.UserKind.String()},
	}
	for _, tc := range cases {
		t.Run(tc.word, func(t *testing.T) {
			var k authz.KindRequirement
			require.NoError(t, k.UnmarshalText([]byte(tc.word)))
			assert.Equal(t, tc.want, k)
			txt, err := k.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.word, string(txt))
			if tc.kind != "" {
				assert.Equal(t, tc.kind, tc.word)
			}
		})
	}
	_, err := authz.KindRequirement(7).MarshalText()
	assert.ErrorIs(t, err, authz.ErrInvalidMatch)
}

// TestParseRefusesACRsAChallengeCannotCarry checks that every acr level
// can be sent in the acr_values of an RFC 9470 step-up challenge
// (space-separated NQCHAR values): a level with a space, a quote, a
// backslash, a control or a non-ASCII byte would be dropped from the
// challenge (or split in two), which would then ask for something else.
func TestParseRefusesACRsAChallengeCannotCarry(t *testing.T) {
	for _, acr := range []string{"mfa strong", `a\"b`, `a\\b`, "mf\u00e4", `a\tb`} {
		doc := `{"acr_levels": ["pwd", "` + acr + `"], "rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"min_acr": "pwd"}}]}`
		_, err := authz.Parse("p.json", []byte(doc))
		assert.ErrorIs(t, err, authz.ErrInvalidPolicy, "acr %s", acr)
		assert.ErrorIs(t, err, authz.ErrInvalidMatch, "acr %s", acr)
	}
	doc := `{"acr_levels": ["urn:mace:incommon:iap:silver", "phr", "0"], "rules": [{"id": "r", "effect": "allow", "routes": ["/"], "match": {"min_acr": "phr"}}]}`
	_, err := authz.Parse("p.json", []byte(doc))
	assert.NoError(t, err)
}
