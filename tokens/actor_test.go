package tokens_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
)

const (
	checkout   = "spiffe://shop.example/checkout"
	storefront = "spiffe://shop.example/storefront"
	gateway    = "spiffe://shop.example/gateway"
)

// chain builds an act claim value nesting subs nearest first.
func chain(subs ...string) map[string]any {
	var act map[string]any
	for i := len(subs) - 1; i >= 0; i-- {
		a := map[string]any{"sub": subs[i]}
		if act != nil {
			a["act"] = act
		}
		act = a
	}
	return act
}

// TestVerifyReadsActor: act (RFC 8693 §4.1) and may_act (§4.4) are read
// into Claims, the chain nearest first.
func TestVerifyReadsActor(t *testing.T) {
	f := newVerifierFixture(t)
	deepest := make([]string, tokens.MaxActorDepth)
	for i := range deepest {
		deepest[i] = "spiffe://shop.example/hop" + string(rune('a'+i))
	}
	cases := map[string]struct {
		mod    func(map[string]any)
		actor  *tokens.Actor
		mayAct *tokens.Actor
	}{
		"no act": {mod: nil},
		"one actor": {
			mod:   func(c map[string]any) { c["act"] = map[string]any{"sub": checkout} },
			actor: &tokens.Actor{Subject: checkout},
		},
		"actor with iss": {
			mod:   func(c map[string]any) { c["act"] = map[string]any{"sub": checkout, "iss": "https://id.shop.example"} },
			actor: &tokens.Actor{Subject: checkout, Issuer: "https://id.shop.example"},
		},
		"chain of two": {
			mod:   func(c map[string]any) { c["act"] = chain(checkout, storefront) },
			actor: &tokens.Actor{Subject: checkout, Actor: &tokens.Actor{Subject: storefront}},
		},
		"other identity claims ignored": {
			mod: func(c map[string]any) {
				c["act"] = map[string]any{"sub": checkout, "email": "x@example.com", "client_id": "c"}
			},
			actor: &tokens.Actor{Subject: checkout},
		},
		"may_act": {
			mod: func(c map[string]any) {
				c["may_act"] = map[string]any{"sub": checkout, "iss": "https://id.shop.example"}
			},
			mayAct: &tokens.Actor{Subject: checkout, Issuer: "https://id.shop.example"},
		},
		"act and may_act": {
			mod: func(c map[string]any) {
				c["act"] = chain(gateway)
				c["may_act"] = map[string]any{"sub": checkout}
			},
			actor:  &tokens.Actor{Subject: gateway},
			mayAct: &tokens.Actor{Subject: checkout},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := f.v.Verify(context.Background(), f.good(t, tc.mod))
			require.NoError(t, err)
			assert.Equal(t, tc.actor, c.Actor)
			assert.Equal(t, tc.mayAct, c.MayAct)
		})
	}
	t.Run("deepest chain allowed", func(t *testing.T) {
		c, err := f.v.Verify(context.Background(), f.good(t, func(c map[string]any) { c["act"] = chain(deepest...) }))
		require.NoError(t, err)
		assert.Equal(t, deepest, c.Actor.Subjects())
		assert.Equal(t, tokens.MaxActorDepth, c.Actor.Depth())
	})
}

// TestVerifyRefusesInvalidActor: an act or may_act claim that cannot be read
// refuses the token; it is never taken for a token without an actor.
func TestVerifyRefusesInvalidActor(t *testing.T) {
	f := newVerifierFixture(t)
	uncached := newVerifier(t, f.ks, tokens.WithClock(fixedClock(testNow)), tokens.WithCacheSize(0))
	tooDeep := make([]string, tokens.MaxActorDepth+1)
	for i := range tooDeep {
		tooDeep[i] = checkout
	}
	bad := map[string]any{
		"null":                nil,
		"string":              checkout,
		"array":               []any{map[string]any{"sub": checkout}},
		"number":              1,
		"true":                true,
		"empty object":        map[string]any{},
		"no sub":              map[string]any{"iss": "https://id.shop.example"},
		"empty sub":           map[string]any{"sub": ""},
		"sub number":          map[string]any{"sub": 7},
		"sub null":            map[string]any{"sub": nil},
		"sub array":           map[string]any{"sub": []string{checkout}},
		"Sub capitalised":     map[string]any{"Sub": checkout},
		"iss number":          map[string]any{"sub": checkout, "iss": 1},
		"iss empty":           map[string]any{"sub": checkout, "iss": ""},
		"nested null":         map[string]any{"sub": checkout, "act": nil},
		"nested string":       map[string]any{"sub": checkout, "act": storefront},
		"nested without sub":  map[string]any{"sub": checkout, "act": map[string]any{"iss": "x"}},
		"nested empty":        map[string]any{"sub": checkout, "act": map[string]any{}},
		"deep bad sub":        chain(checkout, storefront, ""),
		"deeper than allowed": chain(tooDeep...),
	}
	for name, act := range bad {
		for _, claim := range []string{"act", "may_act"} {
			t.Run(claim+"/"+name, func(t *testing.T) {
				tok := f.good(t, func(c map[string]any) { c[claim] = act })
				for _, v := range []*tokens.Verifier{f.v, uncached, f.v} {
					c, err := v.Verify(context.Background(), tok)
					assert.ErrorIs(t, err, tokens.ErrInvalidActor)
					assert.ErrorIs(t, err, tokens.ErrMalformed)
					assert.Nil(t, c)
				}
			})
		}
	}
	t.Run("may_act naming a prior actor", func(t *testing.T) {
		c, err := f.v.Verify(context.Background(), f.good(t, func(c map[string]any) { c["may_act"] = chain(checkout, storefront) }))
		assert.ErrorIs(t, err, tokens.ErrInvalidActor)
		assert.Nil(t, c)
	})
	t.Run("duplicate sub", func(t *testing.T) {
		payload := strings.Replace(claimsJSON(t, func(c map[string]any) { c["act"] = "ACT" }), `"ACT"`, `{"sub":"`+checkout+`","sub":"`+storefront+`"}`, 1)
		c, err := f.v.Verify(context.Background(), f.es256(t, stdHeader("ES256", f.kid), payload))
		assert.ErrorIs(t, err, tokens.ErrMalformed)
		assert.Nil(t, c)
	})
	t.Run("duplicate act", func(t *testing.T) {
		payload := strings.Replace(claimsJSON(t, func(c map[string]any) { c["act"] = "ACT" }), `"act":"ACT"`, `"act":{"sub":"`+checkout+`"},"act":{"sub":"`+storefront+`"}`, 1)
		c, err := f.v.Verify(context.Background(), f.es256(t, stdHeader("ES256", f.kid), payload))
		assert.ErrorIs(t, err, tokens.ErrMalformed)
		assert.Nil(t, c)
	})
}

