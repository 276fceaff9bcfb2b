package dpop

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/internal/httphdr"
	"github.com/ztkit/ztkit/internal/jose"
	"github.com/ztkit/ztkit/internal/urlpath"
	"github.com/ztkit/ztkit/tokens"
)

// TokenVerifier verifies an access token; *tokens.Verifier is one.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*tokens.Claims, error)
}

// RequestOption configures a [RequestVerifier].
type RequestOption interface{ applyRequest(*RequestVerifier) }

type requestOptionFunc func(*RequestVerifier)

func (f requestOptionFunc) applyRequest(rv *RequestVerifier) { f(rv) }

// WithExternalURL sets the scheme, host and optional path prefix clients use
// to reach the service ("https://api.shop.example"). A proof's htu is compared
// with it plus the request's path; the request's own Host header is never used.
func WithExternalURL(u string) RequestOption {
	return requestOptionFunc(func(rv *RequestVerifier) { rv.external = u })
}

// ProxyHeaders names the header family a service's trusted reverse proxies
// set to tell it which scheme and host the client used. See
// [WithTrustedProxies].
type ProxyHeaders uint8

// The header families. The zero value names none and is refused.
const (
	// ForwardedHeader is RFC 7239 Forwarded. Each proxy appends one element
	// with for= (the address it received the request from), proto= and
	// host= (RFC 7239 §5.2-5.4).
	ForwardedHeader ProxyHeaders = iota + 1
	// XForwardedHeaders is X-Forwarded-Proto and X-Forwarded-Host. The
	// proxies set each to a single value, replacing any value the client
	// sent (nginx proxy_set_header, Envoy and most load balancers do).
	XForwardedHeaders
)

// WithTrustedProxies lets requests whose peer address is in one of prefixes
// say, through the header family headers names, which scheme and host the
// client used. The other family is ignored entirely: the proxies neither set
// nor strip it, so only the client can have sent it. Requests from other
// peers, and requests whose proxies reported no proto and host, use the
// external URL ([WithExternalURL]); without one they are refused.
//
// With [ForwardedHeader], only elements that trusted proxies appended count
// (RFC 7239 §5.2, §8.1): the list is walked from the nearest hop (the last
// element, added by the peer) back to the edge, following for= while it
// names a trusted proxy; the edge element, the one the first trusted proxy
// wrote about its client, gives proto and host. Elements further left were
// sent by the client and are ignored. With [XForwardedHeaders],
// X-Forwarded-Proto and X-Forwarded-Host must each hold exactly one value:
// a proxy that appends to a client's value instead of replacing it produces
// a list, which is refused. These headers carry no hop addresses, so the
// proxies must replace them on every request; a value a proxy passes on
// unchanged cannot be told from one it set. X-Forwarded-For is not read.
// Malformed or conflicting values, such as a
// Forwarded element with two host parameters, refuse the request with
// [ErrURIMismatch]; they never fall back to another value.
//
// Every call must name the same headers; prefixes add up. A zero prefix or
// headers value makes [NewRequestVerifier] fail with [ErrInvalidConfig].
func WithTrustedProxies(headers ProxyHeaders, prefixes ...netip.Prefix) RequestOption {
	return requestOptionFunc(func(rv *RequestVerifier) {
		h := httphdr.ProxyHeaders(headers)
		if headers != ForwardedHeader && headers != XForwardedHeaders || (rv.proxies.Headers != 0 && rv.proxies.Headers != h) {
			rv.badProxies = true
		}
		rv.proxies.Headers = h
		for _, p := range prefixes {
			if !p.IsValid() {
				rv.badProxies = true
				continue
			}
			rv.proxies.Trusted = append(rv.proxies.Trusted, p.Masked())
		}
		if len(prefixes) == 0 {
			rv.badProxies = true
		}
	})
}

// WithBearer also accepts unbound access tokens with the Bearer scheme (RFC
// 6750). Bound tokens are still refused as Bearer. By default only DPoP-bound
// tokens are accepted.
func WithBearer() RequestOption {
	return requestOptionFunc(func(rv *RequestVerifier) { rv.bearer = true })
}

// RequestVerifier checks the access token and DPoP proof of an HTTP request
// together: the token, the proof against the request's method and URL, the
// proof's ath against the token, and the token's cnf.jkt against the proof's
// key. A token bound to a client certificate (cnf.x5t#S256, RFC 8705) is
// checked against the request's TLS client certificate.
//
// It is safe for concurrent use.
type RequestVerifier struct {
	tokens   TokenVerifier
	proofs   *Verifier
	external string
	prefix   string
	origin   string
	// host and port are the external URL's authority, the port defaulted
	// by scheme; "" without an external URL.
	host, port string
	proxies    httphdr.Proxies
	// badProxies records a WithTrustedProxies call NewRequestVerifier refuses.
	badProxies bool
	bearer     bool
}

