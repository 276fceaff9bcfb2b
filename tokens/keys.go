package tokens

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ztkit/ztkit/internal/jose"
	"github.com/ztkit/ztkit/internal/redacted"
	"github.com/ztkit/ztkit/redact"
)

// KeySource finds the public key a token names in its kid header.
//
// [*KeySet] is a KeySource for an issuer's own keys; [*RemoteKeySet] for keys
// published by another issuer as a JWKS. Implementations are safe for
// concurrent use.
type KeySource interface {
	// VerificationKey returns the key whose kid is kid. It returns an error
	// matching [ErrUnknownKey] when no such key is known, and one matching
	// [ErrKeySetUnavailable] when the keys cannot be had at all.
	VerificationKey(ctx context.Context, kid string) (*PublicKey, error)
}

// PublicKey is a verification key and what it may be used for. Values are
// immutable once returned by a KeySource; the verifier compares them by pointer
// to tell that a key has been replaced or revoked.
type PublicKey struct {
	// KeyID is the key's kid.
	KeyID string
	// Key is *ecdsa.PublicKey (P-256 or P-384), ed25519.PublicKey or *rsa.PublicKey
	// (2048 bits or more).
	Key crypto.PublicKey
	// Algorithm, when not empty, is the only JWS algorithm this key verifies
	// (the JWK "alg" member).
	Algorithm string
}

// SigningKey is a private key that signs tokens, reached through a
// crypto.Signer so that it may live outside the process (an HSM, a KMS, Vault
// Transit). Its key ID is the RFC 7638 thumbprint of its public key.
//
// A SigningKey prints as [REDACTED] through fmt, slog and encoding/json.
// It is safe for concurrent use if its Signer is.
type SigningKey struct {
	// signer is two pointers down (redact.Secret), so that fmt, which calls
	// no method on an unexported field of a caller's struct, prints an
	// address there rather than an Ed25519 private key's bytes.
	signer redact.Secret[crypto.Signer]
	alg    jose.Alg
	public *PublicKey
}

// NewSigningKey wraps signer. The algorithm is ES256 for P-256 keys, ES384 for
// P-384, EdDSA for Ed25519 and PS256 for RSA keys of at least 2048 bits; pass
// alg ("RS256" for an RSA key) to choose another that fits the key, or "" for
// the default. RSASSA-PSS signatures use a salt as long as the hash (RFC 7518 §3.5).
func NewSigningKey(signer crypto.Signer, alg string) (*SigningKey, error) {
	if signer == nil {
		return nil, fmt.Errorf("%w: nil signer", ErrInvalidKey)
	}
	pub := signer.Public()
	a := jose.DefaultAlg(pub)
	if alg != "" {
		a = jose.AlgFromName(alg)
	}
	if a == jose.AlgNone {
		return nil, fmt.Errorf("%w: no supported algorithm for this key", ErrInvalidKey)
	}
	if a == jose.Ed25519 {
		// go-jose signs Ed25519 keys as "EdDSA" only; verifiers accept both names.
		return nil, fmt.Errorf("%w: sign Ed25519 keys with EdDSA (Ed25519 is accepted when verifying)", ErrInvalidKey)
	}
	if err := jose.CheckKey(a, pub); err != nil {
		if errors.Is(err, jose.ErrWeakKey) {
			return nil, ErrWeakKey
		}
		return nil, fmt.Errorf("%w: algorithm %s does not fit the key", ErrInvalidKey, a)
	}
	kid, err := jose.Thumbprint(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return &SigningKey{signer: redact.NewSecret(signer), alg: a, public: &PublicKey{KeyID: kid, Key: pub, Algorithm: a.String()}}, nil
}

// KeyID returns the key's kid: the RFC 7638 thumbprint of its public key.
func (k *SigningKey) KeyID() string { return k.public.KeyID }

// Algorithm returns the JWS algorithm the key signs with.
func (k *SigningKey) Algorithm() string { return k.alg.String() }

// Public returns the key's public half.
func (k *SigningKey) Public() *PublicKey { return k.public }

// String returns [REDACTED].
func (k *SigningKey) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (k *SigningKey) GoString() string { return redacted.Marker }

// Format prints [REDACTED] for every verb.
func (k *SigningKey) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue logs [REDACTED].
func (k *SigningKey) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON encodes [REDACTED].
func (k *SigningKey) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }

// KeySet is an issuer's signing keys through their rotation: the current key
// signs; the next key is published (in the JWKS) before it signs, so that
// verifiers that cache the JWKS know it when it starts; retired keys no longer
// sign but still verify until their tokens have expired.
//
// A typical rotation: [KeySet.SetNext] a new key, wait at least one JWKS cache
// lifetime, [KeySet.Rotate]. [KeySet.Revoke] removes a compromised key at once;
// tokens it signed stop verifying, including ones the verifier had cached.
//
// KeySet is a [KeySource] and is safe for concurrent use.
type KeySet struct {
	mu        sync.RWMutex
	current   *SigningKey
	next      *SigningKey
	retired   []retiredKey
	retention time.Duration
	now       func() time.Time
	changed   chan struct{}
}

