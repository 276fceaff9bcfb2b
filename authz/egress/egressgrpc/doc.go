// Package egressgrpc applies an egress allow-list ([egress.List], enforced
// by an [egress.Dialer]) to gRPC clients: a client may connect only to the
// listed https destinations, and only to a server that proves, in the TLS
// handshake, that it is the listed one (its SPIFFE ID for an internal
// destination, its web PKI certificate for an external one).
//
// It is a package of its own so that services that only make HTTP calls do
// not compile gRPC.
//
//	d, err := egress.NewDialer(list, egress.WithSPIFFE(svids, bundles))
//	conn, err := egressgrpc.NewClient("payments.shop.internal:8443", d)
//
// [NewClient] refuses a target that is not listed before creating the
// client, with a [*egress.DestinationError]. [DialOptions] returns the
// options alone, for a client created elsewhere; a target that is not
// listed then fails its RPCs with codes.Unavailable, whose message carries
// the refusal's text (grpc-go v1.79 passes a resolver's error to the RPC as
// text only, so errors.Is and errors.As do not see it; use NewClient for a
// typed refusal). A refusal or identity failure at connection time fails
// RPCs the same way: codes.Unavailable, whose message carries the
// [*egress.DestinationError] text (endpoint and reason).
//
// Targets are "host[:port]", "dns:///host[:port]" or
// "passthrough:///host:port"; the port defaults to 443. The name is not
// resolved by gRPC but by the Dialer, which checks the resolved addresses
// and connects to them. Other schemes (unix, xds and so on) are refused by
// NewClient, and with DialOptions the addresses their resolvers produce
// reach the Dialer, which refuses each one that is not listed. There is no plaintext:
// a destination listed for http does not admit gRPC.
//
// The gRPC authority must name the dialed endpoint: grpc.WithAuthority and
// the grpc.CallAuthority call option are refused for any other host or
// port, since the authority is what a shared front end routes on. Proxies
// are never used.
package egressgrpc
