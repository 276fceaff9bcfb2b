package tokens_test

import (
	"context"
	"crypto/elliptic"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
)

// allNQChars is every NQCHAR of RFC 6749 Appendix A: %x21 / %x23-5B / %x5D-7E.
func allNQChars() string {
	var b strings.Builder
	for c := byte(0x21); c <= 0x7e; c++ {
		if c != '"' && c != '\\' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// badScopes are scope values outside the RFC 6749 §3.3 grammar. Each one, if
// split on white space the way strings.Fields does, would yield "admin".
var badScopes = map[string]string{
	"no-break space U+00A0":       "orders:read\u00a0admin",
	"vertical tab":                "orders:read\vadmin",
	"tab":                         "orders:read\tadmin",
	"line feed":                   "orders:read\nadmin",
	"carriage return":             "orders:read\radmin",
	"form feed":                   "orders:read\fadmin",
	"NEL U+0085":                  "orders:read\u0085admin",
	"line separator U+2028":       "orders:read\u2028admin",
	"paragraph separator U+2029":  "orders:read\u2029admin",
	"ideographic space U+3000":    "orders:read\u3000admin",
	"en quad U+2000":              "orders:read\u2000admin",
	"narrow no-break space":       "orders:read\u202fadmin",
	"ogham space mark U+1680":     "orders:read\u1680admin",
	"two spaces":                  "orders:read  admin",
	"leading space":               " orders:read admin",
	"trailing space":              "orders:read admin ",
	"only a space":                " ",
	"empty":                       "",
	"space then tab":              "orders:read \tadmin",
	"double quote":                `orders:read "admin"`,
	"backslash":                   `orders:read\admin`,
	"NUL":                         "orders:read\x00admin",
	"DEL":                         "orders:read\x7fadmin",
	"unit separator":              "orders:read\x1fadmin",
	"zero width space U+200B":     "orders:read\u200badmin",
	"non-ASCII letter":            "orders:réad admin",
	"invalid UTF-8":               "orders:read\xffadmin",
	"fullwidth letters U+FF41...": "ａｄｍｉｎ",
}

func TestParseScope(t *testing.T) {
	accepted := []struct {
		name string
		in   string
		want []string
	}{
		{name: "one token", in: "orders:read", want: []string{"orders:read"}},
		{name: "two tokens", in: "orders:read admin", want: []string{"orders:read", "admin"}},
		{name: "URI scopes", in: "https://api.example/orders.read openid", want: []string{"https://api.example/orders.read", "openid"}},
		{name: "every NQCHAR", in: allNQChars(), want: []string{allNQChars()}},
		{name: "one-character tokens", in: "! # ~", want: []string{"!", "#", "~"}},
		{name: "duplicates kept", in: "a a", want: []string{"a", "a"}},
	}
	for _, tc := range accepted {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			got, err := tokens.ParseScope(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			joined, err := tokens.FormatScope(got)
			require.NoError(t, err)
			assert.Equal(t, tc.in, joined)
		})
	}
	for name, in := range badScopes {
		t.Run("refuses "+name, func(t *testing.T) {
			got, err := tokens.ParseScope(in)
			assert.ErrorIs(t, err, tokens.ErrInvalidScope)
			assert.ErrorIs(t, err, tokens.ErrMalformed)
			assert.Nil(t, got)
		})
	}
}

func TestFormatScope(t *testing.T) {
	refused := map[string][]string{
		"nil":                   nil,
		"empty list":            {},
		"empty token":           {"orders:read", ""},
		"token with a space":    {"orders:read admin"},
		"token with NBSP":       {"orders:read\u00a0admin"},
		"token with U+3000":     {"orders:read\u3000admin"},
		"token with U+2028":     {"orders:read\u2028admin"},
		"token with a tab":      {"orders:read\tadmin"},
		"token with a quote":    {`"admin"`},
		"token with backslash":  {`a\b`},
		"token with a newline":  {"a\nb"},
		"token with DEL":        {"a\x7f"},
		"token with non-ASCII":  {"commandes:lire\u00e9"},
		"second token is empty": {"a", "", "b"},
	}
	for name, in := range refused {
		t.Run("refuses "+name, func(t *testing.T) {
			got, err := tokens.FormatScope(in)
			assert.ErrorIs(t, err, tokens.ErrInvalidScope)
			assert.Empty(t, got)
		})
	}
	t.Run("joins with single spaces", func(t *testing.T) {
		got, err := tokens.FormatScope([]string{"orders:read", "cart:write"})
		require.NoError(t, err)
		assert.Equal(t, "orders:read cart:write", got)
	})
}

func TestIsScopeToken(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"orders:read", true}, {allNQChars(), true}, {"!", true}, {"~", true},
		{"", false}, {" ", false}, {"a b", false}, {"\"", false}, {"\\", false},
		{"\x20", false}, {"\x7f", false}, {"\u00a0", false}, {"é", false},
	} {
		assert.Equal(t, c.want, tokens.IsScopeToken(c.in), "%q", c.in)
	}
}

