package vault_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/vault"
)

var fastBackoff = secrets.WithBackoff(50*time.Millisecond, 300*time.Millisecond)

// config returns an api.Config for the test OpenBao, with no retries of its own.
func config(t *testing.T) *api.Config {
	t.Helper()
	addr := testenv.Require(t, testenv.VaultAddrVar)
	ca := testenv.Require(t, testenv.VaultCACertVar)
	cfg := api.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	require.NoError(t, cfg.ConfigureTLS(&api.TLSConfig{CACert: ca}))
	return cfg
}

// admin returns a client with the root token.
func admin(t *testing.T) *api.Client {
	t.Helper()
	c, err := api.NewClient(config(t))
	require.NoError(t, err)
	c.SetToken(testenv.Require(t, testenv.VaultTokenVar))
	return c
}

// uniq returns a name no other test uses.
func uniq(prefix string) string {
	return prefix + "-" + strings.ToLower(rand.Text()[:10])
}

// enableAuth mounts the auth method kind at a path of its own for this test.
func enableAuth(t *testing.T, a *api.Client, kind string) string {
	t.Helper()
	mount := uniq(kind)
	require.NoError(t, a.Sys().EnableAuthWithOptions(mount, &api.EnableAuthOptions{Type: kind}))
	t.Cleanup(func() { _ = a.Sys().DisableAuth(mount) })
	return mount
}

// appRoleLogin creates a role on a fresh AppRole mount whose tokens read what
// policy allows, and returns its login.
func appRoleLogin(t *testing.T, a *api.Client, policy string, tokenTTL, tokenMaxTTL time.Duration) api.AuthMethod {
	t.Helper()
	login, _ := appRoleLoginSecret(t, a, policy, tokenTTL, tokenMaxTTL)
	return login
}

// appRoleLoginSecret is appRoleLogin, and returns the role's secret ID too.
func appRoleLoginSecret(t *testing.T, a *api.Client, policy string, tokenTTL, tokenMaxTTL time.Duration) (api.AuthMethod, string) {
	t.Helper()
	mount := enableAuth(t, a, "approle")
	pol := uniq("pol")
	require.NoError(t, a.Sys().PutPolicy(pol, policy))
	t.Cleanup(func() { _ = a.Sys().DeletePolicy(pol) })
	_, err := a.Logical().Write("auth/"+mount+"/role/svc", map[string]any{
		"token_policies": pol, "token_ttl": int(tokenTTL.Seconds()), "token_max_ttl": int(tokenMaxTTL.Seconds()),
	})
	require.NoError(t, err)
	rid, err := a.Logical().Read("auth/" + mount + "/role/svc/role-id")
	require.NoError(t, err)
	sid, err := a.Logical().Write("auth/"+mount+"/role/svc/secret-id", nil)
	require.NoError(t, err)
	secretID := sid.Data["secret_id"].(string)
	login, err := vault.AppRole(mount, rid.Data["role_id"].(string),
		secrets.NewSecret(map[string]string{"secret_id": secretID}, secrets.Lease{}))
	require.NoError(t, err)
	return login, secretID
}

func TestAppRoleLoginRenewsAndLogsInAgainBeforeMaxTTL(t *testing.T) {
	t.Parallel()
	a := admin(t)
	login := appRoleLogin(t, a, `path "sys/*" { capabilities = ["deny"] }`, 3*time.Second, 7*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := vault.New(ctx, config(t), login, fastBackoff)
	require.NoError(t, err)
	defer c.Close()

	first, err := c.Token().Current()
	require.NoError(t, err)
	assert.True(t, first.Lease().Renewable)
	assert.Equal(t, 3*time.Second, first.Lease().TTL())

	relogins := make(chan struct{}, 4)
	c.Token().OnRotate(func(*secrets.Secret) { relogins <- struct{}{} })
	// Renewed at ~2 s, ~4 s; at ~6 s the renewal is capped by the 7 s max TTL
	// and the Client logs in again before the token expires.
	select {
	case <-relogins:
	case <-time.After(12 * time.Second):
		t.Fatal("no fresh login before the token's max TTL")
	}
	now, err := c.Token().Current()
	require.NoError(t, err)
	assert.NotEqual(t, first.Lease().ID, now.Lease().ID)

	// The API client carries the new token, and it works.
	self, err := c.API().Auth().Token().LookupSelf()
	require.NoError(t, err)
	assert.Equal(t, now.Lease().ID, self.Data["accessor"])
}

func TestKVReadAndRefresh(t *testing.T) {
	t.Parallel()
	a := admin(t)
	secretPath := uniq("app") + "/processor"
	_, err := a.KVv2("secret").Put(context.Background(), secretPath, map[string]any{"api_key": "k1", "port": 5})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.KVv2("secret").DeleteMetadata(context.Background(), secretPath) })

	login := appRoleLogin(t, a, `path "secret/data/`+secretPath+`" { capabilities = ["read"] }`, time.Minute, time.Hour)
	ctx := context.Background()
	c, err := vault.New(ctx, config(t), login, fastBackoff)
	require.NoError(t, err)
	defer c.Close()

	src, err := secrets.NewSource(ctx, "processor", c.KV("secret", secretPath), secrets.WithRefresh(100*time.Millisecond))
	require.NoError(t, err)
	defer src.Close()
	s, err := src.Current()
	require.NoError(t, err)
	v, _ := s.Reveal("api_key")
	assert.True(t, v == "k1")
	port, _ := s.Reveal("port")
	assert.Equal(t, "5", port)
	assert.Equal(t, "1", s.Lease().Version)

	rotated := make(chan *secrets.Secret, 1)
	src.OnRotate(func(s *secrets.Secret) { rotated <- s })
	_, err = a.KVv2("secret").Put(context.Background(), secretPath, map[string]any{"api_key": "k2"})
	require.NoError(t, err)
	select {
	case s := <-rotated:
		v, _ := s.Reveal("api_key")
		assert.True(t, v == "k2")
		assert.Equal(t, "2", s.Lease().Version)
	case <-time.After(5 * time.Second):
		t.Fatal("KV change not seen")
	}

	// A path the token may not read: refused, and nothing is retried as if Vault were down.
	_, err = secrets.NewSource(ctx, "other", c.KV("secret", uniq("nope")))
	assert.ErrorIs(t, err, secrets.ErrRefused)
}

