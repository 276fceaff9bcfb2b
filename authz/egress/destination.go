package egress

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ztkit/ztkit/authn"
)

// Schemes a destination can have.
const (
	// SchemeHTTPS is TLS: web PKI for external destinations, SPIFFE mTLS for
	// destinations with a Server matcher. It is the default.
	SchemeHTTPS = "https"
	// SchemeHTTP is plaintext, allowed only where a destination says so.
	SchemeHTTP = "http"
)

// maxDestinationLen bounds what ParseDestination reads: a scheme, a 253-byte
// name, brackets and a port fit well within it.
const maxDestinationLen = 300

// Destination is one entry of an allow-list: where a service may connect,
// and how the server there must prove who it is. Its zero value is not
// valid: [NewList] requires a Host.
//
// A destination is external (web PKI) or internal (SPIFFE):
//
//   - External, Server nil: the server's certificate must verify for Host
//     against the system roots (or [WithRootCAs]), as a browser would check
//     api.stripe.com. The client presents no certificate. A Host that is a
//     DNS name may only resolve to public addresses unless Networks says
//     otherwise, so a name that an attacker points at 169.254.169.254 or
//     10.0.0.1 (DNS rebinding) is refused before connecting.
//   - Internal, Server set: the server must present an X.509-SVID that
//     verifies against the trust bundles of [WithSPIFFE] and names a SPIFFE
//     ID that Server allows; the client presents its own X.509-SVID (mTLS,
//     TLS 1.3). The SVID check is what binds the connection to the workload,
//     so the host may resolve to any unicast address.
type Destination struct {
	// Scheme is SchemeHTTPS (the default when empty) or SchemeHTTP.
	// Plaintext must be asked for explicitly, and is refused with Server.
	Scheme string
	// Host is a DNS name ("api.stripe.com"), a wildcard for exactly one
	// leftmost label ("*.stripe.com" matches "api.stripe.com", not
	// "stripe.com" nor "a.b.stripe.com"; the suffix must have two labels or
	// more), or an IP literal ("10.0.0.7", "fd00::7", without brackets or
	// zone). Names are ASCII (IDNs in their xn-- form) and compared without
	// regard to case or a trailing dot. An exact name wins over a wildcard.
	Host string
	// Port is the TCP port; 0 means the scheme's default, 443 or 80.
	Port int
	// Server, when set, makes this an internal destination whose server
	// must present an X.509-SVID it allows, for example
	// authn.MatchID(paymentsID). Requires [WithSPIFFE] on the [Dialer].
	Server authn.IDMatcher
	// Networks, when set, are the only addresses the host may resolve to (or,
	// for an IP literal Host, must contain it). It replaces the default
	// address rule: public addresses for external names, any unicast
	// address for internal ones. Use it for a plaintext internal service
	// ("http://legacy-tax.internal" in 10.20.0.0/16) or to pin a partner's
	// published ranges.
	Networks []netip.Prefix
}

// String formats the destination's scheme, host and port as ParseDestination
// reads them, for example "https://api.stripe.com:443". It leaves out Server
// and Networks.
func (d Destination) String() string {
	scheme := d.Scheme
	if scheme == "" {
		scheme = SchemeHTTPS
	}
	port := d.Port
	if port == 0 {
		port = defaultPort(scheme)
	}
	return scheme + "://" + net.JoinHostPort(d.Host, strconv.Itoa(port))
}

// ParseDestination reads a destination written as "scheme://host[:port]",
// with an optional trailing "/": "https://api.stripe.com",
// "https://*.payments.example:8443", "http://[fd00::7]:8080". The scheme is
// "https" or "http"; the port defaults to the scheme's. Userinfo, a path, a
// query or a fragment are refused, as is any host [Destination] does not
// accept. The result has Scheme, Host and Port set in normalised form; set
// Server or Networks on it before [NewList] as needed. Errors match
// [ErrInvalidDestination].
func ParseDestination(s string) (Destination, error) {
	if len(s) > maxDestinationLen {
		return Destination{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidDestination, maxDestinationLen)
	}
	bad := func(why string) (Destination, error) {
		return Destination{}, fmt.Errorf("%w: %q: %s", ErrInvalidDestination, s, why)
	}
	i := strings.Index(s, "://")
	if i < 0 {
		return bad(`want "scheme://host[:port]"`)
	}
	scheme := strings.ToLower(s[:i])
	if scheme != SchemeHTTPS && scheme != SchemeHTTP {
		return bad(`scheme must be "https" or "http"`)
	}
	rest := strings.TrimSuffix(s[i+3:], "/")
	if strings.ContainsAny(rest, "/?#@\\") {
		return bad("only scheme, host and port are allowed: no userinfo, path, query or fragment")
	}
	host, portText, ok := splitHostPort(rest)
	if !ok || strings.HasSuffix(rest, ":") || strings.Contains(host, ":") && !strings.HasPrefix(rest, "[") {
		return bad("malformed host or port (IPv6 addresses go in brackets)")
	}
	port := defaultPort(scheme)
	if portText != "" {
		if port, ok = parsePort(portText); !ok {
			return bad("port must be 1-65535")
		}
	}
	name, ok := normalizeListHost(host)
	if !ok {
		return bad("invalid host")
	}
	return Destination{Scheme: scheme, Host: name, Port: port}, nil
}

