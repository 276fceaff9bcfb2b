package webhook

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/internal/redacted"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// Header names (canonical form; http.Header lookups ignore case).
const (
	HeaderID              = "Webhook-Id"
	HeaderTimestamp       = "Webhook-Timestamp"
	HeaderSignature       = "Webhook-Signature"
	HeaderStripeSignature = "Stripe-Signature"
)

// Bounds of the headers a Verifier reads. A message beyond them is refused
// with an error matching [httpsig.ErrMalformed].
const (
	// MaxIDLen bounds webhook-id.
	MaxIDLen = 256
	// MaxSignatureHeaderLen bounds webhook-signature and Stripe-Signature.
	MaxSignatureHeaderLen = 4096
	// MaxSignatures bounds the signatures of one header, of any scheme
	// (Stripe's t does not count).
	MaxSignatures = 16
	// maxTimestampLen bounds a timestamp's digits, so that it parses as an int64.
	maxTimestampLen = 18
	// MaxEd25519Checks bounds the Ed25519 verifications one message costs
	// (v1a signatures times public keys): a forged header cannot make a
	// verifier spend more. A sender signs with one or two keys, so a real
	// message needs at most four.
	MaxEd25519Checks = 8
)

// Replay-store scopes: fixed prefixes keep webhook records apart from DPoP
// proofs (whose jkt is a 43-character thumbprint) and the schemes apart.
const (
	replayScopeStandard = "ztkit/webhook/standard:"
	replayScopeStripe   = "ztkit/webhook/stripe:"
)

type verifierKind uint8

const (
	kindStandard verifierKind = iota + 1
	kindStripe
)

// Verifier checks the signatures of incoming webhooks of one scheme, Standard
// Webhooks ([NewStandard]) or Stripe-Signature ([NewStripe]), and refuses
// replays.
//
// A Verifier is safe for concurrent use. Create one with NewStandard or
// NewStripe; the zero value is not usable and refuses every message. It holds
// key material: every way of printing, logging or encoding it yields [REDACTED].
type Verifier struct {
	kind      verifierKind
	ring      *keyring
	store     dpop.ReplayStore
	scope     string // replay-store scope: the scheme prefix and WithScope
	tolerance time.Duration
	now       func() time.Time
	maxBody   int64
	b64       *base64.Encoding // strict standard base64
	closed    atomic.Bool
}

// NewStandard returns a Verifier of Standard Webhooks messages, v1 (HMAC-SHA256,
// keyed by a "whsec_" secret) and v1a (Ed25519, keyed by a "whpk_" public key),
// the kind of each key given by its prefix. Its keys come from exactly one of
// [WithSource] and [WithSecrets]. It returns an error matching
// ErrInvalidConfig when the keys or an option are unusable, and the Source's
// error when it cannot serve its first credential.
func NewStandard(opts ...Option) (*Verifier, error) {
	return newVerifier(kindStandard, parseStandardVerifyKey, opts)
}

// NewStripe returns a Verifier of Stripe-Signature messages (v1, HMAC-SHA256
// under the endpoint secret "whsec_...", whose characters are the key). Its
// keys come from exactly one of [WithSource] and [WithSecrets]. Unlike Stripe's
// libraries, it also refuses a timestamp too far in the future, and refuses
// replays. It returns an error matching ErrInvalidConfig when the keys or an
// option are unusable, and the Source's error when it cannot serve its first
// credential.
func NewStripe(opts ...Option) (*Verifier, error) {
	return newVerifier(kindStripe, parseStripeKey, opts)
}

func newVerifier(kind verifierKind, parse func(string) (key, error), opts []Option) (*Verifier, error) {
	c := newConfig(opts)
	if c.err != nil {
		return nil, c.err
	}
	var (
		ring *keyring
		err  error
	)
	switch {
	case c.src != nil && c.hasStatic:
		return nil, invalidConfig("both WithSource and WithSecrets")
	case c.src != nil:
		ring, err = newSourceRing(c.src, c.field, c.grace, c.now, parse)
	case c.hasStatic:
		ring, err = newStaticRing(c.static, parse)
	default:
		return nil, invalidConfig("no key: use WithSource or WithSecrets")
	}
	if err != nil {
		return nil, err
	}
	store := c.store
	if store == nil {
		m, err := dpop.NewMemoryReplayStore(dpop.WithMaxEntries(DefaultReplayEntries))
		if err != nil {
			ring.close()
			return nil, fmt.Errorf("webhook: replay store: %w", err)
		}
		store = m
	}
	prefix := replayScopeStandard
	if kind == kindStripe {
		prefix = replayScopeStripe
	}
	return &Verifier{
		kind:      kind,
		ring:      ring,
		store:     store,
		scope:     prefix + c.scope,
		tolerance: c.tolerance,
		now:       c.now,
		maxBody:   c.maxBody,
		b64:       base64.StdEncoding.Strict(),
	}, nil
}

