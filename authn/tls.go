package authn

import (
	"crypto/tls"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// ServerTLSConfig returns a TLS 1.3 server configuration that presents the
// current X.509-SVID of svid and requires a client X.509-SVID that verifies
// against bundles and that peers allows. SVIDs and bundles are read at each
// handshake, so they rotate with no restart. bundles may hold several trust
// domains (federation). Take them from spiffesource.NewBundleSource, not from the
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
// take bundles from spiffesource.NewBundleSource.
func ClientTLSConfig(svid x509svid.Source, bundles x509bundle.Source, server PeerAuthorizer) *tls.Config {
	c := tlsconfig.MTLSClientConfig(svid, bundles, server.TLS())
	c.MinVersion = tls.VersionTLS13
	return c
}
