package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/authz/authztest"
	"github.com/ztkit/ztkit/tokens"
)

// fixture is what the what-if tables share: the engine's clock and the
// shop's SPIFFE IDs.
type fixture struct {
	now                                    time.Time
	storefront, checkout, account, console spiffeid.ID
}

func newFixture() fixture {
	return fixture{
		now:        time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC),
		storefront: spiffeid.RequireFromString(policyStorefrontID),
		checkout:   spiffeid.RequireFromString(policyCheckoutID),
		account:    spiffeid.RequireFromString("spiffe://shop.example/account"),
		console:    spiffeid.RequireFromString("spiffe://shop.example/admin-console"),
	}
}

// engine compiles a policy file's text with the fixture's clock.
func (f fixture) engine(t *testing.T, text []byte) *authz.Engine {
	t.Helper()
	p, err := authz.Parse("policy.json", text)
	require.NoError(t, err)
	e, err := authz.New(p, authz.WithClock(func() time.Time { return f.now }))
	require.NoError(t, err)
	return e
}

// customer is a signed-in customer's DPoP-bound token, sent by the workload
// peer, as the identity service issues it to the storefront. Each call
// returns a new Principal, so cases may change it.
func (f fixture) customer(peer spiffeid.ID, scopes ...string) *authn.Principal {
	return &authn.Principal{
		Peer: peer, Subject: "customer-42", ClientID: "storefront", Kind: authn.UserKind,
		Scopes: scopes, ACR: "mfa", AMR: []string{"pwd", "otp"}, AuthTime: f.now.Add(-2 * time.Minute),
		Binding: authn.BoundToDPoPKey, Methods: authn.MethodMTLS | authn.MethodDPoP,
	}
}

// exchanged is the customer's token after a token exchange at the
// identity service: issued to actor (its client_id and act claim) to act for
// the customer, sent by the workload peer.
func (f fixture) exchanged(peer, actor spiffeid.ID, scopes ...string) *authn.Principal {
	return with(f.customer(peer, scopes...), func(p *authn.Principal) {
		p.ClientID = actor.String()
		p.Actor = &tokens.Actor{Subject: actor.String()}
	})
}

// admin is a back-office user who signed in with a hardware key five
// minutes ago, through the admin console.
func (f fixture) admin() *authn.Principal {
	return &authn.Principal{
		Peer: f.console, Subject: "ops-7", ClientID: "admin-console", Kind: authn.UserKind,
		Roles: []string{"admin"}, ACR: "phr", AMR: []string{"hwk", "pin"}, AuthTime: f.now.Add(-5 * time.Minute),
		Binding: authn.BoundToDPoPKey, Methods: authn.MethodMTLS | authn.MethodDPoP,
	}
}

// with returns p after f changed it.
func with(p *authn.Principal, f func(*authn.Principal)) *authn.Principal {
	f(p)
	return p
}

func req(method, path string) authz.Request { return authz.Request{Method: method, Path: path} }

