package egress_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	neturl "net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz/egress"
	"github.com/ztkit/ztkit/internal/test/shoprig"
)

// TestTransportSPIFFE: an internal destination is reached over mTLS (the
// server sees the storefront's SPIFFE ID) and HTTP/2, and only when the
// server presents the expected SPIFFE ID.
func TestTransportSPIFFE(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	good := spiffeServer(t, iss, payments, "127.0.0.1", 0)
	impostor := spiffeServer(t, iss, attacker, "127.0.0.1", 0)
	otherCA := shoprig.NewIssuer(t, td) // the same trust domain name, another CA
	forged := spiffeServer(t, otherCA, payments, "127.0.0.1", 0)

	res := newHosts(map[string][]netip.Addr{"payments.test": {loopback}})
	list := newList(t,
		egress.Destination{Host: "payments.test", Port: good.Port, Server: authn.MatchID(payments)},
		egress.Destination{Host: "payments.test", Port: impostor.Port, Server: authn.MatchID(payments)},
		egress.Destination{Host: "payments.test", Port: forged.Port, Server: authn.MatchID(payments)},
	)
	c := newClient(t, storefrontDialer(t, iss, list, egress.WithResolver(res)))

	body, resp, err := get(t, c, link("https", "payments.test", good.Port, "/charge"))
	require.NoError(t, err)
	assert.Equal(t, "/payments spiffe://shop.test/storefront HTTP/2.0", body)
	assert.Equal(t, "h2", resp.TLS.NegotiatedProtocol)
	id, err := x509svid.IDFromCert(resp.TLS.PeerCertificates[0])
	require.NoError(t, err)
	assert.Equal(t, payments, id)

	t.Run("wrong SPIFFE ID", func(t *testing.T) {
		_, _, err := get(t, c, link("https", "payments.test", impostor.Port, "/charge"))
		de := requireRefused(t, err, egress.ErrServerIdentity, egress.ReasonServerIdentity, "https", "payments.test", impostor.Port)
		assert.ErrorIs(t, err, authn.ErrPeerNotAuthorized)
		assert.NotErrorIs(t, err, egress.ErrDestinationNotAllowed)
		assert.Contains(t, de.Error(), "spiffe://shop.test/attacker")
		assert.Zero(t, impostor.hits.Load(), "the impostor must receive no request")
	})
	t.Run("SVID from an untrusted CA", func(t *testing.T) {
		_, _, err := get(t, c, link("https", "payments.test", forged.Port, "/charge"))
		requireRefused(t, err, egress.ErrServerIdentity, egress.ReasonServerIdentity, "https", "payments.test", forged.Port)
		assert.Zero(t, forged.hits.Load())
	})
}

// TestServerIdentityNoRequestBytes: with the wrong server, the client aborts
// the handshake; the server reads no application data at all.
func TestServerIdentityNoRequestBytes(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	cfg := shoprig.ServerTLSConfig(t, shoprig.SVID(t, iss, attacker), iss.X509Bundle(), authn.MatchAny())
	lis, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = lis.Close() })
	type result struct {
		handshake error
		read      int64
	}
	done := make(chan result, 1)
	go func() {
		conn, err := lis.Accept()
		if err != nil {
			done <- result{handshake: err}
			return
		}
		defer conn.Close()
		herr := conn.(*tls.Conn).HandshakeContext(shoprig.Context(t))
		n, _ := io.Copy(io.Discard, conn)
		done <- result{handshake: herr, read: n}
	}()

	port := lis.Addr().(*net.TCPAddr).Port
	list := newList(t, egress.Destination{Host: "127.0.0.1", Port: port, Server: authn.MatchID(payments)})
	c := newClient(t, storefrontDialer(t, iss, list))
	req, err := http.NewRequestWithContext(shoprig.Context(t), http.MethodPost, link("https", "127.0.0.1", port, "/charge"),
		strings.NewReader(`{"card":"4111111111111111"}`))
	require.NoError(t, err)
	_, _, err = do(c, req)
	de := requireRefused(t, err, egress.ErrServerIdentity, egress.ReasonServerIdentity, "https", "127.0.0.1", port)
	assert.Equal(t, "egress: https://127.0.0.1:"+strconv.Itoa(port)+" (server_identity): server identity refused: authn: peer not authorized: spiffe://shop.test/attacker", de.Error())

	r := <-done
	assert.Error(t, r.handshake, "the client must abort the handshake")
	assert.Zero(t, r.read, "no application data may reach the server")
}

