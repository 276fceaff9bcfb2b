package dpop

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nonceTestTime returns a fixed instant in the middle of a one-minute epoch.
func nonceTestTime() time.Time { return time.Date(2025, 6, 1, 12, 0, 30, 0, time.UTC) }

// nonceTestSecret returns a 32-byte secret that differs for each seed.
func nonceTestSecret(seed byte) []byte {
	return bytes.Repeat([]byte{seed}, minNonceSecretSize)
}

// nonceTestClock returns a clock stuck at t.
func nonceTestClock(t time.Time) func() time.Time {
	return func() time.Time { return t }
}

// nonceTestNew returns Nonces for secret whose clock is stuck at t.
func nonceTestNew(tb testing.TB, secret []byte, t time.Time, opts ...NonceOption) *Nonces {
	tb.Helper()
	n, err := NewNonces(secret, append([]NonceOption{WithNonceClock(nonceTestClock(t))}, opts...)...)
	require.NoError(tb, err)
	return n
}

// nonceTestDecode decodes a version 1 nonce independently of the code under test.
func nonceTestDecode(tb testing.TB, nonce string) (version byte, epoch uint64, mac []byte) {
	tb.Helper()
	raw, err := base64.RawURLEncoding.Strict().DecodeString(nonce)
	require.NoError(tb, err)
	require.Len(tb, raw, 1+8+16)
	return raw[0], binary.BigEndian.Uint64(raw[1:9]), raw[9:]
}

// nonceTestEncode encodes a nonce independently of the code under test.
func nonceTestEncode(version byte, epoch uint64, mac []byte) string {
	raw := []byte{version}
	raw = binary.BigEndian.AppendUint64(raw, epoch)
	return base64.RawURLEncoding.EncodeToString(append(raw, mac...))
}

// nonceTestRequireError checks that err is the use_dpop_nonce error carrying n's current nonce.
func nonceTestRequireError(tb testing.TB, n *Nonces, err error) {
	tb.Helper()
	require.Error(tb, err)
	assert.ErrorIs(tb, err, ErrUseDPoPNonce)
	var nerr *NonceError
	require.ErrorAs(tb, err, &nerr)
	assert.Equal(tb, n.Current(), nerr.Nonce)
	assert.NotContains(tb, err.Error(), nerr.Nonce, "the error message never carries a nonce")
}

// TestNonceFormat checks the wire format against an independent computation: base64url
// without padding of 1 || epoch || HMAC-SHA-256(HKDF-SHA-256(secret), label || epoch)[:16].
// The golden value pins the format, which every replica of every ztkit version must agree on.
func TestNonceFormat(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	n := nonceTestNew(t, secret, nonceTestTime())
	nonce := n.Current()

	assert.Equal(t, "AQAAAAABvLzQo_GxLfOW9Ud9p1SAvRd9mw", nonce)
	assert.Len(t, nonce, 34)

	version, epoch, mac := nonceTestDecode(t, nonce)
	assert.Equal(t, byte(1), version)
	assert.Equal(t, uint64(nonceTestTime().Unix()/60), epoch)

	key, err := hkdf.Key(sha256.New, secret, nil, "ztkit dpop nonce v1 mac key", 32)
	require.NoError(t, err)
	h := hmac.New(sha256.New, key)
	h.Write([]byte("ztkit dpop nonce v1"))
	h.Write(binary.BigEndian.AppendUint64(nil, epoch))
	assert.Equal(t, h.Sum(nil)[:16], mac)

	// RFC 9449 §8.1: nonce = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E.
	for _, c := range []byte(nonce) {
		assert.True(t, c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E), "%q is not an NQCHAR", c)
	}
}

