package egressgrpc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/authz/egress"
	"github.com/ztkit/ztkit/authz/egress/egressgrpc"
	"github.com/ztkit/ztkit/internal/test/shoprig"
)

var (
	td         = spiffeid.RequireTrustDomainFromString("shop.test")
	storefront = spiffeid.RequireFromPath(td, "/storefront")
	payments   = spiffeid.RequireFromPath(td, "/payments")
	attacker   = spiffeid.RequireFromPath(td, "/attacker")
	loopback   = netip.MustParseAddr("127.0.0.1")
)

// hosts is a resolver with a fixed table, as /etc/hosts would be.
type hosts map[string][]netip.Addr

func (h hosts) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := h[strings.TrimSuffix(host, ".")]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// server is a real gRPC server with the health service on a loopback
// socket. It counts accepted connections and handled RPCs and records the
// client's SPIFFE ID.
type server struct {
	Port    int
	accepts atomic.Int64
	rpcs    atomic.Int64

	mu     sync.Mutex
	client spiffeid.ID
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func startServer(tb testing.TB, creds credentials.TransportCredentials) *server {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	s := &server{Port: lis.Addr().(*net.TCPAddr).Port}
	gs := grpc.NewServer(grpc.Creds(creds), grpc.UnaryInterceptor(
		func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			s.rpcs.Add(1)
			if p, ok := peer.FromContext(ctx); ok {
				if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.PeerCertificates) > 0 {
					if id, err := x509svid.IDFromCert(info.State.PeerCertificates[0]); err == nil {
						s.mu.Lock()
						s.client = id
						s.mu.Unlock()
					}
				}
			}
			return h(ctx, req)
		}))
	healthpb.RegisterHealthServer(gs, health.NewServer())
	go func() { _ = gs.Serve(countingListener{lis, &s.accepts}) }()
	tb.Cleanup(gs.Stop)
	return s
}

// spiffeServer serves as id over SPIFFE mTLS, accepting only the storefront.
func spiffeServer(tb testing.TB, iss *spiffetest.Issuer, id spiffeid.ID) *server {
	tb.Helper()
	return startServer(tb, credentials.NewTLS(shoprig.ServerTLSConfig(tb, shoprig.SVID(tb, iss, id), iss.X509Bundle(), authn.MatchID(storefront))))
}

func (s *server) clientID() spiffeid.ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client
}

func (s *server) target(host string) string {
	return net.JoinHostPort(host, strconv.Itoa(s.Port))
}

func storefrontDialer(tb testing.TB, iss *spiffetest.Issuer, dests ...egress.Destination) *egress.Dialer {
	tb.Helper()
	list, err := egress.NewList(dests...)
	require.NoError(tb, err)
	d, err := egress.NewDialer(list,
		egress.WithSPIFFE(shoprig.SVID(tb, iss, storefront), iss.X509Bundle()),
		egress.WithResolver(hosts{"payments.test": {loopback}, "evil.test": {loopback}}))
	require.NoError(tb, err)
	return d
}

func check(tb testing.TB, conn *grpc.ClientConn, opts ...grpc.CallOption) (*healthpb.HealthCheckResponse, error) {
	tb.Helper()
	return healthpb.NewHealthClient(conn).Check(shoprig.Context(tb), &healthpb.HealthCheckRequest{}, opts...)
}