// TestIssueActor: the Issuer writes act and may_act in RFC 8693 form, and
// refuses actors it cannot issue.
func TestIssueActor(t *testing.T) {
	f := newVerifierFixture(t)
	iss := newIssuer(t, f.ks, tokens.WithClock(fixedClock(testNow)))

	r := basicRequest()
	r.Actor = &tokens.Actor{Subject: checkout, Issuer: testIssuer, Actor: &tokens.Actor{Subject: storefront}}
	r.MayAct = &tokens.Actor{Subject: gateway}
	tok := issue(t, iss, r)
	c, err := f.v.Verify(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, r.Actor, c.Actor)
	assert.Equal(t, r.MayAct, c.MayAct)
	assert.Equal(t, []string{checkout, storefront}, c.Actor.Subjects())
	var wire struct {
		Act    map[string]any `json:"act"`
		MayAct map[string]any `json:"may_act"`
	}
	require.NoError(t, c.Decode(&wire))
	assert.Equal(t, map[string]any{"sub": checkout, "iss": testIssuer, "act": map[string]any{"sub": storefront}}, wire.Act)
	assert.Equal(t, map[string]any{"sub": gateway}, wire.MayAct)

	loop := &tokens.Actor{Subject: checkout}
	loop.Actor = &tokens.Actor{Subject: storefront, Actor: loop}
	deep := &tokens.Actor{Subject: checkout}
	for range tokens.MaxActorDepth {
		deep = &tokens.Actor{Subject: checkout, Actor: deep}
	}
	refused := map[string]func(r *tokens.TokenRequest){
		"empty actor subject": func(r *tokens.TokenRequest) { r.Actor = &tokens.Actor{} },
		"empty prior actor subject": func(r *tokens.TokenRequest) {
			r.Actor = &tokens.Actor{Subject: checkout, Actor: &tokens.Actor{Issuer: "x"}}
		},
		"invalid UTF-8 subject": func(r *tokens.TokenRequest) { r.Actor = &tokens.Actor{Subject: "spiffe://a/\xff"} },
		"invalid UTF-8 issuer":  func(r *tokens.TokenRequest) { r.Actor = &tokens.Actor{Subject: checkout, Issuer: "\xff"} },
		"chain too deep":        func(r *tokens.TokenRequest) { r.Actor = deep },
		"chain loops":           func(r *tokens.TokenRequest) { r.Actor = loop },
		"empty may_act subject": func(r *tokens.TokenRequest) { r.MayAct = &tokens.Actor{Issuer: testIssuer} },
		"may_act with a prior actor": func(r *tokens.TokenRequest) {
			r.MayAct = &tokens.Actor{Subject: checkout, Actor: &tokens.Actor{Subject: storefront}}
		},
		"extra act":     func(r *tokens.TokenRequest) { r.Extra = map[string]any{"act": map[string]any{"sub": checkout}} },
		"extra MAY_ACT": func(r *tokens.TokenRequest) { r.Extra = map[string]any{"MAY_ACT": map[string]any{"sub": checkout}} },
	}
	for name, mod := range refused {
		t.Run(name, func(t *testing.T) {
			r := basicRequest()
			mod(&r)
			tok, err := iss.Issue(context.Background(), r)
			assert.ErrorIs(t, err, tokens.ErrInvalidConfig)
			assert.Empty(t, tok)
		})
	}
	t.Run("deepest chain issues", func(t *testing.T) {
		r := basicRequest()
		r.Actor = deep.Actor // MaxActorDepth actors
		require.Equal(t, tokens.MaxActorDepth, r.Actor.Depth())
		c, err := f.v.Verify(context.Background(), issue(t, iss, r))
		require.NoError(t, err)
		assert.Equal(t, tokens.MaxActorDepth, c.Actor.Depth())
	})
}