// MaxBodyBytes returns the largest body Verify accepts ([WithMaxBodyBytes]):
// the bound for the code that reads the request body.
func (v *Verifier) MaxBodyBytes() int64 {
	if v == nil {
		return 0
	}
	return v.maxBody
}

// Close unregisters the Verifier from its secrets.Source (it does not close
// the Source or the replay store). Verify refuses every message afterwards,
// with an error matching [httpsig.ErrUnavailable] and ErrClosed. Close may be
// called more than once; it always returns nil.
func (v *Verifier) Close() error {
	if v == nil || v.closed.Swap(true) {
		return nil
	}
	if v.ring != nil {
		v.ring.close()
	}
	return nil
}

// Verify checks the webhook made of the headers h and the raw body (exactly the
// bytes received, before any parsing), and returns what it learned of it. It
// refuses, with an error matching the httpsig sentinel named:
//
//   - a required header absent, or no signature of a scheme the verifier
//     checks (ErrMissing);
//   - a header repeated, too long or unparseable, a webhook-id with a '.' or a
//     character outside printable ASCII, a timestamp that is not a positive
//     integer, too many signatures, a signature of the wrong size, a body over
//     the limit (ErrMalformed);
//   - a timestamp further than the tolerance from now, in the past or the
//     future (ErrExpired);
//   - no signature that verifies under one of the verifier's keys, within
//     MaxEd25519Checks Ed25519 verifications (ErrInvalid);
//   - a message accepted before (ErrReplayed);
//   - no key or no replay check to be had: the secrets source or the replay
//     store cannot answer, the Verifier was closed, or ctx is nil
//     (ErrUnavailable).
//
// Only a message whose signature verified is recorded in the replay store.
// body is not modified or retained.
func (v *Verifier) Verify(ctx context.Context, h http.Header, body []byte) (*Message, error) {
	if v == nil || v.ring == nil || v.closed.Load() {
		return nil, fmt.Errorf("webhook: %w: %w", httpsig.ErrUnavailable, ErrClosed)
	}
	if ctx == nil {
		// A fault of the caller: no context to check replays in.
		return nil, refusal(httpsig.ErrUnavailable, "nil context")
	}
	if int64(len(body)) > v.maxBody {
		return nil, refusal(httpsig.ErrMalformed, "body larger than the limit")
	}
	if v.kind == kindStripe {
		return v.verifyStripe(ctx, h, body)
	}
	return v.verifyStandard(ctx, h, body)
}

// String returns [REDACTED]: a Verifier holds key material.
func (*Verifier) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (*Verifier) GoString() string { return redacted.Marker }

// Format prints [REDACTED] for every verb.
func (*Verifier) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue logs [REDACTED].
func (*Verifier) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON encodes [REDACTED].
func (*Verifier) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }

// singleHeader returns the one value of the header name: ErrMissing when it is
// absent or empty, ErrMalformed when it is repeated or longer than limit.
func singleHeader(h http.Header, name string, limit int) (string, error) {
	vs := h.Values(name)
	switch {
	case len(vs) == 0 || (len(vs) == 1 && vs[0] == ""):
		return "", refusal(httpsig.ErrMissing, name+" header absent")
	case len(vs) > 1:
		return "", refusal(httpsig.ErrMalformed, name+" header repeated")
	case len(vs[0]) > limit:
		return "", refusal(httpsig.ErrMalformed, name+" header too long")
	}
	return vs[0], nil
}