func TestNonceCheck(t *testing.T) {
	secret := nonceTestSecret(1)
	otherSecret := nonceTestSecret(2)
	oldSecret := nonceTestSecret(3)
	rotation := defaultNonceRotation

	issuedAt := func(s []byte, at time.Time) string {
		return nonceTestNew(t, s, at).Current()
	}
	current := issuedAt(secret, nonceTestTime())
	_, epoch, mac := nonceTestDecode(t, current)
	flipped := bytes.Clone(mac)
	flipped[len(flipped)-1] ^= 0x01

	// The last of the 34 characters carries 2 bits of data and 4 padding bits; a
	// strict decoder refuses a character whose padding bits are not zero.
	nonCanonical := current[:33] + string(nonceTestBase64Alphabet[strings.IndexByte(nonceTestBase64Alphabet, current[33])|0x01])
	withNewline := current[:10] + "\n" + current[11:]
	padded := base64.URLEncoding.EncodeToString(func() []byte {
		raw, _ := base64.RawURLEncoding.DecodeString(current)
		return raw
	}())

	tests := []struct {
		name  string
		nonce string
		opts  []NonceOption
		valid bool
	}{
		{name: "current epoch", nonce: current, valid: true},
		{name: "start of the current epoch", nonce: issuedAt(secret, nonceTestTime().Truncate(rotation)), valid: true},
		{name: "previous epoch", nonce: issuedAt(secret, nonceTestTime().Add(-rotation)), valid: true},
		{name: "two epochs ago", nonce: issuedAt(secret, nonceTestTime().Add(-2*rotation))},
		{name: "two epochs ago with three accepted", nonce: issuedAt(secret, nonceTestTime().Add(-2*rotation)), opts: []NonceOption{WithNonceAcceptedEpochs(3)}, valid: true},
		{name: "previous epoch with none accepted", nonce: issuedAt(secret, nonceTestTime().Add(-rotation)), opts: []NonceOption{WithNonceAcceptedEpochs(0)}},
		{name: "next epoch", nonce: issuedAt(secret, nonceTestTime().Add(rotation))},
		{name: "far future epoch", nonce: issuedAt(secret, nonceTestTime().Add(1000*time.Hour))},
		{name: "epoch zero", nonce: issuedAt(secret, time.Unix(0, 0))},
		{name: "tampered MAC byte", nonce: nonceTestEncode(1, epoch, flipped)},
		{name: "MAC moved to the previous epoch", nonce: nonceTestEncode(1, epoch-1, mac)},
		{name: "wrong version", nonce: nonceTestEncode(2, epoch, mac)},
		{name: "version zero", nonce: nonceTestEncode(0, epoch, mac)},
		{name: "truncated by one character", nonce: current[:33]},
		{name: "truncated MAC", nonce: nonceTestEncode(1, epoch, mac[:15])},
		{name: "one character too many", nonce: current + "A"},
		{name: "padded base64", nonce: padded},
		{name: "standard base64 alphabet", nonce: current[:5] + "+" + current[6:]},
		{name: "non-zero padding bits", nonce: nonCanonical},
		{name: "newline inside", nonce: withNewline},
		{name: "leading space", nonce: " " + current[1:]},
		{name: "empty", nonce: ""},
		{name: "all A", nonce: strings.Repeat("A", 34)},
		{name: "other secret", nonce: issuedAt(otherSecret, nonceTestTime())},
		{name: "previous secret accepted", nonce: issuedAt(oldSecret, nonceTestTime()), opts: []NonceOption{WithPreviousNonceSecrets(oldSecret)}, valid: true},
		{name: "previous secret, previous epoch", nonce: issuedAt(oldSecret, nonceTestTime().Add(-rotation)), opts: []NonceOption{WithPreviousNonceSecrets(otherSecret, oldSecret)}, valid: true},
		{name: "previous secret, expired epoch", nonce: issuedAt(oldSecret, nonceTestTime().Add(-2*rotation)), opts: []NonceOption{WithPreviousNonceSecrets(oldSecret)}},
		{name: "previous secret not listed", nonce: issuedAt(oldSecret, nonceTestTime()), opts: []NonceOption{WithPreviousNonceSecrets(otherSecret)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := nonceTestNew(t, secret, nonceTestTime(), tt.opts...)
			err := n.Check(tt.nonce)
			if tt.valid {
				assert.NoError(t, err)
			} else {
				nonceTestRequireError(t, n, err)
			}
			// Previous secrets verify but never issue.
			assert.Equal(t, current, n.Current())
		})
	}
	require.NotEqual(t, current, nonCanonical)
}

