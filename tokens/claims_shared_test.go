package tokens_test

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
)

// claimsSlices names every slice field of Claims, for the tests that edit them.
func claimsSlices(c *tokens.Claims) map[string]*[]string {
	return map[string]*[]string{
		"Audience": &c.Audience, "Scopes": &c.Scopes, "AMR": &c.AMR,
		"Roles": &c.Roles, "Groups": &c.Groups, "Entitlements": &c.Entitlements,
	}
}

// TestVerifiedClaimsShareNothingWithTheCache: a handler that edits the
// returned claims' slices in place, appends to them (into spare capacity, if
// there were any) or re-slices them up to their capacity must not change what
// the next Verify of the same token returns, cached or not.
func TestVerifiedClaimsShareNothingWithTheCache(t *testing.T) {
	f := newVerifierFixture(t)
	iss := newIssuer(t, f.ks, tokens.WithClock(fixedClock(testNow)))
	small := basicRequest()
	small.Scopes = []string{"orders:read", "cart:write"}
	small.AMR = []string{"pwd"}
	small.Roles, small.Groups, small.Entitlements = []string{"viewer"}, []string{"eu"}, []string{"e1"}
	big := basicRequest() // more elements than fit beside the claims
	big.Audience = []string{testAudience, "https://b.example", "https://c.example"}
	big.Scopes = []string{"s1", "s2", "s3", "s4"}
	big.AMR = []string{"pwd", "otp"}
	big.Roles, big.Groups, big.Entitlements = []string{"viewer", "buyer"}, []string{"eu"}, []string{"e1", "e2"}

	edits := map[string]func(s *[]string){
		"assign first element": func(s *[]string) { (*s)[0] = "admin" },
		"append":               func(s *[]string) { *s = append(*s, "admin") },
		"append to a prefix": func(s *[]string) {
			_ = append((*s)[:0], "admin", "admin", "admin", "admin", "admin", "admin", "admin", "admin", "admin")
		},
		"write past len within cap": func(s *[]string) {
			full := (*s)[:cap(*s)]
			for i := range full {
				full[i] = "admin"
			}
		},
		"sort in place": func(s *[]string) { slices.Sort(*s); slices.Reverse(*s) },
	}
	for _, req := range []struct {
		name string
		r    tokens.TokenRequest
	}{{"small token", small}, {"large token", big}} {
		tok := issue(t, iss, req.r)
		for _, cache := range []int{tokens.DefaultCacheSize, 0} {
			v := newVerifier(t, f.ks, tokens.WithClock(fixedClock(testNow)), tokens.WithCacheSize(cache))
			ref, err := v.Verify(context.Background(), tok)
			require.NoError(t, err)
			want := map[string][]string{}
			for field, s := range claimsSlices(ref) {
				want[field] = slices.Clone(*s)
				require.NotEmpty(t, *s, "the token sets %s", field)
			}
			for editName, edit := range edits {
				for field := range want {
					t.Run(req.name+"/cache "+strconv.Itoa(cache)+"/"+editName+" "+field, func(t *testing.T) {
						got, err := v.Verify(context.Background(), tok)
						require.NoError(t, err)
						s := claimsSlices(got)[field]
						edit(s)
						// The other fields of the same claims are untouched too.
						for other, os := range claimsSlices(got) {
							if other != field {
								assert.Equal(t, want[other], *os, "%s changed by an edit of %s", other, field)
							}
						}
						again, err := v.Verify(context.Background(), tok)
						require.NoError(t, err)
						for f2, s2 := range claimsSlices(again) {
							assert.Equal(t, want[f2], *s2, "%s changed by an edit of an earlier result", f2)
						}
						assert.False(t, again.HasScope("admin"))
						assert.False(t, again.HasAudience("admin"))
					})
				}
			}
		}
	}
}

// TestVerifiedClaimsKeepNilAndEmpty: the copy keeps an absent claim nil and
// a present empty list empty.
func TestVerifiedClaimsKeepNilAndEmpty(t *testing.T) {
	f := newVerifierFixture(t)
	tok := f.good(t, func(c map[string]any) { c["roles"] = []string{}; delete(c, "scope") })
	for range 2 { // the second is a cache hit
		c, err := f.v.Verify(context.Background(), tok)
		require.NoError(t, err)
		assert.Nil(t, c.Scopes)
		assert.NotNil(t, c.Roles)
		assert.Empty(t, c.Roles)
		assert.Nil(t, c.Groups)
	}
}
