package authn

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
)

// IDMatcher decides whether a caller with a verified SPIFFE ID may call: an
// mTLS peer (Policy.Peer, an egress destination's Server) or the workload of
// a JWT-SVID (Policy.Workload). It returns nil to allow and an error
// matching [ErrPeerNotAuthorized] to refuse. Build one with the Match
// functions and combine them with [And], [Or] and [Not]; the zero value
// (nil) allows no one.
//
// It is what go-spiffe calls a matcher (spiffeid.Matcher: MatchID,
// MatchMemberOf, ...), a check on the SPIFFE ID alone. The name Authorizer
// is left to the request-level decision of package authz (authz.Authorizer)
// and, in go-spiffe, to the TLS-level check that also sees the chains
// (tlsconfig.Authorizer), which [IDMatcher.TLS] adapts it to.
type IDMatcher func(id spiffeid.ID) error

func refuse(id spiffeid.ID) error {
	return fmt.Errorf("%w: %s", ErrPeerNotAuthorized, id)
}

// MatchAny allows every peer whose X.509-SVID verified against the trust
// bundles. Use it only where the bundles themselves are the policy.
func MatchAny() IDMatcher {
	return func(spiffeid.ID) error { return nil }
}

// MatchID allows exactly the peer want.
func MatchID(want spiffeid.ID) IDMatcher {
	return func(id spiffeid.ID) error {
		if !want.IsZero() && id == want {
			return nil
		}
		return refuse(id)
	}
}

// MatchOneOf allows any of ids.
func MatchOneOf(ids ...spiffeid.ID) IDMatcher {
	set := make(map[spiffeid.ID]struct{}, len(ids))
	for _, id := range ids {
		if !id.IsZero() {
			set[id] = struct{}{}
		}
	}
	return func(id spiffeid.ID) error {
		if _, ok := set[id]; ok {
			return nil
		}
		return refuse(id)
	}
}

// MatchMemberOf allows any peer of trust domain td.
func MatchMemberOf(td spiffeid.TrustDomain) IDMatcher {
	return func(id spiffeid.ID) error {
		if !td.IsZero() && id.MemberOf(td) {
			return nil
		}
		return refuse(id)
	}
}

// MatchPathPrefix allows peers of trust domain td whose path is prefix or
// lies below it, on a segment boundary: "/payments" allows "/payments" and
// "/payments/eu", not "/paymentsx"; "/" allows every workload of td. prefix
// must start with "/"; otherwise the matcher allows no one.
func MatchPathPrefix(td spiffeid.TrustDomain, prefix string) IDMatcher {
	valid := !td.IsZero() && strings.HasPrefix(prefix, "/")
	prefix = strings.TrimSuffix(prefix, "/")
	valid = valid && (prefix == "" || spiffeid.ValidatePath(prefix) == nil)
	return func(id spiffeid.ID) error {
		if valid && id.MemberOf(td) {
			p := id.Path()
			if p != "" && (p == prefix || strings.HasPrefix(p, prefix+"/")) {
				return nil
			}
		}
		return refuse(id)
	}
}

// And allows a peer that every one of as allows. With no matchers, or a nil
// one, it allows no one.
func And(as ...IDMatcher) IDMatcher {
	return func(id spiffeid.ID) error {
		if len(as) == 0 {
			return refuse(id)
		}
		for _, a := range as {
			if a == nil {
				return refuse(id)
			}
			if err := a(id); err != nil {
				return err
			}
		}
		return nil
	}
}

// Or allows a peer that any one of as allows. With none it allows no one.
func Or(as ...IDMatcher) IDMatcher {
	return func(id spiffeid.ID) error {
		for _, a := range as {
			if a != nil && a(id) == nil {
				return nil
			}
		}
		return refuse(id)
	}
}

// Not allows the peers a refuses. Combine it with a positive matcher, as in
// And(MatchMemberOf(td), Not(MatchID(storefront))): on its own it
// admits every verified peer a does not name.
func Not(a IDMatcher) IDMatcher {
	return func(id spiffeid.ID) error {
		if a == nil || a(id) == nil {
			return refuse(id)
		}
		return nil
	}
}

// authorize runs a, refusing when it is nil.
func (a IDMatcher) authorize(id spiffeid.ID) error {
	if a == nil {
		return refuse(id)
	}
	return a(id)
}

// TLS adapts a to go-spiffe's tlsconfig.Authorizer, for TLS configurations
// built with go-spiffe directly.
func (a IDMatcher) TLS() tlsconfig.Authorizer {
	return func(id spiffeid.ID, _ [][]*x509.Certificate) error { return a.authorize(id) }
}
