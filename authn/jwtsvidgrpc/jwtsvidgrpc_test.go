package jwtsvidgrpc_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/jwtsvidgrpc"
	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/internal/test/shoprig"
)

var audience = shoprig.Payments.String()

// server is a real gRPC server on loopback with server-only TLS (the
// client's mTLS peer would be a proxy), serving the health service behind
// an interceptor that authenticates each call's JWT-SVID with an
// authn.Authenticator and records the caller.
type server struct {
	addr string
	mu   sync.Mutex
	ids  []spiffeid.ID
	errs []error
}

func startServer(tb testing.TB, iss *spiffetest.Issuer, creds credentials.TransportCredentials) *server {
	tb.Helper()
	a, err := authn.New(authn.Policy{Token: authn.JWTSVID}, authn.WithJWTSVIDs(iss.JWTBundle(), audience))
	require.NoError(tb, err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	s := &server{addr: lis.Addr().String()}
	if creds == nil {
		cert := shoprig.Certificate(shoprig.SVID(tb, iss, shoprig.Payments))
		creds = credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS13})
	}
	gs := grpc.NewServer(grpc.Creds(creds), grpc.UnaryInterceptor(
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			p, err := a.AuthenticateInbound(ctx, &inbound.Request{Method: "POST", Path: info.FullMethod, Authorization: md.Get("authorization")})
			s.mu.Lock()
			s.errs = append(s.errs, err)
			if err == nil {
				s.ids = append(s.ids, p.Workload)
			}
			s.mu.Unlock()
			if err != nil {
				return nil, status.Error(codes.Unauthenticated, "not authenticated")
			}
			return h(ctx, req)
		}))
	healthpb.RegisterHealthServer(gs, health.NewServer())
	go func() { _ = gs.Serve(lis) }()
	tb.Cleanup(gs.Stop)
	return s
}

func (s *server) seen() ([]spiffeid.ID, []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]spiffeid.ID(nil), s.ids...), append([]error(nil), s.errs...)
}

// countingSource counts fetches of a jwtsvid.Source and fails while fail
// is set.
type countingSource struct {
	jwtsvid.Source
	fetches atomic.Int64
	fail    atomic.Bool
}

var errAgentDown = errors.New("workload API unreachable")

func (s *countingSource) FetchJWTSVID(ctx context.Context, p jwtsvid.Params) (*jwtsvid.SVID, error) {
	s.fetches.Add(1)
	if s.fail.Load() {
		return nil, errAgentDown
	}
	return s.Source.FetchJWTSVID(ctx, p)
}

// clock is a settable clock.
type clock struct{ d atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.d.Load())) }
func (c *clock) advance(d time.Duration) { c.d.Add(int64(d)) }

// rig is an issuer that serves the checkout's JWT-SVIDs over the Workload
// API, and a server of payments.
type rig struct {
	iss *spiffetest.Issuer
	src *countingSource
	srv *server
}

func newRig(tb testing.TB) *rig {
	tb.Helper()
	iss := shoprig.NewIssuer(tb, shoprig.TrustDomain)
	require.NoError(tb, iss.Register(shoprig.Checkout))
	js, err := workloadapi.NewJWTSource(shoprig.Context(tb), workloadapi.WithClientOptions(workloadapi.WithAddr(iss.Addr())))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = js.Close() })
	return &rig{iss: iss, src: &countingSource{Source: js}, srv: startServer(tb, iss, nil)}
}

func (r *rig) dial(tb testing.TB, c credentials.PerRPCCredentials) *grpc.ClientConn {
	tb.Helper()
	tlsCreds := credentials.NewTLS(shoprig.ClientTLS(nil, r.iss.X509Bundle(), shoprig.Payments))
	conn, err := grpc.NewClient(r.srv.addr, grpc.WithTransportCredentials(tlsCreds), grpc.WithPerRPCCredentials(c))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}

func check(tb testing.TB, conn *grpc.ClientConn) error {
	tb.Helper()
	_, err := healthpb.NewHealthClient(conn).Check(shoprig.Context(tb), &healthpb.HealthCheckRequest{})
	return err
}

