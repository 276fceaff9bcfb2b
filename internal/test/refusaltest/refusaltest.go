// Package refusaltest is the table of refused requests that every transport
// of package guard must answer alike. Each case names what a route accepts
// (its authenticator and, for authorization denials, its guard's options),
// the credentials a client sends, and the refusal it must get: its
// guard.Class, guard.Reason, HTTP status, challenges and DPoP nonce, and what
// the client must do about it, as dpop.Advise reads it. A step-up refusal
// (RFC 9470 §3) also says what the client sends once it has authenticated
// again as advised, which must be let through.
//
// Package guard runs the table against guard.Check directly, package
// middleware through a real HTTP server and client; a gRPC transport runs it
// through a real gRPC server and client, rendering the class as a status
// code and the reason and challenges as metadata. A case describes the
// request only by what the decision path sees: the method and URI the
// client addresses (a [Target]) and its Authorization and DPoP values.
package refusaltest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

const (
	// Realm is the realm every transport under test announces
	// (guard.WithRealm); the challenges of the cases name it.
	Realm = "payments"
	// Algs is the default algs parameter of DPoP challenges (RFC 9449 §7.1).
	Algs = `algs="ES256 ES384 EdDSA Ed25519 PS256 RS256"`
)

// Route is what the route of a case accepts. The transport builds its
// authenticator from it: [Route.Authenticator] does, for the URI the
// transport serves; a transport with more options maps its fields.
type Route struct {
	// Token is the route's token requirement; Peer, when set, its peer
	// requirement, verified against an empty bundle.
	Token authn.TokenRequirement
	Peer  authn.IDMatcher
	// Bearer accepts unbound tokens as Bearer (dpop.WithBearer).
	Bearer bool
	// TokenVerifier verifies tokens instead of the rig's verifier.
	TokenVerifier dpop.TokenVerifier
	// VerifierOptions configure the proof verifier.
	VerifierOptions []dpop.VerifierOption
	// GuardOptions configure the route's guard (an authorizer, nonces),
	// after guard.WithRealm([Realm]) and the transport's own.
	GuardOptions []guard.Option
}

// RequestOptions are the dpop.RequestOptions of the route, besides its
// external URL.
func (r Route) RequestOptions() []dpop.RequestOption {
	if r.Bearer {
		return []dpop.RequestOption{dpop.WithBearer()}
	}
	return nil
}

// Authenticator returns the route's authenticator for a service whose
// external URL is externalURL, with the rig's token verifier unless the
// route names another.
func (r Route) Authenticator(t *testing.T, rig *shoprig.Tokens, externalURL string) *authn.Authenticator {
	t.Helper()
	var opts []authn.Option
	if r.Token == authn.AccessToken || r.Token == authn.DPoPBoundToken {
		opts = append(opts, authn.WithAccessTokens(rig.RequestVerifier(t, externalURL, r.TokenVerifier, r.VerifierOptions, r.RequestOptions()...)))
	}
	if r.Peer != nil {
		opts = append(opts, authn.WithX509Bundles(x509bundle.New(shoprig.TrustDomain)))
	}
	a, err := authn.New(authn.Policy{Peer: r.Peer, Token: r.Token}, opts...)
	require.NoError(t, err)
	return a
}

// Credentials are what a client sends: every Authorization value and every
// DPoP proof.
type Credentials struct {
	Authorization []string
	DPoP          []string
}

// Target is the transport under test, as a case sees it.
type Target interface {
	// Method is the method of the refused request, the htm of its proofs.
	Method() string
	// URI is the URI the client addresses, the htu of its proofs:
	// "http://127.0.0.1:4711/orders/123" or
	// "https://payments.shop.example/shop.payments.v1.Payments/Charge".
	URI() string
	// Accepted sends c in a request like the refused one and reports
	// whether it was let through.
	Accepted(t *testing.T, c Credentials) bool
}

