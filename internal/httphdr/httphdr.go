// Package httphdr parses the HTTP header fields ztkit decides on: Authorization
// credentials (RFC 9110 §11.6.2, RFC 6750 §2.1, RFC 9449 §7.1), WWW-Authenticate
// challenges (RFC 9110 §11.6.1) and Forwarded (RFC 7239). The parsers are
// strict: anything outside the grammar is an error, never a best guess.
package httphdr

import (
	"errors"
	"strings"
)

// ErrSyntax reports a header field value outside its grammar.
var ErrSyntax = errors.New("httphdr: malformed header field")

// isTchar reports RFC 9110 §5.6.2 tchar.
func isTchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isToken68 reports RFC 9110 §11.2 token68 characters, before the trailing '='s.
func isToken68(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
}

// ParseAuthorization splits an Authorization value of the form
// `scheme 1*SP token68` (the form of Bearer and DPoP credentials) into its
// scheme, as written, and its token68. Credentials with auth-params, a missing
// token, or any other character are refused.
func ParseAuthorization(v string) (scheme, token string, err error) {
	i := 0
	for i < len(v) && isTchar(v[i]) {
		i++
	}
	if i == 0 || i == len(v) || v[i] != ' ' {
		return "", "", ErrSyntax
	}
	scheme = v[:i]
	for i < len(v) && v[i] == ' ' {
		i++
	}
	token = v[i:]
	if !validToken68(token) {
		return "", "", ErrSyntax
	}
	return scheme, token, nil
}

func validToken68(s string) bool {
	i := 0
	for i < len(s) && isToken68(s[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i == len(s)
}

// Challenge is one WWW-Authenticate challenge.
type Challenge struct {
	// Scheme is the auth-scheme as written; compare it case-insensitively.
	Scheme string
	// Token68 is the challenge's token68, if it has one instead of parameters.
	Token68 string
	// Params are the auth-params, names lower-cased, quoted strings unquoted.
	Params map[string]string
}

// ParseChallenges parses a WWW-Authenticate field value into its challenges.
func ParseChallenges(v string) ([]Challenge, error) {
	p := parser{s: v}
	var out []Challenge
	for {
		p.skipOWS()
		if p.eof() {
			break
		}
		if p.peek() == ',' { // empty list elements are allowed (RFC 9110 §5.6.1)
			p.i++
			continue
		}
		scheme := p.token()
		if scheme == "" {
			return nil, ErrSyntax
		}
		c := Challenge{Scheme: scheme}
		if p.eof() || p.peek() == ',' {
			out = append(out, c)
			continue
		}
		if p.peek() != ' ' {
			return nil, ErrSyntax
		}
		for !p.eof() && p.peek() == ' ' {
			p.i++
		}
		if p.eof() || p.peek() == ',' {
			out = append(out, c)
			continue
		}
		// token68 or the first auth-param.
		save := p.i
		name := p.token()
		p.skipOWS()
		if name == "" || p.eof() || p.peek() != '=' || p.isToken68End() {
			p.i = save
			t := p.token68()
			if t == "" {
				return nil, ErrSyntax
			}
			c.Token68 = t
			p.skipOWS()
			if !p.eof() && p.peek() != ',' {
				return nil, ErrSyntax
			}
			out = append(out, c)
			continue
		}
		c.Params = map[string]string{}
		for {
			p.i++ // '='
			p.skipOWS()
			val, ok := p.value()
			if !ok {
				return nil, ErrSyntax
			}
			lname := strings.ToLower(name)
			if _, dup := c.Params[lname]; dup {
				return nil, ErrSyntax // RFC 9110 §11.2: each parameter name once
			}
			c.Params[lname] = val
			p.skipOWS()
			if p.eof() {
				break
			}
			if p.peek() != ',' {
				return nil, ErrSyntax
			}
			// After a comma: another param of this challenge, or a new challenge.
			comma := p.i
			p.i++
			for {
				p.skipOWS()
				if p.eof() || p.peek() != ',' {
					break
				}
				p.i++
			}
			name = p.token()
			p.skipOWS()
			if name != "" && !p.eof() && p.peek() == '=' {
				continue
			}
			p.i = comma // the outer loop starts the next challenge here
			break
		}
		out = append(out, c)
	}
	return out, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) eof() bool  { return p.i >= len(p.s) }
func (p *parser) peek() byte { return p.s[p.i] }

func (p *parser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *parser) token() string {
	start := p.i
	for p.i < len(p.s) && isTchar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// isToken68End reports whether the '=' at p.i is the padding of a token68
// (followed only by more '=', OWS, a comma or the end) rather than an auth-param.
func (p *parser) isToken68End() bool {
	j := p.i
	for j < len(p.s) && p.s[j] == '=' {
		j++
	}
	for j < len(p.s) && (p.s[j] == ' ' || p.s[j] == '\t') {
		j++
	}
	return j == len(p.s) || p.s[j] == ','
}

func (p *parser) token68() string {
	start := p.i
	for p.i < len(p.s) && isToken68(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return ""
	}
	for p.i < len(p.s) && p.s[p.i] == '=' {
		p.i++
	}
	return p.s[start:p.i]
}

// value reads a token or a quoted-string (RFC 9110 §5.6.4) and unquotes it.
func (p *parser) value() (string, bool) {
	if p.eof() {
		return "", false
	}
	if p.peek() != '"' {
		t := p.token()
		return t, t != ""
	}
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), true
		case c == '\\':
			if p.i+1 >= len(p.s) || !isQdtextOrVchar(p.s[p.i+1]) {
				return "", false
			}
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case isQdtextOrVchar(c):
			b.WriteByte(c)
			p.i++
		default:
			return "", false
		}
	}
	return "", false
}

