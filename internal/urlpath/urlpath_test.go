package urlpath

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// canonCases are paths already canonical or canonicalised by both functions.
var canonCases = []struct{ name, in, want string }{
	{"root", "/", "/"},
	{"plain", "/orders/123", "/orders/123"},
	{"trailing slash kept", "/a/", "/a/"},
	{"unreserved decoded (RFC 3986 §6.2.2.2)", "/%7Ealice/%41%2d%5F", "/~alice/A-_"},
	{"hex upper-cased (RFC 3986 §6.2.2.1)", "/caf%c3%a9", "/caf%C3%A9"},
	{"reserved stays encoded", "/a%3bb/%3F/%23", "/a%3Bb/%3F/%23"},
	{"raw sub-delims kept", "/a;b=c/$!'()*+,:@&", "/a;b=c/$!'()*+,:@&"},
	{"raw bracket encoded", "/a[b]", "/a%5Bb%5D"},
	{"raw UTF-8 encoded", "/café", "/caf%C3%A9"},
	{"dots inside a segment", "/a.b/...", "/a.b/..."},
	{"dot segment look-alike", "/..a/.b/a..", "/..a/.b/a.."},
	{"encoded percent alone", "/100%25", "/100%25"},
	{"encoded percent then non-hex", "/100%25zz", "/100%25zz"},
	{"encoded space", "/a%20b", "/a%20b"},
	{"U+FFFD is UTF-8", "/%EF%BF%BD", "/%EF%BF%BD"},
	{"four-byte UTF-8", "/%F0%9F%9B%92", "/%F0%9F%9B%92"},
}

// resolveCases are paths Resolve canonicalises and Canonical refuses.
var resolveCases = []struct {
	name, in, want string
	canonErr       error
}{
	{"dot-dot (RFC 3986 §5.2.4)", "/a/b/../c", "/a/c", ErrDotSegment},
	{"dot", "/a/./b", "/a/b", ErrDotSegment},
	{"trailing dot-dot", "/a/b/..", "/a/", ErrDotSegment},
	{"trailing dot", "/a/.", "/a/", ErrDotSegment},
	{"encoded dot-dot lower", "/x/%2e%2e/admin/users", "/admin/users", ErrDotSegment},
	{"encoded dot-dot upper", "/x/%2E%2E/admin/users", "/admin/users", ErrDotSegment},
	{"half-encoded dot-dot", "/x/.%2e/admin", "/admin", ErrDotSegment},
	{"half-encoded dot-dot reversed", "/x/%2E./admin", "/admin", ErrDotSegment},
	{"encoded dot", "/x/%2e/admin", "/x/admin", ErrDotSegment},
	{"empty segment", "/a//b", "/a//b", ErrEmptySegment},
	{"leading empty segment", "//a", "//a", ErrEmptySegment},
}

// refusals are refused by both functions.
var refusals = []struct {
	name, in string
	want     error
	// canonWant, when set, is Canonical's error; want is Resolve's.
	canonWant error
}{
	{"empty", "", ErrNotAbsolute, nil},
	{"relative", "a/b", ErrNotAbsolute, nil},
	{"climb above root", "/..", ErrAboveRoot, ErrDotSegment},
	{"encoded climb above root", "/%2e%2e/etc/passwd", ErrAboveRoot, ErrDotSegment},
	{"climb above root later", "/a/../../b", ErrAboveRoot, ErrDotSegment},
	{"encoded slash", "/a%2Fb", ErrEncodedSeparator, nil},
	{"encoded slash lower", "/a%2fb", ErrEncodedSeparator, nil},
	{"encoded backslash", "/a%5cb", ErrEncodedSeparator, nil},
	{"raw backslash", `/a\..\b`, ErrEncodedSeparator, nil},
	{"encoded NUL", "/a%00b", ErrControl, nil},
	{"raw NUL", "/a\x00b", ErrControl, nil},
	{"encoded newline", "/a%0Ab", ErrControl, nil},
	{"encoded DEL", "/a%7f", ErrControl, nil},
	{"raw tab", "/a\tb", ErrControl, nil},
	{"truncated escape", "/a%2", ErrBadEscape, nil},
	{"lone percent", "/a%", ErrBadEscape, nil},
	{"non-hex escape", "/a%zzb", ErrBadEscape, nil},
	{"raw space", "/a b", ErrBadChar, nil},
	{"raw question mark", "/a?b", ErrBadChar, nil},
	{"raw hash", "/a#b", ErrBadChar, nil},
	{"overlong dot", "/%C0%AE%C0%AE/admin", ErrInvalidUTF8, nil},
	{"lone continuation byte", "/%80", ErrInvalidUTF8, nil},
	{"raw invalid UTF-8", "/\xff", ErrInvalidUTF8, nil},
	{"truncated UTF-8", "/%E2%82", ErrInvalidUTF8, nil},
	{"encoded surrogate", "/%ED%A0%80", ErrInvalidUTF8, nil},
	{"double-encoded dot-dot", "/x/%252e%252e/admin", ErrDoubleEncoding, nil},
	{"double-encoded slash", "/a%252Fb", ErrDoubleEncoding, nil},
	{"dot-dot with parameter", "/x/..;/admin", ErrDotSegment, nil},
	{"dot with parameter", "/x/.;a=b/admin", ErrDotSegment, nil},
	{"encoded dot-dot with parameter", "/x/%2e%2e;/admin", ErrDotSegment, nil},
	{"dot-dot with encoded semicolon", "/x/..%3b/admin", ErrDotSegment, nil},
}

