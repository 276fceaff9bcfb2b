package egress_test

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"testing"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz/egress"
	"github.com/ztkit/ztkit/internal/test/shoprig"
)

func TestNewDialerConfig(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	svid := shoprig.SVID(t, iss, storefront)
	internal := newList(t, egress.Destination{Host: "payments.test", Server: authn.MatchID(payments)})
	external := newList(t, egress.Destination{Host: "api.stripe.com"})

	_, err := egress.NewDialer(nil)
	assert.ErrorIs(t, err, egress.ErrInvalidConfig)
	_, err = egress.NewDialer(internal)
	assert.ErrorIs(t, err, egress.ErrInvalidConfig, "an internal destination needs SPIFFE sources")
	_, err = egress.NewDialer(internal, egress.WithSPIFFE(svid, nil))
	assert.ErrorIs(t, err, egress.ErrInvalidConfig, "and a bundle source")
	_, err = egress.NewDialer(internal, egress.WithSPIFFE(nil, iss.X509Bundle()))
	assert.ErrorIs(t, err, egress.ErrInvalidConfig, "and an SVID source")
	_, err = egress.NewTransport(nil)
	assert.ErrorIs(t, err, egress.ErrInvalidConfig)

	d, err := egress.NewDialer(internal, egress.WithSPIFFE(svid, iss.X509Bundle()), nil,
		egress.WithResolver(nil), egress.WithRootCAs(nil), egress.WithLogger(nil), egress.WithDialTimeout(-1))
	require.NoError(t, err, "nil options keep the defaults")
	assert.Same(t, internal, d.List())
	d, err = egress.NewDialer(external)
	require.NoError(t, err, "external destinations need no SPIFFE sources")
	assert.Zero(t, d.Refusals())
}

// TestDialNetworks: only TCP is dialed; each dial method serves one scheme.
func TestDialNetworks(t *testing.T) {
	res := newHosts(map[string][]netip.Addr{"legacy.test": {loopback}, "api.partner.test": {loopback}})
	list := newList(t,
		egress.Destination{Scheme: "http", Host: "legacy.test", Port: 8080, Networks: loopbackV4},
		egress.Destination{Host: "api.partner.test", Networks: loopbackV4},
		egress.Destination{Scheme: "http", Host: "::1", Port: 8080},
	)
	d, err := egress.NewDialer(list, egress.WithResolver(res))
	require.NoError(t, err)
	ctx := shoprig.Context(t)

	for _, network := range []string{"udp", "unix", "ip", ""} {
		_, err := d.DialContext(ctx, network, "legacy.test:8080")
		requireRefused(t, err, egress.ErrDestinationNotAllowed, egress.ReasonNetwork, "http", "legacy.test", 8080)
	}
	_, err = d.DialTLSContext(ctx, "tcp", "legacy.test:8080")
	requireRefused(t, err, egress.ErrDestinationNotAllowed, egress.ReasonNotListed, "https", "legacy.test", 8080)
	_, err = d.DialContext(ctx, "tcp", "api.partner.test:443")
	requireRefused(t, err, egress.ErrDestinationNotAllowed, egress.ReasonNotListed, "http", "api.partner.test", 443)
	_, err = d.DialContext(ctx, "tcp", "legacy.test")
	requireRefused(t, err, egress.ErrDestinationNotAllowed, egress.ReasonNotListed, "http", "legacy.test", 80)
	_, err = d.DialContext(ctx, "tcp4", "[::1]:8080")
	requireRefused(t, err, egress.ErrDestinationNotAllowed, egress.ReasonAddress, "http", "::1", 8080)
	assert.Empty(t, res.names(), "nothing was resolved")
	assert.Equal(t, uint64(8), d.Refusals())

	_, err = d.DialContext(ctx, "tcp6", "legacy.test:8080")
	var dnsErr *net.DNSError
	require.ErrorAs(t, err, &dnsErr, "legacy.test has no IPv6 address")
	assert.Equal(t, []string{"legacy.test."}, res.names())
}

// TestDNSRebinding: an external name that resolves to an address that is not
// public (loopback, private, metadata, CGNAT, or an IPv6 form that embeds
// one) is refused before connecting; the name is resolved fully qualified.
func TestDNSRebinding(t *testing.T) {
	srv := startServer(t, "127.0.0.1", 0, nil, whoami("internal"))
	list := newList(t,
		egress.Destination{Host: "api.partner.test", Port: srv.Port},
		egress.Destination{Scheme: "http", Host: "hooks.partner.test", Port: srv.Port},
	)
	for _, addr := range []string{
		"127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
		"0.0.0.0", "255.255.255.255", "::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1",
		"::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::a9fe:a9fe",
	} {
		t.Run(addr, func(t *testing.T) {
			res := newHosts(map[string][]netip.Addr{
				"api.partner.test":   {netip.MustParseAddr(addr)},
				"hooks.partner.test": {netip.MustParseAddr(addr)},
			})
			d, err := egress.NewDialer(list, egress.WithResolver(res))
			require.NoError(t, err)
			c := newClient(t, d)
			_, _, err = get(t, c, link("https", "api.partner.test", srv.Port, "/"))
			requireRefused(t, err, egress.ErrDestinationNotAllowed, egress.ReasonAddress, "https", "api.partner.test", srv.Port)
			_, _, err = get(t, c, link("http", "hooks.partner.test", srv.Port, "/"))
			requireRefused(t, err, egress.ErrDestinationNotAllowed, egress.ReasonAddress, "http", "hooks.partner.test", srv.Port)
			assert.Equal(t, []string{"api.partner.test.", "hooks.partner.test."}, res.names())
		})
	}
	assert.Zero(t, srv.conns.Load())
}

