package dpop

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// htNormalized are URIs normalizeHTU accepts, with their normal form.
var htNormalized = []struct {
	name, in, want string
}{
	// RFC 3986 §6.2.2.1 (case), §6.2.2.2 (percent-encoding) and §6.2.3 (scheme-based).
	{"RFC 3986 §6.2.2 case, port and %7e", "HTTP://Example.COM:80/%7euser", "http://example.com/~user"},
	{"RFC 3986 §6.2.2.1 host case", "HTTP://www.Example.com/", "http://www.example.com/"},
	{"RFC 3986 §6.2.2.1 percent-encoding case", "http://example.com/a%c2%b1b", "http://example.com/a%C2%B1b"},
	{"RFC 3986 §6.2.2.2 %7E", "http://example.com/%7Esmith/home.html", "http://example.com/~smith/home.html"},
	{"RFC 3986 §6.2.3 empty path", "http://example.com", "http://example.com/"},
	{"RFC 3986 §6.2.3 empty port", "http://example.com:/", "http://example.com/"},
	{"RFC 3986 §6.2.3 default port", "http://example.com:80/", "http://example.com/"},
	{"https default port", "https://example.com:443/x", "https://example.com/x"},
	{"https keeps port 80", "https://example.com:80/x", "https://example.com:80/x"},
	{"http keeps port 443", "http://example.com:443/x", "http://example.com:443/x"},
	{"other port kept", "https://example.com:8443/x", "https://example.com:8443/x"},
	{"leading zeros in port", "https://example.com:08443/x", "https://example.com:8443/x"},
	{"leading zeros in default port", "https://example.com:00443/x", "https://example.com/x"},
	{"upper-case scheme", "HTTPS://example.com/x", "https://example.com/x"},
	{"unreserved ALPHA decoded", "https://example.com/%41%62", "https://example.com/Ab"},
	{"unreserved DIGIT, -, ., _ decoded", "https://example.com/%31%2D%2E%5F", "https://example.com/1-._"},
	{"percent kept encoded", "https://example.com/100%25", "https://example.com/100%25"},
	{"sub-delims, colon and at sign in path", "https://example.com/a;b=c,d:e@f!$&'()*+", "https://example.com/a;b=c,d:e@f!$&'()*+"},
	// Dot segments, RFC 3986 §5.2.4 and the §5.4.2 abnormal examples resolved against "http://a/b/c/d;p?q".
	{"RFC 3986 §5.2.4 example", "http://a/a/b/c/./../../g", "http://a/a/g"},
	{"RFC 3986 §5.2.4 mid/content=5/../6", "http://a/mid/content=5/../6", "http://a/mid/6"},
	{"RFC 3986 §5.4.2 /./g", "http://a/./g", "http://a/g"},
	{"RFC 3986 §5.4.2 g. is a segment", "http://a/b/c/g.", "http://a/b/c/g."},
	{"RFC 3986 §5.4.2 .g is a segment", "http://a/b/c/.g", "http://a/b/c/.g"},
	{"RFC 3986 §5.4.2 g.. is a segment", "http://a/b/c/g..", "http://a/b/c/g.."},
	{"RFC 3986 §5.4.2 ..g is a segment", "http://a/b/c/..g", "http://a/b/c/..g"},
	{"RFC 3986 §5.4.2 ./../g", "http://a/b/c/./../g", "http://a/b/g"},
	{"RFC 3986 §5.4.2 ./g/.", "http://a/b/c/./g/.", "http://a/b/c/g/"},
	{"RFC 3986 §5.4.2 g/./h", "http://a/b/c/g/./h", "http://a/b/c/g/h"},
	{"RFC 3986 §5.4.2 g/../h", "http://a/b/c/g/../h", "http://a/b/c/h"},
	{"RFC 3986 §5.4.2 g;x=1/./y", "http://a/b/c/g;x=1/./y", "http://a/b/c/g;x=1/y"},
	{"RFC 3986 §5.4.2 g;x=1/../y", "http://a/b/c/g;x=1/../y", "http://a/b/c/y"},
	{"trailing ..", "http://a/b/c/..", "http://a/b/"},
	{"trailing .", "http://a/b/c/.", "http://a/b/c/"},
	{"encoded dot segments", "http://a/b/%2E%2E/c", "http://a/c"},
	{"lower-case encoded dot segments", "http://a/b/%2e%2e/c", "http://a/c"},
	{"half-encoded dot segment", "http://a/b/.%2e/c", "http://a/c"},
	{"encoded single dot", "http://a/b/%2e/c", "http://a/b/c"},
	{"empty segments kept", "http://a/b//c", "http://a/b//c"},
	{"triple dot is a segment", "http://a/.../b", "http://a/.../b"},
	// RFC 9449 §4.3 check 9: query and fragment are ignored.
	{"query dropped", "https://example.com/x?y=1", "https://example.com/x"},
	{"fragment dropped", "https://example.com/x#top", "https://example.com/x"},
	{"query on empty path", "https://example.com?y", "https://example.com/"},
	{"question mark in fragment", "https://example.com/x#a?b", "https://example.com/x"},
	// Hosts.
	{"IPv4", "http://192.0.2.1:80/", "http://192.0.2.1/"},
	{"IPv6 literal, default port", "https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"},
	{"IPv6 literal, other port", "http://[::1]:8080", "http://[::1]:8080/"},
	{"IPv6 with embedded IPv4", "http://[::ffff:192.0.2.1]/", "http://[::ffff:192.0.2.1]/"},
	{"reg-name with unreserved", "https://a-b_c~d.example/", "https://a-b_c~d.example/"},
}

