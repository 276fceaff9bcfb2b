package sts_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/sts"
)

// rfc8693Request is the token exchange request of RFC 8693 §2.3, byte for
// byte (the line breaks of the RFC's figure removed), with its client
// authentication by client_secret_basic. Verbatim from RFC 8693 §2.3,
// Figure 2 (the body; the Authorization header is used below).
const rfc8693Request = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange" +
	"&resource=https%3A%2F%2Fbackend.example.com%2Fapi" +
	"&subject_token=accVkjcJyb4BWCxGsndESCJQbdFMogUC5PbRDqceLTC" +
	"&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token"

// RFC 8693 §2.3 as the RFC shows it: the client authenticates with
// client_secret_basic, which this server does not support, so it answers
// invalid_client with a 401 and a Basic challenge (RFC 6749 §5.2).
func TestRFC8693Section23AsWritten(t *testing.T) {
	rg := newRig(t)
	r := rg.post(rg.client(spiffeid.ID{}), rfc8693Request, "Authorization", "Basic cnMwODpsb25nLXNlY3VyZS1yYW5kb20tc2VjcmV0")
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "invalid_client", r.body["error"])
	assert.Equal(t, `Basic realm="https://id.shop.test"`, r.header.Get("WWW-Authenticate"))
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
}

// RFC 8693 §2.3 with ztkit's credentials: the same form, a real subject
// token in place of the RFC's, the actor by its X.509-SVID over mTLS and a
// DPoP proof. The response has the §2.3 shape with token_type DPoP.
func TestRFC8693Section23(t *testing.T) {
	rg := newRig(t)
	p := newProofer(t)
	subject := rg.customerToken(tokens.TokenRequest{Scopes: []string{"api"}})
	body := strings.Replace(rfc8693Request, "accVkjcJyb4BWCxGsndESCJQbdFMogUC5PbRDqceLTC", subject, 1)
	r := rg.post(rg.client(checkoutID), body, "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, sts.TokenTypeAccessToken, r.body["issued_token_type"])
	assert.Equal(t, "DPoP", r.body["token_type"])
	// At most the subject token's remaining lifetime, in whole seconds: its
	// exp is a whole second, so 300 s after issue leaves 298 to 300 s
	// depending on where in a second the two requests fall.
	assert.InDelta(t, 299, r.body["expires_in"], 1)
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))

	tok, _ := r.body["access_token"].(string)
	// A resource server at the RFC's backend verifies it, bound to p's key.
	v, err := tokens.NewVerifier(rg.keys, issuerURL, []string{backendAud})
	require.NoError(t, err)
	c, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, customer, c.Subject)
	assert.Equal(t, checkoutID.String(), c.ClientID)
	assert.Equal(t, []string{backendAud}, c.Audience)
	assert.Equal(t, []string{"api"}, c.Scopes)
	assert.Equal(t, p.Thumbprint(), c.Confirmation.JKT)
	require.NotNil(t, c.Actor)
	assert.Equal(t, &tokens.Actor{Subject: checkoutID.String()}, c.Actor)
}

