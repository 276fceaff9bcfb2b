package guardgrpc_test

// End-to-end tests: ztkit's gRPC client credentials (dpopgrpc, jwtsvidgrpc)
// against its server interceptors (guardgrpc), over real gRPC on loopback
// with SPIFFE mTLS, with no hand-made peer on either side.

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffegrpc/grpccredentials"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/jwtsvidgrpc"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/guard/guardgrpc"
	"github.com/ztkit/ztkit/internal/test/refusaltest"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/dpopgrpc"
)

// wire records the credentials metadata of every call the server receives,
// before the guard sees it.
type wire struct {
	mu    sync.Mutex
	calls []metadata.MD
}

func (w *wire) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, metadata.MD{"authorization": md.Get("authorization"), "dpop": md.Get("dpop")})
}

// seen returns the metadata of the calls received so far.
func (w *wire) seen() []metadata.MD {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]metadata.MD(nil), w.calls...)
}

func (w *wire) serverOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			w.record(ctx)
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			w.record(ss.Context())
			return h(srv, ss)
		}),
	}
}

// chatMethod is a bidi stream that answers each request with a response.
const chatMethod = "/test.Echo/Chat"

var chatDesc = &grpc.StreamDesc{StreamName: "Chat", ServerStreams: true, ClientStreams: true}

// chatService is the service of chatMethod; its handler reports the
// principal to h and sends the stream's header before it reads, so that a
// client may wait for the header before it sends.
func chatService(h *health) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "test.Echo",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{
			StreamName: chatDesc.StreamName, ServerStreams: true, ClientStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error {
				h.report(ss.Context())
				if err := ss.SendHeader(nil); err != nil {
					return err
				}
				for {
					var req grpc_health_v1.HealthCheckRequest
					if err := ss.RecvMsg(&req); err != nil {
						if errors.Is(err, io.EOF) {
							return nil
						}
						return err
					}
					if err := ss.SendMsg(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}); err != nil {
						return err
					}
				}
			},
		}},
	}
}

// e2eServer is the guarded health service on a real loopback gRPC server.
type e2eServer struct {
	addr    string
	health  *health
	wire    *wire
	metrics *sdkmetric.ManualReader
}

// startE2E serves the health service over creds, guarded by a with gopts.
func startE2E(t *testing.T, a *authn.Authenticator, creds credentials.TransportCredentials, gopts ...guard.Option) *e2eServer {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	g, err := guard.New(a, append([]guard.Option{
		guard.WithRealm(refusaltest.Realm), guard.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
	}, gopts...)...)
	require.NoError(t, err)
	ics, err := guardgrpc.New(g)
	require.NoError(t, err)
	w := &wire{}
	// The recorder is the outermost interceptor: it sees every call, the
	// ones the guard refuses included.
	srv := grpc.NewServer(append(append(w.serverOptions(), ics.ServerOptions()...), grpc.Creds(creds))...)
	h := &health{seen: make(chan *authn.Principal, 16)}
	grpc_health_v1.RegisterHealthServer(srv, h)
	srv.RegisterService(chatService(h), nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return &e2eServer{addr: lis.Addr().String(), health: h, wire: w, metrics: reader}
}

// dialConn is dial's connection.
func (s *e2eServer) dialConn(t *testing.T, creds credentials.TransportCredentials, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+s.addr, append(opts, grpc.WithTransportCredentials(creds), grpc.WithAuthority(authority))...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, conn.Close()) })
	return conn
}

// dial connects to s over creds with the extra dial options, as the
// service's external authority.
func (s *e2eServer) dial(t *testing.T, creds credentials.TransportCredentials, opts ...grpc.DialOption) grpc_health_v1.HealthClient {
	t.Helper()
	return grpc_health_v1.NewHealthClient(s.dialConn(t, creds, opts...))
}

// served returns the principal the handler saw, and whether it ran.
func (s *e2eServer) served() (*authn.Principal, bool) {
	return (&shop{health: s.health}).served()
}

// decisions is how many calls the guard has decided on.
func (s *e2eServer) decisions(t *testing.T) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, s.metrics.Collect(t.Context(), &rm))
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "ztkit.authn.decisions" {
				for _, dp := range sum.DataPoints {
					n += dp.Value
				}
			}
		}
	}
	return n
}

// watch opens a Watch stream and reads it to its end: the replies, and the
// stream's error (nil at a clean end).
func watch(ctx context.Context, c grpc_health_v1.HealthClient) (int, error) {
	stream, err := c.Watch(ctx, &grpc_health_v1.HealthCheckRequest{})
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		if _, err := stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		n++
	}
}

