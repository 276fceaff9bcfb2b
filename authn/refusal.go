package authn

import "github.com/spiffe/go-spiffe/v2/spiffeid"

// RefusalError is how [Authenticator.Authenticate] refuses a request of which
// it had already verified a part: an mTLS peer whose SPIFFE ID verified but
// that the policy's [IDMatcher] refused, or whose token then failed, a
// JWT-SVID that verified but that the policy's Workload matcher refused,
// or an access token that verified but came without the DPoP proof the
// route requires. It carries what was verified, so that a refusal can be logged
// with who was turned away (package middleware does), and wraps the cause:
// [errors.Is] and [errors.As] reach the Err values of this package and of
// packages tokens and dpop through it. Its message is the cause's.
//
// A refusal before anything verified is the cause itself, not a RefusalError.
// Like every refusal of this package, it holds no token, proof, key material
// or subject.
type RefusalError struct {
	// Peer is the SPIFFE ID of the client X.509-SVID, verified against the
	// trust bundles (whether or not the policy then allowed it); zero when no
	// peer verified.
	Peer spiffeid.ID
	// ClientID is the client_id of an access token whose signature and
	// claims verified; "" when no token verified.
	ClientID string
	// Workload is the SPIFFE ID of a JWT-SVID that verified but that
	// Policy.Workload refused; zero otherwise.
	Workload spiffeid.ID
	// Err is the cause of the refusal.
	Err error
}

// Error returns the cause's message.
func (e *RefusalError) Error() string {
	if e.Err == nil {
		return "authn: request refused"
	}
	return e.Err.Error()
}

// Unwrap returns the cause.
func (e *RefusalError) Unwrap() error { return e.Err }

// refused returns err, wrapped in a [RefusalError] when p holds a verified
// peer or client.
func refused(p *Principal, err error) error {
	if p.Peer.IsZero() && p.ClientID == "" {
		return err
	}
	return &RefusalError{Peer: p.Peer, ClientID: p.ClientID, Err: err}
}