func TestRevokedTokenLogsInAgain(t *testing.T) {
	t.Parallel()
	a := admin(t)
	secretPath := uniq("app") + "/k"
	_, err := a.KVv2("secret").Put(context.Background(), secretPath, map[string]any{"v": "x"})
	require.NoError(t, err)
	login := appRoleLogin(t, a, `path "secret/data/`+secretPath+`" { capabilities = ["read"] }`, time.Hour, time.Hour)
	ctx := context.Background()
	c, err := vault.New(ctx, config(t), login, fastBackoff)
	require.NoError(t, err)
	defer c.Close()
	first, err := c.Token().Current()
	require.NoError(t, err)

	// An operator revokes the token out of band.
	require.NoError(t, a.Auth().Token().RevokeAccessor(first.Lease().ID))

	src, err := secrets.NewSource(ctx, "k", c.KV("secret", secretPath))
	require.NoError(t, err, "the 403 made the Client log in again")
	defer src.Close()
	now, err := c.Token().Current()
	require.NoError(t, err)
	assert.NotEqual(t, first.Lease().ID, now.Lease().ID)
}

// A path the token's policies do not allow is refused with no new login:
// a new login would replace every dynamic credential the Client issued.
func TestForbiddenPathDoesNotLogInAgain(t *testing.T) {
	t.Parallel()
	a := admin(t)
	login := appRoleLogin(t, a, `path "secret/data/`+uniq("app")+`" { capabilities = ["read"] }`, time.Hour, time.Hour)
	ctx := context.Background()
	c, err := vault.New(ctx, config(t), login, fastBackoff)
	require.NoError(t, err)
	defer c.Close()
	first, err := c.Token().Current()
	require.NoError(t, err)
	logins := watchRotations(c.Token())

	for range 3 {
		_, err = c.KV("secret", uniq("forbidden")).Issue(ctx)
		assert.ErrorIs(t, err, secrets.ErrRefused)
		assert.True(t, strings.Contains(err.Error(), "HTTP 403"), "Vault's answer")
	}
	assert.Empty(t, logins.all(), "no new login")
	now, err := c.Token().Current()
	require.NoError(t, err)
	assert.Equal(t, first.Lease().ID, now.Lease().ID)
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	_, err := vault.New(context.Background(), nil, nil)
	assert.ErrorIs(t, err, secrets.ErrInvalidConfig)
	for _, tc := range []struct {
		roleID string
		secret *secrets.Secret
		arg    string
	}{
		{"", secrets.NewSecret(map[string]string{"secret_id": "x"}, secrets.Lease{}), "roleID"},
		{"r", nil, "secretID"},
		{"r", secrets.NewSecret(map[string]string{"other": "x"}, secrets.Lease{}), "secretID"},
		{"r", secrets.NewSecret(map[string]string{"secret_id": ""}, secrets.Lease{}), "secretID"},
	} {
		_, err = vault.AppRole("", tc.roleID, tc.secret)
		assert.ErrorIs(t, err, secrets.ErrInvalidConfig)
		var ce *vault.ConfigError
		if assert.ErrorAs(t, err, &ce) {
			assert.Equal(t, tc.arg, ce.Arg)
		}
	}

	// A login Vault refuses fails at once, with no secret in the message.
	a := admin(t)
	mount := enableAuth(t, a, "approle")
	login, err := vault.AppRole(mount, "no-such-role", secrets.NewSecret(map[string]string{"secret_id": "canary-secret-id"}, secrets.Lease{}))
	require.NoError(t, err)
	_, err = vault.New(context.Background(), config(t), login)
	require.Error(t, err)
	assert.ErrorIs(t, err, secrets.ErrRefused)
	assert.False(t, strings.Contains(err.Error(), "canary"))

	// Nothing listens: unavailable, retried until ctx is done.
	cfg := config(t)
	cfg.Address = "https://127.0.0.1:1"
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = vault.New(ctx, cfg, login, fastBackoff)
	assert.ErrorIs(t, err, secrets.ErrUnavailable)
}
