package tokens_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
)

// TestVerifyRefusesUnenforceableConfirmation: a token with a cnf claim is a
// proof-of-possession token (RFC 7800 §3). When ztkit cannot enforce its
// confirmation it must refuse the token, never read it as unbound.
func TestVerifyRefusesUnenforceableConfirmation(t *testing.T) {
	f := newVerifierFixture(t)
	uncached := newVerifier(t, f.ks, tokens.WithClock(fixedClock(testNow)), tokens.WithCacheSize(0))
	tp := thumbprintOf("key")
	jwk := map[string]any{"kty": "EC", "crv": "P-256", "x": b64(make([]byte, 32)), "y": b64(make([]byte, 32))}
	cases := map[string]any{
		// RFC 7800 §3.2-3.5 methods ztkit does not enforce.
		"jwk":                  map[string]any{"jwk": jwk},
		"jwe":                  map[string]any{"jwe": "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"},
		"kid":                  map[string]any{"kid": "dfd1aa97-6d8d-4575-a0fe-34b96de2bfad"},
		"jku":                  map[string]any{"jku": "https://keys.example/jwks", "kid": "k"},
		"x5t (SHA-1)":          map[string]any{"x5t": b64(make([]byte, 20))},
		"unknown":              map[string]any{"osc": "whatever"},
		"upper-case JKT":       map[string]any{"JKT": tp},
		"Jkt":                  map[string]any{"Jkt": tp},
		"x5t#s256 lower":       map[string]any{"x5t#s256": tp},
		"jkt and jwk":          map[string]any{"jkt": tp, "jwk": jwk},
		"jkt and kid":          map[string]any{"jkt": tp, "kid": "k"},
		"x5t#S256 and unknown": map[string]any{"x5t#S256": tp, "foo": 1},
		"empty object":         map[string]any{},
		// cnf that is not an object.
		"null":   nil,
		"string": tp,
		"array":  []string{tp},
		"number": 1,
		"true":   true,
		"false":  false,
		// jkt and x5t#S256 that are not base64url SHA-256 thumbprints.
		"jkt null":               map[string]any{"jkt": nil},
		"jkt number":             map[string]any{"jkt": 42},
		"jkt object":             map[string]any{"jkt": map[string]any{"v": tp}},
		"jkt array":              map[string]any{"jkt": []string{tp}},
		"jkt empty":              map[string]any{"jkt": ""},
		"jkt short":              map[string]any{"jkt": tp[:42]},
		"jkt long":               map[string]any{"jkt": tp + "A"},
		"jkt padded":             map[string]any{"jkt": tp + "="},
		"jkt standard base64":    map[string]any{"jkt": strings.Repeat("+", 42) + "A"},
		"jkt non-canonical":      map[string]any{"jkt": strings.Repeat("A", 42) + "B"},
		"jkt with space":         map[string]any{"jkt": " " + tp[1:]},
		"jkt SHA-384 size":       map[string]any{"jkt": b64(make([]byte, 48))},
		"jkt hex":                map[string]any{"jkt": strings.Repeat("ab", 32)},
		"x5t#S256 empty":         map[string]any{"x5t#S256": ""},
		"x5t#S256 number":        map[string]any{"x5t#S256": 7},
		"x5t#S256 short":         map[string]any{"x5t#S256": b64(make([]byte, 20))},
		"x5t#S256 non-canonical": map[string]any{"x5t#S256": strings.Repeat("_", 42) + "9"},
		// Verbatim from RFC 8705 §3.1, Figure 2: the example's value is not
		// the base64url of any SHA-256 digest. Its last character, "2",
		// leaves non-zero bits past the 256th (the canonical encoding of the
		// same 32 bytes ends in "0"), so it is refused like the one above; a
		// thumbprint computed from a real certificate never has that form.
		"x5t#S256 of RFC 8705 §3.1": map[string]any{"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"},
		"good jkt, bad x5t#S256":    map[string]any{"jkt": tp, "x5t#S256": "nope"},
	}
	for name, cnf := range cases {
		t.Run(name, func(t *testing.T) {
			tok := f.good(t, func(c map[string]any) { c["cnf"] = cnf })
			for _, v := range []*tokens.Verifier{f.v, uncached, f.v} {
				c, err := v.Verify(context.Background(), tok)
				assert.ErrorIs(t, err, tokens.ErrUnsupportedConfirmation)
				assert.ErrorIs(t, err, tokens.ErrMalformed)
				assert.Nil(t, c)
			}
		})
	}
}

// TestVerifyReadsEnforceableConfirmation: jkt (RFC 9449 §6.1) and x5t#S256
// (RFC 8705 §3.1) thumbprints are read, alone or together.
func TestVerifyReadsEnforceableConfirmation(t *testing.T) {
	f := newVerifierFixture(t)
	jkt, x5t := thumbprintOf("dpop key"), thumbprintOf("certificate")
	cases := map[string]struct {
		cnf  map[string]any
		want tokens.Confirmation
	}{
		"jkt":             {map[string]any{"jkt": jkt}, tokens.Confirmation{JKT: jkt}},
		"x5t#S256":        {map[string]any{"x5t#S256": x5t}, tokens.Confirmation{X5TS256: x5t}},
		"both":            {map[string]any{"jkt": jkt, "x5t#S256": x5t}, tokens.Confirmation{JKT: jkt, X5TS256: x5t}},
		"all-zero digest": {map[string]any{"jkt": b64(make([]byte, 32))}, tokens.Confirmation{JKT: b64(make([]byte, 32))}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := f.v.Verify(context.Background(), f.good(t, func(c map[string]any) { c["cnf"] = tc.cnf }))
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.Confirmation)
			assert.True(t, c.Confirmation.Bound())
		})
	}
	t.Run("no cnf is unbound", func(t *testing.T) {
		c, err := f.v.Verify(context.Background(), f.good(t, nil))
		require.NoError(t, err)
		assert.False(t, c.Confirmation.Bound())
	})
	t.Run("duplicate jkt", func(t *testing.T) {
		payload := strings.Replace(claimsJSON(t, func(c map[string]any) { c["cnf"] = "CNF" }), `"CNF"`, `{"jkt":"`+jkt+`","jkt":"`+x5t+`"}`, 1)
		c, err := f.v.Verify(context.Background(), f.es256(t, stdHeader("ES256", f.kid), payload))
		assert.ErrorIs(t, err, tokens.ErrMalformed)
		assert.Nil(t, c)
	})
}
