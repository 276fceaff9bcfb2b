package egressgrpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/authz/egress"
	"github.com/ztkit/ztkit/authz/egress/egressgrpc"
)

// The storefront calls the payments service's gRPC API over SPIFFE mTLS,
// and may call nothing else.
func ExampleNewClient() {
	ctx := context.Background()
	td := spiffeid.RequireTrustDomainFromString("shop.example")
	storefront := spiffeid.RequireFromPath(td, "/storefront")
	payments := spiffeid.RequireFromPath(td, "/payments")

	// An in-process issuer stands in for the SPIRE agent.
	iss, err := spiffetest.New(ctx, td)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer iss.Close()
	serverSVID, err := iss.IssueX509SVID(payments)
	if err != nil {
		fmt.Println(err)
		return
	}
	clientSVID, err := iss.IssueX509SVID(storefront)
	if err != nil {
		fmt.Println(err)
		return
	}

	// The payments service, with the standard health service.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	serverTLS, err := authn.ServerTLSConfig(serverSVID, iss.X509Bundle(), authn.MatchID(storefront))
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(serverTLS)))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	port := lis.Addr().(*net.TCPAddr).Port

	list, err := egress.NewList(egress.Destination{Host: "127.0.0.1", Port: port, Server: authn.MatchID(payments)})
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := egress.NewDialer(list, egress.WithSPIFFE(clientSVID, iss.X509Bundle()))
	if err != nil {
		fmt.Println(err)
		return
	}

	conn, err := egressgrpc.NewClient("127.0.0.1:"+strconv.Itoa(port), d)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.GetStatus())

	_, err = egressgrpc.NewClient("exfil.example:443", d)
	fmt.Println(errors.Is(err, egress.ErrDestinationNotAllowed), err)
	// Output:
	// SERVING
	// true egress: https://exfil.example:443 (not_listed): destination not allowed
}
