package authn_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// TestPrincipalSlicesAreTheRequestsOwn: a handler that edits or appends to
// the slices of its Principal must not change the Principal of the next
// request with the same token, which the verifier serves from its cache.
func TestPrincipalSlicesAreTheRequestsOwn(t *testing.T) {
	const target = "https://payments.shop.example/settle"
	rig := shoprig.NewTokens(t)
	a, err := authn.New(authn.Policy{Token: authn.AccessToken},
		authn.WithAccessTokens(rig.RequestVerifier(t, "https://payments.shop.example", nil, nil, dpop.WithBearer())))
	require.NoError(t, err)
	tok := rig.HandToken(t, rig.SigningKey, func(_, c map[string]any) {
		delete(c, "cnf")
		c["aud"] = []string{shoprig.Audience, "https://other.shop.example"}
		c["scope"] = "orders:read payments:write"
		c["roles"], c["groups"], c["amr"] = []string{"customer"}, []string{"eu"}, []string{"pwd", "otp"}
	})
	authenticate := func(t *testing.T) *authn.Principal {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, target, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		p, err := a.Authenticate(r.Context(), r)
		require.NoError(t, err)
		return p
	}
	fields := func(p *authn.Principal) map[string]*[]string {
		return map[string]*[]string{"Audience": &p.Audience, "Scopes": &p.Scopes, "Roles": &p.Roles, "Groups": &p.Groups, "AMR": &p.AMR}
	}
	want := map[string][]string{}
	for name, s := range fields(authenticate(t)) {
		require.NotEmpty(t, *s, name)
		want[name] = slices.Clone(*s)
	}
	for name, edit := range map[string]func(*[]string){
		"assign":             func(s *[]string) { (*s)[0] = "admin" },
		"append":             func(s *[]string) { *s = append(*s, "admin") },
		"write up to cap":    func(s *[]string) { full := (*s)[:cap(*s)]; full[len(full)-1] = "admin" },
		"append to a prefix": func(s *[]string) { _ = append((*s)[:1], "admin", "admin", "admin") },
	} {
		t.Run(name, func(t *testing.T) {
			p := authenticate(t)
			for _, s := range fields(p) {
				edit(s)
			}
			next := authenticate(t)
			for field, s := range fields(next) {
				assert.Equal(t, want[field], *s, field)
			}
			assert.False(t, next.HasScope("admin"))
		})
	}
}

// TestAuthenticateRefusesUnenforceableConfirmation: with Bearer accepted, a
// token whose cnf ztkit cannot enforce never yields an unbound Principal.
func TestAuthenticateRefusesUnenforceableConfirmation(t *testing.T) {
	const target = "https://payments.shop.example/settle"
	rig := shoprig.NewTokens(t)
	a, err := authn.New(authn.Policy{Token: authn.AccessToken},
		authn.WithAccessTokens(rig.RequestVerifier(t, "https://payments.shop.example", nil, nil, dpop.WithBearer())))
	require.NoError(t, err)
	for name, cnf := range map[string]any{
		"jwk":            map[string]any{"jwk": map[string]any{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}},
		"kid":            map[string]any{"kid": "k1"},
		"unknown member": map[string]any{"foo": "bar"},
		"upper-case JKT": map[string]any{"JKT": rig.Proofer.Thumbprint()},
		"empty":          map[string]any{},
		"null":           nil,
		"not an object":  "jkt",
	} {
		t.Run(name, func(t *testing.T) {
			tok := rig.HandToken(t, rig.SigningKey, func(_, c map[string]any) { c["cnf"] = cnf })
			r := httptest.NewRequest(http.MethodPost, target, nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			p, err := a.Authenticate(r.Context(), r)
			assert.ErrorIs(t, err, tokens.ErrUnsupportedConfirmation)
			assert.Nil(t, p)
		})
	}
	t.Run("invalid scope", func(t *testing.T) {
		tok := rig.HandToken(t, rig.SigningKey, func(_, c map[string]any) { delete(c, "cnf"); c["scope"] = "orders:read\u00a0admin" })
		r := httptest.NewRequest(http.MethodPost, target, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		p, err := a.Authenticate(r.Context(), r)
		assert.ErrorIs(t, err, tokens.ErrInvalidScope)
		assert.Nil(t, p)
	})
}

// TestPrincipalActor: the Principal carries the token's act chain (RFC 8693
// §4.1) nearest first, its current actor as a SPIFFE ID, a chain of its own
// per request, and an act claim that cannot be read refuses the request.
func TestPrincipalActor(t *testing.T) {
	const target = "https://payments.shop.example/settle"
	rig := shoprig.NewTokens(t)
	a, err := authn.New(authn.Policy{Token: authn.AccessToken},
		authn.WithAccessTokens(rig.RequestVerifier(t, "https://payments.shop.example", nil, nil, dpop.WithBearer())))
	require.NoError(t, err)
	authenticate := func(t *testing.T, act any) (*authn.Principal, error) {
		t.Helper()
		tok := rig.HandToken(t, rig.SigningKey, func(_, c map[string]any) {
			delete(c, "cnf")
			if act != nil {
				c["act"] = act
			}
		})
		r := httptest.NewRequest(http.MethodPost, target, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return a.Authenticate(r.Context(), r)
	}
	chain := map[string]any{"sub": shoprig.Checkout.String(), "act": map[string]any{"sub": shoprig.Storefront.String()}}

	t.Run("no act", func(t *testing.T) {
		p, err := authenticate(t, nil)
		require.NoError(t, err)
		assert.Nil(t, p.Actor)
		assert.True(t, p.ActorID().IsZero())
	})
	t.Run("chain nearest first", func(t *testing.T) {
		p, err := authenticate(t, chain)
		require.NoError(t, err)
		assert.Equal(t, []string{shoprig.Checkout.String(), shoprig.Storefront.String()}, p.Actor.Subjects())
		assert.Equal(t, shoprig.Checkout, p.ActorID())
		p.Actor.Subject = shoprig.Storefront.String() // the next request's principal is its own
		next, err := authenticate(t, chain)
		require.NoError(t, err)
		assert.Equal(t, shoprig.Checkout, next.ActorID())
	})
	t.Run("actor that is not a SPIFFE ID", func(t *testing.T) {
		p, err := authenticate(t, map[string]any{"sub": "admin@example.com"})
		require.NoError(t, err)
		assert.Equal(t, "admin@example.com", p.Actor.Subject)
		assert.True(t, p.ActorID().IsZero())
	})
	t.Run("invalid act refuses", func(t *testing.T) {
		p, err := authenticate(t, map[string]any{"iss": shoprig.Issuer})
		assert.ErrorIs(t, err, tokens.ErrInvalidActor)
		assert.Nil(t, p)
	})
	t.Run("nil principal", func(t *testing.T) {
		var p *authn.Principal
		assert.True(t, p.ActorID().IsZero())
	})
}
