package webhook

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/internal/redacted"
	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/secrets"
)

// Key prefixes of Standard Webhooks (the specification's "secret serialization").
const (
	// PrefixSecret starts a Standard Webhooks v1 (HMAC-SHA256) secret, followed
	// by the secret in base64. Stripe's endpoint secrets start with it too.
	PrefixSecret = "whsec_"
	// PrefixPublicKey starts a Standard Webhooks v1a (Ed25519) public key,
	// followed by its 32 bytes in base64.
	PrefixPublicKey = "whpk_"
	// PrefixPrivateKey starts a Standard Webhooks v1a (Ed25519) private key,
	// followed by its 32-byte seed (or the 64-byte seed and public key) in base64.
	PrefixPrivateKey = "whsk_"
)

// Bounds of keys.
const (
	// MinSecretBytes and MaxSecretBytes bound a Standard Webhooks v1 secret
	// once decoded (the specification: at least 24 bytes, at most 512 bits).
	MinSecretBytes = 24
	MaxSecretBytes = 64
	// MinStripeSecretLen and MaxStripeSecretLen bound a Stripe endpoint secret,
	// whose characters are the HMAC key ("whsec_" and 32 more characters).
	MinStripeSecretLen = 16
	MaxStripeSecretLen = 256
	// maxKeys bounds the keys a verifier tries for one message (static keys,
	// or the current and previous keys of a source), so that the work a
	// message costs is bounded.
	maxKeys = 8
)

// keyKind says what a key checks or makes.
type keyKind uint8

const (
	kindHMAC      keyKind = iota + 1 // Standard v1 or Stripe v1: HMAC-SHA256.
	kindEdPublic                     // Standard v1a: verifies.
	kindEdPrivate                    // Standard v1a: signs.
)

// key is one parsed key. It holds key material: every way of printing it
// yields [REDACTED].
type key struct {
	kind keyKind
	// mac and priv are two pointers down (redact.Secret), so that fmt,
	// which calls no method on an unexported field of a caller's struct,
	// prints an address there rather than the key's bytes.
	mac  redact.Secret[[]byte] // kindHMAC
	pool *sync.Pool            // kindHMAC: keyed HMAC-SHA256 states, reset before each use
	pub  ed25519.PublicKey
	priv redact.Secret[ed25519.PrivateKey]
}

// newHMACKey returns an HMAC-SHA256 key. Its states are pooled: keying an
// HMAC costs two SHA-256 blocks, as much as hashing 128 more bytes of body.
func newHMACKey(b []byte) key {
	return key{kind: kindHMAC, mac: redact.NewSecret(b), pool: &sync.Pool{New: func() any { return hmac.New(sha256.New, b) }}}
}

// sum appends HMAC-SHA256(k, prefix || body) to dst. k must be an HMAC key.
func (k *key) sum(dst, prefix, body []byte) []byte {
	m, _ := k.pool.Get().(hash.Hash)
	m.Reset()
	_, _ = m.Write(prefix) // hash writes never fail
	_, _ = m.Write(body)
	dst = m.Sum(dst)
	k.pool.Put(m)
	return dst
}

func (key) String() string                { return redacted.Marker }
func (key) GoString() string              { return redacted.Marker }
func (key) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }
func (key) LogValue() slog.Value          { return redacted.LogValue() }
func (key) MarshalJSON() ([]byte, error)  { return redacted.JSON(), nil }

// decodeB64 decodes standard base64, with or without padding.
func decodeB64(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	return b, err == nil
}

// parseStandardVerifyKey parses a key a Standard Webhooks verifier checks with:
// a whsec_ secret (v1) or a whpk_ public key (v1a).
func parseStandardVerifyKey(s string) (key, error) {
	switch {
	case strings.HasPrefix(s, PrefixSecret):
		return parseStandardSecret(s)
	case strings.HasPrefix(s, PrefixPublicKey):
		b, ok := decodeB64(s[len(PrefixPublicKey):])
		if !ok || len(b) != ed25519.PublicKeySize {
			return key{}, invalidConfig("a whpk_ key must be 32 bytes in base64")
		}
		if smallOrder(b) {
			return key{}, invalidConfig("a whpk_ key must not be a point of small order (any signature would verify under it)")
		}
		return key{kind: kindEdPublic, pub: ed25519.PublicKey(b)}, nil
	case strings.HasPrefix(s, PrefixPrivateKey):
		return key{}, invalidConfig("a verifier takes the whpk_ public key, not the whsk_ private key")
	default:
		return key{}, invalidConfig("a Standard Webhooks key starts with whsec_ or whpk_")
	}
}

