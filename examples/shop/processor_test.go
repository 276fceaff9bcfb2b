package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/webhook"
)

// The tests below run against the OpenBao that scripts/test starts
// (ZTKIT_TEST_VAULT_*). Like the SPIRE test, they read its variables
// themselves and talk to it with vault/api: the example imports no internal
// package of ztkit. Each test writes its own KV secret, policy and AppRole
// role under random names on the shared server and deletes them at the end.

// vaultEnv returns the variable name that scripts/test sets for its OpenBao,
// skipping the test without it, or failing it under CI=true.
func vaultEnv(t *testing.T, name string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set under CI=true: run the tests through ./scripts/test", name)
	}
	t.Skipf("%s is not set: run ./scripts/test (or source the dev servers' variables) to start the OpenBao this test needs", name)
	return ""
}

// shopVault is what a test set up on the shared OpenBao for the shop.
type shopVault struct {
	admin        *api.Client
	addr, caCert string
	kvPath       string // in the KV v2 engine at "secret"
	webhookPath  string // the provider's webhook secret, in the same engine
	webhookKey   string
	policy       string // may read kvPath
	roleID       string // an AppRole role with policy
	secretIDFile string
	firstKey     string
}

// newShopVault writes a processor key (KV version 1) at a new path of the
// shared server's "secret" engine, a policy that may read it, and an AppRole
// role with that policy whose secret ID is in a file.
func newShopVault(t *testing.T) *shopVault {
	t.Helper()
	v := &shopVault{
		addr:   vaultEnv(t, "ZTKIT_TEST_VAULT_ADDR"),
		caCert: vaultEnv(t, "ZTKIT_TEST_VAULT_CACERT"),
	}
	root := vaultEnv(t, "ZTKIT_TEST_VAULT_TOKEN")
	cfg := api.DefaultConfig()
	require.NoError(t, cfg.Error)
	cfg.Address = v.addr
	require.NoError(t, cfg.ConfigureTLS(&api.TLSConfig{CACert: v.caCert}))
	admin, err := api.NewClient(cfg)
	require.NoError(t, err)
	admin.SetToken(root)
	admin.ClearNamespace()
	v.admin = admin

	ctx := context.Background()
	name := "shop-test-" + strings.ToLower(rand.Text()[:10])
	v.kvPath = "ztkit-tests/" + name + "/processor"
	v.policy = name
	v.firstKey = "sk_test_" + rand.Text()
	_, err = admin.KVv2("secret").Put(ctx, v.kvPath, map[string]any{processorKeyField: v.firstKey})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, admin.KVv2("secret").DeleteMetadata(context.Background(), v.kvPath)) })
	v.webhookPath = "ztkit-tests/" + name + "/provider-webhook"
	v.webhookKey = webhook.GenerateSecret().Reveal()
	_, err = admin.KVv2("secret").Put(ctx, v.webhookPath, map[string]any{webhook.DefaultSecretField: v.webhookKey})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, admin.KVv2("secret").DeleteMetadata(context.Background(), v.webhookPath)) })

	require.NoError(t, admin.Sys().PutPolicyWithContext(ctx, v.policy,
		`path "secret/data/`+v.kvPath+`" { capabilities = ["read"] }
path "secret/data/`+v.webhookPath+`" { capabilities = ["read"] }`))
	t.Cleanup(func() { assert.NoError(t, admin.Sys().DeletePolicyWithContext(context.Background(), v.policy)) })

	rolePath := "auth/approle/role/" + name
	_, err = admin.Logical().WriteWithContext(ctx, rolePath, map[string]any{
		"token_policies": []string{v.policy},
		"token_ttl":      "5m",
		"token_max_ttl":  "10m",
		"secret_id_ttl":  "10m",
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := admin.Logical().DeleteWithContext(context.Background(), rolePath)
		assert.NoError(t, err)
	})
	roleID, err := admin.Logical().ReadWithContext(ctx, rolePath+"/role-id")
	require.NoError(t, err)
	v.roleID, _ = roleID.Data["role_id"].(string)
	require.NotEmpty(t, v.roleID)
	sid, err := admin.Logical().WriteWithContext(ctx, rolePath+"/secret-id", nil)
	require.NoError(t, err)
	secretID, _ := sid.Data["secret_id"].(string)
	require.True(t, secretID != "", "AppRole issued no secret ID")
	v.secretIDFile = filepath.Join(t.TempDir(), "secret-id")
	require.NoError(t, os.WriteFile(v.secretIDFile, []byte(secretID+"\n"), 0o600))
	return v
}

