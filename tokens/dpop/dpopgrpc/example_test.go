package dpopgrpc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/dpopgrpc"
)

// fixedToken is a dpop.TokenSource with one token, for the example; a real
// client gets its tokens from the authorization server and caches them.
type fixedToken string

func (t fixedToken) AccessToken(context.Context) (string, error) { return string(t), nil }

// The checkout calls the payments service over SPIFFE mTLS with the
// customer's DPoP-bound token. The payments service requires DPoP nonces:
// the first call is refused with use_dpop_nonce, and the interceptor sends
// it again with the nonce, transparently; the next call carries the nonce
// at once.
func ExamplePerRPCCredentials() {
	ctx := context.Background()

	// The authorization server's issuer and the payments service's verifiers.
	asKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sk, _ := tokens.NewSigningKey(asKey, "")
	keys, _ := tokens.NewKeySet(sk)
	issuer, _ := tokens.NewIssuer("https://id.shop.example", keys)
	tv, _ := tokens.NewVerifier(keys, "https://id.shop.example", []string{"https://payments.shop.example"})
	nonces, _ := dpop.NewNonces([]byte("example-only secret, 32+ bytes, shared by all replicas"))
	proofs, _ := dpop.NewVerifier(dpop.WithNonces(nonces))
	rv, err := dpop.NewRequestVerifier(tv, proofs, dpop.WithExternalURL("https://payments.shop.example"))
	if err != nil {
		fmt.Println(err)
		return
	}

	// SPIFFE identities from an in-process issuer standing in for SPIRE.
	td := spiffeid.RequireTrustDomainFromString("shop.example")
	checkout, payments := spiffeid.RequireFromPath(td, "/checkout"), spiffeid.RequireFromPath(td, "/payments")
	spiffe, err := spiffetest.New(ctx, td)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer spiffe.Close()
	serverSVID, _ := spiffe.IssueX509SVID(payments)
	clientSVID, _ := spiffe.IssueX509SVID(checkout)
	serverTLS, _ := authn.ServerTLSConfig(serverSVID, spiffe.X509Bundle(), authn.MatchID(checkout))
	clientTLS, _ := authn.ClientTLSConfig(clientSVID, spiffe.X509Bundle(), authn.MatchID(payments))

	// The payments service: a gRPC call is a POST to its full method.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(serverTLS)), grpc.UnaryInterceptor(
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			call := inbound.Request{Method: "POST", Path: info.FullMethod, Authorization: md.Get("authorization"), DPoP: md.Get("dpop")}
			res, err := rv.VerifyInbound(ctx, &call)
			var nonceErr *dpop.NonceError
			switch {
			case errors.As(err, &nonceErr):
				fmt.Println("payments: nonce required")
				_ = grpc.SetTrailer(ctx, metadata.Pairs(
					"www-authenticate", `DPoP error="use_dpop_nonce"`, "dpop-nonce", nonceErr.Nonce))
				return nil, status.Error(codes.Unauthenticated, "DPoP nonce required")
			case err != nil:
				return nil, status.Error(codes.Unauthenticated, "not authenticated")
			}
			fmt.Println("payments:", res.Claims.Subject, "calls", info.FullMethod)
			return h(ctx, req)
		}))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	// The checkout: its DPoP key, the token bound to it, and the credentials.
	clientKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	proofer, err := dpop.NewProofer(clientKey, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	token, err := issuer.Issue(ctx, tokens.TokenRequest{
		Subject: "customer-42", ClientID: "checkout", Audience: []string{"https://payments.shop.example"},
		DPoPKeyThumbprint: proofer.Thumbprint(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	creds, err := dpopgrpc.NewPerRPCCredentials(fixedToken(token), proofer,
		// Clients know the service as payments.shop.example; here it listens on loopback.
		dpopgrpc.WithAuthority("payments.shop.example"))
	if err != nil {
		fmt.Println(err)
		return
	}
	conn, err := grpc.NewClient(lis.Addr().String(),
		append(creds.DialOptions(), grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)))...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()

	for range 2 {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("checkout:", resp.GetStatus())
	}
	// Output:
	// payments: nonce required
	// payments: customer-42 calls /grpc.health.v1.Health/Check
	// checkout: SERVING
	// payments: customer-42 calls /grpc.health.v1.Health/Check
	// checkout: SERVING
}
