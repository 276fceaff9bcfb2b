package egress_test

import (
	"errors"
	"net/http"
	neturl "net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authz/egress"
)

var destinationSeeds = []string{
	"https://api.stripe.com",
	"https://api.stripe.com:443/",
	"HTTPS://API.Stripe.COM.:8443",
	"http://legacy-tax.internal:8080",
	"https://*.payments.example",
	"https://*.com",
	"https://[fd00::7]:8443",
	"https://[::ffff:10.0.0.7]",
	"https://[fe80::1%25eth0]",
	"https://10.0.0.7:0",
	"https://127.1",
	"https://0x7f.1",
	"https://user@api.stripe.com",
	"https://api.stripe.com/v1?x=1#y",
	"ftp://x",
	"https://",
	"",
}

// FuzzParseDestination: no panic, and what parses round-trips through String
// and compiles into a list that matches it.
func FuzzParseDestination(f *testing.F) {
	for _, s := range destinationSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := egress.ParseDestination(s)
		if err != nil {
			require.ErrorIs(t, err, egress.ErrInvalidDestination)
			return
		}
		again, err := egress.ParseDestination(d.String())
		require.NoError(t, err, d.String())
		require.Equal(t, d, again)
		require.Equal(t, strings.ToLower(d.Host), d.Host)
		list, err := egress.NewList(d)
		require.NoError(t, err)
		if !strings.HasPrefix(d.Host, "*.") {
			got, err := list.Match(d.Scheme, strings.TrimPrefix(d.String(), d.Scheme+"://"))
			require.NoError(t, err)
			require.Equal(t, d.String(), got.String())
		}
	})
}

// FuzzParseEndpoint: no panic; a parsed endpoint is a fixed point; a refusal
// never echoes a host it could not parse.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{
		"api.stripe.com", "API.stripe.com.:443", "api.stripe.com:0443", "[::1]:8443", "::1",
		"[::ffff:127.0.0.1]", "127.1:80", "a:b:c", "[fe80::1%eth0]:1", "", ":", "[]", "x:99999",
	} {
		f.Add("https", s)
	}
	f.Add("http", "legacy:8080")
	f.Add("ftp", "x")
	f.Fuzz(func(t *testing.T, scheme, hostport string) {
		ep, err := egress.ParseEndpoint(scheme, hostport)
		if err != nil {
			var de *egress.DestinationError
			require.ErrorAs(t, err, &de)
			require.ErrorIs(t, err, egress.ErrDestinationNotAllowed)
			require.Empty(t, de.Host)
			return
		}
		again, err := egress.ParseEndpoint(ep.Scheme, ep.HostPort())
		require.NoError(t, err)
		require.Equal(t, ep, again)
		require.Equal(t, strings.ToLower(ep.Host), ep.Host)
		require.True(t, ep.Port >= 1 && ep.Port <= 65535)
	})
}

// FuzzRoundTrip: whatever the URL and Host header, a request is either
// refused with a typed error that names at most scheme, host and port, or
// goes on to dial exactly the listed endpoint. The resolver knows no names
// and the listed IP literal is a closed loopback port, so nothing is ever
// connected.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{
		"https://api.stripe.com/v1/charges", "https://API.STRIPE.COM./", "https://api.stripe.com:443@evil.example/",
		"http://api.stripe.com/", "https://evil.example/?card=4111111111111111", "https://[::ffff:127.0.0.1]:1/",
		"https://api.stripe.com:443:443/", "https://2130706433/", "ftp://api.stripe.com/", "https:///x",
	} {
		f.Add(s, "")
	}
	f.Add("https://api.stripe.com/", "evil.example")
	f.Add("https://api.stripe.com/", "api.stripe.com:443")
	// Port 1 on loopback: nothing listens, so a dial fails at once.
	list := newList(f, egress.Destination{Host: "api.stripe.com"}, egress.Destination{Host: "127.0.0.1", Port: 1})
	d, err := egress.NewDialer(list, egress.WithResolver(newHosts(nil)))
	require.NoError(f, err)
	tr, err := egress.NewTransport(d)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, rawURL, host string) {
		u, err := neturl.Parse(rawURL)
		if err != nil {
			return
		}
		req := &http.Request{Method: http.MethodGet, URL: u, Host: host, Header: http.Header{}}
		resp, err := tr.RoundTrip(req.WithContext(t.Context()))
		require.Error(t, err, "nothing can answer")
		assert.Nil(t, resp)
		var de *egress.DestinationError
		if errors.As(err, &de) {
			require.ErrorIs(t, err, egress.ErrDestinationNotAllowed)
			if de.Host != "" {
				_, perr := egress.ParseEndpoint("https", de.Host)
				require.NoError(t, perr, "the error names a normalised host")
			}
			return
		}
		// Not refused: it must be the listed endpoint, and it failed only at
		// the name lookup or the connection.
		ep, perr := egress.ParseEndpoint(u.Scheme, u.Host)
		require.NoError(t, perr)
		_, merr := list.Match(ep.Scheme, ep.HostPort())
		require.NoError(t, merr, "dialed %s", ep)
		require.Nil(t, u.User)
	})
}
