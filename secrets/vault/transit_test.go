package vault_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ijose "github.com/ztkit/ztkit/internal/jose"
	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/vault"
	"github.com/ztkit/ztkit/tokens"
)

const testIssuer = "https://id.shop.example"

var testAudience = []string{"https://checkout.shop.example"}

// transitClient mounts a Transit engine of the test's own and returns the
// admin client, the mount, and a Client logged in with a policy that reads
// the mount's keys and signs with them, nothing else.
func transitClient(t testing.TB) (*api.Client, string, *vault.Client) {
	t.Helper()
	a := baotest.Admin(t)
	mount := baotest.Mount(t, a, "transit")
	policy := `path "` + mount + `/keys/*" { capabilities = ["read"] }
path "` + mount + `/sign/*" { capabilities = ["update"] }`
	login := transitLogin(t, a, policy)
	c, err := vault.New(context.Background(), baotest.Config(t), login, fastBackoff)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return a, mount, c
}

// transitLogin returns an AppRole login, on a mount of the test's own, whose
// tokens have policy.
func transitLogin(t testing.TB, a *api.Client, policy string) api.AuthMethod {
	t.Helper()
	mount := baotest.EnableAuth(t, a, "approle")
	pol := uniq("pol")
	require.NoError(t, a.Sys().PutPolicy(pol, policy))
	t.Cleanup(func() { _ = a.Sys().DeletePolicy(pol) })
	_, err := a.Logical().Write("auth/"+mount+"/role/svc", map[string]any{"token_policies": pol, "token_ttl": "1h"})
	require.NoError(t, err)
	rid, err := a.Logical().Read("auth/" + mount + "/role/svc/role-id")
	require.NoError(t, err)
	sid, err := a.Logical().Write("auth/"+mount+"/role/svc/secret-id", nil)
	require.NoError(t, err)
	login, err := vault.AppRole(mount, rid.Data["role_id"].(string),
		secrets.NewSecret(map[string]string{"secret_id": sid.Data["secret_id"].(string)}, secrets.Lease{}))
	require.NoError(t, err)
	return login
}

// createKey creates a Transit key of keyType on mount and returns its name.
func createKey(t testing.TB, a *api.Client, mount, keyType string) string {
	t.Helper()
	name := uniq("sig")
	_, err := a.Logical().Write(mount+"/keys/"+name, map[string]any{"type": keyType})
	require.NoError(t, err)
	return name
}

func rotateKey(t testing.TB, a *api.Client, mount, name string) {
	t.Helper()
	_, err := a.Logical().Write(mount+"/keys/"+name+"/rotate", nil)
	require.NoError(t, err)
}

func deleteKey(t testing.TB, a *api.Client, mount, name string) {
	t.Helper()
	_, err := a.Logical().Write(mount+"/keys/"+name+"/config", map[string]any{"deletion_allowed": true})
	require.NoError(t, err)
	_, err = a.Logical().Delete(mount + "/keys/" + name)
	require.NoError(t, err)
}

