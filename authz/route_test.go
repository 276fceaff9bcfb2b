package authz

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/urlpath"
)

func TestParseRoute(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		segs int
	}{
		{"/", true, 1},
		{"GET /", true, 1},
		{"POST /payments/{id}", true, 2},
		{"/admin/{path...}", true, 2},
		{"/static/", true, 2},
		{"/{$}", true, 1},
		{"/a/{$}", true, 2},
		{"/shop.Payments/Charge", true, 2},
		{"", false, 0},
		{"GET", false, 0},
		{"get /a", false, 0},
		{"GET  /a", false, 0},
		{"example.com/a", false, 0},
		{"GET example.com/a", false, 0},
		{"/a//b", false, 0},
		{"/a/../b", false, 0},
		{"/a/./b", false, 0},
		{"/a/{x...}/b", false, 0},
		{"/a/{x...}/", false, 0},
		{"/a/{$}/b", false, 0},
		{"/a/{x}/{x}", false, 0},
		{"/a/{1x}", false, 0},
		{"/a/{}", false, 0},
		{"/a/b{x}", false, 0},
		{"/a%2Fb", false, 0},
		{"/a?b", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := parseRoute(tt.in)
			if !tt.ok {
				assert.ErrorIs(t, err, ErrInvalidRoute)
				return
			}
			require.NoError(t, err)
			assert.Len(t, r.segs, tt.segs)
		})
	}
}

// muxPattern returns the pattern ServeMux routes the request to, "" when it
// matches none (404 or 405), and ok=false when ServeMux redirects instead.
func muxPattern(mux *http.ServeMux, method, path string) (pattern string, ok bool) {
	u, err := url.Parse("http://h" + path)
	if err != nil || u.EscapedPath() != path {
		return "", false
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, &http.Request{Method: method, URL: u, Host: "h", Header: http.Header{}})
	switch rec.Code {
	case http.StatusOK:
		return rec.Body.String(), true
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return "", true
	}
	return "", false
}

// registerAll registers the patterns on a fresh ServeMux, reporting false
// when ServeMux refuses the set (conflicting patterns).
func registerAll(t *testing.T, pats []string) (mux *http.ServeMux, ok bool) {
	mux = http.NewServeMux()
	defer func() {
		if r := recover(); r != nil {
			if !strings.Contains(fmt.Sprint(r), "conflicts with") {
				t.Fatalf("ServeMux rejects patterns %q that parseRoute accepts: %v", pats, r)
			}
			ok = false
		}
	}()
	for _, p := range pats {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(r.Pattern)) })
	}
	return mux, true
}

// checkAgainstMux is the differential check: for patterns parseRoute
// accepts and ServeMux registers, the trie's first match is ServeMux's route.
func checkAgainstMux(t *testing.T, pats []string, method, path string) {
	var accepted []string
	var tr trie
	for _, p := range pats {
		r, err := parseRoute(p)
		if err != nil {
			continue
		}
		accepted = append(accepted, p)
		tr.insert(r)
	}
	mux, ok := registerAll(t, accepted)
	path, err := urlpath.Canonical(path)
	if !ok || err != nil {
		return
	}
	escaped := strings.IndexByte(path, '%') >= 0
	want, ok := muxPattern(mux, method, path)
	if !ok {
		return
	}
	var ms matches
	tr.match(method, path, escaped, &ms)
	got := ""
	if ms.n > 0 {
		got = ms.at(0).pattern
	}
	if got != want {
		t.Fatalf("patterns %q, %s %s: trie matched %q, ServeMux %q", accepted, method, path, got, want)
	}
}

var muxSeeds = []struct {
	pats         string
	method, path string
}{
	{"/\n/a/\n/a/b", "GET", "/a/b"},
	{"/\n/a/\n/a/b", "GET", "/a/c/d"},
	{"GET /a/{x}\n/a/b\nPOST /a/{x}", "POST", "/a/b"},
	{"GET /a/{x}\n/a/b\nPOST /a/{x}", "HEAD", "/a/z"},
	{"/a/{x...}\n/a/{$}\n/{$}", "GET", "/a/"},
	{"/a/{x...}\n/a/{$}\n/{$}", "GET", "/"},
	{"/a/{x}/c\n/a/b/{y}", "GET", "/a/b/c"},
	{"/a/{x}\n/a/{x}/", "GET", "/a/%2F"},
	{"/shop.Payments/Charge\n/shop.Payments/{m}", "POST", "/shop.Payments/Charge"},
	{"GET /{a}/{b}\nGET /x/{b...}", "GET", "/x/y"},
}

func TestRouteMatchesServeMux(t *testing.T) {
	for _, s := range muxSeeds {
		checkAgainstMux(t, strings.Split(s.pats, "\n"), s.method, s.path)
	}
}

func FuzzRouteMatch(f *testing.F) {
	for _, s := range muxSeeds {
		f.Add(s.pats, s.method, s.path)
	}
	f.Fuzz(func(t *testing.T, pats, method, path string) {
		if method == "" || strings.ContainsFunc(method, func(r rune) bool { return r < 'A' || r > 'Z' }) || len(pats) > 512 {
			return
		}
		list := strings.Split(pats, "\n")
		if len(list) > 8 {
			return
		}
		checkAgainstMux(t, list, method, path)
	})
}
