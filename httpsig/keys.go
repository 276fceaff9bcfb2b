package httpsig

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"log/slog"

	"github.com/ztkit/ztkit/internal/redacted"
	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/secrets"
)

// minHMACKeySize is the shortest HMAC secret accepted, in bytes (the output
// size of SHA-256, RFC 2104 §3).
const minHMACKeySize = 32

// minRSABits is the smallest RSA modulus accepted.
const minRSABits = 2048

// KeyResolver finds the key a signature names in its keyid parameter.
//
// ResolveKey returns an error matching [ErrUnknownKey] when no key has the
// id, and one matching [ErrUnavailable] when the keys cannot be had at all.
// The returned key carries its algorithm: the verifier never takes the
// algorithm from the message. Its id must be keyID exactly: the verifier
// refuses a key of another id ([ErrUnknownKey]), since the keyid is the
// identity it reports ([Verified.KeyID]). Implementations are safe for
// concurrent use.
type KeyResolver interface {
	ResolveKey(ctx context.Context, keyID string) (*VerifyingKey, error)
}

// VerifyingKey is a key that verifies signatures of one algorithm: a public
// key, or an HMAC secret. A VerifyingKey holding a secret prints as
// [REDACTED] through fmt, slog and encoding/json; every VerifyingKey does, so
// that no log line depends on which kind it is.
type VerifyingKey struct {
	keyID string
	alg   Algorithm
	pub   crypto.PublicKey
	// secret is two pointers down (redact.Secret), so that fmt, which
	// calls no method on an unexported field of a caller's struct, prints
	// an address there rather than the bytes.
	secret redact.Secret[[]byte]
}

// NewVerifyingKey returns the key keyID that verifies alg signatures with
// pub: an *ecdsa.PublicKey on P-256 for [AlgECDSAP256SHA256], an
// ed25519.PublicKey for [AlgEd25519], an *rsa.PublicKey of 2048 bits or more
// for [AlgRSAPSSSHA512] and [AlgRSAV15SHA256]. For [AlgHMACSHA256] use
// [NewHMACVerifyingKey].
func NewVerifyingKey(keyID string, alg Algorithm, pub crypto.PublicKey) (*VerifyingKey, error) {
	if err := checkPublicKey(alg, pub); err != nil {
		return nil, err
	}
	return &VerifyingKey{keyID: keyID, alg: alg, pub: pub}, nil
}

// NewHMACVerifyingKey returns the [AlgHMACSHA256] key keyID with the shared
// secret (at least 32 bytes). The secret is copied.
func NewHMACVerifyingKey(keyID string, secret []byte) (*VerifyingKey, error) {
	if len(secret) < minHMACKeySize {
		return nil, fmt.Errorf("httpsig: HMAC secret shorter than %d bytes", minHMACKeySize)
	}
	return &VerifyingKey{keyID: keyID, alg: AlgHMACSHA256, secret: redact.NewSecret(append([]byte(nil), secret...))}, nil
}

// KeyID returns the key's id.
func (k *VerifyingKey) KeyID() string { return k.keyID }

// Algorithm returns the only algorithm the key verifies.
func (k *VerifyingKey) Algorithm() Algorithm { return k.alg }

// Public returns the public key, or nil for an HMAC key.
func (k *VerifyingKey) Public() crypto.PublicKey { return k.pub }

// String returns [REDACTED].
func (k VerifyingKey) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (k VerifyingKey) GoString() string { return redacted.Marker }

// Format writes [REDACTED] for every verb.
func (k VerifyingKey) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue returns [REDACTED].
func (k VerifyingKey) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON returns "[REDACTED]".
func (k VerifyingKey) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }

// checkPublicKey checks that pub is a key alg verifies with.
func checkPublicKey(alg Algorithm, pub crypto.PublicKey) error {
	switch alg {
	case AlgECDSAP256SHA256:
		if k, ok := pub.(*ecdsa.PublicKey); ok && k.Curve == elliptic.P256() {
			return nil
		}
	case AlgEd25519:
		if k, ok := pub.(ed25519.PublicKey); ok && len(k) == ed25519.PublicKeySize {
			return nil
		}
	case AlgRSAPSSSHA512, AlgRSAV15SHA256:
		if k, ok := pub.(*rsa.PublicKey); ok {
			if k.N.BitLen() < minRSABits {
				return fmt.Errorf("httpsig: RSA key shorter than %d bits", minRSABits)
			}
			return nil
		}
	case AlgHMACSHA256:
		return fmt.Errorf("httpsig: an HMAC key has no public key")
	default:
		return fmt.Errorf("httpsig: unsupported algorithm")
	}
	return fmt.Errorf("httpsig: key type does not match algorithm %s", alg)
}

// StaticKeys is a [KeyResolver] over a fixed set of keys, by key id.
// It prints as [REDACTED] (it may hold HMAC secrets).
type StaticKeys struct {
	keys map[string]*VerifyingKey
}

// NewStaticKeys returns a resolver over keys. Two keys with one id are an
// error.
func NewStaticKeys(keys ...*VerifyingKey) (*StaticKeys, error) {
	m := make(map[string]*VerifyingKey, len(keys))
	for _, k := range keys {
		if k == nil {
			return nil, fmt.Errorf("httpsig: nil key")
		}
		if _, dup := m[k.keyID]; dup {
			return nil, fmt.Errorf("httpsig: two keys with the id %q", k.keyID)
		}
		m[k.keyID] = k
	}
	return &StaticKeys{keys: m}, nil
}

// ResolveKey returns the key keyID, or an error matching [ErrUnknownKey].
func (s *StaticKeys) ResolveKey(_ context.Context, keyID string) (*VerifyingKey, error) {
	if k, ok := s.keys[keyID]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}

// String returns [REDACTED].
func (s *StaticKeys) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (s *StaticKeys) GoString() string { return redacted.Marker }

// Format writes [REDACTED] for every verb.
func (s *StaticKeys) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue returns [REDACTED].
func (s *StaticKeys) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON returns "[REDACTED]".
func (s *StaticKeys) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }

// SigningKey is what a [Signer] signs with: a crypto.Signer (a key in
// memory, an HSM, Vault Transit) with its algorithm, or an HMAC secret held
// in memory or read from a [secrets.Source] at each signature so that it
// rotates without a restart.
//
// A SigningKey prints as [REDACTED] through fmt, slog and encoding/json.
type SigningKey struct {
	keyID string
	alg   Algorithm
	// signer and secret are two pointers down (redact.Secret), so that fmt,
	// which calls no method on an unexported field of a caller's struct,
	// prints an address there rather than an Ed25519 private key's bytes
	// or the HMAC secret.
	signer redact.Secret[crypto.Signer]
	secret redact.Secret[[]byte]
	source *secrets.Source
	field  string
}

// NewSigningKey returns the key keyID that signs alg signatures with signer,
// whose public key must suit alg as for [NewVerifyingKey].
func NewSigningKey(keyID string, alg Algorithm, signer crypto.Signer) (*SigningKey, error) {
	if signer == nil {
		return nil, fmt.Errorf("httpsig: nil signer")
	}
	if err := checkPublicKey(alg, signer.Public()); err != nil {
		return nil, err
	}
	return &SigningKey{keyID: keyID, alg: alg, signer: redact.NewSecret(signer)}, nil
}

// NewHMACSigningKey returns the [AlgHMACSHA256] key keyID with the shared
// secret (at least 32 bytes). The secret is copied.
func NewHMACSigningKey(keyID string, secret []byte) (*SigningKey, error) {
	if len(secret) < minHMACKeySize {
		return nil, fmt.Errorf("httpsig: HMAC secret shorter than %d bytes", minHMACKeySize)
	}
	return &SigningKey{keyID: keyID, alg: AlgHMACSHA256, secret: redact.NewSecret(append([]byte(nil), secret...))}, nil
}

// NewHMACSourceSigningKey returns the [AlgHMACSHA256] key keyID whose secret
// is the field of the current credential of src, read at each signature: a
// rotation of the secret takes effect on the next signature. The field's
// bytes are the secret; they must be at least 32 bytes long when used.
func NewHMACSourceSigningKey(keyID string, src *secrets.Source, field string) (*SigningKey, error) {
	if src == nil || field == "" {
		return nil, fmt.Errorf("httpsig: HMAC secret source and field required")
	}
	return &SigningKey{keyID: keyID, alg: AlgHMACSHA256, source: src, field: field}, nil
}