// TestVerifyRefusesScopeOutsideRFC6749 signs tokens whose scope claim is not
// RFC 6749 §3.3 syntax: the verifier must refuse them as invalid tokens and
// never split them into scopes.
func TestVerifyRefusesScopeOutsideRFC6749(t *testing.T) {
	f := newVerifierFixture(t)
	cached := newVerifier(t, f.ks, tokens.WithClock(fixedClock(testNow)))
	uncached := newVerifier(t, f.ks, tokens.WithClock(fixedClock(testNow)), tokens.WithCacheSize(0))
	values := map[string]any{
		"array of scopes":    []string{"orders:read", "admin"},
		"array of one scope": []string{"orders:read"},
		"null":               nil,
		"number":             7,
		"object":             map[string]any{"orders:read": true},
		"bool":               true,
	}
	for name, s := range badScopes {
		values[name] = s
	}
	for name, val := range values {
		t.Run(name, func(t *testing.T) {
			tok := f.good(t, func(c map[string]any) { c["scope"] = val })
			for _, v := range []*tokens.Verifier{cached, uncached, cached} {
				c, err := v.Verify(context.Background(), tok)
				assert.ErrorIs(t, err, tokens.ErrInvalidScope)
				assert.ErrorIs(t, err, tokens.ErrMalformed)
				assert.Nil(t, c)
			}
		})
	}
	// The same, written with JSON escapes in the signed payload.
	for _, raw := range []string{`orders:read\u00a0admin`, `orders:read\u000badmin`, `orders:read\u2028admin`,
		`orders:read\u3000admin`, `orders:read\u0020\u0020admin`, `orders:read\tadmin`, `\u0020admin`} {
		t.Run("JSON-escaped "+raw, func(t *testing.T) {
			payload := strings.Replace(claimsJSON(t, func(c map[string]any) { c["scope"] = "PLACEHOLDER" }), "PLACEHOLDER", raw, 1)
			c, err := cached.Verify(context.Background(), f.es256(t, stdHeader("ES256", f.kid), payload))
			assert.ErrorIs(t, err, tokens.ErrInvalidScope)
			assert.Nil(t, c)
		})
	}
	t.Run("conforming scope verifies", func(t *testing.T) {
		c, err := cached.Verify(context.Background(), f.good(t, func(c map[string]any) { c["scope"] = "orders:read " + allNQChars() }))
		require.NoError(t, err)
		assert.Equal(t, []string{"orders:read", allNQChars()}, c.Scopes)
	})
	t.Run("absent scope is no scopes", func(t *testing.T) {
		c, err := cached.Verify(context.Background(), f.good(t, func(c map[string]any) { delete(c, "scope") }))
		require.NoError(t, err)
		assert.Empty(t, c.Scopes)
	})
}

// TestIssueRefusesScopeOutsideRFC6749: the Issuer must not issue a scope a
// verifier would split differently, such as "orders:read\u00a0admin".
func TestIssueRefusesScopeOutsideRFC6749(t *testing.T) {
	ks := newKeySet(t, newSigningKey(t, newECKey(t, elliptic.P256()), ""))
	iss := newIssuer(t, ks, tokens.WithClock(fixedClock(testNow)))
	for name, s := range badScopes {
		if s == "" {
			continue // an empty element is covered below
		}
		t.Run(name, func(t *testing.T) {
			r := basicRequest()
			r.Scopes = []string{s}
			tok, err := iss.Issue(context.Background(), r)
			assert.ErrorIs(t, err, tokens.ErrInvalidScope)
			assert.ErrorIs(t, err, tokens.ErrInvalidConfig)
			assert.Empty(t, tok)
		})
	}
	t.Run("empty element", func(t *testing.T) {
		r := basicRequest()
		r.Scopes = []string{"orders:read", ""}
		_, err := iss.Issue(context.Background(), r)
		assert.ErrorIs(t, err, tokens.ErrInvalidScope)
	})
	t.Run("every NQCHAR round-trips", func(t *testing.T) {
		v := newVerifier(t, ks, tokens.WithClock(fixedClock(testNow)))
		r := basicRequest()
		r.Scopes = []string{allNQChars(), "orders:read", "!"}
		c, err := v.Verify(context.Background(), issue(t, iss, r))
		require.NoError(t, err)
		assert.Equal(t, r.Scopes, c.Scopes)
	})
}

// FuzzParseScope checks the RFC 6749 §3.3 scope parser: no panic; an
// accepted value splits into scope-tokens only, which join back to exactly
// the input; a refused value matches ErrInvalidScope and yields nothing.
func FuzzParseScope(f *testing.F) {
	for _, s := range badScopes {
		f.Add(s)
	}
	for _, s := range []string{"orders:read", "orders:read admin", allNQChars(), "a b c", "!", "~ ~"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := tokens.ParseScope(s)
		if err != nil {
			if !errors.Is(err, tokens.ErrInvalidScope) || got != nil {
				t.Fatalf("refusal without ErrInvalidScope, or with scopes")
			}
			if grammarOK(s) {
				t.Fatalf("refused a value of the grammar")
			}
			return
		}
		if !grammarOK(s) {
			t.Fatalf("accepted a value outside the grammar")
		}
		for _, tok := range got {
			if !tokens.IsScopeToken(tok) || !utf8.ValidString(tok) {
				t.Fatalf("accepted a scope that is not a scope-token")
			}
		}
		if strings.Join(got, " ") != s {
			t.Fatalf("join(parse(s)) != s")
		}
		joined, err := tokens.FormatScope(got)
		if err != nil || joined != s {
			t.Fatalf("FormatScope(ParseScope(s)) != s")
		}
	})
}

// grammarOK is an independent reading of RFC 6749 §3.3: non-empty, split on
// single spaces, each part non-empty printable ASCII without '"' and '\'.
func grammarOK(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, " ") {
		if part == "" {
			return false
		}
		for _, r := range []byte(part) {
			if r < 0x21 || r > 0x7e || r == 0x22 || r == 0x5c {
				return false
			}
		}
	}
	return true
}
