package egress_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz/egress"
)

func TestParseDestination(t *testing.T) {
	valid := []struct {
		in   string
		want egress.Destination
	}{
		{"https://api.stripe.com", egress.Destination{Scheme: "https", Host: "api.stripe.com", Port: 443}},
		{"https://api.stripe.com/", egress.Destination{Scheme: "https", Host: "api.stripe.com", Port: 443}},
		{"HTTPS://API.Stripe.COM.:443", egress.Destination{Scheme: "https", Host: "api.stripe.com", Port: 443}},
		{"http://legacy-tax.internal:8080", egress.Destination{Scheme: "http", Host: "legacy-tax.internal", Port: 8080}},
		{"http://legacy", egress.Destination{Scheme: "http", Host: "legacy", Port: 80}},
		{"https://*.payments.example:8443", egress.Destination{Scheme: "https", Host: "*.payments.example", Port: 8443}},
		{"https://10.0.0.7", egress.Destination{Scheme: "https", Host: "10.0.0.7", Port: 443}},
		{"https://[fd00::7]:8443", egress.Destination{Scheme: "https", Host: "fd00::7", Port: 8443}},
		{"https://[::ffff:10.0.0.7]", egress.Destination{Scheme: "https", Host: "10.0.0.7", Port: 443}},
		{"https://_acme.example.com", egress.Destination{Scheme: "https", Host: "_acme.example.com", Port: 443}},
	}
	for _, tc := range valid {
		t.Run(tc.in, func(t *testing.T) {
			d, err := egress.ParseDestination(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, d)
			again, err := egress.ParseDestination(d.String())
			require.NoError(t, err)
			assert.Equal(t, d, again, "String round-trips")
		})
	}

	invalid := []string{
		"",
		"api.stripe.com",
		"api.stripe.com:443",
		"ftp://api.stripe.com",
		"https://",
		"https://api.stripe.com/v1",
		"https://api.stripe.com?x=1",
		"https://api.stripe.com#x",
		"https://user@api.stripe.com",
		"https://api.stripe.com@evil.example",
		`https://api.stripe.com\@evil.example`,
		"https://api.stripe.com:0",
		"https://api.stripe.com:65536",
		"https://api.stripe.com:+443",
		"https://api.stripe.com:-1",
		"https://api.stripe.com:",
		"https://api..stripe.com",
		"https://.api.stripe.com",
		"https://-api.stripe.com",
		"https://api-.stripe.com",
		"https://api.stripe.com..",
		"https://api stripe.com",
		"https://api%2estripe.com",
		"https://apі.stripe.com", // Cyrillic і
		"https://*",
		"https://*.com",
		"https://*.*.stripe.com",
		"https://api.*.stripe.com",
		"https://a*.stripe.com",
		"https://*.10.0.0.1",
		"https://127.1",
		"https://0x7f.1",
		"https://2130706433",
		"https://0177.0.0.1",
		"https://0.0.0.0",
		"https://[::]",
		"https://224.0.0.1",
		"https://[fe80::1%25eth0]",
		"https://fd00::7",
		"https://[fd00::7",
		"https://[10.0.0.7]",
		"https://[fd00::7]x",
		"https://" + strings.Repeat("a", 64) + ".example",
	}
	for _, in := range invalid {
		t.Run("invalid "+in, func(t *testing.T) {
			_, err := egress.ParseDestination(in)
			assert.ErrorIs(t, err, egress.ErrInvalidDestination)
		})
	}
}

