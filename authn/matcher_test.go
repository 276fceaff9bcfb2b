package authn_test

import (
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
)

// TestIDMatchers runs every authorizer and combinator, with nil and empty
// arguments, against the peers a payments service may see. Each refusal must
// match ErrPeerNotAuthorized, through the IDMatcher and through its TLS
// adapter alike.
func TestIDMatchers(t *testing.T) {
	td := spiffeid.RequireTrustDomainFromString("shop.example")
	other := spiffeid.RequireTrustDomainFromString("other.example")
	id := func(s string) spiffeid.ID { return spiffeid.RequireFromString(s) }
	var (
		checkout    = id("spiffe://shop.example/checkout")
		storefront  = id("spiffe://shop.example/storefront")
		payments    = id("spiffe://shop.example/payments")
		paymentsEU  = id("spiffe://shop.example/payments/eu")
		paymentsEU2 = id("spiffe://shop.example/payments/eu/fr")
		paymentsX   = id("spiffe://shop.example/paymentsx")
		pay         = id("spiffe://shop.example/pay")
		otherPay    = id("spiffe://other.example/payments")
		otherCheck  = id("spiffe://other.example/checkout")
		tdRoot      = td.ID()
		zero        = spiffeid.ID{}
	)

	type check struct {
		peer  spiffeid.ID
		allow bool
	}
	allow := func(ids ...spiffeid.ID) []check {
		cs := make([]check, len(ids))
		for i, p := range ids {
			cs[i] = check{p, true}
		}
		return cs
	}
	refuse := func(ids ...spiffeid.ID) []check {
		cs := make([]check, len(ids))
		for i, p := range ids {
			cs[i] = check{p, false}
		}
		return cs
	}
	join := func(css ...[]check) []check {
		var out []check
		for _, cs := range css {
			out = append(out, cs...)
		}
		return out
	}

	cases := []struct {
		name   string
		a      authn.IDMatcher
		checks []check
	}{
		{"MatchAny", authn.MatchAny(), allow(checkout, otherPay, paymentsX)},
		{"MatchID", authn.MatchID(checkout), join(allow(checkout), refuse(storefront, otherCheck, tdRoot, zero))},
		{"MatchID of the zero ID", authn.MatchID(zero), refuse(zero, checkout)},
		{"MatchOneOf", authn.MatchOneOf(checkout, storefront), join(allow(checkout, storefront), refuse(payments, otherCheck, zero))},
		{"MatchOneOf of nothing", authn.MatchOneOf(), refuse(checkout, zero)},
		{"MatchOneOf of the zero ID", authn.MatchOneOf(zero), refuse(zero, checkout)},
		{"MatchMemberOf", authn.MatchMemberOf(td), join(allow(checkout, paymentsEU), refuse(otherPay, zero))},
		{"MatchMemberOf the zero trust domain", authn.MatchMemberOf(spiffeid.TrustDomain{}), refuse(checkout, zero)},
		{
			"MatchPathPrefix on a segment boundary",
			authn.MatchPathPrefix(td, "/payments"),
			join(allow(payments, paymentsEU, paymentsEU2), refuse(paymentsX, pay, otherPay, checkout, tdRoot, zero)),
		},
		{
			"MatchPathPrefix with a trailing slash",
			authn.MatchPathPrefix(td, "/payments/"),
			join(allow(payments, paymentsEU), refuse(paymentsX, pay, otherPay)),
		},
		{
			"MatchPathPrefix of a deeper path",
			authn.MatchPathPrefix(td, "/payments/eu"),
			join(allow(paymentsEU, paymentsEU2), refuse(payments, paymentsX)),
		},
		{"MatchPathPrefix in another trust domain", authn.MatchPathPrefix(other, "/payments"), join(allow(otherPay), refuse(payments))},
		{"MatchPathPrefix without a leading slash", authn.MatchPathPrefix(td, "payments"), refuse(payments, paymentsEU, paymentsX)},
		{"MatchPathPrefix empty", authn.MatchPathPrefix(td, ""), refuse(payments, checkout, tdRoot)},
		// "/" loses its slash to the trailing-slash trim and allows no one
		// (fail closed); MatchMemberOf is how to allow a whole trust domain.
		{"MatchPathPrefix of the root allows every workload", authn.MatchPathPrefix(td, "/"), join(allow(payments, checkout), refuse(tdRoot, otherPay))},
		{"MatchPathPrefix with a dot segment", authn.MatchPathPrefix(td, "/payments/../checkout"), refuse(checkout, payments)},
		{"MatchPathPrefix with an empty segment", authn.MatchPathPrefix(td, "//payments"), refuse(payments)},
		{"MatchPathPrefix with a bad character", authn.MatchPathPrefix(td, "/pay ments"), refuse(payments)},
		{"MatchPathPrefix in the zero trust domain", authn.MatchPathPrefix(spiffeid.TrustDomain{}, "/payments"), refuse(payments, otherPay)},
		{"And() allows no one", authn.And(), refuse(checkout, zero)},
		{"And(nil) allows no one", authn.And(nil), refuse(checkout)},
		{"And with a nil member allows no one", authn.And(authn.MatchAny(), nil), refuse(checkout)},
		{"And(Any)", authn.And(authn.MatchAny()), allow(checkout)},
		{
			"And(MemberOf, Not(ID))",
			authn.And(authn.MatchMemberOf(td), authn.Not(authn.MatchID(storefront))),
			join(allow(checkout, payments), refuse(storefront, otherCheck)),
		},
		{
			"And of two prefixes",
			authn.And(authn.MatchPathPrefix(td, "/payments"), authn.MatchPathPrefix(td, "/payments/eu")),
			join(allow(paymentsEU, paymentsEU2), refuse(payments)),
		},
		{"Or() allows no one", authn.Or(), refuse(checkout, zero)},
		{"Or(nil) allows no one", authn.Or(nil), refuse(checkout)},
		{"Or skips a nil member", authn.Or(nil, authn.MatchID(checkout)), join(allow(checkout), refuse(storefront))},
		{
			"Or of two IDs",
			authn.Or(authn.MatchID(checkout), authn.MatchID(storefront)),
			join(allow(checkout, storefront), refuse(payments)),
		},
		{"Not(nil) allows no one", authn.Not(nil), refuse(checkout, zero)},
		// Not alone admits every peer its argument does not name, in any trust
		// domain: documented, and why it should be combined with a positive one.
		{"Not alone", authn.Not(authn.MatchID(storefront)), join(allow(checkout, otherCheck), refuse(storefront))},
		{"Not(Any) allows no one", authn.Not(authn.MatchAny()), refuse(checkout, otherPay)},
		{"Not(Not(ID))", authn.Not(authn.Not(authn.MatchID(checkout))), join(allow(checkout), refuse(storefront))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NotNil(t, tc.a)
			tlsAuthorizer := tc.a.TLS()
			require.NotNil(t, tlsAuthorizer)
			for _, c := range tc.checks {
				err := tc.a(c.peer)
				tlsErr := tlsAuthorizer(c.peer, nil)
				if c.allow {
					assert.NoError(t, err, "peer %q", c.peer)
					assert.NoError(t, tlsErr, "TLS(): peer %q", c.peer)
					continue
				}
				assert.ErrorIs(t, err, authn.ErrPeerNotAuthorized, "peer %q", c.peer)
				assert.ErrorIs(t, tlsErr, authn.ErrPeerNotAuthorized, "TLS(): peer %q", c.peer)
			}
		})
	}
}

// TestNilIDMatcherTLS: the zero IDMatcher allows no one, and its TLS
// adapter refuses rather than panicking.
func TestNilIDMatcherTLS(t *testing.T) {
	var a authn.IDMatcher
	tlsAuthorizer := a.TLS()
	require.NotNil(t, tlsAuthorizer)
	err := tlsAuthorizer(spiffeid.RequireFromString("spiffe://shop.example/checkout"), nil)
	assert.ErrorIs(t, err, authn.ErrPeerNotAuthorized)
}

// TestIDMatcherRefusalNamesPeer: a refusal names the peer it refused (a
// SPIFFE ID is not a secret) so that operators can see who was turned away.
func TestIDMatcherRefusalNamesPeer(t *testing.T) {
	peer := spiffeid.RequireFromString("spiffe://shop.example/storefront")
	err := authn.MatchID(spiffeid.RequireFromString("spiffe://shop.example/checkout"))(peer)
	require.ErrorIs(t, err, authn.ErrPeerNotAuthorized)
	assert.Contains(t, err.Error(), peer.String())
}