// NewRequestVerifier returns a request verifier. An external URL or trusted
// proxies must be configured: without them the request's URL cannot be known.
func NewRequestVerifier(tv TokenVerifier, pv *Verifier, opts ...RequestOption) (*RequestVerifier, error) {
	rv := &RequestVerifier{tokens: tv, proofs: pv}
	for _, o := range opts {
		o.applyRequest(rv)
	}
	if tv == nil || pv == nil {
		return nil, fmt.Errorf("%w: token and proof verifiers are required", ErrInvalidConfig)
	}
	if rv.badProxies {
		return nil, fmt.Errorf("%w: WithTrustedProxies needs ForwardedHeader or XForwardedHeaders, the same in every call, and valid prefixes", ErrInvalidConfig)
	}
	if rv.external == "" && len(rv.proxies.Trusted) == 0 {
		return nil, fmt.Errorf("%w: an external URL or trusted proxies are required to check htu", ErrInvalidConfig)
	}
	if rv.external != "" {
		u, err := url.Parse(rv.external)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%w: external URL must be an absolute http(s) URL without query", ErrInvalidConfig)
		}
		rv.origin = u.Scheme + "://" + u.Host
		rv.host, rv.port, _ = splitAuthority(u.Host, defaultPort(u.Scheme))
		rv.prefix = strings.TrimSuffix(u.EscapedPath(), "/")
	}
	return rv, nil
}

// Result is a verified request's token and proof.
type Result struct {
	// Claims are the access token's verified claims.
	Claims *tokens.Claims
	// Proof is the verified DPoP proof; nil for a Bearer token.
	Proof *Proof
}

