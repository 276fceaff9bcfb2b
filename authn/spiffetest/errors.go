package spiffetest

import "errors"

// Errors returned by this package. Match them with [errors.Is]; a returned
// error may wrap one of them with more detail.
var (
	// ErrInvalidConfig: [New] was given a zero trust domain or an option that
	// cannot work, such as a negative lifetime, a rotation interval not
	// shorter than the X509-SVID lifetime, or a federated bundle for the
	// issuer's own trust domain; or an [SVIDOption] asked for an empty
	// validity window.
	ErrInvalidConfig = errors.New("spiffetest: invalid configuration")
	// ErrInvalidID: a SPIFFE ID is zero, has no path (X509-SVID §3.1 requires
	// one for a leaf), or is not in the issuer's trust domain.
	ErrInvalidID = errors.New("spiffetest: invalid SPIFFE ID")
	// ErrInvalidAudience: a JWT-SVID was requested without an audience, or with
	// an empty audience value (JWT-SVID §3.2).
	ErrInvalidAudience = errors.New("spiffetest: invalid audience")
	// ErrNoIdentity: the caller is not entitled to an identity, because no
	// identity is registered or because an [Attestor] found none for it. The
	// Workload API answers such calls with PermissionDenied.
	ErrNoIdentity = errors.New("spiffetest: no identity for caller")
	// ErrNoCallerCredentials: the credentials of the process at the other end
	// of the socket are not known (SO_PEERCRED is read on Linux only).
	ErrNoCallerCredentials = errors.New("spiffetest: caller credentials unavailable")
	// ErrClosed: the [Issuer] was used after Close.
	ErrClosed = errors.New("spiffetest: issuer closed")
)
