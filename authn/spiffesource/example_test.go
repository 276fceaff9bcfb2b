package spiffesource_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffesource"
	"github.com/ztkit/ztkit/authn/spiffetest"
)

// A service gets its X.509-SVID, and the trust bundles it verifies its peers
// against, from the Workload API, and passes the one source as both to
// authn.ServerTLSConfig. Here an in-process issuer plays the SPIRE agent; in
// production the address is empty and SPIFFE_ENDPOINT_SOCKET names the
// agent's socket.
func ExampleNewX509Source() {
	ctx := context.Background()
	td := spiffeid.RequireTrustDomainFromString("shop.example")
	iss, err := spiffetest.New(ctx, td)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer iss.Close()
	payments := spiffeid.RequireFromPath(td, "/payments")
	if err := iss.Register(payments); err != nil {
		fmt.Println(err)
		return
	}

	src, err := spiffesource.NewX509Source(ctx, iss.Addr(), spiffesource.WithStartTimeout(5*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	svid, err := src.GetX509SVID()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("SVID:", svid.ID)

	cfg, err := authn.ServerTLSConfig(src, src, authn.MatchMemberOf(td))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("client certificates required:", cfg.ClientAuth.String())
	// Output:
	// SVID: spiffe://shop.example/payments
	// client certificates required: RequireAnyClientCert
}

// A Workload API that does not answer within the start timeout fails
// start-up with an error naming the socket and the wait, never a hang.
func ExampleNewBundleSource_unavailable() {
	_, err := spiffesource.NewBundleSource(context.Background(), "unix:///nonexistent/agent.sock",
		spiffesource.WithStartTimeout(50*time.Millisecond))
	fmt.Println(errors.Is(err, authn.ErrSourceUnavailable))
	// Output:
	// true
}