// TestAddressesChecked: the dialer connects only to the resolved addresses
// the destination allows, and to those addresses themselves.
func TestAddressesChecked(t *testing.T) {
	good := startServer(t, "127.0.0.1", 0, nil, whoami("good"))
	evil := startServerOrSkip(t, "127.0.0.2", good.Port, whoami("evil"))
	pinned := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	list := newList(t,
		egress.Destination{Scheme: "http", Host: "legacy.test", Port: good.Port, Networks: pinned},
		egress.Destination{Scheme: "http", Host: "127.0.0.1", Port: good.Port}, // an IP literal needs no Networks
	)
	res := newHosts(map[string][]netip.Addr{
		"legacy.test": {netip.MustParseAddr("127.0.0.2"), loopback}, // the first answer is outside the pin
	})
	d, err := egress.NewDialer(list, egress.WithResolver(res))
	require.NoError(t, err)
	c := newClient(t, d)

	body, _, err := get(t, c, link("http", "legacy.test", good.Port, "/"))
	require.NoError(t, err)
	assert.Equal(t, "good - HTTP/1.1", body)
	body, _, err = get(t, c, link("http", "127.0.0.1", good.Port, "/"))
	require.NoError(t, err)
	assert.Equal(t, "good - HTTP/1.1", body)
	_, _, err = get(t, c, link("http", "127.0.0.2", good.Port, "/"))
	requireRefused(t, err, egress.ErrDestinationNotAllowed, egress.ReasonNotListed, "http", "127.0.0.2", good.Port)

	only := newHosts(map[string][]netip.Addr{"legacy.test": {netip.MustParseAddr("127.0.0.2")}})
	d, err = egress.NewDialer(list, egress.WithResolver(only))
	require.NoError(t, err)
	_, _, err = get(t, newClient(t, d), link("http", "legacy.test", good.Port, "/"))
	requireRefused(t, err, egress.ErrDestinationNotAllowed, egress.ReasonAddress, "http", "legacy.test", good.Port)
	assert.Zero(t, evil.conns.Load())
}

func startServerOrSkip(t *testing.T, ip string, port int, h http.Handler) *server {
	t.Helper()
	lis, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		t.Skipf("cannot listen on %s:%d: %v", ip, port, err)
	}
	require.NoError(t, lis.Close())
	return startServer(t, ip, port, nil, h)
}

// TestDialTLSContext: the dialer on its own, for a protocol other than
// HTTP: the connection it returns has passed the identity check.
func TestDialTLSContext(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	srv := spiffeServer(t, iss, payments, "127.0.0.1", 0)
	list := newList(t, egress.Destination{Host: "127.0.0.1", Port: srv.Port, Server: authn.MatchID(payments)})
	d := storefrontDialer(t, iss, list)

	conn, err := d.DialTLSContext(shoprig.Context(t), "tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.Port)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	tc, ok := conn.(*tls.Conn)
	require.True(t, ok, "a *tls.Conn, so that net/http sees the negotiated protocol")
	cs := tc.ConnectionState()
	assert.True(t, cs.HandshakeComplete)
	assert.Equal(t, uint16(tls.VersionTLS13), cs.Version)
	id, err := x509svid.IDFromCert(cs.PeerCertificates[0])
	require.NoError(t, err)
	assert.Equal(t, payments, id)
}

// TestDialErrors: failures that are not refusals are plain errors naming the
// endpoint.
func TestDialErrors(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := lis.Addr().(*net.TCPAddr).Port
	require.NoError(t, lis.Close()) // nothing listens there now

	list := newList(t,
		egress.Destination{Host: "gone.partner.test", Networks: loopbackV4},
		egress.Destination{Scheme: "http", Host: "down.partner.test", Port: closed, Networks: loopbackV4},
	)
	d, err := egress.NewDialer(list, egress.WithResolver(newHosts(map[string][]netip.Addr{"down.partner.test": {loopback}})))
	require.NoError(t, err)
	ctx := shoprig.Context(t)

	_, err = d.DialTLSContext(ctx, "tcp", "gone.partner.test:443")
	var dnsErr *net.DNSError
	require.ErrorAs(t, err, &dnsErr)
	assert.NotErrorIs(t, err, egress.ErrDestinationNotAllowed)

	_, err = d.DialContext(ctx, "tcp", net.JoinHostPort("down.partner.test", strconv.Itoa(closed)))
	require.Error(t, err)
	var de *egress.DestinationError
	assert.False(t, errors.As(err, &de))
	assert.Contains(t, err.Error(), "egress: connecting to down.partner.test:"+strconv.Itoa(closed))
	assert.Zero(t, d.Refusals())
}
