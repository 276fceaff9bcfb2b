package dpopgrpc

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// Metadata keys of a refusal's challenges and nonce, as ztkit's guardgrpc
// interceptors send them: the WWW-Authenticate header and the DPoP-Nonce
// header of HTTP, as gRPC metadata.
const (
	challengeKey = "www-authenticate"
	nonceKey     = "dpop-nonce"
)

// Advise says what a client must do about err, the outcome of a call whose
// header and trailer metadata are header and trailer (grpc.Header and
// grpc.Trailer call options, or a stream's Header and Trailer), by the
// rules of [dpop.Advise]. A refusal is read only when err's status code is
// Unauthenticated, PermissionDenied or InvalidArgument, the codes an HTTP
// 401, 403 and 400 become; its challenges are the "www-authenticate"
// trailer values (RFC 6750 §3, RFC 9449 §7.1, RFC 9470 §3, one challenge
// list per value, as package guardgrpc sends them), else the header's, and
// its nonce the "dpop-nonce" trailer values, else the header's. Any other
// outcome, nil included, is [dpop.ActionGiveUp] with no error. The status
// message and details are never read: the challenge alone says what to do.
//
// The metadata does not say which scheme the call used, so of several
// challenges with an error code, a DPoP one is acted on before a Bearer
// one (rule 3 of [dpop.Advise]). ztkit's servers send one challenge with an
// error, in the scheme the call used.
func Advise(err error, header, trailer metadata.MD) (dpop.Advice, error) {
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied, codes.InvalidArgument:
	default:
		return dpop.Advice{}, nil
	}
	return dpop.Advise("", either(trailer, header, challengeKey), either(trailer, header, nonceKey))
}

// either is the values of key in first, else in second.
func either(first, second metadata.MD, key string) []string {
	if vs := first.Get(key); len(vs) > 0 {
		return vs
	}
	return second.Get(key)
}