// nonceTestBase64Alphabet is the RFC 4648 §5 alphabet in value order.
const nonceTestBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func TestNonceAcceptedWindow(t *testing.T) {
	secret := nonceTestSecret(1)
	for _, accepted := range []int{0, 1, 2, 10} {
		t.Run(fmt.Sprint(accepted), func(t *testing.T) {
			n := nonceTestNew(t, secret, nonceTestTime(), WithNonceAcceptedEpochs(accepted))
			for age := -2; age <= accepted+2; age++ {
				issuer := nonceTestNew(t, secret, nonceTestTime().Add(-time.Duration(age)*defaultNonceRotation))
				err := n.Check(issuer.Current())
				if age >= 0 && age <= accepted {
					assert.NoError(t, err, "age %d", age)
				} else {
					assert.ErrorIs(t, err, ErrUseDPoPNonce, "age %d", age)
				}
			}
		})
	}
}

func TestNonceRotation(t *testing.T) {
	var now atomic.Int64
	start := nonceTestTime().Truncate(10 * time.Second)
	now.Store(start.UnixNano())
	n, err := NewNonces(nonceTestSecret(1),
		WithNonceRotation(10*time.Second),
		WithNonceClock(func() time.Time { return time.Unix(0, now.Load()) }))
	require.NoError(t, err)
	advance := func(d time.Duration) { now.Add(int64(d)) }

	first := n.Current()
	advance(10*time.Second - time.Nanosecond)
	assert.Equal(t, first, n.Current(), "same epoch, same nonce")

	advance(time.Nanosecond)
	second := n.Current()
	assert.NotEqual(t, first, second, "a new epoch starts exactly at the boundary")
	assert.NoError(t, n.Check(first), "the previous epoch is accepted")
	assert.NoError(t, n.Check(second))

	advance(10 * time.Second)
	nonceTestRequireError(t, n, n.Check(first))
	assert.NoError(t, n.Check(second))

	// A clock that steps back is served the nonce of its epoch again.
	now.Store(start.UnixNano())
	assert.Equal(t, first, n.Current())
	nonceTestRequireError(t, n, n.Check(second))
}

func TestNonceReplicasAcceptEachOther(t *testing.T) {
	secret := nonceTestSecret(7)
	a := nonceTestNew(t, secret, nonceTestTime())
	b := nonceTestNew(t, bytes.Clone(secret), nonceTestTime())
	require.Equal(t, a.Current(), b.Current())
	assert.NoError(t, a.Check(b.Current()))
	assert.NoError(t, b.Check(a.Current()))

	// A replica whose clock is one epoch ahead accepts the laggard's nonce; the
	// laggard refuses the leader's nonce, from its future, with its own current one.
	ahead := nonceTestNew(t, secret, nonceTestTime().Add(defaultNonceRotation))
	assert.NoError(t, ahead.Check(a.Current()))
	nonceTestRequireError(t, a, a.Check(ahead.Current()))

	other := nonceTestNew(t, nonceTestSecret(8), nonceTestTime())
	nonceTestRequireError(t, other, other.Check(a.Current()))
}

func TestNonceSecretRotation(t *testing.T) {
	oldSecret, newSecret := nonceTestSecret(1), nonceTestSecret(2)
	old := nonceTestNew(t, oldSecret, nonceTestTime())
	clientNonce := old.Current()

	// Step 1: every replica verifies with both secrets but still issues with the old one.
	step1 := nonceTestNew(t, oldSecret, nonceTestTime(), WithPreviousNonceSecrets(newSecret))
	assert.Equal(t, clientNonce, step1.Current())
	// Step 2: replicas issue with the new secret and still accept the old one.
	step2 := nonceTestNew(t, newSecret, nonceTestTime(), WithPreviousNonceSecrets(oldSecret))
	assert.NotEqual(t, clientNonce, step2.Current())
	assert.NoError(t, step2.Check(clientNonce))
	assert.NoError(t, step1.Check(step2.Current()))
	// Step 3: once the window has passed, the old secret goes.
	step3 := nonceTestNew(t, newSecret, nonceTestTime())
	nonceTestRequireError(t, step3, step3.Check(clientNonce))
	assert.NoError(t, step3.Check(step2.Current()))
}

func TestNewNoncesCopiesSecrets(t *testing.T) {
	secret, previous := nonceTestSecret(1), nonceTestSecret(2)
	fromPrevious := nonceTestNew(t, previous, nonceTestTime()).Current()
	opt := WithPreviousNonceSecrets(previous)
	clear(previous)

	n := nonceTestNew(t, secret, nonceTestTime(), opt)
	nonce := n.Current()
	clear(secret)
	n.current.Store(nil) // recompute from the key, not the cache

	assert.Equal(t, nonce, n.Current())
	assert.NoError(t, n.Check(nonce))
	assert.NoError(t, n.Check(fromPrevious))
}

