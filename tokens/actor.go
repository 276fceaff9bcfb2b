package tokens

import (
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/ztkit/ztkit/internal/jsonscan"
)

// MaxActorDepth is the longest actor chain ztkit reads or issues: an act
// claim (RFC 8693 §4.1) nested deeper than this refuses the token with
// [ErrInvalidActor], and [Issuer.Issue] refuses a [TokenRequest.Actor] chain
// longer than this. A delegation chain of a handful of workloads is common;
// a deeper one is more likely an attack on the parser than a deployment.
const MaxActorDepth = 8

// Actor is the identity of a party in an act claim (RFC 8693 §4.1) or a
// may_act claim (RFC 8693 §4.4): a subject, optionally qualified by the
// issuer that names it, and, in an act claim, the prior actor.
//
// In an act claim the chain runs nearest first: the outermost Actor is the
// current actor (the workload the token was issued to, to act for the
// token's subject), its Actor the one that acted before it, and so on
// (RFC 8693 §4.1: the least recent actor is the most deeply nested). RFC
// 8693 §4.1 makes prior actors informational only: base access decisions
// on the current actor. The claim says whom the token was issued to, not
// who presents it; a token bound to the actor's key (DPoP, mTLS) makes the
// two the same.
//
// The json tags give the wire form RFC 8693 uses ({"sub":…,"iss":…,"act":{…}}),
// for callers that marshal an Actor themselves; [Verifier.Verify] does not use
// encoding/json and reads act and may_act strictly (see [ErrInvalidActor]).
//
// An Actor in [Claims] returned by [Verifier.Verify] is the caller's own,
// nested actors included. The zero value is not a valid actor: Subject is
// required.
type Actor struct {
	// Subject is the actor's sub: for a workload, its SPIFFE ID.
	Subject string `json:"sub"`
	// Issuer is the actor's iss, the issuer in whose namespace Subject is
	// unique (RFC 8693 §4.1); "" when the claim has none.
	Issuer string `json:"iss,omitempty"`
	// Actor is the prior actor in an act chain, or nil. It is always nil in a
	// may_act claim.
	Actor *Actor `json:"act,omitempty"`
}

// Depth is the number of actors in the chain that starts at a: 0 for a nil
// Actor, 1 for a single actor. It counts at most MaxActorDepth+1, so that a
// chain of Actor values that loops back on itself ends.
func (a *Actor) Depth() int {
	n := 0
	for ; a != nil && n <= MaxActorDepth; a = a.Actor {
		n++
	}
	return n
}

// Subjects returns the subjects of the chain nearest first: the current
// actor, then the prior ones. It is nil for a nil Actor, and a new slice the
// caller owns otherwise.
func (a *Actor) Subjects() []string {
	n := a.Depth()
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for ; a != nil && len(out) < n; a = a.Actor {
		out = append(out, a.Subject)
	}
	return out
}

// Permits reports whether a, a may_act claim ([Claims.MayAct], RFC 8693
// §4.4), names the party with subject sub at issuer iss: the subjects are
// equal, byte for byte, and, when a has an Issuer, so are the issuers (the
// pair identifies the party when a subject is unique only at its issuer).
// An empty sub is never permitted, and a nil a permits nobody: whether a
// token without may_act may be exchanged at all is the token service's
// policy, to decide before calling Permits.
func (a *Actor) Permits(sub, iss string) bool {
	return a != nil && sub != "" && a.Subject == sub && (a.Issuer == "" || a.Issuer == iss)
}

// LogValue logs the chain as one string: the subjects nearest first,
// separated by single spaces. Actors are workloads named by SPIFFE IDs,
// which are not personal data, and are logged as they are; any other
// subject (RFC 8693 also lets a person act, such as an administrator) may
// identify a person and is logged as "[REDACTED]". Issuers are left out. A
// nil Actor logs as "".
func (a *Actor) LogValue() slog.Value {
	var b strings.Builder
	for i, s := range a.Subjects() {
		if i > 0 {
			b.WriteByte(' ')
		}
		if isLoggableActor(s) {
			b.WriteString(s)
		} else {
			b.WriteString("[REDACTED]")
		}
	}
	return slog.StringValue(b.String())
}