// RFC 8693 Appendix A.1.1 (impersonation): audience and a JWT subject token
// with the claims of Figure 11 (sub bdc@example.net, scope "orders profile
// history"; the token itself is a real one, not the RFC's); here the actor is
// the mTLS workload. Appendix A.1.2 answers with a Bearer access token
// (issued_token_type access_token) whose claims (Figure 13) keep the
// subject's sub and scope; ztkit issues an access token too, DPoP-bound.
func TestRFC8693AppendixA1(t *testing.T) {
	rg := newRig(t)
	p := newProofer(t)
	subject := rg.customerToken(tokens.TokenRequest{Subject: "bdc@example.net", Scopes: []string{"orders", "profile", "history"}})
	body := "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange" +
		"&audience=urn%3Aexample%3Acooperation-context" +
		"&subject_token=" + subject +
		"&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"
	r := rg.post(rg.client(checkoutID), body, "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "orders profile history", r.body["scope"])
	c := claims(t, r.body["access_token"].(string))
	assert.Equal(t, cooperation, c["aud"])
	assert.Equal(t, "bdc@example.net", c["sub"])
	assert.Equal(t, "orders profile history", c["scope"])
	assert.Equal(t, map[string]any{"sub": checkoutID.String()}, c["act"])
}

// RFC 8693 Appendix A.2.1 (delegation): the subject token says who may act
// (may_act), the actor presents an actor_token of type jwt, and the issued
// token names it in act (A.2.2). The subject token has the sub and scope of
// Figure 15 (user@example.net, "status feed"); the actor token is a JWT-SVID
// in place of Figure 16's. A.2.2 answers with token_type N_A and
// issued_token_type jwt; ztkit issues a DPoP-bound access token.
func TestRFC8693AppendixA2(t *testing.T) {
	rg := newRig(t)
	p := newProofer(t)
	subject := rg.customerToken(tokens.TokenRequest{Subject: "user@example.net", Scopes: []string{"status", "feed"},
		MayAct: &tokens.Actor{Subject: checkoutID.String()}})
	body := "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange" +
		"&audience=urn%3Aexample%3Acooperation-context" +
		"&subject_token=" + subject +
		"&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt" +
		"&actor_token=" + rg.jwtSVID(checkoutID, stsID.String()) +
		"&actor_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"
	// No client certificate: the actor token alone names the actor.
	r := rg.post(rg.client(spiffeid.ID{}), body, "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	c := claims(t, r.body["access_token"].(string))
	assert.Equal(t, "user@example.net", c["sub"])
	assert.Equal(t, "status feed", c["scope"])
	assert.Equal(t, map[string]any{"sub": checkoutID.String()}, c["act"])
	assert.Nil(t, c["may_act"], "may_act is not carried over")
	assert.Equal(t, sts.TokenTypeAccessToken, r.body["issued_token_type"])
	assert.Equal(t, "DPoP", r.body["token_type"])
}

// A subject token that was itself exchanged carries its act chain: the new
// actor goes first, the previous chain nested (RFC 8693 §4.1).
func TestExchangeNestsActorChain(t *testing.T) {
	rg := newRig(t)
	p := newProofer(t)
	subject := rg.customerToken(tokens.TokenRequest{Scopes: []string{"payments:charge"},
		Actor: &tokens.Actor{Subject: storefrontID.String()}})
	r := rg.post(rg.client(checkoutID), exchange(subject, "audience="+url.QueryEscape(paymentsAud)), "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	c := claims(t, r.body["access_token"].(string))
	assert.Equal(t, map[string]any{"sub": checkoutID.String(), "act": map[string]any{"sub": storefrontID.String()}}, c["act"])
	assert.Equal(t, checkoutID.String(), c["client_id"])
	assert.Equal(t, "payments:charge", c["scope"])
}

func exchange(subject string, more ...string) string {
	s := exchangeForm + "&subject_token=" + subject + "&subject_token_type=" + url.QueryEscape(sts.TokenTypeAccessToken)
	for _, m := range more {
		s += "&" + m
	}
	return s
}

func TestExchangeLifetimeBoundBySubject(t *testing.T) {
	rg := newRig(t)
	p := newProofer(t)
	subject := rg.customerToken(tokens.TokenRequest{Scopes: []string{"payments:charge"}, Lifetime: 90 * time.Second})
	r := rg.post(rg.client(checkoutID), exchange(subject, "audience="+url.QueryEscape(paymentsAud)), "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	got, sub := claims(t, r.body["access_token"].(string)), claims(t, subject)
	assert.LessOrEqual(t, got["exp"], sub["exp"])
	assert.LessOrEqual(t, r.body["expires_in"], float64(90))
}

// Each refusal the issue lists, with the RFC 8693 §2.2.2 / RFC 6749 §5.2 code.
func TestExchangeRefusals(t *testing.T) {
	rg := newRig(t)
	expiredIssuer, err := tokens.NewIssuer(issuerURL, rg.keys, tokens.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }))
	require.NoError(t, err)
	expired, err := expiredIssuer.Issue(context.Background(), tokens.TokenRequest{Subject: customer, ClientID: "storefront", Audience: []string{checkoutAud}, Scopes: []string{"payments:charge"}})
	require.NoError(t, err)
	charge := []string{"payments:charge"}
	payments := "audience=" + url.QueryEscape(paymentsAud)
	other := newProofer(t)
	// What each refusal says (error_description), so that each case fails
	// for the reason it tests.
	wantDescription := map[string]string{
		"widened scope":                                 "the requested scope exceeds what may be granted",
		"scope the actor may not carry":                 "the requested scope exceeds what may be granted",
		"actor not allowed by may_act":                  "the subject token does not allow this actor (may_act)",
		"may_act with an issuer":                        "the subject token does not allow this actor (may_act)",
		"expired subject token":                         "subject_token is expired",
		"foreign-audience subject token":                "subject_token is not for an audience this server accepts",
		"garbage subject token":                         "subject_token is invalid",
		"audience not permitted for the actor":          "the actor may not get tokens for a requested audience or resource",
		"one of several audiences not permitted":        "the actor may not get tokens for a requested audience or resource",
		"resource with a fragment":                      "resource must be an absolute URI without a fragment",
		"no audience with several permitted":            "audience or resource is required",
		"requested_token_type jwt":                      "requested_token_type not supported: only urn:ietf:params:oauth:token-type:access_token",
		"unsupported subject_token_type":                "subject_token_type not supported",
		"actor without a policy (storefront)":           "the actor may not exchange tokens",
		"no actor":                                      "an actor_token or an mTLS client X.509-SVID is required",
		"actor token for another audience":              "actor_token is not a valid JWT-SVID for this server",
		"actor token of type access_token":              "actor_token_type must be urn:ietf:params:oauth:token-type:jwt",
		"actor token and certificate disagree":          "actor_token and the client certificate name different workloads",
		"no DPoP proof":                                 "a DPoP proof is required",
		"DPoP proof for another htu":                    "DPoP proof htu is not this token endpoint",
		"DPoP proof signed by another key than its jwk": "DPoP proof signature does not verify with its jwk",
	}

	for _, tc := range []struct {
		name   string
		client spiffeid.ID
		body   string
		proof  func(p *dpop.Proofer) string
		status int
		code   string
	}{
		{name: "widened scope", client: checkoutID, status: 400, code: "invalid_scope",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge}), payments, "scope=payments%3Acharge+payments%3Arefund")},
		{name: "scope the actor may not carry", client: checkoutID, status: 400, code: "invalid_scope",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: []string{"admin"}}), payments, "scope=admin")},
		{name: "actor not allowed by may_act", client: checkoutID, status: 400, code: "invalid_request",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge, MayAct: &tokens.Actor{Subject: storefrontID.String()}}), payments)},
		{name: "may_act with an issuer", client: checkoutID, status: 400, code: "invalid_request",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge, MayAct: &tokens.Actor{Subject: checkoutID.String(), Issuer: "https://other"}}), payments)},
		{name: "expired subject token", client: checkoutID, status: 400, code: "invalid_request",
			body: exchange(expired, payments)},
		{name: "foreign-audience subject token", client: checkoutID, status: 400, code: "invalid_request",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge, Audience: []string{"https://elsewhere.test"}}), payments)},
		{name: "garbage subject token", client: checkoutID, status: 400, code: "invalid_request",
			body: exchange("not.a.token", payments)},
		{name: "audience not permitted for the actor", client: checkoutID, status: 400, code: "invalid_target",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge}), "audience=https%3A%2F%2Fadmin.shop.test")},
		{name: "one of several audiences not permitted", client: checkoutID, status: 400, code: "invalid_target",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge}), payments, "resource=https%3A%2F%2Fadmin.shop.test")},
		{name: "resource with a fragment", client: checkoutID, status: 400, code: "invalid_target",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge}), "resource=https%3A%2F%2Fpayments.shop.test%23x")},
		{name: "no audience with several permitted", client: checkoutID, status: 400, code: "invalid_target",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge}))},
		{name: "requested_token_type jwt", client: checkoutID, status: 400, code: "invalid_request",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge}), payments, "requested_token_type="+url.QueryEscape(sts.TokenTypeJWT))},
		{name: "unsupported subject_token_type", client: checkoutID, status: 400, code: "invalid_request",
			body: exchangeForm + "&subject_token=" + rg.customerToken(tokens.TokenRequest{Scopes: charge}) + "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Asaml2&" + payments},
		{name: "actor without a policy (storefront)", client: storefrontID, status: 400, code: "invalid_request",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge}), payments)},
		{name: "no actor", client: spiffeid.ID{}, status: 400, code: "invalid_request",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge}), payments)},
		{name: "actor token for another audience", client: spiffeid.ID{}, status: 400, code: "invalid_request",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge}), payments, "actor_token="+rg.jwtSVID(checkoutID, paymentsAud), "actor_token_type="+url.QueryEscape(sts.TokenTypeJWT))},
		{name: "actor token of type access_token", client: spiffeid.ID{}, status: 400, code: "invalid_request",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge}), payments, "actor_token="+rg.jwtSVID(checkoutID, stsID.String()), "actor_token_type="+url.QueryEscape(sts.TokenTypeAccessToken))},
		{name: "actor token and certificate disagree", client: storefrontID, status: 400, code: "invalid_request",
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge}), payments, "actor_token="+rg.jwtSVID(checkoutID, stsID.String()), "actor_token_type="+url.QueryEscape(sts.TokenTypeJWT))},
		{name: "no DPoP proof", client: checkoutID, status: 400, code: "invalid_request", proof: func(*dpop.Proofer) string { return "" },
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge}), payments)},
		{name: "DPoP proof for another htu", client: checkoutID, status: 400, code: "invalid_dpop_proof",
			proof: func(p *dpop.Proofer) string { return proof(t, p, rg.srv.URL+"/other", "") },
			body:  exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge}), payments)},
		{name: "DPoP proof signed by another key than its jwk", client: checkoutID, status: 400, code: "invalid_dpop_proof",
			proof: func(p *dpop.Proofer) string {
				a, b := strings.Split(proof(t, p, rg.endpoint, ""), "."), strings.Split(proof(t, other, rg.endpoint, ""), ".")
				return a[0] + "." + a[1] + "." + b[2]
			},
			body: exchange(rg.customerToken(tokens.TokenRequest{Scopes: charge}), payments)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProofer(t)
			pr := proof(t, p, rg.endpoint, "")
			if tc.proof != nil {
				pr = tc.proof(p)
			}
			var headers []string
			if pr != "" {
				headers = []string{"DPoP", pr}
			}
			r := rg.post(rg.client(tc.client), tc.body, headers...)
			assert.Equal(t, tc.status, r.status)
			assert.Equal(t, tc.code, r.body["error"])
			assert.Equal(t, wantDescription[tc.name], r.body["error_description"])
			assert.Nil(t, r.body["access_token"])
			assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
		})
	}
}