func TestNewNoncesInvalidConfig(t *testing.T) {
	tests := []struct {
		name   string
		secret []byte
		opts   []NonceOption
	}{
		{name: "nil secret"},
		{name: "short secret", secret: make([]byte, minNonceSecretSize-1)},
		{name: "zero rotation", secret: nonceTestSecret(1), opts: []NonceOption{WithNonceRotation(0)}},
		{name: "negative rotation", secret: nonceTestSecret(1), opts: []NonceOption{WithNonceRotation(-time.Minute)}},
		{name: "sub-second rotation", secret: nonceTestSecret(1), opts: []NonceOption{WithNonceRotation(999 * time.Millisecond)}},
		{name: "negative accepted epochs", secret: nonceTestSecret(1), opts: []NonceOption{WithNonceAcceptedEpochs(-1)}},
		{name: "too many accepted epochs", secret: nonceTestSecret(1), opts: []NonceOption{WithNonceAcceptedEpochs(11)}},
		{name: "short previous secret", secret: nonceTestSecret(1), opts: []NonceOption{WithPreviousNonceSecrets(nonceTestSecret(2), make([]byte, 31))}},
		{name: "nil previous secret", secret: nonceTestSecret(1), opts: []NonceOption{WithPreviousNonceSecrets(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := NewNonces(tt.secret, tt.opts...)
			require.ErrorIs(t, err, ErrInvalidConfig)
			assert.Nil(t, n)
		})
	}
}

func TestNewNoncesValidConfig(t *testing.T) {
	tests := []struct {
		name string
		opts []NonceOption
	}{
		{name: "defaults"},
		{name: "nil option", opts: []NonceOption{nil}},
		{name: "nil clock keeps time.Now", opts: []NonceOption{WithNonceClock(nil)}},
		{name: "one second rotation", opts: []NonceOption{WithNonceRotation(time.Second)}},
		{name: "fractional rotation", opts: []NonceOption{WithNonceRotation(1500 * time.Millisecond)}},
		{name: "no past epochs", opts: []NonceOption{WithNonceAcceptedEpochs(0)}},
		{name: "ten past epochs", opts: []NonceOption{WithNonceAcceptedEpochs(10)}},
		{name: "no previous secrets", opts: []NonceOption{WithPreviousNonceSecrets()}},
		{name: "long secret", opts: []NonceOption{WithPreviousNonceSecrets(make([]byte, 1024))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := NewNonces(nonceTestSecret(1), tt.opts...)
			require.NoError(t, err)
			before := nonceEpoch(time.Now(), n.rotation)
			nonce := n.Current()
			after := nonceEpoch(time.Now(), n.rotation)
			assert.NoError(t, n.Check(nonce))
			_, epoch, _ := nonceTestDecode(t, nonce)
			assert.True(t, before <= epoch && epoch <= after, "epoch %d follows time.Now", epoch)
		})
	}
}

func TestNonceEpoch(t *testing.T) {
	tests := []struct {
		name     string
		t        time.Time
		rotation time.Duration
		want     uint64
	}{
		{name: "unix epoch", t: time.Unix(0, 0), rotation: time.Minute, want: 0},
		{name: "before the unix epoch", t: time.Unix(-1, 0), rotation: time.Minute, want: 0},
		{name: "zero time", t: time.Time{}, rotation: time.Minute, want: 0},
		{name: "last nanosecond of epoch 0", t: time.Unix(59, 999_999_999), rotation: time.Minute, want: 0},
		{name: "first nanosecond of epoch 1", t: time.Unix(60, 0), rotation: time.Minute, want: 1},
		{name: "fractional rotation", t: time.Unix(2, 999_999_999), rotation: 1500 * time.Millisecond, want: 1},
		{name: "fractional rotation boundary", t: time.Unix(3, 0), rotation: 1500 * time.Millisecond, want: 2},
		{name: "test time", t: nonceTestTime(), rotation: time.Minute, want: uint64(nonceTestTime().Unix() / 60)},
		{name: "past int64 nanoseconds", t: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), rotation: time.Second, want: uint64(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC).Unix())},
		{name: "largest time", t: time.Unix(1<<63-1, 999_999_999), rotation: time.Second, want: 1<<63 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, nonceEpoch(tt.t, tt.rotation))
		})
	}
}

