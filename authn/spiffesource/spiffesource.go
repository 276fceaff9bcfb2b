// Package spiffesource connects a service to the SPIFFE Workload API (a SPIRE
// agent, or authn/spiffetest) and fails start-up cleanly when it cannot: it
// waits for the first SVID or bundle for a bounded time and then returns an
// error naming the socket and the wait, never a hang and never a source
// without an identity.
//
// It is a package of its own so that importing package authn (and authz,
// which decides on an authn.Principal) does not compile the gRPC client.
package spiffesource

import (
	"context"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/ztkit/ztkit/authn"
)

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
		return nil, fmt.Errorf("%w: empty Workload API address", authn.ErrInvalidConfig)
	}
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	src, err := workloadapi.NewX509Source(cctx, workloadapi.WithClientOptions(workloadapi.WithAddr(addr)))
	if err != nil {
		return nil, fmt.Errorf("%w: no X.509-SVID from %s within %s: %v", authn.ErrSourceUnavailable, addr, timeout, err)
	}
	return src, nil
}

// NewBundleSource is [NewX509Source] for trust bundles alone (X.509 and JWT),
// as a service that verifies JWT-SVIDs needs.
func NewBundleSource(ctx context.Context, addr string, timeout time.Duration) (*workloadapi.BundleSource, error) {
	if addr == "" {
		return nil, fmt.Errorf("%w: empty Workload API address", authn.ErrInvalidConfig)
	}
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	src, err := workloadapi.NewBundleSource(cctx, workloadapi.WithClientOptions(workloadapi.WithAddr(addr)))
	if err != nil {
		return nil, fmt.Errorf("%w: no trust bundles from %s within %s: %v", authn.ErrSourceUnavailable, addr, timeout, err)
	}
	return src, nil
}