// TestCallsCarryJWTSVID: the server authenticates the checkout by its
// JWT-SVID on every call; the JWT-SVID is fetched once and reused.
func TestCallsCarryJWTSVID(t *testing.T) {
	r := newRig(t)
	c, err := jwtsvidgrpc.NewPerRPCCredentials(r.src, audience)
	require.NoError(t, err)
	conn := r.dial(t, c)
	for range 3 {
		require.NoError(t, check(t, conn))
	}
	ids, errs := r.srv.seen()
	assert.Equal(t, []spiffeid.ID{shoprig.Checkout, shoprig.Checkout, shoprig.Checkout}, ids)
	for _, err := range errs {
		assert.NoError(t, err)
	}
	assert.EqualValues(t, 1, r.src.fetches.Load(), "cached until renewal is due")
}

// TestRenewal: the JWT-SVID is renewed after two thirds of its lifetime; a
// failed renewal keeps the current one until it expires, then fails the
// call with ErrSVIDUnavailable wrapping the source's error.
func TestRenewal(t *testing.T) {
	r := newRig(t)
	var clk clock
	c, err := jwtsvidgrpc.NewPerRPCCredentials(r.src, audience, jwtsvidgrpc.WithClock(clk.now))
	require.NoError(t, err)
	conn := r.dial(t, c)

	require.NoError(t, check(t, conn))
	clk.advance(spiffetest.DefaultJWTSVIDTTL / 2)
	require.NoError(t, check(t, conn))
	assert.EqualValues(t, 1, r.src.fetches.Load(), "not due before two thirds")

	clk.advance(spiffetest.DefaultJWTSVIDTTL / 4) // three quarters
	require.NoError(t, check(t, conn))
	assert.EqualValues(t, 2, r.src.fetches.Load(), "renewed")

	// The renewed JWT-SVID (issued on the real clock) has a quarter of the
	// TTL left on ours, and is due after two thirds of that.
	r.src.fail.Store(true)
	clk.advance(spiffetest.DefaultJWTSVIDTTL / 5) // due, still valid
	require.NoError(t, check(t, conn), "a failed renewal keeps the current JWT-SVID")
	assert.EqualValues(t, 3, r.src.fetches.Load())

	clk.advance(spiffetest.DefaultJWTSVIDTTL) // expired
	err = check(t, conn)
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	_, err = c.GetRequestMetadata(secureContext(t))
	assert.ErrorIs(t, err, jwtsvidgrpc.ErrSVIDUnavailable)
	assert.ErrorIs(t, err, errAgentDown)

	r.src.fail.Store(false)
	clk.d.Store(0) // back to the issuer's clock
	require.NoError(t, check(t, conn), "recovers once the source does")
}

func secureContext(tb testing.TB) context.Context {
	tb.Helper()
	return credentials.NewContextWithRequestInfo(tb.Context(), credentials.RequestInfo{
		Method:   "/grpc.health.v1.Health/Check",
		AuthInfo: credentials.TLSInfo{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}},
	})
}

// fixedSource returns svid, or err.
type fixedSource struct {
	svid *jwtsvid.SVID
	err  error
}

func (s fixedSource) FetchJWTSVID(context.Context, jwtsvid.Params) (*jwtsvid.SVID, error) {
	return s.svid, s.err
}

