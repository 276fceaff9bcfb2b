package authn_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffetest"
)

// Payments accepts calls from the checkout workload over mTLS. The client
// certificate is verified against the trust bundle and authorized by the
// policy; in a service, net/http fills in r.TLS and package middleware calls
// Authenticate.
func ExampleNew() {
	ctx := context.Background()
	td := spiffeid.RequireTrustDomainFromString("shop.example")
	checkout := spiffeid.RequireFromPath(td, "/checkout")

	// An in-process issuer stands in for the SPIRE agent.
	iss, err := spiffetest.New(ctx, td)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer iss.Close()

	// A policy that requires neither a peer nor a token would admit anyone.
	_, err = authn.New(authn.Policy{})
	fmt.Println("empty policy refused:", errors.Is(err, authn.ErrInvalidConfig))

	a, err := authn.New(authn.Policy{Peer: authn.MatchID(checkout)}, authn.WithX509Bundles(iss.X509Bundle()))
	if err != nil {
		fmt.Println(err)
		return
	}

	svid, err := iss.IssueX509SVID(checkout)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := httptest.NewRequest(http.MethodPost, "https://payments.shop.example/settle", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: svid.Certificates}
	p, err := a.Authenticate(ctx, r)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("peer:", p.Peer, "via", p.Methods)

	r.TLS = nil // no client certificate
	_, err = a.Authenticate(ctx, r)
	fmt.Println(err)
	// Output:
	// empty policy refused: true
	// peer: spiffe://shop.example/checkout via mtls
	// authn: no client certificate
}

// MatchPathPrefix allows a family of workloads, on a segment boundary.
func ExampleMatchPathPrefix() {
	td := spiffeid.RequireTrustDomainFromString("shop.example")
	allow := authn.MatchPathPrefix(td, "/payments")
	for _, id := range []string{
		"spiffe://shop.example/payments",
		"spiffe://shop.example/payments/eu",
		"spiffe://shop.example/paymentsx",
		"spiffe://other.example/payments",
	} {
		err := allow(spiffeid.RequireFromString(id))
		fmt.Printf("%-34s allowed: %v\n", id, err == nil)
	}
	// Output:
	// spiffe://shop.example/payments     allowed: true
	// spiffe://shop.example/payments/eu  allowed: true
	// spiffe://shop.example/paymentsx    allowed: false
	// spiffe://other.example/payments    allowed: false
}

// A handler reads the principal the middleware stored, decides with it, and
// logs it without the customer's identity.
func ExamplePrincipalFromContext() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{} // keep the output stable
			}
			return a
		},
	}))
	refund := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := authn.PrincipalFromContext(r.Context())
		if !ok || !p.HasScope("payments:refund") {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		logger.Info("refund", "principal", p)
		w.WriteHeader(http.StatusAccepted)
	})

	// The middleware does this for every authenticated request.
	p := &authn.Principal{
		Peer:     spiffeid.RequireFromString("spiffe://shop.example/checkout"),
		Subject:  "customer-42",
		ClientID: "storefront",
		Scopes:   []string{"payments:refund"},
		Kind:     authn.UserKind,
		Binding:  authn.BoundToDPoPKey,
		Methods:  authn.MethodMTLS | authn.MethodDPoP,
	}
	r := httptest.NewRequest(http.MethodPost, "https://payments.shop.example/refunds", nil)
	w := httptest.NewRecorder()
	refund.ServeHTTP(w, r.WithContext(authn.NewContext(r.Context(), p)))
	fmt.Println(w.Code)

	w = httptest.NewRecorder()
	refund.ServeHTTP(w, r) // no principal
	fmt.Println(w.Code)
	// Output:
	// level=INFO msg=refund principal.peer=spiffe://shop.example/checkout principal.client_id=storefront principal.scope=payments:refund principal.kind=user principal.binding=dpop principal.methods=mtls+dpop
	// 202
	// 403
}