func TestCanonical(t *testing.T) {
	for _, tc := range canonCases {
		t.Run(tc.name, func(t *testing.T) {
			for name, f := range map[string]func(string) (string, error){"Canonical": Canonical, "Resolve": Resolve} {
				got, err := f(tc.in)
				require.NoError(t, err, name)
				assert.Equal(t, tc.want, got, name)
			}
		})
	}
	for _, tc := range resolveCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			_, err = Canonical(tc.in)
			assert.ErrorIs(t, err, tc.canonErr)
			assert.ErrorIs(t, err, ErrInvalid)
		})
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			for name, f := range map[string]func(string) (string, error){"Canonical": Canonical, "Resolve": Resolve} {
				got, err := f(tc.in)
				want := tc.want
				if name == "Canonical" && tc.canonWant != nil {
					want = tc.canonWant
				}
				assert.ErrorIs(t, err, want, name)
				assert.ErrorIs(t, err, ErrInvalid, name)
				assert.Empty(t, got, name)
			}
		})
	}
}

// TestCanonicalNoAlloc locks in the fast path: an already canonical path is
// returned as is, without allocating.
func TestCanonicalNoAlloc(t *testing.T) {
	long := "/" + strings.Repeat("caf%C3%A9/", 20) + "x"
	for _, p := range []string{"/payments/p-123/capture", "/caf%C3%A9/a%20b", "/a/", long} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := Canonical(p); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs, p)
	}
}

// TestDecodedAgreesWithNetURL checks that the canonical path decodes, with
// net/url, to the same path as the input: canonicalisation never changes
// which resource a Go handler sees.
func TestDecodedAgreesWithNetURL(t *testing.T) {
	for _, tc := range canonCases {
		want, err := url.PathUnescape(tc.in)
		require.NoError(t, err)
		got, err := url.PathUnescape(tc.want)
		require.NoError(t, err)
		assert.Equal(t, want, got, tc.name)
	}
}

func FuzzCanonical(f *testing.F) {
	for _, tc := range canonCases {
		f.Add(tc.in)
	}
	for _, tc := range resolveCases {
		f.Add(tc.in)
	}
	for _, tc := range refusals {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, cerr := Canonical(p)
		r, rerr := Resolve(p)
		for _, e := range []error{cerr, rerr} {
			if e != nil && !errors.Is(e, ErrInvalid) {
				t.Fatalf("untyped error %v", e)
			}
		}
		if cerr == nil {
			if rerr != nil || r != c {
				t.Fatalf("Canonical accepts what Resolve does not agree on")
			}
			if again, err := Canonical(c); err != nil || again != c {
				t.Fatalf("Canonical is not idempotent")
			}
		}
		if rerr != nil {
			return
		}
		if again, err := Resolve(r); err != nil || again != r {
			t.Fatalf("Resolve is not idempotent")
		}
		for _, seg := range strings.Split(r[1:], "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("dot segment in output")
			}
		}
		d, err := url.PathUnescape(r)
		if err != nil || strings.ContainsAny(d, "\\\x00") || !utf8.ValidString(d) {
			t.Fatalf("output does not decode to a clean path")
		}
		if strings.Contains(d, "/../") || strings.HasSuffix(d, "/..") {
			t.Fatalf("decoded output has a dot segment")
		}
	})
}

// BenchmarkCanonical times the fast path, an already canonical path, and a
// path that needs rewriting.
func BenchmarkCanonical(b *testing.B) {
	for _, p := range []string{"/payments/p-123/capture", "/payments/%70-123/capture"} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Canonical(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