// assertStatus checks that err is a status of code whose ErrorInfo has
// the domain ztkit and reason, when not "", and that neither the error's
// text nor its details carry any of secrets.
func assertStatus(t *testing.T, err error, code codes.Code, reason guard.Reason, secrets ...string) {
	t.Helper()
	require.Error(t, err)
	st, ok := status.FromError(err)
	require.True(t, ok, "the error is a gRPC status")
	assert.Equal(t, code, st.Code())
	info := errorInfo(t, st)
	assert.Equal(t, guardgrpc.Domain, info.GetDomain())
	if reason != "" {
		assert.Equal(t, strings.ToUpper(string(reason)), info.GetReason())
		assert.Equal(t, map[string]string{"code": string(reason)}, info.GetMetadata())
	} else {
		assert.NotEmpty(t, info.GetMetadata()["code"])
		assert.Equal(t, strings.ToUpper(info.GetMetadata()["code"]), info.GetReason())
	}
	for _, s := range secrets {
		require.NotEmpty(t, s)
		assert.False(t, strings.Contains(err.Error(), s), "the error text leaks a credential")
		assert.False(t, strings.Contains(info.String(), s), "the status details leak a credential")
	}
}

// dpopRig is a payments service that requires DPoP-bound tokens with server
// nonces from the checkout workload over SPIFFE mTLS, and the checkout's
// DPoP client credentials for a customer token.
type dpopRig struct {
	tokens *shoprig.Tokens
	pki    *pki
	nonces *dpop.Nonces
	token  string
	creds  *dpopgrpc.PerRPCCredentials
}