// htRefused are URIs normalizeHTU refuses.
var htRefused = []struct {
	name, in string
}{
	{"userinfo", "https://user@example.com/"},
	{"userinfo with password", "https://user:pw@example.com/"},
	{"empty userinfo", "https://@example.com/"},
	{"lone percent", "https://example.com/%"},
	{"short percent", "https://example.com/%4"},
	{"percent with non-hex", "https://example.com/%zz"},
	{"percent with one non-hex", "https://example.com/%4G"},
	{"non-ASCII path", "https://example.com/caf\u00e9"},
	{"non-ASCII host", "https://b\u00fccher.example/"},
	{"percent-encoded host", "https://ex%61mple.com/"},
	{"empty host", "https:///x"},
	{"empty host with port", "https://:443/x"},
	{"no authority", "https://"},
	{"port with letters", "https://example.com:8o/"},
	{"port with sign", "https://example.com:+443/"},
	{"port longer than five digits", "https://example.com:123456/"},
	{"ftp", "ftp://example.com/"},
	{"ws", "ws://example.com/"},
	{"javascript", "javascript:alert(1)"},
	{"no scheme", "//example.com/x"},
	{"relative path", "/x"},
	{"empty", ""},
	{"port 0", "https://example.com:0/x"},
	{"port out of range", "https://example.com:65536/x"},
	{"scheme only", "https:"},
	{"no double slash", "https:example.com/x"},
	{"single slash", "https:/example.com/x"},
	{"space in path", "https://example.com/a b"},
	{"backslash in path", "https://example.com/a\\b"},
	{"backslash in host", "https://example.com\\evil.example/"},
	{"quote in path", "https://example.com/\"x\""},
	{"angle bracket in path", "https://example.com/<x>"},
	{"control character", "https://example.com/a\x00b"},
	{"sub-delim in host", "https://exa!mple.com/"},
	{"unclosed IPv6", "https://[::1/x"},
	{"empty IPv6", "https://[]/"},
	{"junk after IPv6", "https://[::1]x/"},
	{"non-hex IPv6", "https://[g::1]/"},
	{"IPv6 zone", "https://[fe80::1%25eth0]/"},
	{"colon in reg-name", "https://example.com:80:443/"},
	{"bracket in reg-name", "https://exa]mple.com/"},
	// The path has one canonical form, the one authz decides on
	// (internal/urlpath); what has none is refused, where RFC 3986 alone
	// would keep an encoded "/" or drop ".." at the root (§5.4.2).
	{"encoded slash", "https://example.com/a%2fb"},
	{"encoded backslash", "https://example.com/a%5Cb"},
	{"encoded NUL", "https://example.com/a%00b"},
	{"dot-dot above the root", "http://a/../../../g"},
	{"dot-dot at the root", "http://a/../g"},
	{"only dot-dot", "http://a/.."},
	{"encoded dot-dot above the root", "http://a/%2e%2e/g"},
	{"dot-dot with parameter", "http://a/b/..;/g"},
	{"double-encoded dot-dot", "http://a/b/%252e%252e/g"},
	{"overlong encoded dot", "http://a/b/%c0%ae%c0%ae/g"},
}