func TestTransitSignerSignsTokens(t *testing.T) {
	a, mount, c := transitClient(t)
	ctx := context.Background()
	for _, tc := range []struct {
		keyType, alg string
	}{
		{"ecdsa-p256", "ES256"},
		{"ecdsa-p384", "ES384"},
		{"ed25519", "EdDSA"},
		{"rsa-2048", "PS256"},
		{"rsa-2048", "RS256"},
		{"rsa-3072", "PS256"},
		{"rsa-4096", "RS256"},
	} {
		t.Run(tc.keyType+"/"+tc.alg, func(t *testing.T) {
			name := createKey(t, a, mount, tc.keyType)
			s, err := c.TransitSigner(ctx, mount, name, 0)
			require.NoError(t, err)
			assert.Equal(t, 1, s.Version())
			assert.Equal(t, tc.keyType, s.KeyType())

			alg := tc.alg
			if alg == "PS256" {
				alg = "" // the default for RSA keys
			}
			key, err := tokens.NewSigningKey(s, alg)
			require.NoError(t, err)
			assert.Equal(t, tc.alg, key.Algorithm())
			ks, err := tokens.NewKeySet(key)
			require.NoError(t, err)
			iss, err := tokens.NewIssuer(testIssuer, ks)
			require.NoError(t, err)
			raw, err := iss.Issue(ctx, tokens.TokenRequest{Subject: "alice", ClientID: "shop", Audience: testAudience})
			require.NoError(t, err)

			// ztkit's verifier accepts it.
			v, err := tokens.NewVerifier(ks, testIssuer, testAudience)
			require.NoError(t, err)
			claims, err := v.Verify(ctx, raw)
			require.NoError(t, err)
			assert.Equal(t, "alice", claims.Subject)

			// go-jose verifies it with the public key Transit published.
			jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tc.alg)})
			require.NoError(t, err)
			require.Len(t, jws.Signatures, 1)
			assert.Equal(t, key.KeyID(), jws.Signatures[0].Header.KeyID)
			_, err = jws.Verify(s.Public())
			require.NoError(t, err)

			if tc.alg == "PS256" {
				// RFC 7518 §3.5: the salt is exactly as long as the hash.
				parts := strings.Split(raw, ".")
				sig, err := ijose.Decode([]byte(parts[2]))
				require.NoError(t, err)
				h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
				assert.NoError(t, rsa.VerifyPSS(s.Public().(*rsa.PublicKey), crypto.SHA256, h[:], sig,
					&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}))
			}

			// A JWS made by go-jose itself over the Transit signer (its
			// cryptosigner, PSS with the salt length go-jose asks for)
			// verifies with go-jose.
			js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(tc.alg), Key: cryptosigner.Opaque(s)}, nil)
			require.NoError(t, err)
			obj, err := js.Sign([]byte("payload"))
			require.NoError(t, err)
			compact, err := obj.CompactSerialize()
			require.NoError(t, err)
			back, err := jose.ParseSigned(compact, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tc.alg)})
			require.NoError(t, err)
			payload, err := back.Verify(s.Public())
			require.NoError(t, err)
			assert.Equal(t, "payload", string(payload))
		})
	}
}

func TestTransitSignerIsACryptoSigner(t *testing.T) {
	a, mount, c := transitClient(t)
	ctx := context.Background()
	msg := []byte("message")
	d256 := sha256.Sum256(msg)
	d384 := sha512.Sum384(msg)

	p384 := createKey(t, a, mount, "ecdsa-p384")
	s, err := c.TransitSigner(ctx, mount, p384, 0)
	require.NoError(t, err)
	sig, err := s.Sign(rand.Reader, d384[:], crypto.SHA384)
	require.NoError(t, err)
	assert.True(t, ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), d384[:], sig), "ASN.1 DER, as crypto/ecdsa makes it")
	assert.Equal(t, elliptic.P384(), s.Public().(*ecdsa.PublicKey).Curve)

	rsaKey := createKey(t, a, mount, "rsa-2048")
	rs, err := c.TransitSigner(ctx, mount, rsaKey, 0)
	require.NoError(t, err)
	pub := rs.Public().(*rsa.PublicKey)
	for _, salt := range []int{rsa.PSSSaltLengthEqualsHash, rsa.PSSSaltLengthAuto, 20} {
		sig, err := rs.Sign(nil, d256[:], &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: salt})
		require.NoError(t, err, "salt length %d", salt)
		assert.NoError(t, rsa.VerifyPSS(pub, crypto.SHA256, d256[:], sig, &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: salt}), "salt length %d", salt)
	}
	sig, err = rs.Sign(nil, d256[:], crypto.SHA256)
	require.NoError(t, err)
	assert.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, d256[:], sig))

	edKey := createKey(t, a, mount, "ed25519")
	es, err := c.TransitSigner(ctx, mount, edKey, 0)
	require.NoError(t, err)
	sig, err = es.SignContext(ctx, msg, crypto.Hash(0))
	require.NoError(t, err)
	assert.True(t, ed25519.Verify(es.Public().(ed25519.PublicKey), msg, sig))

	// Options the key cannot sign with are refused before any request.
	for name, call := range map[string]func() error{
		"ed25519ph":          func() error { _, err := es.Sign(nil, d256[:], crypto.SHA256); return err },
		"ed25519ctx":         func() error { _, err := es.Sign(nil, msg, &ed25519.Options{Context: "x"}); return err },
		"short digest":       func() error { _, err := s.Sign(nil, d256[:], crypto.SHA384); return err },
		"hash not offered":   func() error { _, err := s.Sign(nil, d256[:], crypto.SHA3_256); return err },
		"nil options":        func() error { _, err := s.Sign(nil, d384[:], nil); return err },
		"rsa without a hash": func() error { _, err := rs.Sign(nil, d256[:], crypto.Hash(0)); return err },
	} {
		assert.ErrorIs(t, call(), secrets.ErrInvalidConfig, name)
	}

	// Concurrent signatures, as an Issuer makes them.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			sig, err := s.Sign(nil, d384[:], crypto.SHA384)
			if assert.NoError(t, err) {
				assert.True(t, ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), d384[:], sig))
			}
		})
	}
	wg.Wait()
}