func TestNonceConcurrentUse(t *testing.T) {
	var now atomic.Int64
	now.Store(nonceTestTime().UnixNano())
	n, err := NewNonces(nonceTestSecret(1),
		WithPreviousNonceSecrets(nonceTestSecret(2)),
		WithNonceClock(func() time.Time { return time.Unix(0, now.Load()) }))
	require.NoError(t, err)
	old := nonceTestNew(t, nonceTestSecret(2), nonceTestTime()).Current()

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				if err := n.Check(n.Current()); err != nil {
					assert.ErrorIs(t, err, ErrUseDPoPNonce)
				}
				_ = n.Check(old)
				_ = n.Check("garbage")
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			now.Add(int64(defaultNonceRotation) / 10)
			runtime.Gosched()
		}
	})
	wg.Wait()
	assert.NoError(t, n.Check(n.Current()))
}

// nonceTestPoolKeepsItems reports whether sync.Pool gives back what was put in it.
// Under the race detector it drops a random quarter of Puts, so pooled code
// allocates there by design and allocation counts say nothing.
func nonceTestPoolKeepsItems() bool {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var p sync.Pool
	x := new(int)
	for range 100 {
		p.Put(x)
		if p.Get() != x {
			return false
		}
	}
	return true
}

func TestNonceHotPathDoesNotAllocate(t *testing.T) {
	if !nonceTestPoolKeepsItems() {
		t.Skip("sync.Pool drops items in this build (race detector)")
	}
	n := nonceTestNew(t, nonceTestSecret(1), nonceTestTime(), WithPreviousNonceSecrets(nonceTestSecret(2)))
	nonce := n.Current()
	previous := nonceTestNew(t, nonceTestSecret(2), nonceTestTime()).Current()
	var err error
	assert.Zero(t, testing.AllocsPerRun(100, func() { nonce = n.Current() }), "Current")
	assert.Zero(t, testing.AllocsPerRun(100, func() { err = n.Check(nonce) }), "Check")
	assert.NoError(t, err)
	assert.Zero(t, testing.AllocsPerRun(100, func() { err = n.Check(previous) }), "Check with a previous secret")
	assert.NoError(t, err)
}

func TestNoncesRedacted(t *testing.T) {
	secret := []byte("hunter2 hunter2 hunter2 hunter2 hunter2")
	n, err := NewNonces(secret, WithPreviousNonceSecrets(secret))
	require.NoError(t, err)
	n.Current()
	leaks := []string{"hunter2", hex.EncodeToString(secret), fmt.Sprint(secret)}
	assertHidden := func(t *testing.T, out string) {
		t.Helper()
		assert.Contains(t, out, "[REDACTED]")
		for _, leak := range leaks {
			assert.NotContains(t, out, leak)
		}
	}

	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		t.Run(verb, func(t *testing.T) {
			assert.Equal(t, "[REDACTED]", fmt.Sprintf(verb, n))
			assertHidden(t, fmt.Sprintf(verb, struct{ N *Nonces }{n}))
			assertHidden(t, fmt.Sprintf(verb, WithPreviousNonceSecrets(secret)))
			assertHidden(t, fmt.Sprintf(verb, n.keys[0]))
			assertHidden(t, fmt.Sprintf(verb, newNonceConfig([]NonceOption{WithPreviousNonceSecrets(secret)})))
		})
	}
	assert.Equal(t, "[REDACTED]", n.String())
	assert.Equal(t, "[REDACTED]", n.GoString())

	t.Run("json", func(t *testing.T) {
		j, err := json.Marshal(map[string]any{"nonces": n, "option": WithPreviousNonceSecrets(secret)})
		require.NoError(t, err)
		assert.JSONEq(t, `{"nonces":"[REDACTED]","option":"[REDACTED]"}`, string(j))
		j, err = json.Marshal(map[*Nonces]int{n: 1})
		require.NoError(t, err)
		assert.JSONEq(t, `{"[REDACTED]":1}`, string(j))
		text, err := n.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, "[REDACTED]", string(text))
	})

	t.Run("slog", func(t *testing.T) {
		dropTime := func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
		var buf bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: dropTime}))
		logger.Info("nonces", "nonces", n, "option", WithPreviousNonceSecrets(secret))
		assert.Equal(t, `{"level":"INFO","msg":"nonces","nonces":"[REDACTED]","option":"[REDACTED]"}`+"\n", buf.String())

		buf.Reset()
		logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: dropTime}))
		logger.Info("nonces", "nonces", n)
		assert.Equal(t, `level=INFO msg=nonces nonces=[REDACTED]`+"\n", buf.String())
	})
}