// Case is one refused request.
type Case struct {
	Name  string
	Route Route
	// Credentials builds what the client sends to target.
	Credentials func(t *testing.T, target Target) Credentials
	// Class, Status and Reason are the refusal's; Status is its HTTP status.
	Class  guard.Class
	Status int
	Reason guard.Reason
	// Challenges are the WWW-Authenticate values, in order.
	Challenges []string
	// Nonce says the refusal carries the current nonce of the Nonces given
	// to [Cases].
	Nonce bool
	// ACRValues, MaxAge and HasMaxAge are what the client's advice must say
	// of a step-up refusal (RFC 9470 §3 acr_values and max_age, as
	// dpop.Advice holds them); empty for any other refusal.
	ACRValues []string
	MaxAge    time.Duration
	HasMaxAge bool
	// RetryAfter is the wait a rate-limited refusal asks for: its
	// Retry-After (HTTP) or RetryInfo retry_delay (gRPC), in whole seconds.
	RetryAfter time.Duration
	// SteppedUp, for a step-up refusal, builds what the client sends once
	// it has authenticated again as adv, its advice, asks: a token with the
	// first of adv.ACRValues and a fresh auth_time, with a proof carrying
	// adv.Nonce. It must be let through.
	SteppedUp func(t *testing.T, target Target, adv dpop.Advice) Credentials
}

// Action is what a client must do about the refusal of c, as
// dpop.AdviseHTTP and dpopgrpc.Advise must read it from what each transport
// sends. It follows from the reason, not from the challenge: without a
// token, authenticate; a bad token, get a new one; a bad proof, make a new
// one; a nonce, retry with it; a user authentication too weak or too old
// behind a valid token, step up; a malformed request, a fault on the
// server's side, a certificate or any other policy denial, give up.
func (c Case) Action() dpop.Action {
	switch c.Reason {
	case guard.Reason(authz.ReasonInsufficientACR), guard.Reason(authz.ReasonAuthTooOld), guard.ReasonRiskStepUp:
		if c.Class == guard.ClassUnauthenticated {
			return dpop.ActionStepUp
		}
	case guard.ReasonMissingToken:
		return dpop.ActionAuthenticate
	case guard.ReasonNonceRequired:
		return dpop.ActionRetryWithNonce
	case guard.ReasonProofMissing, guard.ReasonProofInvalid, guard.ReasonProofReplayed:
		return dpop.ActionNewProof
	case guard.ReasonTokenExpired, guard.ReasonTokenInvalid, guard.ReasonTokenAudience, guard.ReasonTokenIssuer,
		guard.ReasonTokenSignature, guard.ReasonUnknownKey, guard.ReasonBindingMismatch, guard.ReasonBoundTokenAsBearer,
		guard.ReasonDPoPRequired, guard.ReasonJWTSVIDInvalid:
		return dpop.ActionNewToken
	}
	return dpop.ActionGiveUp
}

// AssertAdvice checks adv, what the client read from the refusal of c
// through target (dpop.Advise, dpop.AdviseHTTP or dpopgrpc.Advise): its
// action and, for a step-up, its acr values and max age. For a step-up, it
// then closes the loop: the credentials of [Case.SteppedUp] built from adv
// are let through. Call it last: it sends a request to target.
func (c Case) AssertAdvice(t *testing.T, target Target, adv dpop.Advice) {
	t.Helper()
	assert.Equal(t, c.Action(), adv.Action, "the client's advice")
	assert.Equal(t, c.ACRValues, adv.ACRValues, "the advice's acr values")
	assert.Equal(t, c.MaxAge, adv.MaxAge, "the advice's max age")
	assert.Equal(t, c.HasMaxAge, adv.HasMaxAge, "the advice has a max age")
	if c.SteppedUp != nil && adv.Action == dpop.ActionStepUp {
		assert.True(t, target.Accepted(t, c.SteppedUp(t, target, adv)), "after the step-up the request is let through")
	}
}

// StepUpChallenge is the RFC 9470 §3 challenge in the DPoP scheme (with
// [Algs]) or the Bearer scheme, in [Realm], with error_description desc
// and the parameters params, each name="value".
func StepUpChallenge(dpopScheme bool, desc string, params ...string) string {
	scheme := "Bearer"
	if dpopScheme {
		scheme = "DPoP"
	}
	c := scheme + ` realm="` + Realm + `", error="insufficient_user_authentication", error_description="` + desc + `"`
	for _, p := range params {
		c += ", " + p
	}
	if dpopScheme {
		c += ", " + Algs
	}
	return c
}

// The error_description of the step-up challenges: the wording of RFC 9470
// §3's two examples for authorization step-ups, and the risk step's.
const (
	WeakAuthentication  = "A different authentication level is required"
	StaleAuthentication = "More recent authentication is required"
	RiskAuthentication  = "Additional authentication is required"
)

// FailingCounter is a velocity counter store that cannot be reached.
type FailingCounter struct{}

// Count reports that the store is unavailable.
func (FailingCounter) Count(context.Context, time.Time, []risk.Window) error {
	return fmt.Errorf("%w: connection refused", risk.ErrCounterUnavailable)
}