func TestNewListRefusesInvalidDestinations(t *testing.T) {
	id := authn.MatchID(payments)
	tests := []struct {
		name  string
		dests []egress.Destination
	}{
		{"zero value", []egress.Destination{{}}},
		{"scheme", []egress.Destination{{Scheme: "HTTPS", Host: "api.stripe.com"}}},
		{"port too large", []egress.Destination{{Host: "api.stripe.com", Port: 65536}}},
		{"negative port", []egress.Destination{{Host: "api.stripe.com", Port: -1}}},
		{"host with port", []egress.Destination{{Host: "api.stripe.com:443"}}},
		{"host with brackets", []egress.Destination{{Host: "[fd00::7]"}}},
		{"SPIFFE over plaintext", []egress.Destination{{Scheme: "http", Host: "payments.test", Server: id}}},
		{"invalid network", []egress.Destination{{Host: "api.stripe.com", Networks: []netip.Prefix{{}}}}},
		{"IPv4-mapped network", []egress.Destination{{Host: "api.stripe.com", Networks: []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}}}},
		{"IP literal outside its networks", []egress.Destination{{Host: "10.0.0.7", Networks: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}}},
		{"duplicate", []egress.Destination{{Host: "api.stripe.com"}, {Host: "API.stripe.com.", Port: 443}}},
		{"duplicate wildcard", []egress.Destination{{Host: "*.stripe.com"}, {Host: "*.Stripe.com"}}},
		{"duplicate IP", []egress.Destination{{Host: "10.0.0.7"}, {Host: "::ffff:10.0.0.7"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := egress.NewList(tc.dests...)
			assert.ErrorIs(t, err, egress.ErrInvalidDestination)
			assert.Nil(t, l)
		})
	}

	l, err := egress.NewList()
	require.NoError(t, err, "an empty list is valid and allows nothing")
	_, err = l.Match("https", "api.stripe.com")
	assert.ErrorIs(t, err, egress.ErrDestinationNotAllowed)
	var zero egress.List
	_, err = zero.Match("https", "api.stripe.com")
	assert.ErrorIs(t, err, egress.ErrDestinationNotAllowed, "the zero List allows nothing")
}

func TestListMatch(t *testing.T) {
	list := newList(t,
		egress.Destination{Host: "api.stripe.com"},
		egress.Destination{Host: "*.stripe.com", Port: 8443},
		egress.Destination{Host: "*.payments.test", Server: authn.MatchMemberOf(td)},
		egress.Destination{Host: "eu.payments.test", Server: authn.MatchID(payments)},
		egress.Destination{Scheme: "http", Host: "legacy.internal", Port: 8080, Networks: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}},
		egress.Destination{Host: "10.0.0.7", Port: 8443},
		egress.Destination{Host: "fd00::7"},
	)
	allowed := []struct {
		scheme, hostport string
		want             string // the matched destination
	}{
		{"https", "api.stripe.com", "https://api.stripe.com:443"},
		{"https", "api.stripe.com:443", "https://api.stripe.com:443"},
		{"https", "API.STRIPE.COM.", "https://api.stripe.com:443"},
		{"https", "api.stripe.com:0443", "https://api.stripe.com:443"},
		{"https", "files.stripe.com:8443", "https://*.stripe.com:8443"},
		{"https", "api.stripe.com:8443", "https://*.stripe.com:8443"},
		{"https", "us.payments.test", "https://*.payments.test:443"},
		{"https", "eu.payments.test", "https://eu.payments.test:443"},
		{"http", "legacy.internal:8080", "http://legacy.internal:8080"},
		{"https", "10.0.0.7:8443", "https://10.0.0.7:8443"},
		{"https", "[::ffff:10.0.0.7]:8443", "https://10.0.0.7:8443"},
		{"https", "::ffff:10.0.0.7", ""},
		{"https", "[fd00::7]:443", "https://[fd00::7]:443"},
		{"https", "[FD00:0::7]", "https://[fd00::7]:443"},
	}
	for _, tc := range allowed {
		t.Run(tc.scheme+" "+tc.hostport, func(t *testing.T) {
			d, err := list.Match(tc.scheme, tc.hostport)
			if tc.want == "" {
				assert.ErrorIs(t, err, egress.ErrDestinationNotAllowed)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, d.String())
		})
	}

	// The exact entry wins over the wildcard, with its stricter authorizer.
	d, err := list.Match("https", "eu.payments.test")
	require.NoError(t, err)
	assert.NoError(t, d.Server(payments))
	assert.Error(t, d.Server(orders))

	refused := []struct {
		scheme, hostport string
		reason           egress.Reason
	}{
		{"https", "api.stripe.com:8080", egress.ReasonNotListed},
		{"http", "api.stripe.com", egress.ReasonNotListed},
		{"https", "stripe.com:8443", egress.ReasonNotListed},
		{"https", "a.b.stripe.com:8443", egress.ReasonNotListed},
		{"https", "payments.test", egress.ReasonNotListed},
		{"https", "evilstripe.com", egress.ReasonNotListed},
		{"https", "api.stripe.com.evil.example", egress.ReasonNotListed},
		{"https", "legacy.internal:8080", egress.ReasonNotListed},
		{"https", "10.0.0.7", egress.ReasonNotListed},
		{"https", "10.0.0.8:8443", egress.ReasonNotListed},
		{"ftp", "api.stripe.com", egress.ReasonScheme},
		{"HTTPS", "api.stripe.com", egress.ReasonScheme},
		{"https", "*.stripe.com:8443", egress.ReasonInvalidHost},
		{"https", "", egress.ReasonInvalidHost},
		{"https", "api.stripe.com:443:443", egress.ReasonInvalidHost},
		{"https", "api.stripe.com:99999", egress.ReasonInvalidHost},
		{"https", "api.stripe.com:000443", egress.ReasonInvalidHost},
		{"https", "[api.stripe.com]:443", egress.ReasonInvalidHost},
		{"https", "[fd00::7%eth0]", egress.ReasonInvalidHost},
	}
	for _, tc := range refused {
		t.Run("refused "+tc.scheme+" "+tc.hostport, func(t *testing.T) {
			_, err := list.Match(tc.scheme, tc.hostport)
			require.ErrorIs(t, err, egress.ErrDestinationNotAllowed)
			var de *egress.DestinationError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.reason, de.Reason)
		})
	}
}