// FuzzNonceCheck checks that Check never panics, refuses with the current nonce,
// and accepts only a canonical version 1 nonce from inside the accepted window.
func FuzzNonceCheck(f *testing.F) {
	secret := nonceTestSecret(1)
	n := nonceTestNew(f, secret, nonceTestTime(), WithNonceAcceptedEpochs(2), WithPreviousNonceSecrets(nonceTestSecret(2)))
	nowEpoch := nonceEpoch(nonceTestTime(), defaultNonceRotation)
	for _, issuer := range []struct {
		secret []byte
		age    int
	}{{secret, 0}, {secret, 1}, {secret, 2}, {secret, 3}, {secret, -1}, {nonceTestSecret(2), 0}, {nonceTestSecret(3), 0}} {
		nonce := nonceTestNew(f, issuer.secret, nonceTestTime().Add(-time.Duration(issuer.age)*defaultNonceRotation)).Current()
		f.Add(nonce)
		f.Add(nonce[:33])
		f.Add(nonce + "=")
		f.Add(strings.ToUpper(nonce))
	}
	f.Add("")
	f.Add(strings.Repeat("A", 34))
	f.Add(strings.Repeat("_", 34))
	f.Add(nonceTestEncode(1, 1<<64-1, make([]byte, 16)))
	f.Add(nonceTestEncode(1, nowEpoch, make([]byte, 16)))
	f.Add("AQAAAAABvLzQo_GxLfOW9Ud9p1SAvRd9m\n")

	f.Fuzz(func(t *testing.T, nonce string) {
		err := n.Check(nonce)
		if err != nil {
			var nerr *NonceError
			require.ErrorAs(t, err, &nerr)
			require.Equal(t, n.Current(), nerr.Nonce)
			return
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(nonce)
		require.NoError(t, err, "an accepted nonce is strict base64url")
		require.Len(t, raw, 25)
		require.Equal(t, byte(1), raw[0])
		epoch := binary.BigEndian.Uint64(raw[1:9])
		require.LessOrEqual(t, epoch, nowEpoch, "an accepted nonce is not from the future")
		require.LessOrEqual(t, nowEpoch-epoch, uint64(2), "an accepted nonce is inside the window")
		require.Equal(t, base64.RawURLEncoding.EncodeToString(raw), nonce, "an accepted nonce is canonical")
	})
}

func BenchmarkNonceCurrent(b *testing.B) {
	n, err := NewNonces(nonceTestSecret(1))
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		_ = n.Current()
	}
}

func BenchmarkNonceCheck(b *testing.B) {
	n, err := NewNonces(nonceTestSecret(1), WithPreviousNonceSecrets(nonceTestSecret(2)))
	require.NoError(b, err)
	previous, err := NewNonces(nonceTestSecret(2))
	require.NoError(b, err)
	cases := []struct {
		name  string
		nonce string
		valid bool
	}{
		{name: "valid", nonce: n.Current(), valid: true},
		{name: "previous secret", nonce: previous.Current(), valid: true},
		{name: "forged", nonce: nonceTestEncode(1, nonceEpoch(time.Now(), defaultNonceRotation), make([]byte, 16))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := n.Check(c.nonce); (err == nil) != c.valid {
					b.Fatalf("Check = %v", err)
				}
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := n.Check(n.Current()); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// Make sure errors.Is on a wrapped NonceError still finds ErrUseDPoPNonce.
func TestNonceErrorWrapped(t *testing.T) {
	n := nonceTestNew(t, nonceTestSecret(1), nonceTestTime())
	err := fmt.Errorf("checking proof: %w", n.Check("stale"))
	assert.True(t, errors.Is(err, ErrUseDPoPNonce))
	var nerr *NonceError
	require.True(t, errors.As(err, &nerr))
	assert.Equal(t, n.Current(), nerr.Nonce)
	assert.NoError(t, n.Check(nerr.Nonce), "the nonce in the error is accepted")
}