// isQdtextOrVchar accepts HTAB, SP, visible ASCII and obs-text.
func isQdtextOrVchar(c byte) bool {
	return c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7f)
}

// Forwarded is what ztkit reads of one Forwarded element (RFC 7239 §4).
type Forwarded struct {
	// Proto is the proto parameter, lower-cased ("https"), or "".
	Proto string
	// Host is the host parameter, or "".
	Host string
	// For is the for parameter as sent (RFC 7239 §6: an IP address with an
	// optional port, "unknown" or an obfuscated identifier), or "".
	For string
}

// ParseForwarded parses a Forwarded field value and returns its elements in
// order, first proxy first. Values are checked: proto must be a URI scheme and
// host a URI authority's host[:port] (RFC 7239 §5.3-5.4).
func ParseForwarded(v string) ([]Forwarded, error) {
	p := parser{s: v}
	var out []Forwarded
	for {
		var el Forwarded
		seen := map[string]bool{}
		for {
			p.skipOWS()
			if !p.eof() && p.peek() != ';' && p.peek() != ',' {
				name := strings.ToLower(p.token())
				if name == "" || p.eof() || p.peek() != '=' {
					return nil, ErrSyntax
				}
				p.i++
				val, ok := p.value()
				if !ok || seen[name] {
					return nil, ErrSyntax
				}
				seen[name] = true
				switch name {
				case "proto":
					if !validScheme(val) {
						return nil, ErrSyntax
					}
					el.Proto = strings.ToLower(val)
				case "host":
					if !ValidHost(val) {
						return nil, ErrSyntax
					}
					el.Host = val
				case "for":
					el.For = val
				}
			}
			p.skipOWS()
			if p.eof() || p.peek() == ',' {
				break
			}
			if p.peek() != ';' {
				return nil, ErrSyntax
			}
			p.i++
		}
		out = append(out, el)
		if p.eof() {
			return out, nil
		}
		p.i++ // ','
	}
}

func validScheme(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// ValidHost reports whether s is host[:port] as in a URI authority (RFC 3986
// §3.2.2), with no userinfo: a reg-name of unreserved characters, an IPv4
// address or a bracketed IPv6 literal, and an optional numeric port.
func ValidHost(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	host, port := s, ""
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return false
		}
		host, port = s[1:end], s[end+1:]
		if host == "" || strings.Trim(host, "0123456789abcdefABCDEF:.") != "" {
			return false
		}
		if port != "" {
			if port[0] != ':' {
				return false
			}
			port = port[1:]
			if port == "" {
				return false
			}
		}
	} else {
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			host, port = s[:i], s[i+1:]
			if port == "" {
				return false
			}
		}
		if host == "" {
			return false
		}
		for i := 0; i < len(host); i++ {
			c := host[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
				return false
			}
		}
	}
	if len(port) > 5 {
		return false
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	return true
}
