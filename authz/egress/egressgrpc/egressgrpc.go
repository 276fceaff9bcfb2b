package egressgrpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"

	"github.com/ztkit/ztkit/authz/egress"
)

// DialOptions returns the options that confine a gRPC client to d's
// allow-list:
//
//   - a context dialer that connects with d.DialTLSContext, so each
//     connection is checked, resolved, dialed and TLS-authenticated by d;
//   - transport credentials that accept only connections from that dialer,
//     require HTTP/2 by ALPN, and refuse an authority other than the
//     dialed endpoint;
//   - resolvers for the "dns" and "passthrough" schemes that hand the
//     listed host:port to the dialer unresolved (grpc.WithResolvers, which
//     gRPC marks experimental), and refuse what is not listed;
//   - grpc.WithNoProxy.
//
// Pass them after any options of your own: gRPC applies options in order,
// and a later WithTransportCredentials, WithContextDialer or WithResolvers
// for the same scheme would take precedence. It fails with
// [egress.ErrInvalidConfig] when d is nil.
func DialOptions(d *egress.Dialer) ([]grpc.DialOption, error) {
	if d == nil {
		return nil, fmt.Errorf("%w: nil dialer", egress.ErrInvalidConfig)
	}
	return []grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return dial(ctx, d, addr)
		}),
		grpc.WithTransportCredentials(&creds{d: d}),
		grpc.WithResolvers(&builder{scheme: "dns", d: d}, &builder{scheme: "passthrough", d: d}),
		grpc.WithNoProxy(),
	}, nil
}

// NewClient checks target against d's allow-list and, if it is listed,
// returns grpc.NewClient(target) with opts followed by [DialOptions]. A
// target that is not listed, or not of a form this package reads (see the
// package documentation), is refused with a [*egress.DestinationError]
// matching [egress.ErrDestinationNotAllowed], before any connection.
func NewClient(target string, d *egress.Dialer, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	own, err := DialOptions(d)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	endpoint, bad := targetEndpoint(target)
	if bad != nil {
		return nil, d.Refuse(ctx, bad)
	}
	if _, err := d.List().Match(egress.SchemeHTTPS, endpoint); err != nil {
		return nil, refuse(ctx, d, err)
	}
	return grpc.NewClient(target, append(slices.Clip(opts), own...)...)
}

// targetEndpoint returns the host[:port] that gRPC would hand to the dns or
// passthrough resolver for target, the way grpc.NewClient parses it.
func targetEndpoint(target string) (string, *egress.DestinationError) {
	if u, err := url.Parse(target); err == nil && u.Scheme != "" {
		switch {
		case u.Scheme == "dns" || u.Scheme == "passthrough":
			if u.Host != "" || u.User != nil {
				return "", &egress.DestinationError{Scheme: egress.SchemeHTTPS, Reason: egress.ReasonInvalidHost, Err: egress.ErrDestinationNotAllowed}
			}
			return endpointOf(u), nil
		case resolver.Get(u.Scheme) != nil:
			return "", &egress.DestinationError{Reason: egress.ReasonScheme, Err: egress.ErrDestinationNotAllowed}
		}
	}
	// No scheme, or one no resolver is registered for: gRPC prepends its
	// default scheme, dns.
	u, err := url.Parse("dns:///" + target)
	if err != nil {
		return "", &egress.DestinationError{Scheme: egress.SchemeHTTPS, Reason: egress.ReasonInvalidHost, Err: egress.ErrDestinationNotAllowed}
	}
	return endpointOf(u), nil
}

// endpointOf is resolver.Target.Endpoint.
func endpointOf(u *url.URL) string {
	endpoint := u.Path
	if endpoint == "" {
		endpoint = u.Opaque
	}
	return strings.TrimPrefix(endpoint, "/")
}

// refuse passes a refusal from package egress to d.Refuse.
func refuse(ctx context.Context, d *egress.Dialer, err error) error {
	var de *egress.DestinationError
	if errors.As(err, &de) {
		return d.Refuse(ctx, de)
	}
	return err
}

// conn is a connection made by dial: TLS done, server verified, endpoint known.
type conn struct {
	*tls.Conn
	ep egress.Endpoint
}

func dial(ctx context.Context, d *egress.Dialer, addr string) (net.Conn, error) {
	c, err := d.DialTLSContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*tls.Conn)
	ep, err := egress.ParseEndpoint(egress.SchemeHTTPS, addr)
	if !ok || err != nil { // cannot happen: the dialer parsed addr and returns *tls.Conn
		_ = c.Close()
		return nil, fmt.Errorf("egressgrpc: unexpected connection from the egress dialer")
	}
	return &conn{Conn: tc, ep: ep}, nil
}
