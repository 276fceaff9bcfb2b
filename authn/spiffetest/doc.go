// Package spiffetest is a small in-process SPIFFE issuer for tests and demos: a
// certificate authority for one trust domain that serves the real SPIFFE
// Workload API (gRPC, spiffe.workload.SpiffeWorkloadAPI) on a unix socket, so
// that code under test gets its identity exactly as it would from a SPIRE
// agent, through go-spiffe's workloadapi package.
//
//	iss, err := spiffetest.New(ctx, spiffeid.RequireTrustDomainFromString("shop.test"))
//	defer iss.Close()
//	err = iss.Register(spiffeid.RequireFromString("spiffe://shop.test/checkout"))
//
//	source, err := workloadapi.NewX509Source(ctx,
//		workloadapi.WithClientOptions(workloadapi.WithAddr(iss.Addr())))
//
// What it issues follows the SPIFFE specifications:
//
//   - X509-SVIDs: an ECDSA P-256 leaf with exactly one URI SAN (the SPIFFE ID),
//     key usage digitalSignature (critical), extended key usage serverAuth and
//     clientAuth, cA false, signed directly by a self-signed root CA whose only
//     URI SAN is the trust domain's ID (spiffe://<trust domain>). The X.509
//     bundle is that root. The subject has no common name and there are no DNS
//     SANs unless [WithDNSNames] gives some, as a SPIRE entry's DNS names do.
//   - JWT-SVIDs: ES256, protected header with alg, kid and typ "JWT" only,
//     claims sub (the SPIFFE ID), aud, exp and iat. The JWT bundle holds the
//     public key under the same kid (its RFC 7638 thumbprint).
//
// The Workload API endpoint refuses any call without the
// "workload.spiffe.io: true" metadata header (InvalidArgument), as SPIRE does.
// FetchX509SVID, FetchX509Bundles and FetchJWTBundles are server streams: each
// sends the full current state at once and again after every rotation,
// registration or federation change. FetchJWTSVID requires an audience and
// honours an optional spiffe_id; ValidateJWTSVID checks signature, audience and
// expiry against the issuer's own and federated JWT bundles.
//
// By default every caller on the socket gets the one identity set with
// [Issuer.Register]. [WithAttestor] lets a function choose per caller instead;
// [ByUID] chooses by the caller's user ID, which the issuer reads from the
// socket (SO_PEERCRED, Linux only; see [CallerFromContext]).
//
// X509-SVIDs are reissued every [WithRotation] interval (by default half of
// the [WithX509SVIDTTL] lifetime) and at once on [Issuer.Rotate], and pushed to
// every open stream. The CA and the JWT signing key stay the same for the
// lifetime of an [Issuer], so bundles taken from it stay valid.
//
// [Issuer.IssueX509SVID] and [Issuer.IssueJWTSVID] issue directly, without the
// socket, for a second identity or for a deliberately expired or not yet valid
// credential ([WithValidity]).
//
// This package is for tests and development only. The CA key lives in memory,
// the socket trusts whoever can open it, and nothing is persisted.
package spiffetest