// parseStandardSignKey parses a key a Standard Webhooks signer signs with:
// a whsec_ secret (v1) or a whsk_ private key (v1a).
func parseStandardSignKey(s string) (key, error) {
	switch {
	case strings.HasPrefix(s, PrefixSecret):
		return parseStandardSecret(s)
	case strings.HasPrefix(s, PrefixPrivateKey):
		b, ok := decodeB64(s[len(PrefixPrivateKey):])
		if !ok {
			return key{}, invalidConfig("a whsk_ key must be base64")
		}
		switch len(b) {
		case ed25519.SeedSize:
			return key{kind: kindEdPrivate, priv: redact.NewSecret(ed25519.NewKeyFromSeed(b))}, nil
		case ed25519.PrivateKeySize:
			priv := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
			if subtle.ConstantTimeCompare(priv[ed25519.SeedSize:], b[ed25519.SeedSize:]) != 1 {
				return key{}, invalidConfig("the public half of the whsk_ key does not match its seed")
			}
			return key{kind: kindEdPrivate, priv: redact.NewSecret(priv)}, nil
		default:
			return key{}, invalidConfig("a whsk_ key must be a 32-byte seed (or 64-byte key) in base64")
		}
	case strings.HasPrefix(s, PrefixPublicKey):
		return key{}, invalidConfig("a signer takes the whsk_ private key, not the whpk_ public key")
	default:
		return key{}, invalidConfig("a Standard Webhooks key starts with whsec_ or whsk_")
	}
}

// smallOrder reports whether pub, an Ed25519 public key, encodes a point of
// small order (the identity, or a point of order 2, 4 or 8, in any of the
// encodings crypto/ed25519 accepts, non-canonical ones included). Under such
// a key a signature made without any private key (R a point of small order,
// S zero) verifies for a share of all messages, so a verifier refuses it.
//
// The point's y coordinate is mapped to the u coordinate of the birationally
// equivalent Montgomery curve, u = (1+y)/(1-y) mod p, and crypto/ecdh refuses
// an X25519 exchange with a u of small order (its result would be all
// zeros); y = 1, the identity, has no u.
func smallOrder(pub []byte) bool {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	var be [ed25519.PublicKeySize]byte // y, big-endian, without the sign bit of x
	for i, c := range pub {
		be[len(be)-1-i] = c
	}
	be[0] &= 0x7f
	y := new(big.Int).SetBytes(be[:])
	y.Mod(y, p)
	one := big.NewInt(1)
	den := new(big.Int).Sub(one, y)
	den.Mod(den, p)
	if den.Sign() == 0 {
		return true
	}
	u := new(big.Int).Add(one, y)
	u.Mul(u, den.ModInverse(den, p))
	u.Mod(u, p)
	var le [32]byte
	u.FillBytes(be[:])
	for i, c := range be {
		le[len(le)-1-i] = c
	}
	peer, err := ecdh.X25519().NewPublicKey(le[:])
	if err != nil {
		return true
	}
	// Any scalar will do: X25519 clears its low three bits, so the result
	// is all zeros exactly when u has small order. This one is not secret.
	var scalar [32]byte
	for i := range scalar {
		scalar[i] = 0x5a
	}
	priv, err := ecdh.X25519().NewPrivateKey(scalar[:])
	if err != nil {
		return true
	}
	_, err = priv.ECDH(peer)
	return err != nil
}

func parseStandardSecret(s string) (key, error) {
	b, ok := decodeB64(s[len(PrefixSecret):])
	if !ok || len(b) < MinSecretBytes || len(b) > MaxSecretBytes {
		return key{}, invalidConfig("a whsec_ secret must be 24 to 64 bytes in base64")
	}
	return newHMACKey(b), nil
}

// parseStripeKey parses a Stripe endpoint secret: its bytes, prefix included,
// are the HMAC key.
func parseStripeKey(s string) (key, error) {
	if len(s) < MinStripeSecretLen || len(s) > MaxStripeSecretLen {
		return key{}, invalidConfig("a Stripe endpoint secret must be 16 to 256 characters")
	}
	return newHMACKey([]byte(s)), nil
}

// GenerateSecret returns a new random secret, "whsec_" and 32 random bytes in
// base64: a Standard Webhooks v1 secret, also usable as a Stripe-style endpoint
// secret. Like every secret of ztkit it prints, logs and marshals as
// [REDACTED] (a redact.Secret); its Reveal method returns the string to store
// in a secrets backend, or to give to [WithSecrets] and
// [NewStandardSigner]. Hand it to the receiver over a secret channel, never
// in a log.
func GenerateSecret() redact.Secret[string] {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return redact.NewSecret(PrefixSecret + base64.StdEncoding.EncodeToString(b))
}

// GenerateKeyPair returns a new Ed25519 key pair for Standard Webhooks v1a:
// the "whpk_" public key the receivers verify with, a plain string since it
// is not secret, and the "whsk_" private key (the 32-byte seed) the sender
// signs with, which prints, logs and marshals as [REDACTED] (a
// redact.Secret): its Reveal method returns the string to store in a secrets
// backend or give to [NewStandardSigner].
func GenerateKeyPair() (public string, private redact.Secret[string]) {
	seed := make([]byte, ed25519.SeedSize)
	_, _ = rand.Read(seed) // crypto/rand.Read never fails (Go 1.24+).
	priv := ed25519.NewKeyFromSeed(seed)
	pub, _ := priv.Public().(ed25519.PublicKey)
	return PrefixPublicKey + base64.StdEncoding.EncodeToString(pub),
		redact.NewSecret(PrefixPrivateKey + base64.StdEncoding.EncodeToString(seed))
}