type retiredKey struct {
	key   *SigningKey
	until time.Time
}

// KeySetOption configures a [KeySet].
type KeySetOption interface{ applyKeySet(*KeySet) }

type keySetOptionFunc func(*KeySet)

func (f keySetOptionFunc) applyKeySet(ks *KeySet) { f(ks) }

// WithRetention sets how long a retired key keeps verifying after [KeySet.Rotate]:
// at least the longest token lifetime plus leeway. The default is one hour.
// Zero or less keeps the default.
func WithRetention(d time.Duration) KeySetOption {
	return keySetOptionFunc(func(ks *KeySet) {
		if d > 0 {
			ks.retention = d
		}
	})
}

// NewKeySet returns a key set that signs with current.
func NewKeySet(current *SigningKey, opts ...KeySetOption) (*KeySet, error) {
	if current == nil {
		return nil, fmt.Errorf("%w: a key set needs a current key", ErrInvalidConfig)
	}
	ks := &KeySet{current: current, retention: time.Hour, now: time.Now, changed: make(chan struct{})}
	for _, o := range opts {
		o.applyKeySet(ks)
	}
	return ks, nil
}

// Current returns the key that signs now.
func (ks *KeySet) Current() *SigningKey {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.current
}

// SetNext publishes k as the next key. It verifies at once and signs after [KeySet.Rotate].
func (ks *KeySet) SetNext(k *SigningKey) error {
	if k == nil {
		return fmt.Errorf("%w: nil key", ErrInvalidConfig)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.find(k.KeyID()) != nil {
		return fmt.Errorf("%w: key %s is already in the set", ErrInvalidConfig, k.KeyID())
	}
	ks.next = k
	ks.bumpLocked()
	return nil
}

// Rotate makes the next key current and retires the current one. It fails
// when no next key has been set.
func (ks *KeySet) Rotate() error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.next == nil {
		return fmt.Errorf("%w: no next key to rotate to", ErrInvalidConfig)
	}
	ks.pruneLocked()
	ks.retired = append(ks.retired, retiredKey{key: ks.current, until: ks.now().Add(ks.retention)})
	ks.current, ks.next = ks.next, nil
	ks.bumpLocked()
	return nil
}

// Revoke removes the key with kid at once, wherever it is in the rotation.
// Revoking the current key is refused: rotate away from it first.
func (ks *KeySet) Revoke(kid string) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	switch {
	case ks.current.KeyID() == kid:
		return fmt.Errorf("%w: cannot revoke the current key; rotate first", ErrInvalidConfig)
	case ks.next != nil && ks.next.KeyID() == kid:
		ks.next = nil
	default:
		i := slices.IndexFunc(ks.retired, func(r retiredKey) bool { return r.key.KeyID() == kid })
		if i < 0 {
			return fmt.Errorf("%w: no such key", ErrUnknownKey)
		}
		ks.retired = slices.Delete(ks.retired, i, i+1)
	}
	ks.bumpLocked()
	return nil
}

// VerificationKey implements [KeySource]: the current, next and unexpired
// retired keys verify.
func (ks *KeySet) VerificationKey(_ context.Context, kid string) (*PublicKey, error) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	if k := ks.find(kid); k != nil {
		return k.public, nil
	}
	return nil, ErrUnknownKey
}

// find returns the verifying key with kid; the caller holds mu.
func (ks *KeySet) find(kid string) *SigningKey {
	if ks.current.KeyID() == kid {
		return ks.current
	}
	if ks.next != nil && ks.next.KeyID() == kid {
		return ks.next
	}
	now := ks.now()
	for _, r := range ks.retired {
		if r.key.KeyID() == kid && now.Before(r.until) {
			return r.key
		}
	}
	return nil
}

// PublicKeys returns the keys that verify now, current first.
func (ks *KeySet) PublicKeys() []*PublicKey {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	out := []*PublicKey{ks.current.public}
	if ks.next != nil {
		out = append(out, ks.next.public)
	}
	now := ks.now()
	for _, r := range ks.retired {
		if now.Before(r.until) {
			out = append(out, r.key.public)
		}
	}
	return out
}

// Updated returns a channel closed at the next change of the set (SetNext,
// Rotate, Revoke). Call it again after it fires for the change after that.
func (ks *KeySet) Updated() <-chan struct{} {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.changed
}

func (ks *KeySet) pruneLocked() {
	now := ks.now()
	ks.retired = slices.DeleteFunc(ks.retired, func(r retiredKey) bool { return !now.Before(r.until) })
}

func (ks *KeySet) bumpLocked() {
	close(ks.changed)
	ks.changed = make(chan struct{})
}
