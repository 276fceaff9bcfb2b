package egress

import "net/netip"

// notPublic lists the special-purpose ranges that are not globally
// reachable (IANA IPv4 and IPv6 Special-Purpose Address Registries, RFC
// 6890) beyond what netip's IsGlobalUnicast and IsPrivate already exclude
// (loopback, link-local, multicast, unspecified, RFC 1918, RFC 4193), and
// the IPv6 ranges that embed an IPv4 address a gateway would reach for us:
// NAT64 (64:ff9b::/96 and 64:ff9b:1::/48, so 64:ff9b::a9fe:a9fe is not a
// way to 169.254.169.254), 6to4 and Teredo. A public API name that
// resolves into one of these is refused before connecting.
func notPublic() []netip.Prefix {
	ranges := []string{
		"0.0.0.0/8",       // "this network" (RFC 791)
		"100.64.0.0/10",   // shared address space, carrier-grade NAT (RFC 6598)
		"192.0.0.0/24",    // IETF protocol assignments (RFC 6890)
		"192.0.2.0/24",    // TEST-NET-1 (RFC 5737)
		"192.88.99.0/24",  // 6to4 relay anycast (RFC 7526)
		"198.18.0.0/15",   // benchmarking (RFC 2544)
		"198.51.100.0/24", // TEST-NET-2 (RFC 5737)
		"203.0.113.0/24",  // TEST-NET-3 (RFC 5737)
		"240.0.0.0/4",     // reserved, and the limited broadcast address (RFC 1112, RFC 919)
		"::/96",           // IPv4-compatible, deprecated (RFC 4291)
		"64:ff9b::/96",    // NAT64 well-known prefix (RFC 6052)
		"64:ff9b:1::/48",  // NAT64 local use (RFC 8215)
		"100::/64",        // discard-only (RFC 6666)
		"2001::/23",       // IETF protocol assignments, Teredo among them (RFC 2928, RFC 4380)
		"2001:db8::/32",   // documentation (RFC 3849)
		"2002::/16",       // 6to4 (RFC 3056)
		"3fff::/20",       // documentation (RFC 9637)
		"5f00::/16",       // SRv6 SIDs (RFC 9602)
		"fec0::/10",       // site-local, deprecated (RFC 3879)
	}
	out := make([]netip.Prefix, len(ranges))
	for i, s := range ranges {
		out[i] = netip.MustParsePrefix(s) // constants, checked by the tests
	}
	return out
}

// isPublic reports whether a (unmapped) is a globally reachable unicast
// address.
func isPublic(a netip.Addr, notPublic []netip.Prefix) bool {
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	return !containsAddr(notPublic, a)
}

func containsAddr(nets []netip.Prefix, a netip.Addr) bool {
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// addrAllowed applies the address rule of r to a resolved address a.
func (r *rule) addrAllowed(a netip.Addr, notPublic []netip.Prefix) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() {
		return false
	}
	switch {
	case len(r.dest.Networks) > 0:
		return containsAddr(r.dest.Networks, a)
	case r.ip.IsValid():
		return a == r.ip
	case r.dest.Server != nil:
		return true // the X.509-SVID check binds the connection to the workload
	default:
		return isPublic(a, notPublic)
	}
}
