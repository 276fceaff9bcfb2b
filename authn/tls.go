package authn

import (
	"crypto/tls"
	"fmt"
	"reflect"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// ServerTLSConfig returns a TLS 1.3 server configuration that presents the
// current X.509-SVID of svid and requires a client X.509-SVID that verifies
// against bundles and that peers allows. SVIDs and bundles are read at each
// handshake, so they rotate with no restart.
//
// Where the bundles come from: pass the workload's own X509Source
// (spiffesource.NewX509Source) as both svid and bundles, as go-spiffe's
// examples do. The Workload API delivers the X.509 bundles with the SVID in
// each X.509-SVID response, those of the workload's trust domain and of every
// trust domain federated with it (SPIFFE Workload API, X.509-SVID profile:
// bundle and federated_bundles), and the source replaces them together, so a
// client of a federated trust domain verifies with no other configuration;
// peers then decides whether it may call. Do not pin a static bundle of the
// local trust domain: it neither rotates nor federates. ztkit requires
// go-spiffe v2.8.2 or later, where the X509Source reads its bundles under the
// lock its rotation writes them under (spiffe/go-spiffe#411, fixed by #420).
// A separate spiffesource.NewBundleSource serves the same bundles and is
// needed only by a service that holds no X.509-SVID of its own.
//
// It fails with [ErrInvalidConfig] when svid, bundles or peers is nil (a nil
// pointer in an interface included): such a configuration could only fail,
// or panic, at the first handshake.
func ServerTLSConfig(svid x509svid.Source, bundles x509bundle.Source, peers IDMatcher) (*tls.Config, error) {
	if err := checkTLSArgs("ServerTLSConfig", svid, bundles, peers); err != nil {
		return nil, err
	}
	c := tlsconfig.MTLSServerConfig(svid, bundles, peers.TLS())
	c.MinVersion = tls.VersionTLS13
	return c, nil
}

// ClientTLSConfig returns a TLS 1.3 client configuration that presents the
// current X.509-SVID of svid and accepts only a server X.509-SVID that
// verifies against bundles and that server allows. As for [ServerTLSConfig],
// pass the workload's X509Source as both svid and bundles. It fails with
// [ErrInvalidConfig] when an argument is nil.
func ClientTLSConfig(svid x509svid.Source, bundles x509bundle.Source, server IDMatcher) (*tls.Config, error) {
	if err := checkTLSArgs("ClientTLSConfig", svid, bundles, server); err != nil {
		return nil, err
	}
	c := tlsconfig.MTLSClientConfig(svid, bundles, server.TLS())
	c.MinVersion = tls.VersionTLS13
	return c, nil
}

func checkTLSArgs(fn string, svid x509svid.Source, bundles x509bundle.Source, peers IDMatcher) error {
	switch {
	case isNil(svid):
		return fmt.Errorf("%w: %s: nil X.509-SVID source", ErrInvalidConfig, fn)
	case isNil(bundles):
		return fmt.Errorf("%w: %s: nil X.509 bundle source", ErrInvalidConfig, fn)
	case peers == nil:
		return fmt.Errorf("%w: %s: nil IDMatcher (use MatchAny to allow every verified peer)", ErrInvalidConfig, fn)
	}
	return nil
}

// isNil reports whether v is nil or an interface holding a nil pointer, map,
// func, channel or slice: a source built by a constructor that failed, whose
// methods would panic when a handshake calls them.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
