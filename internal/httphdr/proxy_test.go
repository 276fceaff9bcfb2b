package httphdr

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestProxiesOrigin(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	fwd := &Proxies{Headers: ForwardedHeader, Trusted: trusted}
	xfwd := &Proxies{Headers: XForwardedHeaders, Trusted: trusted}
	peer := netip.MustParseAddr("10.1.2.3")
	cases := []struct {
		name      string
		p         *Proxies
		peer      netip.Addr
		hdr       http.Header
		wantProto string
		wantHost  string
		wantErr   error // nil and wantHost "" means not found
	}{
		{name: "untrusted peer", p: fwd, peer: netip.MustParseAddr("192.0.2.1"), hdr: http.Header{"Forwarded": {"for=192.0.2.9;proto=https;host=a.example"}}},
		{name: "invalid peer", p: fwd, hdr: http.Header{"Forwarded": {"for=192.0.2.9;proto=https;host=a.example"}}},
		{name: "IPv4-mapped peer", p: fwd, peer: netip.MustParseAddr("::ffff:10.1.2.3"), hdr: http.Header{"Forwarded": {"for=192.0.2.9;proto=https;host=a.example"}}, wantProto: "https", wantHost: "a.example"},
		{name: "no header", p: fwd, peer: peer, hdr: http.Header{}},
		{name: "one element", p: fwd, peer: peer, hdr: http.Header{"Forwarded": {"for=192.0.2.9;proto=https;host=a.example"}}, wantProto: "https", wantHost: "a.example"},
		{name: "client element ignored", p: fwd, peer: peer, hdr: http.Header{"Forwarded": {"for=10.0.0.1;proto=https;host=evil.example", "for=192.0.2.9;proto=https;host=a.example"}}, wantProto: "https", wantHost: "a.example"},
		{name: "trusted hops walked to the edge", p: fwd, peer: peer, hdr: http.Header{"Forwarded": {`for=192.0.2.9;proto=https;host=a.example, for="[fd00::1]:80";proto=http;host=inner, for=10.2.2.2;proto=http;host=inner2`}}, wantProto: "https", wantHost: "a.example"},
		{name: "all elements from trusted hops", p: fwd, peer: peer, hdr: http.Header{"Forwarded": {`for=10.0.0.9;proto=https;host=a.example, for=10.2.2.2;proto=http;host=inner2`}}, wantProto: "https", wantHost: "a.example"},
		{name: "obfuscated for stops the walk", p: fwd, peer: peer, hdr: http.Header{"Forwarded": {`for=10.0.0.9;proto=https;host=evil.example, for=_hidden;proto=https;host=a.example`}}, wantProto: "https", wantHost: "a.example"},
		{name: "unknown for stops the walk", p: fwd, peer: peer, hdr: http.Header{"Forwarded": {`for=10.0.0.9;proto=https;host=evil.example, for=unknown;proto=https;host=a.example`}}, wantProto: "https", wantHost: "a.example"},
		{name: "edge element without host", p: fwd, peer: peer, hdr: http.Header{"Forwarded": {`for=192.0.2.9;proto=https, for=10.0.0.9;proto=https;host=inner`}}},
		{name: "X-Forwarded ignored", p: fwd, peer: peer, hdr: http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"evil.example"}}},
		{name: "duplicate host", p: fwd, peer: peer, hdr: http.Header{"Forwarded": {"for=192.0.2.9;host=a.example;host=b.example;proto=https"}}, wantErr: ErrSyntax},
		{name: "malformed client element", p: fwd, peer: peer, hdr: http.Header{"Forwarded": {"host=a/b", "for=192.0.2.9;proto=https;host=a.example"}}, wantErr: ErrSyntax},
		{name: "proto ws", p: fwd, peer: peer, hdr: http.Header{"Forwarded": {"for=192.0.2.9;proto=ws;host=a.example"}}, wantErr: ErrSyntax},
		{name: "x: one value each", p: xfwd, peer: peer, hdr: http.Header{"X-Forwarded-Proto": {"HTTPS"}, "X-Forwarded-Host": {"a.example:8443"}}, wantProto: "https", wantHost: "a.example:8443"},
		{name: "x: Forwarded ignored", p: xfwd, peer: peer, hdr: http.Header{"Forwarded": {"for=192.0.2.9;proto=https;host=evil.example"}}},
		{name: "x: host only", p: xfwd, peer: peer, hdr: http.Header{"X-Forwarded-Host": {"a.example"}}},
		{name: "x: list", p: xfwd, peer: peer, hdr: http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"evil.example,a.example"}}, wantErr: ErrConflict},
		{name: "x: two lines", p: xfwd, peer: peer, hdr: http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"a.example", "a.example"}}, wantErr: ErrConflict},
		{name: "x: proto list", p: xfwd, peer: peer, hdr: http.Header{"X-Forwarded-Proto": {"http, https"}, "X-Forwarded-Host": {"a.example"}}, wantErr: ErrConflict},
		{name: "x: bad host", p: xfwd, peer: peer, hdr: http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"a.example/x"}}, wantErr: ErrSyntax},
		{name: "x: bad proto", p: xfwd, peer: peer, hdr: http.Header{"X-Forwarded-Proto": {"gopher"}, "X-Forwarded-Host": {"a.example"}}, wantErr: ErrSyntax},
		{name: "no family", p: &Proxies{Trusted: trusted}, peer: peer, hdr: http.Header{"Forwarded": {"for=192.0.2.9;proto=https;host=a.example"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			proto, host, found, err := tc.p.Origin(tc.peer, tc.hdr.Values)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
				assert.False(t, found)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tc.wantHost != "", found)
			assert.Equal(t, tc.wantProto, proto)
			assert.Equal(t, tc.wantHost, host)
		})
	}
	t.Run("gRPC metadata style lookup", func(t *testing.T) {
		md := map[string][]string{"forwarded": {"for=192.0.2.9;proto=https;host=a.example"}}
		_, host, found, err := fwd.Origin(peer, func(k string) []string { return md[strings.ToLower(k)] })
		assert.NoError(t, err)
		assert.True(t, found)
		assert.Equal(t, "a.example", host)
	})
}