// TestPolicyWhatIf is the embedded policy's what-if table: for each of the
// four services, who may call what, and why the others may not.
func TestPolicyWhatIf(t *testing.T) {
	f := newFixture()
	storefrontID, checkoutID, accountID := f.storefront, f.checkout, f.account
	customer, admin := f.customer, f.admin
	e := f.engine(t, defaultPolicy)
	bearer := func(p *authn.Principal) { p.Binding, p.Methods = authn.NoBinding, authn.MethodMTLS|authn.MethodBearer }
	workload := func(p *authn.Principal) { p.Subject, p.Kind = p.ClientID, authn.WorkloadKind }

	authztest.Run(t, e, []authztest.Case{
		// Storefront: the catalogue is public, the cart is the customer's.
		{Name: "storefront/anyone browses the catalogue", Principal: nil, Request: req("GET", "/products/sku-123"),
			Allow: true, Reason: authz.ReasonAllowed, RuleID: "storefront-catalogue"},
		{Name: "storefront/HEAD is GET", Principal: nil, Request: req("HEAD", "/products"),
			Allow: true, RuleID: "storefront-catalogue"},
		{Name: "storefront/static files", Principal: nil, Request: req("GET", "/static/css/shop.css"),
			Allow: true, RuleID: "storefront-catalogue"},
		{Name: "storefront/anonymous cart", Principal: nil, Request: req("GET", "/cart"),
			Reason: authz.ReasonKindMismatch, RuleID: "storefront-cart-read"},
		{Name: "storefront/customer reads the cart", Principal: customer(storefrontID, "cart:read"), Request: req("GET", "/cart"),
			Allow: true, RuleID: "storefront-cart-read"},
		{Name: "storefront/cart:read cannot add to the cart", Principal: customer(storefrontID, "cart:read"), Request: req("PUT", "/cart/items/sku-123"),
			Reason: authz.ReasonInsufficientScope, RuleID: "storefront-cart-write"},
		{Name: "storefront/cart with a bearer token", Principal: with(customer(storefrontID, "cart:write"), bearer), Request: req("DELETE", "/cart/items/sku-123"),
			Reason: authz.ReasonBindingRequired, RuleID: "storefront-cart-write"},
		{Name: "storefront/no one deletes products", Principal: admin(), Request: req("DELETE", "/products/sku-123"),
			Reason: authz.ReasonNoRule},

		// Checkout: orders from the storefront, for a customer, DPoP-bound.
		{Name: "checkout/storefront places an order", Principal: customer(storefrontID, "checkout:write"), Request: req("POST", "/orders"),
			Allow: true, Reason: authz.ReasonAllowed, RuleID: "checkout-place-order"},
		{Name: "checkout/order without checkout:write", Principal: customer(storefrontID, "cart:read"), Request: req("POST", "/orders"),
			Reason: authz.ReasonInsufficientScope, RuleID: "checkout-place-order"},
		{Name: "checkout/order from another workload", Principal: customer(checkoutID, "checkout:write"), Request: req("POST", "/orders"),
			Reason: authz.ReasonPeerMismatch, RuleID: "checkout-place-order"},
		{Name: "checkout/order with a workload's own token", Principal: with(customer(storefrontID, "checkout:write"), workload), Request: req("POST", "/orders"),
			Reason: authz.ReasonKindMismatch, RuleID: "checkout-place-order"},
		{Name: "checkout/order with a bearer token", Principal: with(customer(storefrontID, "checkout:write"), bearer), Request: req("POST", "/orders"),
			Reason: authz.ReasonBindingRequired, RuleID: "checkout-place-order"},
		{Name: "checkout/storefront reads an order", Principal: customer(storefrontID, "orders:read"), Request: req("GET", "/orders/ord_1001"),
			Allow: true, RuleID: "checkout-read-order"},
		{Name: "checkout/account service reads an order", Principal: customer(accountID, "orders:read"), Request: req("GET", "/orders/ord_1001"),
			Allow: true, RuleID: "checkout-read-order"},
		{Name: "checkout/order read without orders:read", Principal: customer(storefrontID, "checkout:write"), Request: req("GET", "/orders/ord_1001"),
			Reason: authz.ReasonInsufficientScope, RuleID: "checkout-read-order"},
		{Name: "checkout/no rule cancels orders", Principal: customer(storefrontID, "checkout:write", "orders:read"), Request: req("DELETE", "/orders/ord_1001"),
			Reason: authz.ReasonNoRule},
		{Name: "checkout/unclean path", Principal: customer(storefrontID, "orders:read"), Request: req("GET", "/orders/../admin/x"),
			Reason: authz.ReasonBadRequest},

		// Payments: only checkout, for a customer who passed MFA.
		{Name: "payments/checkout charges", Principal: f.exchanged(checkoutID, checkoutID, "payments:write"), Request: req("POST", "/payments"),
			Allow: true, Reason: authz.ReasonAllowed, RuleID: "payments-from-checkout"},
		{Name: "payments/checkout saves a card", Principal: f.exchanged(checkoutID, checkoutID, "payments:write"), Request: req("PUT", "/customers/customer-42/payment-methods"),
			Allow: true, RuleID: "payments-from-checkout"},
		{Name: "payments/stronger acr is enough", Principal: with(f.exchanged(checkoutID, checkoutID, "payments:write"), func(p *authn.Principal) { p.ACR = "phr" }), Request: req("POST", "/payments"),
			Allow: true, RuleID: "payments-from-checkout"},
		{Name: "payments/storefront cannot charge", Principal: customer(storefrontID, "payments:write"), Request: req("POST", "/payments"),
			Reason: authz.ReasonPeerMismatch, RuleID: "payments-from-checkout"},
		{Name: "payments/checkout's own token names no actor", Principal: with(customer(checkoutID, "payments:write"), func(p *authn.Principal) { p.ClientID = "checkout"; workload(p) }), Request: req("POST", "/shop.payments.v1.Payments/Charge"),
			Reason: authz.ReasonActorMismatch, RuleID: "payments-from-checkout"},
		{Name: "payments/the customer's token, not exchanged", Principal: customer(checkoutID, "payments:write"), Request: req("POST", "/shop.payments.v1.Payments/Charge"),
			Reason: authz.ReasonActorMismatch, RuleID: "payments-from-checkout"},
		{Name: "payments/a token the storefront acts with, sent by checkout", Principal: f.exchanged(checkoutID, storefrontID, "payments:write"), Request: req("POST", "/shop.payments.v1.Payments/Charge"),
			Reason: authz.ReasonActorMismatch, RuleID: "payments-from-checkout"},
		{Name: "payments/checkout only a prior actor", Principal: with(f.exchanged(checkoutID, accountID, "payments:write"), func(p *authn.Principal) {
			p.Actor.Actor = &tokens.Actor{Subject: checkoutID.String()}
		}), Request: req("POST", "/shop.payments.v1.Payments/Charge"),
			Reason: authz.ReasonActorMismatch, RuleID: "payments-from-checkout"},
		{Name: "payments/checkout acting for the customer charges over gRPC", Principal: f.exchanged(checkoutID, checkoutID, "payments:write"), Request: req("POST", "/shop.payments.v1.Payments/Charge"),
			Allow: true, RuleID: "payments-from-checkout"},
		{Name: "payments/password only", Principal: with(f.exchanged(checkoutID, checkoutID, "payments:write"), func(p *authn.Principal) { p.ACR = "pwd" }), Request: req("POST", "/payments"),
			Reason: authz.ReasonInsufficientACR, RuleID: "payments-from-checkout"},
		{Name: "payments/acr off the ladder", Principal: with(f.exchanged(checkoutID, checkoutID, "payments:write"), func(p *authn.Principal) { p.ACR = "urn:other:gold" }), Request: req("POST", "/payments"),
			Reason: authz.ReasonInsufficientACR, RuleID: "payments-from-checkout"},
		{Name: "payments/without payments:write", Principal: f.exchanged(checkoutID, checkoutID, "checkout:write"), Request: req("PUT", "/customers/customer-42/payment-methods"),
			Reason: authz.ReasonInsufficientScope, RuleID: "payments-from-checkout"},
		{Name: "payments/no rule lists payments", Principal: f.exchanged(checkoutID, checkoutID, "payments:write"), Request: req("GET", "/payments"),
			Reason: authz.ReasonNoRule},

		// Admin: role admin, hardware key, recent sign-in, bound token; never via the storefront.
		{Name: "admin/admin with a DPoP-bound token", Principal: admin(), Request: req("POST", "/admin/refunds/ord_1001"),
			Allow: true, Reason: authz.ReasonAllowed, RuleID: "admin-console"},
		{Name: "admin/admin with a certificate-bound token", Principal: with(admin(), func(p *authn.Principal) { p.Binding = authn.BoundToCertificate }), Request: req("GET", "/admin/orders"),
			Allow: true, RuleID: "admin-console"},
		{Name: "admin/the whole subtree", Principal: admin(), Request: req("GET", "/admin/"),
			Allow: true, RuleID: "admin-console"},
		{Name: "admin/through the storefront", Principal: with(admin(), func(p *authn.Principal) { p.Peer = storefrontID }), Request: req("GET", "/admin/orders"),
			Reason: authz.ReasonForbidden, RuleID: "storefront-never-admin"},
		{Name: "admin/customer through the storefront", Principal: customer(storefrontID, "checkout:write"), Request: req("GET", "/admin/orders"),
			Reason: authz.ReasonForbidden, RuleID: "storefront-never-admin"},
		{Name: "admin/customer", Principal: customer(accountID, "checkout:write"), Request: req("GET", "/admin/orders"),
			Reason: authz.ReasonInsufficientACR, RuleID: "admin-console"},
		{Name: "admin/without a hardware key", Principal: with(admin(), func(p *authn.Principal) { p.AMR = []string{"pwd", "otp"} }), Request: req("GET", "/admin/orders"),
			Reason: authz.ReasonInsufficientAMR, RuleID: "admin-console"},
		{Name: "admin/signed in an hour ago", Principal: with(admin(), func(p *authn.Principal) { p.AuthTime = f.now.Add(-time.Hour) }), Request: req("GET", "/admin/orders"),
			Reason: authz.ReasonAuthTooOld, RuleID: "admin-console"},
		{Name: "admin/bearer token", Principal: with(admin(), bearer), Request: req("GET", "/admin/orders"),
			Reason: authz.ReasonBindingRequired, RuleID: "admin-console"},
		{Name: "admin/not an admin", Principal: with(admin(), func(p *authn.Principal) { p.Roles = []string{"support"} }), Request: req("GET", "/admin/orders"),
			Reason: authz.ReasonMissingRole, RuleID: "admin-console"},
		{Name: "admin/a workload", Principal: with(admin(), workload), Request: req("GET", "/admin/orders"),
			Reason: authz.ReasonKindMismatch, RuleID: "admin-console"},
	})
}

