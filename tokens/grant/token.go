package grant

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"strings"
	"time"

	"github.com/ztkit/ztkit/internal/jsonscan"
	"github.com/ztkit/ztkit/internal/redacted"
	"github.com/ztkit/ztkit/tokens"
)

// errTokenEncode is GobEncode's refusal.
var errTokenEncode = errors.New("grant: a Token holds an access token and is not encoded")

// Token types as a [Token] names them (RFC 6750, RFC 9449 §5).
const (
	TokenTypeBearer = "Bearer"
	TokenTypeDPoP   = "DPoP"
)

// Token is an access token a token endpoint issued (RFC 6749 §5.1).
//
// AccessToken is secret: a Token prints, logs and marshals without it
// (fmt, slog and encoding/json show [REDACTED] for the whole Token). A Token
// returned by this package is the caller's own copy.
type Token struct {
	// AccessToken is the token to present to resource servers.
	AccessToken string
	// TokenType is TokenTypeDPoP or TokenTypeBearer, canonicalised from the
	// response's case-insensitive token_type.
	TokenType string
	// IssuedAt is the local time just before the request was sent, so that
	// Expiry errs on the early side.
	IssuedAt time.Time
	// Expiry is IssuedAt plus the response's expires_in, or plus the
	// default lifetime ([WithDefaultLifetime]) when the server sent none.
	Expiry time.Time
	// Scopes are the granted scopes: the response's scope, or the requested
	// scopes when the response has none (RFC 6749 §5.1: the server omits
	// scope when it granted the request's). Nil when neither has any. Some
	// servers omit scope even when they granted less (oidc-provider 9 does
	// when it granted none): where it matters, the resource server decides
	// on the token's own scope claim.
	Scopes []string
	// IssuedTokenType is the response's issued_token_type (RFC 8693 §2.2.1),
	// such as "urn:ietf:params:oauth:token-type:access_token"; "" for a
	// grant other than token exchange.
	IssuedTokenType string
}

// String returns [REDACTED].
func (Token) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (Token) GoString() string { return redacted.Marker }

// Format writes [REDACTED] for every verb.
func (Token) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue implements slog.LogValuer: [REDACTED].
func (Token) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON encodes [REDACTED].
func (Token) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }

// MarshalText returns [REDACTED], for the encoders that use it
// (encoding/xml, and JSON map keys).
func (Token) MarshalText() ([]byte, error) { return []byte(redacted.Marker), nil }

// GobEncode refuses: gob would write AccessToken, and a Token is not for
// storing or sending. Keep what you need (the expiry, the scopes) instead.
func (Token) GobEncode() ([]byte, error) { return nil, errTokenEncode }

// maxResponse bounds the token endpoint response body read.
const maxResponse = 64 << 10

// maxLifetime bounds expires_in: a longer value is not a short-lived token
// and is refused as malformed.
const maxLifetime = 366 * 24 * time.Hour

// tokenResponse is a parsed RFC 6749 §5.1 response, before the client's
// own checks (token type against DPoP, issued_token_type for an exchange).
type tokenResponse struct {
	accessToken     string
	tokenType       string // canonical: Bearer, DPoP, or as sent when neither
	expiresIn       time.Duration
	hasExpiresIn    bool
	scope           []string
	hasScope        bool
	issuedTokenType string
}

