package httphdr

import (
	"errors"
	"net/netip"
	"strings"
)

// ErrConflict reports header field values that contradict each other, such
// as two X-Forwarded-Host values where one hop may set only one.
var ErrConflict = errors.New("httphdr: conflicting header field values")

// ProxyHeaders names the header family that trusted reverse proxies set to
// report the scheme and host a client used.
type ProxyHeaders uint8

// The header families.
const (
	// ForwardedHeader is RFC 7239 Forwarded: each proxy appends an element with
	// for=, proto= and host=.
	ForwardedHeader ProxyHeaders = iota + 1
	// XForwardedHeaders is X-Forwarded-Proto and X-Forwarded-Host, each set (not
	// appended to) by the proxies to one value.
	XForwardedHeaders
)

// Proxies says which peers are trusted reverse proxies and which header
// family they set. It does not depend on net/http: values reads header
// fields from an http.Header (Header.Values) or gRPC metadata (MD.Get).
type Proxies struct {
	Headers ProxyHeaders
	Trusted []netip.Prefix
}

// Trusts reports whether a is in a trusted prefix.
func (p *Proxies) Trusts(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, pr := range p.Trusted {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// Origin returns the scheme and host[:port] the client used, as reported by
// the trusted proxies between it and this server; peer is the address of
// the immediate peer and values returns every field line of a header name.
//
// found is false, with a nil error, when peer is not a trusted proxy or the
// proxies reported nothing usable: the caller then relies on its own
// configuration, never on the request. Only the family p.Headers names is
// read; the other is ignored.
//
// With [ForwardedHeader], elements are walked from the nearest hop (the last
// element, appended by peer) back: an element was appended by a trusted
// proxy when the element after it names a trusted proxy in for=. The
// furthest element a trusted proxy appended, the one the edge proxy wrote
// about its client, gives proto and host; elements further left came from
// the client and are ignored. A malformed field (a repeated parameter, a bad
// host) is an error.
//
// With [XForwardedHeaders], X-Forwarded-Proto and X-Forwarded-Host must each be a
// single value, which the proxies set, replacing whatever the client sent;
// several field lines or a comma-separated list mean that a value was
// appended to one the client chose, and are refused with [ErrConflict].
func (p *Proxies) Origin(peer netip.Addr, values func(name string) []string) (proto, host string, found bool, err error) {
	if !p.Trusts(peer) {
		return "", "", false, nil
	}
	switch p.Headers {
	case ForwardedHeader:
		return p.forwarded(values("Forwarded"))
	case XForwardedHeaders:
		return xForwarded(values("X-Forwarded-Proto"), values("X-Forwarded-Host"))
	}
	return "", "", false, nil
}

func (p *Proxies) forwarded(lines []string) (proto, host string, found bool, err error) {
	if len(lines) == 0 {
		return "", "", false, nil
	}
	els, err := ParseForwarded(strings.Join(lines, ","))
	if err != nil {
		return "", "", false, err
	}
	i := len(els) - 1
	for i > 0 {
		a, ok := NodeAddr(els[i].For)
		if !ok || !p.Trusts(a) {
			break
		}
		i--
	}
	el := els[i]
	if el.Proto == "" || el.Host == "" {
		return "", "", false, nil
	}
	if el.Proto != "http" && el.Proto != "https" {
		return "", "", false, ErrSyntax
	}
	return el.Proto, el.Host, true, nil
}

func xForwarded(protos, hosts []string) (proto, host string, found bool, err error) {
	if len(protos) == 0 && len(hosts) == 0 {
		return "", "", false, nil
	}
	proto, err = single(protos)
	if err != nil {
		return "", "", false, err
	}
	host, err = single(hosts)
	if err != nil {
		return "", "", false, err
	}
	if proto == "" || host == "" {
		return "", "", false, nil
	}
	proto = strings.ToLower(proto)
	if (proto != "http" && proto != "https") || !ValidHost(host) {
		return "", "", false, ErrSyntax
	}
	return proto, host, true, nil
}

// single returns the one value of a field that must not be a list.
func single(lines []string) (string, error) {
	switch {
	case len(lines) == 0:
		return "", nil
	case len(lines) > 1 || strings.IndexByte(lines[0], ',') >= 0:
		return "", ErrConflict
	}
	return strings.TrimSpace(lines[0]), nil
}

// NodeAddr returns the IP address of a Forwarded for= or by= node (RFC 7239
// §6): an IPv4 address or a bracketed IPv6 address, with an optional port.
// "unknown", obfuscated identifiers and anything else report false.
func NodeAddr(node string) (netip.Addr, bool) {
	host := node
	if strings.HasPrefix(node, "[") {
		end := strings.IndexByte(node, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		host = node[1:end]
		if rest := node[end+1:]; rest != "" && (rest[0] != ':' || len(rest) == 1) {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Addr{}, false
		}
		return a.Unmap(), true
	}
	if i := strings.IndexByte(node, ':'); i >= 0 {
		if i == len(node)-1 {
			return netip.Addr{}, false
		}
		host = node[:i]
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}
