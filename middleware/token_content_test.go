package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/middleware"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// TestTokenContentRefusals: a token refused for its scope claim (RFC 6749
// §3.3) or for a cnf ztkit cannot enforce (RFC 7800 §3) is answered 401
// invalid_token (RFC 6750 §3.1), never 500 and never let through.
func TestTokenContentRefusals(t *testing.T) {
	rig := shoprig.NewTokens(t)
	a, err := authn.New(authn.Policy{Token: authn.AccessToken},
		authn.WithAccessTokens(rig.RequestVerifier(t, "https://payments.shop.example", nil, nil, dpop.WithBearer())))
	require.NoError(t, err)
	mw, err := middleware.New(a)
	require.NoError(t, err)
	var reached bool
	h := mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	for name, edit := range map[string]func(c map[string]any){
		"scope with U+00A0": func(c map[string]any) { delete(c, "cnf"); c["scope"] = "orders:read\u00a0admin" },
		"scope with U+3000": func(c map[string]any) { delete(c, "cnf"); c["scope"] = "orders:read\u3000admin" },
		"scope as array":    func(c map[string]any) { delete(c, "cnf"); c["scope"] = []string{"admin"} },
		"cnf jwk":           func(c map[string]any) { c["cnf"] = map[string]any{"jwk": map[string]any{"kty": "EC"}} },
		"cnf empty":         func(c map[string]any) { c["cnf"] = map[string]any{} },
		"cnf upper-case JKT": func(c map[string]any) {
			c["cnf"] = map[string]any{"JKT": rig.Proofer.Thumbprint()}
		},
	} {
		t.Run(name, func(t *testing.T) {
			reached = false
			tok := rig.HandToken(t, rig.SigningKey, func(_, c map[string]any) { edit(c) })
			r := httptest.NewRequest(http.MethodGet, "https://payments.shop.example/orders", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, http.StatusUnauthorized, w.Code)
			assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error="invalid_token"`)
			assert.False(t, reached)
		})
	}
}