// Endpoint is a normalised scheme, host and port: what a connection goes to.
type Endpoint struct {
	// Scheme is SchemeHTTPS or SchemeHTTP.
	Scheme string
	// Host is a lower-case DNS name without a trailing dot, or an IP address
	// in canonical form (IPv4-mapped IPv6 addresses as IPv4).
	Host string
	// Port is the TCP port.
	Port int
}

// String returns scheme://host:port.
func (e Endpoint) String() string {
	return e.Scheme + "://" + e.HostPort()
}

// HostPort returns host:port, with brackets around an IPv6 address.
func (e Endpoint) HostPort() string {
	return net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
}

// ParseEndpoint normalises hostport ("API.Stripe.com.", "api.stripe.com:443",
// "[::ffff:10.0.0.7]:8080") for scheme, filling in the scheme's default port.
// It applies the host rules of [Destination] without wildcards. An endpoint
// that cannot be parsed cannot be allowed: the error is a [*DestinationError]
// with [ReasonScheme] or [ReasonInvalidHost] that matches
// [ErrDestinationNotAllowed].
func ParseEndpoint(scheme, hostport string) (Endpoint, error) {
	if scheme != SchemeHTTPS && scheme != SchemeHTTP {
		return Endpoint{}, refusal("", "", 0, ReasonScheme)
	}
	host, portText, ok := splitHostPort(hostport)
	if !ok {
		return Endpoint{}, refusal(scheme, "", 0, ReasonInvalidHost)
	}
	return endpointOf(scheme, host, portText)
}

// endpointOf normalises an unbracketed host and a port that may be empty.
func endpointOf(scheme, host, portText string) (Endpoint, error) {
	port := defaultPort(scheme)
	if portText != "" {
		var ok bool
		if port, ok = parsePort(portText); !ok {
			return Endpoint{}, refusal(scheme, "", 0, ReasonInvalidHost)
		}
	}
	name, _, ok := normalizeHost(host)
	if !ok {
		return Endpoint{}, refusal(scheme, "", 0, ReasonInvalidHost)
	}
	return Endpoint{Scheme: scheme, Host: name, Port: port}, nil
}

func defaultPort(scheme string) int {
	if scheme == SchemeHTTP {
		return 80
	}
	return 443
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port". Unlike
// net.SplitHostPort the port may be missing; an unbracketed IPv6 address is
// accepted only without a port ("::1"), since "::1:443" is ambiguous and
// refused.
func splitHostPort(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", false
		}
		host, rest := s[1:end], s[end+1:]
		if !strings.Contains(host, ":") {
			return "", "", false // brackets are for IPv6 only
		}
		if rest == "" {
			return host, "", true
		}
		if rest[0] != ':' {
			return "", "", false
		}
		return host, rest[1:], true
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", true
	case 1:
		i := strings.IndexByte(s, ':')
		return s[:i], s[i+1:], true
	default:
		// An unbracketed IPv6 literal, without a port.
		if _, err := netip.ParseAddr(s); err == nil {
			return s, "", true
		}
		return "", "", false
	}
}

// parsePort reads a decimal port, 1-65535. An empty string is not a port.
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= 1 && n <= 65535
}

// normalizeHost returns the canonical form of an unbracketed host: an IP
// literal in netip form, IPv4-mapped addresses unmapped, or a lower-case DNS
// name without its trailing dot. It refuses IPv6 zones, the unspecified and
// multicast addresses, and names [validName] refuses.
func normalizeHost(s string) (name string, ip netip.Addr, ok bool) {
	if s == "" || len(s) > 254 {
		return "", netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return "", netip.Addr{}, false
		}
		a = a.Unmap()
		if a.IsUnspecified() || a.IsMulticast() {
			return "", netip.Addr{}, false
		}
		return a.String(), a, true
	}
	s = strings.TrimSuffix(s, ".")
	if !validName(s) {
		return "", netip.Addr{}, false
	}
	return strings.ToLower(s), netip.Addr{}, true
}

// normalizeListHost is normalizeHost that also accepts "*.suffix", where the
// suffix is a DNS name of two labels or more.
func normalizeListHost(s string) (string, bool) {
	if suffix, ok := strings.CutPrefix(s, "*."); ok {
		name, ip, ok := normalizeHost(suffix)
		if !ok || ip.IsValid() || !strings.Contains(name, ".") {
			return "", false
		}
		return "*." + name, true
	}
	name, _, ok := normalizeHost(s)
	return name, ok
}

// validName reports whether s is a DNS host name this package dials: at most
// 253 bytes of dot-separated labels of 1 to 63 ASCII letters, digits,
// hyphens and underscores, no label starting or ending with a hyphen, and a
// last label that could not be read as a number. The last rule keeps out
// "127.1", "0x7f.1" and "2130706433", which some resolvers (inet_aton) read
// as IPv4 addresses.
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	last := s
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
		last = label
	}
	return !numericLabel(last)
}

// numericLabel reports whether label is all decimal digits, or "0x" and hex
// digits.
func numericLabel(label string) bool {
	digits := label
	hex := false
	if len(label) >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X') {
		digits, hex = label[2:], true
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		isDigit := '0' <= c && c <= '9'
		isHex := 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
		if !isDigit && !(hex && isHex) {
			return false
		}
	}
	return true
}