// TestTransportWebPKI: an external destination is verified with the web PKI
// for its host name, and the client presents no certificate.
func TestTransportWebPKI(t *testing.T) {
	srv := httptest.NewUnstartedServer(whoami("partner"))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate()) // valid for example.com, *.example.com, 127.0.0.1 and ::1

	res := newHosts(map[string][]netip.Addr{
		"example.com":     {loopback},
		"api.example.com": {loopback},
		"partner.test":    {loopback},
	})
	list := newList(t,
		egress.Destination{Host: "example.com", Port: port, Networks: loopbackV4},
		egress.Destination{Host: "*.example.com", Port: port, Networks: loopbackV4},
		egress.Destination{Host: "partner.test", Port: port, Networks: loopbackV4},
	)
	d, err := egress.NewDialer(list, egress.WithResolver(res), egress.WithRootCAs(roots))
	require.NoError(t, err)
	c := newClient(t, d)

	for _, host := range []string{"example.com", "api.example.com"} {
		body, resp, err := get(t, c, link("https", host, port, "/"))
		require.NoError(t, err, host)
		assert.Equal(t, "partner - HTTP/2.0", body, "no client certificate is presented")
		assert.Equal(t, "h2", resp.TLS.NegotiatedProtocol)
	}

	t.Run("certificate not valid for the host", func(t *testing.T) {
		_, _, err := get(t, c, link("https", "partner.test", port, "/"))
		requireRefused(t, err, egress.ErrServerIdentity, egress.ReasonServerIdentity, "https", "partner.test", port)
		var hostErr x509.HostnameError
		assert.ErrorAs(t, err, &hostErr)
	})
	t.Run("system roots do not know the test CA", func(t *testing.T) {
		d, err := egress.NewDialer(list, egress.WithResolver(res))
		require.NoError(t, err)
		_, _, err = get(t, newClient(t, d), link("https", "example.com", port, "/"))
		requireRefused(t, err, egress.ErrServerIdentity, egress.ReasonServerIdentity, "https", "example.com", port)
		var unknown x509.UnknownAuthorityError
		assert.ErrorAs(t, err, &unknown)
	})
}

