package egress_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
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

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/authz/egress"
	"github.com/ztkit/ztkit/internal/test/shoprig"
)

var (
	td         = spiffeid.RequireTrustDomainFromString("shop.test")
	storefront = spiffeid.RequireFromPath(td, "/storefront")
	payments   = spiffeid.RequireFromPath(td, "/payments")
	orders     = spiffeid.RequireFromPath(td, "/orders")
	attacker   = spiffeid.RequireFromPath(td, "/attacker")
	loopback   = netip.MustParseAddr("127.0.0.1")
	loopbackV4 = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
)

// hosts is a resolver with a fixed table, as /etc/hosts would be. It
// records every name it is asked for.
type hosts struct {
	m map[string][]netip.Addr

	mu      sync.Mutex
	lookups []string
}

func newHosts(m map[string][]netip.Addr) *hosts { return &hosts{m: m} }

func (h *hosts) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	h.mu.Lock()
	h.lookups = append(h.lookups, host)
	h.mu.Unlock()
	var out []netip.Addr
	for _, a := range h.m[strings.TrimSuffix(host, ".")] {
		if network == "ip" || network == "ip4" && a.Unmap().Is4() || network == "ip6" && a.Is6() && !a.Is4In6() {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

func (h *hosts) names() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.lookups...)
}

// server is a real HTTP server on a loopback socket that counts the
// connections it accepts and the requests it serves.
type server struct {
	Port  int
	conns atomic.Int64
	hits  atomic.Int64
}

// startServer serves h on ip:port (port 0 picks one), over TLS with cfg when
// cfg is not nil (HTTP/2 and HTTP/1.1), in plaintext otherwise.
func startServer(tb testing.TB, ip string, port int, cfg *tls.Config, h http.Handler) *server {
	tb.Helper()
	lis, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	require.NoError(tb, err)
	s := &server{Port: lis.Addr().(*net.TCPAddr).Port}
	if cfg != nil {
		cfg = cfg.Clone()
		cfg.NextProtos = []string{"h2", "http/1.1"}
		lis = tls.NewListener(lis, cfg)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.hits.Add(1)
			h.ServeHTTP(w, r)
		}),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		},
		ErrorLog:          log.New(io.Discard, "", 0), // refused handshakes are expected
		ReadHeaderTimeout: time.Minute,
	}
	go func() { _ = srv.Serve(lis) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return s
}

// spiffeServer serves whoami(name) over SPIFFE mTLS as id, accepting only
// the storefront as client.
func spiffeServer(tb testing.TB, iss *spiffetest.Issuer, id spiffeid.ID, ip string, port int) *server {
	tb.Helper()
	cfg := shoprig.ServerTLSConfig(tb, shoprig.SVID(tb, iss, id), iss.X509Bundle(), authn.MatchID(storefront))
	return startServer(tb, ip, port, cfg, whoami(id.Path()))
}

// whoami answers with the server's name, the client's SPIFFE ID (if it
// presented one) and the HTTP version.
func whoami(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer := "-"
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			if id, err := x509svid.IDFromCert(r.TLS.PeerCertificates[0]); err == nil {
				peer = id.String()
			}
		}
		_, _ = fmt.Fprintf(w, "%s %s %s", name, peer, r.Proto)
	})
}

// storefrontDialer is the storefront's dialer for list, with its SVID and
// the issuer's bundle.
func storefrontDialer(tb testing.TB, iss *spiffetest.Issuer, list *egress.List, opts ...egress.Option) *egress.Dialer {
	tb.Helper()
	opts = append([]egress.Option{egress.WithSPIFFE(shoprig.SVID(tb, iss, storefront), iss.X509Bundle())}, opts...)
	d, err := egress.NewDialer(list, opts...)
	require.NoError(tb, err)
	return d
}

func newClient(tb testing.TB, d *egress.Dialer) *http.Client {
	tb.Helper()
	t, err := egress.NewTransport(d)
	require.NoError(tb, err)
	tb.Cleanup(t.CloseIdleConnections)
	return &http.Client{Transport: t}
}

func newList(tb testing.TB, dests ...egress.Destination) *egress.List {
	tb.Helper()
	l, err := egress.NewList(dests...)
	require.NoError(tb, err)
	return l
}

// get sends req (a GET of url when req is nil) and returns the body.
func get(tb testing.TB, c *http.Client, url string) (string, *http.Response, error) {
	tb.Helper()
	req, err := http.NewRequestWithContext(shoprig.Context(tb), http.MethodGet, url, nil)
	require.NoError(tb, err)
	return do(c, req)
}

func do(c *http.Client, req *http.Request) (string, *http.Response, error) {
	resp, err := c.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp, err
}

// requireRefused asserts that err is a refusal for reason naming
// scheme://host:port.
func requireRefused(tb testing.TB, err error, sentinel error, reason egress.Reason, scheme, host string, port int) *egress.DestinationError {
	tb.Helper()
	require.Error(tb, err)
	require.ErrorIs(tb, err, sentinel)
	var de *egress.DestinationError
	require.ErrorAs(tb, err, &de)
	assert.Equal(tb, reason, de.Reason, "reason")
	assert.Equal(tb, scheme, de.Scheme, "scheme")
	assert.Equal(tb, host, de.Host, "host")
	assert.Equal(tb, port, de.Port, "port")
	return de
}

func link(scheme, host string, port int, path string) string {
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + path
}
