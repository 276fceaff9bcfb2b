package tokens

import (
	"fmt"
	"strings"
)

// ParseScope splits s, a scope claim (RFC 9068 §2.2.3, RFC 8693 §4.2) or an
// OAuth scope parameter, into its scope-tokens, strictly by the grammar of
// RFC 6749 §3.3:
//
//	scope       = scope-token *( SP scope-token )
//	scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
//
// Tokens are separated by exactly one space (0x20); no other white space
// separates them (not tab, vertical tab, no-break space, U+2028 or U+3000),
// and none may appear inside a token, nor may '"', '\', a control character
// or any byte outside ASCII. An empty s, a leading or trailing space and two
// spaces in a row are refused too. Anything that does not match the grammar
// fails with an error matching [ErrInvalidScope] and no scopes: a value that
// is not a scope is never split into scopes.
//
// The result is a new slice the caller owns. Duplicate tokens are kept.
func ParseScope(s string) ([]string, error) {
	n := 1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			if i == 0 || i == len(s)-1 || s[i-1] == ' ' {
				return nil, fmt.Errorf("%w: empty scope-token at byte %d", ErrInvalidScope, i)
			}
			n++
		case !isNQChar(c):
			return nil, fmt.Errorf("%w: byte %d is not allowed in a scope-token", ErrInvalidScope, i)
		}
	}
	if s == "" {
		return nil, fmt.Errorf("%w: empty scope", ErrInvalidScope)
	}
	out := make([]string, 0, n)
	for {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return append(out, s), nil
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
}

// FormatScope joins scopes into a scope value (RFC 6749 §3.3): the tokens
// separated by single spaces. It fails with an error matching
// [ErrInvalidScope] when scopes is empty or any element is not a
// scope-token (see [ParseScope]), so that ParseScope(FormatScope(x)) is x.
func FormatScope(scopes []string) (string, error) {
	if len(scopes) == 0 {
		return "", fmt.Errorf("%w: no scopes", ErrInvalidScope)
	}
	n := len(scopes) - 1
	for i, s := range scopes {
		if !IsScopeToken(s) {
			return "", fmt.Errorf("%w: scope %d is not a scope-token", ErrInvalidScope, i)
		}
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for i, s := range scopes {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// IsScopeToken reports whether s is one scope-token of RFC 6749 §3.3: one or
// more of the printable ASCII characters other than space, '"' and '\'.
func IsScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNQChar(s[i]) {
			return false
		}
	}
	return true
}

// isNQChar reports whether c is an NQCHAR of RFC 6749 Appendix A:
// %x21 / %x23-5B / %x5D-7E.
func isNQChar(c byte) bool {
	return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\'
}
