package tokens_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
)

func getJWKS(tb testing.TB, method, url string, hdr map[string]string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(tb, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return resp, body
}

func TestJWKSHandler(t *testing.T) {
	f := newRotationFixture(t)
	srv := httptest.NewServer(f.ks.JWKSHandler(tokens.WithMaxAge(2 * time.Minute)))
	t.Cleanup(srv.Close)

	resp, body := getJWKS(t, http.MethodGet, srv.URL, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, tokens.JWKSContentType, resp.Header.Get("Content-Type"))
	assert.Contains(t, resp.Header.Get("Cache-Control"), "max-age=120")
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)
	assert.True(t, strings.HasPrefix(etag, `"`) && strings.HasSuffix(etag, `"`), "a strong entity tag: %s", etag)
	assert.NotContains(t, string(body), `"d"`)

	t.Run("parses with ParseJWKS", func(t *testing.T) {
		keys, err := tokens.ParseJWKS(body)
		require.NoError(t, err)
		require.Len(t, keys, 1)
		assert.Equal(t, f.a.KeyID(), keys[0].KeyID)
		assert.Equal(t, "ES256", keys[0].Algorithm)
		assert.True(t, keys[0].Key.(*ecdsa.PublicKey).Equal(f.a.Public().Key))
	})
	t.Run("parses with go-jose", func(t *testing.T) {
		var set jose.JSONWebKeySet
		require.NoError(t, json.Unmarshal(body, &set))
		got := set.Key(f.a.KeyID())
		require.Len(t, got, 1)
		assert.True(t, got[0].IsPublic())
		assert.True(t, got[0].Valid())
		assert.Equal(t, "sig", got[0].Use)
		assert.Equal(t, "ES256", got[0].Algorithm)
		assert.Equal(t, f.a.KeyID(), goJoseThumbprint(t, got[0].Key))
	})
	t.Run("304 on If-None-Match", func(t *testing.T) {
		resp, body := getJWKS(t, http.MethodGet, srv.URL, map[string]string{"If-None-Match": etag})
		assert.Equal(t, http.StatusNotModified, resp.StatusCode)
		assert.Empty(t, body)
		assert.Equal(t, etag, resp.Header.Get("ETag"))
		resp, _ = getJWKS(t, http.MethodGet, srv.URL, map[string]string{"If-None-Match": `"other"`})
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
	t.Run("HEAD", func(t *testing.T) {
		resp, body := getJWKS(t, http.MethodHead, srv.URL, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Empty(t, body)
		assert.Equal(t, etag, resp.Header.Get("ETag"))
		assert.Equal(t, tokens.JWKSContentType, resp.Header.Get("Content-Type"))
	})
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		t.Run(m+" is 405", func(t *testing.T) {
			resp, _ := getJWKS(t, m, srv.URL, nil)
			assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
			assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
		})
	}
	t.Run("ETag follows the key set", func(t *testing.T) {
		resp, _ := getJWKS(t, http.MethodGet, srv.URL, nil)
		require.Equal(t, etag, resp.Header.Get("ETag"), "unchanged set, same tag")

		require.NoError(t, f.ks.SetNext(f.b))
		resp, body := getJWKS(t, http.MethodGet, srv.URL, map[string]string{"If-None-Match": etag})
		require.Equal(t, http.StatusOK, resp.StatusCode)
		etag2 := resp.Header.Get("ETag")
		assert.NotEqual(t, etag, etag2)
		keys, err := tokens.ParseJWKS(body)
		require.NoError(t, err)
		assert.Len(t, keys, 2)

		require.NoError(t, f.ks.Rotate())
		resp, body = getJWKS(t, http.MethodGet, srv.URL, nil)
		etag3 := resp.Header.Get("ETag")
		assert.NotEqual(t, etag2, etag3, "current key changed")
		keys, err = tokens.ParseJWKS(body)
		require.NoError(t, err)
		require.Len(t, keys, 2)
		assert.Equal(t, f.b.KeyID(), keys[0].KeyID, "current first")

		f.clock.Advance(time.Hour) // retention over: a drops out
		resp, body = getJWKS(t, http.MethodGet, srv.URL, nil)
		assert.NotEqual(t, etag3, resp.Header.Get("ETag"))
		keys, err = tokens.ParseJWKS(body)
		require.NoError(t, err)
		require.Len(t, keys, 1)
		assert.Equal(t, f.b.KeyID(), keys[0].KeyID)
	})
}

func TestJWKSHandlerDefaultMaxAge(t *testing.T) {
	f := newRotationFixture(t)
	srv := httptest.NewServer(f.ks.JWKSHandler(tokens.WithMaxAge(-time.Second)))
	t.Cleanup(srv.Close)
	resp, _ := getJWKS(t, http.MethodGet, srv.URL, nil)
	assert.Contains(t, resp.Header.Get("Cache-Control"), "max-age=300")
}

func TestMarshalJWKSRoundTrip(t *testing.T) {
	ec := newECKey(t, elliptic.P384())
	ed := newEdKey(t)
	rk := testRSAKeyA()
	in := []*tokens.PublicKey{
		{KeyID: "ec", Key: &ec.PublicKey, Algorithm: "ES384"},
		{KeyID: "ed", Key: ed.Public()},
		{KeyID: "rsa", Key: &rk.PublicKey, Algorithm: "RS256"},
	}
	b, err := tokens.MarshalJWKS(in)
	require.NoError(t, err)
	out, err := tokens.ParseJWKS(b)
	require.NoError(t, err)
	require.Len(t, out, len(in))
	for i := range in {
		assert.Equal(t, in[i].KeyID, out[i].KeyID)
		assert.Equal(t, in[i].Algorithm, out[i].Algorithm)
		assert.True(t, out[i].Key.(interface{ Equal(crypto.PublicKey) bool }).Equal(in[i].Key), in[i].KeyID)
	}
}

// jwkJSON returns the JWK of key (public or private) with kid and extra
// members, from go-jose.
func jwkJSON(tb testing.TB, key any, kid string, extra map[string]any) string {
	tb.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: kid})
	require.NoError(tb, err)
	if len(extra) == 0 {
		return string(b)
	}
	var m map[string]any
	require.NoError(tb, json.Unmarshal(b, &m))
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err = json.Marshal(m)
	require.NoError(tb, err)
	return string(b)
}