// TestPolicyShadowAndEdits checks the shadow rule and the scenario's two
// edits of the file: enforcing it, and the typo the engine must reject.
func TestPolicyShadowAndEdits(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	storefrontID, accountID, customer := f.storefront, f.account, f.customer
	read := req("GET", "/orders/ord_1001")

	d := f.engine(t, defaultPolicy).Decide(ctx, customer(storefrontID, "orders:read"), read)
	assert.True(t, d.Allow, "a shadow rule does not change the decision")
	assert.Equal(t, "checkout-read-order", d.RuleID)
	assert.True(t, d.ShadowDeny, "but reports what it would do")
	assert.Equal(t, "retire-storefront-order-reads", d.ShadowRuleID)
	assert.Equal(t, authz.ReasonForbidden, d.ShadowReason)

	enforced, err := replaceOnce(defaultPolicy, shadowLine, "")
	require.NoError(t, err)
	e := f.engine(t, enforced)
	authztest.Run(t, e, []authztest.Case{
		{Name: "enforced/storefront no longer reads orders", Principal: customer(storefrontID, "orders:read"), Request: read,
			Reason: authz.ReasonForbidden, RuleID: "retire-storefront-order-reads"},
		{Name: "enforced/the account service still does", Principal: customer(accountID, "orders:read"), Request: read,
			Allow: true, RuleID: "checkout-read-order"},
		{Name: "enforced/the storefront still places orders", Principal: customer(storefrontID, "checkout:write"), Request: req("POST", "/orders"),
			Allow: true, RuleID: "checkout-place-order"},
	})

	broken, err := replaceOnce(enforced, paymentsACR, typoACR)
	require.NoError(t, err)
	_, err = authz.Parse("policy.json", broken)
	require.ErrorIs(t, err, authz.ErrInvalidPolicy)
	require.ErrorIs(t, err, authz.ErrUnknownACR)
	var pe *authz.PolicyError
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, "policy.json", pe.File)
	assert.Equal(t, "payments-from-checkout", pe.RuleID)
	assert.Equal(t, "match.min_acr", pe.Field)
	assert.Positive(t, pe.Line)
}

