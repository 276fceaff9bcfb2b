package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/vault"
	"github.com/ztkit/ztkit/webhook"
)

// Payments' processor key: the API key payments authenticates to the card
// processor with. It comes from package secrets, never from code or an
// environment variable: by default from an embedded secrets.Static source
// holding a random demo key made at start, and with -vault-addr from a KV v2
// secret in OpenBao (or Vault), read through secrets/vault with a login of the
// shop's own (AppRole, or a token for development) and read again every
// -vault-refresh, so that a new value written to KV reaches payments without a
// restart. Payments reads it from memory on every charge (Source.Current, an
// atomic load). The shop prints where the key comes from and its version,
// never its value.

const (
	// processorKeyName names the key's source in logs and metrics.
	processorKeyName = "processor-key"
	// processorKeyField is the field of the KV secret that holds the key.
	processorKeyField = "api_key"
	// openTimeout bounds the wait for Vault at start (login and first read).
	openTimeout = 30 * time.Second
)

// errVaultFlags: the -vault-* flags do not make a complete configuration.
var errVaultFlags = errors.New("invalid -vault-* flags")

// vaultFlags are the command-line flags that take the processor key from
// OpenBao or Vault instead of the embedded source.
type vaultFlags struct {
	addr, caCert         string
	roleID, secretIDFile string
	tokenFile            string
	kvMount, kvPath      string
	webhookPath          string
	refresh              time.Duration
}

func (f *vaultFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "vault-addr", "", "OpenBao or Vault address (https://host:8200): payments reads its processor key from KV there; default: an embedded random key")
	fs.StringVar(&f.caCert, "vault-cacert", "", "PEM file of the CA that signed the OpenBao or Vault server's certificate; default: the system roots")
	fs.StringVar(&f.roleID, "vault-role-id", "", "AppRole role ID to log in to OpenBao or Vault with (with -vault-secret-id-file)")
	fs.StringVar(&f.secretIDFile, "vault-secret-id-file", "", "file holding the AppRole secret ID")
	fs.StringVar(&f.tokenFile, "vault-token-file", "", "for development, instead of AppRole: file holding a Vault token (such as ~/.vault-token after `bao login`)")
	fs.StringVar(&f.kvMount, "vault-kv-mount", "secret", "mount path of the KV v2 engine holding the processor key")
	fs.StringVar(&f.kvPath, "vault-kv-path", "shop/payments/processor", "path of the processor key's secret in that engine; its field "+processorKeyField+" is the key")
	fs.StringVar(&f.webhookPath, "vault-webhook-path", "shop/payments/provider-webhook", "path, in the same engine, of the payment provider's webhook secret; its field "+webhook.DefaultSecretField+" is the secret (whsec_...)")
	fs.DurationVar(&f.refresh, "vault-refresh", secrets.DefaultRefresh, "how often payments reads the processor key again, so that a new KV version reaches it")
}

// processorKey is where payments gets its processor key.
type processorKey struct {
	src *secrets.Source
	// client is the OpenBao or Vault client, or nil for the embedded key.
	client *vault.Client
	// from says where the key comes from, for the startup line.
	from string
	// flags are the -vault-* flags the key was opened with.
	flags vaultFlags
}

