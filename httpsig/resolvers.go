package httpsig

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/ztkit/ztkit/tokens"
)

// TokenKeys is a [KeyResolver] over a tokens.KeySource: a JWK Set fetched by
// a tokens.RemoteKeySet, or a tokens.KeySet in the same process. The keyid
// of a signature is the kid of a JWK.
//
// A JWK's JWS algorithm maps onto the RFC 9421 one: ES256 to
// ecdsa-p256-sha256, EdDSA (and Ed25519) to ed25519, PS512 to
// rsa-pss-sha512, RS256 to rsa-v1_5-sha256. A JWK with another alg
// resolves to [ErrUnknownKey]. A JWK without alg has one algorithm only if
// its key type decides it (P-256, Ed25519); an RSA JWK without alg is
// refused, since it could be either RSA algorithm.
type TokenKeys struct {
	src tokens.KeySource
}

// NewTokenKeys returns a resolver over src.
func NewTokenKeys(src tokens.KeySource) (*TokenKeys, error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil key source", ErrInvalidConfig)
	}
	return &TokenKeys{src: src}, nil
}

// ResolveKey returns the key whose kid is keyID.
func (k *TokenKeys) ResolveKey(ctx context.Context, keyID string) (*VerifyingKey, error) {
	pk, err := k.src.VerificationKey(ctx, keyID)
	switch {
	case errors.Is(err, tokens.ErrUnknownKey):
		return nil, fmt.Errorf("%w: %w", ErrUnknownKey, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	case pk == nil:
		return nil, ErrUnknownKey
	}
	var alg Algorithm
	switch pk.Algorithm {
	case "ES256":
		alg = AlgECDSAP256SHA256
	case "EdDSA", "Ed25519":
		alg = AlgEd25519
	case "PS512":
		alg = AlgRSAPSSSHA512
	case "RS256":
		alg = AlgRSAV15SHA256
	case "":
		alg = algorithmOfKey(pk.Key)
		if alg == "" {
			return nil, fmt.Errorf("%w: the key's algorithm is not determined by its type", ErrUnknownKey)
		}
	default:
		return nil, fmt.Errorf("%w: the key's algorithm has no RFC 9421 counterpart", ErrUnknownKey)
	}
	vk, err := NewVerifyingKey(keyID, alg, pk.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownKey, err)
	}
	return vk, nil
}

// algorithmOfKey returns the only algorithm pub can verify, or "" when its
// type allows more than one (RSA) or none.
func algorithmOfKey(pub crypto.PublicKey) Algorithm {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return AlgECDSAP256SHA256
		}
	case ed25519.PublicKey:
		return AlgEd25519
	}
	return ""
}

// SPIFFEKeys is a [KeyResolver] over the JWT authorities of a SPIFFE trust
// domain's bundle (a workloadapi.JWTSource or BundleSource, a
// jwtbundle.Set, kept current by the Workload API): the keyid of a
// signature is the key ID of a JWT authority of the trust domain given to
// [NewSPIFFEKeys], never of another one.
//
// An authority's algorithm follows from its type: P-256 keys verify
// ecdsa-p256-sha256, Ed25519 keys ed25519. A JWT bundle does not say which
// algorithm an RSA key is for: RSA authorities resolve to [ErrUnknownKey]
// unless [WithRSAAlgorithm] says it.
type SPIFFEKeys struct {
	src    jwtbundle.Source
	td     spiffeid.TrustDomain
	rsaAlg Algorithm
}

// SPIFFEOption configures [NewSPIFFEKeys].
type SPIFFEOption interface{ applySPIFFE(*SPIFFEKeys) }

type spiffeOptionFunc func(*SPIFFEKeys)

func (f spiffeOptionFunc) applySPIFFE(k *SPIFFEKeys) { f(k) }

// WithRSAAlgorithm sets the algorithm the RSA authorities of the bundle
// verify: [AlgRSAPSSSHA512] or [AlgRSAV15SHA256].
func WithRSAAlgorithm(alg Algorithm) SPIFFEOption {
	return spiffeOptionFunc(func(k *SPIFFEKeys) { k.rsaAlg = alg })
}

// NewSPIFFEKeys returns a resolver over the JWT authorities of td in src.
func NewSPIFFEKeys(src jwtbundle.Source, td spiffeid.TrustDomain, opts ...SPIFFEOption) (*SPIFFEKeys, error) {
	if src == nil || td.IsZero() {
		return nil, fmt.Errorf("%w: bundle source and trust domain required", ErrInvalidConfig)
	}
	k := &SPIFFEKeys{src: src, td: td}
	for _, o := range opts {
		if o != nil {
			o.applySPIFFE(k)
		}
	}
	if k.rsaAlg != "" && k.rsaAlg != AlgRSAPSSSHA512 && k.rsaAlg != AlgRSAV15SHA256 {
		return nil, fmt.Errorf("%w: not an RSA algorithm", ErrInvalidConfig)
	}
	return k, nil
}

// ResolveKey returns the JWT authority whose key ID is keyID.
func (k *SPIFFEKeys) ResolveKey(_ context.Context, keyID string) (*VerifyingKey, error) {
	b, err := k.src.GetJWTBundleForTrustDomain(k.td)
	if err != nil {
		return nil, fmt.Errorf("%w: JWT bundle of the trust domain: %w", ErrUnavailable, err)
	}
	pub, ok := b.FindJWTAuthority(keyID)
	if !ok {
		return nil, ErrUnknownKey
	}
	alg := algorithmOfKey(pub)
	if alg == "" {
		alg = k.rsaAlg
	}
	if alg == "" {
		return nil, fmt.Errorf("%w: the authority's algorithm is not determined by its type", ErrUnknownKey)
	}
	vk, err := NewVerifyingKey(keyID, alg, pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownKey, err)
	}
	return vk, nil
}
