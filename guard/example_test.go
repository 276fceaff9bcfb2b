package guard_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/inbound"
)

// Decide on gRPC calls from workloads that authenticate with JWT-SVIDs,
// described as a gRPC transport would: an HTTP/2 POST to the full method,
// with the "authorization" metadata. Each refusal is a value that every
// transport renders its own way: here its class, reason, HTTP status and
// challenge.
func ExampleGuard_Check() {
	td := spiffeid.RequireTrustDomainFromString("shop.example")
	bundles := jwtbundle.New(td) // the workload's JWT bundles; a jwtbundle.Source from the Workload API in a service
	a, err := authn.New(authn.Policy{Token: authn.JWTSVID}, authn.WithJWTSVIDs(bundles, "spiffe://shop.example/payments"))
	if err != nil {
		fmt.Println(err)
		return
	}
	g, err := guard.New(a, guard.WithRealm("payments"))
	if err != nil {
		fmt.Println(err)
		return
	}

	for _, authorization := range [][]string{nil, {"Basic c3RvcmVmcm9udA=="}} {
		res := g.Check(context.Background(), &inbound.Request{
			Method:        http.MethodPost,
			Path:          "/shop.payments.v1.Payments/Charge",
			Route:         "/shop.payments.v1.Payments/Charge",
			Authorization: authorization,
		})
		ref := res.Refusal
		fmt.Println(ref.Class, ref.Reason, ref.HTTPStatus(), ref.Challenges)
	}
	// Output:
	// unauthenticated missing_token 401 [Bearer realm="payments"]
	// bad_request invalid_request 400 [Bearer realm="payments", error="invalid_request"]
}
