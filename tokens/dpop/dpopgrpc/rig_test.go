package dpopgrpc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
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
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/dpopgrpc"
)

// The service's external authority: the audience of shoprig's tokens.
const authority = "payments.shop.example"

// hit is what the test server saw of one call: the proof's claims, read
// without checking (the verifier checks them), and the verifier's outcome.
type hit struct {
	method string
	jti    string
	htm    string
	htu    string
	nonce  string
	auth   []string
	proofs []string
	err    error
}

// nonceMode says how the server asks for nonces.
type nonceMode int

const (
	noNonces       nonceMode = iota // nonces not required
	nonceTrailer                    // challenge and nonce in trailer metadata
	nonceHeader                     // challenge in the trailer, nonce in header metadata
	alwaysNewNonce                  // every call challenged, each with a new nonce
)

// server is a real gRPC server over SPIFFE mTLS on loopback, serving the
// health service (unary Check, server-streaming Watch) and an echo bidi
// stream, behind an interceptor that checks each call's DPoP-bound token
// with dpop.RequestVerifier.VerifyInbound and answers per the package's wire
// contract: Unauthenticated, "www-authenticate" trailer with the DPoP
// use_dpop_nonce challenge, "dpop-nonce" metadata.
type server struct {
	addr string
	mode nonceMode

	rv     *dpop.RequestVerifier
	nonces *dpop.Nonces
	fresh  atomic.Int64

	mu   sync.Mutex
	hits []hit
}

type serverOpts struct {
	mode     nonceMode
	external string // the external URL; "" for https://payments.shop.example
	creds    credentials.TransportCredentials
}

func startServer(tb testing.TB, r *rig, o serverOpts) *server {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	s := &server{addr: lis.Addr().String(), mode: o.mode}
	n, err := dpop.NewNonces([]byte("test-only nonce secret, 32+ bytes long"), dpop.WithNonceClock(shoprig.Clock(shoprig.Now)))
	require.NoError(tb, err)
	s.nonces = n
	external := o.external
	if external == "" {
		external = "https://" + authority
	}
	external = strings.ReplaceAll(external, "{addr}", s.addr)
	var vopts []dpop.VerifierOption
	if o.mode == nonceTrailer || o.mode == nonceHeader {
		vopts = append(vopts, dpop.WithNonces(n))
	}
	s.rv = r.tokens.RequestVerifier(tb, external, nil, vopts)
	creds := o.creds
	if creds == nil {
		creds = credentials.NewTLS(shoprig.ServerTLSConfig(tb, shoprig.SVID(tb, r.iss, shoprig.Payments), r.iss.X509Bundle(), authn.MatchID(shoprig.Checkout)))
	}
	gs := grpc.NewServer(grpc.Creds(creds),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := s.check(ctx, info.FullMethod, func(md metadata.MD) error { return grpc.SetHeader(ctx, md) }, func(md metadata.MD) { _ = grpc.SetTrailer(ctx, md) }); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := s.check(ss.Context(), info.FullMethod, ss.SendHeader, ss.SetTrailer); err != nil {
				return err
			}
			return h(srv, ss)
		}))
	healthpb.RegisterHealthServer(gs, health.NewServer())
	gs.RegisterService(&echoDesc, nil)
	go func() { _ = gs.Serve(lis) }()
	tb.Cleanup(gs.Stop)
	return s
}

// check is the server interceptor's decision for one call.
func (s *server) check(ctx context.Context, fullMethod string, sendHeader func(metadata.MD) error, setTrailer func(metadata.MD)) error {
	md, _ := metadata.FromIncomingContext(ctx)
	req := inbound.Request{Method: "POST", Path: fullMethod, Route: fullMethod, Authorization: md.Get("authorization"), DPoP: md.Get("dpop")}
	_, err := s.rv.VerifyInbound(ctx, &req)
	h := hit{method: fullMethod, auth: req.Authorization, proofs: req.DPoP, err: err}
	if len(req.DPoP) == 1 {
		h.jti, h.htm, h.htu, h.nonce = proofClaims(req.DPoP[0])
	}
	s.mu.Lock()
	s.hits = append(s.hits, h)
	s.mu.Unlock()

	nonce := ""
	var ne *dpop.NonceError
	switch {
	case s.mode == alwaysNewNonce:
		nonce = "fresh-" + strconv.FormatInt(s.fresh.Add(1), 10)
	case errors.As(err, &ne):
		nonce = ne.Nonce
	case err != nil:
		// Another refusal, with a nonce beside it: never retried.
		trailer := metadata.Pairs("www-authenticate", `DPoP realm="shop", error="invalid_token", algs="ES256"`)
		if s.mode != noNonces {
			trailer.Append("dpop-nonce", s.nonces.Current())
		}
		setTrailer(trailer)
		return status.Error(codes.Unauthenticated, "use_dpop_nonce is not the error here")
	default:
		if s.mode != noNonces {
			// Send the header now, so that a stream's Header returns
			// before the first message.
			return sendHeader(metadata.Pairs("dpop-nonce", s.nonces.Current()))
		}
		return nil
	}
	// The use_dpop_nonce refusal, as the HTTP layer words the challenge.
	trailer := metadata.Pairs("www-authenticate", `Bearer realm="shop", algs="ES256"`, "www-authenticate", `DPoP realm="shop", error="use_dpop_nonce", algs="ES256"`)
	if s.mode == nonceHeader {
		_ = sendHeader(metadata.Pairs("dpop-nonce", nonce))
	} else {
		trailer.Append("dpop-nonce", nonce)
	}
	setTrailer(trailer)
	return status.Error(codes.Unauthenticated, "A fresh DPoP proof with the server's nonce is required.")
}

