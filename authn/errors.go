package authn

import "errors"

// Errors returned when a request is refused. Refusals of the access token or
// its DPoP proof are passed through from packages tokens and dpop and match
// their Err values. None of them contains a token, a proof or key material.
var (
	// ErrMissingPeer: the route requires an mTLS client X.509-SVID and the
	// connection has none.
	ErrMissingPeer = errors.New("authn: no client certificate")
	// ErrInvalidPeer: the client certificate is not an X.509-SVID that chains to
	// a trusted bundle (SPIFFE X509-SVID §4, §5).
	ErrInvalidPeer = errors.New("authn: client certificate is not a valid X.509-SVID")
	// ErrPeerNotAuthorized: the caller's SPIFFE ID, from its mTLS X.509-SVID
	// or its JWT-SVID, is valid but not allowed on this route.
	ErrPeerNotAuthorized = errors.New("authn: peer not authorized")
	// ErrMissingToken: the route requires a token and the request has none.
	ErrMissingToken = errors.New("authn: no token")
	// ErrDPoPRequired: the route requires a DPoP-bound token and the token was
	// presented without a proof.
	ErrDPoPRequired = errors.New("authn: DPoP-bound token required")
	// ErrInvalidJWTSVID: the JWT-SVID is malformed, expired, not for this
	// audience, or not signed by a trusted key (SPIFFE JWT-SVID §4).
	ErrInvalidJWTSVID = errors.New("authn: invalid JWT-SVID")
	// ErrSourceUnavailable: the SPIFFE Workload API gave no SVID or bundle in time.
	ErrSourceUnavailable = errors.New("authn: SPIFFE Workload API unavailable")
	// ErrInvalidConfig: a constructor was given options that would admit
	// everyone, or that cannot work.
	ErrInvalidConfig = errors.New("authn: invalid configuration")
)
