package totp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/tokens/sts"
	stotp "github.com/ztkit/ztkit/tokens/sts/totp"
)

// rfcSecret is the SHA-1 seed of RFC 6238 Appendix B, "12345678901234567890"
// in ASCII, base32 (RFC 4648 §6).
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func secrets(secret string) stotp.Secrets {
	return stotp.SecretsFunc(func(_ context.Context, subject string) (redact.Secret[string], error) {
		if subject != "alice" {
			return redact.Secret[string]{}, fmt.Errorf("lookup: %w", sts.ErrFactorNotEnrolled)
		}
		return redact.NewSecret(secret), nil
	})
}

func otpFactor(code string) sts.Factor {
	return sts.Factor{Method: sts.AMROTP, Code: redact.NewSecret(code)}
}

// RFC 6238 Appendix B, SHA-1 rows: the 8-digit TOTP values (verbatim) whose
// last 6 digits are the 6-digit codes of the same time (RFC 4226 §5.3: the
// value modulo 10^Digits).
func TestRFC6238AppendixB(t *testing.T) {
	for _, tc := range []struct {
		unix  int64
		totp8 string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		t.Run(tc.totp8, func(t *testing.T) {
			now := time.Unix(tc.unix, 0)
			v, err := stotp.New(secrets(rfcSecret), stotp.WithClock(func() time.Time { return now }))
			require.NoError(t, err)
			a, err := v.Verify(context.Background(), "alice", otpFactor(tc.totp8[2:]))
			require.NoError(t, err)
			assert.Equal(t, sts.Authentication{ACR: "mfa", AMR: []string{"otp"}, Time: now}, a)
		})
	}
}

// One step either side is accepted (RFC 6238 §5.2), two are not.
func TestSkew(t *testing.T) {
	now := time.Unix(1_800_000_015, 0)
	for _, tc := range []struct {
		offset time.Duration
		ok     bool
	}{
		{-60 * time.Second, false}, {-30 * time.Second, true}, {0, true}, {30 * time.Second, true}, {60 * time.Second, false},
	} {
		t.Run(tc.offset.String(), func(t *testing.T) {
			v, err := stotp.New(secrets(rfcSecret), stotp.WithClock(func() time.Time { return now }))
			require.NoError(t, err)
			code, err := totp.GenerateCode(rfcSecret, now.Add(tc.offset))
			require.NoError(t, err)
			_, err = v.Verify(context.Background(), "alice", otpFactor(code))
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, sts.ErrFactorRejected)
			}
		})
	}
}

// RFC 6238 §5.2: a code is accepted once, also by concurrent callers, and
// still once after the clock moved on a step.
func TestCodeUsedOnce(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	v, err := stotp.New(secrets(rfcSecret), stotp.WithClock(func() time.Time { return *clock.Load() }))
	require.NoError(t, err)
	code, err := totp.GenerateCode(rfcSecret, now)
	require.NoError(t, err)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), "alice", otpFactor(code))
			if err == nil {
				ok.Add(1)
			} else {
				assert.ErrorIs(t, err, sts.ErrFactorReplayed)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), ok.Load())
	later := now.Add(30 * time.Second)
	clock.Store(&later)
	_, err = v.Verify(context.Background(), "alice", otpFactor(code))
	assert.ErrorIs(t, err, sts.ErrFactorReplayed)
	next, err := totp.GenerateCode(rfcSecret, later)
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), "alice", otpFactor(next))
	assert.NoError(t, err, "the next step's code is a new code")
}

type failingStore struct{}

func (failingStore) CheckAndStore(context.Context, string, string, time.Time) error {
	return errors.New("store down")
}

