package dpop

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/ztkit/ztkit/internal/httphdr"
	"github.com/ztkit/ztkit/internal/jose"
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

// WithTrustedProxies lets requests whose peer address is in one of prefixes
// say, through Forwarded (RFC 7239) or X-Forwarded-Proto and X-Forwarded-Host,
// which scheme and host the client used. The last element, the one the nearest
// proxy added, is read. Requests from other peers use the external URL.
func WithTrustedProxies(prefixes ...netip.Prefix) RequestOption {
	return requestOptionFunc(func(rv *RequestVerifier) { rv.trusted = append(rv.trusted, prefixes...) })
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
	trusted  []netip.Prefix
	bearer   bool
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
	if rv.external == "" && len(rv.trusted) == 0 {
		return nil, fmt.Errorf("%w: an external URL or trusted proxies are required to check htu", ErrInvalidConfig)
	}
	if rv.external != "" {
		u, err := url.Parse(rv.external)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%w: external URL must be an absolute http(s) URL without query", ErrInvalidConfig)
		}
		rv.origin = u.Scheme + "://" + u.Host
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

// Verify checks r. Refusals match the Err values of this package and of
// package tokens (for the token itself); a [*NonceError] carries the nonce to
// send back.
func (rv *RequestVerifier) Verify(ctx context.Context, r *http.Request) (*Result, error) {
	authz := r.Header["Authorization"]
	switch len(authz) {
	case 0:
		return nil, ErrMissingAccessToken
	case 1:
	default:
		return nil, fmt.Errorf("%w: more than one Authorization header", ErrInvalidRequest)
	}
	scheme, token, err := httphdr.ParseAuthorization(authz[0])
	if err != nil {
		return nil, fmt.Errorf("%w: Authorization header is not `scheme token`", ErrInvalidRequest)
	}
	switch {
	case strings.EqualFold(scheme, "DPoP"):
		return rv.verifyDPoP(ctx, r, token)
	case strings.EqualFold(scheme, "Bearer"):
		return rv.verifyBearer(ctx, r, token)
	}
	return nil, fmt.Errorf("%w: unsupported authorization scheme", ErrInvalidRequest)
}

func (rv *RequestVerifier) verifyDPoP(ctx context.Context, r *http.Request, token string) (*Result, error) {
	proofs := r.Header["Dpop"] // the canonical form of "DPoP"; indexing directly saves canonicalising per request
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
	if err := checkCertificate(r, claims); err != nil {
		return nil, err
	}
	u, err := rv.requestURL(r)
	if err != nil {
		return nil, err
	}
	proof, err := rv.proofs.Verify(ctx, proofs[0], Request{
		Method: r.Method, URL: u, AccessToken: token, KeyThumbprint: claims.Confirmation.JKT,
	})
	if err != nil {
		return nil, err
	}
	return &Result{Claims: claims, Proof: proof}, nil
}

func (rv *RequestVerifier) verifyBearer(ctx context.Context, r *http.Request, token string) (*Result, error) {
	claims, err := rv.tokens.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if claims.Confirmation.JKT != "" {
		return nil, ErrBoundTokenAsBearer // RFC 9449 §7.2
	}
	if err := checkCertificate(r, claims); err != nil {
		return nil, err
	}
	if !rv.bearer && claims.Confirmation.X5TS256 == "" {
		return nil, ErrBearerNotAccepted
	}
	return &Result{Claims: claims}, nil
}

// checkCertificate enforces cnf.x5t#S256 (RFC 8705 §3): the token is usable
// only over a TLS connection authenticated with that client certificate.
func checkCertificate(r *http.Request, c *tokens.Claims) error {
	want := c.Confirmation.X5TS256
	if want == "" {
		return nil
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return fmt.Errorf("%w: certificate-bound token without a client certificate", ErrBindingMismatch)
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	var got [43]byte
	jose.AppendEncode(got[:0], sum[:])
	if subtle.ConstantTimeCompare(got[:], []byte(want)) != 1 {
		return fmt.Errorf("%w: client certificate is not the one the token is bound to", ErrBindingMismatch)
	}
	return nil
}

// requestURL is the URI the client addressed, from trusted proxy headers or
// the external URL, plus the request path.
func (rv *RequestVerifier) requestURL(r *http.Request) (string, error) {
	path := r.URL.EscapedPath()
	if len(rv.trusted) > 0 && rv.fromTrustedProxy(r) {
		if proto, host, ok := forwardedOrigin(r); ok {
			return proto + "://" + host + path, nil
		}
	}
	if rv.origin == "" {
		return "", fmt.Errorf("%w: request URL unknown (not from a trusted proxy)", ErrURIMismatch)
	}
	return rv.origin + rv.prefix + path, nil
}

func (rv *RequestVerifier) fromTrustedProxy(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range rv.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// forwardedOrigin reads the nearest proxy's proto and host from Forwarded or,
// failing that, X-Forwarded-Proto and X-Forwarded-Host.
func forwardedOrigin(r *http.Request) (proto, host string, ok bool) {
	if vs := r.Header.Values("Forwarded"); len(vs) > 0 {
		els, err := httphdr.ParseForwarded(strings.Join(vs, ","))
		if err != nil || len(els) == 0 {
			return "", "", false
		}
		last := els[len(els)-1]
		if (last.Proto != "http" && last.Proto != "https") || last.Host == "" {
			return "", "", false
		}
		return last.Proto, last.Host, true
	}
	proto = lastListValue(r.Header.Values("X-Forwarded-Proto"))
	host = lastListValue(r.Header.Values("X-Forwarded-Host"))
	proto = strings.ToLower(proto)
	if (proto != "http" && proto != "https") || !httphdr.ValidHost(host) {
		return "", "", false
	}
	return proto, host, true
}

func lastListValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	v := vs[len(vs)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}