// putKey writes key as the next KV version of the processor key.
func (v *shopVault) putKey(t *testing.T, key string) {
	t.Helper()
	_, err := v.admin.KVv2("secret").Put(context.Background(), v.kvPath, map[string]any{processorKeyField: key})
	require.NoError(t, err)
}

// TestShopWithVault plays the whole scenario with payments' processor key
// from OpenBao KV, logged in with AppRole as a service would be.
func TestShopWithVault(t *testing.T) {
	v := newShopVault(t)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, []string{
		"-vault-addr", v.addr, "-vault-cacert", v.caCert,
		"-vault-role-id", v.roleID, "-vault-secret-id-file", v.secretIDFile,
		"-vault-kv-path", v.kvPath, "-vault-webhook-path", v.webhookPath,
	}))
	got := out.String()
	for _, want := range []string{
		"payments: card processor key from OpenBao/Vault KV v2 secret/" + v.kvPath + " at " + v.addr +
			" (logged in with AppRole), read again every 5m0s; key version 1",
		`level=INFO msg="secrets: credential issued" `,
		"payments: OK  allow  charge ch_5001 for order ord_1001 of customer-42, actor spiffe://shop.example/checkout (act), from spiffe://shop.example/checkout (mtls+dpop); card processor pi_1, key version 1",
	} {
		assert.Contains(t, got, want)
	}
	assertScenario(t, got, "spiffe://shop.example/storefront")
	assertGRPC(t, got, "spiffe://shop.example/checkout")
	assertSigned(t, got, "OpenBao/Vault KV v2 secret/"+v.webhookPath+", read again every 5m0s; version 1")
	secretID, err := os.ReadFile(v.secretIDFile)
	require.NoError(t, err)
	for _, secret := range []string{v.firstKey, v.webhookKey, strings.TrimSpace(string(secretID)), vaultEnv(t, "ZTKIT_TEST_VAULT_TOKEN")} {
		assert.True(t, !strings.Contains(got, secret), "a secret reached the output")
	}
}

