package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/internal/test/testenv"
)

func TestShopScenario(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, nil))
	got := out.String()

	for _, want := range []string{
		"spiffe:   trust domain shop.example, embedded issuer (authn/spiffetest) serving the Workload API at unix://",
		"checkout: is spiffe://shop.example/checkout (X509-SVID from the Workload API); accepts mTLS from spiffe://shop.example/storefront only",
		"storefront: is spiffe://shop.example/storefront (X509-SVID issued directly by the same CA",
		"checkout: 201 allow  order for customer-42 via storefront from spiffe://shop.example/storefront (mtls+dpop,",
	} {
		assert.Contains(t, got, want)
	}
	assertScenario(t, got, "spiffe://shop.example/storefront")
}

// TestShopWithWorkloadAPI runs the -workload-api path against an issuer that,
// like a SPIRE agent with one registration entry for this uid, serves every
// caller the same SVID.
func TestShopWithWorkloadAPI(t *testing.T) {
	ctx := context.Background()
	td := spiffeid.RequireTrustDomainFromString("ztkit.test")
	iss, err := spiffetest.New(ctx, td)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, iss.Close()) })
	require.NoError(t, iss.Register(spiffeid.RequireFromPath(td, "/workload")))

	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, []string{"-workload-api", iss.Addr()}))
	got := out.String()
	for _, want := range []string{
		"spiffe:   Workload API at " + iss.Addr() + " (an external agent); it serves this process spiffe://ztkit.test/workload",
		"checkout: is spiffe://ztkit.test/workload; accepts mTLS from any workload of trust domain ztkit.test",
		"storefront: is spiffe://ztkit.test/workload (X509-SVID from the Workload API)",
	} {
		assert.Contains(t, got, want)
	}
	assertScenario(t, got, "spiffe://ztkit.test/workload")
}

// TestShopWithSPIRE runs the -workload-api path against the SPIRE agent that
// scripts/test starts. Both workloads get the agent's one SVID for this uid.
func TestShopWithSPIRE(t *testing.T) {
	addr := testenv.Require(t, testenv.SPIFFEEndpointVar)
	td := testenv.Require(t, testenv.SPIFFETrustDomainVar)
	id := testenv.Require(t, testenv.SPIFFEIDVar)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, []string{"-workload-api", addr}))
	got := out.String()
	for _, want := range []string{
		"spiffe:   Workload API at " + addr + " (an external agent); it serves this process " + id,
		"checkout: is " + id + "; accepts mTLS from any workload of trust domain " + td,
		"storefront: is " + id + " (X509-SVID from the Workload API)",
	} {
		assert.Contains(t, got, want)
	}
	assertScenario(t, got, id)
}

// assertScenario checks the lines every run prints, whatever the identities;
// storefront is the storefront's SPIFFE ID or a prefix of it.
func assertScenario(t *testing.T, got, storefront string) {
	t.Helper()
	mtls := "[mTLS " + storefront
	for _, want := range []string{
		"storefront: POST /token [client secret, DPoP proof] → 200 OK",
		// 2. nonce, then the order.
		"checkout: 401 deny   dpop_nonce",
		"storefront: POST /orders " + mtls,
		"DPoP token, DPoP proof] → 401 Unauthorized use_dpop_nonce",
		"DPoP token, DPoP proof] → 201 Created",
		// 3. replay.
		"checkout: 401 deny   dpop_replayed",
		"attacker  : POST /orders " + mtls,
		"DPoP token, DPoP proof] → 401 Unauthorized invalid_dpop_proof",
		// 4. stolen token as Bearer.
		"checkout: 401 deny   bound_token_as_bearer",
		"Bearer token] → 401 Unauthorized invalid_token",
		// 5. the attacker's own proof key.
		"checkout: 401 deny   token_binding",
		"DPoP token, DPoP proof] → 401 Unauthorized invalid_token",
		// 6. insufficient scope.
		"checkout: 403 deny   storefront lacks scope checkout:write",
		"DPoP token, DPoP proof] → 403 Forbidden insufficient_scope",
		// 7. valid token and proof, no SVID.
		"attacker  : POST /orders [no client certificate, DPoP token, DPoP proof] → refused in the TLS handshake (tls: certificate required)",
		"checkout: TLS deny   tls: client didn't provide a certificate",
		"attacker  : POST /orders [forged SVID, DPoP token, DPoP proof] → refused in the TLS handshake (tls: bad certificate)",
		"checkout: TLS deny   x509svid: could not verify leaf certificate",
		"every request was decided as expected",
		// The checkout's careless log line, through the redacting handler.
		`msg="order received" authorization=[REDACTED:secret]`,
		`\"card\":\"411111******1111\"`,
		`\"email\":\"[email:`,
	} {
		assert.Contains(t, got, want)
	}
	// The card and the e-mail the storefront sent never reach the output in clear.
	assert.NotContains(t, got, "4111 1111 1111 1111")
	assert.NotContains(t, got, "ada@example.com")
	assert.Equal(t, 2, strings.Count(got, "→ 201 Created")+strings.Count(got, "→ 403 Forbidden"),
		"exactly one order placed and one refused for scope")
	// No JWT (token or proof) and no client secret ever reaches the output.
	assert.NotContains(t, got, "eyJ")
	assert.NotContains(t, got, "demo-storefront-secret")
}

func TestShopRefusesUnknownFlag(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-nope"})
	require.Error(t, err)
	assert.True(t, strings.Contains(out.String(), "-serve"), "usage lists the flags")
	assert.True(t, strings.Contains(out.String(), "-workload-api"), "usage lists the flags")
}

func TestShopFailsWithoutWorkloadAPI(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := run(ctx, &out, []string{"-workload-api", "unix://" + t.TempDir() + "/none.sock"})
	require.ErrorIs(t, err, authn.ErrSourceUnavailable, "a shop without an identity must not start")
}