func TestDestinationsAreCopies(t *testing.T) {
	nets := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}
	list := newList(t, egress.Destination{Scheme: "http", Host: "Legacy.Internal", Networks: nets})
	nets[0] = netip.MustParsePrefix("0.0.0.0/0") // the caller's slice is not shared

	got := list.Destinations()
	require.Len(t, got, 1)
	assert.Equal(t, "http://legacy.internal:80", got[0].String())
	assert.Equal(t, "10.20.0.0/16", got[0].Networks[0].String())
	got[0].Networks[0] = netip.MustParsePrefix("0.0.0.0/0")
	d, err := list.Match("http", "legacy.internal")
	require.NoError(t, err)
	assert.Equal(t, "10.20.0.0/16", d.Networks[0].String())
	assert.Nil(t, (*egress.List)(nil).Destinations())
}

func TestParseEndpoint(t *testing.T) {
	ep, err := egress.ParseEndpoint("https", "API.Stripe.com.")
	require.NoError(t, err)
	assert.Equal(t, egress.Endpoint{Scheme: "https", Host: "api.stripe.com", Port: 443}, ep)
	assert.Equal(t, "https://api.stripe.com:443", ep.String())

	ep, err = egress.ParseEndpoint("http", "[::ffff:10.0.0.7]")
	require.NoError(t, err)
	assert.Equal(t, "http://10.0.0.7:80", ep.String())

	ep, err = egress.ParseEndpoint("https", "[fd00::7]:8443")
	require.NoError(t, err)
	assert.Equal(t, "[fd00::7]:8443", ep.HostPort())

	_, err = egress.ParseEndpoint("https", "*.stripe.com")
	assert.ErrorIs(t, err, egress.ErrDestinationNotAllowed, "wildcards are for lists, not endpoints")
}
