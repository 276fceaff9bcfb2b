// Package egress lets a service call only the destinations it is meant to
// call, and only when the server there proves it is the expected one: an
// egress allow-list enforced in the client, as an http.RoundTripper
// ([Transport]) and a dialer ([Dialer]) that package egressgrpc plugs into
// gRPC.
//
// A storefront calls the payment provider, the payments service and a legacy
// tax service, and nothing else. The allow-list says so:
//
//	list, err := egress.NewList(
//		// The payment provider: web PKI, port 443.
//		egress.Destination{Host: "api.stripe.com"},
//		// The payments service: SPIFFE mTLS, and it must be the payments workload.
//		egress.Destination{Host: "payments.shop.internal", Port: 8443, Server: authn.MatchID(paymentsID)},
//		// A legacy tax service: plaintext, pinned to its network.
//		egress.Destination{Scheme: "http", Host: "tax.legacy.internal",
//			Networks: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}},
//	)
//	d, err := egress.NewDialer(list, egress.WithSPIFFE(svids, bundles), egress.WithLogger(logger))
//	t, err := egress.NewTransport(d)
//	client := &http.Client{Transport: t}
//
// # Threat model
//
// The attacker controls part of what the service sends: a URL from a
// webhook registration, an image or "callback" URL in a request, a redirect
// from a server, a Host header, DNS for a domain it owns. This is
// server-side request forgery (SSRF) and its relatives, and the point is to
// keep a compromised or tricked storefront from reaching arbitrary hosts:
// the cloud metadata service (169.254.169.254), internal admin APIs, or an
// exfiltration server. Everything not listed is refused with a typed error
// ([ErrDestinationNotAllowed], in a [*DestinationError] naming only
// scheme, host and port) before a socket is opened.
//
// A listed destination is also authenticated: an internal one by its
// SPIFFE ID, verified in the TLS 1.3 handshake against the trust bundles
// while the client presents its own X.509-SVID; an external one by its web
// PKI certificate for the host name. A server that fails ([ErrServerIdentity])
// gets no request bytes. DNS spoofing or a hijacked address therefore yields
// a refused handshake, not a leaked request.
//
// Covered, and tested: redirects (each hop is checked), proxies (never used,
// the environment is ignored), IP literals (only as listed, IPv4-mapped
// forms normalised, zones refused), non-standard numeric hosts ("127.1",
// "0x7f.1"), userinfo in URLs, mixed case and trailing dots, default and
// explicit ports, a Host header naming another host, DNS rebinding (the
// resolved addresses are checked and dialed directly; public names may not
// resolve to private, loopback, link-local, CGNAT, NAT64 or other
// special-purpose ranges), resolv.conf search domains (names of two labels or
// more are looked up fully qualified), connection reuse across hosts, and, in egressgrpc, an
// overridden gRPC authority.
//
// Not covered: code execution in the service. An attacker who runs code can
// open sockets without this package; pair it with network egress policy
// (Kubernetes NetworkPolicy, a mesh egress gateway, a firewall), which
// enforces the same list outside the process. Nor does it look at what is
// sent to a listed destination: a tricked storefront can still send data to
// api.stripe.com, so authorize the request itself (package authz) and keep
// secrets out of it. A listed destination that is itself an open proxy or an
// open redirector on the same host is as open as it is. Wildcards follow
// the host name only: "*.example.com" trusts whoever controls those names.
// Plaintext destinations have no server authentication; the Networks pin is
// all they get.
//
// # Addresses
//
// Every dial resolves the host once (through [WithResolver]), keeps the
// addresses the destination's rule allows and connects to those, in order.
// The rule is Networks when set; else, for an IP literal host, that address;
// else, for an internal (SPIFFE) destination, any unicast address, since the
// SVID binds the connection; else only public addresses. There is no Happy
// Eyeballs racing: addresses are tried one after the other.
package egress
