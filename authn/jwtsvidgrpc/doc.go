// Package jwtsvidgrpc puts a JWT-SVID (SPIFFE JWT-SVID standard) on every
// gRPC call a workload makes, as "authorization: Bearer <JWT-SVID>" metadata
// (JWT-SVID §7, RFC 6750 §2.1): the workload-to-workload credential for calls
// that cross a proxy terminating TLS, where the mTLS peer is the proxy. The
// server checks it with an authn.Authenticator whose policy asks for
// authn.JWTSVID, with the same audience (authn.WithJWTSVIDs).
//
//	src, err := workloadapi.NewJWTSource(ctx)
//	creds, err := jwtsvidgrpc.NewPerRPCCredentials(src, "spiffe://shop.example/payments")
//	conn, err := grpc.NewClient(target, grpc.WithPerRPCCredentials(creds), grpc.WithTransportCredentials(tlsCreds))
//
// The JWT-SVID is fetched from a go-spiffe jwtsvid.Source (the Workload
// API's JWTSource, in production) for the one audience the credentials are
// built for, and reused until two thirds of its remaining lifetime have
// passed; a renewal that fails keeps the current JWT-SVID until it expires,
// then fails the call. It is a package of its own so that services that do
// not make gRPC calls do not compile gRPC.
//
// A call is refused, with an error matching one of this package's Err
// values, on a connection without privacy and integrity, when the call
// already carries "authorization" metadata, and when no valid JWT-SVID can
// be had. grpc-go passes such an error to the caller as a status
// (Unauthenticated) with its text only. No error carries the JWT-SVID.
package jwtsvidgrpc
