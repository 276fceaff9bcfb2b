package egress_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/authz/egress"
)

// Destinations can be written as strings, in configuration, and are
// normalised.
func ExampleParseDestination() {
	for _, s := range []string{
		"https://API.Stripe.com.",
		"https://*.payments.example:8443",
		"http://[::ffff:10.20.0.7]:8080",
		"https://api.stripe.com/v1/charges",
	} {
		d, err := egress.ParseDestination(s)
		if err != nil {
			fmt.Println(errors.Is(err, egress.ErrInvalidDestination), err)
			continue
		}
		fmt.Println(d)
	}
	// Output:
	// https://api.stripe.com:443
	// https://*.payments.example:8443
	// http://10.20.0.7:8080
	// true egress: invalid destination: "https://api.stripe.com/v1/charges": only scheme, host and port are allowed: no userinfo, path, query or fragment
}

// A storefront may call the payment provider and nothing else. A forged
// callback URL, or a Host header aimed at another tenant of the same front
// end, is refused before anything is dialed.
func ExampleNewTransport() {
	list, err := egress.NewList(egress.Destination{Host: "api.stripe.com"})
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := egress.NewDialer(list)
	if err != nil {
		fmt.Println(err)
		return
	}
	t, err := egress.NewTransport(d)
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &http.Client{Transport: t}

	_, err = client.Get("http://169.254.169.254/latest/meta-data/iam/security-credentials/")
	var refused *egress.DestinationError
	if errors.As(err, &refused) {
		fmt.Println(refused.Reason, refused)
	}

	req, _ := http.NewRequest(http.MethodPost, "https://api.stripe.com/v1/charges", nil)
	req.Host = "attacker.example"
	_, err = client.Do(req)
	if errors.As(err, &refused) {
		fmt.Println(refused.Reason, refused)
	}
	fmt.Println("refusals:", d.Refusals())
	// Output:
	// not_listed egress: http://169.254.169.254:80 (not_listed): destination not allowed
	// host_mismatch egress: https://api.stripe.com:443 (host_mismatch): destination not allowed
	// refusals: 2
}

// The storefront calls the payments service over SPIFFE mTLS, and only if
// the server there is spiffe://shop.example/payments.
func ExampleNewDialer() {
	ctx := context.Background()
	td := spiffeid.RequireTrustDomainFromString("shop.example")
	storefront := spiffeid.RequireFromPath(td, "/storefront")
	payments := spiffeid.RequireFromPath(td, "/payments")
	imposter := spiffeid.RequireFromPath(td, "/imposter")

	// An in-process issuer stands in for the SPIRE agent.
	iss, err := spiffetest.New(ctx, td)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer iss.Close()
	svids := map[spiffeid.ID]*x509svid.SVID{}
	for _, id := range []spiffeid.ID{storefront, payments, imposter} {
		if svids[id], err = iss.IssueX509SVID(id); err != nil {
			fmt.Println(err)
			return
		}
	}
	// Two servers on loopback: the real payments service and an imposter
	// from the same trust domain.
	ports := map[spiffeid.ID]int{}
	for _, id := range []spiffeid.ID{payments, imposter} {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println(err)
			return
		}
		cfg, err := authn.ServerTLSConfig(svids[id], iss.X509Bundle(), authn.MatchID(storefront))
		if err != nil {
			fmt.Println(err)
			return
		}
		srv := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprintf(w, "hello from %s", id)
			}),
			TLSConfig: cfg,
			ErrorLog:  log.New(io.Discard, "", 0),
		}
		go func() { _ = srv.ServeTLS(lis, "", "") }()
		defer srv.Close()
		ports[id] = lis.Addr().(*net.TCPAddr).Port
	}
	real, fake := ports[payments], ports[imposter]

	list, err := egress.NewList(
		egress.Destination{Host: "127.0.0.1", Port: real, Server: authn.MatchID(payments)},
		egress.Destination{Host: "127.0.0.1", Port: fake, Server: authn.MatchID(payments)},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	// In a service: the X509Source of spiffesource.NewX509Source as both.
	d, err := egress.NewDialer(list, egress.WithSPIFFE(svids[storefront], iss.X509Bundle()))
	if err != nil {
		fmt.Println(err)
		return
	}
	t, err := egress.NewTransport(d)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer t.CloseIdleConnections()
	client := &http.Client{Transport: t}

	resp, err := client.Get("https://127.0.0.1:" + strconv.Itoa(real) + "/")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Println(string(body), resp.Proto)

	_, err = client.Get("https://127.0.0.1:" + strconv.Itoa(fake) + "/")
	fmt.Println(errors.Is(err, egress.ErrServerIdentity), errors.Is(err, authn.ErrPeerNotAuthorized))
	// Output:
	// hello from spiffe://shop.example/payments HTTP/2.0
	// true true
}
