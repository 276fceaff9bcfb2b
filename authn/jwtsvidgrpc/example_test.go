package jwtsvidgrpc_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/jwtsvidgrpc"
	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/inbound"
)

// The checkout calls the payments service through a proxy that terminates
// TLS, so it proves who it is with a JWT-SVID for the payments service.
func ExamplePerRPCCredentials() {
	ctx := context.Background()
	td := spiffeid.RequireTrustDomainFromString("shop.example")
	checkout, payments := spiffeid.RequireFromPath(td, "/checkout"), spiffeid.RequireFromPath(td, "/payments")

	// An in-process issuer stands in for the SPIRE agent; the checkout is
	// the workload it serves.
	iss, err := spiffetest.New(ctx, td)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer iss.Close()
	if err := iss.Register(checkout); err != nil {
		fmt.Println(err)
		return
	}

	// The payments service authenticates calls by their JWT-SVID.
	a, err := authn.New(authn.Policy{Token: authn.JWTSVID}, authn.WithJWTSVIDs(iss.JWTBundle(), payments.String()))
	if err != nil {
		fmt.Println(err)
		return
	}
	serverSVID, err := iss.IssueX509SVID(payments)
	if err != nil {
		fmt.Println(err)
		return
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(tlsconfig.TLSServerConfig(serverSVID))), grpc.UnaryInterceptor(
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			p, err := a.AuthenticateInbound(ctx, &inbound.Request{Method: "POST", Path: info.FullMethod, Authorization: md.Get("authorization")})
			if err != nil {
				return nil, status.Error(codes.Unauthenticated, "not authenticated")
			}
			fmt.Println("payments: called by", p.Workload)
			return h(ctx, req)
		}))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	// The checkout: JWT-SVIDs from the Workload API, for the payments service.
	src, err := workloadapi.NewJWTSource(ctx, workloadapi.WithClientOptions(workloadapi.WithAddr(iss.Addr())))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	creds, err := jwtsvidgrpc.NewPerRPCCredentials(src, payments.String())
	if err != nil {
		fmt.Println(err)
		return
	}
	clientTLS := tlsconfig.TLSClientConfig(iss.X509Bundle(), tlsconfig.AuthorizeID(payments))
	clientTLS.MinVersion = tls.VersionTLS13
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)), grpc.WithPerRPCCredentials(creds))
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
	fmt.Println("checkout:", resp.GetStatus())
	// Output:
	// payments: called by spiffe://shop.example/checkout
	// checkout: SERVING
}