func jwks(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }

type jwksCase struct {
	name     string
	set      string
	wantKIDs []string // kept keys, in order; ignored when wantErr
	wantErr  bool     // ErrInvalidKey
}

func parseJWKSCases(tb testing.TB) []jwksCase {
	tb.Helper()
	p256, p384, p521 := newECKey(tb, elliptic.P256()), newECKey(tb, elliptic.P384()), newECKey(tb, elliptic.P521())
	ed := newEdKey(tb)
	rk, weak := testRSAKeyA(), testRSA1024()
	ec := jwkJSON(tb, &p256.PublicKey, "ec", nil)
	many := func(n int, key func(i int) string) string {
		var ks []string
		for i := range n {
			ks = append(ks, key(i))
		}
		return jwks(ks...)
	}
	return []jwksCase{
		{name: "EC P-256", set: jwks(ec), wantKIDs: []string{"ec"}},
		{name: "EC P-384, OKP and RSA", set: jwks(
			jwkJSON(tb, &p384.PublicKey, "p384", map[string]any{"use": "sig", "alg": "ES384"}),
			jwkJSON(tb, ed.Public(), "ed", map[string]any{"alg": "EdDSA"}),
			jwkJSON(tb, &rk.PublicKey, "rsa", map[string]any{"alg": "PS256"}),
		), wantKIDs: []string{"p384", "ed", "rsa"}},
		{name: "empty set", set: `{"keys":[]}`, wantKIDs: nil},
		{name: "unknown members ignored", set: `{"keys":[` + ec + `],"issuer":"x"}`, wantKIDs: []string{"ec"}},
		{name: "skips use enc", set: jwks(jwkJSON(tb, &p384.PublicKey, "enc", map[string]any{"use": "enc"}), ec), wantKIDs: []string{"ec"}},
		{name: "skips no kid", set: jwks(jwkJSON(tb, &p384.PublicKey, "", nil), ec), wantKIDs: []string{"ec"}},
		{name: "skips P-521", set: jwks(jwkJSON(tb, &p521.PublicKey, "p521", nil), ec), wantKIDs: []string{"ec"}},
		{name: "skips X25519", set: jwks(`{"kty":"OKP","crv":"X25519","kid":"x","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`, ec), wantKIDs: []string{"ec"}},
		{name: "skips oct without k", set: jwks(`{"kty":"oct","kid":"oct","alg":"HS256"}`, ec), wantKIDs: []string{"ec"}},
		{name: "skips unknown kty", set: jwks(`{"kty":"PQC","kid":"pq","x":"AAAA"}`, ec), wantKIDs: []string{"ec"}},
		{name: "skips 1024-bit RSA", set: jwks(jwkJSON(tb, &weak.PublicKey, "weak", nil), ec), wantKIDs: []string{"ec"}},
		{name: "skips alg that does not fit the key", set: jwks(jwkJSON(tb, &p384.PublicKey, "bad-alg", map[string]any{"alg": "ES256"}), ec), wantKIDs: []string{"ec"}},
		{name: "skips alg HS256 on an EC key", set: jwks(jwkJSON(tb, &p384.PublicKey, "hs", map[string]any{"alg": "HS256"}), ec), wantKIDs: []string{"ec"}},
		{name: "skips point off the curve", set: jwks(jwkJSON(tb, &p256.PublicKey, "off", map[string]any{"y": b64(make([]byte, 32))}), jwkJSON(tb, &p384.PublicKey, "ok", nil)), wantKIDs: []string{"ok"}},
		{name: "skips kid that is not a string", set: jwks(jwkJSON(tb, &p384.PublicKey, "", map[string]any{"kid": 7}), ec), wantKIDs: []string{"ec"}},
		{name: "skips a key that is not an object", set: jwks(`"key"`, `null`, ec), wantKIDs: []string{"ec"}},
		// RFC 7517 §4.2 use and §4.3 key_ops: only a key for verifying signatures is kept.
		{name: "keeps use sig with key_ops verify", set: jwks(jwkJSON(tb, &p384.PublicKey, "both", map[string]any{"use": "sig", "key_ops": []string{"verify"}})), wantKIDs: []string{"both"}},
		{name: "keeps key_ops sign and verify", set: jwks(jwkJSON(tb, &p384.PublicKey, "sv", map[string]any{"key_ops": []string{"sign", "verify"}})), wantKIDs: []string{"sv"}},
		{name: "skips use enc with alg", set: jwks(jwkJSON(tb, &p384.PublicKey, "enc", map[string]any{"use": "enc", "alg": "ES384"}), ec), wantKIDs: []string{"ec"}},
		{name: "skips use Sig", set: jwks(jwkJSON(tb, &p384.PublicKey, "Sig", map[string]any{"use": "Sig"}), ec), wantKIDs: []string{"ec"}},
		{name: "skips use empty", set: jwks(jwkJSON(tb, &p384.PublicKey, "empty-use", map[string]any{"use": ""}), ec), wantKIDs: []string{"ec"}},
		{name: "skips use not a string", set: jwks(jwkJSON(tb, &p384.PublicKey, "n", map[string]any{"use": 1}), ec), wantKIDs: []string{"ec"}},
		{name: "skips use array", set: jwks(jwkJSON(tb, &p384.PublicKey, "a", map[string]any{"use": []string{"sig"}}), ec), wantKIDs: []string{"ec"}},
		{name: "skips use other", set: jwks(jwkJSON(tb, &p384.PublicKey, "tls", map[string]any{"use": "tls"}), ec), wantKIDs: []string{"ec"}},
		{name: "skips key_ops encrypt", set: jwks(jwkJSON(tb, &p384.PublicKey, "ops-enc", map[string]any{"key_ops": []string{"encrypt", "wrapKey"}}), ec), wantKIDs: []string{"ec"}},
		{name: "skips key_ops sign only", set: jwks(jwkJSON(tb, &p384.PublicKey, "ops-sign", map[string]any{"key_ops": []string{"sign"}}), ec), wantKIDs: []string{"ec"}},
		{name: "skips key_ops empty", set: jwks(jwkJSON(tb, &p384.PublicKey, "ops-none", map[string]any{"key_ops": []string{}}), ec), wantKIDs: []string{"ec"}},
		{name: "skips key_ops Verify", set: jwks(jwkJSON(tb, &p384.PublicKey, "ops-V", map[string]any{"key_ops": []string{"Verify"}}), ec), wantKIDs: []string{"ec"}},
		{name: "skips key_ops as a string", set: jwks(jwkJSON(tb, &p384.PublicKey, "ops-str", map[string]any{"key_ops": "verify"}), ec), wantKIDs: []string{"ec"}},
		{name: "skips key_ops null", set: jwks(jwkJSON(tb, &p384.PublicKey, "ops-null", map[string]any{"key_ops": json.RawMessage("null")}), ec), wantKIDs: []string{"ec"}},
		{name: "skips key_ops with a number", set: jwks(jwkJSON(tb, &p384.PublicKey, "ops-num", map[string]any{"key_ops": []any{"verify", 1}}), ec), wantKIDs: []string{"ec"}},
		{name: "skips key_ops with duplicates", set: jwks(jwkJSON(tb, &p384.PublicKey, "ops-dup", map[string]any{"key_ops": []string{"verify", "verify"}}), ec), wantKIDs: []string{"ec"}},
		{name: "skips key_ops verify with use enc", set: jwks(jwkJSON(tb, &p384.PublicKey, "mixed", map[string]any{"use": "enc", "key_ops": []string{"verify"}}), ec), wantKIDs: []string{"ec"}},
		{name: "skips use sig with key_ops encrypt", set: jwks(jwkJSON(tb, &p384.PublicKey, "mixed2", map[string]any{"use": "sig", "key_ops": []string{"encrypt"}}), ec), wantKIDs: []string{"ec"}},
		{name: "skips key_ops longer than 16", set: jwks(jwkJSON(tb, &p384.PublicKey, "long", map[string]any{"key_ops": func() []string {
			ops := []string{"verify"}
			for i := range 16 {
				ops = append(ops, fmt.Sprint("op", i))
			}
			return ops
		}()}), ec), wantKIDs: []string{"ec"}},
		{name: "same kid skipped then kept", set: jwks(jwkJSON(tb, &p384.PublicKey, "ec", map[string]any{"use": "enc"}), ec), wantKIDs: []string{"ec"}},
		{name: "100 keys", set: many(100, func(i int) string { return jwkJSON(tb, &p256.PublicKey, fmt.Sprint("k", i), nil) }), wantKIDs: func() []string {
			var k []string
			for i := range 100 {
				k = append(k, fmt.Sprint("k", i))
			}
			return k
		}()},

		{name: "refuses EC with d", set: jwks(ec, jwkJSON(tb, p384, "priv", nil)), wantErr: true},
		{name: "refuses OKP with d", set: jwks(jwkJSON(tb, ed, "priv", nil)), wantErr: true},
		{name: "refuses RSA with private members", set: jwks(jwkJSON(tb, rk, "priv", nil)), wantErr: true},
		{name: "refuses private key even with use enc", set: jwks(jwkJSON(tb, p384, "priv", map[string]any{"use": "enc"})), wantErr: true},
		{name: "refuses oct with k", set: jwks(`{"kty":"oct","kid":"oct","k":"c2VjcmV0"}`), wantErr: true},
		{name: "refuses duplicate kids", set: jwks(ec, jwkJSON(tb, &p384.PublicKey, "ec", nil)), wantErr: true},
		{name: "refuses 101 keys", set: many(101, func(int) string { return `{}` }), wantErr: true},
		{name: "refuses top-level array", set: `[` + ec + `]`, wantErr: true},
		{name: "refuses string", set: `"keys"`, wantErr: true},
		{name: "refuses null", set: `null`, wantErr: true},
		{name: "refuses empty input", set: ``, wantErr: true},
		{name: "refuses missing keys", set: `{"kid":"ec"}`, wantErr: true},
		{name: "refuses keys as object", set: `{"keys":` + ec + `}`, wantErr: true},
		{name: "refuses keys null", set: `{"keys":null}`, wantErr: true},
		{name: "refuses duplicate keys member", set: `{"keys":[],"keys":[` + ec + `]}`, wantErr: true},
		{name: "refuses trailing data", set: jwks(ec) + `x`, wantErr: true},
		{name: "refuses truncated", set: jwks(ec)[:40], wantErr: true},
	}
}