func newClient(tb testing.TB, target string, d *egress.Dialer, opts ...grpc.DialOption) *grpc.ClientConn {
	tb.Helper()
	conn, err := egressgrpc.NewClient(target, d, opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}

// requireUnavailable asserts that an RPC failed before reaching the server,
// with the refusal reason in the status message.
func requireUnavailable(tb testing.TB, err error, reason egress.Reason) {
	tb.Helper()
	require.Error(tb, err)
	assert.Equal(tb, codes.Unavailable, status.Code(err), err)
	assert.Contains(tb, status.Convert(err).Message(), "("+string(reason)+")")
}

// TestHealthOverSPIFFE: the expected server is reached over mTLS; the client
// sees the server's verified SPIFFE ID and the server sees the storefront's.
func TestHealthOverSPIFFE(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	srv := spiffeServer(t, iss, payments)
	d := storefrontDialer(t, iss, egress.Destination{Host: "payments.test", Port: srv.Port, Server: authn.MatchID(payments)})

	for _, target := range []string{
		srv.target("payments.test"),
		"dns:///" + srv.target("PAYMENTS.test."),
		"passthrough:///" + srv.target("payments.test"),
	} {
		t.Run(target, func(t *testing.T) {
			conn := newClient(t, target, d)
			var p peer.Peer
			resp, err := check(t, conn, grpc.Peer(&p))
			require.NoError(t, err)
			assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
			info, ok := p.AuthInfo.(egressgrpc.AuthInfo)
			require.True(t, ok, "%T", p.AuthInfo)
			require.NotNil(t, info.SPIFFEID)
			assert.Equal(t, payments.String(), info.SPIFFEID.String())
			assert.Equal(t, egress.Endpoint{Scheme: "https", Host: "payments.test", Port: srv.Port}, info.Endpoint)
			assert.Equal(t, credentials.PrivacyAndIntegrity, info.SecurityLevel)
			assert.Equal(t, storefront, srv.clientID(), "mTLS: the server saw the storefront's SVID")
		})
	}
	assert.Zero(t, d.Refusals())
}

// TestWrongServerID: a server with another SPIFFE ID fails the handshake in
// the dialer; no RPC reaches it.
func TestWrongServerID(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	srv := spiffeServer(t, iss, attacker)
	d := storefrontDialer(t, iss, egress.Destination{Host: "payments.test", Port: srv.Port, Server: authn.MatchID(payments)})
	conn := newClient(t, srv.target("payments.test"), d)

	_, err := check(t, conn)
	requireUnavailable(t, err, egress.ReasonServerIdentity)
	assert.Contains(t, status.Convert(err).Message(), "spiffe://shop.test/attacker")
	assert.Zero(t, srv.rpcs.Load())
	assert.NotZero(t, d.Refusals())
}

// TestNotListedRefusedBeforeDialing: NewClient refuses targets that are not
// listed, or that gRPC would not resolve through the dialer, with a typed
// error and without connecting.
func TestNotListedRefusedBeforeDialing(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	srv := spiffeServer(t, iss, payments)
	d := storefrontDialer(t, iss, egress.Destination{Host: "payments.test", Port: srv.Port, Server: authn.MatchID(payments)})
	p := strconv.Itoa(srv.Port)

	tests := []struct {
		target string
		reason egress.Reason
	}{
		{"evil.test:" + p, egress.ReasonNotListed},
		{"127.0.0.1:" + p, egress.ReasonNotListed},
		{"payments.test", egress.ReasonNotListed}, // port 443
		{"payments.test:1", egress.ReasonNotListed},
		{"dns:///evil.test:" + p, egress.ReasonNotListed},
		{"passthrough:///evil.test:" + p, egress.ReasonNotListed},
		{"dns://8.8.8.8/payments.test:" + p, egress.ReasonInvalidHost},
		{"unix:///run/payments.sock", egress.ReasonScheme},
		{"unix-abstract:payments", egress.ReasonScheme},
		{"payments.test:" + p + ":1", egress.ReasonInvalidHost},
		{"[::ffff:127.0.0.1]:" + p, egress.ReasonNotListed},
		{"", egress.ReasonInvalidHost},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			conn, err := egressgrpc.NewClient(tc.target, d)
			assert.Nil(t, conn)
			require.ErrorIs(t, err, egress.ErrDestinationNotAllowed)
			var de *egress.DestinationError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.reason, de.Reason)
		})
	}
	assert.Equal(t, uint64(len(tests)), d.Refusals())
	assert.Zero(t, srv.accepts.Load())

	_, err := egressgrpc.NewClient(srv.target("payments.test"), nil)
	assert.ErrorIs(t, err, egress.ErrInvalidConfig)
	_, err = egressgrpc.DialOptions(nil)
	assert.ErrorIs(t, err, egress.ErrInvalidConfig)
}

