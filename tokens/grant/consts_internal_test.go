package grant

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ztkit/ztkit/tokens/sts"
)

// grant keeps private copies of the RFC 7523 and RFC 8693 identifiers so
// that a client does not compile the token service (go-spiffe bundles,
// OpenTelemetry metrics); this test keeps the copies equal to package sts's,
// the one place they are defined.
func TestIdentifiersAreSTSs(t *testing.T) {
	assert.Equal(t, sts.TokenTypeAccessToken, tokenTypeAccessToken)
	assert.Equal(t, sts.TokenTypeJWT, tokenTypeJWT)
	assert.Equal(t, sts.GrantTypeTokenExchange, grantTypeExchange)
	assert.Equal(t, sts.GrantTypeClientCredentials, grantTypeClientCreds)
	assert.Equal(t, sts.ClientAssertionTypeJWTBearer, assertionType)
	assert.Equal(t, sts.TokenTypeDPoP, TokenTypeDPoP)
}
