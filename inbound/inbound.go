package inbound

import (
	"crypto/x509"
	"net/http"
	"net/netip"
)

// Header reads the values of one header field (or metadata key) of a
// request, in order; nil when there is none. http.Header is one, through its
// Values method, which canonicalises the name. A gRPC transport adapts
// metadata.MD, whose keys are lower case.
type Header interface {
	Values(name string) []string
}

// Request is an incoming request, described for the decision path. The zero
// value describes a request that has no credentials, no peer and no path; it
// is refused wherever one of those is required. A Request is read, never
// kept or modified, by the packages it is given to; the slices it holds
// belong to the caller.
type Request struct {
	// Method is the request method (htm, RFC 9449 §4.2), such as "GET";
	// "POST" for a gRPC call.
	Method string
	// Path is the escaped path of the target URI, r.URL.EscapedPath() for
	// net/http, or the gRPC full method "/shop.payments.v1.Payments/Charge".
	// It gives the path of htu and the path authorization decides on, both
	// in the canonical form of package internal/urlpath; "" refuses a
	// request that needs it.
	Path string
	// Authority is the authority (host[:port], RFC 3986 §3.2) the client
	// addressed, as the transport received it: a gRPC call's :authority. It
	// is never trusted: a dpop.RequestVerifier refuses a request whose
	// Authority is not the one of its external URL, unless a trusted proxy
	// sent it. "" skips the check; FromHTTP leaves it empty, as an HTTP
	// service's Host is commonly rewritten by its proxies.
	Authority string
	// Route is the route pattern the request was routed by: a
	// net/http.ServeMux pattern ("GET /orders/{id}"), or a gRPC full method.
	// It labels logs and metrics, never a decision; "" when unknown.
	Route string
	// Authorization holds every Authorization field value (RFC 9110
	// §11.6.2), in order; more than one is refused.
	Authorization []string
	// DPoP holds every DPoP field value (RFC 9449 §4.1), in order; more than
	// one proof is refused.
	DPoP []string
	// Header reads the other fields: only those trusted reverse proxies set
	// (Forwarded, X-Forwarded-Proto, X-Forwarded-Host) are read, and only
	// for a request from a trusted proxy. nil means none.
	Header Header
	// RemoteAddr is the address of the immediate peer, unmapped; the zero
	// Addr when unknown, which is never a trusted proxy.
	RemoteAddr netip.Addr
	// PeerCertificates is the chain the TLS client presented, leaf first, as
	// tls.ConnectionState.PeerCertificates; nil without TLS or without a
	// client certificate. Keep the same slice for every request of one
	// connection: the leaf's verification is cached by pointer.
	PeerCertificates []*x509.Certificate
}

// Values returns the values of header field name, or nil when r has no
// Header.
func (r *Request) Values(name string) []string {
	if r.Header == nil {
		return nil
	}
	return r.Header.Values(name)
}

// FromHTTP describes r. It allocates only when r's path needs re-escaping
// (see url.URL.EscapedPath). r must not be nil; a request without a URL gets
// an empty Path.
func FromHTTP(r *http.Request) Request {
	req := Request{
		Method:        r.Method,
		Route:         r.Pattern,
		Authorization: r.Header["Authorization"],
		DPoP:          r.Header["Dpop"], // the canonical form of "DPoP"; indexing directly saves canonicalising per request
		RemoteAddr:    remoteAddr(r.RemoteAddr),
	}
	if r.Header != nil {
		req.Header = r.Header
	}
	if r.URL != nil {
		req.Path = r.URL.EscapedPath()
	}
	if r.TLS != nil {
		req.PeerCertificates = r.TLS.PeerCertificates
	}
	return req
}

// remoteAddr parses an http.Request's RemoteAddr; the zero Addr when it is
// not an IP address and port.
func remoteAddr(s string) netip.Addr {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