// openProcessorKey opens the source of payments' processor key: the embedded
// one, or the KV secret f names when f.addr is set. Its logs go to logger.
func openProcessorKey(ctx context.Context, f vaultFlags, logger *slog.Logger) (_ *processorKey, err error) {
	if f.addr == "" {
		if f.roleID != "" || f.secretIDFile != "" || f.tokenFile != "" || f.caCert != "" {
			return nil, fmt.Errorf("%w: -vault-cacert, -vault-role-id, -vault-secret-id-file and -vault-token-file need -vault-addr", errVaultFlags)
		}
		src, err := secrets.NewSource(ctx, processorKeyName,
			secrets.Static(map[string]string{processorKeyField: "sk_demo_" + rand.Text()}), secrets.WithLogger(logger))
		if err != nil {
			return nil, err
		}
		return &processorKey{src: src, from: "an embedded secrets.Static source (a random demo key made at start; -vault-addr reads it from OpenBao)"}, nil
	}

	login, how, err := f.login()
	if err != nil {
		return nil, err
	}
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, cfg.Error
	}
	cfg.Address = f.addr
	cfg.MaxRetries = 0 // the sources retry by themselves, with backoff
	if f.caCert != "" {
		if err := cfg.ConfigureTLS(&api.TLSConfig{CACert: f.caCert}); err != nil {
			return nil, fmt.Errorf("-vault-cacert: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	c, err := vault.New(ctx, cfg, login, secrets.WithLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("logging in to %s with %s: %w", f.addr, how, err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Close())
		}
	}()
	src, err := secrets.NewSource(ctx, processorKeyName, c.KV(f.kvMount, f.kvPath),
		secrets.WithLogger(logger), secrets.WithRefresh(f.refresh))
	if err != nil {
		return nil, fmt.Errorf("reading the processor key at %s/%s: %w", f.kvMount, f.kvPath, err)
	}
	k := &processorKey{src: src, client: c, flags: f,
		from: fmt.Sprintf("OpenBao/Vault KV v2 %s/%s at %s (logged in with %s), read again every %s", f.kvMount, f.kvPath, f.addr, how, f.refresh)}
	sec, err := src.Current()
	if err == nil {
		if _, ok := sec.Reveal(processorKeyField); !ok {
			err = fmt.Errorf("the secret at %s/%s has no field %s", f.kvMount, f.kvPath, processorKeyField)
		}
	}
	if err != nil {
		return nil, errors.Join(err, k.Close())
	}
	return k, nil
}

// openWebhookSecret opens the source of payments' webhook secret, the
// endpoint secret the payment provider signs its deliveries with: an
// embedded secrets.Static source holding a new random secret when the
// processor key is embedded, or the KV secret at -vault-webhook-path, read
// with the same login as the processor key and again every -vault-refresh,
// so that a secret rotated in KV reaches the verifier without a restart. It
// also says where the secret comes from, for the startup line.
func (k *processorKey) openWebhookSecret(ctx context.Context, logger *slog.Logger) (*secrets.Source, string, error) {
	if k.client == nil {
		src, err := secrets.NewSource(ctx, webhookSecretName,
			secrets.Static(map[string]string{webhook.DefaultSecretField: webhook.GenerateSecret().Reveal()}), secrets.WithLogger(logger))
		return src, signedSecretFrom, err
	}
	f := k.flags
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	src, err := secrets.NewSource(ctx, webhookSecretName, k.client.KV(f.kvMount, f.webhookPath),
		secrets.WithLogger(logger), secrets.WithRefresh(f.refresh))
	if err != nil {
		return nil, "", fmt.Errorf("reading the webhook secret at %s/%s: %w", f.kvMount, f.webhookPath, err)
	}
	sec, err := src.Current()
	if err == nil {
		if _, ok := sec.Reveal(webhook.DefaultSecretField); !ok {
			err = fmt.Errorf("the secret at %s/%s has no field %s", f.kvMount, f.webhookPath, webhook.DefaultSecretField)
		}
	}
	if err != nil {
		return nil, "", errors.Join(err, src.Close())
	}
	return src, fmt.Sprintf("OpenBao/Vault KV v2 %s/%s, read again every %s; %s", f.kvMount, f.webhookPath, f.refresh, secretVersion(sec)), nil
}

// secretVersion names the KV version of a secret, never its value.
func secretVersion(s *secrets.Secret) string {
	if v := s.Lease().Version; v != "" {
		return "version " + v
	}
	return "no version"
}

