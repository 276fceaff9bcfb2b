package guardgrpc_test

import (
	"context"
	"fmt"
	"net"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/guard/guardgrpc"
)

// Guard a gRPC server: workloads call it with JWT-SVIDs in the
// "authorization" metadata; the health check is exempt. A refused call
// fails with the status code of its class, a google.rpc.ErrorInfo naming
// its reason, and the challenge in the "www-authenticate" trailer. (A
// service would serve over SPIFFE mTLS, with go-spiffe's grpccredentials;
// this example listens on loopback without TLS to stay short.)
func ExampleInterceptors() {
	td := spiffeid.RequireTrustDomainFromString("shop.example")
	bundles := jwtbundle.New(td) // from the Workload API in a service
	// The authenticator, its guard and the guard's interceptors.
	a, err := authn.New(authn.Policy{Token: authn.JWTSVID}, authn.WithJWTSVIDs(bundles, "spiffe://shop.example/payments"))
	var g *guard.Guard
	if err == nil {
		g, err = guard.New(a, guard.WithRealm("payments"))
	}
	var ics *guardgrpc.Interceptors
	if err == nil {
		ics, err = guardgrpc.New(g, guardgrpc.WithExemptMethods("/grpc.health.v1.Health/Check"))
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := grpc.NewServer(ics.ServerOptions()...)
	grpc_health_v1.RegisterHealthServer(srv, exampleHealth{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	client := grpc_health_v1.NewHealthClient(conn)

	ctx := context.Background()
	resp, err := client.Check(ctx, &grpc_health_v1.HealthCheckRequest{})
	fmt.Println("Check:", resp.GetStatus(), err)

	for _, authorization := range []string{"", "Basic c3RvcmVmcm9udA=="} {
		ctx := ctx
		if authorization != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", authorization)
		}
		var trailer metadata.MD
		_, err := client.List(ctx, &grpc_health_v1.HealthListRequest{}, grpc.Trailer(&trailer))
		st := status.Convert(err)
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				fmt.Println("List:", st.Code(), info.GetDomain(), info.GetReason(), info.GetMetadata()["code"])
			}
		}
		fmt.Println("  www-authenticate:", trailer.Get("www-authenticate"))
	}
	// Output:
	// Check: SERVING <nil>
	// List: Unauthenticated ztkit MISSING_TOKEN missing_token
	//   www-authenticate: [Bearer realm="payments"]
	// List: InvalidArgument ztkit INVALID_REQUEST invalid_request
	//   www-authenticate: [Bearer realm="payments", error="invalid_request"]
}

// exampleHealth is a health service that is always serving.
type exampleHealth struct {
	grpc_health_v1.UnimplementedHealthServer
}

func (exampleHealth) Check(context.Context, *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}