// TestUnusableSVID: a JWT-SVID that is expired, for another audience, of
// another subject or empty is never sent.
func TestUnusableSVID(t *testing.T) {
	r := newRig(t)
	svid, err := r.src.FetchJWTSVID(shoprig.Context(t), jwtsvid.Params{Audience: audience})
	require.NoError(t, err)
	expired := *svid
	expired.Expiry = time.Now().Add(-time.Second)
	other := *svid
	other.Audience = []string{"spiffe://shop.example/other"}
	for _, tc := range []struct {
		name string
		src  jwtsvid.Source
		opts []jwtsvidgrpc.Option
	}{
		{"source error", fixedSource{err: errAgentDown}, nil},
		{"no SVID", fixedSource{}, nil},
		{"expired", fixedSource{svid: &expired}, nil},
		{"other audience", fixedSource{svid: &other}, nil},
		{"other subject", fixedSource{svid: svid}, []jwtsvidgrpc.Option{jwtsvidgrpc.WithSubject(shoprig.Storefront)}},
		{"empty token", fixedSource{svid: &jwtsvid.SVID{ID: shoprig.Checkout, Audience: []string{audience}, Expiry: time.Now().Add(time.Hour)}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := jwtsvidgrpc.NewPerRPCCredentials(tc.src, audience, tc.opts...)
			require.NoError(t, err)
			md, err := c.GetRequestMetadata(secureContext(t))
			assert.ErrorIs(t, err, jwtsvidgrpc.ErrSVIDUnavailable)
			assert.True(t, md == nil, "metadata made") // never print md: it holds the JWT-SVID
			if err != nil && strings.Contains(err.Error(), svid.Marshal()) {
				t.Error("the error carries the JWT-SVID")
			}
		})
	}
	c, err := jwtsvidgrpc.NewPerRPCCredentials(fixedSource{svid: svid}, audience, jwtsvidgrpc.WithSubject(shoprig.Checkout))
	require.NoError(t, err)
	md, err := c.GetRequestMetadata(secureContext(t))
	require.NoError(t, err)
	assert.True(t, md["authorization"] == "Bearer "+svid.Marshal(), "the subject's JWT-SVID is sent as Bearer")
	assert.Len(t, md, 1)
}

// TestRequireTransportSecurity: a JWT-SVID never travels without TLS, nor
// beside another authorization value.
func TestRequireTransportSecurity(t *testing.T) {
	r := newRig(t)
	c, err := jwtsvidgrpc.NewPerRPCCredentials(r.src, audience)
	require.NoError(t, err)
	assert.True(t, c.RequireTransportSecurity())

	_, err = grpc.NewClient(r.srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(c))
	assert.Error(t, err, "grpc-go refuses the dial")

	plain := startServer(t, r.iss, insecure.NewCredentials())
	conn, err := grpc.NewClient(plain.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = healthpb.NewHealthClient(conn).Check(shoprig.Context(t), &healthpb.HealthCheckRequest{}, grpc.PerRPCCredentials(c))
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	_, errs := plain.seen()
	assert.Empty(t, errs, "nothing reached the server")

	_, err = c.GetRequestMetadata(t.Context())
	assert.ErrorIs(t, err, jwtsvidgrpc.ErrInsecureTransport)
	_, err = c.GetRequestMetadata(metadata.AppendToOutgoingContext(secureContext(t), "authorization", "Bearer x"))
	assert.ErrorIs(t, err, jwtsvidgrpc.ErrConflictingMetadata)
	assert.EqualValues(t, 0, r.src.fetches.Load(), "no JWT-SVID fetched for a refused call")
}

// TestNewPerRPCCredentials: a source and an audience are required; a zero
// PerRPCCredentials refuses; the credentials print as [REDACTED].
func TestNewPerRPCCredentials(t *testing.T) {
	_, err := jwtsvidgrpc.NewPerRPCCredentials(nil, audience)
	assert.ErrorIs(t, err, jwtsvidgrpc.ErrInvalidConfig)
	_, err = jwtsvidgrpc.NewPerRPCCredentials(fixedSource{}, "")
	assert.ErrorIs(t, err, jwtsvidgrpc.ErrInvalidConfig)
	var zero jwtsvidgrpc.PerRPCCredentials
	_, err = zero.GetRequestMetadata(secureContext(t))
	assert.ErrorIs(t, err, jwtsvidgrpc.ErrInvalidConfig)
	c, err := jwtsvidgrpc.NewPerRPCCredentials(fixedSource{}, audience, nil, jwtsvidgrpc.WithClock(nil))
	require.NoError(t, err)
	assert.Equal(t, "[REDACTED]", fmt.Sprint(c))
	assert.Equal(t, "[REDACTED]", fmt.Sprintf("%#v", c))
}

// TestConcurrentCalls: calls share one JWT-SVID safely (run with -race).
func TestConcurrentCalls(t *testing.T) {
	r := newRig(t)
	c, err := jwtsvidgrpc.NewPerRPCCredentials(r.src, audience)
	require.NoError(t, err)
	conn := r.dial(t, c)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				assert.NoError(t, check(t, conn))
			}
		}()
	}
	wg.Wait()
	ids, _ := r.srv.seen()
	assert.Len(t, ids, 32)
	assert.EqualValues(t, 1, r.src.fetches.Load())
}
