// Package grpccreds holds the checks every ztkit per-RPC credentials
// (credentials.PerRPCCredentials: DPoP-bound tokens in tokens/dpop/dpopgrpc,
// JWT-SVIDs in authn/jwtsvidgrpc) make before putting a credential on a
// gRPC call: the connection has privacy and integrity, and the call does not
// already carry the metadata keys the credentials add, which would send two
// values.
package grpccreds

import (
	"context"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
)

// Refusal says why a credential is not put on a call.
type Refusal uint8

// Refusals. The zero value lets the call through.
const (
	// None: the credential may be added.
	None Refusal = iota
	// Insecure: the call has no credentials.RequestInfo (it is not made by
	// grpc-go) or its connection has less than privacy and integrity.
	Insecure
	// Conflict: the call's outgoing metadata already has one of the keys.
	Conflict
)

// Check returns the call's request info (its full method and the
// connection's auth info) and whether a credential under keys (lower-case
// metadata keys) may be added to the call of ctx.
func Check(ctx context.Context, keys ...string) (credentials.RequestInfo, Refusal) {
	ri, ok := credentials.RequestInfoFromContext(ctx)
	if !ok || credentials.CheckSecurityLevel(ri.AuthInfo, credentials.PrivacyAndIntegrity) != nil {
		return ri, Insecure
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok {
		for _, k := range keys {
			if len(md.Get(k)) > 0 {
				return ri, Conflict
			}
		}
	}
	return ri, None
}