// A token issued to one DPoP key is refused at a resource server when the
// proof is made with another key (RFC 9449 §7.1).
func TestExchangedTokenRefusedWithAnotherKey(t *testing.T) {
	rg := newRig(t)
	p, thief := newProofer(t), newProofer(t)
	subject := rg.customerToken(tokens.TokenRequest{Scopes: []string{"payments:charge"}})
	r := rg.post(rg.client(checkoutID), exchange(subject, "audience="+url.QueryEscape(paymentsAud)), "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	tok := r.body["access_token"].(string)

	v, err := tokens.NewVerifier(rg.keys, issuerURL, []string{paymentsAud})
	require.NoError(t, err)
	pv, err := dpop.NewVerifier()
	require.NoError(t, err)
	rv, err := dpop.NewRequestVerifier(v, pv, dpop.WithExternalURL(paymentsAud))
	require.NoError(t, err)
	call := func(pr *dpop.Proofer) error {
		req := httptest.NewRequest(http.MethodPost, paymentsAud+"/charge", nil)
		s, err := pr.Proof(dpop.ProofRequest{Method: http.MethodPost, URL: paymentsAud + "/charge", AccessToken: tok})
		require.NoError(t, err)
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", s)
		_, err = rv.Verify(context.Background(), req)
		return err
	}
	assert.ErrorIs(t, call(thief), dpop.ErrBindingMismatch)
	assert.NoError(t, call(p))
}

// With server nonces (RFC 9449 §8), a proof without one is answered with
// use_dpop_nonce and the nonce in DPoP-Nonce; the retry with it succeeds.
func TestExchangeDPoPNonce(t *testing.T) {
	nonces, err := dpop.NewNonces(make([]byte, 32))
	require.NoError(t, err)
	rg := newRig(t, sts.WithNonces(nonces))
	p := newProofer(t)
	c := rg.client(checkoutID)
	subject := rg.customerToken(tokens.TokenRequest{Scopes: []string{"payments:charge"}})
	body := exchange(subject, "audience="+url.QueryEscape(paymentsAud))

	r := rg.post(c, body, "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "use_dpop_nonce", r.body["error"])
	nonce := r.header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)

	r = rg.post(c, body, "DPoP", proof(t, p, rg.endpoint, nonce))
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "DPoP", r.body["token_type"])
	assert.NotEmpty(t, r.header.Get("DPoP-Nonce"))
}

