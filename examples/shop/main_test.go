package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShopScenario(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, nil))
	got := out.String()

	for _, want := range []string{
		"storefront: POST /token [client secret, DPoP proof] → 200 OK",
		"storefront: POST /orders [DPoP token, DPoP proof] → 401 Unauthorized use_dpop_nonce",
		"checkout: 201 allow  order for customer-42 via storefront",
		"storefront: POST /orders [DPoP token, DPoP proof] → 201 Created",
		"checkout: 401 deny   dpop: proof replayed",
		"attacker  : POST /orders [DPoP token, DPoP proof] → 401 Unauthorized invalid_dpop_proof",
		"checkout: 401 deny   dpop: DPoP-bound token presented as Bearer",
		"attacker  : POST /orders [Bearer token] → 401 Unauthorized invalid_token",
		"checkout: 401 deny   dpop: token is not bound to the proof key",
		"checkout: 403 deny   storefront lacks scope checkout:write",
		"→ 403 Forbidden insufficient_scope",
		"every request was decided as expected",
	} {
		assert.Contains(t, got, want)
	}
	// No JWT (token or proof) and no client secret ever reaches the output.
	assert.NotContains(t, got, "eyJ")
	assert.NotContains(t, got, "demo-storefront-secret")
}

func TestShopRefusesUnknownFlag(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-nope"})
	require.Error(t, err)
	assert.True(t, strings.Contains(out.String(), "-serve"), "usage lists the flags")
}
