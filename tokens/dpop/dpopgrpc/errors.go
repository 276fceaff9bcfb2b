package dpopgrpc

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// Errors returned by [PerRPCCredentials] and its interceptors. Each says
// which step failed and never carries the access token or a proof. Match
// them with [errors.Is]; a returned error may wrap one with more detail.
var (
	// ErrInvalidConfig: [NewPerRPCCredentials] was given no token source, no
	// proofer, or an authority that is not host[:port].
	ErrInvalidConfig = errors.New("dpopgrpc: invalid configuration")
	// ErrTokenSource: the token source failed or returned a token that
	// cannot be sent (empty, or outside RFC 9110 token68). The source's
	// error is wrapped.
	ErrTokenSource = errors.New("dpopgrpc: access token unavailable")
	// ErrProof: the proofer could not make a proof (for example, its signer
	// failed). The proofer's error is wrapped.
	ErrProof = errors.New("dpopgrpc: DPoP proof could not be made")
	// ErrInsecureTransport: the connection does not provide privacy and
	// integrity (TLS), or the call carries no credentials.RequestInfo to
	// tell (it was not made by grpc-go). The token and proof are never sent.
	ErrInsecureTransport = errors.New("dpopgrpc: connection is not secure")
	// ErrUnknownTarget: the call's method is not "/service/method" in the
	// canonical path form the server checks htu in (no dot or empty
	// segment, no query, fragment or encoded separator), or its authority is
	// missing or not host[:port], so the proof's htu cannot be built.
	ErrUnknownTarget = errors.New("dpopgrpc: call target unknown")
	// ErrConflictingMetadata: the call's outgoing metadata already has an
	// "authorization" or "dpop" key, which the credentials would add a
	// second value to.
	ErrConflictingMetadata = errors.New("dpopgrpc: call already carries authorization or dpop metadata")
	// ErrNonceRetryImpossible: a stream was refused with the use_dpop_nonce
	// challenge after the client had sent a message, so it could not be
	// opened again transparently. The nonce is remembered: opening the
	// stream again succeeds. It also matches dpop.ErrNonceRetryImpossible.
	ErrNonceRetryImpossible = fmt.Errorf("dpopgrpc: stream refused for a DPoP nonce after a message was sent: %w", dpop.ErrNonceRetryImpossible)
)

// statusError is an error that is both the gRPC status a call ended with
// (status.FromError, status.Code) and a wrapped error of this package
// (errors.Is, errors.As).
type statusError struct {
	err error
	st  *status.Status
}

func (e *statusError) Error() string              { return e.err.Error() }
func (e *statusError) Unwrap() error              { return e.err }
func (e *statusError) GRPCStatus() *status.Status { return e.st }
