package sts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/ztkit/ztkit/tokens"
)

// ActorPolicy says what one workload may obtain by token exchange when it
// acts for a subject (RFC 8693 §1.1 delegation). A workload without a
// policy may not exchange tokens at all.
type ActorPolicy struct {
	// ID is the workload's SPIFFE ID, as proved by its JWT-SVID actor token
	// or its mTLS X.509-SVID.
	ID spiffeid.ID
	// Audiences are the audience and resource values (RFC 8693 §2.1) the
	// actor may request; at least one. A request that names none gets the
	// only one when there is exactly one.
	Audiences []string
	// Scopes are the scopes the actor may carry for a subject: an issued
	// token's scopes are within both these and the subject token's. nil
	// allows none, so that an actor's tokens carry no scope.
	Scopes []string
	// SubjectAudiences, when set, restricts the subject tokens the actor
	// may exchange to those whose aud names one of them, typically the
	// actor's own service URL, so that a workload exchanges only the
	// tokens sent to it. Empty leaves the decision to the subject token
	// verifier's audiences (see [WithTokenExchange]).
	SubjectAudiences []string
}

func (a *ActorPolicy) validate() error {
	switch {
	case a.ID.IsZero():
		return fmt.Errorf("%w: actor policy without a SPIFFE ID", ErrInvalidConfig)
	case len(a.Audiences) == 0 || slices.Contains(a.Audiences, ""):
		return fmt.Errorf("%w: actor %s may be given no audience", ErrInvalidConfig, a.ID)
	}
	for _, s := range a.Scopes {
		if !tokens.IsScopeToken(s) {
			return fmt.Errorf("%w: actor %s has a scope that is not an RFC 6749 scope-token", ErrInvalidConfig, a.ID)
		}
	}
	return nil
}

// exchange serves the token exchange grant (RFC 8693 §2). Refusals follow
// §2.2.2: invalid_request for a request, subject token or actor that is
// invalid or unacceptable by policy, invalid_target for an audience or
// resource the actor may not have, and invalid_scope (RFC 6749 §5.2) for a
// scope beyond the subject's or the actor's.
func (s *Server) exchange(ctx context.Context, r *http.Request, f form, o *outcome) (*tokenResponse, *refusal) {
	if s.cfg.subjects == nil {
		return nil, badRequest(errUnsupportedGrantType, reasonUnsupportedGrant, "grant type not supported", nil)
	}
	if f.has("client_assertion") || f.has("client_assertion_type") {
		return nil, badRequest(errInvalidRequest, reasonNoActor, "a token exchange authenticates the actor by actor_token or mTLS", nil)
	}
	// requested_token_type (§2.1): only access tokens are issued.
	if t := f.get("requested_token_type"); t != "" && t != TokenTypeAccessToken {
		return nil, badRequest(errInvalidRequest, reasonTokenType, "requested_token_type not supported: only "+TokenTypeAccessToken, nil)
	}
	subjectToken, subjectType := f.get("subject_token"), f.get("subject_token_type")
	if subjectToken == "" || subjectType == "" {
		return nil, badRequest(errInvalidRequest, reasonMissingParameter, "subject_token and subject_token_type are required", nil)
	}
	if subjectType != TokenTypeAccessToken && subjectType != TokenTypeJWT {
		return nil, badRequest(errInvalidRequest, reasonTokenType, "subject_token_type not supported", nil)
	}
	actor, peer, rf := s.actor(r, f)
	if rf != nil {
		return nil, rf
	}
	o.actor = actor.String()
	o.clientID = o.actor
	if id := f.get("client_id"); id != "" && id != o.actor {
		return nil, badRequest(errInvalidRequest, reasonActorMismatch, "client_id does not name the actor", nil)
	}
	policy, ok := s.actors[actor]
	if !ok {
		return nil, badRequest(errInvalidRequest, reasonActorNotAllowed, "the actor may not exchange tokens", nil)
	}
	subject, err := s.cfg.subjects.Verify(ctx, subjectToken)
	if err != nil {
		return nil, subjectRefusal(err)
	}
	if len(policy.SubjectAudiences) > 0 && !slices.ContainsFunc(subject.Audience, func(a string) bool { return slices.Contains(policy.SubjectAudiences, a) }) {
		return nil, badRequest(errInvalidRequest, reasonSubjectAudience, "subject_token is not for an audience this actor may exchange", nil)
	}
	// may_act (§4.4): when the subject names who may act for it, the actor
	// must be that party. Actors are named by SPIFFE ID alone, with no iss,
	// so a may_act with an iss names no workload.
	if m := subject.MayAct; m != nil && !m.Permits(o.actor, "") {
		return nil, badRequest(errInvalidRequest, reasonMayAct, "the subject token does not allow this actor (may_act)", nil)
	}
	if subject.Actor.Depth() >= tokens.MaxActorDepth {
		return nil, badRequest(errInvalidRequest, reasonActorChain, "the delegation chain is too long", nil)
	}
	aud, rf := targets(f, policy.Audiences, "the actor")
	if rf != nil {
		return nil, rf
	}
	scopes, rf := narrowScopes(f, subject.Scopes, policy.Scopes, true)
	if rf != nil {
		return nil, rf
	}
	// Never outlive the subject token: refused now when it has less than a
	// second left, before the DPoP proof is spent, and measured again when
	// the token is signed (see issue).
	if _, ok := s.lifetimeUntil(subject.Expiry); !ok {
		return nil, badRequest(errInvalidRequest, reasonSubjectExpired, "subject_token is expired", nil)
	}
	jkt, rf := s.proof(ctx, r)
	if rf != nil {
		return nil, rf
	}
	b := binding{jkt: jkt}
	if jkt == "" {
		switch {
		case !s.cfg.dpopOptional:
			return nil, badRequest(errInvalidRequest, reasonDPoPRequired, "a DPoP proof is required", nil)
		case peer != nil && peer.id == actor:
			b.x5t = peer.x5t
		}
	}
	return s.issue(ctx, o, tokens.TokenRequest{
		Subject:  subject.Subject,
		ClientID: o.actor,
		Audience: aud,
		Scopes:   scopes,
		// The subject's authentication, as the subject token states it.
		AuthTime: subject.AuthTime, ACR: subject.ACR, AMR: subject.AMR,
		// act (§4.1): the actor now, then the subject token's chain.
		Actor: &tokens.Actor{Subject: o.actor, Actor: subject.Actor},
	}, b, subject.Expiry, TokenTypeAccessToken)
}

