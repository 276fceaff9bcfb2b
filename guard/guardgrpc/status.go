package guardgrpc

import (
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ztkit/ztkit/guard"
)

// Metadata keys and the ErrorInfo domain of refusals.
const (
	// Domain is the google.rpc.ErrorInfo domain of every refusal.
	Domain = "ztkit"
	// CodeKey is the ErrorInfo metadata key holding the refusal's
	// [guard.Reason] as is ("dpop_replayed"), the code package middleware
	// puts in the "code" member of its problem objects.
	CodeKey = "code"
	// ChallengeKey is the trailer metadata key of the refusal's
	// WWW-Authenticate challenges (RFC 6750 §3, RFC 9449 §7.1, RFC 9470 §3),
	// one value each, as package middleware sends them.
	ChallengeKey = "www-authenticate"
	// NonceKey is the metadata key of the server's DPoP nonce (RFC 9449
	// §8), the DPoP-Nonce header of HTTP: header metadata of a call let
	// through, trailer metadata of a refusal.
	NonceKey = "dpop-nonce"
)

// Code is the gRPC status code of a refusal of class c: Unauthenticated,
// PermissionDenied, InvalidArgument, Unavailable (infrastructure the
// decision needs is down, never a bad credential), ResourceExhausted (over
// a rate limit) or Internal.
func Code(c guard.Class) codes.Code {
	switch c {
	case guard.ClassUnauthenticated:
		return codes.Unauthenticated
	case guard.ClassPermissionDenied:
		return codes.PermissionDenied
	case guard.ClassBadRequest:
		return codes.InvalidArgument
	case guard.ClassUnavailable:
		return codes.Unavailable
	case guard.ClassRateLimited:
		return codes.ResourceExhausted
	}
	return codes.Internal
}

// Status is the gRPC status of ref: the [Code] of its class, its fixed
// public Detail as the message, and a google.rpc.ErrorInfo detail with
// domain [Domain], reason the [guard.Reason] in UPPER_SNAKE_CASE
// ("DPOP_REPLAYED", as the ErrorInfo reason field's documentation asks) and
// metadata {[CodeKey]: the reason as is (invalid UTF-8 replaced, which no
// guard.Reason has)}, and, for a rate-limited refusal, a
// google.rpc.RetryInfo whose retry_delay is its RetryAfter in whole
// seconds (guard.Refusal.RetryAfterSeconds). A nil ref is an Internal status.
func Status(ref *guard.Refusal) *status.Status {
	if ref == nil {
		ref = &guard.Refusal{Class: guard.ClassInternal, Reason: guard.ReasonInternal, Detail: "Authentication failed."}
	}
	st := status.New(Code(ref.Class), ref.Detail)
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{
		Reason:   errorInfoReason(ref.Reason),
		Domain:   Domain,
		Metadata: map[string]string{CodeKey: strings.ToValidUTF8(string(ref.Reason), "\uFFFD")}, // protobuf strings are UTF-8
	}}
	if s := ref.RetryAfterSeconds(); s > 0 {
		// Seconds as they are: time.Duration(s)*time.Second wraps for the longest waits.
		details = append(details, &errdetails.RetryInfo{RetryDelay: &durationpb.Duration{Seconds: s}})
	}
	ds, err := st.WithDetails(details...)
	if err != nil { // unreachable: ErrorInfo of valid UTF-8 always marshals
		return st
	}
	return ds
}

// errorInfoReason is r in the form google.rpc.ErrorInfo asks of a reason,
// [A-Z][A-Z0-9_]+[A-Z0-9] of at most 63 characters: upper case, with every
// other character an underscore; "REFUSED" when nothing is left.
func errorInfoReason(r guard.Reason) string {
	b := []byte(strings.ToUpper(string(r)))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	s := strings.TrimRight(strings.TrimLeft(string(b), "_0123456789"), "_")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "_")
	}
	if len(s) < 2 {
		return "REFUSED"
	}
	return s
}