// TestPaymentsKeyRotation: payments charges with the processor key from
// OpenBao KV; a new KV version reaches it while it runs, with no restart,
// and the next charge uses it. The shop logs in with a token from a file
// here (-vault-token-file, the development login).
func TestPaymentsKeyRotation(t *testing.T) {
	v := newShopVault(t)
	ctx := context.Background()
	tok, err := v.admin.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{
		Policies: []string{v.policy}, TTL: "5m",
	})
	require.NoError(t, err)
	tokenFile := filepath.Join(t.TempDir(), "vault-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(tok.Auth.ClientToken), 0o600))

	var out bytes.Buffer
	p := &printer{w: &out}
	logger, err := newLogger(p)
	require.NoError(t, err)
	key, err := openProcessorKey(ctx, vaultFlags{
		addr: v.addr, caCert: v.caCert, tokenFile: tokenFile,
		kvMount: "secret", kvPath: v.kvPath, refresh: 200 * time.Millisecond,
	}, logger)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, key.Close()) })
	assert.Contains(t, key.describe(), "(logged in with a token from "+tokenFile+"), read again every 200ms; key version 1")

	proc := &cardProcessor{}
	pm := &payments{decide: p.line, key: key.src, processor: proc, next: 1}
	caller := authn.NewContext(ctx, &authn.Principal{
		Subject: "customer-42", ClientID: "checkout",
		Peer: spiffeid.RequireFromString("spiffe://shop.example/checkout"), Methods: authn.MethodMTLS | authn.MethodDPoP,
	})
	charge := func() {
		t.Helper()
		_, err := pm.charge(caller, wrapperspb.String("ord_1"))
		require.NoError(t, err)
	}

	charge()
	assert.True(t, proc.lastKeyDigest() == sha256.Sum256([]byte(v.firstKey)), "the first charge did not use KV version 1")

	// The operator rolls the key at the processor and writes the new one to KV.
	secondKey := "sk_test_" + rand.Text()
	updated := key.src.Updated()
	v.putKey(t, secondKey)
	deadline := time.After(10 * time.Second)
	for {
		cur, err := key.src.Current()
		require.NoError(t, err)
		if cur.Lease().Version == "2" {
			break
		}
		select {
		case <-updated:
			updated = key.src.Updated()
		case <-deadline:
			t.Fatal("KV version 2 did not reach payments within 10 s")
		}
	}
	charge()
	assert.True(t, proc.lastKeyDigest() == sha256.Sum256([]byte(secondKey)), "the charge after the rotation did not use KV version 2")

	got := out.String()
	assert.Contains(t, got, "card processor pi_1, key version 1")
	assert.Contains(t, got, "card processor pi_2, key version 2")
	assert.Contains(t, got, `level=INFO msg="secrets: credential rotated" `)
	assert.Contains(t, got, " version=2 ")
	for _, secret := range []string{v.firstKey, secondKey, tok.Auth.ClientToken} {
		assert.True(t, !strings.Contains(got, secret), "a secret reached the output")
	}
}

// TestProcessorKeyEmbedded: without -vault-addr the key is a random demo key
// from an embedded source, different on each start.
func TestProcessorKeyEmbedded(t *testing.T) {
	ctx := context.Background()
	var digests [2][sha256.Size]byte
	for i := range digests {
		k, err := openProcessorKey(ctx, vaultFlags{}, nil)
		require.NoError(t, err)
		sec, err := k.src.Current()
		require.NoError(t, err)
		v, ok := sec.Reveal(processorKeyField)
		require.True(t, ok)
		assert.True(t, strings.HasPrefix(v, "sk_demo_") && len(v) > 20, "not a random demo key")
		digests[i] = sha256.Sum256([]byte(v))
		assert.Contains(t, k.describe(), "an embedded secrets.Static source")
		require.NoError(t, k.Close())
		_, err = k.src.Current()
		assert.ErrorIs(t, err, secrets.ErrClosed)
	}
	assert.NotEqual(t, digests[0], digests[1])
}

// TestVaultFlagsInvalid: incomplete or contradictory -vault-* flags are
// refused before anything is dialed.
func TestVaultFlagsInvalid(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte(" \n"), 0o600))
	file := filepath.Join(dir, "secret-id")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
	const addr = "https://127.0.0.1:1"
	for _, c := range []struct {
		name string
		f    vaultFlags
		want error
	}{
		{"login without address", vaultFlags{roleID: "r", secretIDFile: file}, errVaultFlags},
		{"CA without address", vaultFlags{caCert: file}, errVaultFlags},
		{"no login", vaultFlags{addr: addr}, errVaultFlags},
		{"role ID without secret ID", vaultFlags{addr: addr, roleID: "r"}, errVaultFlags},
		{"secret ID without role ID", vaultFlags{addr: addr, secretIDFile: file}, errVaultFlags},
		{"token and AppRole", vaultFlags{addr: addr, tokenFile: file, roleID: "r", secretIDFile: file}, errVaultFlags},
		{"empty secret ID file", vaultFlags{addr: addr, roleID: "r", secretIDFile: empty}, errVaultFlags},
		{"missing token file", vaultFlags{addr: addr, tokenFile: filepath.Join(dir, "nope")}, os.ErrNotExist},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := openProcessorKey(context.Background(), c.f, nil)
			require.Error(t, err)
			assert.True(t, errors.Is(err, c.want), "got %v", err)
		})
	}
}
