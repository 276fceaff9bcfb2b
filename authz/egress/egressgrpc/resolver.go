package egressgrpc

import (
	"context"

	"google.golang.org/grpc/resolver"

	"github.com/ztkit/ztkit/authz/egress"
)

// builder resolves dns:/// and passthrough:/// targets to the listed
// host:port itself, for the egress dialer to check and resolve.
type builder struct {
	scheme string
	d      *egress.Dialer
}

func (b *builder) Scheme() string { return b.scheme }

func (b *builder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	ctx := context.Background()
	if target.URL.Host != "" { // dns://8.8.8.8/host: a DNS server of the caller's choosing
		return nil, b.d.Refuse(ctx, &egress.DestinationError{Scheme: egress.SchemeHTTPS, Reason: egress.ReasonInvalidHost, Err: egress.ErrDestinationNotAllowed})
	}
	ep, err := egress.ParseEndpoint(egress.SchemeHTTPS, target.Endpoint())
	if err != nil {
		return nil, refuse(ctx, b.d, err)
	}
	if _, err := b.d.List().Match(ep.Scheme, ep.HostPort()); err != nil {
		return nil, refuse(ctx, b.d, err)
	}
	if err := cc.UpdateState(resolver.State{Addresses: []resolver.Address{{Addr: ep.HostPort()}}}); err != nil {
		return nil, err
	}
	return nopResolver{}, nil
}

// nopResolver has nothing to re-resolve: the dialer resolves at each dial.
type nopResolver struct{}

func (nopResolver) ResolveNow(resolver.ResolveNowOptions) {}
func (nopResolver) Close()                                {}