// KeyID returns the key's id, the keyid parameter of its signatures.
func (k *SigningKey) KeyID() string { return k.keyID }

// Algorithm returns the key's algorithm.
func (k *SigningKey) Algorithm() Algorithm { return k.alg }

// String returns [REDACTED].
func (k SigningKey) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (k SigningKey) GoString() string { return redacted.Marker }

// Format writes [REDACTED] for every verb.
func (k SigningKey) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue returns [REDACTED].
func (k SigningKey) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON returns "[REDACTED]".
func (k SigningKey) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }

// hmacSecret returns the secret to sign with now.
func (k *SigningKey) hmacSecret() ([]byte, error) {
	if k.source == nil {
		return k.secret.Reveal(), nil
	}
	cur, err := k.source.Current()
	if err != nil {
		return nil, fmt.Errorf("httpsig: HMAC secret: %w", err)
	}
	v, ok := cur.Reveal(k.field)
	if !ok {
		return nil, fmt.Errorf("httpsig: HMAC secret: the credential has no field %q", k.field)
	}
	if len(v) < minHMACKeySize {
		return nil, fmt.Errorf("httpsig: HMAC secret shorter than %d bytes", minHMACKeySize)
	}
	return []byte(v), nil
}

// HMACSourceKeys is a [KeyResolver] of [AlgHMACSHA256] keys whose secrets
// are read from [secrets.Source] values at each verification, so that a
// rotation takes effect on the next request without a restart. The secret
// of a key id is one field of its source's current credential.
//
// It prints as [REDACTED].
type HMACSourceKeys struct {
	keys map[string]hmacSource
}

type hmacSource struct {
	src   *secrets.Source
	field string
}

// NewHMACSourceKeys returns a resolver with no key; add keys with
// [HMACSourceKeys.Add] before use.
func NewHMACSourceKeys() *HMACSourceKeys {
	return &HMACSourceKeys{keys: map[string]hmacSource{}}
}

// Add makes keyID resolve to the field of src's current credential. It is
// not safe for concurrent use with ResolveKey: add every key first.
func (k *HMACSourceKeys) Add(keyID string, src *secrets.Source, field string) error {
	if src == nil || field == "" {
		return fmt.Errorf("%w: HMAC secret source and field required", ErrInvalidConfig)
	}
	if _, dup := k.keys[keyID]; dup {
		return fmt.Errorf("%w: two keys with the id %q", ErrInvalidConfig, keyID)
	}
	k.keys[keyID] = hmacSource{src: src, field: field}
	return nil
}

// ResolveKey returns the key keyID with the secret current now. It fails
// with [ErrUnknownKey] for an id it does not have and [ErrUnavailable] when
// the source has no usable credential.
func (k *HMACSourceKeys) ResolveKey(_ context.Context, keyID string) (*VerifyingKey, error) {
	s, ok := k.keys[keyID]
	if !ok {
		return nil, ErrUnknownKey
	}
	cur, err := s.src.Current()
	if err != nil {
		return nil, fmt.Errorf("%w: HMAC secret: %w", ErrUnavailable, err)
	}
	v, ok := cur.Reveal(s.field)
	if !ok || len(v) < minHMACKeySize {
		return nil, fmt.Errorf("%w: HMAC secret absent or shorter than %d bytes", ErrUnavailable, minHMACKeySize)
	}
	return &VerifyingKey{keyID: keyID, alg: AlgHMACSHA256, secret: redact.NewSecret([]byte(v))}, nil
}

// String returns [REDACTED].
func (k *HMACSourceKeys) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (k *HMACSourceKeys) GoString() string { return redacted.Marker }

// Format writes [REDACTED] for every verb.
func (k *HMACSourceKeys) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue returns [REDACTED].
func (k *HMACSourceKeys) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON returns "[REDACTED]".
func (k *HMACSourceKeys) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }
