package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/sts"
)

// TestIdentityMetadata: the identity service publishes RFC 8414 metadata
// that says what its token endpoint does, so that standard clients can
// configure themselves.
func TestIdentityMetadata(t *testing.T) {
	ctx := context.Background()
	w, err := newWorkloads(ctx, "")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, w.Close()) })
	sk, err := newSigningKey()
	require.NoError(t, err)
	keys, err := tokens.NewKeySet(sk)
	require.NoError(t, err)
	issuer, err := tokens.NewIssuer(identityIssuer, keys)
	require.NoError(t, err)
	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	id, err := newIdentity(srv.URL, keys, issuer, w, w.jwt, clientKey, nil)
	require.NoError(t, err)
	srv.Config.Handler = id.routes()

	resp, err := http.Get(srv.URL + "/.well-known/oauth-authorization-server")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var md sts.Metadata
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&md))
	assert.Equal(t, identityIssuer, md.Issuer)
	assert.Equal(t, srv.URL+"/token", md.TokenEndpoint)
	assert.Equal(t, srv.URL+"/.well-known/jwks.json", md.JWKSURI)
	assert.ElementsMatch(t, []string{sts.GrantTypeTokenExchange, sts.GrantTypeClientCredentials}, md.GrantTypesSupported)
	assert.Contains(t, md.TokenEndpointAuthMethodsSupported, sts.AuthMethodPrivateKeyJWT)
	assert.Contains(t, md.DPoPSigningAlgValuesSupported, "ES256")
}
