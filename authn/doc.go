// Package authn establishes who is calling a service, from every proof the
// request carries, and puts it in the request's context as one [Principal].
//
// Workloads prove who they are with SPIFFE X.509-SVIDs over mTLS ([ServerTLSConfig],
// [ClientTLSConfig], built on go-spiffe, so SVIDs and bundles rotate without a
// restart) or with JWT-SVIDs. End users and clients come with access tokens
// (package tokens), Bearer (RFC 6750) or DPoP-bound (RFC 9449, package dpop),
// or bound to the client certificate (RFC 8705).
//
// A [Policy] says what a route accepts, and an [Authenticator] enforces it:
//
//	a, err := authn.New(authn.Policy{
//		Peer:  authn.MatchID(checkoutID),   // mTLS from the checkout workload
//		Token: authn.DPoPBoundToken,            // carrying a DPoP-bound customer token
//	}, authn.WithX509Bundles(source), authn.WithAccessTokens(requestVerifier))
//	p, err := a.Authenticate(ctx, r)
//
// Which SPIFFE IDs may call is one mechanism, an [IDMatcher], whichever
// way the ID was proved: Policy.Peer for an mTLS X.509-SVID, Policy.Workload
// for a JWT-SVID. Trusted bundles may include federated trust domains; a
// JWT-SVID policy without a Workload matcher admits only the audience's
// own trust domain.
//
// A token that a token exchange (RFC 8693) issued to a workload acting for a
// customer names that workload in its act claim; [Principal.Actor] carries
// the chain, nearest first, and [Principal.ActorID] the current actor as a
// SPIFFE ID, which authz rules can require ("actors").
//
// A transport other than net/http describes its request as an
// inbound.Request and calls [Authenticator.AuthenticateInbound]; Authenticate
// is that for an *http.Request.
//
// Package guard composes the authenticator with authorization, telemetry and
// the refusal log into one decision path, and package middleware wraps it
// around an http.Handler, answers refusals with the standard challenges and
// stores the principal with [NewContext]; handlers read it with
// [PrincipalFromContext].
//
// A service that cannot get its identity should not start: spiffesource.NewX509Source
// (package spiffesource) waits for the first SVID for a bounded time and then fails with an error
// naming the Workload API socket.
package authn