// parseTimestamp parses a Unix time in seconds: 1 to 18 digits, no sign, no
// leading zero. The signed content uses the header's text, so that there is
// exactly one text for each timestamp.
func parseTimestamp(s string) (time.Time, bool) {
	if len(s) == 0 || len(s) > maxTimestampLen || s[0] == '0' {
		return time.Time{}, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		n = n*10 + int64(c-'0')
	}
	return time.Unix(n, 0), true
}

// checkWindow refuses a timestamp further than the tolerance from now.
func (v *Verifier) checkWindow(ts time.Time) error {
	now := v.now()
	switch {
	case now.Sub(ts) > v.tolerance:
		return refusal(httpsig.ErrExpired, "timestamp older than the tolerance")
	case ts.Sub(now) > v.tolerance:
		return refusal(httpsig.ErrExpired, "timestamp in the future beyond the tolerance")
	}
	return nil
}

// validID reports whether id can be a webhook-id: printable ASCII without '.',
// which separates the parts of the signed content.
func validID(id string) bool {
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '.' {
			return false
		}
	}
	return true
}

// stdSig is one decoded v1 or v1a signature.
type stdSig struct {
	v1a bool
	b   [ed25519.SignatureSize]byte // v1 uses the first sha256.Size bytes
}

// base64 lengths of the signatures, padded.
const (
	v1B64Len  = (sha256.Size + 2) / 3 * 4           // 44
	v1aB64Len = (ed25519.SignatureSize + 2) / 3 * 4 // 88
)

// parseStandardSignatures parses webhook-signature, a space-separated list of
// "{version},{base64}" entries, into dst, keeping the v1 and v1a ones. Unknown
// versions are skipped; a v1 or v1a entry that is not the strict base64 of a
// signature of the right size makes the header malformed.
func parseStandardSignatures(enc *base64.Encoding, s string, dst *[MaxSignatures]stdSig) (int, error) {
	n, entries := 0, 0
	for len(s) > 0 {
		var entry string
		if i := indexByte(s, ' '); i >= 0 {
			entry, s = s[:i], s[i+1:]
		} else {
			entry, s = s, ""
		}
		if entry == "" {
			continue
		}
		entries++
		if entries > MaxSignatures {
			return 0, refusal(httpsig.ErrMalformed, "too many signatures")
		}
		i := indexByte(entry, ',')
		if i <= 0 {
			return 0, refusal(httpsig.ErrMalformed, "signature without a version")
		}
		version, value := entry[:i], entry[i+1:]
		var want, size int
		switch version {
		case "v1":
			want, size = v1B64Len, sha256.Size
		case "v1a":
			want, size = v1aB64Len, ed25519.SignatureSize
		default:
			continue
		}
		if len(value) != want {
			return 0, refusal(httpsig.ErrMalformed, "signature of the wrong size")
		}
		// Decode writes up to DecodedLen bytes (66 for 88 characters without
		// padding), more than a signature holds: decode into a buffer that
		// size, then check the length.
		var src [v1aB64Len]byte
		var out [v1aB64Len / 4 * 3]byte
		copy(src[:], value)
		m, err := enc.Decode(out[:], src[:len(value)])
		if err != nil || m != size {
			return 0, refusal(httpsig.ErrMalformed, "signature is not base64")
		}
		sig := &dst[n]
		sig.v1a = version == "v1a"
		copy(sig.b[:], out[:size])
		n++
	}
	return n, nil
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func (v *Verifier) verifyStandard(ctx context.Context, h http.Header, body []byte) (*Message, error) {
	sigHeader, err := singleHeader(h, HeaderSignature, MaxSignatureHeaderLen)
	if err != nil {
		return nil, err
	}
	id, err := singleHeader(h, HeaderID, MaxIDLen)
	if err != nil {
		return nil, err
	}
	tsText, err := singleHeader(h, HeaderTimestamp, maxTimestampLen)
	if err != nil {
		return nil, err
	}
	if !validID(id) {
		return nil, refusal(httpsig.ErrMalformed, "webhook-id holds a '.' or a character outside printable ASCII")
	}
	ts, ok := parseTimestamp(tsText)
	if !ok {
		return nil, refusal(httpsig.ErrMalformed, "webhook-timestamp is not a positive integer")
	}
	var sigs [MaxSignatures]stdSig
	n, err := parseStandardSignatures(v.b64, sigHeader, &sigs)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, refusal(httpsig.ErrMissing, "no v1 or v1a signature")
	}
	if err := v.checkWindow(ts); err != nil {
		return nil, err
	}
	var keyBuf [maxKeys]*key
	keys, err := v.ring.keys(keyBuf[:0], v.now())
	if err != nil {
		return nil, err
	}
	scheme, ok := matchStandard(keys, sigs[:n], id, tsText, body)
	if !ok {
		return nil, refusal(httpsig.ErrInvalid, "no signature verifies")
	}
	if err := v.checkReplay(ctx, id, ts); err != nil {
		return nil, err
	}
	return &Message{id: id, timestamp: ts, scheme: scheme}, nil
}

