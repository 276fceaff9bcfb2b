package httpsig_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/secrets"
)

// HMAC keys hold secrets: every print path shows [REDACTED], and a log line
// with keys in it is exactly the golden one.
func TestKeysPrintRedacted(t *testing.T) {
	secret := bytes.Repeat([]byte("k"), 32)
	sk, err := httpsig.NewHMACSigningKey("hmac-1", secret)
	require.NoError(t, err)
	vk, err := httpsig.NewHMACVerifyingKey("hmac-1", secret)
	require.NoError(t, err)
	keys, err := httpsig.NewStaticKeys(vk)
	require.NoError(t, err)
	for _, v := range []any{sk, vk, keys} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			assert.Equal(t, "[REDACTED]", fmt.Sprintf(verb, v), verb)
		}
		j, err := json.Marshal(v)
		require.NoError(t, err)
		assert.Equal(t, `"[REDACTED]"`, string(j))
	}

	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	log.Info("keys", "signing", sk, "verifying", vk, "resolver", keys)
	assert.Equal(t, "level=INFO msg=keys signing=[REDACTED] verifying=[REDACTED] resolver=[REDACTED]\n", buf.String())
}

func TestKeyChecks(t *testing.T) {
	ec384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	edPub, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	_, err = httpsig.NewSigningKey("k", httpsig.AlgECDSAP256SHA256, ec384)
	assert.Error(t, err, "P-384 is not ecdsa-p256-sha256")
	_, err = httpsig.NewSigningKey("k", httpsig.AlgRSAPSSSHA512, small)
	assert.Error(t, err, "1024-bit RSA")
	_, err = httpsig.NewSigningKey("k", httpsig.AlgRSAV15SHA256, ed)
	assert.Error(t, err, "Ed25519 key for RSA")
	_, err = httpsig.NewSigningKey("k", "none", ed)
	assert.Error(t, err)
	_, err = httpsig.NewVerifyingKey("k", httpsig.AlgHMACSHA256, edPub)
	assert.Error(t, err, "HMAC keys are secrets, not public keys")
	_, err = httpsig.NewHMACSigningKey("k", make([]byte, 16))
	assert.Error(t, err, "short HMAC secret")
	_, err = httpsig.NewHMACVerifyingKey("k", make([]byte, 31))
	assert.Error(t, err, "short HMAC secret")
	vk := mustVK(t, "k", httpsig.AlgEd25519, edPub)
	_, err = httpsig.NewStaticKeys(vk, vk)
	assert.Error(t, err, "two keys with one id")

	_, err = httpsig.NewSigner(mustSK(t, "k", httpsig.AlgEd25519, ed), httpsig.WithLabel("Sig"))
	assert.ErrorIs(t, err, httpsig.ErrInvalidConfig)
	_, err = httpsig.NewSigner(mustSK(t, "k", httpsig.AlgEd25519, ed), httpsig.WithComponents(httpsig.Derived("@method"), httpsig.Derived("@method")))
	assert.ErrorIs(t, err, httpsig.ErrInvalidConfig)
	_, err = httpsig.NewSigner(mustSK(t, "k", httpsig.AlgEd25519, ed), httpsig.WithComponents(httpsig.Derived("@nope")))
	assert.ErrorIs(t, err, httpsig.ErrInvalidConfig)
	_, err = httpsig.NewSigner(mustSK(t, "k\n", httpsig.AlgEd25519, ed))
	assert.ErrorIs(t, err, httpsig.ErrInvalidConfig)
	keys, err := httpsig.NewStaticKeys(vk)
	require.NoError(t, err)
	for _, o := range []httpsig.VerifierOption{
		httpsig.WithMaxAge(0), httpsig.WithLeeway(-time.Second), httpsig.WithAlgorithms(),
		httpsig.WithAlgorithms("hs256"), httpsig.WithMaxBodySize(0), httpsig.WithRequiredParams("iat"),
		httpsig.WithExternalOrigin("ftp://x"), httpsig.WithExternalOrigin("https://x/path"), httpsig.WithLabel("A"),
		httpsig.WithRequiredComponents(httpsig.Field("a b")),
	} {
		_, err = httpsig.NewVerifier(keys, o)
		assert.ErrorIs(t, err, httpsig.ErrInvalidConfig)
	}
}

// An HMAC key read from a secrets.Source: a rotation takes effect on the
// next signature, without a new Signer.
func TestHMACSecretFromSource(t *testing.T) {
	ctx := context.Background()
	n := 0
	mem, err := secrets.NewMemory(func() (map[string]string, error) {
		n++
		return map[string]string{"key": "partner-secret-0123456789abcdef-" + strconv.Itoa(n)}, nil
	}, time.Hour, 2*time.Hour)
	require.NoError(t, err)
	src, err := secrets.NewSource(ctx, "partner-hmac", mem)
	require.NoError(t, err)
	defer src.Close()

	sk, err := httpsig.NewHMACSourceSigningKey("partner", src, "key")
	require.NoError(t, err)
	s, err := httpsig.NewSigner(sk)
	require.NoError(t, err)
	verifierFor := func(secret string) *httpsig.Verifier {
		vk, err := httpsig.NewHMACVerifyingKey("partner", []byte(secret))
		require.NoError(t, err)
		keys, err := httpsig.NewStaticKeys(vk)
		require.NoError(t, err)
		v, err := httpsig.NewVerifier(keys)
		require.NoError(t, err)
		return v
	}
	sign := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "https://partner.example/v1/stock?sku=1", nil)
		require.NoError(t, s.SignRequest(r))
		return r
	}
	// The verifier reads the same source: it follows the rotation too.
	sourceKeys := httpsig.NewHMACSourceKeys()
	require.NoError(t, sourceKeys.Add("partner", src, "key"))
	assert.Equal(t, "[REDACTED]", fmt.Sprint(sourceKeys))
	following, err := httpsig.NewVerifier(sourceKeys)
	require.NoError(t, err)

	first, second := "partner-secret-0123456789abcdef-1", "partner-secret-0123456789abcdef-2"
	r := sign()
	_, err = verifierFor(first).VerifyRequest(ctx, r)
	require.NoError(t, err)
	_, err = following.VerifyRequest(ctx, r)
	require.NoError(t, err)

	require.NoError(t, src.Rotate(ctx))
	r = sign()
	_, err = verifierFor(first).VerifyRequest(ctx, r)
	assert.ErrorIs(t, err, httpsig.ErrInvalid)
	_, err = verifierFor(second).VerifyRequest(ctx, r)
	assert.NoError(t, err)
	_, err = following.VerifyRequest(ctx, r)
	assert.NoError(t, err)
	_, err = sourceKeys.ResolveKey(ctx, "other")
	assert.ErrorIs(t, err, httpsig.ErrUnknownKey)

	// A field the credential does not have: signing fails, naming no value.
	bad, err := httpsig.NewHMACSourceSigningKey("partner", src, "nope")
	require.NoError(t, err)
	s, err = httpsig.NewSigner(bad)
	require.NoError(t, err)
	err = s.SignRequest(httptest.NewRequest(http.MethodGet, "https://partner.example/", nil))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "partner-secret")
}
