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
	return start(ctx, addr, opts, "X.509-SVID", func(ctx context.Context, addr string) (*workloadapi.X509Source, error) {
		return workloadapi.NewX509Source(ctx, workloadapi.WithClientOptions(workloadapi.WithAddr(addr)))
	})
}

// NewBundleSource is [NewX509Source] for trust bundles alone (X.509 and JWT,
// of the workload's trust domain and of every federated one), as a service
// that verifies JWT-SVIDs needs.
func NewBundleSource(ctx context.Context, addr string, opts ...Option) (*workloadapi.BundleSource, error) {
	return start(ctx, addr, opts, "trust bundles", func(ctx context.Context, addr string) (*workloadapi.BundleSource, error) {
		return workloadapi.NewBundleSource(ctx, workloadapi.WithClientOptions(workloadapi.WithAddr(addr)))
	})
}

// start opens a source of the Workload API at addr (resolved as the doc of
// [NewX509Source] says) with open, waiting at most the start timeout for its
// first update; what names that update in the error.
func start[S any](ctx context.Context, addr string, opts []Option, what string, open func(context.Context, string) (S, error)) (S, error) {
	var zero S
	if ctx == nil {
		return zero, fmt.Errorf("%w: nil context", authn.ErrInvalidConfig)
	}
	c := newConfig(opts)
	addr, err := resolve(addr)
	if err != nil {
		return zero, err
	}
	cctx, cancel := context.WithTimeout(ctx, c.startTimeout)
	defer cancel()
	src, err := open(cctx, addr)
	if err != nil {
		return zero, fmt.Errorf("%w: no %s from %s within %s: %v", authn.ErrSourceUnavailable, what, addr, c.startTimeout, err)
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
