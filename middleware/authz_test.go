package middleware_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// TestMiddlewareAuthorizes: after authentication the policy decides; a
// missing scope is a 403 with an RFC 6750 §3.1 insufficient_scope challenge
// naming the scope, other denials a plain 403 with the reason code; the
// client's advice is to ask for that scope, or to give up.
func TestMiddlewareAuthorizes(t *testing.T) {
	cases := []struct {
		name       string
		rule       authz.Rule
		status     int
		challenge  string
		reasonCode string
		// advice is what dpop.AdviseHTTP tells the client.
		advice dpop.Advice
	}{
		{
			name:   "allowed with the scope",
			rule:   authz.Rule{ID: "orders", Effect: authz.Allow, Routes: []string{"GET /orders/{id}"}, Match: authz.Match{AllScopes: []string{"payments:write"}}},
			status: http.StatusOK,
		},
		{
			name:       "missing scope",
			rule:       authz.Rule{ID: "orders", Effect: authz.Allow, Routes: []string{"GET /orders/{id}"}, Match: authz.Match{AllScopes: []string{"refunds:write"}}},
			status:     http.StatusForbidden,
			challenge:  `DPoP realm="payments", error="insufficient_scope", algs="ES256 ES384 EdDSA Ed25519 PS256 RS256", scope="refunds:write"`,
			reasonCode: "insufficient_scope",
			advice: dpop.Advice{Action: dpop.ActionRequestScopes, Scheme: "DPoP", Error: "insufficient_scope",
				Scopes: []string{"refunds:write"}, Algs: []string{"ES256", "ES384", "EdDSA", "Ed25519", "PS256", "RS256"}},
		},
		{
			name:       "no rule for the route",
			rule:       authz.Rule{ID: "other", Effect: authz.Allow, Routes: []string{"GET /refunds/{id}"}, Match: authz.Match{AnyPrincipal: true}},
			status:     http.StatusForbidden,
			reasonCode: "no_rule",
		},
		{
			name:       "forbidden",
			rule:       authz.Rule{ID: "block", Effect: authz.Forbid, Routes: []string{"GET /orders/{id}"}, Match: authz.Match{AnyPrincipal: true}},
			status:     http.StatusForbidden,
			reasonCode: "forbidden",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			az, err := authz.AuthorizePolicy(authz.Policy{Rules: []authz.Rule{tc.rule}})
			require.NoError(t, err)
			rig := shoprig.NewTokens(t)
			s := mwStart(t, rig, mwOptions{token: authn.DPoPBoundToken, mwopts: []guard.Option{guard.WithAuthorizer(az)}})
			client := &http.Client{Transport: rig.Transport(s.client.Transport, rig.Token(t, nil))}
			resp := s.do(t, client, mwPath, http.Header{"Accept": {"application/problem+json"}})
			require.Equal(t, tc.status, resp.StatusCode, resp.body)
			if tc.status == http.StatusOK {
				assert.Equal(t, "order 123", resp.body)
				return
			}
			if tc.challenge != "" {
				assert.Equal(t, []string{tc.challenge}, resp.Header.Values("WWW-Authenticate"))
			} else {
				assert.Empty(t, resp.Header.Values("WWW-Authenticate"))
			}
			assert.Contains(t, resp.body, `"code":"`+tc.reasonCode+`"`)
			adv, err := dpop.AdviseHTTP(resp.Response)
			require.NoError(t, err)
			assert.Equal(t, tc.advice, adv, "a denial other than insufficient_scope is given up on")
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		})
	}
}
