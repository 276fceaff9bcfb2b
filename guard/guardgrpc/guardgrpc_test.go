package guardgrpc_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffegrpc/grpccredentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/guard/guardgrpc"
	"github.com/ztkit/ztkit/internal/test/refusaltest"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/dpopgrpc"
)

const (
	// authority is the authority of the service's external URL.
	authority   = "payments.shop.example"
	externalURL = "https://" + authority
	checkMethod = "/grpc.health.v1.Health/Check"
	watchMethod = "/grpc.health.v1.Health/Watch"
	listMethod  = "/grpc.health.v1.Health/List"
	// watchReplies is how many messages a Watch stream sends.
	watchReplies = 3
)

// health is the service under test: grpc.health.v1.Health, whose handlers
// report the principal in their context.
type health struct {
	grpc_health_v1.UnimplementedHealthServer
	seen chan *authn.Principal
}

func (h *health) report(ctx context.Context) {
	p, _ := authn.PrincipalFromContext(ctx)
	h.seen <- p
}

func (h *health) Check(ctx context.Context, _ *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	h.report(ctx)
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

func (h *health) Watch(_ *grpc_health_v1.HealthCheckRequest, s grpc_health_v1.Health_WatchServer) error {
	h.report(s.Context())
	for range watchReplies {
		if err := s.Send(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}); err != nil {
			return err
		}
	}
	return nil
}

// options configure a test server and its client.
type options struct {
	gopts []guard.Option
	iopts []guardgrpc.Option
	sopts []grpc.ServerOption
	// server and client are the transport credentials; server TLS with the
	// payments SVID and a client that verifies it, without client
	// certificates, when nil.
	server, client credentials.TransportCredentials
	// authority is the client's :authority; the external URL's when "".
	authority string
}

// shop is the guarded health service on a real loopback gRPC server, with a
// client connection to it.
type shop struct {
	health *health
	client grpc_health_v1.HealthClient
}

// pki is the trust domain's SPIFFE issuer and the payments server's SVID.
type pki struct {
	iss     *spiffetest.Issuer
	payment credentials.TransportCredentials
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
	return &pki{iss: iss, payment: grpccredentials.TLSServerCredentials(shoprig.SVID(t, iss, shoprig.Payments))}
}

// clientTLS is a client that verifies the payments SVID and presents cert,
// when not nil.
func (p *pki) clientTLS(cert *tls.Certificate) credentials.TransportCredentials {
	return credentials.NewTLS(shoprig.ClientTLS(cert, p.iss.X509Bundle(), shoprig.Payments))
}

// start serves the health service guarded by a and o on loopback.
func start(t *testing.T, p *pki, a *authn.Authenticator, o options) *shop {
	t.Helper()
	g, err := guard.New(a, append([]guard.Option{guard.WithRealm(refusaltest.Realm), guard.WithMeterProvider(metricnoop.NewMeterProvider())}, o.gopts...)...)
	require.NoError(t, err)
	ics, err := guardgrpc.New(g, o.iopts...)
	require.NoError(t, err)
	creds := o.server
	if creds == nil {
		creds = p.payment
	}
	srv := grpc.NewServer(append(append(ics.ServerOptions(), grpc.Creds(creds)), o.sopts...)...)
	h := &health{seen: make(chan *authn.Principal, 16)}
	grpc_health_v1.RegisterHealthServer(srv, h)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	clientCreds := o.client
	if clientCreds == nil {
		clientCreds = p.clientTLS(nil)
	}
	auth := o.authority
	if auth == "" {
		auth = authority
	}
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(clientCreds), grpc.WithAuthority(auth))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, conn.Close()) })
	return &shop{health: h, client: grpc_health_v1.NewHealthClient(conn)}
}

// outgoing is a context whose outgoing metadata carries c.
func outgoing(ctx context.Context, c refusaltest.Credentials) context.Context {
	md := metadata.MD{}
	if len(c.Authorization) > 0 {
		md.Append("authorization", c.Authorization...)
	}
	if len(c.DPoP) > 0 {
		md.Append("dpop", c.DPoP...)
	}
	return metadata.NewOutgoingContext(ctx, md)
}

