package httpsig_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/tokens"
)

// signGet signs a GET with key and returns it.
func signGet(t *testing.T, key *httpsig.SigningKey, opts ...httpsig.SignerOption) *http.Request {
	t.Helper()
	s, err := httpsig.NewSigner(key, opts...)
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodGet, "https://catalog.shop.example/v1/items?sku=42", nil)
	require.NoError(t, s.SignRequest(r))
	return r
}

// Keys published as a JWK Set by a tokens.KeySet, fetched over TLS by a
// tokens.RemoteKeySet: a request signed with the ES256 key verifies as
// ecdsa-p256-sha256.
func TestTokenKeysRemoteJWKS(t *testing.T) {
	ctx := context.Background()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tk, err := tokens.NewSigningKey(priv, "ES256")
	require.NoError(t, err)
	ks, err := tokens.NewKeySet(tk)
	require.NoError(t, err)
	srv := httptest.NewTLSServer(ks.JWKSHandler())
	defer srv.Close()
	remote, err := tokens.NewRemoteKeySet(ctx, srv.URL, tokens.WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	defer remote.Close()

	keys, err := httpsig.NewTokenKeys(remote)
	require.NoError(t, err)
	v, err := httpsig.NewVerifier(keys)
	require.NoError(t, err)

	r := signGet(t, mustSK(t, tk.KeyID(), httpsig.AlgECDSAP256SHA256, priv), httpsig.WithAlgParameter())
	got, err := v.VerifyRequest(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, httpsig.AlgECDSAP256SHA256, got.Algorithm)

	// Unknown kid.
	_, err = keys.ResolveKey(ctx, "nope")
	assert.ErrorIs(t, err, httpsig.ErrUnknownKey)
}

func TestTokenKeysAlgorithms(t *testing.T) {
	ctx := context.Background()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tests := []struct {
		jws    string
		signer crypto.Signer
		want   httpsig.Algorithm
	}{
		{"ES256", ec, httpsig.AlgECDSAP256SHA256},
		{"EdDSA", ed, httpsig.AlgEd25519},
		{"PS512", rk, httpsig.AlgRSAPSSSHA512},
		{"RS256", rk, httpsig.AlgRSAV15SHA256},
		{"PS256", rk, ""},
	}
	for _, tt := range tests {
		t.Run(tt.jws, func(t *testing.T) {
			src := &tokenSource{key: &tokens.PublicKey{KeyID: "k", Key: tt.signer.Public(), Algorithm: tt.jws}}
			keys, err := httpsig.NewTokenKeys(src)
			require.NoError(t, err)
			k, err := keys.ResolveKey(ctx, "k")
			if tt.want == "" {
				assert.ErrorIs(t, err, httpsig.ErrUnknownKey)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, k.Algorithm())

			// The key verifies its algorithm's signatures.
			v, err := httpsig.NewVerifier(keys)
			require.NoError(t, err)
			_, err = v.VerifyRequest(ctx, signGet(t, mustSK(t, "k", tt.want, tt.signer)))
			require.NoError(t, err)
		})
	}

	// An RSA JWK without alg could be either RSA algorithm: refused.
	keys, err := httpsig.NewTokenKeys(&tokenSource{key: &tokens.PublicKey{KeyID: "k", Key: rk.Public()}})
	require.NoError(t, err)
	_, err = keys.ResolveKey(ctx, "k")
	assert.ErrorIs(t, err, httpsig.ErrUnknownKey)

	// A source that cannot answer.
	keys, err = httpsig.NewTokenKeys(&tokenSource{err: tokens.ErrKeySetUnavailable})
	require.NoError(t, err)
	_, err = keys.ResolveKey(ctx, "k")
	assert.ErrorIs(t, err, httpsig.ErrUnavailable)
}

// tokenSource is a tokens.KeySource holding one key.
type tokenSource struct {
	key *tokens.PublicKey
	err error
}

func (s *tokenSource) VerificationKey(_ context.Context, kid string) (*tokens.PublicKey, error) {
	if s.err != nil {
		return nil, s.err
	}
	if kid != s.key.KeyID {
		return nil, tokens.ErrUnknownKey
	}
	return s.key, nil
}

func TestSPIFFEKeys(t *testing.T) {
	ctx := context.Background()
	td := spiffeid.RequireTrustDomainFromString("shop.example")
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	set := jwtbundle.NewSet(jwtbundle.FromJWTAuthorities(td, map[string]crypto.PublicKey{
		"ec-1": ec.Public(), "rsa-1": rk.Public(),
	}))

	keys, err := httpsig.NewSPIFFEKeys(set, td)
	require.NoError(t, err)
	v, err := httpsig.NewVerifier(keys)
	require.NoError(t, err)
	got, err := v.VerifyRequest(ctx, signGet(t, mustSK(t, "ec-1", httpsig.AlgECDSAP256SHA256, ec)))
	require.NoError(t, err)
	assert.Equal(t, "ec-1", got.KeyID)

	_, err = keys.ResolveKey(ctx, "rsa-1")
	assert.ErrorIs(t, err, httpsig.ErrUnknownKey, "an RSA authority has no algorithm by default")
	_, err = keys.ResolveKey(ctx, "nope")
	assert.ErrorIs(t, err, httpsig.ErrUnknownKey)

	keys, err = httpsig.NewSPIFFEKeys(set, td, httpsig.WithRSAAlgorithm(httpsig.AlgRSAPSSSHA512))
	require.NoError(t, err)
	v, err = httpsig.NewVerifier(keys)
	require.NoError(t, err)
	_, err = v.VerifyRequest(ctx, signGet(t, mustSK(t, "rsa-1", httpsig.AlgRSAPSSSHA512, rk)))
	require.NoError(t, err)
	// alg in the message contradicting the key's.
	_, err = v.VerifyRequest(ctx, signGet(t, mustSK(t, "rsa-1", httpsig.AlgRSAV15SHA256, rk), httpsig.WithAlgParameter()))
	assert.ErrorIs(t, err, httpsig.ErrUnknownKey)

	// Another trust domain's bundle is not consulted.
	other, err := httpsig.NewSPIFFEKeys(set, spiffeid.RequireTrustDomainFromString("partner.example"))
	require.NoError(t, err)
	_, err = other.ResolveKey(ctx, "ec-1")
	assert.ErrorIs(t, err, httpsig.ErrUnavailable)
	assert.False(t, errors.Is(err, httpsig.ErrUnknownKey))
}
