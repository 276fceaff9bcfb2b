package tokens_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
)

// publicOnlySigner is a crypto.Signer that knows only its public key: enough
// for NewSigningKey and the thumbprint, never used to sign.
type publicOnlySigner struct{ pub crypto.PublicKey }

func (s publicOnlySigner) Public() crypto.PublicKey { return s.pub }
func (publicOnlySigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("public only")
}

func mustB64(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(tb, err)
	return b
}

func goJoseThumbprint(tb testing.TB, pub crypto.PublicKey) string {
	tb.Helper()
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	require.NoError(tb, err)
	return b64(tp)
}

// TestKeyIDIsThumbprint checks that a signing key's kid is its RFC 7638
// thumbprint, against the RFCs' own vectors and against go-jose.
func TestKeyIDIsThumbprint(t *testing.T) {
	// RFC 7638 §3.1: the RSA key of RFC 7517 Appendix A.1.
	rfc7638N := "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	rfcRSA := &rsa.PublicKey{N: new(big.Int).SetBytes(mustB64(t, rfc7638N)), E: 65537}
	// RFC 8037 Appendix A.1 (key) and A.3 (thumbprint).
	rfcEd := ed25519.NewKeyFromSeed(mustB64(t, "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"))
	require.Equal(t, mustB64(t, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"), []byte(rfcEd.Public().(ed25519.PublicKey)), "precondition: RFC 8037 A.1 public key")

	cases := []struct {
		name   string
		signer crypto.Signer
		alg    string
		want   string // "" means: whatever go-jose computes
	}{
		{name: "RFC 7638 §3.1 RSA", signer: publicOnlySigner{rfcRSA}, alg: "RS256", want: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		{name: "RFC 8037 A.3 Ed25519", signer: rfcEd, want: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
		{name: "P-256", signer: newECKey(t, elliptic.P256())},
		{name: "P-384", signer: newECKey(t, elliptic.P384())},
		{name: "Ed25519", signer: newEdKey(t)},
		{name: "RSA-2048", signer: testRSAKeyA()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := newSigningKey(t, tc.signer, tc.alg)
			gj := goJoseThumbprint(t, tc.signer.Public())
			assert.Equal(t, gj, k.KeyID())
			if tc.want != "" {
				assert.Equal(t, tc.want, k.KeyID())
			}
			assert.Equal(t, k.KeyID(), k.Public().KeyID)
			assert.Equal(t, k.Algorithm(), k.Public().Algorithm)
		})
	}
}

func TestNewSigningKeyDefaults(t *testing.T) {
	cases := []struct {
		name   string
		signer crypto.Signer
		alg    string
		want   string
	}{
		{name: "P-256", signer: newECKey(t, elliptic.P256()), want: "ES256"},
		{name: "P-384", signer: newECKey(t, elliptic.P384()), want: "ES384"},
		{name: "Ed25519", signer: newEdKey(t), want: "EdDSA"},
		{name: "RSA", signer: testRSAKeyA(), want: "PS256"},
		{name: "RSA as RS256", signer: testRSAKeyA(), alg: "RS256", want: "RS256"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := newSigningKey(t, tc.signer, tc.alg)
			assert.Equal(t, tc.want, k.Algorithm())
		})
	}
}

func TestNewSigningKeyRefuses(t *testing.T) {
	p521 := newECKey(t, elliptic.P521())
	cases := []struct {
		name   string
		signer crypto.Signer
		alg    string
		want   error
	}{
		{name: "1024-bit RSA", signer: testRSA1024(), want: tokens.ErrWeakKey},
		{name: "1024-bit RSA as RS256", signer: testRSA1024(), alg: "RS256", want: tokens.ErrWeakKey},
		{name: "P-256 as ES384", signer: newECKey(t, elliptic.P256()), alg: "ES384", want: tokens.ErrInvalidKey},
		{name: "P-384 as ES256", signer: newECKey(t, elliptic.P384()), alg: "ES256", want: tokens.ErrInvalidKey},
		{name: "Ed25519 as ES256", signer: newEdKey(t), alg: "ES256", want: tokens.ErrInvalidKey},
		{name: "RSA as EdDSA", signer: testRSAKeyA(), alg: "EdDSA", want: tokens.ErrInvalidKey},
		{name: "P-256 as HS256", signer: newECKey(t, elliptic.P256()), alg: "HS256", want: tokens.ErrInvalidKey},
		{name: "P-256 as none", signer: newECKey(t, elliptic.P256()), alg: "none", want: tokens.ErrInvalidKey},
		{name: "RSA as RS512", signer: testRSAKeyA(), alg: "RS512", want: tokens.ErrInvalidKey},
		{name: "P-521", signer: p521, want: tokens.ErrInvalidKey},
		{name: "P-521 as ES512", signer: p521, alg: "ES512", want: tokens.ErrInvalidKey},
		{name: "nil signer", signer: nil, want: tokens.ErrInvalidKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tokens.NewSigningKey(tc.signer, tc.alg)
			assert.ErrorIs(t, err, tc.want)
			assert.Nil(t, k)
		})
	}
}

// rotationFixture is a KeySet with key a current, on a settable clock, and a
// verifier of its tokens that does not cache.
type rotationFixture struct {
	clock *testClock
	a, b  *tokens.SigningKey
	ks    *tokens.KeySet
	iss   *tokens.Issuer
	v     *tokens.Verifier
}

func newRotationFixture(tb testing.TB) *rotationFixture {
	tb.Helper()
	f := &rotationFixture{clock: newTestClock(testNow)}
	f.a = newSigningKey(tb, newECKey(tb, elliptic.P256()), "")
	f.b = newSigningKey(tb, newEdKey(tb), "")
	f.ks = newKeySet(tb, f.a, tokens.WithRetention(20*time.Minute), tokens.WithClock(f.clock.Now))
	f.iss = newIssuer(tb, f.ks, tokens.WithClock(f.clock.Now))
	f.v = newVerifier(tb, f.ks, tokens.WithClock(f.clock.Now), tokens.WithCacheSize(0))
	return f
}

// issueWith issues a token signed by k, from a key set of its own.
func (f *rotationFixture) issueWith(tb testing.TB, k *tokens.SigningKey) string {
	tb.Helper()
	return issue(tb, newIssuer(tb, newKeySet(tb, k), tokens.WithClock(f.clock.Now)), basicRequest())
}

func (f *rotationFixture) kid(tb testing.TB, tok string) string {
	tb.Helper()
	c, err := f.v.Verify(context.Background(), tok)
	require.NoError(tb, err)
	return c.KeyID
}

func publicKIDs(ks *tokens.KeySet) []string {
	var out []string
	for _, k := range ks.PublicKeys() {
		out = append(out, k.KeyID)
	}
	return out
}

func TestKeySetRotation(t *testing.T) {
	ctx := context.Background()
	f := newRotationFixture(t)

	// The current key signs.
	assert.Same(t, f.a, f.ks.Current())
	assert.Equal(t, f.a.KeyID(), f.kid(t, issue(t, f.iss, basicRequest())))
	assert.Equal(t, []string{f.a.KeyID()}, publicKIDs(f.ks))

	// A token from the next key is refused before SetNext...
	fromB := f.issueWith(t, f.b)
	_, err := f.v.Verify(ctx, fromB)
	require.ErrorIs(t, err, tokens.ErrUnknownKey)

	// ...verifies once it is published, while a still signs.
	require.NoError(t, f.ks.SetNext(f.b))
	assert.Equal(t, f.b.KeyID(), f.kid(t, fromB))
	assert.Equal(t, f.a.KeyID(), f.kid(t, issue(t, f.iss, basicRequest())))
	assert.Equal(t, []string{f.a.KeyID(), f.b.KeyID()}, publicKIDs(f.ks))
	assert.ErrorIs(t, f.ks.SetNext(f.a), tokens.ErrInvalidConfig, "a key already in the set")
	assert.ErrorIs(t, f.ks.SetNext(nil), tokens.ErrInvalidConfig)

	// Rotate: b signs, a is retired and still verifies.
	fromA := issue(t, f.iss, basicRequest())
	require.NoError(t, f.ks.Rotate())
	assert.Same(t, f.b, f.ks.Current())
	assert.Equal(t, f.b.KeyID(), f.kid(t, issue(t, f.iss, basicRequest())))
	assert.Equal(t, f.a.KeyID(), f.kid(t, fromA))
	assert.Equal(t, []string{f.b.KeyID(), f.a.KeyID()}, publicKIDs(f.ks))
	assert.ErrorIs(t, f.ks.Rotate(), tokens.ErrInvalidConfig, "no next key")

	// Until the retention ends (20m); the token itself lives 5m, so check the
	// key source directly past that.
	f.clock.Advance(20*time.Minute - time.Nanosecond)
	k, err := f.ks.VerificationKey(ctx, f.a.KeyID())
	require.NoError(t, err)
	assert.Same(t, f.a.Public(), k)
	f.clock.Advance(time.Nanosecond)
	_, err = f.ks.VerificationKey(ctx, f.a.KeyID())
	assert.ErrorIs(t, err, tokens.ErrUnknownKey)
	_, err = f.v.Verify(ctx, fromA)
	assert.ErrorIs(t, err, tokens.ErrUnknownKey)
	assert.Equal(t, []string{f.b.KeyID()}, publicKIDs(f.ks))
}

func TestKeySetRetiredKeyVerifiesWithinRetention(t *testing.T) {
	f := newRotationFixture(t)
	fromA := issue(t, f.iss, basicRequest())
	require.NoError(t, f.ks.SetNext(f.b))
	require.NoError(t, f.ks.Rotate())
	f.clock.Advance(4 * time.Minute) // token still valid, key retired
	assert.Equal(t, f.a.KeyID(), f.kid(t, fromA))
}

func TestKeySetRevoke(t *testing.T) {
	ctx := context.Background()
	t.Run("current is refused", func(t *testing.T) {
		f := newRotationFixture(t)
		assert.ErrorIs(t, f.ks.Revoke(f.a.KeyID()), tokens.ErrInvalidConfig)
		assert.Same(t, f.a, f.ks.Current())
	})
	t.Run("retired stops verifying at once", func(t *testing.T) {
		f := newRotationFixture(t)
		fromA := issue(t, f.iss, basicRequest())
		require.NoError(t, f.ks.SetNext(f.b))
		require.NoError(t, f.ks.Rotate())
		require.Equal(t, f.a.KeyID(), f.kid(t, fromA))
		require.NoError(t, f.ks.Revoke(f.a.KeyID()))
		_, err := f.v.Verify(ctx, fromA)
		assert.ErrorIs(t, err, tokens.ErrUnknownKey)
		assert.Equal(t, []string{f.b.KeyID()}, publicKIDs(f.ks))
		assert.ErrorIs(t, f.ks.Revoke(f.a.KeyID()), tokens.ErrUnknownKey, "already revoked")
	})
	t.Run("next", func(t *testing.T) {
		f := newRotationFixture(t)
		require.NoError(t, f.ks.SetNext(f.b))
		require.NoError(t, f.ks.Revoke(f.b.KeyID()))
		_, err := f.ks.VerificationKey(ctx, f.b.KeyID())
		assert.ErrorIs(t, err, tokens.ErrUnknownKey)
		assert.ErrorIs(t, f.ks.Rotate(), tokens.ErrInvalidConfig, "nothing left to rotate to")
	})
	t.Run("unknown", func(t *testing.T) {
		f := newRotationFixture(t)
		assert.ErrorIs(t, f.ks.Revoke("no-such-kid"), tokens.ErrUnknownKey)
	})
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestKeySetUpdated(t *testing.T) {
	f := newRotationFixture(t)
	steps := []struct {
		name   string
		op     func() error
		change bool
	}{
		{name: "SetNext", op: func() error { return f.ks.SetNext(f.b) }, change: true},
		{name: "failed SetNext", op: func() error { return f.ks.SetNext(f.b) }, change: false},
		{name: "Rotate", op: f.ks.Rotate, change: true},
		{name: "failed Rotate", op: f.ks.Rotate, change: false},
		{name: "failed Revoke of current", op: func() error { return f.ks.Revoke(f.b.KeyID()) }, change: false},
		{name: "Revoke", op: func() error { return f.ks.Revoke(f.a.KeyID()) }, change: true},
	}
	for _, s := range steps {
		ch := f.ks.Updated()
		require.False(t, closed(ch), "%s: open before the change", s.name)
		err := s.op()
		assert.Equal(t, s.change, err == nil, "%s: %v", s.name, err)
		assert.Equal(t, s.change, closed(ch), "%s", s.name)
		assert.False(t, closed(f.ks.Updated()), "%s: a fresh channel after the change", s.name)
	}
}

func TestNewKeySetRefusesNil(t *testing.T) {
	ks, err := tokens.NewKeySet(nil)
	assert.ErrorIs(t, err, tokens.ErrInvalidConfig)
	assert.Nil(t, ks)
}

// secretForms returns the encodings of key's private material that must never
// be printed.
func secretForms(tb testing.TB, key crypto.Signer) []string {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(tb, err)
	forms := []string{hex.EncodeToString(der), base64.StdEncoding.EncodeToString(der)}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		d, err := k.Bytes()
		require.NoError(tb, err)
		scalar := new(big.Int).SetBytes(d) // what the deprecated k.D holds
		forms = append(forms, scalar.String(), hex.EncodeToString(d), b64(d), fmt.Sprintf("%x", scalar))
	case ed25519.PrivateKey:
		forms = append(forms, hex.EncodeToString(k.Seed()), b64(k.Seed()), fmt.Sprint([]byte(k.Seed())))
	}
	return forms
}

func TestSigningKeyRedaction(t *testing.T) {
	for name, signer := range map[string]crypto.Signer{"P-256": newECKey(t, elliptic.P256()), "Ed25519": newEdKey(t)} {
		t.Run(name, func(t *testing.T) {
			key := newSigningKey(t, signer, "")
			secrets := secretForms(t, signer)
			noSecret := func(t *testing.T, out, what string) {
				t.Helper()
				for _, s := range secrets {
					assert.NotContains(t, out, s, what)
				}
			}
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
				out := fmt.Sprintf(verb, key)
				assert.Equal(t, "[REDACTED]", out, verb)
				wrapped := fmt.Sprintf(verb, struct{ Key *tokens.SigningKey }{key})
				assert.Contains(t, wrapped, "[REDACTED]", "exported field, %s", verb)
				noSecret(t, wrapped, verb)
				noSecret(t, fmt.Sprintf(verb, struct{ key *tokens.SigningKey }{key}), "unexported field "+verb)
				noSecret(t, fmt.Sprintf(verb, []*tokens.SigningKey{key}), "slice "+verb)
			}
			assert.Equal(t, "[REDACTED]", key.String())
			assert.Equal(t, "[REDACTED]", key.GoString())

			j, err := json.Marshal(key)
			require.NoError(t, err)
			assert.JSONEq(t, `"[REDACTED]"`, string(j))
			j, err = json.Marshal(map[string]any{"key": key})
			require.NoError(t, err)
			assert.JSONEq(t, `{"key":"[REDACTED]"}`, string(j))

			// A KeySet has no printing methods of its own; it must not reach the key either.
			ks := newKeySet(t, key)
			for _, verb := range []string{"%v", "%+v", "%#v"} {
				noSecret(t, fmt.Sprintf(verb, ks), "KeySet "+verb)
			}
			j, err = json.Marshal(map[string]any{"keys": ks}) // as a KeySet would reach a JSON log record
			require.NoError(t, err)
			noSecret(t, string(j), "KeySet JSON")
		})
	}
}