// matchStandard reports whether one of sigs verifies under one of keys, and
// under which scheme. Every v1 signature is compared with each HMAC in
// constant time; the loop does not stop at the first match of one key, so that
// the time taken says nothing of which signature matched.
func matchStandard(keys []*key, sigs []stdSig, id, ts string, body []byte) (Scheme, bool) {
	var edMsg []byte
	edChecks := 0
	for _, k := range keys {
		switch k.kind {
		case kindHMAC:
			var sum [sha256.Size]byte
			macStandard(k, id, ts, body, sum[:0])
			match := false
			for i := range sigs {
				if !sigs[i].v1a && hmac.Equal(sum[:], sigs[i].b[:sha256.Size]) {
					match = true
				}
			}
			if match {
				return SchemeStandardV1, true
			}
		case kindEdPublic:
			for i := range sigs {
				if !sigs[i].v1a {
					continue
				}
				if edChecks == MaxEd25519Checks {
					return "", false
				}
				edChecks++
				if edMsg == nil {
					edMsg = make([]byte, 0, len(id)+len(ts)+2+len(body))
					edMsg = append(append(append(append(append(edMsg, id...), '.'), ts...), '.'), body...)
				}
				if ed25519.Verify(k.pub, edMsg, sigs[i].b[:]) {
					return SchemeStandardV1a, true
				}
			}
		}
	}
	return "", false
}

// macStandard appends HMAC-SHA256(k, id "." ts "." body) to dst.
func macStandard(k *key, id, ts string, body []byte, dst []byte) []byte {
	var buf [MaxIDLen + 1 + maxTimestampLen + 1]byte
	prefix := append(append(append(append(buf[:0], id...), '.'), ts...), '.')
	return k.sum(dst, prefix, body)
}

// replayMargin is how long a replay record outlives the last instant the
// timestamp window accepts its message (the window is inclusive, and a store
// may count time more coarsely than the verifier's clock).
const replayMargin = time.Second

// replayExpiry is when the record of a message of timestamp ts may go: a
// margin after the last instant checkWindow accepts it, ts plus the
// tolerance on the verifier's clock. That clock may not be the store's
// (WithClock: redisreplay and the default store read time.Now), so the
// record is kept until the later of that instant and the same instant
// carried over to time.Now, so that it outlives the window on either clock.
func (v *Verifier) replayExpiry(ts time.Time) time.Time {
	expiry := ts.Add(v.tolerance).Add(replayMargin) // two steps: v.tolerance + replayMargin may overflow
	wall := time.Now()
	if w := wall.Add(expiry.Sub(v.now())); w.After(expiry) {
		expiry = w
	}
	// Stores count time in int64 nanoseconds since 1970, which end in 2262:
	// a record of a huge tolerance is kept for a century, not wrapped into
	// the past.
	if limit := wall.Add(maxReplayRecord); expiry.After(limit) {
		expiry = limit
	}
	return expiry
}

// maxReplayRecord bounds how long a replay record is kept.
const maxReplayRecord = 100 * 365 * 24 * time.Hour

// checkReplay records (scope, jti) until the message would expire anyway.
func (v *Verifier) checkReplay(ctx context.Context, jti string, ts time.Time) error {
	err := v.store.CheckAndStore(ctx, v.scope, jti, v.replayExpiry(ts))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, dpop.ErrReplayed):
		return refusal(httpsig.ErrReplayed, "message already accepted")
	default:
		return fmt.Errorf("webhook: replay check: %w: %w", httpsig.ErrUnavailable, err)
	}
}