func TestNormalizeHTU(t *testing.T) {
	for _, tc := range htNormalized {
		t.Run(tc.name, func(t *testing.T) {
			got, err := normalizeHTU(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			again, err := normalizeHTU(got)
			require.NoError(t, err)
			assert.Equal(t, got, again, "normalization is idempotent")
			assert.True(t, htuMatches(tc.in, tc.want))
			assert.True(t, htuMatches(tc.want, tc.in))
		})
	}
}

func TestNormalizeHTURefuses(t *testing.T) {
	for _, tc := range htRefused {
		t.Run(tc.name, func(t *testing.T) {
			got, err := normalizeHTU(tc.in)
			assert.ErrorIs(t, err, errBadURI)
			assert.Empty(t, got)
		})
	}
}

// TestHTUMatches checks htuMatches beyond normalization: an exact match needs
// no normalization, a refused URI matches nothing else, and URIs that differ
// after normalization do not match.
func TestHTUMatches(t *testing.T) {
	cases := []struct {
		name      string
		htu, want string
		match     bool
	}{
		{"exact", "https://api.example/x", "https://api.example/x", true},
		{"exact, not normalizable", "https://u@api.example/x", "https://u@api.example/x", true},
		{"exact with query on both", "https://api.example/x?a", "https://api.example/x?a", true},
		{"query differs", "https://api.example/x?a", "https://api.example/x?b", true},
		{"userinfo on one side", "https://u@api.example/x", "https://api.example/x", false},
		{"another host", "https://api.example/x", "https://evil.example/x", false},
		{"another scheme", "http://api.example/x", "https://api.example/x", false},
		{"another port", "https://api.example:444/x", "https://api.example/x", false},
		{"path case differs", "https://api.example/X", "https://api.example/x", false},
		{"encoded slash is not a slash", "https://api.example/a%2Fb", "https://api.example/a/b", false},
		{"encoded dot-dot is a dot segment", "https://api.example/x/%2e%2e/admin", "https://api.example/admin", true},
		{"encoded dot-dot does not stay under x", "https://api.example/x/%2e%2e/admin", "https://api.example/x/admin", false},
		{"trailing slash differs", "https://api.example/x/", "https://api.example/x", false},
		{"both refused", "ftp://api.example/x", "ftp://api.example/y", false},
		{"empty", "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.match, htuMatches(tc.htu, tc.want))
			assert.Equal(t, tc.match, htuMatches(tc.want, tc.htu), "symmetric")
		})
	}
}

// FuzzNormalizeHTU checks that normalizeHTU never panics, that its result is a
// fixed point with no query or fragment, and that every accepted URI matches
// itself.
func FuzzNormalizeHTU(f *testing.F) {
	for _, tc := range htNormalized {
		f.Add(tc.in)
	}
	for _, tc := range htRefused {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := normalizeHTU(in)
		if err != nil {
			return
		}
		if strings.ContainsAny(got, "?#") {
			t.Fatalf("normalizeHTU(%q) = %q keeps a query or fragment", in, got)
		}
		if !strings.HasPrefix(got, "http://") && !strings.HasPrefix(got, "https://") {
			t.Fatalf("normalizeHTU(%q) = %q is not an http(s) URI", in, got)
		}
		again, err := normalizeHTU(got)
		if err != nil || again != got {
			t.Fatalf("not idempotent: normalizeHTU(%q) = %q, normalizeHTU(%q) = %q, %v", in, got, got, again, err)
		}
		if !htuMatches(in, in) {
			t.Fatalf("htuMatches(%q, %q) = false", in, in)
		}
		if !htuMatches(in, got) {
			t.Fatalf("htuMatches(%q, %q) = false for its own normal form", in, got)
		}
	})
}