func TestTransitSignerPinsItsVersion(t *testing.T) {
	a, mount, c := transitClient(t)
	ctx := context.Background()
	name := createKey(t, a, mount, "ecdsa-p256")
	v1, err := c.TransitSigner(ctx, mount, name, 0)
	require.NoError(t, err)
	rotateKey(t, a, mount, name)

	// The latest is now version 2; the signer still signs with version 1.
	d := sha256.Sum256([]byte("m"))
	sig, err := v1.Sign(nil, d[:], crypto.SHA256)
	require.NoError(t, err)
	assert.True(t, ecdsa.VerifyASN1(v1.Public().(*ecdsa.PublicKey), d[:], sig))
	assert.Equal(t, 1, v1.Version())

	latest, err := c.TransitSigner(ctx, mount, name, 0)
	require.NoError(t, err)
	assert.Equal(t, 2, latest.Version())
	assert.False(t, latest.Public().(*ecdsa.PublicKey).Equal(v1.Public()))
	again, err := c.TransitSigner(ctx, mount, name, 1)
	require.NoError(t, err)
	assert.True(t, again.Public().(*ecdsa.PublicKey).Equal(v1.Public()))

	_, err = c.TransitSigner(ctx, mount, name, 3)
	assert.ErrorIs(t, err, secrets.ErrRefused, "no version 3")

	// Once version 1 may no longer sign, its signer is refused.
	_, err = a.Logical().Write(mount+"/keys/"+name+"/config", map[string]any{"min_encryption_version": 2})
	require.NoError(t, err)
	_, err = v1.Sign(nil, d[:], crypto.SHA256)
	assert.ErrorIs(t, err, secrets.ErrRefused)
}

func TestTransitSignerRefusals(t *testing.T) {
	a, mount, c := transitClient(t)
	ctx := context.Background()
	d := sha256.Sum256([]byte("m"))

	// A deleted key: refused, not retried as if Vault were down.
	name := createKey(t, a, mount, "ecdsa-p256")
	s, err := c.TransitSigner(ctx, mount, name, 0)
	require.NoError(t, err)
	deleteKey(t, a, mount, name)
	_, err = s.Sign(nil, d[:], crypto.SHA256)
	assert.ErrorIs(t, err, secrets.ErrRefused)
	assert.NotErrorIs(t, err, secrets.ErrUnavailable)
	_, err = c.TransitSigner(ctx, mount, name, 0)
	assert.ErrorIs(t, err, secrets.ErrRefused)

	// A key the token may not read, on a mount outside its policy.
	other := baotest.Mount(t, a, "transit")
	name = createKey(t, a, other, "ecdsa-p256")
	_, err = c.TransitSigner(ctx, other, name, 0)
	assert.ErrorIs(t, err, secrets.ErrRefused)

	// Keys that do not sign tokens.
	for _, kt := range []string{"aes256-gcm96", "ecdsa-p521"} {
		name := createKey(t, a, mount, kt)
		_, err = c.TransitSigner(ctx, mount, name, 0)
		assert.ErrorIs(t, err, secrets.ErrInvalidConfig, kt)
	}
	_, err = a.Logical().Write(mount+"/keys/derived", map[string]any{"type": "ed25519", "derived": true})
	require.NoError(t, err)
	_, err = c.TransitSigner(ctx, mount, "derived", 0)
	assert.ErrorIs(t, err, secrets.ErrInvalidConfig)
	_, err = c.TransitSigner(ctx, mount, "../keys", 0)
	assert.ErrorIs(t, err, secrets.ErrInvalidConfig)

	// A signature cut off by the timeout: unavailable.
	name = createKey(t, a, mount, "rsa-2048")
	slow, err := c.TransitSigner(ctx, mount, name, 0, vault.WithSignTimeout(time.Nanosecond))
	require.NoError(t, err)
	_, err = slow.Sign(nil, d[:], crypto.SHA256)
	assert.ErrorIs(t, err, secrets.ErrUnavailable)

	// A closed Client signs no more.
	s, err = c.TransitSigner(ctx, mount, name, 0)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	_, err = s.Sign(nil, d[:], crypto.SHA256)
	assert.ErrorIs(t, err, secrets.ErrClosed)
}