// login returns the login method the flags ask for, and its name.
func (f vaultFlags) login() (api.AuthMethod, string, error) {
	switch {
	case f.tokenFile != "" && (f.roleID != "" || f.secretIDFile != ""):
		return nil, "", fmt.Errorf("%w: give either -vault-token-file or -vault-role-id with -vault-secret-id-file", errVaultFlags)
	case f.tokenFile != "":
		tok, err := readSecretFile(f.tokenFile, "token")
		if err != nil {
			return nil, "", err
		}
		return tokenLogin{token: tok}, "a token from " + f.tokenFile, nil
	case f.roleID != "" && f.secretIDFile != "":
		id, err := readSecretFile(f.secretIDFile, "secret_id")
		if err != nil {
			return nil, "", err
		}
		login, err := vault.AppRole("", f.roleID, id)
		if err != nil {
			return nil, "", err
		}
		return login, "AppRole", nil
	default:
		return nil, "", fmt.Errorf("%w: -vault-addr needs a login: -vault-role-id with -vault-secret-id-file, or -vault-token-file", errVaultFlags)
	}
}

// readSecretFile reads a credential from a file the platform delivers (or an
// operator wrote), as the one field name of a secret. Errors name the file,
// never its content.
func readSecretFile(path, field string) (*secrets.Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return nil, fmt.Errorf("%w: %s is empty", errVaultFlags, path)
	}
	return secrets.NewSecret(map[string]string{field: v}, secrets.Lease{}), nil
}

// tokenLogin logs in with a token the developer already has (a dev server's
// root token, or the one `bao login` keeps in ~/.vault-token): it looks the
// token up to learn its TTL and whether it can be renewed. Services use a
// login of their own (AppRole here; SPIFFE cert or JWT auth), not a token.
type tokenLogin struct{ token *secrets.Secret }

func (l tokenLogin) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	tok, _ := l.token.Reveal("token")
	c.SetToken(tok)
	s, err := c.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errors.New("token look-up returned nothing")
	}
	ttl, err := s.TokenTTL()
	if err != nil {
		return nil, err
	}
	renewable, err := s.TokenIsRenewable()
	if err != nil {
		return nil, err
	}
	accessor, err := s.TokenAccessor()
	if err != nil {
		return nil, err
	}
	return &api.Secret{Auth: &api.SecretAuth{ClientToken: tok, Accessor: accessor,
		LeaseDuration: int(ttl.Seconds()), Renewable: renewable}}, nil
}

// describe says where the key comes from and its current version.
func (k *processorKey) describe() string {
	sec, err := k.src.Current()
	if err != nil {
		return k.from + "; no valid key: " + err.Error()
	}
	if sec.Lease().Version == "" {
		return k.from
	}
	return k.from + "; " + keyVersion(sec)
}

// keyVersion names the version of a processor key: its KV version, when it
// has one. It never shows the key.
func keyVersion(s *secrets.Secret) string {
	if v := s.Lease().Version; v != "" {
		return "key version " + v
	}
	return "embedded key"
}

// Close stops reading the key, and the Vault client.
func (k *processorKey) Close() error {
	err := k.src.Close()
	if k.client != nil {
		err = errors.Join(err, k.client.Close())
	}
	return err
}

// errNoProcessorKey: payments called the card processor without a key.
var errNoProcessorKey = errors.New("card processor: no API key")

// cardProcessor stands in for the card processor's API (a Stripe or an
// Adyen), which authenticates payments by its API key: in a real service,
// each charge is an HTTPS request with the key in its Authorization header.
// It refuses a charge without a key, and keeps the SHA-256 digest of the key
// of the last charge, so that the tests can tell which key payments used
// without anything printing a key.
type cardProcessor struct {
	mu      sync.Mutex
	next    int
	lastKey [sha256.Size]byte
}

// charge charges order with apiKey and returns the processor's reference.
func (c *cardProcessor) charge(apiKey, order string) (string, error) {
	if apiKey == "" || order == "" {
		return "", errNoProcessorKey
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	c.lastKey = sha256.Sum256([]byte(apiKey))
	return fmt.Sprintf("pi_%d", c.next), nil
}

// lastKeyDigest returns the SHA-256 digest of the key of the last charge.
func (c *cardProcessor) lastKeyDigest() [sha256.Size]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastKey
}
