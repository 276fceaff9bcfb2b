package dpopgrpc_test

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/tokens/dpop/dpopgrpc"
)

// A call is refused for a too weak authentication (RFC 9470 §3), with the
// challenge in the "www-authenticate" trailer as package guardgrpc sends
// it. The client collects the trailer with grpc.Trailer and asks what to do.
func ExampleAdvise() {
	// What a call such as
	//	_, err := client.Charge(ctx, req, grpc.Header(&header), grpc.Trailer(&trailer))
	// returns:
	err := status.Error(codes.Unauthenticated, "A stronger authentication is required.")
	var header metadata.MD
	trailer := metadata.Pairs("www-authenticate",
		`DPoP error="insufficient_user_authentication", acr_values="urn:shop:mfa", max_age=300`)

	adv, aerr := dpopgrpc.Advise(err, header, trailer)
	if aerr != nil {
		fmt.Println(aerr)
		return
	}
	fmt.Println(adv.Action, adv.ACRValues, adv.MaxAge)
	// Output: step_up [urn:shop:mfa] 5m0s
}