// TestSigningKeyLogLine is a golden test of the log line of a signing key.
func TestSigningKeyLogLine(t *testing.T) {
	signer := newECKey(t, elliptic.P256())
	key := newSigningKey(t, signer, "")
	noTime := func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	cases := []struct {
		name string
		h    func(w io.Writer) slog.Handler
		want string
	}{
		{
			name: "JSON",
			h: func(w io.Writer) slog.Handler {
				return slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: noTime})
			},
			want: `{"level":"INFO","msg":"signing key loaded","key":"[REDACTED]","keys":{"current":"[REDACTED]"},"any":"[REDACTED]"}` + "\n",
		},
		{
			name: "text",
			h: func(w io.Writer) slog.Handler {
				return slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: noTime})
			},
			want: `level=INFO msg="signing key loaded" key=[REDACTED] keys.current=[REDACTED] any=[REDACTED]` + "\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			slog.New(tc.h(&buf)).Info("signing key loaded", "key", key, slog.Group("keys", "current", key), slog.Any("any", key))
			assert.Equal(t, tc.want, buf.String())
			for _, s := range secretForms(t, signer) {
				assert.NotContains(t, buf.String(), s)
			}
		})
	}
}

func TestPublicKeysAreImmutableAcrossCalls(t *testing.T) {
	f := newRotationFixture(t)
	k1, err := f.ks.VerificationKey(context.Background(), f.a.KeyID())
	require.NoError(t, err)
	k2, err := f.ks.VerificationKey(context.Background(), f.a.KeyID())
	require.NoError(t, err)
	assert.Same(t, k1, k2, "the verifier's cache compares keys by pointer")
	assert.Same(t, f.a.Public(), k1)
}
