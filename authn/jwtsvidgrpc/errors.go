package jwtsvidgrpc

import "errors"

// Errors returned by [PerRPCCredentials]. Match them with [errors.Is]; a
// returned error may wrap one with more detail. None carries the JWT-SVID.
var (
	// ErrInvalidConfig: [NewPerRPCCredentials] was given no source or no
	// audience.
	ErrInvalidConfig = errors.New("jwtsvidgrpc: invalid configuration")
	// ErrSVIDUnavailable: the source failed, or returned a JWT-SVID that is
	// expired, not for the audience, of another subject than the one asked
	// for, or not sendable, and no earlier one is still valid. The source's
	// error is wrapped.
	ErrSVIDUnavailable = errors.New("jwtsvidgrpc: JWT-SVID unavailable")
	// ErrInsecureTransport: the connection does not provide privacy and
	// integrity (TLS), or the call carries no credentials.RequestInfo to
	// tell. The JWT-SVID is never sent.
	ErrInsecureTransport = errors.New("jwtsvidgrpc: connection is not secure")
	// ErrConflictingMetadata: the call's outgoing metadata already has an
	// "authorization" key.
	ErrConflictingMetadata = errors.New("jwtsvidgrpc: call already carries authorization metadata")
)