// Verify checks r: [RequestVerifier.VerifyInbound] of [inbound.FromHTTP](r).
// Refusals match the Err values of this package and of package tokens (for
// the token itself); a [*NonceError] carries the nonce to send back.
//
// A nil r, or one without a URL, is refused with [ErrInvalidRequest]; a nil
// or zero RequestVerifier refuses every request with [ErrInvalidConfig].
func (rv *RequestVerifier) Verify(ctx context.Context, r *http.Request) (*Result, error) {
	if r == nil || r.URL == nil {
		if err := rv.check(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: request without a URL", ErrInvalidRequest)
	}
	req := inbound.FromHTTP(r)
	return rv.VerifyInbound(ctx, &req)
}

// VerifyInbound checks the access token and DPoP proof of req, whatever
// transport it came over: the token in req.Authorization, the proof in
// req.DPoP against req.Method (htm) and the URI the client addressed (htu:
// the external URL's or trusted proxies' origin, plus req.Path in its
// canonical form), the token's cnf.x5t#S256 against req.PeerCertificates.
// Refusals are those of [RequestVerifier.Verify]; a nil req, or one without a
// Path, is refused with [ErrInvalidRequest].
//
// A req with an Authority (a gRPC call's :authority) that does not come from
// a trusted proxy must name the external URL's host and port (the port
// defaulted by scheme, the host compared case-insensitively), else it is
// refused with [ErrMisdirected], whatever its credentials: the authority of
// htu is the configured one, never the client's.
func (rv *RequestVerifier) VerifyInbound(ctx context.Context, req *inbound.Request) (*Result, error) {
	if err := rv.check(); err != nil {
		return nil, err
	}
	if req == nil || req.Path == "" {
		return nil, fmt.Errorf("%w: request without a target path", ErrInvalidRequest)
	}
	if req.Authority != "" && !rv.proxies.Trusts(req.RemoteAddr) && !rv.serves(req.Authority) {
		return nil, ErrMisdirected
	}
	switch len(req.Authorization) {
	case 0:
		return nil, ErrMissingAccessToken
	case 1:
	default:
		return nil, fmt.Errorf("%w: more than one Authorization header", ErrInvalidRequest)
	}
	scheme, token, err := httphdr.ParseAuthorization(req.Authorization[0])
	if err != nil {
		return nil, fmt.Errorf("%w: Authorization header is not `scheme token`", ErrInvalidRequest)
	}
	switch {
	case strings.EqualFold(scheme, "DPoP"):
		return rv.verifyDPoP(ctx, req, token)
	case strings.EqualFold(scheme, "Bearer"):
		return rv.verifyBearer(ctx, req, token)
	}
	return nil, fmt.Errorf("%w: unsupported authorization scheme", ErrInvalidRequest)
}

// check refuses a nil or zero RequestVerifier.
func (rv *RequestVerifier) check() error {
	if rv == nil || rv.tokens == nil || rv.proofs == nil {
		return fmt.Errorf("%w: RequestVerifier not built with NewRequestVerifier", ErrInvalidConfig)
	}
	return nil
}

func (rv *RequestVerifier) verifyDPoP(ctx context.Context, req *inbound.Request, token string) (*Result, error) {
	proofs := req.DPoP
	switch {
	case len(proofs) == 0:
		return nil, ErrMissingProof
	case len(proofs) > 1 || strings.IndexByte(proofs[0], ',') >= 0:
		return nil, ErrMultipleProofs
	}
	claims, err := rv.tokens.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if claims.Confirmation.JKT == "" {
		return nil, fmt.Errorf("%w: token has no cnf.jkt", ErrBindingMismatch)
	}
	if err := checkCertificate(req.PeerCertificates, claims); err != nil {
		return nil, err
	}
	u, err := rv.requestURL(req)
	if err != nil {
		return nil, err
	}
	proof, err := rv.proofs.Verify(ctx, proofs[0], Request{
		Method: req.Method, URL: u, AccessToken: token, KeyThumbprint: claims.Confirmation.JKT,
	})
	if err != nil {
		return nil, err
	}
	return &Result{Claims: claims, Proof: proof}, nil
}

func (rv *RequestVerifier) verifyBearer(ctx context.Context, req *inbound.Request, token string) (*Result, error) {
	claims, err := rv.tokens.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if claims.Confirmation.JKT != "" {
		return nil, ErrBoundTokenAsBearer // RFC 9449 §7.2
	}
	if err := checkCertificate(req.PeerCertificates, claims); err != nil {
		return nil, err
	}
	if !rv.bearer && claims.Confirmation.X5TS256 == "" {
		return nil, ErrBearerNotAccepted
	}
	return &Result{Claims: claims}, nil
}

// checkCertificate enforces cnf.x5t#S256 (RFC 8705 §3): the token is usable
// only over a TLS connection authenticated with that client certificate,
// the leaf of certs.
func checkCertificate(certs []*x509.Certificate, c *tokens.Claims) error {
	want := c.Confirmation.X5TS256
	if want == "" {
		return nil
	}
	if len(certs) == 0 {
		return fmt.Errorf("%w: certificate-bound token without a client certificate", ErrBindingMismatch)
	}
	sum := sha256.Sum256(certs[0].Raw)
	var got [43]byte
	jose.AppendEncode(got[:0], sum[:])
	if subtle.ConstantTimeCompare(got[:], []byte(want)) != 1 {
		return fmt.Errorf("%w: client certificate is not the one the token is bound to", ErrBindingMismatch)
	}
	return nil
}

// requestURL is the URI the client addressed, from trusted proxy headers or
// the external URL, plus the request path in its canonical form (package
// internal/urlpath): a path without one is refused, so that a path prefix
// of the external URL cannot be climbed out of.
func (rv *RequestVerifier) requestURL(req *inbound.Request) (string, error) {
	path, err := urlpath.Resolve(req.Path)
	if err != nil {
		return "", fmt.Errorf("%w: request path has no canonical form", ErrURIMismatch)
	}
	return rv.originFor(req.RemoteAddr, req.Values, path)
}

// originFor returns the request URL for a request from peer whose header
// fields values returns and whose canonical path is path.
func (rv *RequestVerifier) originFor(peer netip.Addr, values func(string) []string, path string) (string, error) {
	proto, host, found, err := rv.proxies.Origin(peer, values)
	if err != nil {
		return "", fmt.Errorf("%w: trusted proxy headers are malformed or conflict", ErrURIMismatch)
	}
	if found {
		return proto + "://" + host + path, nil
	}
	if rv.origin == "" {
		return "", fmt.Errorf("%w: request URL unknown (not from a trusted proxy)", ErrURIMismatch)
	}
	return rv.origin + rv.prefix + path, nil
}

// serves reports whether authority, host[:port], is the external URL's.
func (rv *RequestVerifier) serves(authority string) bool {
	if rv.host == "" {
		return false
	}
	host, port, ok := splitAuthority(authority, rv.port)
	return ok && strings.EqualFold(host, rv.host) && port == rv.port
}

// defaultPort is the port of scheme when a URI names none.
func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}

// splitAuthority splits host[:port] (RFC 3986 §3.2.2-3.2.3, as
// httphdr.ValidHost accepts it), with the brackets of an IPv6 literal
// removed and defPort for an absent port; ok is false for anything else.
func splitAuthority(a, defPort string) (host, port string, ok bool) {
	if !httphdr.ValidHost(a) {
		return "", "", false
	}
	if h, p, err := net.SplitHostPort(a); err == nil {
		return h, p, h != "" && p != ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(a, "["), "]"), defPort, true
}
