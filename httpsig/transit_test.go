package httpsig_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/vault"
)

// Requests signed by keys that never leave OpenBao (Transit, through
// vault.TransitSigner, a crypto.Signer) verify with their public keys: the
// ECDSA signature comes back as ASN.1 and is turned into r||s, the RSA-PSS
// one is made with a 64-byte salt.
func TestTransitSigner(t *testing.T) {
	ctx := context.Background()
	a := baotest.Admin(t)
	mount := baotest.Mount(t, a, "transit")
	authMount := baotest.EnableAuth(t, a, "approle")
	pol := "httpsig-" + strings.ToLower(rand.Text()[:10])
	require.NoError(t, a.Sys().PutPolicy(pol, `path "`+mount+`/keys/*" { capabilities = ["read"] }
path "`+mount+`/sign/*" { capabilities = ["update"] }`))
	t.Cleanup(func() { _ = a.Sys().DeletePolicy(pol) })
	_, err := a.Logical().Write("auth/"+authMount+"/role/svc", map[string]any{"token_policies": pol, "token_ttl": "1h"})
	require.NoError(t, err)
	rid, err := a.Logical().Read("auth/" + authMount + "/role/svc/role-id")
	require.NoError(t, err)
	sid, err := a.Logical().Write("auth/"+authMount+"/role/svc/secret-id", nil)
	require.NoError(t, err)
	login, err := vault.AppRole(authMount, rid.Data["role_id"].(string),
		secrets.NewSecret(map[string]string{"secret_id": sid.Data["secret_id"].(string)}, secrets.Lease{}))
	require.NoError(t, err)
	c, err := vault.New(ctx, baotest.Config(t), login, secrets.WithBackoff(50*time.Millisecond, 300*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	for _, tc := range []struct {
		keyType string
		alg     httpsig.Algorithm
	}{
		{"ecdsa-p256", httpsig.AlgECDSAP256SHA256},
		{"ed25519", httpsig.AlgEd25519},
		{"rsa-2048", httpsig.AlgRSAPSSSHA512},
		{"rsa-2048", httpsig.AlgRSAV15SHA256},
	} {
		t.Run(tc.keyType+"/"+string(tc.alg), func(t *testing.T) {
			name := "sig-" + strings.ToLower(rand.Text()[:10])
			_, err := a.Logical().Write(mount+"/keys/"+name, map[string]any{"type": tc.keyType})
			require.NoError(t, err)
			signer, err := c.TransitSigner(ctx, mount, name, 0)
			require.NoError(t, err)
			sk := mustSK(t, name, tc.alg, signer)
			r := signGet(t, sk, httpsig.WithAlgParameter())

			keys, err := httpsig.NewStaticKeys(mustVK(t, name, tc.alg, signer.Public()))
			require.NoError(t, err)
			v, err := httpsig.NewVerifier(keys)
			require.NoError(t, err)
			got, err := v.VerifyRequest(ctx, r)
			require.NoError(t, err)
			assert.Equal(t, tc.alg, got.Algorithm)
		})
	}
}