// TestRefusedBeforeDialing covers the ways a URL can try to reach somewhere
// else than a listed destination. Every one is refused with a typed error
// before any name is resolved or any connection is made.
func TestRefusedBeforeDialing(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	srv := spiffeServer(t, iss, payments, "127.0.0.1", 0)
	p := srv.Port
	res := newHosts(map[string][]netip.Addr{"payments.test": {loopback}, "evil.test": {loopback}})
	list := newList(t, egress.Destination{Host: "payments.test", Port: p, Server: authn.MatchID(payments)})
	d := storefrontDialer(t, iss, list, egress.WithResolver(res))
	c := newClient(t, d)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	tests := []struct {
		name   string
		method string
		url    string
		host   string // Host header, when set
		reason egress.Reason
		scheme string // expected in the error
		ehost  string
		eport  int
	}{
		{name: "host not listed", url: link("https", "evil.test", p, "/"), reason: egress.ReasonNotListed, scheme: "https", ehost: "evil.test", eport: p},
		{name: "port not listed", url: link("https", "payments.test", 1, "/"), reason: egress.ReasonNotListed, scheme: "https", ehost: "payments.test", eport: 1},
		{name: "default port not listed", url: "https://payments.test/", reason: egress.ReasonNotListed, scheme: "https", ehost: "payments.test", eport: 443},
		{name: "plaintext for an https destination", url: link("http", "payments.test", p, "/"), reason: egress.ReasonNotListed, scheme: "http", ehost: "payments.test", eport: p},
		{name: "other scheme", url: "ftp://payments.test/", reason: egress.ReasonScheme},
		{name: "userinfo", url: "https://admin:hunter2@payments.test:" + strconv.Itoa(p) + "/", reason: egress.ReasonUserinfo, scheme: "https", ehost: "payments.test", eport: p},
		{name: "userinfo that looks like the host", url: "https://payments.test:" + strconv.Itoa(p) + "@evil.test/", reason: egress.ReasonUserinfo, scheme: "https", ehost: "evil.test", eport: 443},
		{name: "IP literal of a listed name", url: link("https", "127.0.0.1", p, "/"), reason: egress.ReasonNotListed, scheme: "https", ehost: "127.0.0.1", eport: p},
		{name: "IPv4-mapped IPv6 literal", url: link("https", "::ffff:127.0.0.1", p, "/"), reason: egress.ReasonNotListed, scheme: "https", ehost: "127.0.0.1", eport: p},
		{name: "IPv6 loopback", url: link("https", "::1", p, "/"), reason: egress.ReasonNotListed, scheme: "https", ehost: "::1", eport: p},
		{name: "decimal IPv4", url: link("https", "2130706433", p, "/"), reason: egress.ReasonInvalidHost, scheme: "https"},
		{name: "short IPv4", url: link("https", "127.1", p, "/"), reason: egress.ReasonInvalidHost, scheme: "https"},
		{name: "hex IPv4", url: link("https", "0x7f.0x0.0x0.0x1", p, "/"), reason: egress.ReasonInvalidHost, scheme: "https"},
		{name: "octal IPv4", url: link("https", "0177.0.0.1", p, "/"), reason: egress.ReasonInvalidHost, scheme: "https"},
		{name: "IPv6 zone", url: "https://[fe80::1%25lo]:" + strconv.Itoa(p) + "/", reason: egress.ReasonInvalidHost, scheme: "https"},
		{name: "unspecified address", url: link("https", "0.0.0.0", p, "/"), reason: egress.ReasonInvalidHost, scheme: "https"},
		{name: "non-ASCII host", url: link("https", "pаyments.test", p, "/"), reason: egress.ReasonInvalidHost, scheme: "https"}, // Cyrillic а
		{name: "empty host", url: "https:///charge", reason: egress.ReasonInvalidHost, scheme: "https"},
		{name: "Host header names another host", url: link("https", "payments.test", p, "/"), host: "evil.test", reason: egress.ReasonHostMismatch, scheme: "https", ehost: "payments.test", eport: p},
		{name: "Host header names another port", url: link("https", "payments.test", p, "/"), host: "payments.test:8443", reason: egress.ReasonHostMismatch, scheme: "https", ehost: "payments.test", eport: p},
		{name: "Host header is malformed", url: link("https", "payments.test", p, "/"), host: "payments.test:" + strconv.Itoa(p) + ":1", reason: egress.ReasonHostMismatch, scheme: "https", ehost: "payments.test", eport: p},
		{name: "CONNECT", method: http.MethodConnect, url: link("https", "payments.test", p, ""), reason: egress.ReasonMethod, scheme: "https", ehost: "payments.test", eport: p},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := d.Refusals()
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequestWithContext(shoprig.Context(t), method, tc.url, nil)
			require.NoError(t, err)
			if tc.host != "" {
				req.Host = tc.host
			}
			_, _, err = do(c, req)
			requireRefused(t, err, egress.ErrDestinationNotAllowed, tc.reason, tc.scheme, tc.ehost, tc.eport)
			assert.NotContains(t, err.Error(), "hunter2")
			assert.Equal(t, before+1, d.Refusals())
		})
	}
	assert.Empty(t, res.names(), "nothing may be resolved for a refused request")
	assert.Zero(t, srv.conns.Load(), "nothing may connect for a refused request")

	// The same server under its listed name and normalised variants of it.
	for _, u := range []string{
		link("https", "payments.test", p, "/"),
		link("https", "PAYMENTS.Test", p, "/"),
		link("https", "payments.test.", p, "/"),
	} {
		body, _, err := get(t, c, u)
		require.NoError(t, err, u)
		assert.Equal(t, "/payments spiffe://shop.test/storefront HTTP/2.0", body, u)
	}
	req, err := http.NewRequestWithContext(shoprig.Context(t), http.MethodGet, link("https", "payments.test", p, "/"), nil)
	require.NoError(t, err)
	req.Host = "Payments.TEST.:" + strconv.Itoa(p) // the same endpoint
	_, _, err = do(c, req)
	require.NoError(t, err)
}

