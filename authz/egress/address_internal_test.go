package egress

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ztkit/ztkit/authn"
)

// TestIsPublic checks the address classes an external name may resolve to,
// at the edges of every special-purpose range.
func TestIsPublic(t *testing.T) {
	special := notPublic()
	public := []string{
		"1.1.1.1", "8.8.8.8", "54.187.174.169", "99.255.255.255", "100.63.255.255", "100.128.0.0",
		"172.15.255.255", "172.32.0.0", "192.0.1.255", "192.0.3.0", "198.17.255.255", "198.20.0.0",
		"223.255.255.255", "2606:4700::1111", "2001:200::1", "2001:db7:ffff::1", "2003::1",
		"64:ff9a::1", "3fff:1000::1", "5eff::1",
	}
	notPublicAddrs := []string{
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "100.64.0.0", "100.127.255.255", "127.0.0.1",
		"169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1",
		"192.168.0.1", "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9", "224.0.0.1",
		"240.0.0.1", "255.255.255.255", "::", "::1", "::a9fe:a9fe", "64:ff9b::a9fe:a9fe",
		"64:ff9b:1::1", "100::1", "2001::1", "2001:1ff::1", "2001:db8::1", "2002:a9fe:a9fe::1",
		"3fff::1", "3fff:fff::1", "5f00::1", "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1",
	}
	for _, s := range public {
		assert.True(t, isPublic(netip.MustParseAddr(s), special), s)
	}
	for _, s := range notPublicAddrs {
		assert.False(t, isPublic(netip.MustParseAddr(s), special), s)
	}
}

// TestAddrAllowed: the address rule of each kind of destination.
func TestAddrAllowed(t *testing.T) {
	special := notPublic()
	compileOne := func(d Destination) *rule {
		r, err := compile(d)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	external := compileOne(Destination{Host: "api.stripe.com"})
	internal := compileOne(Destination{Host: "payments.test", Server: authn.MatchAny()})
	pinned := compileOne(Destination{Host: "api.stripe.com", Networks: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}})
	literal := compileOne(Destination{Host: "10.0.0.7"})

	tests := []struct {
		r    *rule
		addr string
		want bool
	}{
		{external, "8.8.8.8", true},
		{external, "::ffff:8.8.8.8", true},
		{external, "10.0.0.1", false},
		{internal, "10.0.0.1", true},
		{internal, "127.0.0.1", true},
		{internal, "0.0.0.0", false},
		{internal, "ff02::1", false},
		{pinned, "10.20.3.4", true},
		{pinned, "::ffff:10.20.3.4", true},
		{pinned, "8.8.8.8", false},
		{literal, "10.0.0.7", true},
		{literal, "10.0.0.8", false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.r.addrAllowed(netip.MustParseAddr(tc.addr), special), "%s %s", tc.r.dest.Host, tc.addr)
	}
	assert.False(t, external.addrAllowed(netip.Addr{}, special))
}
