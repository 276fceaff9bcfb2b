package egress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/ztkit/ztkit/authn"
)

// Dialer connects only to the destinations of a [List], and only to servers
// that prove they are the listed ones. It is what [Transport] and package
// egressgrpc dial with; use it directly for another protocol layered on TCP
// or TLS. It is safe for concurrent use; create it with [NewDialer].
//
// A dial checks, in order and before opening any socket: the network is
// TCP, the address parses as host:port, the endpoint is listed, and at
// least one address the host resolves to satisfies the destination's
// address rule (see [Destination]). It connects to the checked addresses
// themselves, one after the other, never to the name, so a second DNS
// answer cannot replace the checked one. For https it then completes the
// TLS handshake, and the connection is returned only when the server passed
// the identity check.
type Dialer struct {
	list      *List
	cfg       *config
	spiffe    []*tls.Config // per rule index; nil for external destinations
	web       *tls.Config
	notPublic []netip.Prefix
	tcp       net.Dialer
	refused   atomic.Uint64
}

// NewDialer returns a dialer for list. It fails with [ErrInvalidConfig] when
// list is nil, or when list has an internal destination (one with a Server
// matcher) and [WithSPIFFE] did not give both an X.509-SVID source and
// a bundle source.
func NewDialer(list *List, opts ...Option) (*Dialer, error) {
	if list == nil {
		return nil, fmt.Errorf("%w: nil list", ErrInvalidConfig)
	}
	cfg := newConfig(opts)
	d := &Dialer{
		list:      list,
		cfg:       cfg,
		spiffe:    make([]*tls.Config, len(list.rules)),
		web:       &tls.Config{RootCAs: cfg.roots, MinVersion: tls.VersionTLS12},
		notPublic: notPublic(),
	}
	for _, r := range list.rules {
		if r.dest.Server == nil {
			continue
		}
		if cfg.svid == nil || cfg.bundles == nil {
			return nil, fmt.Errorf("%w: destination %s needs WithSPIFFE (an X.509-SVID source and a bundle source)", ErrInvalidConfig, r.dest.String())
		}
		c, err := authn.ClientTLSConfig(cfg.svid, cfg.bundles, r.dest.Server)
		if err != nil { // a nil pointer in a source
			return nil, fmt.Errorf("%w: destination %s: %w", ErrInvalidConfig, r.dest.String(), err)
		}
		if c.VerifyPeerCertificate == nil { // go-spiffe always sets it; never dial without it
			return nil, fmt.Errorf("%w: no SPIFFE verification for %s", ErrInvalidConfig, r.dest.String())
		}
		d.spiffe[r.index] = c
	}
	return d, nil
}

// List returns the allow-list the dialer enforces.
func (d *Dialer) List() *List { return d.list }

// DialContext connects to addr ("host:port") if it is listed as a plaintext
// (http) destination, and returns the TCP connection. network must be "tcp",
// "tcp4" or "tcp6". A refusal is a [*DestinationError] matching
// [ErrDestinationNotAllowed]; no socket was opened.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.dialTimeout)
	defer cancel()
	_, _, conn, err := d.connect(ctx, SchemeHTTP, network, addr)
	return conn, err
}

// DialTLSContext connects to addr ("host:port") if it is listed as an https
// destination, completes the TLS handshake and returns the *tls.Conn.
// An internal destination gets SPIFFE mTLS: the client presents its
// X.509-SVID and requires a server X.509-SVID the destination's Server
// allows. An external one gets web PKI verification for the host name.
// ALPN offers h2 and http/1.1. A refusal before connecting matches
// [ErrDestinationNotAllowed]; a server that fails the identity check
// matches [ErrServerIdentity], and the connection is closed without a byte
// of application data sent. Both are a [*DestinationError].
func (d *Dialer) DialTLSContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.dialTimeout)
	defer cancel()
	r, ep, conn, err := d.connect(ctx, SchemeHTTPS, network, addr)
	if err != nil {
		return nil, err
	}
	return d.handshake(ctx, conn, r, ep)
}

// Refuse records a refusal made by code layered on the dialer, such as
// package egressgrpc: it counts it, logs it as [WithLogger] says, and
// returns e (nil when e is nil).
func (d *Dialer) Refuse(ctx context.Context, e *DestinationError) error {
	if e == nil {
		return nil
	}
	d.refused.Add(1)
	d.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "egress refused",
		slog.String("scheme", e.Scheme),
		slog.String("host", e.Host),
		slog.Int("port", e.Port),
		slog.String("reason", string(e.Reason)))
	return e
}

