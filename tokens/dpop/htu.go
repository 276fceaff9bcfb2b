package dpop

import (
	"errors"
	"strings"

	"github.com/ztkit/ztkit/internal/urlpath"
)

var errBadURI = errors.New("dpop: not an absolute http(s) URI")

// normalizeHTU returns the http(s) URI s without query and fragment, after the
// syntax-based and scheme-based normalization of RFC 3986 §6.2.2-6.2.3 that
// RFC 9449 §4.3 asks for: lower-case scheme and host, default port removed,
// percent-encodings upper-cased and decoded where they encode unreserved
// characters, dot segments removed, an empty path made "/". URIs with userinfo,
// characters outside the grammar, or bad percent-encodings are refused.
func normalizeHTU(s string) (string, error) {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	colon := strings.IndexByte(s, ':')
	if colon <= 0 {
		return "", errBadURI
	}
	scheme := strings.ToLower(s[:colon])
	if scheme != "http" && scheme != "https" {
		return "", errBadURI
	}
	rest := s[colon+1:]
	if !strings.HasPrefix(rest, "//") {
		return "", errBadURI
	}
	rest = rest[2:]
	slash := strings.IndexByte(rest, '/')
	authority, path := rest, ""
	if slash >= 0 {
		authority, path = rest[:slash], rest[slash:]
	}
	host, err := normalizeAuthority(scheme, authority)
	if err != nil {
		return "", err
	}
	p, err := normalizePath(path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(scheme) + 3 + len(host) + len(p))
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	b.WriteString(p)
	return b.String(), nil
}

func normalizeAuthority(scheme, a string) (string, error) {
	if a == "" || strings.IndexByte(a, '@') >= 0 {
		return "", errBadURI
	}
	host, port := a, ""
	if a[0] == '[' {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", errBadURI
		}
		host, port = a[:end+1], a[end+1:]
		if port != "" {
			if port[0] != ':' {
				return "", errBadURI
			}
			port = port[1:]
		}
		if strings.Trim(host[1:len(host)-1], "0123456789abcdefABCDEF:.") != "" || len(host) == 2 {
			return "", errBadURI
		}
	} else if i := strings.LastIndexByte(a, ':'); i >= 0 {
		host, port = a[:i], a[i+1:]
	}
	if host == "" {
		return "", errBadURI
	}
	bracketed := host[0] == '['
	for i := 0; i < len(host); i++ {
		c := host[i]
		if isUnreserved(c) || (bracketed && (c == ':' || (c == '[' && i == 0) || (c == ']' && i == len(host)-1))) {
			continue
		}
		return "", errBadURI // no percent-encoded, sub-delim or stray bracket/colon hosts
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return "", errBadURI
		}
	}
	if port != "" {
		port = strings.TrimLeft(port, "0")
		if port == "" || len(port) > 5 || (len(port) == 5 && port > "65535") {
			return "", errBadURI // port 0 or out of range
		}
		if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
			port = ""
		}
	}
	host = strings.ToLower(host)
	if port != "" {
		return host + ":" + port, nil
	}
	return host, nil
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func isPchar(c byte) bool {
	return isUnreserved(c) || strings.IndexByte("!$&'()*+,;=:@/", c) >= 0
}

// normalizePath returns the canonical form of an htu's path (package
// internal/urlpath, the form authz decides on): percent-encodings
// normalized, dot segments removed. Characters outside the RFC 3986 path
// grammar are refused, as is what urlpath refuses: encoded "/" or "\",
// control characters, double encodings, dot segments that climb above the
// root or carry ";" parameters, and encodings that are not UTF-8.
func normalizePath(p string) (string, error) {
	if p == "" {
		return "/", nil
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c != '%' && !isPchar(c) {
			return "", errBadURI
		}
	}
	out, err := urlpath.Resolve(p)
	if err != nil {
		return "", errBadURI
	}
	return out, nil
}

// htuMatches reports whether the proof's htu names the same resource as want,
// comparing after normalization. An exact match needs no normalization.
func htuMatches(htu, want string) bool {
	if want == "" {
		return false
	}
	if htu == want && !strings.ContainsAny(htu, "?#") {
		return true
	}
	a, err := normalizeHTU(htu)
	if err != nil {
		return false
	}
	b, err := normalizeHTU(want)
	return err == nil && a == b
}