// keyring holds the keys a Verifier tries: fixed ones, or those of a
// secrets.Source with the previous key kept for the rotation grace period.
type keyring struct {
	parse func(string) (key, error)

	static []key // set when the keys are fixed

	src    *secrets.Source
	field  string
	grace  time.Duration
	now    func() time.Time
	remove func() // unregisters the OnRotate function

	mu    sync.Mutex // serializes updates of state
	state atomic.Pointer[ringState]
}

// ringState is what a keyring knows of its source at one time. It is never
// modified once stored.
type ringState struct {
	secret    *secrets.Secret // the credential state was built from
	raw       string          // its field's value, to tell a renewal from a rotation
	current   *key            // nil when the field is absent or unusable
	previous  *key            // the key current replaced, or nil
	prevUntil time.Time       // previous is accepted before this instant
}

func (ringState) String() string                { return redacted.Marker }
func (ringState) GoString() string              { return redacted.Marker }
func (ringState) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }
func (ringState) LogValue() slog.Value          { return redacted.LogValue() }
func (ringState) MarshalJSON() ([]byte, error)  { return redacted.JSON(), nil }

// newStaticRing parses fixed keys.
func newStaticRing(raw []string, parse func(string) (key, error)) (*keyring, error) {
	if len(raw) == 0 {
		return nil, invalidConfig("no key")
	}
	if len(raw) > maxKeys {
		return nil, invalidConfig("more than 8 keys")
	}
	r := &keyring{parse: parse}
	for _, s := range raw {
		k, err := parse(s)
		if err != nil {
			return nil, err
		}
		r.static = append(r.static, k)
	}
	return r, nil
}

// newSourceRing reads the first key from src and follows its rotations.
func newSourceRing(src *secrets.Source, field string, grace time.Duration, now func() time.Time, parse func(string) (key, error)) (*keyring, error) {
	r := &keyring{parse: parse, src: src, field: field, grace: grace, now: now}
	sec, err := src.Current()
	if err != nil {
		return nil, fmt.Errorf("webhook: secret source %q: %w", src.Name(), err)
	}
	raw, ok := sec.Reveal(field)
	if !ok {
		return nil, invalidConfig("the source's credential has no field " + fmt.Sprintf("%q", field))
	}
	k, err := parse(raw)
	if err != nil {
		return nil, err
	}
	r.state.Store(&ringState{secret: sec, raw: raw, current: &k})
	r.remove = src.OnRotate(r.sync)
	return r, nil
}

// sync moves the keyring to the source's current credential: a rotation when
// its value differs from the current one (the current key becomes the previous
// one, for the grace period), a renewal otherwise. It runs both as the
// Source's OnRotate function and from keys, when Current returns a credential
// the keyring has not seen yet (the Source publishes a new credential before
// it calls its OnRotate functions). Each call reads Current under the lock, so
// that a call that lost a race with a later rotation cannot bring an older
// credential back.
func (r *keyring) sync(*secrets.Secret) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.src.Current()
	if err != nil {
		return // keys reports it
	}
	old := r.state.Load()
	if old.secret == s {
		return
	}
	raw, ok := s.Reveal(r.field)
	if ok && old.current != nil && subtle.ConstantTimeCompare([]byte(raw), []byte(old.raw)) == 1 {
		next := *old
		next.secret = s
		r.state.Store(&next)
		return
	}
	next := &ringState{secret: s, raw: raw, previous: old.previous, prevUntil: old.prevUntil}
	if old.current != nil {
		next.previous, next.prevUntil = old.current, r.now().Add(r.grace)
	}
	if ok {
		if k, err := r.parse(raw); err == nil {
			next.current = &k
		}
	}
	r.state.Store(next)
}

// keys appends to dst the keys to try at now. It fails with an error matching
// httpsig.ErrUnavailable when the source cannot serve a usable key.
func (r *keyring) keys(dst []*key, now time.Time) ([]*key, error) {
	if r.static != nil {
		for i := range r.static {
			dst = append(dst, &r.static[i])
		}
		return dst, nil
	}
	sec, err := r.src.Current()
	if err != nil {
		return dst, fmt.Errorf("webhook: secret source: %w: %w", httpsig.ErrUnavailable, err)
	}
	st := r.state.Load()
	if st.secret != sec {
		r.sync(sec)
		st = r.state.Load()
	}
	if st.current != nil {
		dst = append(dst, st.current)
	}
	if st.previous != nil && now.Before(st.prevUntil) {
		dst = append(dst, st.previous)
	}
	if len(dst) == 0 {
		return dst, refusal(httpsig.ErrUnavailable, "the secret source's current credential holds no usable key")
	}
	return dst, nil
}

// close unregisters the keyring from its source.
func (r *keyring) close() {
	if r.remove != nil {
		r.remove()
	}
}
