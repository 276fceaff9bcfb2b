package egress_test

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz/egress"
	"github.com/ztkit/ztkit/internal/test/shoprig"
)

// TestProxyEnvironmentIgnored: the proxy environment variables, which the
// standard transport honours, are ignored: a proxy would receive the
// connection in place of the destination.
func TestProxyEnvironmentIgnored(t *testing.T) {
	iss := shoprig.NewIssuer(t, td)
	direct := startServer(t, "127.0.0.1", 0, nil, whoami("direct"))
	secure := spiffeServer(t, iss, payments, "127.0.0.1", 0)
	proxy := startServer(t, "127.0.0.1", 0, nil, whoami("proxied"))
	proxyURL := link("http", "127.0.0.1", proxy.Port, "")
	t.Setenv("HTTP_PROXY", proxyURL)
	t.Setenv("HTTPS_PROXY", proxyURL)
	t.Setenv("NO_PROXY", "")

	// Control: the standard transport, reading the same environment, goes
	// through the proxy. (net/http reads the environment once per process,
	// so when an earlier run in this process saw another proxy, the control
	// shows as a failed connection to that proxy instead.)
	std := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	body, _, err := get(t, std, link("http", "legacy.test", direct.Port, "/"))
	if err == nil {
		assert.Equal(t, "proxied - HTTP/1.1", body)
	} else {
		assert.ErrorContains(t, err, "proxyconnect")
	}

	res := newHosts(map[string][]netip.Addr{"legacy.test": {loopback}, "payments.test": {loopback}})
	list := newList(t,
		egress.Destination{Scheme: "http", Host: "legacy.test", Port: direct.Port, Networks: loopbackV4},
		egress.Destination{Host: "payments.test", Port: secure.Port, Server: authn.MatchID(payments)},
	)
	proxiedBefore := proxy.hits.Load()
	c := newClient(t, storefrontDialer(t, iss, list, egress.WithResolver(res)))
	body, _, err = get(t, c, link("http", "legacy.test", direct.Port, "/"))
	require.NoError(t, err)
	assert.Equal(t, "direct - HTTP/1.1", body)
	body, _, err = get(t, c, link("https", "payments.test", secure.Port, "/"))
	require.NoError(t, err)
	assert.Equal(t, "/payments spiffe://shop.test/storefront HTTP/2.0", body)
	assert.Equal(t, proxiedBefore, proxy.hits.Load(), "the proxy must see none of our requests")
}
