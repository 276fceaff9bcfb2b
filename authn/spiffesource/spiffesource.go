// Package spiffesource connects a service to the SPIFFE Workload API (a SPIRE
// agent, or authn/spiffetest) and fails start-up cleanly when it cannot: it
// waits for the first SVID or bundle for a bounded time and then returns an
// error naming the socket and the wait, never a hang and never a source
// without an identity.
//
// The address is that of the Workload API endpoint (SPIFFE Workload Endpoint
// §4): "unix:///run/spire/agent.sock" or "tcp://127.0.0.1:8081". An empty
// address means the one in the SPIFFE_ENDPOINT_SOCKET environment variable,
// read by go-spiffe exactly as its workloadapi package does; with neither, the
// constructors fail at once with [ErrNoAddress].
//
// It is a package of its own so that importing package authn (and authz,
// which decides on an authn.Principal) does not compile the gRPC client.
package spiffesource

import (
	"context"
	"fmt"

	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/ztkit/ztkit/authn"
)

// NewX509Source connects to the SPIFFE Workload API at addr (empty: the
// SPIFFE_ENDPOINT_SOCKET environment variable) and waits, at most the start
// timeout ([WithStartTimeout], [DefaultStartTimeout] by default), for the
// first X.509-SVID. It never waits forever and never returns a source
// without an SVID: a service that cannot get its identity should fail to
// start, with an error that names the socket and the wait.
//
// The source serves both the workload's X.509-SVID and the X.509 bundles of
// its trust domain and of every federated one, as the Workload API delivers
// them; pass it as both the SVID source and the bundle source of
// [authn.ServerTLSConfig] and [authn.ClientTLSConfig]. The caller closes it.
//
// Errors: [ErrNoAddress] (matching [authn.ErrInvalidConfig]) when there is no
// address, [authn.ErrInvalidConfig] for a malformed one, and
// [authn.ErrSourceUnavailable] when no SVID came in time.
func NewX509Source(ctx context.Context, addr string, opts ...Option) (*workloadapi.X509Source, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil context", authn.ErrInvalidConfig)
	}
	c := newConfig(opts)
	addr, err := resolve(addr)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, c.startTimeout)
	defer cancel()
	src, err := workloadapi.NewX509Source(cctx, workloadapi.WithClientOptions(workloadapi.WithAddr(addr)))
	if err != nil {
		return nil, fmt.Errorf("%w: no X.509-SVID from %s within %s: %v", authn.ErrSourceUnavailable, addr, c.startTimeout, err)
	}
	return src, nil
}

// NewBundleSource is [NewX509Source] for trust bundles alone (X.509 and JWT,
// of the workload's trust domain and of every federated one), as a service
// that verifies JWT-SVIDs needs.
func NewBundleSource(ctx context.Context, addr string, opts ...Option) (*workloadapi.BundleSource, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil context", authn.ErrInvalidConfig)
	}
	c := newConfig(opts)
	addr, err := resolve(addr)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, c.startTimeout)
	defer cancel()
	src, err := workloadapi.NewBundleSource(cctx, workloadapi.WithClientOptions(workloadapi.WithAddr(addr)))
	if err != nil {
		return nil, fmt.Errorf("%w: no trust bundles from %s within %s: %v", authn.ErrSourceUnavailable, addr, c.startTimeout, err)
	}
	return src, nil
}

// resolve returns addr, or when it is empty the address go-spiffe's
// workloadapi would use by default (SPIFFE_ENDPOINT_SOCKET), and checks that
// it is a Workload API address, so that a missing or malformed one fails at
// once rather than after the start timeout.
func resolve(addr string) (string, error) {
	if addr == "" {
		env, ok := workloadapi.GetDefaultAddress()
		if !ok || env == "" {
			return "", ErrNoAddress
		}
		addr = env
	}
	if err := workloadapi.ValidateAddress(addr); err != nil {
		return "", fmt.Errorf("%w: Workload API address %q: %v", authn.ErrInvalidConfig, addr, err)
	}
	return addr, nil
}
