package vault

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/secrets"
)

func TestParseTransitSignature(t *testing.T) {
	for _, tc := range []struct {
		name, sig string
		version   int
		want      []byte
	}{
		{"pinned version", "vault:v1:AQID", 1, []byte{1, 2, 3}},
		{"two digits", "vault:v12:AQID", 12, []byte{1, 2, 3}},
		{"another version", "vault:v2:AQID", 1, nil},
		{"version 1 asked for, 11 given", "vault:v11:AQID", 1, nil},
		{"leading zero", "vault:v01:AQID", 1, nil},
		{"signed version", "vault:v+1:AQID", 1, nil},
		{"negative version", "vault:v-1:AQID", -1, nil},
		{"no version", "vault:v:AQID", 0, nil},
		{"huge version", "vault:v99999999999999999999:AQID", 1, nil},
		{"no prefix", "AQID", 1, nil},
		{"other prefix", "bao:v1:AQID", 1, nil},
		{"no signature", "vault:v1:", 1, nil},
		{"no separator", "vault:v1AQID", 1, nil},
		{"url-safe base64", "vault:v1:-_8", 1, nil},
		{"unpadded base64", "vault:v1:AQI", 1, nil},
		{"not base64", "vault:v1:%%%%", 1, nil},
		{"empty", "", 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseTransitSignature(tc.sig, tc.version)
			if tc.want == nil {
				assert.ErrorIs(t, err, ErrTransitSignature)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func pemPublicKey(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestParseTransitPublicKey(t *testing.T) {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	require.NoError(t, err)
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	r2048, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	ok := []struct {
		keyType, key string
	}{
		{"ecdsa-p256", pemPublicKey(t, &p256.PublicKey)},
		{"ecdsa-p384", pemPublicKey(t, &p384.PublicKey)},
		{"ed25519", base64.StdEncoding.EncodeToString(edPub)},
		{"ed25519", pemPublicKey(t, edPub)},
		{"rsa-2048", pemPublicKey(t, &r2048.PublicKey)},
	}
	for _, tc := range ok {
		pub, err := parseTransitPublicKey(tc.keyType, tc.key)
		require.NoError(t, err, tc.keyType)
		assert.NotNil(t, pub)
	}
	bad := []struct {
		name, keyType, key string
	}{
		{"P-384 key as ecdsa-p256", "ecdsa-p256", pemPublicKey(t, &p384.PublicKey)},
		{"P-521", "ecdsa-p256", pemPublicKey(t, &p521.PublicKey)},
		{"RSA key as ECDSA", "ecdsa-p256", pemPublicKey(t, &r2048.PublicKey)},
		{"rsa-2048 as rsa-3072", "rsa-3072", pemPublicKey(t, &r2048.PublicKey)},
		{"ECDSA key as ed25519", "ed25519", pemPublicKey(t, &p256.PublicKey)},
		{"short ed25519", "ed25519", base64.StdEncoding.EncodeToString(edPub[:31])},
		{"unknown type", "aes256-gcm96", pemPublicKey(t, &p256.PublicKey)},
		{"trailing data", "ecdsa-p256", pemPublicKey(t, &p256.PublicKey) + "x"},
		{"two keys", "ecdsa-p256", pemPublicKey(t, &p256.PublicKey) + pemPublicKey(t, &p256.PublicKey)},
		{"certificate block", "ecdsa-p256", strings.ReplaceAll(pemPublicKey(t, &p256.PublicKey), "PUBLIC KEY", "CERTIFICATE")},
		{"empty", "ecdsa-p256", ""},
		{"empty ed25519", "ed25519", ""},
	}
	for _, tc := range bad {
		_, err := parseTransitPublicKey(tc.keyType, tc.key)
		assert.ErrorIs(t, err, ErrTransitSignature, tc.name)
	}
}

func TestParseTransitKey(t *testing.T) {
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	data := func(mod func(map[string]any)) map[string]any {
		d := map[string]any{
			"type": "ed25519", "derived": false, "soft_deleted": false,
			"latest_version": json.Number("2"), "min_encryption_version": json.Number("0"),
			"keys": map[string]any{
				"1":     map[string]any{"public_key": base64.StdEncoding.EncodeToString(edPub), "creation_time": "2026-12-07T00:06:27.004365843Z"},
				"2":     map[string]any{"public_key": "x", "creation_time": "2026-12-07T01:06:27Z"},
				"three": map[string]any{"public_key": "y"},
			},
		}
		if mod != nil {
			mod(d)
		}
		return d
	}
	info, err := parseTransitKey(data(nil))
	require.NoError(t, err)
	assert.Equal(t, 2, info.latest)
	assert.Len(t, info.versions, 2)
	assert.Equal(t, 6, info.versions[1].created.Minute())

	for name, tc := range map[string]struct {
		mod  func(map[string]any)
		want error
	}{
		"symmetric":    {func(d map[string]any) { d["type"] = "aes256-gcm96" }, secrets.ErrInvalidConfig},
		"derived":      {func(d map[string]any) { d["derived"] = true }, secrets.ErrInvalidConfig},
		"soft-deleted": {func(d map[string]any) { d["soft_deleted"] = true }, secrets.ErrRefused},
		"no version":   {func(d map[string]any) { delete(d, "latest_version") }, ErrTransitSignature},
		"version 0":    {func(d map[string]any) { d["latest_version"] = json.Number("0") }, ErrTransitSignature},
	} {
		_, err := parseTransitKey(data(tc.mod))
		assert.ErrorIs(t, err, tc.want, name)
	}
}

// FuzzParseTransitSignature: no panic; what parses carries the version asked
// for and round-trips.
func FuzzParseTransitSignature(f *testing.F) {
	for _, s := range []string{"vault:v1:AQID", "vault:v12:AQID", "vault:v01:AQID", "vault:v1:", "vault:v:", "vault:v1:-_8", "bao:v1:AQID", ""} {
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, s string, version int) {
		sig, err := parseTransitSignature(s, version)
		if err != nil {
			if sig != nil {
				t.Fatal("a signature with an error")
			}
			return
		}
		if back := "vault:v" + strconv.Itoa(version) + ":" + base64.StdEncoding.EncodeToString(sig); back != s {
			t.Fatalf("round trip: %q from %q", back, s)
		}
	})
}

// FuzzParseTransitPublicKey: no panic; what parses is of the key type.
func FuzzParseTransitPublicKey(f *testing.F) {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(f, err)
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(f, err)
	f.Add("ecdsa-p256", pemPublicKey(f, &p256.PublicKey))
	f.Add("ecdsa-p384", pemPublicKey(f, &p256.PublicKey))
	f.Add("ed25519", base64.StdEncoding.EncodeToString(edPub))
	f.Add("ed25519", pemPublicKey(f, edPub))
	f.Add("rsa-2048", "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n")
	f.Fuzz(func(t *testing.T, keyType, s string) {
		pub, err := parseTransitPublicKey(keyType, s)
		if err != nil {
			return
		}
		switch k := pub.(type) {
		case *ecdsa.PublicKey:
			if !strings.HasPrefix(keyType, "ecdsa-") || k.Curve.Params().BitSize != transitKeyTypes[keyType] {
				t.Fatalf("%s parsed as %s", keyType, k.Curve.Params().Name)
			}
		case ed25519.PublicKey:
			if keyType != "ed25519" || len(k) != ed25519.PublicKeySize {
				t.Fatalf("%s parsed as ed25519", keyType)
			}
		case *rsa.PublicKey:
			if !strings.HasPrefix(keyType, "rsa-") || k.N.BitLen() != transitKeyTypes[keyType] {
				t.Fatalf("%s parsed as rsa-%d", keyType, k.N.BitLen())
			}
		default:
			t.Fatalf("%s parsed as %T", keyType, pub)
		}
	})
}