// TestForWorkloads: with a SPIRE agent's identities, the copy the checkout
// watches names them instead of shop.example's.
func TestForWorkloads(t *testing.T) {
	f := newFixture()
	storefrontID, checkoutID, customer, admin := f.storefront, f.checkout, f.customer, f.admin
	td := spiffeid.RequireTrustDomainFromString("ztkit.test")
	w := &workloads{storefrontID: spiffeid.RequireFromPath(td, "/web"), checkoutID: spiffeid.RequireFromPath(td, "/orders")}
	text := forWorkloads(defaultPolicy, w)
	assert.NotContains(t, string(text), policyStorefrontID)
	assert.NotContains(t, string(text), policyCheckoutID)

	authztest.Run(t, f.engine(t, text), []authztest.Case{
		{Name: "agent's storefront places an order", Principal: customer(w.storefrontID, "checkout:write"), Request: req("POST", "/orders"),
			Allow: true, RuleID: "checkout-place-order"},
		{Name: "shop.example's storefront does not", Principal: customer(storefrontID, "checkout:write"), Request: req("POST", "/orders"),
			Reason: authz.ReasonPeerMismatch, RuleID: "checkout-place-order"},
		{Name: "agent's checkout charges", Principal: f.exchanged(w.checkoutID, w.checkoutID, "payments:write"), Request: req("POST", "/payments"),
			Allow: true, RuleID: "payments-from-checkout"},
		{Name: "agent's storefront never reaches admin", Principal: with(admin(), func(p *authn.Principal) { p.Peer = w.storefrontID }), Request: req("GET", "/admin/orders"),
			Reason: authz.ReasonForbidden, RuleID: "storefront-never-admin"},
	})

	same := &workloads{storefrontID: storefrontID, checkoutID: checkoutID}
	assert.Equal(t, defaultPolicy, forWorkloads(defaultPolicy, same), "the embedded issuer's IDs leave the file as it is")
}

func TestReplaceOnce(t *testing.T) {
	got, err := replaceOnce([]byte("a b c"), "b", "x")
	require.NoError(t, err)
	assert.Equal(t, "a x c", string(got))
	_, err = replaceOnce([]byte("a b b"), "b", "x")
	assert.Error(t, err, "twice")
	_, err = replaceOnce([]byte("a c"), "b", "x")
	assert.Error(t, err, "absent")
}

// TestPolicyCasesFile runs policy_cases.json, the what-if file that
// "ztkit policy test -policy policy.json policy_cases.json" runs in CI
// without Go code.
func TestPolicyCasesFile(t *testing.T) {
	p, err := authz.Parse("policy.json", defaultPolicy)
	require.NoError(t, err)
	cases, err := authztest.LoadCases("policy_cases.json", time.Now())
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	authztest.RunCases(t, p, cases)
}