func newDPoPRig(t *testing.T) *dpopRig {
	t.Helper()
	r := &dpopRig{tokens: shoprig.NewTokens(t), pki: newPKI(t)}
	var err error
	r.nonces, err = dpop.NewNonces([]byte("a 32-byte nonce secret for tests"), dpop.WithNonceClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	// A real token from the authorization server, bound to the client's proofer key.
	r.token = r.tokens.Token(t, nil)
	r.creds = r.newCreds(t)
	return r
}

// newCreds returns fresh client credentials, which know no nonce yet.
func (r *dpopRig) newCreds(t *testing.T) *dpopgrpc.PerRPCCredentials {
	t.Helper()
	c, err := dpopgrpc.NewPerRPCCredentials(shoprig.StaticToken(r.token), r.tokens.Proofer)
	require.NoError(t, err)
	return c
}

// start serves payments: mTLS from any workload of the trust domain at the
// TLS layer, the peer policy peers and DPoP-bound tokens at the guard.
func (r *dpopRig) start(t *testing.T, peers authn.IDMatcher, gopts ...guard.Option) *e2eServer {
	t.Helper()
	bundle := r.pki.iss.X509Bundle()
	rv := r.tokens.RequestVerifier(t, externalURL, nil, []dpop.VerifierOption{dpop.WithNonces(r.nonces)})
	a, err := authn.New(authn.Policy{Peer: peers, Token: authn.DPoPBoundToken}, authn.WithX509Bundles(bundle), authn.WithAccessTokens(rv))
	require.NoError(t, err)
	creds := grpccredentials.MTLSServerCredentials(shoprig.SVID(t, r.pki.iss, shoprig.Payments), bundle, tlsconfig.AuthorizeMemberOf(shoprig.TrustDomain))
	return startE2E(t, a, creds, append([]guard.Option{guard.WithNonces(r.nonces)}, gopts...)...)
}

// mtls is the transport credentials of workload id, checking that the
// server is payments.
func (r *dpopRig) mtls(t *testing.T, id spiffeid.ID) credentials.TransportCredentials {
	t.Helper()
	return grpccredentials.MTLSClientCredentials(shoprig.SVID(t, r.pki.iss, id), r.pki.iss.X509Bundle(), tlsconfig.AuthorizeID(shoprig.Payments))
}

// TestE2EDPoP: the checkout calls payments with dpopgrpc's credentials and
// interceptors over SPIFFE mTLS; the guard asks for a nonce on the first
// call, the client retries once with it, and the handler sees the
// principal.
func TestE2EDPoP(t *testing.T) {
	r := newDPoPRig(t)
	s := r.start(t, authn.MatchID(shoprig.Checkout))
	client := s.dial(t, r.mtls(t, shoprig.Checkout), r.creds.DialOptions()...)

	var header metadata.MD
	resp, err := client.Check(shoprig.Context(t), &grpc_health_v1.HealthCheckRequest{}, grpc.Header(&header))
	require.NoError(t, err)
	assert.Equal(t, grpc_health_v1.HealthCheckResponse_SERVING, resp.GetStatus())
	assert.Equal(t, []string{r.nonces.Current()}, header.Get("dpop-nonce"))

	// Two calls reached the server: the first without a nonce, refused;
	// the retry with it, served. Each with a single proof, a fresh one.
	calls := s.wire.seen()
	require.Len(t, calls, 2, "the client retries once, transparently")
	for _, md := range calls {
		assert.Equal(t, []string{"DPoP " + r.token}, md.Get("authorization"))
		require.Len(t, md.Get("dpop"), 1)
	}
	assert.NotEqual(t, calls[0].Get("dpop"), calls[1].Get("dpop"), "the retry carries a fresh proof")
	assert.Equal(t, int64(2), s.decisions(t))

	pr, ran := s.served()
	require.True(t, ran, "the handler ran once")
	require.NotNil(t, pr)
	assert.Equal(t, shoprig.Checkout, pr.Peer)
	assert.Equal(t, shoprig.ClientID, pr.ClientID)
	assert.Equal(t, shoprig.Subject, pr.Subject)
	assert.Equal(t, authn.BoundToDPoPKey, pr.Binding)
	assert.Equal(t, r.tokens.Proofer.Thumbprint(), pr.KeyThumbprint)
	assert.True(t, pr.Has(authn.MethodMTLS))
	assert.True(t, pr.Has(authn.MethodDPoP))
	_, ran = s.served()
	assert.False(t, ran, "the refused first attempt never reached the handler")

	t.Run("next call needs no retry", func(t *testing.T) {
		_, err := client.Check(shoprig.Context(t), &grpc_health_v1.HealthCheckRequest{})
		require.NoError(t, err)
		assert.Len(t, s.wire.seen(), 3)
		_, ran := s.served()
		assert.True(t, ran)
	})

	t.Run("stream authenticated once", func(t *testing.T) {
		before, calls := s.decisions(t), len(s.wire.seen())
		n, err := watch(shoprig.Context(t), client)
		require.NoError(t, err)
		assert.Equal(t, watchReplies, n)
		assert.Equal(t, before+1, s.decisions(t), "one decision for the whole stream")
		assert.Len(t, s.wire.seen(), calls+1)
		pr, ran := s.served()
		require.True(t, ran)
		require.NotNil(t, pr)
		assert.Equal(t, shoprig.Checkout, pr.Peer)
		assert.Equal(t, authn.BoundToDPoPKey, pr.Binding)
	})

	t.Run("stream first, without a nonce", func(t *testing.T) {
		// A server-streaming call sends its request before it reads, so the
		// use_dpop_nonce refusal cannot be retried transparently; the nonce
		// is remembered and the stream opened again succeeds (dpopgrpc doc).
		creds := r.newCreds(t)
		client := s.dial(t, r.mtls(t, shoprig.Checkout), creds.DialOptions()...)
		_, err := watch(shoprig.Context(t), client)
		require.Error(t, err)
		assert.ErrorIs(t, err, dpopgrpc.ErrNonceRetryImpossible)
		assertStatus(t, err, codes.Unauthenticated, guard.ReasonNonceRequired, r.token)
		_, ran := s.served()
		assert.False(t, ran)

		n, err := watch(shoprig.Context(t), client)
		require.NoError(t, err)
		assert.Equal(t, watchReplies, n)
		_, ran = s.served()
		assert.True(t, ran)
	})

	t.Run("bidi stream, nonce retried at its start", func(t *testing.T) {
		// A bidi stream whose client reads the header before sending is
		// opened again transparently on use_dpop_nonce (dpopgrpc doc).
		creds := r.newCreds(t)
		conn := s.dialConn(t, r.mtls(t, shoprig.Checkout), creds.DialOptions()...)
		before, calls := s.decisions(t), len(s.wire.seen())
		chat, err := conn.NewStream(shoprig.Context(t), chatDesc, chatMethod)
		require.NoError(t, err)
		hdr, err := chat.Header()
		require.NoError(t, err)
		assert.Equal(t, []string{r.nonces.Current()}, hdr.Get("dpop-nonce"), "the header of the stream opened again")
		for range 3 {
			require.NoError(t, chat.SendMsg(&grpc_health_v1.HealthCheckRequest{}))
			var resp grpc_health_v1.HealthCheckResponse
			require.NoError(t, chat.RecvMsg(&resp))
			assert.Equal(t, grpc_health_v1.HealthCheckResponse_SERVING, resp.GetStatus())
		}
		require.NoError(t, chat.CloseSend())
		assert.ErrorIs(t, chat.RecvMsg(&grpc_health_v1.HealthCheckResponse{}), io.EOF)
		assert.Len(t, s.wire.seen(), calls+2, "refused once for the nonce, then opened again")
		assert.Equal(t, before+2, s.decisions(t), "one decision per opening, none per message")
		pr, ran := s.served()
		require.True(t, ran)
		require.NotNil(t, pr)
		assert.Equal(t, shoprig.Checkout, pr.Peer)
		_, ran = s.served()
		assert.False(t, ran)
	})
}

// TestE2ERefusals: what a dpopgrpc client sees when the guard refuses.
func TestE2ERefusals(t *testing.T) {
	r := newDPoPRig(t)

	t.Run("policy denial", func(t *testing.T) {
		az, err := authz.AuthorizePolicy(authz.Policy{Rules: []authz.Rule{{
			ID: "health check", Effect: authz.Allow, Routes: []string{"POST " + checkMethod},
			Match: authz.Match{ClientIDs: []string{shoprig.ClientID}},
		}}})
		require.NoError(t, err)
		s := r.start(t, authn.MatchID(shoprig.Checkout), guard.WithAuthorizer(az))
		client := s.dial(t, r.mtls(t, shoprig.Checkout), r.creds.DialOptions()...)

		_, err = client.Check(shoprig.Context(t), &grpc_health_v1.HealthCheckRequest{})
		require.NoError(t, err)
		_, ran := s.served()
		require.True(t, ran)

		var trailer metadata.MD
		_, err = client.List(shoprig.Context(t), &grpc_health_v1.HealthListRequest{}, grpc.Trailer(&trailer))
		assertStatus(t, err, codes.PermissionDenied, "", r.token)
		assert.Empty(t, trailer.Get("www-authenticate"), "a policy refusal is no challenge")
		_, ran = s.served()
		assert.False(t, ran)
	})

	t.Run("wrong peer", func(t *testing.T) {
		s := r.start(t, authn.MatchID(shoprig.Checkout))
		client := s.dial(t, r.mtls(t, shoprig.Storefront), r.creds.DialOptions()...)
		var trailer metadata.MD
		_, err := client.Check(shoprig.Context(t), &grpc_health_v1.HealthCheckRequest{}, grpc.Trailer(&trailer))
		assertStatus(t, err, codes.PermissionDenied, guard.ReasonPeerForbidden, r.token)
		assert.Empty(t, trailer.Get("www-authenticate"))
		_, ran := s.served()
		assert.False(t, ran)

		_, err = watch(shoprig.Context(t), client)
		assertStatus(t, err, codes.PermissionDenied, guard.ReasonPeerForbidden, r.token)
		_, ran = s.served()
		assert.False(t, ran)
	})

	t.Run("authority the server does not serve", func(t *testing.T) {
		// Dialed by address: the :authority, and so the proof's htu, name
		// 127.0.0.1:port, not the service's external URL.
		s := r.start(t, authn.MatchID(shoprig.Checkout))
		conn, err := grpc.NewClient("passthrough:///"+s.addr, append(r.creds.DialOptions(), grpc.WithTransportCredentials(r.mtls(t, shoprig.Checkout)))...)
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, conn.Close()) })
		var trailer metadata.MD
		_, err = grpc_health_v1.NewHealthClient(conn).Check(shoprig.Context(t), &grpc_health_v1.HealthCheckRequest{}, grpc.Trailer(&trailer))
		assertStatus(t, err, codes.InvalidArgument, guard.ReasonMisdirected, r.token)
		assert.Len(t, s.wire.seen(), 1, "not retried")
		_, ran := s.served()
		assert.False(t, ran)
	})

	t.Run("replayed proof", func(t *testing.T) {
		s := r.start(t, authn.MatchID(shoprig.Checkout))
		conn := r.mtls(t, shoprig.Checkout)
		client := s.dial(t, conn, r.creds.DialOptions()...)
		_, err := client.Check(shoprig.Context(t), &grpc_health_v1.HealthCheckRequest{})
		require.NoError(t, err)
		_, ran := s.served()
		require.True(t, ran)
		calls := s.wire.seen()
		require.NotEmpty(t, calls)
		accepted := calls[len(calls)-1] // the call the guard let through

		// A connection without the client credentials: the metadata goes
		// out exactly as given.
		bare := s.dial(t, conn)
		for name, md := range map[string]metadata.MD{
			"the accepted call's metadata": accepted,
			"a hand-made proof sent twice": func() metadata.MD {
				c := refusaltest.Authorization("DPoP", r.token,
					r.tokens.Proof(t, "POST", externalURL+checkMethod, r.token, r.nonces.Current()))
				md := metadata.MD{"authorization": c.Authorization, "dpop": c.DPoP}
				_, err := bare.Check(metadata.NewOutgoingContext(shoprig.Context(t), md), &grpc_health_v1.HealthCheckRequest{})
				require.NoError(t, err, "the first use of the proof")
				_, ran := s.served()
				require.True(t, ran)
				return md
			}(),
		} {
			t.Run(name, func(t *testing.T) {
				var trailer metadata.MD
				_, err := bare.Check(metadata.NewOutgoingContext(shoprig.Context(t), md), &grpc_health_v1.HealthCheckRequest{}, grpc.Trailer(&trailer))
				assertStatus(t, err, codes.Unauthenticated, guard.ReasonProofReplayed, r.token, md.Get("dpop")[0])
				assert.Equal(t, []string{refusaltest.DPoPChallenge("invalid_dpop_proof")}, trailer.Get("www-authenticate"))
				_, ran := s.served()
				assert.False(t, ran)
			})
		}
	})
}