// Refusals, each with its sentinel; none shows the code or the secret.
func TestRefusals(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	good, err := totp.GenerateCode(rfcSecret, now)
	require.NoError(t, err)
	clock := stotp.WithClock(func() time.Time { return now })
	for _, tc := range []struct {
		name    string
		secrets stotp.Secrets
		opts    []stotp.Option
		subject string
		factor  sts.Factor
		want    error
	}{
		{name: "five digits", factor: otpFactor(good[:5]), want: sts.ErrFactorRejected},
		{name: "seven digits", factor: otpFactor(good + "0"), want: sts.ErrFactorRejected},
		{name: "padded with spaces", factor: otpFactor(" " + good[1:]), want: sts.ErrFactorRejected},
		{name: "not digits", factor: otpFactor("12345a"), want: sts.ErrFactorRejected},
		{name: "fullwidth digits", factor: otpFactor("１２３４５６"), want: sts.ErrFactorRejected},
		{name: "another method", factor: sts.Factor{Method: "sms", Code: redact.NewSecret(good)}, want: sts.ErrFactorRejected},
		{name: "not enrolled", subject: "bob", factor: otpFactor(good), want: sts.ErrFactorNotEnrolled},
		{name: "lookup fails", factor: otpFactor(good), want: sts.ErrFactorUnavailable,
			secrets: stotp.SecretsFunc(func(context.Context, string) (redact.Secret[string], error) {
				return redact.Secret[string]{}, errors.New("vault sealed: " + rfcSecret)
			})},
		{name: "secret not base32", factor: otpFactor(good), want: sts.ErrFactorUnavailable, secrets: secrets("not base32!1")},
		{name: "replay store down", factor: otpFactor(good), want: sts.ErrFactorUnavailable, opts: []stotp.Option{stotp.WithReplayStore(failingStore{})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.secrets
			if s == nil {
				s = secrets(rfcSecret)
			}
			v, err := stotp.New(s, append([]stotp.Option{clock}, tc.opts...)...)
			require.NoError(t, err)
			subject := tc.subject
			if subject == "" {
				subject = "alice"
			}
			_, err = v.Verify(context.Background(), subject, tc.factor)
			require.ErrorIs(t, err, tc.want)
			assert.False(t, strings.Contains(err.Error(), good), "the error holds no code")
			assert.False(t, strings.Contains(err.Error(), rfcSecret), "the error holds no secret")
		})
	}
}

// A factor prints, logs and marshals without its code.
func TestFactorRedacted(t *testing.T) {
	f := otpFactor("287082")
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("factor", "f", f, "code", f.Code)
	for _, s := range []string{fmt.Sprint(f), fmt.Sprintf("%+v %#v", f, f), logs.String()} {
		assert.False(t, strings.Contains(s, "287082"), "redacted")
	}
}

func TestNew(t *testing.T) {
	_, err := stotp.New(nil)
	assert.ErrorIs(t, err, sts.ErrInvalidConfig)
	_, err = stotp.New(secrets(rfcSecret), stotp.WithACR(""))
	assert.ErrorIs(t, err, sts.ErrInvalidConfig)
	v, err := stotp.New(secrets(rfcSecret), stotp.WithACR("urn:shop:mfa"), nil)
	require.NoError(t, err)
	now := time.Now()
	code, err := totp.GenerateCode(rfcSecret, now)
	require.NoError(t, err)
	a, err := v.Verify(context.Background(), "alice", otpFactor(code))
	require.NoError(t, err)
	assert.Equal(t, "urn:shop:mfa", a.ACR)
	_, err = (*stotp.Verifier)(nil).Verify(context.Background(), "alice", otpFactor(code))
	assert.ErrorIs(t, err, sts.ErrFactorUnavailable)
}

// Once a code is accepted, the codes of earlier steps still in the window
// are spent too; a later step's code is not.
func TestOlderCodeSpent(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	v, err := stotp.New(secrets(rfcSecret), stotp.WithClock(func() time.Time { return now }))
	require.NoError(t, err)
	codeAt := func(d time.Duration) sts.Factor {
		c, err := totp.GenerateCode(rfcSecret, now.Add(d))
		require.NoError(t, err)
		return otpFactor(c)
	}
	_, err = v.Verify(context.Background(), "alice", codeAt(0))
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), "alice", codeAt(-30*time.Second))
	assert.ErrorIs(t, err, sts.ErrFactorReplayed)
	_, err = v.Verify(context.Background(), "alice", codeAt(30*time.Second))
	assert.NoError(t, err)
}