func TestParseJWKS(t *testing.T) {
	for _, tc := range parseJWKSCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := tokens.ParseJWKS([]byte(tc.set))
			if tc.wantErr {
				assert.ErrorIs(t, err, tokens.ErrInvalidKey)
				assert.Nil(t, keys)
				if tc.set != "" {
					assert.NotContains(t, err.Error(), tc.set)
				}
				return
			}
			require.NoError(t, err)
			var kids []string
			for _, k := range keys {
				kids = append(kids, k.KeyID)
				require.NotNil(t, k.Key)
			}
			assert.Equal(t, tc.wantKIDs, kids)
		})
	}
}

// FuzzParseJWKS: ParseJWKS never panics; a set it accepts holds at most 100
// usable keys with distinct, non-empty kids, each fit for its alg; and it
// survives MarshalJWKS and ParseJWKS unchanged. A refusal is ErrInvalidKey.
func FuzzParseJWKS(f *testing.F) {
	for _, tc := range parseJWKSCases(f) {
		f.Add([]byte(tc.set))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := tokens.ParseJWKS(data)
		if err != nil {
			require.ErrorIs(t, err, tokens.ErrInvalidKey)
			require.Nil(t, keys)
			return
		}
		require.LessOrEqual(t, len(keys), 100)
		seen := map[string]bool{}
		for _, k := range keys {
			require.NotNil(t, k)
			require.NotEmpty(t, k.KeyID)
			require.False(t, seen[k.KeyID], "kid %q twice", k.KeyID)
			seen[k.KeyID] = true
			switch pk := k.Key.(type) {
			case *ecdsa.PublicKey:
				require.Contains(t, []string{"P-256", "P-384"}, pk.Curve.Params().Name)
			case ed25519.PublicKey:
				require.Len(t, pk, ed25519.PublicKeySize)
			case *rsa.PublicKey:
				require.GreaterOrEqual(t, pk.N.BitLen(), 2048)
			default:
				t.Fatalf("key of type %T", k.Key)
			}
			require.Contains(t, []string{"", "ES256", "ES384", "EdDSA", "Ed25519", "PS256", "RS256"}, k.Algorithm)
		}
		again, err := tokens.MarshalJWKS(keys)
		require.NoError(t, err)
		back, err := tokens.ParseJWKS(again)
		require.NoError(t, err)
		require.Len(t, back, len(keys))
		for i := range keys {
			require.Equal(t, keys[i].KeyID, back[i].KeyID)
			require.Equal(t, keys[i].Algorithm, back[i].Algorithm)
			require.True(t, back[i].Key.(interface{ Equal(crypto.PublicKey) bool }).Equal(keys[i].Key))
		}
	})
}
