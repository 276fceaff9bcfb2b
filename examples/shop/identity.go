package main

import (
	"context"
	"crypto"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"

	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/sts"
	stotp "github.com/ztkit/ztkit/tokens/sts/totp"
)

// identityIssuer is the identity service's issuer identifier (RFC 8414 §2),
// the iss of its tokens and the audience of the JWT-SVIDs actors present to
// it: an https URL that names the service, wherever it listens (here,
// plain HTTP on loopback).
const identityIssuer = "https://id.shop.example"

// checkoutClientID is checkout's client_id for the client_credentials grant
// (private_key_jwt): the tokens it gets for itself, which name no customer.
const checkoutClientID = "checkout"

// customerID is the signed-in customer of the demo.
const customerID = "customer-42"

// identity is the shop's authorization server: it publishes its keys as a
// JWK Set, signs customers in, and serves the library's token endpoint
// (tokens/sts) for the workloads: token exchange (RFC 8693) for checkout,
// acting for the customer whose token it received, and client_credentials
// (RFC 6749 §4.4, private_key_jwt) for checkout's own tokens; and step-up
// (RFC 9470) for the storefront, whose customer's token it raises to acr mfa
// after a TOTP code (RFC 6238). Every token it issues is DPoP-bound (RFC 9449).
type identity struct {
	issuer *tokens.Issuer
	keys   *tokens.KeySet
	sts    *sts.Server
	// url is where the identity service listens: the base of /token.
	url string
	// checkout is checkout's SPIFFE ID: the one actor customers' tokens name
	// in may_act.
	checkout string
	// totpSecret is the customer's TOTP secret (base32), as enrolled in
	// their authenticator app: a random one made at start. It is never
	// printed; expectedCode prints what the app would show.
	totpSecret redact.Secret[string]
}

// newIdentity returns the identity service at idURL: tokens signed by
// issuer (identityIssuer, whose keys are keys); checkout, whose SPIFFE ID is
// w.checkoutID, may exchange customers' tokens sent to it for tokens for
// payments, proving who it is with a JWT-SVID (verified against jwtBundles)
// for identityIssuer;
// and it may get tokens of its own with a client assertion signed by
// clientKey. Refusals and issued tokens are logged to logger.
func newIdentity(idURL string, keys *tokens.KeySet, issuer *tokens.Issuer, w *workloads, jwtBundles jwtbundle.Source, clientKey crypto.Signer, logger *slog.Logger) (*identity, error) {
	// Customers' tokens are verified as checkout verifies them: they are
	// the subject tokens checkout exchanges.
	subjects, err := tokens.NewVerifier(keys, identityIssuer, []string{checkoutAudience})
	if err != nil {
		return nil, err
	}
	ck, err := tokens.NewSigningKey(clientKey, "")
	if err != nil {
		return nil, err
	}
	clients, err := sts.NewStaticClients(sts.Client{
		ID: checkoutClientID, Keys: []*tokens.PublicKey{ck.Public()},
		Audiences: []string{paymentsAudience}, Scopes: []string{"payments:write"},
	})
	if err != nil {
		return nil, err
	}
	// Exchange: checkout acts for a customer at payments, with a token
	// sent to checkout, carrying at most payments:write. The storefront
	// is registered too (it may be given payments:write tokens for the
	// customer's saved cards, say): what keeps it from charging is the
	// customer's token, whose may_act names checkout alone, and payments'
	// policy, which requires checkout as the actor.
	actors := []sts.ActorPolicy{{
		ID: w.checkoutID, Audiences: []string{paymentsAudience}, Scopes: []string{"payments:write"},
		SubjectAudiences: []string{checkoutAudience},
	}}
	if w.storefrontID != w.checkoutID {
		actors = append(actors, sts.ActorPolicy{
			ID: w.storefrontID, Audiences: []string{paymentsAudience}, Scopes: []string{"payments:write"},
			SubjectAudiences: []string{checkoutAudience},
		})
	}
	// Step-up: the customer's second factor is a TOTP code, checked
	// against the secret enrolled in their authenticator app (a random demo
	// secret made here; a real service keeps it in its user store or in
	// Vault KV, package secrets). The storefront steps up the customer's
	// token for checkout, which the same verifier checks.
	enrolled, err := totp.Generate(totp.GenerateOpts{Issuer: "shop.example", AccountName: customerID})
	if err != nil {
		return nil, err
	}
	secret := redact.NewSecret(enrolled.Secret())
	factor, err := stotp.New(stotp.SecretsFunc(func(_ context.Context, subject string) (redact.Secret[string], error) {
		if subject != customerID {
			return redact.Secret[string]{}, sts.ErrFactorNotEnrolled
		}
		return secret, nil
	}))
	if err != nil {
		return nil, err
	}
	srv, err := sts.New(identityIssuer, idURL+"/token", issuer,
		sts.WithTokenExchange(subjects, actors...),
		sts.WithStepUp(subjects, factor),
		sts.WithJWTSVIDs(jwtBundles, identityIssuer),
		sts.WithClientCredentials(clients),
		sts.WithJWKSURI(idURL+"/.well-known/jwks.json"),
		sts.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	return &identity{issuer: issuer, keys: keys, sts: srv, url: idURL, checkout: w.checkoutID.String(), totpSecret: secret}, nil
}

func (id *identity) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/jwks.json", id.keys.JWKSHandler(tokens.WithMaxAge(time.Minute)))
	mux.Handle("POST /token", id.sts)
	mux.Handle("GET /.well-known/oauth-authorization-server", id.sts.MetadataHandler())
	return mux
}

// signIn stands for the customer's sign-in at the identity service (its
// login pages and the authorization code flow are not part of this demo):
// it issues the customer's access token for checkout, with scopes, bound to
// the storefront's DPoP key (jkt, the key's RFC 7638 thumbprint), naming
// checkout in may_act (RFC 8693 §4.4) as the one workload that may act for
// the customer in a token exchange. subject is the customer.
func (id *identity) signIn(ctx context.Context, subject, jkt string, scopes []string) (string, error) {
	return id.issuer.Issue(ctx, tokens.TokenRequest{
		Subject: subject, ClientID: "storefront", Audience: []string{checkoutAudience},
		Scopes: scopes, ACR: "mfa", AMR: []string{"pwd", "otp"}, AuthTime: time.Now().Add(-2 * time.Minute),
		DPoPKeyThumbprint: jkt,
		MayAct:            &tokens.Actor{Subject: id.checkout},
	})
}

// expectedCode is the TOTP code the customer's authenticator app shows at
// now, the code the token service accepts for this step. Only the demo
// computes it: in a real shop the customer reads it off their phone and
// types it into the storefront's page, and nobody else sees it.
func (id *identity) expectedCode(now time.Time) (string, error) {
	secret := id.totpSecret.Reveal()
	code, err := totp.GenerateCode(secret, now)
	if err != nil {
		return "", errors.New("identity: cannot compute the demo TOTP code")
	}
	return code, nil
}