// answer is what a client sees of a call.
type answer struct {
	err             error
	header, trailer metadata.MD
	replies         int
}

// call makes a call of method (Check or Watch) with c and reads the whole answer.
func (s *shop) call(t *testing.T, method string, c refusaltest.Credentials) answer {
	t.Helper()
	ctx := outgoing(t.Context(), c)
	var a answer
	switch method {
	case checkMethod:
		_, a.err = s.client.Check(ctx, &grpc_health_v1.HealthCheckRequest{}, grpc.Header(&a.header), grpc.Trailer(&a.trailer))
	case watchMethod:
		stream, err := s.client.Watch(ctx, &grpc_health_v1.HealthCheckRequest{})
		require.NoError(t, err) // a stream's status comes with its first Recv
		for {
			if _, err := stream.Recv(); err != nil {
				if !errors.Is(err, io.EOF) {
					a.err = err
				}
				break
			}
			a.replies++
		}
		a.header, _ = stream.Header()
		a.trailer = stream.Trailer()
	case listMethod:
		_, a.err = s.client.List(ctx, &grpc_health_v1.HealthListRequest{}, grpc.Header(&a.header), grpc.Trailer(&a.trailer))
	default:
		t.Fatalf("no such method %s", method)
	}
	return a
}

// served returns the principal the handler saw, and whether it ran.
func (s *shop) served() (*authn.Principal, bool) {
	select {
	case p := <-s.health.seen:
		return p, true
	default:
		return nil, false
	}
}

// errorInfo is the ErrorInfo detail of st; it fails the test unless the
// first detail is one and the only other is a RetryInfo, for
// ResourceExhausted alone.
func errorInfo(t *testing.T, st *status.Status) *errdetails.ErrorInfo {
	t.Helper()
	d := st.Details()
	if st.Code() == codes.ResourceExhausted {
		require.Len(t, d, 2)
		_, ok := d[1].(*errdetails.RetryInfo)
		require.True(t, ok, "the second detail is a google.rpc.RetryInfo")
	} else {
		require.Len(t, d, 1)
	}
	info, ok := d[0].(*errdetails.ErrorInfo)
	require.True(t, ok, "the detail is a google.rpc.ErrorInfo")
	return info
}

// assertRefused checks that a is the refusal of class, reason and
// challenges, with the ErrorInfo and metadata the package documents, and
// that it leaks none of secrets.
func assertRefused(t *testing.T, a answer, class guard.Class, reason guard.Reason, challenges []string, secrets ...string) {
	t.Helper()
	require.Error(t, a.err)
	st, ok := status.FromError(a.err)
	require.True(t, ok)
	assert.Equal(t, guardgrpc.Code(class), st.Code())
	assert.NotEmpty(t, st.Message())
	info := errorInfo(t, st)
	assert.Equal(t, "ztkit", info.GetDomain())
	assert.Equal(t, strings.ToUpper(string(reason)), info.GetReason())
	assert.Equal(t, map[string]string{"code": string(reason)}, info.GetMetadata())
	assert.Equal(t, challenges, a.trailer.Get("www-authenticate"))
	for _, s := range secrets {
		assert.NotContains(t, st.Message(), s, "the status leaks a credential")
	}
	for _, internal := range []string{"authn:", "dpop:", "tokens:", "x509svid:", "jwtsvid:", "jose:", shoprig.Subject} {
		assert.NotContains(t, st.Message(), internal, "the status leaks internal error text")
	}
}

// grpcTarget is a shop as the refusal table sees it: a call of method.
type grpcTarget struct {
	s      *shop
	method string
}

func (g grpcTarget) Method() string { return "POST" }
func (g grpcTarget) URI() string    { return externalURL + g.method }

func (g grpcTarget) Accepted(t *testing.T, c refusaltest.Credentials) bool {
	a := g.s.call(t, g.method, c)
	_, ran := g.s.served()
	return a.err == nil && ran
}

