package dpop

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"log/slog"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ztkit/ztkit/internal/redacted"
)

// Nonce wire format, version 1: base64url without padding (RFC 4648 §5) of
//
//	version (1 byte, 1) || epoch (uint64, big-endian) || HMAC-SHA-256(key, nonceMACLabel || epoch)[:16]
//
// where key is derived from the shared secret with HKDF-SHA-256 (RFC 5869) and
// nonceKeyInfo, so the raw secret never keys the MAC directly.
const (
	nonceVersion     = 1
	nonceMACSize     = 16
	nonceRawSize     = 1 + 8 + nonceMACSize          // 25 bytes
	nonceEncodedSize = (nonceRawSize*8 + 5) / 6      // 34 characters, all in NQCHAR (RFC 9449 §8.1)
	nonceMACLabel    = "ztkit dpop nonce v1"         // MAC domain separation, precedes the epoch
	nonceKeyInfo     = "ztkit dpop nonce v1 mac key" // HKDF info for the MAC key
	nonceKeySize     = sha256.Size

	minNonceSecretSize         = 32
	defaultNonceRotation       = time.Minute
	minNonceRotation           = time.Second
	defaultNonceAcceptedEpochs = 1
	maxNonceAcceptedEpochs     = 10
)

// Nonces issues and checks DPoP server nonces without state: a nonce is an epoch number and a MAC over it,
// so every replica that shares the secret accepts every other replica's nonces.
//
// A server that requires nonces (RFC 9449 §8 for an authorization server, §9 for a
// resource server) sends [Nonces.Current] in the DPoP-Nonce response header and
// passes the nonce claim of each DPoP proof to [Nonces.Check]. Time is cut into
// epochs of the rotation period ([WithNonceRotation], one minute by default); a
// nonce stays valid in the epoch it was issued and the accepted past epochs after
// it ([WithNonceAcceptedEpochs], one by default), so a client's nonce lasts one to
// two rotation periods. A nonce is not single-use: replay of whole proofs is
// stopped by the jti check, and the nonce bounds how long a proof made ahead of
// time can be used.
//
// Replicas that share the secret must also share the rotation period and keep
// their clocks close: a nonce from an epoch a replica has not reached yet is
// refused, and the client is sent that replica's current nonce to retry with. Use a
// different secret for each server (authorization server, each resource server),
// since a nonce is meant to be accepted only by the server that issued it (§9).
//
// Nonces is safe for concurrent use. Create one with [NewNonces]; the zero value
// is not usable. It holds key material, and every way of printing, logging or
// encoding it yields [REDACTED].
type Nonces struct {
	rotation time.Duration
	accepted uint64
	now      func() time.Time
	enc      *base64.Encoding
	// keys[0] issues and verifies; the others, from [WithPreviousNonceSecrets], only verify.
	keys []*nonceKey
	// current caches the nonce of the latest epoch [Nonces.Current] was asked for.
	current atomic.Pointer[issuedNonce]
}

// issuedNonce is the encoded nonce for one epoch. It holds no secret.
type issuedNonce struct {
	epoch uint64
	value string
}

// NonceOption configures [NewNonces].
type NonceOption interface {
	applyNonce(*nonceConfig)
}

// nonceConfig is what the options set. It holds secrets until [NewNonces] derives
// keys from them, so it prints as [REDACTED].
type nonceConfig struct {
	nonceRedacted
	rotation time.Duration
	accepted int
	previous [][]byte
	now      func() time.Time
}

func newNonceConfig(opts []NonceOption) *nonceConfig {
	c := &nonceConfig{
		rotation: defaultNonceRotation,
		accepted: defaultNonceAcceptedEpochs,
		now:      time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o.applyNonce(c)
		}
	}
	return c
}

type nonceOptionFunc func(*nonceConfig)

func (f nonceOptionFunc) applyNonce(c *nonceConfig) { f(c) }

// WithNonceRotation sets the epoch length: how often [Nonces.Current] changes. The
// default is one minute. [NewNonces] returns [ErrInvalidConfig] when d is shorter
// than one second (zero included). Replicas sharing a secret must use the same d.
func WithNonceRotation(d time.Duration) NonceOption {
	return nonceOptionFunc(func(c *nonceConfig) { c.rotation = d })
}

// WithNonceAcceptedEpochs sets how many past epochs stay valid besides the current
// one. The default is 1, so a nonce is accepted for one to two rotation periods
// after it is issued; 0 accepts only the current epoch, which makes every client
// retry at each rotation. [NewNonces] returns [ErrInvalidConfig] when n is outside
// 0..10.
func WithNonceAcceptedEpochs(n int) NonceOption {
	return nonceOptionFunc(func(c *nonceConfig) { c.accepted = n })
}

