package guardgrpc

import (
	"context"
	"crypto/x509"
	"net"
	"net/netip"
	"reflect"
	"strings"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/ztkit/ztkit/inbound"
)

// Request describes the call of fullMethod whose server-side context is ctx
// for package guard, as documented in the package documentation: Method
// "POST", Path and Route fullMethod, Authority the ":authority", and
// Authorization and DPoP every "authorization" and "dpop" value of the
// incoming metadata, in order; PeerCertificates and RemoteAddr from the
// connection's peer (peer.FromContext), the certificates only over TLS
// (credentials.TLSInfo, as credentials.NewTLS and go-spiffe's
// grpccredentials provide). Other metadata is read through Header, by lower
// case key. A nil ctx describes a call with no credentials and no peer.
func Request(ctx context.Context, fullMethod string) inbound.Request {
	req := inbound.Request{Method: "POST", Path: fullMethod, Route: fullMethod}
	if ctx == nil {
		return req
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		req.Header = header(md)
		req.Authorization = md["authorization"]
		req.DPoP = md["dpop"]
		switch a := md[":authority"]; len(a) {
		case 0:
		case 1:
			req.Authority = a[0]
		default: // grpc-go refuses this; never pick one
			req.Authority = strings.Join(a, ",")
		}
	}
	if p, ok := peer.FromContext(ctx); ok && p != nil {
		req.RemoteAddr = remoteAddr(p.Addr)
		req.PeerCertificates = peerCertificates(p.AuthInfo)
	}
	return req
}

// peerCertificates returns the client certificates of info, a
// credentials.TLSInfo or a wrapper that embeds one as its AuthInfo field,
// such as go-spiffe's grpccredentials; nil for anything else.
func peerCertificates(info credentials.AuthInfo) []*x509.Certificate {
	for range maxWrappers {
		switch i := info.(type) {
		case nil:
			return nil
		case credentials.TLSInfo:
			return i.State.PeerCertificates
		case *credentials.TLSInfo:
			if i == nil {
				return nil
			}
			return i.State.PeerCertificates
		}
		v := reflect.ValueOf(info)
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return nil
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return nil
		}
		f, ok := v.Type().FieldByName("AuthInfo")
		if !ok || !f.Anonymous || len(f.Index) != 1 || f.Type != reflect.TypeFor[credentials.AuthInfo]() {
			return nil
		}
		info, _ = v.Field(f.Index[0]).Interface().(credentials.AuthInfo)
	}
	return nil
}

// maxWrappers bounds how many AuthInfo wrappers peerCertificates unwraps.
const maxWrappers = 4

// header reads incoming metadata as an inbound.Header. Keys of
// metadata.MD are lower case; Values lower-cases the name it is given.
type header metadata.MD

// Values returns every value of key name, in order.
func (h header) Values(name string) []string { return metadata.MD(h).Get(name) }

// remoteAddr is the IP address of a, unmapped; the zero Addr when a is not
// an IP address and port.
func remoteAddr(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case nil:
		return netip.Addr{}
	case *net.TCPAddr:
		if a == nil {
			return netip.Addr{}
		}
		return a.AddrPort().Addr().Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