// TestInterceptorsRefuse runs the refusal table (package refusaltest) over
// real gRPC with TLS from the SPIFFE issuer, as a unary call and as a
// stream: each case fails with the status code of its class, the ErrorInfo
// of its reason, the exact challenges the HTTP middleware sends, and the
// nonce when one is due; the handler never runs, and the status holds no
// credential or internal error text.
func TestInterceptorsRefuse(t *testing.T) {
	rig := shoprig.NewTokens(t)
	p := newPKI(t)
	nonces, err := dpop.NewNonces([]byte("a 32-byte nonce secret for tests"), dpop.WithNonceClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	for _, method := range []string{checkMethod, watchMethod} {
		t.Run(method, func(t *testing.T) {
			for _, tc := range refusaltest.Cases(t, rig, nonces) {
				t.Run(tc.Name, func(t *testing.T) {
					s := start(t, p, tc.Route.Authenticator(t, rig, externalURL), options{gopts: tc.Route.GuardOptions})
					target := grpcTarget{s: s, method: method}
					c := tc.Credentials(t, target)
					a := s.call(t, method, c)

					assertRefused(t, a, tc.Class, tc.Reason, tc.Challenges, append(c.Authorization, c.DPoP...)...)
					assert.Equal(t, tc.RetryAfter, retryDelay(t, a.err))
					if tc.Nonce {
						assert.Equal(t, []string{nonces.Current()}, a.trailer.Get("dpop-nonce"))
					} else {
						assert.Empty(t, a.trailer.Get("dpop-nonce"))
					}
					adv, err := dpopgrpc.Advise(a.err, a.header, a.trailer)
					require.NoError(t, err)
					if tc.Nonce {
						assert.Equal(t, nonces.Current(), adv.Nonce)
					}
					// No header metadata: a refusal is a trailers-only response.
					assert.Empty(t, a.header)
					assert.Zero(t, a.replies)
					if p, ran := s.served(); ran {
						t.Errorf("a refused call reached the handler with %v", p)
					}
					tc.AssertAdvice(t, target, adv)
				})
			}
		})
	}
}

// TestCode: each class of refusal has its status code; Unavailable is for
// infrastructure alone, and nothing unknown is answered as anything but
// Internal.
func TestCode(t *testing.T) {
	for class, want := range map[guard.Class]codes.Code{
		guard.ClassUnauthenticated:  codes.Unauthenticated,
		guard.ClassPermissionDenied: codes.PermissionDenied,
		guard.ClassBadRequest:       codes.InvalidArgument,
		guard.ClassUnavailable:      codes.Unavailable,
		guard.ClassInternal:         codes.Internal,
		guard.ClassRateLimited:      codes.ResourceExhausted,
		0:                           codes.Internal,
		200:                         codes.Internal,
	} {
		t.Run(class.String(), func(t *testing.T) {
			assert.Equal(t, want, guardgrpc.Code(class))
		})
	}
}

// retryDelay is the retry_delay of the google.rpc.RetryInfo of err's
// status, or 0 when it has none.
func retryDelay(t *testing.T, err error) time.Duration {
	t.Helper()
	st, _ := status.FromError(err)
	var d time.Duration
	for _, det := range st.Details() {
		if ri, ok := det.(*errdetails.RetryInfo); ok {
			require.Zero(t, d, "one RetryInfo")
			d = ri.GetRetryDelay().AsDuration()
		}
	}
	return d
}

// TestStatusRetryInfoNeverWraps checks that the longest wait a Refusal can
// carry gives a RetryInfo of that wait, not a negative or short one.
func TestStatusRetryInfoNeverWraps(t *testing.T) {
	ref := &guard.Refusal{Class: guard.ClassRateLimited, Reason: guard.ReasonRateLimited, Detail: "x", RetryAfter: math.MaxInt64}
	st := guardgrpc.Status(ref)
	var got *errdetails.RetryInfo
	for _, det := range st.Details() {
		if ri, ok := det.(*errdetails.RetryInfo); ok {
			got = ri
		}
	}
	require.NotNil(t, got)
	assert.Equal(t, ref.RetryAfterSeconds(), got.GetRetryDelay().GetSeconds())
	assert.True(t, got.GetRetryDelay().IsValid())
}