// isJSON reports whether a Content-Type value is application/json (any
// parameters, such as charset, allowed).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// parseTokenResponse parses a successful token response body strictly (RFC
// 6749 §5.1, RFC 8693 §2.2.1): one JSON object with no duplicate members,
// access_token a non-empty string of visible ASCII without spaces (it goes
// into an Authorization header), token_type a string, expires_in (when
// present) a positive whole number of seconds, scope (when present) in the
// grammar of RFC 6749 §3.3 or "" (servers send it for none granted),
// issued_token_type (when present) a string.
// Other members are ignored (RFC 6749 §5.1: clients ignore unrecognized
// values); refresh_token is not kept.
func parseTokenResponse(body []byte) (*tokenResponse, error) {
	var r tokenResponse
	var seenToken, seenType bool
	o := jsonscan.NewObject(body)
	for o.Next() {
		v := o.Value()
		switch string(o.Key()) {
		case "access_token":
			s, err := v.Str()
			if err != nil || !validAccessToken(s) {
				return nil, fmt.Errorf("%w: access_token is not a token", ErrMalformedResponse)
			}
			r.accessToken, seenToken = s, true
		case "token_type":
			s, err := v.Str()
			if err != nil || s == "" {
				return nil, fmt.Errorf("%w: token_type is not a string", ErrMalformedResponse)
			}
			r.tokenType, seenType = canonicalType(s), true
		case "expires_in":
			if v.Kind != jsonscan.Number {
				return nil, fmt.Errorf("%w: expires_in is not a number", ErrMalformedResponse)
			}
			f, err := v.Float()
			if err != nil || f < 1 || f != math.Trunc(f) || f > maxLifetime.Seconds() {
				return nil, fmt.Errorf("%w: expires_in is not a positive whole number of seconds", ErrMalformedResponse)
			}
			r.expiresIn, r.hasExpiresIn = time.Duration(f)*time.Second, true
		case "scope":
			s, err := v.Str()
			if err != nil {
				return nil, fmt.Errorf("%w: scope is not a string", ErrMalformedResponse)
			}
			if s == "" {
				// Outside the grammar, but unambiguous: none granted.
				r.scope, r.hasScope = nil, true
				continue
			}
			sc, err := tokens.ParseScope(s)
			if err != nil {
				return nil, fmt.Errorf("%w: scope: %w", ErrMalformedResponse, err)
			}
			r.scope, r.hasScope = sc, true
		case "issued_token_type":
			s, err := v.Str()
			if err != nil || s == "" {
				return nil, fmt.Errorf("%w: issued_token_type is not a string", ErrMalformedResponse)
			}
			r.issuedTokenType = s
		}
	}
	if err := o.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	if !seenToken {
		return nil, fmt.Errorf("%w: no access_token", ErrMalformedResponse)
	}
	if !seenType {
		return nil, fmt.Errorf("%w: no token_type", ErrMalformedResponse)
	}
	return &r, nil
}

// parseErrorResponse parses an error response (RFC 6749 §5.2). A body that
// is not a well-formed error object yields an Error with no Code; error,
// error_description and error_uri outside their grammar are dropped.
func parseErrorResponse(status int, contentType string, body []byte) *Error {
	e := &Error{StatusCode: status}
	if !isJSON(contentType) {
		return e
	}
	var code, desc, uri string
	o := jsonscan.NewObject(body)
	for o.Next() {
		v := o.Value()
		s, err := v.Str()
		switch string(o.Key()) {
		case "error":
			if err == nil && validErrorText(s, false) {
				code = s
			}
		case "error_description":
			if err == nil && validErrorText(s, true) {
				desc = s
			}
		case "error_uri":
			if err == nil && validErrorURI(s) {
				uri = s
			}
		}
	}
	if o.Err() != nil {
		return e
	}
	e.Code, e.Description, e.URI = code, desc, uri
	return e
}

// maxErrorText bounds error and error_description.
const maxErrorText = 1024

// validErrorText checks error (1*NQSCHAR, NQSCHAR = %x20-21 / %x23-5B /
// %x5D-7E; no space in a code in practice: RFC 6749 §5.2's codes are
// single words) and error_description (1*NQSCHAR), RFC 6749 Appendix A.7-A.8.
func validErrorText(s string, spaces bool) bool {
	if s == "" || len(s) > maxErrorText {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || (c == ' ' && !spaces) {
			return false
		}
	}
	return true
}

// validErrorURI checks error_uri: %x21 / %x23-5B / %x5D-7E (RFC 6749
// Appendix A.9).
func validErrorURI(s string) bool {
	if s == "" || len(s) > maxErrorText {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// maxAccessToken bounds an access token's length.
const maxAccessToken = 16 << 10

// validAccessToken reports whether s can be an access token sent as
// `Authorization: <scheme> <token>`: 1*VSCHAR (RFC 6749 Appendix A.12)
// without space, which would split the header value.
func validAccessToken(s string) bool {
	if s == "" || len(s) > maxAccessToken {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// canonicalType maps token_type, compared case-insensitively (RFC 6749
// §5.1, §7.1), to TokenTypeBearer or TokenTypeDPoP, and leaves any other
// value as sent.
func canonicalType(s string) string {
	switch {
	case strings.EqualFold(s, TokenTypeBearer):
		return TokenTypeBearer
	case strings.EqualFold(s, TokenTypeDPoP):
		return TokenTypeDPoP
	}
	return s
}
