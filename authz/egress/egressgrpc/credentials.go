package egressgrpc

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"google.golang.org/grpc/credentials"

	"github.com/ztkit/ztkit/authz/egress"
)

// errServerSide: the credentials are for clients only.
var errServerSide = errors.New("egressgrpc: client-side credentials only")

// creds are transport credentials for connections made by dial: the TLS
// handshake, with the identity check, has already happened in the dialer.
type creds struct {
	d *egress.Dialer
}

func (c *creds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	ec, ok := raw.(*conn)
	if !ok {
		_ = raw.Close()
		return nil, nil, fmt.Errorf("%w: the connection was not made by the egress dialer; pass DialOptions after your own options", egress.ErrInvalidConfig)
	}
	if err := checkAuthority(authority, ec.ep); err != nil {
		_ = ec.Close()
		return nil, nil, c.d.Refuse(ctx, err)
	}
	cs := ec.ConnectionState()
	if cs.NegotiatedProtocol != "h2" {
		_ = ec.Close()
		return nil, nil, fmt.Errorf("egressgrpc: %s did not negotiate HTTP/2 (ALPN h2)", ec.ep.HostPort())
	}
	info := AuthInfo{
		TLSInfo: credentials.TLSInfo{
			State:          cs,
			CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
		},
		Endpoint: ec.ep,
		d:        c.d,
	}
	if dest, err := c.d.List().Match(egress.SchemeHTTPS, ec.ep.HostPort()); err == nil && dest.Server != nil && len(cs.PeerCertificates) > 0 {
		if id, err := x509svid.IDFromCert(cs.PeerCertificates[0]); err == nil {
			info.SPIFFEID = id.URL() // verified by the dialer
		}
	}
	return ec.Conn, info, nil
}

func (c *creds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errServerSide
}

func (c *creds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls"}
}

func (c *creds) Clone() credentials.TransportCredentials {
	return &creds{d: c.d}
}

// OverrideServerName is refused: the server name is the dialed endpoint.
func (c *creds) OverrideServerName(string) error {
	return fmt.Errorf("%w: the server name is the dialed endpoint", egress.ErrInvalidConfig)
}

// checkAuthority refuses an authority that names another endpoint than ep.
func checkAuthority(authority string, ep egress.Endpoint) *egress.DestinationError {
	if got, err := egress.ParseEndpoint(egress.SchemeHTTPS, authority); err == nil && got == ep {
		return nil
	}
	return &egress.DestinationError{
		Scheme: ep.Scheme, Host: ep.Host, Port: ep.Port,
		Reason: egress.ReasonHostMismatch, Err: egress.ErrDestinationNotAllowed,
	}
}

// AuthInfo is what a gRPC connection made through [DialOptions] reports as
// its peer's auth info (peer.FromContext). It holds the TLS state of the
// handshake and, for an internal destination, the server's verified SPIFFE
// ID in TLSInfo.SPIFFEID; Endpoint is the endpoint dialed.
type AuthInfo struct {
	credentials.TLSInfo
	// Endpoint is the normalised endpoint the connection was dialed to.
	Endpoint egress.Endpoint

	d *egress.Dialer
}

// ValidateAuthority accepts an authority override (the grpc.CallAuthority
// call option) only when it names the dialed endpoint, and refuses any
// other with a [*egress.DestinationError] for [egress.ReasonHostMismatch].
func (a AuthInfo) ValidateAuthority(authority string) error {
	err := checkAuthority(authority, a.Endpoint)
	if err == nil {
		return nil
	}
	if a.d != nil {
		return a.d.Refuse(context.Background(), err)
	}
	return err
}
