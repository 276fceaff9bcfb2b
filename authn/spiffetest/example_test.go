package spiffetest_test

import (
	"context"
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/ztkit/ztkit/authn/spiffetest"
)

// Start an issuer, register the workload's identity and fetch its X509-SVID
// through the Workload API, as a service would from a SPIRE agent.
func Example() {
	ctx := context.Background()
	td := spiffeid.RequireTrustDomainFromString("shop.test")

	iss, err := spiffetest.New(ctx, td)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer iss.Close()
	if err := iss.Register(spiffeid.RequireFromPath(td, "/checkout")); err != nil {
		fmt.Println(err)
		return
	}

	svid, err := workloadapi.FetchX509SVID(ctx, workloadapi.WithAddr(iss.Addr()))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("SVID:", svid.ID)

	id, _, err := x509svid.Verify(svid.Certificates, iss.X509Bundle())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("verified:", id)
	// Output:
	// SVID: spiffe://shop.test/checkout
	// verified: spiffe://shop.test/checkout
}

// Fetch a JWT-SVID for an audience and validate it against the JWT bundle.
func Example_jwt() {
	ctx := context.Background()
	td := spiffeid.RequireTrustDomainFromString("shop.test")

	iss, err := spiffetest.New(ctx, td)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer iss.Close()
	if err := iss.Register(spiffeid.RequireFromPath(td, "/storefront")); err != nil {
		fmt.Println(err)
		return
	}

	svid, err := workloadapi.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "spiffe://shop.test/checkout"},
		workloadapi.WithAddr(iss.Addr()))
	if err != nil {
		fmt.Println(err)
		return
	}

	// The checkout service validates the token it receives.
	got, err := jwtsvid.ParseAndValidate(svid.Marshal(), iss.JWTBundle(), []string{"spiffe://shop.test/checkout"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("caller:", got.ID)
	fmt.Println("audience:", got.Audience)
	// Output:
	// caller: spiffe://shop.test/storefront
	// audience: [spiffe://shop.test/checkout]
}
