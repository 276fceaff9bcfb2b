package grant

import (
	"errors"
	"strconv"
)

// Errors of this package. Match them with errors.Is; a returned error may wrap
// one with more detail. No error carries an access token, a client secret, a
// client assertion, a subject or actor token, or a DPoP proof.
var (
	// ErrInvalidConfig: a constructor was given an unusable endpoint, client
	// ID, client authentication or option.
	ErrInvalidConfig = errors.New("grant: invalid configuration")
	// ErrRefused: the token endpoint refused the request (HTTP 4xx, RFC 6749
	// §5.2). The error is an [*Error] with the server's error code; sending
	// the same request again will not help.
	ErrRefused = errors.New("grant: token endpoint refused the request")
	// ErrUnavailable: the token endpoint could not be reached or failed
	// (network error, HTTP 5xx or another unexpected status). Retrying later
	// may help. A 5xx is an [*Error] too.
	ErrUnavailable = errors.New("grant: token endpoint unavailable")
	// ErrMalformedResponse: the token endpoint's response is not a token
	// response of RFC 6749 §5.1 (or §5.2 for an error): not JSON of the
	// application/json media type, a duplicate or mistyped member, a missing
	// access_token or token_type, an expires_in that is not a positive
	// number of seconds, a scope outside the grammar of RFC 6749 §3.3, or too
	// large.
	ErrMalformedResponse = errors.New("grant: malformed token endpoint response")
	// ErrTokenType: the token endpoint issued a token of a type the client
	// cannot use: a Bearer (or other) token although a DPoP proof was sent
	// (RFC 9449 §5), or a DPoP token to a client without a proofer.
	ErrTokenType = errors.New("grant: unexpected token type")
	// ErrNoSubjectToken: [Exchanger.AccessToken] was called with a context
	// that carries no subject token ([ContextWithSubjectToken]), or a subject
	// token is empty.
	ErrNoSubjectToken = errors.New("grant: no subject token")
	// ErrClientAuth: the client could not authenticate its request: its
	// secret could not be read, its assertion could not be signed, or (for
	// an exchange) the actor token could not be had. The request was not
	// sent.
	ErrClientAuth = errors.New("grant: client authentication failed")
	// ErrIssuerMismatch: the metadata [Discover] fetched names an issuer
	// other than the one asked for (RFC 8414 §3.3): it must not be used.
	ErrIssuerMismatch = errors.New("grant: authorization server metadata for another issuer")
	// ErrClosed: the Source or Exchanger was closed.
	ErrClosed = errors.New("grant: closed")
)

// Error is a token endpoint's error response (RFC 6749 §5.2, RFC 8693
// §2.2.2). It matches [ErrRefused] with errors.Is when the status is 4xx and
// [ErrUnavailable] otherwise (5xx).
//
// Error() names the status and Code only: Description and URI are the
// server's text and are left to the caller to show or log.
type Error struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Code is the error parameter, such as "invalid_client", "invalid_grant",
	// "invalid_scope", "invalid_target" or "invalid_dpop_proof"; "" when the
	// response had no well-formed error object.
	Code string
	// Description is the error_description parameter, "" when absent.
	Description string
	// URI is the error_uri parameter, "" when absent.
	URI string
}

// Error implements error.
func (e *Error) Error() string {
	s := "grant: token endpoint refused the request: HTTP " + strconv.Itoa(e.StatusCode)
	if e.StatusCode >= 500 {
		s = "grant: token endpoint failed: HTTP " + strconv.Itoa(e.StatusCode)
	}
	if e.Code != "" {
		s += ", error " + strconv.Quote(e.Code)
	}
	return s
}

// Is reports whether target is [ErrRefused] (a 4xx response) or
// [ErrUnavailable] (any other status).
func (e *Error) Is(target error) bool {
	if e.StatusCode >= 400 && e.StatusCode < 500 {
		return target == ErrRefused
	}
	return target == ErrUnavailable
}