func TestNodeAddr(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.60": "192.0.2.60", "192.0.2.60:4711": "192.0.2.60", "[2001:db8:cafe::17]": "2001:db8:cafe::17",
		"[2001:db8:cafe::17]:4711": "2001:db8:cafe::17", "[::ffff:10.0.0.1]": "10.0.0.1",
		"unknown": "", "_gazonk": "", "": "", "[2001:db8::1": "", "[2001:db8::1]x": "", "[2001:db8::1]:": "",
		"192.0.2.60:": "", "2001:db8::1": "", "[192.0.2.1]": "", "[fe80::1%eth0]": "", "10.0.0.1.example": "",
	} {
		t.Run(in, func(t *testing.T) {
			a, ok := NodeAddr(in)
			assert.Equal(t, want != "", ok)
			if ok {
				assert.Equal(t, want, a.String())
			}
		})
	}
}

// FuzzProxiesOrigin checks that Origin never panics and that what it
// returns is an http(s) scheme and a valid host.
func FuzzProxiesOrigin(f *testing.F) {
	f.Add("for=192.0.2.9;proto=https;host=a.example", "https", "a.example")
	f.Add(`for=10.0.0.1;host=x, for="[fd00::1]";proto=http;host=b`, "http,https", "a, b")
	f.Add("for=_x;proto=HTTPS;host=A.example:443", "", "")
	f.Fuzz(func(t *testing.T, fwdv, xproto, xhost string) {
		trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
		h := http.Header{"Forwarded": {fwdv}, "X-Forwarded-Proto": {xproto}, "X-Forwarded-Host": {xhost}}
		for _, fam := range []ProxyHeaders{ForwardedHeader, XForwardedHeaders} {
			p := &Proxies{Headers: fam, Trusted: trusted}
			proto, host, found, err := p.Origin(netip.MustParseAddr("10.0.0.2"), h.Values)
			if err != nil || !found {
				if proto != "" || host != "" {
					t.Fatalf("values returned with found=false")
				}
				continue
			}
			if (proto != "http" && proto != "https") || !ValidHost(host) {
				t.Fatalf("bad origin %q %q", proto, host)
			}
		}
	})
}
