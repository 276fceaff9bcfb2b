package egress

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Transport is an http.RoundTripper that sends requests only to the
// destinations of a [Dialer]'s list. Create it with [NewTransport] and use
// it as an http.Client's Transport. It is the innermost RoundTripper, with
// no Base to delegate to: wrap it with otelhttp, retries or token sources,
// not the other way round. It is safe for concurrent use.
//
// Each RoundTrip checks the request before anything is dialed, and refuses
// with a [*DestinationError] matching [ErrDestinationNotAllowed]:
//
//   - a CONNECT request (it would open a tunnel to anywhere);
//   - a URL with userinfo ("https://api.stripe.com@evil.example/" names
//     evil.example, and parsers disagree on such URLs);
//   - a scheme other than http or https, or an http or https endpoint that
//     is not listed under that scheme, host and port (after normalising case,
//     a trailing dot, IPv4-mapped addresses and default ports);
//   - a Host header that names another endpoint than the URL: the
//     connection goes to the URL's host, and a different Host would let a
//     shared front end (a CDN, a virtual host) route the request elsewhere
//     (domain fronting).
//
// The connection itself is opened by the Dialer, which checks the endpoint
// again, checks the resolved addresses and verifies the server in the TLS
// handshake before any request byte is written. http.Client calls
// RoundTrip once per redirect, so every hop is checked; a redirect to a
// host that is not listed fails with the refusal.
//
// Proxies are never used: the HTTP_PROXY, HTTPS_PROXY and NO_PROXY
// environment variables are ignored, because a proxy would receive the TLS
// connection in place of the destination. Connections are pooled per
// scheme and host:port as the URL names them (net/http does not coalesce
// HTTP/2 connections across host names), so a connection verified for one
// host is never reused for another.
//
// http.Client wraps every transport error in a *url.Error whose message
// holds the full request URL, path and query included. Log the
// [*DestinationError] (errors.As), which names only the endpoint, rather
// than the error the client returns.
type Transport struct {
	d  *Dialer
	rt *http.Transport
}

// NewTransport returns a transport that dials with d. It fails with
// [ErrInvalidConfig] when d is nil. HTTP/2 is negotiated with ALPN where the
// server offers it; idle connections are kept for 90 seconds.
func NewTransport(d *Dialer) (*Transport, error) {
	if d == nil {
		return nil, fmt.Errorf("%w: nil dialer", ErrInvalidConfig)
	}
	rt := &http.Transport{
		Proxy:                 nil, // never from the environment
		DialContext:           d.DialContext,
		DialTLSContext:        d.DialTLSContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &Transport{d: d, rt: rt}, nil
}

// RoundTrip sends req if its destination is allowed. As every RoundTripper
// must, it closes req.Body, also when it refuses.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.check(req); err != nil {
		ctx := context.Background()
		if req != nil {
			ctx = req.Context()
			if req.Body != nil {
				_ = req.Body.Close()
			}
		}
		return nil, t.d.refuseErr(ctx, err)
	}
	return t.rt.RoundTrip(req)
}

// CloseIdleConnections closes the idle connections of the pool.
func (t *Transport) CloseIdleConnections() { t.rt.CloseIdleConnections() }

// Dialer returns the dialer the transport connects with.
func (t *Transport) Dialer() *Dialer { return t.d }

// check applies the request rules of [Transport].
func (t *Transport) check(req *http.Request) error {
	if req == nil || req.URL == nil {
		return refusal("", "", 0, ReasonInvalidHost)
	}
	u := req.URL
	if u.Scheme != SchemeHTTPS && u.Scheme != SchemeHTTP {
		return refusal("", "", 0, ReasonScheme)
	}
	// The endpoint as net/http dials it: URL.Hostname and URL.Port.
	ep, err := endpointOf(u.Scheme, u.Hostname(), u.Port())
	if err != nil {
		return err
	}
	if req.Method == http.MethodConnect {
		return refusal(ep.Scheme, ep.Host, ep.Port, ReasonMethod)
	}
	if u.User != nil {
		return refusal(ep.Scheme, ep.Host, ep.Port, ReasonUserinfo)
	}
	if req.Host != "" {
		hostEP, err := ParseEndpoint(ep.Scheme, req.Host)
		if err != nil || hostEP != ep {
			return refusal(ep.Scheme, ep.Host, ep.Port, ReasonHostMismatch)
		}
	}
	_, err = t.d.list.match(ep)
	return err
}