// Every names every request action (a guard.Actions).
func Every(action string) guard.Actions {
	return func(*inbound.Request, authz.Decision) string { return action }
}

// RiskEngine is a risk engine on the rig's clock with one action,
// "checkout": a new device (no DPoP key among the customer's known
// devices, which are none) steps up to acr mfa within five minutes; an
// unbound token is denied when deny is set.
func RiskEngine(t *testing.T, deny bool) *risk.Engine {
	t.Helper()
	rules := []risk.Rule{{ID: "new-device", Reason: risk.ReasonNewDevice, When: risk.Conditions{NewDevice: true}, Outcome: risk.StepUp}}
	if deny {
		rules = []risk.Rule{{ID: "bearer", Reason: risk.ReasonUnboundToken, When: risk.Conditions{Unbound: true}, Outcome: risk.Deny}}
	}
	eng, err := risk.New(risk.Policy{ACRLevels: []string{"pwd", "mfa"}, Actions: []risk.ActionPolicy{{
		Action: "checkout", StepUp: risk.StepUpRequirement{ACR: "mfa", MaxAge: risk.Duration(5 * time.Minute)}, Rules: rules,
	}}}, risk.WithClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	return eng
}

// Limiter is a rate limiter on the rig's clock allowing one "orders"
// request a minute per client, of which the rig's client has made one
// already; on ctr, or a MemoryCounter when ctr is nil.
func Limiter(t *testing.T, ctr risk.Counter) *risk.Limiter {
	t.Helper()
	if ctr == nil {
		ctr = risk.NewMemoryCounter(0)
	}
	l, err := risk.NewLimiter(map[string][]risk.Limit{"orders": {{Name: "orders_per_client", Key: risk.KeyClient, Window: time.Minute, Max: 1}}},
		risk.WithCounter(ctr), risk.WithClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	l.Allow(t.Context(), "orders", risk.Caller{Client: shoprig.ClientID})
	return l
}

// Authorizer is an authorizer on the rig's clock that allows every route to
// a principal meeting m, on the ACR ladder levels.
func Authorizer(t *testing.T, levels []string, m authz.Match) authz.Authorizer {
	t.Helper()
	az, err := authz.AuthorizePolicy(authz.Policy{ACRLevels: levels, Rules: []authz.Rule{
		{ID: "strong-user", Effect: authz.Allow, Routes: []string{"/{path...}"}, Match: m},
	}}, authz.WithClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	return az
}

// DPoPChallenge is the DPoP challenge (RFC 9449 §7.1) with error code, or
// without an error when code is "".
func DPoPChallenge(code string) string {
	if code == "" {
		return `DPoP realm="` + Realm + `", ` + Algs
	}
	return `DPoP realm="` + Realm + `", error="` + code + `", ` + Algs
}

// BearerChallenge is the Bearer challenge (RFC 6750 §3) with error code, or
// without an error when code is "".
func BearerChallenge(code string) string {
	if code == "" {
		return `Bearer realm="` + Realm + `"`
	}
	return `Bearer realm="` + Realm + `", error="` + code + `"`
}

// Authorization is the credentials `Authorization: scheme token` and one
// DPoP value per proof; the Authorization value is left out when scheme is
// "", and empty proofs are.
func Authorization(scheme, token string, proofs ...string) Credentials {
	var c Credentials
	if scheme != "" {
		c.Authorization = []string{scheme + " " + token}
	}
	for _, p := range proofs {
		if p != "" {
			c.DPoP = append(c.DPoP, p)
		}
	}
	return c
}

// FailingStore is a replay store whose backend cannot be reached.
type FailingStore struct{}

// CheckAndStore reports that the store is unavailable.
func (FailingStore) CheckAndStore(context.Context, string, string, time.Time) error {
	return dpop.ErrReplayCheckUnavailable
}

// StaleKeys returns a token verifier whose keys come from the rig's JWK Set
// through a RemoteKeySet that has not reached the issuer for longer than its
// maximum staleness.
func StaleKeys(t *testing.T, rig *shoprig.Tokens) dpop.TokenVerifier {
	t.Helper()
	jwks := httptest.NewServer(rig.Keys.JWKSHandler())
	var now atomic.Pointer[time.Time]
	start := shoprig.Now
	now.Store(&start)
	remote, err := tokens.NewRemoteKeySet(shoprig.Context(t), jwks.URL, tokens.WithInsecureHTTP(),
		tokens.WithClock(func() time.Time { return *now.Load() }))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, remote.Close()) })
	jwks.Close() // the issuer is unreachable from now on
	later := start.Add(tokens.DefaultMaxStale + time.Minute)
	now.Store(&later)
	tv, err := tokens.NewVerifier(remote, shoprig.Issuer, []string{shoprig.Audience}, tokens.WithClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	return tv
}

// otherMethod is a method that is not m.
func otherMethod(m string) string {
	if m == "POST" {
		return "GET"
	}
	return "POST"
}

// sibling is uri with its last path segment replaced: another resource of
// the same server (another order, another method of the same service).
func sibling(uri string) string {
	return uri[:strings.LastIndexByte(uri, '/')+1] + "456"
}

// Cases returns the table. rig issues the tokens and proofs; nonces are the
// server nonces the "nonce required" case's verifier uses.
func Cases(t *testing.T, rig *shoprig.Tokens, nonces *dpop.Nonces) []Case {
	t.Helper()
	stranger := shoprig.ECKey(t)
	strangerKID := shoprig.NewProofer(t, stranger, shoprig.Now).Thumbprint()
	proof := func(t *testing.T, target Target, tok string) string {
		return rig.Proof(t, target.Method(), target.URI(), tok, "")
	}
	// bound sends the default token, edited, with a proof from the rig's client.
	bound := func(edit func(*tokens.TokenRequest)) func(*testing.T, Target) Credentials {
		return func(t *testing.T, target Target) Credentials {
			tok := rig.Token(t, edit)
			return Authorization("DPoP", tok, proof(t, target, tok))
		}
	}
	// withToken sends tok with a valid proof.
	withToken := func(tok func(t *testing.T) string) func(*testing.T, Target) Credentials {
		return func(t *testing.T, target Target) Credentials {
			tk := tok(t)
			return Authorization("DPoP", tk, proof(t, target, tk))
		}
	}
	// withProof sends the default token with the proof p builds.
	withProof := func(p func(t *testing.T, target Target, tok string) string) func(*testing.T, Target) Credentials {
		return func(t *testing.T, target Target) Credentials {
			tok := rig.Token(t, nil)
			return Authorization("DPoP", tok, p(t, target, tok))
		}
	}
	none := func(*testing.T, Target) Credentials { return Credentials{} }
	// user sends a token of the user who authenticated with acr at authTime
	// (zero: no auth_time) and amr pwd, in scheme: "DPoP", DPoP-bound with a
	// proof carrying nonce, or "Bearer", unbound.
	userToken := func(t *testing.T, target Target, scheme, acr string, authTime time.Time, nonce string) Credentials {
		tok := rig.Token(t, func(tr *tokens.TokenRequest) {
			tr.ACR, tr.AuthTime, tr.AMR = acr, authTime, []string{"pwd"}
			if scheme == "Bearer" {
				tr.DPoPKeyThumbprint = ""
			}
		})
		if scheme == "Bearer" {
			return Authorization("Bearer", tok)
		}
		return Authorization("DPoP", tok, rig.Proof(t, target.Method(), target.URI(), tok, nonce))
	}
	user := func(scheme, acr string, authTime time.Time, nonce string) func(*testing.T, Target) Credentials {
		return func(t *testing.T, target Target) Credentials {
			return userToken(t, target, scheme, acr, authTime, nonce)
		}
	}
	// steppedUp sends, in scheme, the token of a user who has just
	// authenticated with the first acr value the advice asks for (or pwd
	// when it names none).
	steppedUp := func(scheme string) func(*testing.T, Target, dpop.Advice) Credentials {
		return func(t *testing.T, target Target, adv dpop.Advice) Credentials {
			acr := "pwd"
			if len(adv.ACRValues) > 0 {
				acr = adv.ACRValues[0]
			}
			return userToken(t, target, scheme, acr, shoprig.Now, adv.Nonce)
		}
	}
	// mfa5m requires acr mfa or stronger, and an authentication at most
	// five minutes old.
	mfa5m := Authorizer(t, []string{"pwd", "mfa", "phr"}, authz.Match{MinACR: "mfa", MaxAuthAge: authz.Duration(5 * time.Minute)})
	accessOrBearer := Route{Token: authn.AccessToken, Bearer: true}
	dpopOnly := Route{Token: authn.DPoPBoundToken}
	const unauthenticated, badRequest = guard.ClassUnauthenticated, guard.ClassBadRequest

	return []Case{
		{
			Name: "no token, DPoP or Bearer route", Route: accessOrBearer, Credentials: none,
			Class: unauthenticated, Status: 401, Challenges: []string{DPoPChallenge(""), BearerChallenge("")}, Reason: guard.ReasonMissingToken,
		},
		{
			Name: "no token, DPoP-only route", Route: dpopOnly, Credentials: none,
			Class: unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("")}, Reason: guard.ReasonMissingToken,
		},
		{
			Name: "proof without token", Route: dpopOnly,
			Credentials: func(t *testing.T, target Target) Credentials {
				return Authorization("", "", proof(t, target, ""))
			},
			Class: unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("")}, Reason: guard.ReasonMissingToken,
		},
		{
			Name: "malformed Authorization, Bearer with two tokens", Route: accessOrBearer,
			Credentials: func(*testing.T, Target) Credentials { return Authorization("Bearer", "abc def") },
			Class:       badRequest, Status: 400, Challenges: []string{BearerChallenge("invalid_request")}, Reason: guard.ReasonInvalidRequest,
		},
		{
			Name: "malformed Authorization, DPoP with two tokens", Route: dpopOnly,
			Credentials: func(t *testing.T, target Target) Credentials {
				tok := rig.Token(t, nil)
				return Authorization("DPoP", tok+" "+tok, proof(t, target, tok))
			},
			Class: badRequest, Status: 400, Challenges: []string{DPoPChallenge("invalid_request")}, Reason: guard.ReasonInvalidRequest,
		},
		{
			Name: "malformed Authorization, Basic scheme", Route: accessOrBearer,
			Credentials: func(*testing.T, Target) Credentials { return Authorization("Basic", "c3RvcmVmcm9udDpodW50ZXIy") },
			Class:       badRequest, Status: 400, Challenges: []string{BearerChallenge("invalid_request")}, Reason: guard.ReasonInvalidRequest,
		},
		{
			Name: "two Authorization headers", Route: dpopOnly,
			Credentials: func(t *testing.T, target Target) Credentials {
				tok := rig.Token(t, nil)
				c := Authorization("DPoP", tok, proof(t, target, tok))
				c.Authorization = append(c.Authorization, "DPoP "+tok)
				return c
			},
			Class: badRequest, Status: 400, Challenges: []string{DPoPChallenge("invalid_request")}, Reason: guard.ReasonInvalidRequest,
		},
		{
			Name: "expired token", Route: dpopOnly,
			Credentials: withToken(func(t *testing.T) string { return rig.TokenFrom(t, shoprig.Issuer, shoprig.Now.Add(-time.Hour), nil) }),
			Class:       unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_token")}, Reason: guard.ReasonTokenExpired,
		},
		{
			Name: "wrong audience", Route: dpopOnly,
			Credentials: bound(func(tr *tokens.TokenRequest) { tr.Audience = []string{"https://orders.shop.example"} }),
			Class:       unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_token")}, Reason: guard.ReasonTokenAudience,
		},
		{
			Name: "wrong issuer", Route: dpopOnly,
			Credentials: withToken(func(t *testing.T) string { return rig.TokenFrom(t, "https://id.evil.example", shoprig.Now, nil) }),
			Class:       unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_token")}, Reason: guard.ReasonTokenIssuer,
		},
		{
			Name: "alg none", Route: dpopOnly,
			Credentials: withToken(func(t *testing.T) string {
				return rig.HandToken(t, nil, func(h, _ map[string]any) { h["alg"] = "none" })
			}),
			Class: unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_token")}, Reason: guard.ReasonTokenInvalid,
		},
		{
			Name: "stranger key under its own kid", Route: dpopOnly,
			Credentials: withToken(func(t *testing.T) string {
				return rig.HandToken(t, stranger, func(h, _ map[string]any) { h["kid"] = strangerKID })
			}),
			Class: unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_token")}, Reason: guard.ReasonUnknownKey,
		},
		{
			Name: "stranger key under the issuer's kid", Route: dpopOnly,
			Credentials: withToken(func(t *testing.T) string { return rig.HandToken(t, stranger, nil) }),
			Class:       unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_token")}, Reason: guard.ReasonTokenSignature,
		},
		{
			Name: "embedded jwk", Route: dpopOnly,
			Credentials: withToken(func(t *testing.T) string {
				return rig.HandToken(t, stranger, func(h, _ map[string]any) { h["jwk"] = shoprig.JWK(&stranger.PublicKey) })
			}),
			Class: unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_token")}, Reason: guard.ReasonTokenInvalid,
		},
		{
			Name: "replayed proof", Route: dpopOnly,
			Credentials: func(t *testing.T, target Target) Credentials {
				c := bound(nil)(t, target)
				require.True(t, target.Accepted(t, c), "the first use of the proof is accepted")
				return c
			},
			Class: unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_dpop_proof")}, Reason: guard.ReasonProofReplayed,
		},
		{
			Name: "wrong htm", Route: dpopOnly,
			Credentials: withProof(func(t *testing.T, target Target, tok string) string {
				return rig.Proof(t, otherMethod(target.Method()), target.URI(), tok, "")
			}),
			Class: unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_dpop_proof")}, Reason: guard.ReasonProofInvalid,
		},
		{
			Name: "wrong htu", Route: dpopOnly,
			Credentials: withProof(func(t *testing.T, target Target, tok string) string {
				u, err := url.Parse(target.URI())
				require.NoError(t, err)
				u.Scheme, u.Host = "https", "evil.example"
				return rig.Proof(t, target.Method(), u.String(), tok, "")
			}),
			Class: unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_dpop_proof")}, Reason: guard.ReasonProofInvalid,
		},
		{
			Name: "htu of another resource", Route: dpopOnly,
			Credentials: withProof(func(t *testing.T, target Target, tok string) string {
				return rig.Proof(t, target.Method(), sibling(target.URI()), tok, "")
			}),
			Class: unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_dpop_proof")}, Reason: guard.ReasonProofInvalid,
		},
		{
			Name: "stale iat", Route: dpopOnly,
			Credentials: withProof(func(t *testing.T, target Target, tok string) string {
				old := shoprig.NewProofer(t, rig.ClientKey, shoprig.Now.Add(-dpop.DefaultMaxAge-time.Second))
				return shoprig.ProofWith(t, old, target.Method(), target.URI(), tok, "")
			}),
			Class: unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_dpop_proof")}, Reason: guard.ReasonProofInvalid,
		},
		{
			Name: "missing ath", Route: dpopOnly,
			Credentials: withProof(func(t *testing.T, target Target, tok string) string {
				return rig.HandProof(t, target.Method(), target.URI(), tok, func(_, c map[string]any) { delete(c, "ath") })
			}),
			Class: unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_dpop_proof")}, Reason: guard.ReasonProofInvalid,
		},
		{
			Name: "cnf.jkt mismatch", Route: dpopOnly,
			Credentials: bound(func(tr *tokens.TokenRequest) { tr.DPoPKeyThumbprint = strangerKID }),
			Class:       unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_token")}, Reason: guard.ReasonBindingMismatch,
		},
		{
			Name: "bound token as Bearer", Route: accessOrBearer,
			Credentials: func(t *testing.T, _ Target) Credentials { return Authorization("Bearer", rig.Token(t, nil)) },
			Class:       unauthenticated, Status: 401, Challenges: []string{BearerChallenge("invalid_token")}, Reason: guard.ReasonBoundTokenAsBearer,
		},
		{
			Name: "bound token as Bearer, DPoP-only route", Route: dpopOnly,
			Credentials: func(t *testing.T, _ Target) Credentials { return Authorization("Bearer", rig.Token(t, nil)) },
			Class:       unauthenticated, Status: 401, Challenges: []string{BearerChallenge("invalid_token")}, Reason: guard.ReasonBoundTokenAsBearer,
		},
		{
			Name: "unbound Bearer token on a DPoP-only route", Route: Route{Token: authn.DPoPBoundToken, Bearer: true},
			Credentials: func(t *testing.T, _ Target) Credentials {
				return Authorization("Bearer", rig.Token(t, func(tr *tokens.TokenRequest) { tr.DPoPKeyThumbprint = "" }))
			},
			Class: unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_token")}, Reason: guard.ReasonDPoPRequired,
		},
		{
			Name: "DPoP scheme without proof", Route: dpopOnly,
			Credentials: func(t *testing.T, _ Target) Credentials { return Authorization("DPoP", rig.Token(t, nil)) },
			Class:       unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_dpop_proof")}, Reason: guard.ReasonProofMissing,
		},
		{
			Name: "two DPoP headers", Route: dpopOnly,
			Credentials: func(t *testing.T, target Target) Credentials {
				tok := rig.Token(t, nil)
				return Authorization("DPoP", tok, proof(t, target, tok), proof(t, target, tok))
			},
			Class: unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("invalid_dpop_proof")}, Reason: guard.ReasonProofMissing,
		},
		{
			Name: "nonce required", Route: Route{Token: authn.DPoPBoundToken, VerifierOptions: []dpop.VerifierOption{dpop.WithNonces(nonces)}},
			Credentials: bound(nil),
			Class:       unauthenticated, Status: 401, Challenges: []string{DPoPChallenge("use_dpop_nonce")}, Reason: guard.ReasonNonceRequired, Nonce: true,
		},
		{
			Name: "replay store unavailable", Route: Route{Token: authn.DPoPBoundToken, VerifierOptions: []dpop.VerifierOption{dpop.WithReplayStore(FailingStore{})}},
			Credentials: bound(nil),
			Class:       guard.ClassUnavailable, Status: 503, Reason: guard.ReasonReplayUnavailable,
		},
		{
			Name: "key set unavailable", Route: Route{Token: authn.DPoPBoundToken, TokenVerifier: StaleKeys(t, rig)},
			Credentials: bound(nil),
			Class:       guard.ClassUnavailable, Status: 503, Reason: guard.ReasonKeysUnavailable,
		},
		{
			Name: "missing mTLS peer", Route: Route{Peer: authn.MatchID(shoprig.Checkout)}, Credentials: none,
			Class: unauthenticated, Status: 403, Reason: guard.ReasonPeerMissing,
		},

		// Step-up (RFC 9470 §3): the token is valid, the user's authentication
		// behind it too weak or too old for the route.
		{
			Name: "step-up: acr below min_acr, DPoP with nonces",
			Route: Route{Token: authn.DPoPBoundToken, VerifierOptions: []dpop.VerifierOption{dpop.WithNonces(nonces)},
				GuardOptions: []guard.Option{guard.WithAuthorizer(mfa5m), guard.WithNonces(nonces)}},
			Credentials: user("DPoP", "pwd", shoprig.Now.Add(-time.Minute), nonces.Current()),
			Class:       unauthenticated, Status: 401, Reason: guard.Reason(authz.ReasonInsufficientACR), Nonce: true,
			Challenges: []string{StepUpChallenge(true, WeakAuthentication, `acr_values="mfa phr"`, `max_age="300"`)},
			ACRValues:  []string{"mfa", "phr"}, MaxAge: 5 * time.Minute, HasMaxAge: true, SteppedUp: steppedUp("DPoP"),
		},
		{
			Name:        "step-up: auth_time too old, DPoP",
			Route:       Route{Token: authn.DPoPBoundToken, GuardOptions: []guard.Option{guard.WithAuthorizer(mfa5m)}},
			Credentials: user("DPoP", "mfa", shoprig.Now.Add(-time.Hour), ""),
			Class:       unauthenticated, Status: 401, Reason: guard.Reason(authz.ReasonAuthTooOld),
			Challenges: []string{StepUpChallenge(true, StaleAuthentication, `acr_values="mfa phr"`, `max_age="300"`)},
			ACRValues:  []string{"mfa", "phr"}, MaxAge: 5 * time.Minute, HasMaxAge: true, SteppedUp: steppedUp("DPoP"),
		},
		{
			Name:        "step-up: no auth_time, DPoP",
			Route:       Route{Token: authn.DPoPBoundToken, GuardOptions: []guard.Option{guard.WithAuthorizer(mfa5m)}},
			Credentials: user("DPoP", "phr", time.Time{}, ""),
			Class:       unauthenticated, Status: 401, Reason: guard.Reason(authz.ReasonAuthTooOld),
			Challenges: []string{StepUpChallenge(true, StaleAuthentication, `acr_values="mfa phr"`, `max_age="300"`)},
			ACRValues:  []string{"mfa", "phr"}, MaxAge: 5 * time.Minute, HasMaxAge: true, SteppedUp: steppedUp("DPoP"),
		},
		{
			// RFC 9470 §3, the first example (Figure 2), with a realm.
			Name: "step-up: acr below min_acr, Bearer",
			Route: Route{Token: authn.AccessToken, Bearer: true, GuardOptions: []guard.Option{
				guard.WithAuthorizer(Authorizer(t, []string{"pwd", "myACR"}, authz.Match{MinACR: "myACR"}))}},
			Credentials: user("Bearer", "pwd", shoprig.Now, ""),
			Class:       unauthenticated, Status: 401, Reason: guard.Reason(authz.ReasonInsufficientACR),
			Challenges: []string{StepUpChallenge(false, WeakAuthentication, `acr_values="myACR"`)},
			ACRValues:  []string{"myACR"}, SteppedUp: steppedUp("Bearer"),
		},
		{
			// RFC 9470 §3, the second example (Figure 3), with a realm.
			Name: "step-up: auth_time too old, Bearer",
			Route: Route{Token: authn.AccessToken, Bearer: true, GuardOptions: []guard.Option{
				guard.WithAuthorizer(Authorizer(t, nil, authz.Match{MaxAuthAge: authz.Duration(5 * time.Second)}))}},
			Credentials: user("Bearer", "pwd", shoprig.Now.Add(-time.Minute), ""),
			Class:       unauthenticated, Status: 401, Reason: guard.Reason(authz.ReasonAuthTooOld),
			Challenges: []string{StepUpChallenge(false, StaleAuthentication, `max_age="5"`)},
			MaxAge:     5 * time.Second, HasMaxAge: true, SteppedUp: steppedUp("Bearer"),
		},
		{
			// RFC 9470 has no challenge parameter for amr: a plain denial.
			Name: "amr missing: no step-up",
			Route: Route{Token: authn.DPoPBoundToken, GuardOptions: []guard.Option{
				guard.WithAuthorizer(Authorizer(t, nil, authz.Match{AMR: []string{"hwk"}}))}},
			Credentials: user("DPoP", "mfa", shoprig.Now, ""),
			Class:       guard.ClassPermissionDenied, Status: 403, Reason: guard.Reason(authz.ReasonInsufficientAMR),
		},

		// The risk step (guard.WithRisk): a step-up is the same RFC 9470
		// challenge, with the risk decision's acr and max_age.
		{
			Name: "risk step-up: new device, DPoP with nonces",
			Route: Route{Token: authn.DPoPBoundToken, VerifierOptions: []dpop.VerifierOption{dpop.WithNonces(nonces)},
				GuardOptions: []guard.Option{guard.WithRisk(RiskEngine(t, false), Every("checkout"), nil), guard.WithNonces(nonces)}},
			Credentials: user("DPoP", "pwd", shoprig.Now.Add(-time.Minute), nonces.Current()),
			Class:       unauthenticated, Status: 401, Reason: guard.ReasonRiskStepUp, Nonce: true,
			Challenges: []string{StepUpChallenge(true, RiskAuthentication, `acr_values="mfa"`, `max_age="300"`)},
			ACRValues:  []string{"mfa"}, MaxAge: 5 * time.Minute, HasMaxAge: true, SteppedUp: steppedUp("DPoP"),
		},
		{
			Name: "risk step-up: new device, Bearer",
			Route: Route{Token: authn.AccessToken, Bearer: true, GuardOptions: []guard.Option{
				guard.WithRisk(RiskEngine(t, false), Every("checkout"), nil)}},
			Credentials: user("Bearer", "pwd", shoprig.Now.Add(-time.Hour), ""),
			Class:       unauthenticated, Status: 401, Reason: guard.ReasonRiskStepUp,
			Challenges: []string{StepUpChallenge(false, RiskAuthentication, `acr_values="mfa"`, `max_age="300"`)},
			ACRValues:  []string{"mfa"}, MaxAge: 5 * time.Minute, HasMaxAge: true, SteppedUp: steppedUp("Bearer"),
		},
		{
			Name: "risk deny: unbound token",
			Route: Route{Token: authn.AccessToken, Bearer: true, GuardOptions: []guard.Option{
				guard.WithRisk(RiskEngine(t, true), Every("checkout"), nil)}},
			Credentials: user("Bearer", "mfa", shoprig.Now, ""),
			Class:       guard.ClassPermissionDenied, Status: 403, Reason: guard.ReasonRiskDenied,
		},

		// The rate-limit step (guard.WithRateLimits).
		{
			Name:        "rate limited: per client",
			Route:       Route{Token: authn.DPoPBoundToken, GuardOptions: []guard.Option{guard.WithRateLimits(Limiter(t, nil), Every("orders"))}},
			Credentials: user("DPoP", "mfa", shoprig.Now, ""),
			Class:       guard.ClassRateLimited, Status: 429, Reason: guard.ReasonRateLimited, RetryAfter: time.Minute,
		},
		{
			Name:        "rate limit counters unavailable: fail closed",
			Route:       Route{Token: authn.DPoPBoundToken, GuardOptions: []guard.Option{guard.WithRateLimits(Limiter(t, FailingCounter{}), Every("orders"))}},
			Credentials: user("DPoP", "mfa", shoprig.Now, ""),
			Class:       guard.ClassUnavailable, Status: 503, Reason: guard.ReasonRateLimitUnavailable,
		},
	}
}
