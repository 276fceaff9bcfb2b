package guard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// Step up (RFC 9470): paying needs an authentication of the user at acr
// "mfa" or stronger, at most five minutes old. A customer's token from a
// password login is refused with a 401 and an
// insufficient_user_authentication challenge, which the client reads with
// dpop.Advise (dpop.AdviseHTTP and dpopgrpc.Advise over HTTP and gRPC) as
// "authenticate again, with one of these acr values, no older than this";
// the token it gets after doing so is let through.
func ExampleWithAuthorizer_stepUp() {
	const idp, payments = "https://id.shop.example", "https://payments.shop.example"
	ctx := context.Background()
	// The identity provider, and the payments service's guard: Bearer tokens
	// from it, and the policy.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var iss *tokens.Issuer
	var g *guard.Guard
	if err == nil {
		iss, g, err = stepUpGuard(key, idp, payments)
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	// pay pays with a token of a user who has just authenticated at acr.
	pay := func(acr string) (*guard.Refusal, error) {
		tok, err := iss.Issue(ctx, tokens.TokenRequest{
			Subject: "customer-42", ClientID: "storefront", Audience: []string{payments},
			ACR: acr, AMR: []string{"pwd"}, AuthTime: time.Now(),
		})
		if err != nil {
			return nil, err
		}
		return g.Check(ctx, &inbound.Request{
			Method: http.MethodPost, Path: "/payments", Route: "POST /payments", Authorization: []string{"Bearer " + tok},
		}).Refusal, nil
	}

	ref, err := pay("pwd")
	if err != nil || ref == nil {
		fmt.Println("not refused:", err)
		return
	}
	fmt.Println(ref.Class, ref.Reason, ref.HTTPStatus())
	fmt.Println(ref.Challenges[0])
	adv, err := dpop.Advise("Bearer", ref.Challenges, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(adv.Action, adv.ACRValues, adv.MaxAge)
	// The client has the user authenticate again with acr_values and
	// max_age (RFC 9470 §4), and retries with the new token.
	ref, err = pay(adv.ACRValues[0])
	fmt.Println("after the step-up: refused", ref != nil, err)
	// Output:
	// unauthenticated insufficient_acr 401
	// Bearer realm="payments", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="mfa phr", max_age="300"
	// step_up [mfa phr] 5m0s
	// after the step-up: refused false <nil>
}

// stepUpGuard returns the identity provider idp signing with key, and the
// guard of the service at payments, which needs acr mfa at most five
// minutes old to pay.
func stepUpGuard(key *ecdsa.PrivateKey, idp, payments string) (*tokens.Issuer, *guard.Guard, error) {
	sk, err := tokens.NewSigningKey(key, "")
	if err != nil {
		return nil, nil, err
	}
	ks, err := tokens.NewKeySet(sk)
	if err != nil {
		return nil, nil, err
	}
	iss, err1 := tokens.NewIssuer(idp, ks)
	tv, err2 := tokens.NewVerifier(ks, idp, []string{payments})
	pv, err3 := dpop.NewVerifier()
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, nil, err
	}
	rv, err := dpop.NewRequestVerifier(tv, pv, dpop.WithExternalURL(payments), dpop.WithBearer())
	if err != nil {
		return nil, nil, err
	}
	a, err1 := authn.New(authn.Policy{Token: authn.AccessToken}, authn.WithAccessTokens(rv))
	az, err2 := authz.AuthorizePolicy(authz.Policy{
		ACRLevels: []string{"pwd", "mfa", "phr"},
		Rules: []authz.Rule{{
			ID: "pay", Effect: authz.Allow, Routes: []string{"POST /payments"},
			Match: authz.Match{MinACR: "mfa", MaxAuthAge: authz.Duration(5 * time.Minute)},
		}},
	})
	if err := errors.Join(err1, err2); err != nil {
		return nil, nil, err
	}
	g, err := guard.New(a, guard.WithAuthorizer(az), guard.WithRealm("payments"))
	return iss, g, err
}