// TestRedirects: http.Client calls RoundTrip for every hop, so a redirect to
// a host that is not listed, or a downgrade to plaintext, is refused.
func TestRedirects(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	target := spiffeServer(t, iss, orders, "127.0.0.1", 0)
	evil := startServer(t, "127.0.0.1", 0, nil, whoami("evil"))
	cfg := shoprig.ServerTLSConfig(t, shoprig.SVID(t, iss, payments), iss.X509Bundle(), authn.MatchID(storefront))
	redirector := startServer(t, "127.0.0.1", 0, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))

	res := newHosts(map[string][]netip.Addr{"payments.test": {loopback}, "orders.test": {loopback}, "evil.test": {loopback}})
	list := newList(t,
		egress.Destination{Host: "payments.test", Port: redirector.Port, Server: authn.MatchID(payments)},
		egress.Destination{Host: "orders.test", Port: target.Port, Server: authn.MatchID(orders)},
	)
	c := newClient(t, storefrontDialer(t, iss, list, egress.WithResolver(res)))
	via := func(to string) string {
		return link("https", "payments.test", redirector.Port, "/go?to="+neturl.QueryEscape(to))
	}

	body, _, err := get(t, c, via(link("https", "orders.test", target.Port, "/")))
	require.NoError(t, err, "a redirect to a listed destination is followed")
	assert.Equal(t, "/orders spiffe://shop.test/storefront HTTP/2.0", body)

	_, _, err = get(t, c, via(link("http", "evil.test", evil.Port, "/steal")))
	requireRefused(t, err, egress.ErrDestinationNotAllowed, egress.ReasonNotListed, "http", "evil.test", evil.Port)
	_, _, err = get(t, c, via(link("http", "orders.test", target.Port, "/")))
	requireRefused(t, err, egress.ErrDestinationNotAllowed, egress.ReasonNotListed, "http", "orders.test", target.Port)
	_, _, err = get(t, c, via(link("https", "169.254.169.254", 443, "/latest/meta-data/")))
	requireRefused(t, err, egress.ErrDestinationNotAllowed, egress.ReasonNotListed, "https", "169.254.169.254", 443)
	assert.Zero(t, evil.conns.Load())
	assert.Equal(t, int64(4), redirector.hits.Load())
}

// TestNoConnectionReuseAcrossHosts: two names for one server socket. A
// connection verified for one must not carry requests for the other, even
// over HTTP/2 with a certificate valid for both.
func TestNoConnectionReuseAcrossHosts(t *testing.T) {
	t.Run("SPIFFE", func(t *testing.T) {
		iss := shoprig.NewIssuer(t, td)
		srv := spiffeServer(t, iss, payments, "127.0.0.1", 0)
		res := newHosts(map[string][]netip.Addr{"payments.test": {loopback}, "orders.test": {loopback}})
		list := newList(t,
			egress.Destination{Host: "payments.test", Port: srv.Port, Server: authn.MatchID(payments)},
			egress.Destination{Host: "orders.test", Port: srv.Port, Server: authn.MatchID(orders)},
		)
		c := newClient(t, storefrontDialer(t, iss, list, egress.WithResolver(res)))

		_, resp, err := get(t, c, link("https", "payments.test", srv.Port, "/"))
		require.NoError(t, err)
		require.Equal(t, "h2", resp.TLS.NegotiatedProtocol)
		_, _, err = get(t, c, link("https", "orders.test", srv.Port, "/"))
		requireRefused(t, err, egress.ErrServerIdentity, egress.ReasonServerIdentity, "https", "orders.test", srv.Port)
		_, _, err = get(t, c, link("https", "payments.test", srv.Port, "/"))
		require.NoError(t, err)

		assert.Equal(t, int64(2), srv.hits.Load(), "orders.test got no request")
		assert.Equal(t, int64(2), srv.conns.Load(), "payments.test reuses its connection; orders.test gets its own handshake")
	})
	t.Run("web PKI", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(whoami("partner"))
		srv.EnableHTTP2 = true
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		var conns atomic.Int64
		srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		port := srv.Listener.Addr().(*net.TCPAddr).Port
		roots := x509.NewCertPool()
		roots.AddCert(srv.Certificate())
		res := newHosts(map[string][]netip.Addr{"a.example.com": {loopback}, "b.example.com": {loopback}})
		list := newList(t, egress.Destination{Host: "*.example.com", Port: port, Networks: loopbackV4})
		d, err := egress.NewDialer(list, egress.WithResolver(res), egress.WithRootCAs(roots))
		require.NoError(t, err)
		c := newClient(t, d)
		for _, host := range []string{"a.example.com", "b.example.com", "a.example.com", "b.example.com"} {
			_, resp, err := get(t, c, link("https", host, port, "/"))
			require.NoError(t, err)
			assert.Equal(t, "h2", resp.TLS.NegotiatedProtocol)
		}
		assert.Equal(t, int64(2), conns.Load(), "one connection per host name, not one shared")
	})
}