// WithPreviousNonceSecrets adds secrets that still verify nonces but never issue
// them, for rotating the shared secret across replicas without refusing the nonces
// clients hold: deploy the new secret everywhere with the old one here, then drop
// the old one after the accepted window has passed. Each secret must be at least
// 32 bytes, else [NewNonces] returns [ErrInvalidConfig]. The secrets are copied;
// calling the option with none adds nothing, and repeated options add up.
//
// The returned option holds the secrets and prints as [REDACTED].
func WithPreviousNonceSecrets(secrets ...[]byte) NonceOption {
	o := previousNonceSecrets{secrets: make([][]byte, 0, len(secrets))}
	for _, s := range secrets {
		// A nil or empty entry stays, so NewNonces refuses it rather than verifying
		// with fewer secrets than the caller listed.
		o.secrets = append(o.secrets, bytes.Clone(s))
	}
	return o
}

// previousNonceSecrets is the [NonceOption] made by [WithPreviousNonceSecrets].
type previousNonceSecrets struct {
	nonceRedacted
	secrets [][]byte
}

func (o previousNonceSecrets) applyNonce(c *nonceConfig) {
	c.previous = append(c.previous, o.secrets...)
}

// WithNonceClock sets the clock that decides the current epoch; nil keeps
// [time.Now]. It is meant for tests.
func WithNonceClock(now func() time.Time) NonceOption {
	return nonceOptionFunc(func(c *nonceConfig) {
		if now != nil {
			c.now = now
		}
	})
}

// NewNonces returns a [Nonces] that issues nonces with secret and accepts nonces
// made with secret or with a secret from [WithPreviousNonceSecrets].
//
// secret must be at least 32 bytes from a cryptographically secure source, shared
// by every replica that should accept the others' nonces; NewNonces derives its
// keys from it and does not keep or modify the caller's slice. It returns an error
// matching [ErrInvalidConfig] when secret or an option is unusable.
func NewNonces(secret []byte, opts ...NonceOption) (*Nonces, error) {
	c := newNonceConfig(opts)
	if len(secret) < minNonceSecretSize {
		return nil, fmt.Errorf("%w: nonce secret is %d bytes, need at least %d", ErrInvalidConfig, len(secret), minNonceSecretSize)
	}
	for i, s := range c.previous {
		if len(s) < minNonceSecretSize {
			return nil, fmt.Errorf("%w: previous nonce secret %d is %d bytes, need at least %d", ErrInvalidConfig, i, len(s), minNonceSecretSize)
		}
	}
	if c.rotation < minNonceRotation {
		return nil, fmt.Errorf("%w: nonce rotation %v is shorter than %v", ErrInvalidConfig, c.rotation, minNonceRotation)
	}
	if c.accepted < 0 || c.accepted > maxNonceAcceptedEpochs {
		return nil, fmt.Errorf("%w: nonce accepted epochs %d is outside 0..%d", ErrInvalidConfig, c.accepted, maxNonceAcceptedEpochs)
	}

	n := &Nonces{
		rotation: c.rotation,
		accepted: uint64(c.accepted),
		now:      c.now,
		enc:      base64.RawURLEncoding.Strict(),
		keys:     make([]*nonceKey, 0, 1+len(c.previous)),
	}
	for _, s := range append([][]byte{secret}, c.previous...) {
		k, err := newNonceKey(s)
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, k)
	}
	return n, nil
}

// Current returns the nonce to send in the DPoP-Nonce response header now
// (RFC 9449 §8, §8.2, §9). It changes once per rotation period and is the same on
// every replica sharing the secret. The value is not secret. Current is cached
// per epoch, so it is cheap enough to call on every response. A nil or zero
// Nonces has no nonce and returns "".
func (n *Nonces) Current() string {
	if n == nil || len(n.keys) == 0 {
		return ""
	}
	epoch := n.epoch()
	if c := n.current.Load(); c != nil && c.epoch == epoch {
		return c.value
	}
	c := &issuedNonce{epoch: epoch, value: n.issue(epoch)}
	n.current.Store(c)
	return c.value
}

// Check reports whether nonce, the nonce claim of a DPoP proof, was issued with
// this secret (or a previous secret) in the current epoch or an accepted past
// epoch. It returns nil if so, and otherwise a [*NonceError] carrying
// [Nonces.Current], which matches [ErrUseDPoPNonce]: the server answers with
// error "use_dpop_nonce" and that value in the DPoP-Nonce header (RFC 9449 §8,
// §9). An empty, malformed, tampered, expired or future nonce are all refused the
// same way, so the error says nothing about why. A nil or zero Nonces refuses
// every nonce with an error matching [ErrInvalidConfig].
func (n *Nonces) Check(nonce string) error {
	if n == nil || len(n.keys) == 0 {
		return fmt.Errorf("%w: Nonces not built with NewNonces", ErrInvalidConfig)
	}
	if n.valid(nonce) {
		return nil
	}
	return &NonceError{Nonce: n.Current()}
}

