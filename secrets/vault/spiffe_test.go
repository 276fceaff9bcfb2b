package vault_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/secrets"
)

// The workload of these tests and its trust domain.
var (
	shopTD   = spiffeid.RequireTrustDomainFromString("shop.test")
	payments = spiffeid.RequireFromPath(shopTD, "/payments")
	intruder = spiffeid.RequireFromPath(shopTD, "/intruder")
)

// baoConfig returns a client configuration for the shared OpenBao with no
// retries of its own (the Client's source retries).
func baoConfig(t *testing.T) *api.Config {
	t.Helper()
	cfg := baotest.Config(t)
	cfg.MaxRetries = 0
	return cfg
}

// newIssuer starts an embedded SPIFFE issuer serving payments's SVIDs, which
// carry a DNS name, hence a subject common name, as the cert auth method
// needs.
func newIssuer(t *testing.T, opts ...spiffetest.Option) *spiffetest.Issuer {
	t.Helper()
	opts = append([]spiffetest.Option{spiffetest.WithDNSNames("payments.shop.test")}, opts...)
	iss, err := spiffetest.New(t.Context(), shopTD, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = iss.Close() })
	require.NoError(t, iss.Register(payments))
	return iss
}

// x509Source returns a Workload API X.509 source of iss.
func x509Source(t *testing.T, iss *spiffetest.Issuer) *workloadapi.X509Source {
	t.Helper()
	src, err := workloadapi.NewX509Source(t.Context(), workloadapi.WithClientOptions(workloadapi.WithAddr(iss.Addr())))
	require.NoError(t, err)
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// jwtSource returns a Workload API JWT source of iss.
func jwtSource(t *testing.T, iss *spiffetest.Issuer) *workloadapi.JWTSource {
	t.Helper()
	src, err := workloadapi.NewJWTSource(t.Context(), workloadapi.WithClientOptions(workloadapi.WithAddr(iss.Addr())))
	require.NoError(t, err)
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// certsPEM encodes certs as PEM, as the cert auth method's certificate takes
// them.
func certsPEM(certs []*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.String()
}

// keysPEM encodes the public keys of a JWT bundle as PEM, as the JWT auth
// method's jwt_validation_pubkeys takes them.
func keysPEM(t *testing.T, keys map[string]crypto.PublicKey) []string {
	t.Helper()
	var out []string
	for _, k := range keys {
		der, err := x509.MarshalPKIXPublicKey(k)
		require.NoError(t, err)
		out = append(out, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	}
	require.NotEmpty(t, out)
	return out
}

// kvSecret writes a secret on the shared KV v2 mount "secret" at a path of
// this test and returns the path and a policy name allowing to read it.
func kvSecret(t *testing.T, a *api.Client) (secretPath, policy string) {
	t.Helper()
	ctx := context.Background()
	secretPath = "spiffe-" + strings.ToLower(rand.Text()[:10]) + "/k"
	_, err := a.KVv2("secret").Put(ctx, secretPath, map[string]any{"v": "x"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.KVv2("secret").DeleteMetadata(context.Background(), secretPath) })
	policy = "spiffe-" + strings.ToLower(rand.Text()[:10])
	require.NoError(t, a.Sys().PutPolicy(policy, `path "secret/data/`+secretPath+`" { capabilities = ["read"] }`))
	t.Cleanup(func() { _ = a.Sys().DeletePolicy(policy) })
	return secretPath, policy
}

// certRole enables the cert auth method and makes the role "payments" that
// admits the SVIDs of id signed by the CAs of bundle, and whose tokens read
// what policy allows.
func certRole(t *testing.T, a *api.Client, bundle []*x509.Certificate, id spiffeid.ID, policy string, ttl, maxTTL time.Duration) string {
	t.Helper()
	mount := baotest.EnableAuth(t, a, "cert")
	_, err := a.Logical().Write("auth/"+mount+"/certs/payments", map[string]any{
		"certificate":      certsPEM(bundle),
		"allowed_uri_sans": id.String(),
		"token_policies":   policy,
		"token_ttl":        int(ttl.Seconds()),
		"token_max_ttl":    int(maxTTL.Seconds()),
	})
	require.NoError(t, err)
	return mount
}

// jwtRole enables the JWT auth method, configured with the JWT bundle keys,
// and makes the role "payments" that admits JWT-SVIDs of id for audience.
func jwtRole(t *testing.T, a *api.Client, keys map[string]crypto.PublicKey, id spiffeid.ID, audience, policy string) string {
	t.Helper()
	mount := baotest.EnableAuth(t, a, "jwt")
	_, err := a.Logical().Write("auth/"+mount+"/config", map[string]any{
		"jwt_validation_pubkeys": keysPEM(t, keys),
	})
	require.NoError(t, err)
	_, err = a.Logical().Write("auth/"+mount+"/role/payments", map[string]any{
		"role_type":       "jwt",
		"bound_audiences": []string{audience},
		"bound_subject":   id.String(),
		"user_claim":      "sub",
		"token_policies":  policy,
		"token_ttl":       60,
		"token_max_ttl":   600,
	})
	require.NoError(t, err)
	return mount
}

// readKV reads the secret at secretPath with c's token through a new Source.
func readKV(t *testing.T, c interface {
	KV(mount, path string) secrets.Provider
}, secretPath string) {
	t.Helper()
	src, err := secrets.NewSource(t.Context(), "kv", c.KV("secret", secretPath))
	require.NoError(t, err)
	defer src.Close()
	s, err := src.Current()
	require.NoError(t, err)
	v, _ := s.Reveal("v")
	require.True(t, v == "x")
}

// staticX509 is an x509svid.Source holding one SVID.
type staticX509 struct{ svid *x509svid.SVID }

func (s staticX509) GetX509SVID() (*x509svid.SVID, error) { return s.svid, nil }

// recordingJWT is a jwtsvid.Source that remembers the tokens it handed out,
// so that a test can check that none reaches an error.
type recordingJWT struct {
	src jwtsvid.Source
	mu  sync.Mutex
	got []string
}

func (r *recordingJWT) FetchJWTSVID(ctx context.Context, p jwtsvid.Params) (*jwtsvid.SVID, error) {
	svid, err := r.src.FetchJWTSVID(ctx, p)
	if err == nil {
		r.mu.Lock()
		r.got = append(r.got, svid.Marshal())
		r.mu.Unlock()
	}
	return svid, err
}

func (r *recordingJWT) tokens() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// tokenJWT is a jwtsvid.Source handing out one fixed token.
type tokenJWT struct{ svid *jwtsvid.SVID }

func (s tokenJWT) FetchJWTSVID(context.Context, jwtsvid.Params) (*jwtsvid.SVID, error) {
	return s.svid, nil
}

// logBuffer is a concurrency-safe buffer for a test's debug logs.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logger returns a Source option logging everything, at debug level, to b.
func (b *logBuffer) logger() secrets.Option {
	return secrets.WithLogger(slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})))
}