// TestRequestBodyClosedOnRefusal: RoundTrip closes the body it refuses, as
// the RoundTripper contract requires.
func TestRequestBodyClosedOnRefusal(t *testing.T) {
	list := newList(t, egress.Destination{Host: "api.stripe.com"})
	d, err := egress.NewDialer(list)
	require.NoError(t, err)
	tr, err := egress.NewTransport(d)
	require.NoError(t, err)
	body := &closeRecorder{Reader: strings.NewReader("amount=100")}
	req, err := http.NewRequestWithContext(shoprig.Context(t), http.MethodPost, "https://evil.example/", body)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	assert.Nil(t, resp)
	requireRefused(t, err, egress.ErrDestinationNotAllowed, egress.ReasonNotListed, "https", "evil.example", 443)
	assert.True(t, body.closed)

	resp, err = tr.RoundTrip(nil)
	assert.Nil(t, resp)
	requireRefused(t, err, egress.ErrDestinationNotAllowed, egress.ReasonInvalidHost, "", "", 0)
	assert.Same(t, d, tr.Dialer())
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error {
	c.closed = true
	return nil
}

// TestWorkloadAPISource: the storefront's SVID comes from the Workload API,
// as in production, and keeps working across a rotation.
func TestWorkloadAPISource(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	require.NoError(t, iss.Register(storefront))
	src, err := workloadapi.NewX509Source(shoprig.Context(t), workloadapi.WithClientOptions(workloadapi.WithAddr(iss.Addr())))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, src.Close()) })

	srv := spiffeServer(t, iss, payments, "127.0.0.1", 0)
	list := newList(t, egress.Destination{Host: "localhost", Port: srv.Port, Server: authn.MatchID(payments)})
	d, err := egress.NewDialer(list, egress.WithSPIFFE(src, iss.X509Bundle())) // the system resolver
	require.NoError(t, err)
	tr, err := egress.NewTransport(d)
	require.NoError(t, err)
	c := &http.Client{Transport: tr}

	body, _, err := get(t, c, link("https", "localhost", srv.Port, "/"))
	require.NoError(t, err)
	assert.Equal(t, "/payments spiffe://shop.test/storefront HTTP/2.0", body)

	before, err := src.GetX509SVID()
	require.NoError(t, err)
	require.NoError(t, iss.Rotate())
	require.NoError(t, src.WaitUntilUpdated(shoprig.Context(t)))
	after, err := src.GetX509SVID()
	require.NoError(t, err)
	require.NotEqual(t, before.Certificates[0].SerialNumber, after.Certificates[0].SerialNumber)

	tr.CloseIdleConnections() // force a new handshake with the new SVID
	body, _, err = get(t, c, link("https", "localhost", srv.Port, "/"))
	require.NoError(t, err)
	assert.Equal(t, "/payments spiffe://shop.test/storefront HTTP/2.0", body)
	assert.Equal(t, int64(2), srv.conns.Load())
}