// Refusals returns how many requests and dials the dialer (and any
// [Transport] or egressgrpc client built on it) has refused since it was
// created.
func (d *Dialer) Refusals() uint64 { return d.refused.Load() }

// refuseErr passes err to Refuse when it is a refusal.
func (d *Dialer) refuseErr(ctx context.Context, err error) error {
	var de *DestinationError
	if errors.As(err, &de) {
		return d.Refuse(ctx, de)
	}
	return err
}

// connect checks addr against the list and the destination's address rule
// and opens a TCP connection to the first allowed address that answers.
func (d *Dialer) connect(ctx context.Context, scheme, network, addr string) (*rule, Endpoint, net.Conn, error) {
	ep, err := ParseEndpoint(scheme, addr)
	if err != nil {
		return nil, Endpoint{}, nil, d.refuseErr(ctx, err)
	}
	var lookup string
	switch network {
	case "tcp":
		lookup = "ip"
	case "tcp4":
		lookup = "ip4"
	case "tcp6":
		lookup = "ip6"
	default:
		return nil, ep, nil, d.Refuse(ctx, refusal(ep.Scheme, ep.Host, ep.Port, ReasonNetwork))
	}
	r, err := d.list.match(ep)
	if err != nil {
		return nil, ep, nil, d.refuseErr(ctx, err)
	}

	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(ep.Host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		addrs, err = d.cfg.resolver.LookupNetIP(ctx, lookup, fqdn(ep.Host))
		if err != nil {
			return nil, ep, nil, fmt.Errorf("egress: resolving %s: %w", ep.Host, err)
		}
	}
	allowed := addrs[:0:0]
	for _, a := range addrs {
		a = a.Unmap()
		if lookup == "ip4" && !a.Is4() || lookup == "ip6" && !a.Is6() {
			continue
		}
		if r.addrAllowed(a, d.notPublic) {
			allowed = append(allowed, a)
		}
	}
	if len(allowed) == 0 {
		return nil, ep, nil, d.Refuse(ctx, refusal(ep.Scheme, ep.Host, ep.Port, ReasonAddress))
	}

	var first error
	for _, a := range allowed {
		conn, err := d.tcp.DialContext(ctx, network, netip.AddrPortFrom(a, uint16(ep.Port)).String())
		if err == nil {
			return r, ep, conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, ep, nil, fmt.Errorf("egress: connecting to %s: %w", ep.HostPort(), first)
}

// handshake runs the TLS handshake for rule r over conn, closing conn when
// it fails.
func (d *Dialer) handshake(ctx context.Context, conn net.Conn, r *rule, ep Endpoint) (*tls.Conn, error) {
	var cfg *tls.Config
	var spiffeErr error
	if base := d.spiffe[r.index]; base != nil {
		cfg = base.Clone()
		verify := base.VerifyPeerCertificate
		cfg.VerifyPeerCertificate = func(raw [][]byte, chains [][]*x509.Certificate) error {
			err := verify(raw, chains)
			spiffeErr = err // read only after the handshake returns
			return err
		}
	} else {
		cfg = d.web.Clone()
	}
	cfg.ServerName = ep.Host
	cfg.NextProtos = []string{"h2", "http/1.1"} // HTTP/2 for gRPC and net/http, and HTTP/1.1

	tc := tls.Client(conn, cfg)
	err := tc.HandshakeContext(ctx)
	if err == nil {
		return tc, nil
	}
	_ = conn.Close()
	cause := spiffeErr
	var cve *tls.CertificateVerificationError
	if cause == nil && errors.As(err, &cve) {
		cause = cve
	}
	if cause != nil {
		return nil, d.Refuse(ctx, &DestinationError{
			Scheme: ep.Scheme, Host: ep.Host, Port: ep.Port,
			Reason: ReasonServerIdentity,
			Err:    fmt.Errorf("%w: %w", ErrServerIdentity, cause),
		})
	}
	return nil, fmt.Errorf("egress: TLS handshake with %s: %w", ep.HostPort(), err)
}

// fqdn returns the name to look up for host: a name of two labels or more
// with a trailing dot, so that resolv.conf search domains are not tried
// first ("api.stripe.com" must not become "api.stripe.com.corp.example"); a
// single label as it is, since it only resolves through /etc/hosts or a
// search domain ("localhost", a Kubernetes short name).
func fqdn(host string) string {
	if strings.Contains(host, ".") {
		return host + "."
	}
	return host
}