// A replayed DPoP proof is refused at the token endpoint (RFC 9449 §11.1).
func TestExchangeDPoPReplay(t *testing.T) {
	rg := newRig(t)
	p := newProofer(t)
	c := rg.client(checkoutID)
	subject := rg.customerToken(tokens.TokenRequest{Scopes: []string{"payments:charge"}})
	body := exchange(subject, "audience="+url.QueryEscape(paymentsAud))
	pr := proof(t, p, rg.endpoint, "")
	require.Equal(t, http.StatusOK, rg.post(c, body, "DPoP", pr).status)
	r := rg.post(c, body, "DPoP", pr)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "invalid_dpop_proof", r.body["error"])
}

// With DPoP optional, an mTLS actor without a proof gets a token bound to
// its certificate (RFC 8705 §3), token_type Bearer.
func TestExchangeCertificateBoundWhenDPoPOptional(t *testing.T) {
	rg := newRig(t, sts.WithDPoPOptional())
	subject := rg.customerToken(tokens.TokenRequest{Scopes: []string{"payments:charge"}})
	r := rg.post(rg.client(checkoutID), exchange(subject, "audience="+url.QueryEscape(paymentsAud)))
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "Bearer", r.body["token_type"])
	cnf, _ := claims(t, r.body["access_token"].(string))["cnf"].(map[string]any)
	assert.NotEmpty(t, cnf["x5t#S256"])
}

