package inbound_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/inbound"
)

// TestFromHTTP: an *http.Request is described by its method, escaped path,
// ServeMux pattern, Authorization and DPoP values (whatever case the client
// wrote their names in), other headers, peer address and client
// certificates.
func TestFromHTTP(t *testing.T) {
	leaf := &x509.Certificate{}
	r := httptest.NewRequest(http.MethodPost, "https://shop.example/orders/%7Ealice/a%2Fb?q=1", nil)
	r.Pattern = "POST /orders/{id}/{rest}"
	r.RemoteAddr = "[::ffff:192.0.2.7]:4711"
	r.Header.Add("authorization", "DPoP abc")
	r.Header.Add("Authorization", "Bearer def")
	r.Header.Add("dpop", "proof")
	r.Header.Set("X-Forwarded-Host", "edge.shop.example")
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}

	req := inbound.FromHTTP(r)
	assert.Equal(t, http.MethodPost, req.Method)
	assert.Equal(t, "/orders/%7Ealice/a%2Fb", req.Path)
	assert.Equal(t, "POST /orders/{id}/{rest}", req.Route)
	assert.Equal(t, []string{"DPoP abc", "Bearer def"}, req.Authorization)
	assert.Equal(t, []string{"proof"}, req.DPoP)
	assert.Equal(t, []string{"edge.shop.example"}, req.Values("X-Forwarded-Host"))
	assert.Equal(t, netip.MustParseAddr("192.0.2.7"), req.RemoteAddr)
	require.Len(t, req.PeerCertificates, 1)
	assert.Same(t, leaf, req.PeerCertificates[0])
}

// TestFromHTTPPartial: what a request lacks is left zero, never made up.
func TestFromHTTPPartial(t *testing.T) {
	cases := []struct {
		name string
		r    *http.Request
		addr netip.Addr
	}{
		{"no URL, header or TLS", &http.Request{Method: http.MethodGet}, netip.Addr{}},
		{"RemoteAddr without port", &http.Request{URL: &url.URL{}, RemoteAddr: "192.0.2.7"}, netip.Addr{}},
		{"RemoteAddr not an address", &http.Request{URL: &url.URL{Path: "/"}, RemoteAddr: "pipe"}, netip.Addr{}},
		{"IPv6 RemoteAddr", &http.Request{URL: &url.URL{Path: "/"}, RemoteAddr: "[2001:db8::1]:443"}, netip.MustParseAddr("2001:db8::1")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := inbound.FromHTTP(tc.r)
			if tc.r.URL == nil || tc.r.URL.Path == "" {
				assert.Empty(t, req.Path)
			}
			assert.Nil(t, req.Header)
			assert.Nil(t, req.Values("Forwarded"))
			assert.Nil(t, req.Authorization)
			assert.Nil(t, req.PeerCertificates)
			assert.Equal(t, tc.addr, req.RemoteAddr)
		})
	}
	var zero inbound.Request
	assert.Nil(t, zero.Values("Forwarded"))
}