// TestDialOptions: with the options alone, on a client created by
// grpc.NewClient, a target that is not listed fails its RPCs without any
// connection, while a listed one works.
func TestDialOptions(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	srv := spiffeServer(t, iss, payments)
	d := storefrontDialer(t, iss, egress.Destination{Host: "payments.test", Port: srv.Port, Server: authn.MatchID(payments)})
	opts, err := egressgrpc.DialOptions(d)
	require.NoError(t, err)

	for target, reason := range map[string]egress.Reason{
		srv.target("evil.test"):             egress.ReasonNotListed,
		srv.target("127.0.0.1"):             egress.ReasonNotListed,
		"dns:///" + srv.target("evil.test"): egress.ReasonNotListed,
	} {
		conn, err := grpc.NewClient(target, opts...)
		require.NoError(t, err, "grpc.NewClient does not connect")
		_, err = check(t, conn)
		// grpc-go (v1.79) fails the RPC with codes.Unavailable and the
		// resolver's error as text: the reason is in the message.
		requireUnavailable(t, err, reason)
		assert.Contains(t, status.Convert(err).Message(), "destination not allowed")
		require.NoError(t, conn.Close())
	}

	// Another resolver (here a manual one, as xDS or a custom scheme would
	// be) hands addresses straight to the dialer, which refuses them.
	r := manual.NewBuilderWithScheme("lb")
	r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: srv.target("evil.test")}, {Addr: srv.target("127.0.0.1")}}})
	conn, err := grpc.NewClient("lb:///payments", append([]grpc.DialOption{grpc.WithResolvers(r)}, opts...)...)
	require.NoError(t, err)
	_, err = check(t, conn)
	requireUnavailable(t, err, egress.ReasonNotListed)
	require.NoError(t, conn.Close())
	assert.Zero(t, srv.accepts.Load())

	conn, err = grpc.NewClient(srv.target("payments.test"), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = check(t, conn)
	require.NoError(t, err)
}

// TestAuthorityOverride: the :authority is what a shared front end routes
// on, so it must name the dialed endpoint.
func TestAuthorityOverride(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	srv := spiffeServer(t, iss, payments)
	d := storefrontDialer(t, iss, egress.Destination{Host: "payments.test", Port: srv.Port, Server: authn.MatchID(payments)})

	conn := newClient(t, srv.target("payments.test"), d, grpc.WithAuthority("evil.test"))
	_, err := check(t, conn)
	requireUnavailable(t, err, egress.ReasonHostMismatch)
	assert.Zero(t, srv.rpcs.Load())

	conn = newClient(t, srv.target("payments.test"), d, grpc.WithAuthority(srv.target("Payments.Test")))
	_, err = check(t, conn)
	require.NoError(t, err, "the same endpoint, written differently")

	_, err = check(t, conn, grpc.CallAuthority("evil.test"))
	requireUnavailable(t, err, egress.ReasonHostMismatch)
	_, err = check(t, conn, grpc.CallAuthority(srv.target("payments.test")))
	require.NoError(t, err)
	assert.Equal(t, int64(2), srv.rpcs.Load())
}

// TestOptionsOverriddenFailClosed: a context dialer passed after
// DialOptions replaces the egress dialer; the credentials then refuse its
// connections rather than send RPCs over them.
func TestOptionsOverriddenFailClosed(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	srv := spiffeServer(t, iss, payments)
	d := storefrontDialer(t, iss, egress.Destination{Host: "payments.test", Port: srv.Port, Server: authn.MatchID(payments)})
	opts, err := egressgrpc.DialOptions(d)
	require.NoError(t, err)
	opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "tcp", srv.target("127.0.0.1"))
	}))
	conn, err := grpc.NewClient(srv.target("payments.test"), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = check(t, conn)
	require.Error(t, err)
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Contains(t, status.Convert(err).Message(), "not made by the egress dialer")
	assert.Zero(t, srv.rpcs.Load())
}

// TestWebPKI: an external gRPC API (a payment provider's) is verified with
// the web PKI for its name, with no client certificate.
func TestWebPKI(t *testing.T) {
	cert, roots := webCert(t, "grpc.partner.test")
	srv := startServer(t, credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	loop := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	list, err := egress.NewList(
		egress.Destination{Host: "grpc.partner.test", Port: srv.Port, Networks: loop},
		egress.Destination{Host: "other.partner.test", Port: srv.Port, Networks: loop},
	)
	require.NoError(t, err)
	d, err := egress.NewDialer(list, egress.WithRootCAs(roots),
		egress.WithResolver(hosts{"grpc.partner.test": {loopback}, "other.partner.test": {loopback}}))
	require.NoError(t, err)

	var p peer.Peer
	_, err = check(t, newClient(t, srv.target("grpc.partner.test"), d), grpc.Peer(&p))
	require.NoError(t, err)
	info := p.AuthInfo.(egressgrpc.AuthInfo)
	assert.Nil(t, info.SPIFFEID, "an external destination has no SPIFFE ID")
	assert.Equal(t, "grpc.partner.test", info.State.PeerCertificates[0].DNSNames[0])

	_, err = check(t, newClient(t, srv.target("other.partner.test"), d))
	requireUnavailable(t, err, egress.ReasonServerIdentity)
	assert.Equal(t, int64(1), srv.rpcs.Load())
}

// webCert makes a self-signed certificate for name and a pool that trusts it.
func webCert(tb testing.TB, name string) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(tb, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(tb, err)
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}
