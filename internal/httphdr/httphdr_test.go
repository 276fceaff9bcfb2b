package httphdr

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAuthorization(t *testing.T) {
	ok := map[string][2]string{
		// RFC 6750 §2.1 example.
		"Bearer mF_9.B5f-4.1JqM": {"Bearer", "mF_9.B5f-4.1JqM"},
		// RFC 9449 §7.1 example.
		"DPoP Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU": {"DPoP", "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"},
		"bearer  abc==":  {"bearer", "abc=="},
		"DPoP a+b/c=":    {"DPoP", "a+b/c="},
		"Basic dXNlcjpw": {"Basic", "dXNlcjpw"},
	}
	for in, want := range ok {
		t.Run(in, func(t *testing.T) {
			scheme, token, err := ParseAuthorization(in)
			require.NoError(t, err)
			assert.Equal(t, want[0], scheme)
			assert.Equal(t, want[1], token)
		})
	}
	for _, in := range []string{
		"", "Bearer", "Bearer ", " Bearer abc", "Bearer abc ", "Bearer a b", "Bearer =abc", "Bearer ab=c",
		"Bearer\tabc", "Bearer abc,", `Bearer "abc"`, "Bear(er abc", "Bearer a\x00b", "DPoP realm=\"x\", error=\"y\"",
		"Bearer abc\r\nX: y",
	} {
		t.Run("refused "+in, func(t *testing.T) {
			_, _, err := ParseAuthorization(in)
			assert.ErrorIs(t, err, ErrSyntax)
		})
	}
}

func TestParseChallenges(t *testing.T) {
	cases := map[string][]Challenge{
		// RFC 9449 §9 example.
		`DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`: {
			{Scheme: "DPoP", Params: map[string]string{"error": "use_dpop_nonce", "error_description": "Resource server requires nonce in DPoP proof"}},
		},
		// RFC 6750 §3 example.
		`Bearer realm="example", error="invalid_token", error_description="The access token expired"`: {
			{Scheme: "Bearer", Params: map[string]string{"realm": "example", "error": "invalid_token", "error_description": "The access token expired"}},
		},
		// RFC 9449 §7.1: a resource accepting both schemes.
		`DPoP algs="ES256 PS256", Bearer realm="shop"`: {
			{Scheme: "DPoP", Params: map[string]string{"algs": "ES256 PS256"}},
			{Scheme: "Bearer", Params: map[string]string{"realm": "shop"}},
		},
		`Basic, Negotiate abc==, DPoP error=use_dpop_nonce`: {
			{Scheme: "Basic"}, {Scheme: "Negotiate", Token68: "abc=="}, {Scheme: "DPoP", Params: map[string]string{"error": "use_dpop_nonce"}},
		},
		`Bearer realm="a\"b", , ERROR = "x"`: {
			{Scheme: "Bearer", Params: map[string]string{"realm": `a"b`, "error": "x"}},
		},
	}
	for in, want := range cases {
		t.Run(in, func(t *testing.T) {
			got, err := ParseChallenges(in)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
	for _, in := range []string{
		`DPoP error="unterminated`, `DPoP a=b=c`, `DPoP error="a", error="b"`, `DPoP =x`, `(bad`, `DPoP error="x" junk`,
		"DPoP error=\"a\x01\"",
	} {
		t.Run("refused "+in, func(t *testing.T) {
			_, err := ParseChallenges(in)
			assert.ErrorIs(t, err, ErrSyntax)
		})
	}
}

func TestParseForwarded(t *testing.T) {
	cases := map[string][]Forwarded{
		// RFC 7239 §4 examples.
		`for="_gazonk"`:                             {{For: "_gazonk"}},
		`For="[2001:db8:cafe::17]:4711"`:            {{For: "[2001:db8:cafe::17]:4711"}},
		`for=192.0.2.60;proto=http;by=203.0.113.43`: {{Proto: "http", For: "192.0.2.60"}},
		`for=192.0.2.43, for=198.51.100.17`:         {{For: "192.0.2.43"}, {For: "198.51.100.17"}},
		`proto=HTTPS;host=shop.example, for=10.0.0.1;host="api.shop.example:8443";proto=https`: {
			{Proto: "https", Host: "shop.example"}, {Proto: "https", Host: "api.shop.example:8443", For: "10.0.0.1"},
		},
		`host="[::1]:443"`: {{Host: "[::1]:443"}},
	}
	for in, want := range cases {
		t.Run(in, func(t *testing.T) {
			got, err := ParseForwarded(in)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
	for _, in := range []string{
		`host=evil.example/path`, `host="a@b"`, `host="shop.example:"`, `host="shop.example:99999x"`, `proto=1http`,
		`proto=https;proto=http`, `for`, `for=`, `host="unterminated`, `host=a b`, `proto="ht tp"`, `host="[::1"`,
	} {
		t.Run("refused "+in, func(t *testing.T) {
			_, err := ParseForwarded(in)
			assert.ErrorIs(t, err, ErrSyntax)
		})
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer mF_9.B5f-4.1JqM", "DPoP a.b.c", "Bearer", "Bearer a b", "x =", "DPoP abc=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		scheme, token, err := ParseAuthorization(v)
		if err != nil {
			return
		}
		if scheme == "" || token == "" || strings.ContainsAny(scheme+token, " \t\r\n,\"") {
			t.Fatalf("accepted bad credentials: %q %q", scheme, token)
		}
		if !strings.HasPrefix(v, scheme) || !strings.HasSuffix(v, token) {
			t.Fatalf("parts are not from the input")
		}
	})
}

func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{
		`DPoP error="use_dpop_nonce", error_description="x"`, `Bearer realm="a", DPoP algs="ES256"`, `Basic, Negotiate abc==`, `a b=`, `,,`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		cs, err := ParseChallenges(v)
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.Scheme == "" {
				t.Fatalf("challenge without scheme")
			}
			for k := range c.Params {
				if k != strings.ToLower(k) || k == "" {
					t.Fatalf("bad param name %q", k)
				}
			}
		}
	})
}

func FuzzParseForwarded(f *testing.F) {
	for _, s := range []string{
		`for=192.0.2.60;proto=http;by=203.0.113.43`, `proto=https;host="shop.example:443", for=x`, `host="[::1]:1"`, `;;,`, `host=a/b`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		els, err := ParseForwarded(v)
		if err != nil {
			return
		}
		for _, el := range els {
			if el.Host != "" && (!ValidHost(el.Host) || strings.ContainsAny(el.Host, "/?#@ ")) {
				t.Fatalf("accepted bad host %q", el.Host)
			}
			if el.Proto != "" && !validScheme(el.Proto) {
				t.Fatalf("accepted bad proto %q", el.Proto)
			}
		}
	})
}