// An actor with SubjectAudiences exchanges only the tokens sent to it: the
// storefront may not exchange the customer's token for checkout.
func TestExchangeSubjectAudiences(t *testing.T) {
	rg2 := newRig(t, sts.WithTokenExchange(nil, sts.ActorPolicy{ID: storefrontID, Audiences: []string{paymentsAud},
		Scopes: []string{"payments:charge"}, SubjectAudiences: []string{"https://storefront.shop.test"}}))
	subject := rg2.customerToken(tokens.TokenRequest{Scopes: []string{"payments:charge"}})
	r := rg2.post(rg2.client(storefrontID), exchange(subject, "audience="+url.QueryEscape(paymentsAud)), "DPoP", proof(t, newProofer(t), rg2.endpoint, ""))
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "invalid_request", r.body["error"])
	assert.Equal(t, "subject_token is not for an audience this actor may exchange", r.body["error_description"])
}

// slowReplayStore is a replay store that answers after a delay, as a
// shared store on a slow network does.
type slowReplayStore struct {
	dpop.ReplayStore
	delay time.Duration
}

func (s slowReplayStore) CheckAndStore(ctx context.Context, jkt, jti string, expiry time.Time) error {
	time.Sleep(s.delay)
	return s.ReplayStore.CheckAndStore(ctx, jkt, jti, expiry)
}

// The issued token never outlives the subject token, also when the checks
// made after the subject token was read (the DPoP proof's replay check)
// take seconds: the lifetime is measured when the token is signed.
func TestExchangeLifetimeBoundBySubjectAfterSlowChecks(t *testing.T) {
	store, err := dpop.NewMemoryReplayStore()
	require.NoError(t, err)
	rg := newRig(t, sts.WithReplayStore(slowReplayStore{ReplayStore: store, delay: 2100 * time.Millisecond}))
	p := newProofer(t)
	subject := rg.customerToken(tokens.TokenRequest{Scopes: []string{"payments:charge"}, Lifetime: 30 * time.Second})
	r := rg.post(rg.client(checkoutID), exchange(subject, "audience="+url.QueryEscape(paymentsAud)), "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	got, sub := claims(t, r.body["access_token"].(string)), claims(t, subject)
	assert.LessOrEqual(t, got["exp"], sub["exp"], "the exchanged token outlives its subject token")
	assert.LessOrEqual(t, got["exp"].(float64)-got["iat"].(float64), r.body["expires_in"], "expires_in is the token's lifetime")
}