// seen returns a copy of the calls the server has had so far.
func (s *server) seen() []hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hit(nil), s.hits...)
}

// proofClaims reads jti, htm, htu and nonce of a proof without checking it.
func proofClaims(proof string) (jti, htm, htu, nonce string) {
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return
	}
	var c struct{ JTI, HTM, HTU, Nonce string }
	if json.Unmarshal(b, &c) != nil {
		return
	}
	return c.JTI, c.HTM, c.HTU, c.Nonce
}

// echoDesc is a bidi stream, /test.Echo/Chat, that answers each request with
// a response.
var echoDesc = grpc.ServiceDesc{
	ServiceName: "test.Echo",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName: "Chat", ServerStreams: true, ClientStreams: true,
		Handler: func(_ any, ss grpc.ServerStream) error {
			for {
				var req healthpb.HealthCheckRequest
				if err := ss.RecvMsg(&req); err != nil {
					return nil
				}
				if err := ss.SendMsg(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}); err != nil {
					return err
				}
			}
		},
	}},
}

var chatDesc = &grpc.StreamDesc{StreamName: "Chat", ServerStreams: true, ClientStreams: true}

// rig is the authorization server, the customer's client and the SPIFFE
// issuer of one test.
type rig struct {
	tokens *shoprig.Tokens
	iss    *spiffetest.Issuer
}

func newRig(tb testing.TB) *rig {
	tb.Helper()
	return &rig{tokens: shoprig.NewTokens(tb), iss: shoprig.NewIssuer(tb, shoprig.TrustDomain)}
}

// countingSource is a dpop.TokenSource that counts its calls and returns
// the rig's token, or err when set.
type countingSource struct {
	token string
	err   error
	calls atomic.Int64
}

func (s *countingSource) AccessToken(context.Context) (string, error) {
	s.calls.Add(1)
	if s.err != nil {
		return "", s.err
	}
	return s.token, nil
}

func (r *rig) source(tb testing.TB) *countingSource {
	tb.Helper()
	return &countingSource{token: r.tokens.Token(tb, nil)}
}

func (r *rig) creds(tb testing.TB, src dpop.TokenSource, opts ...dpopgrpc.Option) *dpopgrpc.PerRPCCredentials {
	tb.Helper()
	c, err := dpopgrpc.NewPerRPCCredentials(src, r.tokens.Proofer, opts...)
	require.NoError(tb, err)
	return c
}

// tlsCreds are the checkout's SPIFFE mTLS credentials, accepting only the
// payments service.
func (r *rig) tlsCreds(tb testing.TB) credentials.TransportCredentials {
	tb.Helper()
	return credentials.NewTLS(shoprig.ClientTLSConfig(tb, shoprig.SVID(tb, r.iss, shoprig.Checkout), r.iss.X509Bundle(), authn.MatchID(shoprig.Payments)))
}

// dial connects to s over mTLS with opts.
func (r *rig) dial(tb testing.TB, s *server, opts ...grpc.DialOption) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpc.NewClient(s.addr, append([]grpc.DialOption{grpc.WithTransportCredentials(r.tlsCreds(tb))}, opts...)...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}

// dialDPoP connects to s with c's DialOptions, under the service's authority.
func (r *rig) dialDPoP(tb testing.TB, s *server, c *dpopgrpc.PerRPCCredentials) *grpc.ClientConn {
	tb.Helper()
	return r.dial(tb, s, append(c.DialOptions(), grpc.WithAuthority(authority))...)
}

func check(tb testing.TB, conn *grpc.ClientConn, opts ...grpc.CallOption) error {
	tb.Helper()
	_, err := healthpb.NewHealthClient(conn).Check(shoprig.Context(tb), &healthpb.HealthCheckRequest{}, opts...)
	return err
}

// htu is the htu of a call of method under the service's authority.
func htu(method string) string { return fmt.Sprintf("https://%s%s", authority, method) }

const (
	checkMethod = "/grpc.health.v1.Health/Check"
	watchMethod = "/grpc.health.v1.Health/Watch"
	chatMethod  = "/test.Echo/Chat"
)