// mtlsPeer is a verified mTLS client X.509-SVID.
type mtlsPeer struct {
	id  spiffeid.ID
	x5t string
}

// actor authenticates the acting workload: the JWT-SVID in actor_token
// (actor_token_type jwt, audience the server's own), or else the mTLS
// client X.509-SVID. When both are present they must name the same workload.
func (s *Server) actor(r *http.Request, f form) (spiffeid.ID, *mtlsPeer, *refusal) {
	var peer *mtlsPeer
	id, leaf, ok, rf := s.peer(r)
	if rf != nil {
		rf.code, rf.status = errInvalidRequest, http.StatusBadRequest // §2.2.2: an unacceptable actor
		return spiffeid.ID{}, nil, rf
	}
	if ok {
		peer = &mtlsPeer{id: id, x5t: certThumbprint(leaf)}
	}
	token, typ := f.get("actor_token"), f.get("actor_token_type")
	switch {
	case token == "" && typ != "":
		// §2.1: actor_token_type "MUST NOT be included otherwise".
		return spiffeid.ID{}, nil, badRequest(errInvalidRequest, reasonMissingParameter, "actor_token_type without actor_token", nil)
	case token == "" && peer == nil:
		return spiffeid.ID{}, nil, badRequest(errInvalidRequest, reasonNoActor, "an actor_token or an mTLS client X.509-SVID is required", nil)
	case token == "":
		return peer.id, peer, nil
	case typ != TokenTypeJWT:
		return spiffeid.ID{}, nil, badRequest(errInvalidRequest, reasonTokenType, "actor_token_type must be "+TokenTypeJWT, nil)
	case s.cfg.jwtBundles == nil:
		return spiffeid.ID{}, nil, badRequest(errInvalidRequest, reasonActorToken, "actor tokens are not accepted", nil)
	}
	svid, err := s.verifyJWTSVID(token)
	if err != nil {
		return spiffeid.ID{}, nil, badRequest(errInvalidRequest, reasonActorToken, "actor_token is not a valid JWT-SVID for this server", err)
	}
	if peer != nil && peer.id != svid {
		return spiffeid.ID{}, nil, badRequest(errInvalidRequest, reasonActorMismatch, "actor_token and the client certificate name different workloads", nil)
	}
	return svid, peer, nil
}

// subjectRefusal is the §2.2.2 answer to a subject token that does not verify.
func subjectRefusal(err error) *refusal {
	switch {
	case errors.Is(err, tokens.ErrExpired):
		return badRequest(errInvalidRequest, reasonSubjectExpired, "subject_token is expired", err)
	case errors.Is(err, tokens.ErrInvalidAudience):
		return badRequest(errInvalidRequest, reasonSubjectAudience, "subject_token is not for an audience this server accepts", err)
	case errors.Is(err, tokens.ErrKeySetUnavailable):
		return &refusal{status: http.StatusServiceUnavailable, code: errServerError, reason: reasonSubjectToken,
			description: "the subject token's keys are unavailable", err: err}
	}
	return badRequest(errInvalidRequest, reasonSubjectToken, "subject_token is invalid", err)
}