// TestE2EJWTSVID: a workload behind a proxy calls with jwtsvidgrpc's
// credentials a guard whose policy takes JWT-SVIDs for its audience.
func TestE2EJWTSVID(t *testing.T) {
	p := newPKI(t)
	audience := shoprig.Payments.String()
	require.NoError(t, p.iss.Register(shoprig.Checkout))
	js, err := workloadapi.NewJWTSource(shoprig.Context(t), workloadapi.WithClientOptions(workloadapi.WithAddr(p.iss.Addr())))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, js.Close()) })

	a, err := authn.New(authn.Policy{Token: authn.JWTSVID}, authn.WithJWTSVIDs(p.iss.JWTBundle(), audience))
	require.NoError(t, err)
	// TLS without client certificates: the mTLS peer would be the proxy.
	s := startE2E(t, a, p.payment)

	t.Run("for the audience", func(t *testing.T) {
		creds, err := jwtsvidgrpc.NewPerRPCCredentials(js, audience)
		require.NoError(t, err)
		client := s.dial(t, p.clientTLS(nil), grpc.WithPerRPCCredentials(creds))
		_, err = client.Check(shoprig.Context(t), &grpc_health_v1.HealthCheckRequest{})
		require.NoError(t, err)
		pr, ran := s.served()
		require.True(t, ran)
		require.NotNil(t, pr)
		assert.Equal(t, shoprig.Checkout, pr.Workload)
		assert.True(t, pr.Peer.IsZero())
		assert.True(t, pr.Has(authn.MethodJWTSVID))

		n, err := watch(shoprig.Context(t), client)
		require.NoError(t, err)
		assert.Equal(t, watchReplies, n)
		_, ran = s.served()
		assert.True(t, ran)
	})

	t.Run("for another audience", func(t *testing.T) {
		other := spiffeid.RequireFromPath(shoprig.TrustDomain, "/inventory").String()
		creds, err := jwtsvidgrpc.NewPerRPCCredentials(js, other)
		require.NoError(t, err)
		client := s.dial(t, p.clientTLS(nil), grpc.WithPerRPCCredentials(creds))
		var trailer metadata.MD
		_, err = client.Check(shoprig.Context(t), &grpc_health_v1.HealthCheckRequest{}, grpc.Trailer(&trailer))
		calls := s.wire.seen()
		require.NotEmpty(t, calls)
		sent := calls[len(calls)-1].Get("authorization")
		require.Len(t, sent, 1)
		require.True(t, strings.HasPrefix(sent[0], "Bearer "), "jwtsvidgrpc sends a Bearer JWT-SVID")
		assertStatus(t, err, codes.Unauthenticated, guard.ReasonJWTSVIDInvalid, strings.TrimPrefix(sent[0], "Bearer "))
		assert.NotEmpty(t, trailer.Get("www-authenticate"))
		_, ran := s.served()
		assert.False(t, ran)
	})
}