// valid reports whether nonce is well formed, inside the accepted window and
// carries a MAC made with one of n's keys. It does not allocate.
func (n *Nonces) valid(nonce string) bool {
	if len(nonce) != nonceEncodedSize {
		return false
	}
	var src [nonceEncodedSize]byte
	copy(src[:], nonce)
	var raw [nonceRawSize]byte
	// Strict decoding refuses non-zero padding bits, so each nonce has exactly one
	// encoding; CR and LF, which the decoder skips, leave fewer than
	// nonceRawSize bytes and are refused by the length check.
	if m, err := n.enc.Decode(raw[:], src[:]); err != nil || m != nonceRawSize {
		return false
	}
	if raw[0] != nonceVersion {
		return false
	}
	epoch := binary.BigEndian.Uint64(raw[1:9])
	now := n.epoch()
	if epoch > now || now-epoch > n.accepted {
		return false
	}
	var want [nonceMACSize]byte
	for _, k := range n.keys {
		k.mac(&want, epoch)
		if hmac.Equal(want[:], raw[9:]) {
			return true
		}
	}
	return false
}

// issue returns the encoded nonce for epoch under the issuing key.
func (n *Nonces) issue(epoch uint64) string {
	var raw [nonceRawSize]byte
	raw[0] = nonceVersion
	binary.BigEndian.PutUint64(raw[1:9], epoch)
	n.keys[0].mac((*[nonceMACSize]byte)(raw[9:]), epoch)
	return n.enc.EncodeToString(raw[:])
}

// epoch returns the number of the rotation period the clock is in.
func (n *Nonces) epoch() uint64 {
	return nonceEpoch(n.now(), n.rotation)
}

// nonceEpoch returns floor(t / rotation) counted from the Unix epoch, 0 before it.
// It computes in 128 bits, so it is exact for any time.Time.
func nonceEpoch(t time.Time, rotation time.Duration) uint64 {
	sec := t.Unix()
	if sec < 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(sec), uint64(time.Second))
	lo, carry := bits.Add64(lo, uint64(t.Nanosecond()), 0)
	// sec < 2^63, so hi+carry < 10^9/2 + 1 <= rotation and Div64 cannot panic.
	q, _ := bits.Div64(hi+carry, lo, uint64(rotation))
	return q
}

// String returns [REDACTED]: n holds key material.
func (n *Nonces) String() string { return redacted.Marker }

// GoString returns [REDACTED], so %#v does not print n's fields.
func (n *Nonces) GoString() string { return redacted.Marker }

// Format writes [REDACTED] for every verb.
func (n *Nonces) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue implements [slog.LogValuer]; it returns [REDACTED].
func (n *Nonces) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON returns the JSON string "[REDACTED]".
func (n *Nonces) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }

// MarshalText returns [REDACTED].
func (n *Nonces) MarshalText() ([]byte, error) { return []byte(redacted.Marker), nil }

// nonceKey computes nonce MACs under one key derived from a shared secret. It
// keeps a pool of keyed HMAC states so that a MAC costs no allocation.
type nonceKey struct {
	nonceRedacted
	scratch sync.Pool // of *nonceMAC
}

// nonceMAC is one keyed HMAC-SHA-256 state with buffers for its input and output.
type nonceMAC struct {
	nonceRedacted
	h   hash.Hash
	msg [len(nonceMACLabel) + 8]byte
	sum [sha256.Size]byte
}

func newNonceKey(secret []byte) (*nonceKey, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, nonceKeyInfo, nonceKeySize)
	if err != nil {
		return nil, fmt.Errorf("%w: deriving the nonce key: %w", ErrInvalidConfig, err)
	}
	k := &nonceKey{}
	k.scratch.New = func() any {
		m := &nonceMAC{h: hmac.New(sha256.New, key)}
		copy(m.msg[:], nonceMACLabel)
		return m
	}
	return k, nil
}

// mac writes the first 16 bytes of HMAC-SHA-256(key, nonceMACLabel || epoch) to dst.
func (k *nonceKey) mac(dst *[nonceMACSize]byte, epoch uint64) {
	m := k.scratch.Get().(*nonceMAC)
	binary.BigEndian.PutUint64(m.msg[len(nonceMACLabel):], epoch)
	m.h.Reset()
	m.h.Write(m.msg[:])
	copy(dst[:], m.h.Sum(m.sum[:0]))
	k.scratch.Put(m)
}

// nonceRedacted gives the unexported types that hold nonce secrets or keys the
// redacting print methods, by embedding.
type nonceRedacted struct{}

func (nonceRedacted) String() string                { return redacted.Marker }
func (nonceRedacted) GoString() string              { return redacted.Marker }
func (nonceRedacted) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }
func (nonceRedacted) LogValue() slog.Value          { return redacted.LogValue() }
func (nonceRedacted) MarshalJSON() ([]byte, error)  { return redacted.JSON(), nil }
func (nonceRedacted) MarshalText() ([]byte, error)  { return []byte(redacted.Marker), nil }
