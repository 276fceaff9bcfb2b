package authn

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
)

// PeerAuthorizer decides whether a peer with a verified SPIFFE ID may call.
// It returns nil to allow and an error matching [ErrPeerNotAuthorized] to
// refuse. Build one with the Authorize functions and combine them with [And],
// [Or] and [Not]; the zero value (nil) allows no one.
type PeerAuthorizer func(id spiffeid.ID) error

func refuse(id spiffeid.ID) error {
	return fmt.Errorf("%w: %s", ErrPeerNotAuthorized, id)
}

// AuthorizeAny allows every peer whose X.509-SVID verified against the trust
// bundles. Use it only where the bundles themselves are the policy.
func AuthorizeAny() PeerAuthorizer {
	return func(spiffeid.ID) error { return nil }
}

// AuthorizeID allows exactly the peer want.
func AuthorizeID(want spiffeid.ID) PeerAuthorizer {
	return func(id spiffeid.ID) error {
		if !want.IsZero() && id == want {
			return nil
		}
		return refuse(id)
	}
}

// AuthorizeOneOf allows any of ids.
func AuthorizeOneOf(ids ...spiffeid.ID) PeerAuthorizer {
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

// AuthorizeMemberOf allows any peer of trust domain td.
func AuthorizeMemberOf(td spiffeid.TrustDomain) PeerAuthorizer {
	return func(id spiffeid.ID) error {
		if !td.IsZero() && id.MemberOf(td) {
			return nil
		}
		return refuse(id)
	}
}

// AuthorizePathPrefix allows peers of trust domain td whose path is prefix or
// lies below it, on a segment boundary: "/payments" allows "/payments" and
// "/payments/eu", not "/paymentsx"; "/" allows every workload of td. prefix
// must start with "/"; otherwise the authorizer allows no one.
func AuthorizePathPrefix(td spiffeid.TrustDomain, prefix string) PeerAuthorizer {
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

// And allows a peer that every one of as allows. With no authorizers, or a nil
// one, it allows no one.
func And(as ...PeerAuthorizer) PeerAuthorizer {
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
func Or(as ...PeerAuthorizer) PeerAuthorizer {
	return func(id spiffeid.ID) error {
		for _, a := range as {
			if a != nil && a(id) == nil {
				return nil
			}
		}
		return refuse(id)
	}
}

// Not allows the peers a refuses. Combine it with a positive authorizer, as in
// And(AuthorizeMemberOf(td), Not(AuthorizeID(storefront))): on its own it
// admits every verified peer a does not name.
func Not(a PeerAuthorizer) PeerAuthorizer {
	return func(id spiffeid.ID) error {
		if a == nil || a(id) == nil {
			return refuse(id)
		}
		return nil
	}
}

// authorize runs a, refusing when it is nil.
func (a PeerAuthorizer) authorize(id spiffeid.ID) error {
	if a == nil {
		return refuse(id)
	}
	return a(id)
}

// TLS adapts a to go-spiffe's tlsconfig.Authorizer, for TLS configurations
// built with go-spiffe directly.
func (a PeerAuthorizer) TLS() tlsconfig.Authorizer {
	return func(id spiffeid.ID, _ [][]*x509.Certificate) error { return a.authorize(id) }
}