// TestVerifiedActorSharesNothingWithTheCache: editing the returned actor
// chain does not change what the next Verify of the same token returns.
func TestVerifiedActorSharesNothingWithTheCache(t *testing.T) {
	f := newVerifierFixture(t)
	tok := f.good(t, func(c map[string]any) {
		c["act"] = chain(checkout, storefront)
		c["may_act"] = map[string]any{"sub": gateway}
	})
	for range 3 {
		c, err := f.v.Verify(context.Background(), tok)
		require.NoError(t, err)
		require.Equal(t, []string{checkout, storefront}, c.Actor.Subjects())
		require.Equal(t, gateway, c.MayAct.Subject)
		c.Actor.Subject = "spiffe://evil.example/x"
		c.Actor.Actor.Subject = "spiffe://evil.example/y"
		c.Actor.Actor.Actor = &tokens.Actor{Subject: "spiffe://evil.example/z"}
		c.MayAct.Subject = "spiffe://evil.example/w"
	}
}

// TestClaimsLogValueActors: actor SPIFFE IDs are logged, nearest first; the
// subject and any actor that is not a SPIFFE ID (possibly a person) are not.
func TestClaimsLogValueActors(t *testing.T) {
	f := newVerifierFixture(t)
	c, err := f.v.Verify(context.Background(), f.good(t, func(c map[string]any) {
		c["act"] = chain(checkout, "admin@example.com", "spiffe://shop.example/a b")
		c["may_act"] = map[string]any{"sub": gateway}
	}))
	require.NoError(t, err)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("verified", "token", c)
	out := buf.String()
	assert.Contains(t, out, `"act":"`+checkout+` [REDACTED] [REDACTED]"`)
	assert.Contains(t, out, `"may_act":"`+gateway+`"`)
	assert.NotContains(t, out, "admin@example.com")
	assert.NotContains(t, out, testSubject)

	buf.Reset()
	c, err = f.v.Verify(context.Background(), f.good(t, nil))
	require.NoError(t, err)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("verified", "token", c)
	assert.NotContains(t, buf.String(), `"act"`)
	assert.NotContains(t, buf.String(), `"may_act"`)
}

func TestActorNil(t *testing.T) {
	var a *tokens.Actor
	assert.Equal(t, 0, a.Depth())
	assert.Nil(t, a.Subjects())
}

func TestActorLogValue(t *testing.T) {
	cases := map[string]struct {
		a    *tokens.Actor
		want string
	}{
		"nil":               {nil, ""},
		"one":               {&tokens.Actor{Subject: checkout, Issuer: "https://id.shop.example"}, checkout},
		"chain":             {&tokens.Actor{Subject: checkout, Actor: &tokens.Actor{Subject: storefront}}, checkout + " " + storefront},
		"person":            {&tokens.Actor{Subject: "admin@example.com"}, "[REDACTED]"},
		"scheme only":       {&tokens.Actor{Subject: "spiffe://"}, "[REDACTED]"},
		"space in ID":       {&tokens.Actor{Subject: "spiffe://a/b c"}, "[REDACTED]"},
		"newline in ID":     {&tokens.Actor{Subject: "spiffe://a/b\nlevel=ERROR"}, "[REDACTED]"},
		"non-ASCII in ID":   {&tokens.Actor{Subject: "spiffe://a/é"}, "[REDACTED]"},
		"upper-case scheme": {&tokens.Actor{Subject: "SPIFFE://a/b"}, "[REDACTED]"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.a.LogValue().String())
		})
	}
}

// TestActorPermits: may_act (RFC 8693 §4.4) names one party by sub, and by
// iss too when it has one.
func TestActorPermits(t *testing.T) {
	const iss = "https://id.shop.example"
	var none *tokens.Actor
	bySub := &tokens.Actor{Subject: checkout}
	byBoth := &tokens.Actor{Subject: checkout, Issuer: iss}
	cases := []struct {
		name     string
		mayAct   *tokens.Actor
		sub, iss string
		want     bool
	}{
		{"nil permits nobody", none, checkout, iss, false},
		{"sub only, any issuer", bySub, checkout, "https://other.example", true},
		{"sub only, no issuer", bySub, checkout, "", true},
		{"other sub", bySub, storefront, iss, false},
		{"sub is exact", bySub, checkout + "/", iss, false},
		{"case matters", bySub, strings.ToUpper(checkout), iss, false},
		{"empty sub", &tokens.Actor{}, "", "", false},
		{"sub and iss", byBoth, checkout, iss, true},
		{"sub and other iss", byBoth, checkout, "https://other.example", false},
		{"sub and no iss", byBoth, checkout, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.mayAct.Permits(tc.sub, tc.iss))
		})
	}
}
