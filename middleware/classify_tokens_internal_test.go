package middleware

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ztkit/ztkit/tokens"
)

// TestClassifyTokenContentErrors: a token refused for its scope claim or for
// a confirmation ztkit cannot enforce is an invalid token (RFC 6750 §3.1),
// answered 401 invalid_token, not a server fault.
func TestClassifyTokenContentErrors(t *testing.T) {
	for name, err := range map[string]error{
		"invalid scope":            fmt.Errorf("%w: byte 11 is not allowed in a scope-token", tokens.ErrInvalidScope),
		"unsupported confirmation": fmt.Errorf("%w: cnf is empty", tokens.ErrUnsupportedConfirmation),
	} {
		t.Run(name, func(t *testing.T) {
			r := classify(err)
			assert.Equal(t, http.StatusUnauthorized, r.status)
			assert.Equal(t, "invalid_token", r.code)
			assert.Equal(t, ReasonTokenInvalid, r.reason)
		})
	}
}
