package authz

import (
	"fmt"
	"net/url"
	"strings"
)

// segKind is the kind of one segment of a route pattern.
type segKind uint8

const (
	segLiteral segKind = iota // a literal segment; "{$}" is the literal "/"
	segWild                   // {name}: exactly one non-empty segment
	segMulti                  // {name...} or a trailing slash: the rest of the path
)

type segment struct {
	kind segKind
	s    string // the literal, or the wildcard's name
}

// route is a parsed ServeMux pattern.
type route struct {
	raw    string
	method string // "" for any method
	segs   []segment
}

// parseRoute parses a net/http.ServeMux pattern without a host. It is
// stricter than ServeMux: the method is upper-case letters followed by one
// space, and percent-escapes, empty, "." and ".." segments are refused.
func parseRoute(s string) (route, error) {
	r := route{raw: s}
	if s == "" {
		return r, fmt.Errorf("%w: empty", ErrInvalidRoute)
	}
	rest := s
	if s[0] != '/' {
		i := strings.IndexByte(s, ' ')
		if i <= 0 {
			return r, fmt.Errorf("%w %q: want [METHOD ]/path (hosts are not supported)", ErrInvalidRoute, s)
		}
		r.method, rest = s[:i], s[i+1:]
		for _, c := range []byte(r.method) {
			if c < 'A' || c > 'Z' {
				return r, fmt.Errorf("%w %q: method must be upper-case letters", ErrInvalidRoute, s)
			}
		}
		if rest == "" || rest[0] != '/' {
			return r, fmt.Errorf("%w %q: path must start with / after one space (hosts are not supported)", ErrInvalidRoute, s)
		}
	}
	if strings.ContainsAny(rest, "% \t\r\n?#") {
		return r, fmt.Errorf("%w %q: percent-escapes, spaces, '?' and '#' are not supported", ErrInvalidRoute, s)
	}
	if rest == "/" {
		r.segs = []segment{{kind: segMulti}}
		return r, nil
	}
	parts := strings.Split(rest[1:], "/")
	names := map[string]bool{}
	for i, p := range parts {
		last := i == len(parts)-1
		switch {
		case p == "" && last:
			r.segs = append(r.segs, segment{kind: segMulti})
		case p == "":
			return r, fmt.Errorf("%w %q: empty segment", ErrInvalidRoute, s)
		case p == "." || p == "..":
			return r, fmt.Errorf("%w %q: dot segment", ErrInvalidRoute, s)
		case p == "{$}":
			if !last {
				return r, fmt.Errorf("%w %q: {$} must end the pattern", ErrInvalidRoute, s)
			}
			r.segs = append(r.segs, segment{kind: segLiteral, s: "/"})
		case p[0] == '{' && p[len(p)-1] == '}':
			name, multi := strings.CutSuffix(p[1:len(p)-1], "...")
			if !validName(name) {
				return r, fmt.Errorf("%w %q: bad wildcard name %q", ErrInvalidRoute, s, name)
			}
			if names[name] {
				return r, fmt.Errorf("%w %q: duplicate wildcard %q", ErrInvalidRoute, s, name)
			}
			names[name] = true
			if multi && !last {
				return r, fmt.Errorf("%w %q: {%s...} must end the pattern", ErrInvalidRoute, s, name)
			}
			k := segWild
			if multi {
				k = segMulti
			}
			r.segs = append(r.segs, segment{kind: k, s: name})
		case strings.ContainsAny(p, "{}"):
			return r, fmt.Errorf("%w %q: a wildcard must be a whole segment", ErrInvalidRoute, s)
		default:
			r.segs = append(r.segs, segment{kind: segLiteral, s: p})
		}
	}
	return r, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// node is a trie node. A node ends a pattern when pattern is non-empty.
type node struct {
	lit     map[string]*node
	wild    *node
	multi   *node
	pattern string  // the first pattern text that ends here
	forbid  []int32 // enforced forbid rules ending here, in policy order
	allow   []int32 // enforced allow rules
	shadow  []int32 // shadow rules of either effect
}

// trie indexes rules by method, then path segment.
type trie struct {
	common    [numCommonMethods]*node // by methodIndex
	methods   map[string]*node        // other methods
	anyMethod *node
}

// numCommonMethods is how many methods methodIndex knows: their patterns
// are found without hashing the method.
const numCommonMethods = 7

// methodIndex returns the index of a common method, GET being 0, or -1.
func methodIndex(m string) int {
	switch m {
	case "GET":
		return 0
	case "POST":
		return 1
	case "PUT":
		return 2
	case "PATCH":
		return 3
	case "DELETE":
		return 4
	case "HEAD":
		return 5
	case "OPTIONS":
		return 6
	}
	return -1
}

// rootFor returns the root node of method's patterns ("" for the patterns
// without a method), creating it.
func (t *trie) rootFor(method string) *node {
	var slot **node
	switch i := methodIndex(method); {
	case method == "":
		slot = &t.anyMethod
	case i >= 0:
		slot = &t.common[i]
	default:
		if t.methods == nil {
			t.methods = map[string]*node{}
		}
		n := t.methods[method]
		if n == nil {
			n = &node{}
			t.methods[method] = n
		}
		return n
	}
	if *slot == nil {
		*slot = &node{}
	}
	return *slot
}

// root returns the root node of method's patterns, nil if it has none.
func (t *trie) root(method string) *node {
	if i := methodIndex(method); i >= 0 {
		return t.common[i]
	}
	return t.methods[method]
}

func (t *trie) insert(r route) *node {
	n := t.rootFor(r.method)
	for _, s := range r.segs {
		var next **node
		switch s.kind {
		case segWild:
			next = &n.wild
		case segMulti:
			next = &n.multi
		default:
			if n.lit == nil {
				n.lit = map[string]*node{}
			}
			c := n.lit[s.s]
			if c == nil {
				c = &node{}
				n.lit[s.s] = c
			}
			n = c
			continue
		}
		if *next == nil {
			*next = &node{}
		}
		n = *next
	}
	if n.pattern == "" {
		n.pattern = r.raw
	}
	return n
}

// matches collects the nodes whose patterns match a request, in
// net/http.ServeMux precedence order: the first is the pattern ServeMux
// would route to. It holds up to 8 without allocating.
type matches struct {
	n     int
	fixed [8]*node
	more  []*node
}

func (m *matches) add(n *node) {
	if m.n < len(m.fixed) {
		m.fixed[m.n] = n
	} else {
		m.more = append(m.more, n)
	}
	m.n++
}

func (m *matches) at(i int) *node {
	if i < len(m.fixed) {
		return m.fixed[i]
	}
	return m.more[i-len(m.fixed)]
}

// match finds every pattern that matches method and the escaped path, with
// ServeMux's rules: GET patterns match HEAD, and patterns without a method
// match every method.
// escaped says whether path holds a percent escape to decode in segments.
func (t *trie) match(method, path string, escaped bool, m *matches) {
	if n := t.root(method); n != nil {
		n.walk(path, escaped, m)
	}
	if method == "HEAD" {
		if n := t.root("GET"); n != nil {
			n.walk(path, escaped, m)
		}
	}
	if t.anyMethod != nil {
		t.anyMethod.walk(path, escaped, m)
	}
}

// walk mirrors net/http's routingNode.matchPath, but explores every branch:
// literal child, then single wildcard, then multi wildcard.
func (n *node) walk(path string, escaped bool, m *matches) {
	if path == "" {
		if n.pattern != "" {
			m.add(n)
		}
		return
	}
	seg, rest := firstSegment(path, escaped)
	if c := n.lit[seg]; c != nil {
		c.walk(rest, escaped, m)
	}
	if n.wild != nil && seg != "/" {
		n.wild.walk(rest, escaped, m)
	}
	if n.multi != nil && n.multi.pattern != "" {
		m.add(n.multi)
	}
}

// firstSegment splits path like net/http's firstSegment: "/" alone is the
// segment "/", which only {$} matches. The segment is unescaped when
// escaped says the path holds a percent escape. path is canonical
// (urlpath.Canonical), so the escapes are valid and none encodes "/".
func firstSegment(path string, escaped bool) (seg, rest string) {
	if path == "/" {
		return "/", ""
	}
	path = path[1:]
	i := strings.IndexByte(path, '/')
	if i < 0 {
		i = len(path)
	}
	seg, rest = path[:i], path[i:]
	if escaped && strings.IndexByte(seg, '%') >= 0 {
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
	}
	return seg, rest
}
