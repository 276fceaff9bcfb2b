package authn

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// ServerTLSConfig returns a TLS 1.3 server configuration that presents the
// current X.509-SVID of svid and requires a client X.509-SVID that verifies
// against bundles and that peers allows. SVIDs and bundles are read at each
// handshake, so they rotate with no restart. bundles may hold several trust
// domains (federation). Take them from [NewBundleSource], not from the
// X509Source: go-spiffe's X509Source (v2.6.0 and v2.7.0) reads its bundles
// without the lock its rotation writes them under (spiffe/go-spiffe#411).
func ServerTLSConfig(svid x509svid.Source, bundles x509bundle.Source, peers PeerAuthorizer) *tls.Config {
	c := tlsconfig.MTLSServerConfig(svid, bundles, peers.TLS())
	c.MinVersion = tls.VersionTLS13
	return c
}

// ClientTLSConfig returns a TLS 1.3 client configuration that presents the
// current X.509-SVID of svid and accepts only a server X.509-SVID that
// verifies against bundles and that server allows. As for [ServerTLSConfig],
// take bundles from [NewBundleSource].
func ClientTLSConfig(svid x509svid.Source, bundles x509bundle.Source, server PeerAuthorizer) *tls.Config {
	c := tlsconfig.MTLSClientConfig(svid, bundles, server.TLS())
	c.MinVersion = tls.VersionTLS13
	return c
}

// DefaultStartTimeout bounds [NewX509Source] and [NewBundleSource] when they
// are given no timeout.
const DefaultStartTimeout = 15 * time.Second

// NewX509Source connects to the SPIFFE Workload API at addr ("unix:///run/spire/agent.sock")
// and waits, at most timeout, for the first X.509-SVID. It never waits
// forever and never returns a source without an SVID: a service that cannot
// get its identity should fail to start, with an error that names the socket
// and the wait. The caller closes the source.
func NewX509Source(ctx context.Context, addr string, timeout time.Duration) (*workloadapi.X509Source, error) {
	if addr == "" {
		return nil, fmt.Errorf("%w: empty Workload API address", ErrInvalidConfig)
	}
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	src, err := workloadapi.NewX509Source(cctx, workloadapi.WithClientOptions(workloadapi.WithAddr(addr)))
	if err != nil {
		return nil, fmt.Errorf("%w: no X.509-SVID from %s within %s: %v", ErrSourceUnavailable, addr, timeout, err)
	}
	return src, nil
}

// NewBundleSource is [NewX509Source] for trust bundles alone (X.509 and JWT),
// as a service that verifies JWT-SVIDs needs.
func NewBundleSource(ctx context.Context, addr string, timeout time.Duration) (*workloadapi.BundleSource, error) {
	if addr == "" {
		return nil, fmt.Errorf("%w: empty Workload API address", ErrInvalidConfig)
	}
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	src, err := workloadapi.NewBundleSource(cctx, workloadapi.WithClientOptions(workloadapi.WithAddr(addr)))
	if err != nil {
		return nil, fmt.Errorf("%w: no trust bundles from %s within %s: %v", ErrSourceUnavailable, addr, timeout, err)
	}
	return src, nil
}