func TestTransitSignerLogsInAgainAfterA403(t *testing.T) {
	a, mount, c := transitClient(t)
	name := createKey(t, a, mount, "ed25519")
	s, err := c.TransitSigner(context.Background(), mount, name, 0)
	require.NoError(t, err)
	tok, err := c.Token().Current()
	require.NoError(t, err)
	// An operator revokes the Client's token out of band.
	require.NoError(t, a.Auth().Token().RevokeAccessor(tok.Lease().ID))
	sig, err := s.Sign(nil, []byte("m"), crypto.Hash(0))
	require.NoError(t, err, "the 403 made the Client log in again")
	assert.True(t, ed25519.Verify(s.Public().(ed25519.PublicKey), []byte("m"), sig))
}

// rewritingClient returns a Client that reaches the test OpenBao through a
// proxy applying rewrite to the body of each answer to a sign request: a
// Transit that answers with something other than what was asked for.
func rewritingClient(t *testing.T, policy string, rewrite func(string) string) *vault.Client {
	t.Helper()
	a := baotest.Admin(t)
	login := transitLogin(t, a, policy)
	target, err := url.Parse(a.Address())
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = a.CloneConfig().HttpClient.Transport
	proxy.ModifyResponse = func(r *http.Response) error {
		if !strings.Contains(r.Request.URL.Path, "/sign/") {
			return nil
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		out := rewrite(string(body))
		r.Body = io.NopCloser(strings.NewReader(out))
		r.ContentLength = int64(len(out))
		r.Header.Set("Content-Length", strconv.Itoa(len(out)))
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	cfg := baotest.Config(t)
	cfg.Address = srv.URL
	c, err := vault.New(context.Background(), cfg, login, fastBackoff)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestTransitSignerRefusesUnexpectedSignatures(t *testing.T) {
	a := baotest.Admin(t)
	mount := baotest.Mount(t, a, "transit")
	policy := `path "` + mount + `/*" { capabilities = ["read", "update"] }`
	name := createKey(t, a, mount, "ecdsa-p256")
	rotateKey(t, a, mount, name)
	d := sha256.Sum256([]byte("m"))
	for _, tc := range []struct {
		name    string
		rewrite func(string) string
	}{
		{"another version's prefix", func(b string) string { return strings.Replace(b, `"vault:v1:`, `"vault:v2:`, 1) }},
		{"another key_version", func(b string) string { return strings.Replace(b, `"key_version":1`, `"key_version":2`, 1) }},
		{"no prefix", func(b string) string { return strings.Replace(b, `"vault:v1:`, `"`, 1) }},
		{"a signature by another key", func(b string) string {
			// A valid DER signature by a key that is not version 1.
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			sig, _ := ecdsa.SignASN1(rand.Reader, k, d[:])
			i := strings.Index(b, `"vault:v1:`) + len(`"vault:v1:`)
			j := i + strings.Index(b[i:], `"`)
			return b[:i] + base64.StdEncoding.EncodeToString(sig) + b[j:]
		}},
		{"no signature", func(string) string { return `{"data":{}}` }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rewritingClient(t, policy, tc.rewrite)
			s, err := c.TransitSigner(context.Background(), mount, name, 1)
			require.NoError(t, err)
			sig, err := s.Sign(nil, d[:], crypto.SHA256)
			assert.ErrorIs(t, err, vault.ErrTransitSignature)
			assert.Nil(t, sig)
		})
	}
	// The proxy itself passes good answers.
	c := rewritingClient(t, policy, func(b string) string { return b })
	s, err := c.TransitSigner(context.Background(), mount, name, 1)
	require.NoError(t, err)
	_, err = s.Sign(nil, d[:], crypto.SHA256)
	assert.NoError(t, err)
}

// clock is a settable clock for the rotation overlap, the KeySet's retention
// and the token times.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	require.NoError(t, err)
	return jws.Signatures[0].Header.KeyID
}

func TestTransitKeysRotation(t *testing.T) {
	a, mount, c := transitClient(t)
	ctx := context.Background()
	name := createKey(t, a, mount, "ecdsa-p256")
	clk := &clock{now: time.Now()}
	keys, err := c.TransitKeys(ctx, mount, name,
		vault.WithRotationOverlap(10*time.Minute), vault.WithKeyRetention(time.Hour), vault.WithRotationClock(clk.Now))
	require.NoError(t, err)
	ks := keys.KeySet()
	cur, next := keys.Versions()
	assert.Equal(t, [2]int{1, 0}, [2]int{cur, next})

	iss, err := tokens.NewIssuer(testIssuer, ks, tokens.WithLifetime(30*time.Minute), tokens.WithClock(clk.Now))
	require.NoError(t, err)
	ver, err := tokens.NewVerifier(ks, testIssuer, testAudience, tokens.WithMaxLifetime(30*time.Minute), tokens.WithClock(clk.Now))
	require.NoError(t, err)
	issue := func() string {
		raw, err := iss.Issue(ctx, tokens.TokenRequest{Subject: "alice", ClientID: "shop", Audience: testAudience})
		require.NoError(t, err)
		return raw
	}
	old := issue()
	kid1 := kidOf(t, old)
	require.Equal(t, ks.Current().KeyID(), kid1)

	// Nothing new in Transit: nothing changes.
	updated := ks.Updated()
	require.NoError(t, keys.Sync(ctx))
	select {
	case <-updated:
		t.Fatal("the key set changed with no new Transit version")
	default:
	}

	// Transit rotates: the new version is published as next, and does not sign yet.
	rotateKey(t, a, mount, name)
	require.NoError(t, keys.Sync(ctx))
	cur, next = keys.Versions()
	assert.Equal(t, [2]int{1, 2}, [2]int{cur, next})
	pubs := ks.PublicKeys()
	require.Len(t, pubs, 2, "the next key is in the JWKS at once")
	kid2 := pubs[1].KeyID
	assert.NotEqual(t, kid1, kid2)
	assert.Equal(t, kid1, kidOf(t, issue()))

	// Within the overlap, a Sync does not rotate.
	clk.Add(9 * time.Minute)
	require.NoError(t, keys.Sync(ctx))
	assert.Equal(t, kid1, ks.Current().KeyID())

	// After it, the new version signs; the old one verifies for the retention.
	clk.Add(time.Minute)
	require.NoError(t, keys.Sync(ctx))
	cur, next = keys.Versions()
	assert.Equal(t, [2]int{2, 0}, [2]int{cur, next})
	fresh := issue()
	assert.Equal(t, kid2, kidOf(t, fresh))
	_, err = ver.Verify(ctx, fresh)
	require.NoError(t, err)
	_, err = ver.Verify(ctx, old)
	require.NoError(t, err, "a token of the old key verifies during the retention")
	_, err = ks.VerificationKey(ctx, kid1)
	require.NoError(t, err)

	clk.Add(time.Hour)
	_, err = ks.VerificationKey(ctx, kid1)
	assert.ErrorIs(t, err, tokens.ErrUnknownKey, "the old key is gone after the retention")

	// Two rotations within one overlap: the newest replaces the pending one,
	// which never signed, and the overlap starts again.
	rotateKey(t, a, mount, name)
	require.NoError(t, keys.Sync(ctx))
	clk.Add(5 * time.Minute)
	rotateKey(t, a, mount, name)
	require.NoError(t, keys.Sync(ctx))
	cur, next = keys.Versions()
	assert.Equal(t, [2]int{2, 4}, [2]int{cur, next})
	assert.Len(t, ks.PublicKeys(), 2)
	clk.Add(5 * time.Minute)
	require.NoError(t, keys.Sync(ctx))
	cur, _ = keys.Versions()
	assert.Equal(t, 2, cur, "the overlap restarted with version 4")
	clk.Add(5 * time.Minute)
	require.NoError(t, keys.Sync(ctx))
	cur, _ = keys.Versions()
	assert.Equal(t, 4, cur)

	// Vault unreachable for a sync: an error, and the keys stay as they are.
	deleteKey(t, a, mount, name)
	before := ks.Current()
	assert.ErrorIs(t, keys.Sync(ctx), secrets.ErrRefused)
	assert.Same(t, before, ks.Current())
}

func TestTransitKeysRestart(t *testing.T) {
	a, mount, c := transitClient(t)
	ctx := context.Background()
	name := createKey(t, a, mount, "ed25519")
	first, err := c.TransitKeys(ctx, mount, name)
	require.NoError(t, err)
	kid1 := first.KeySet().Current().KeyID()
	rotateKey(t, a, mount, name)

	// An issuer started just after the rotation: version 2 is younger than
	// the overlap, so it is published and version 1 still signs.
	clk := &clock{now: time.Now()}
	keys, err := c.TransitKeys(ctx, mount, name, vault.WithRotationClock(clk.Now))
	require.NoError(t, err)
	cur, next := keys.Versions()
	assert.Equal(t, [2]int{1, 2}, [2]int{cur, next})
	assert.Equal(t, kid1, keys.KeySet().Current().KeyID())
	clk.Add(vault.DefaultRotationOverlap)
	require.NoError(t, keys.Sync(ctx))
	cur, next = keys.Versions()
	assert.Equal(t, [2]int{2, 0}, [2]int{cur, next})

	// An issuer started after the overlap: version 2 signs, and version 1
	// still verifies the tokens it signed before the restart.
	late := &clock{now: time.Now().Add(vault.DefaultRotationOverlap + time.Minute)}
	keys, err = c.TransitKeys(ctx, mount, name, vault.WithRotationClock(late.Now))
	require.NoError(t, err)
	cur, next = keys.Versions()
	assert.Equal(t, [2]int{2, 0}, [2]int{cur, next})
	_, err = keys.KeySet().VerificationKey(ctx, kid1)
	assert.NoError(t, err)

	// An issuer started after the overlap and the retention: version 1 is gone.
	later := &clock{now: time.Now().Add(vault.DefaultRotationOverlap + vault.DefaultKeyRetention + time.Minute)}
	keys, err = c.TransitKeys(ctx, mount, name, vault.WithRotationClock(later.Now))
	require.NoError(t, err)
	_, err = keys.KeySet().VerificationKey(ctx, kid1)
	assert.ErrorIs(t, err, tokens.ErrUnknownKey)
	assert.Len(t, keys.KeySet().PublicKeys(), 1)
}

func TestTransitKeysRun(t *testing.T) {
	a, mount, c := transitClient(t)
	name := createKey(t, a, mount, "ecdsa-p256")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	keys, err := c.TransitKeys(ctx, mount, name,
		vault.WithRotationOverlap(300*time.Millisecond), vault.WithSyncInterval(50*time.Millisecond))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- keys.Run(ctx) }()

	ks := keys.KeySet()
	kid1 := ks.Current().KeyID()
	published := ks.Updated()
	rotateKey(t, a, mount, name)
	select {
	case <-published:
	case <-time.After(5 * time.Second):
		t.Fatal("the new version was not published")
	}
	require.Len(t, ks.PublicKeys(), 2)
	assert.Equal(t, kid1, ks.Current().KeyID())
	rotated := ks.Updated()
	select {
	case <-rotated:
	case <-time.After(5 * time.Second):
		t.Fatal("no rotation after the overlap")
	}
	assert.NotEqual(t, kid1, ks.Current().KeyID())
	_, err = ks.VerificationKey(ctx, kid1)
	assert.NoError(t, err)

	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

func TestTransitKeysErrors(t *testing.T) {
	a, mount, c := transitClient(t)
	ctx := context.Background()
	_, err := c.TransitKeys(ctx, mount, "nope")
	assert.ErrorIs(t, err, secrets.ErrRefused)
	name := createKey(t, a, mount, "ecdsa-p256")
	_, err = c.TransitKeys(ctx, mount, name, vault.WithSigningAlgorithm("RS256"))
	assert.ErrorIs(t, err, tokens.ErrInvalidKey)
}

// BenchmarkTransitSign is one ES256 signature by Transit (a round trip to
// the local OpenBao over TLS), beside the same signature by a local P-256
// key.
func BenchmarkTransitSign(b *testing.B) {
	d := sha256.Sum256([]byte("signing input"))
	b.Run("transit", func(b *testing.B) {
		a, mount, c := transitClient(b)
		name := createKey(b, a, mount, "ecdsa-p256")
		s, err := c.TransitSigner(context.Background(), mount, name, 0)
		require.NoError(b, err)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Sign(nil, d[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("local", func(b *testing.B) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(b, err)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	})
}
