package vault_test

import (
	"context"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/secrets/vault"
)

// With the SPIRE agent scripts/test starts: a cert login with its X.509-SVID
// and a JWT login with its JWT-SVID, each auth method configured with the
// bundles the agent serves. scripts/test gives the workload's entry a DNS
// name, which SPIRE makes the subject common name the cert auth method needs.
func TestSPIRELogins(t *testing.T) {
	endpoint := testenv.Require(t, testenv.SPIFFEEndpointVar)
	td, err := spiffeid.TrustDomainFromString(testenv.Require(t, testenv.SPIFFETrustDomainVar))
	require.NoError(t, err)
	id, err := spiffeid.FromString(testenv.Require(t, testenv.SPIFFEIDVar))
	require.NoError(t, err)
	a := baotest.Admin(t)
	secretPath, policy := kvSecret(t, a)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	wapi := workloadapi.WithClientOptions(workloadapi.WithAddr(endpoint))

	t.Run("cert", func(t *testing.T) {
		src, err := workloadapi.NewX509Source(ctx, wapi)
		require.NoError(t, err)
		defer src.Close()
		bundle, err := src.GetX509BundleForTrustDomain(td)
		require.NoError(t, err)
		mount := certRole(t, a, bundle.X509Authorities(), id, policy, time.Minute, time.Hour)

		login, err := vault.Cert(mount, "payments", src)
		require.NoError(t, err)
		c, err := vault.New(ctx, baoConfig(t), login, fastBackoff)
		require.NoError(t, err)
		defer c.Close()
		path, _ := tokenMeta(t, c.API())
		assert.Equal(t, "auth/"+mount+"/login", path)
		readKV(t, c, secretPath)
	})

	t.Run("jwt", func(t *testing.T) {
		src, err := workloadapi.NewJWTSource(ctx, wapi)
		require.NoError(t, err)
		defer src.Close()
		bundle, err := src.GetJWTBundleForTrustDomain(td)
		require.NoError(t, err)
		audience := spiffeid.RequireFromPath(td, "/vault").String()
		mount := jwtRole(t, a, bundle.JWTAuthorities(), id, audience, policy)

		login, err := vault.JWT(mount, "payments", src, audience)
		require.NoError(t, err)
		c, err := vault.New(ctx, baoConfig(t), login, fastBackoff)
		require.NoError(t, err)
		defer c.Close()
		path, meta := tokenMeta(t, c.API())
		assert.Equal(t, "auth/"+mount+"/login", path)
		assert.Equal(t, "payments", meta["role"])
		readKV(t, c, secretPath)
	})
}