// isLoggableActor reports whether an actor subject may be logged as it is:
// whether it looks like a SPIFFE ID, "spiffe://" then printable ASCII other
// than space (so that it can neither identify a person nor split or forge a
// log field). It is a logging filter, not a SPIFFE ID validator.
func isLoggableActor(sub string) bool {
	const scheme = "spiffe://"
	if len(sub) <= len(scheme) || sub[:len(scheme)] != scheme {
		return false
	}
	for i := len(scheme); i < len(sub); i++ {
		if sub[i] <= ' ' || sub[i] > '~' {
			return false
		}
	}
	return true
}

// clone returns a deep copy of the chain at a, in one allocation.
func (a *Actor) clone() *Actor {
	n := a.Depth()
	if n == 0 {
		return nil
	}
	cp := make([]Actor, n)
	for i := range cp {
		cp[i] = *a
		cp[i].Actor = nil
		if i > 0 {
			cp[i-1].Actor = &cp[i]
		}
		a = a.Actor
	}
	return &cp[0]
}

// validate checks a chain for [Issuer.Issue]: every actor has a non-empty,
// valid UTF-8 Subject, an Issuer that is valid UTF-8, and the chain is at
// most MaxActorDepth long (maxDepth for may_act, which has no chain).
func (a *Actor) validate(claim string, maxDepth int) error {
	if n := a.Depth(); n > maxDepth {
		if maxDepth == 1 {
			return fmt.Errorf("%w: %w: %s may not name a prior actor", ErrInvalidConfig, ErrInvalidActor, claim)
		}
		return fmt.Errorf("%w: %w: %s chain longer than %d", ErrInvalidConfig, ErrInvalidActor, claim, maxDepth)
	}
	for ; a != nil; a = a.Actor {
		if a.Subject == "" || !utf8.ValidString(a.Subject) || !utf8.ValidString(a.Issuer) {
			return fmt.Errorf("%w: %w: %s needs a non-empty UTF-8 subject", ErrInvalidConfig, ErrInvalidActor, claim)
		}
	}
	return nil
}

// parseActor reads an act (maxDepth MaxActorDepth) or may_act (maxDepth 1)
// claim: a JSON object with a non-empty string sub, an optional non-empty
// string iss and, in act only, an optional nested act object. Other members
// are identity claims ztkit does not model; they are ignored (they remain
// readable through [Claims.Decode]). Anything else refuses the token with
// ErrInvalidActor.
func parseActor(v jsonscan.Value, claim string, maxDepth int) (*Actor, error) {
	var head *Actor
	next := &head
	for depth := 1; ; depth++ {
		if depth > maxDepth {
			if maxDepth == 1 {
				return nil, fmt.Errorf("%w: %s names a prior actor", ErrInvalidActor, claim)
			}
			return nil, fmt.Errorf("%w: %s nested deeper than %d", ErrInvalidActor, claim, maxDepth)
		}
		if v.Kind != jsonscan.ObjectKind {
			return nil, fmt.Errorf("%w: %s is not a JSON object", ErrInvalidActor, claim)
		}
		a := &Actor{}
		*next = a
		var (
			nested  jsonscan.Value
			hasAct  bool
			hasSub  bool
			o       = v.Object()
			problem string
		)
		for o.Next() {
			var err error
			switch string(o.Key()) {
			case "sub":
				a.Subject, err = o.Value().Str()
				hasSub = true
			case "iss":
				a.Issuer, err = o.Value().Str()
				if err == nil && a.Issuer == "" {
					err = jsonscan.ErrType
				}
			case "act":
				nested, hasAct = o.Value(), true
			}
			if err != nil {
				problem = string(o.Key()) + " is not a non-empty string"
				break
			}
		}
		switch {
		case o.Err() != nil:
			return nil, fmt.Errorf("%w: %s is not a valid JSON object", ErrInvalidActor, claim)
		case problem != "":
			return nil, fmt.Errorf("%w: %s %s", ErrInvalidActor, claim, problem)
		case !hasSub || a.Subject == "":
			return nil, fmt.Errorf("%w: %s has no sub", ErrInvalidActor, claim)
		case !hasAct:
			return head, nil
		}
		v, next = nested, &a.Actor
	}
}
