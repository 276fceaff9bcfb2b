// Package totp verifies time-based one-time passwords (RFC 6238) as the
// second factor of a step-up at the token service ([sts.WithStepUp]).
//
// The codes are those of authenticator apps: HMAC-SHA1, 6 digits, a 30
// second step (RFC 6238 §4, §5.2), computed and compared in constant time by
// github.com/pquerna/otp, not by code of this package. A code is accepted
// for the current step and one step either side (RFC 6238 §5.2's
// transmission delay), and only once: the step a code was accepted for is
// remembered in a [dpop.ReplayStore] (shared between replicas with package
// redisreplay), so that a code seen on its way cannot be used again (RFC
// 6238 §5.2: "the verifier MUST NOT accept the second attempt of the OTP
// after the successful validation has been issued for the first OTP"); the
// earlier steps still in the window are spent with it, so that an older code
// than one accepted is refused as well.
//
// Each user's secret comes from a [Secrets] lookup of the service's own
// (its user store, a Vault KV path through package secrets), as a
// redact.Secret: it never reaches a log, an error or a metric.
//
// How many codes a user may try is bounded by the token service
// ([sts.WithStepUpAttempts]), not here.
package totp

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/sts"
)

// Parameters of the codes (RFC 6238 §4, §5.2; the values authenticator apps
// use).
const (
	// Period is the time step.
	Period = 30 * time.Second
	// Digits is the number of digits of a code.
	Digits = 6
	// Skew is how many steps either side of the current one are accepted.
	Skew = 1
)

// DefaultACR is the acr a verified code reaches ([WithACR]): the user's
// first factor, which got the token being stepped up, plus this one.
const DefaultACR = "mfa"

// Secrets finds users' TOTP secrets. Secret returns the base32 secret (RFC
// 4648 §6, as enrolled in the user's authenticator app; padding and case
// optional) of the user subject, or an error matching
// [sts.ErrFactorNotEnrolled] when the user has none. Any other error makes
// the step-up unavailable (503). Errors must not contain the secret.
// Implementations must be safe for concurrent use.
type Secrets interface {
	Secret(ctx context.Context, subject string) (redact.Secret[string], error)
}

// SecretsFunc adapts a function to [Secrets].
type SecretsFunc func(ctx context.Context, subject string) (redact.Secret[string], error)

// Secret implements [Secrets].
func (f SecretsFunc) Secret(ctx context.Context, subject string) (redact.Secret[string], error) {
	return f(ctx, subject)
}

// Option configures a [Verifier].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	now    func() time.Time
	replay dpop.ReplayStore
	acr    string
}

// WithClock sets the clock codes are checked against; nil keeps time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithReplayStore sets where accepted codes are remembered until they
// expire. Replicas need a shared store (package redisreplay); it may be the
// token service's own ([sts.WithReplayStore]): the keys of this package do
// not collide with DPoP proofs'. nil keeps a [dpop.MemoryReplayStore] of
// default size.
func WithReplayStore(s dpop.ReplayStore) Option {
	return optionFunc(func(c *config) {
		if s != nil {
			c.replay = s
		}
	})
}

// WithACR sets the acr a verified code reaches; the default is
// [DefaultACR]. "" makes [New] fail.
func WithACR(acr string) Option {
	return optionFunc(func(c *config) { c.acr = acr })
}

// Verifier is an [sts.SecondFactor] for TOTP codes. It is safe for
// concurrent use; create it with [New].
type Verifier struct {
	secrets Secrets
	now     func() time.Time
	replay  dpop.ReplayStore
	acr     string
}

var _ sts.SecondFactor = (*Verifier)(nil)

// New returns a Verifier of the codes of the users whose secrets secrets
// finds. It fails with an error matching [sts.ErrInvalidConfig] when
// secrets is nil or an option is unusable.
func New(secrets Secrets, opts ...Option) (*Verifier, error) {
	c := config{now: time.Now, acr: DefaultACR}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if secrets == nil {
		return nil, fmt.Errorf("%w: totp: no secrets", sts.ErrInvalidConfig)
	}
	if c.acr == "" {
		return nil, fmt.Errorf("%w: totp: empty acr", sts.ErrInvalidConfig)
	}
	if c.replay == nil {
		store, err := dpop.NewMemoryReplayStore()
		if err != nil {
			return nil, err
		}
		c.replay = store
	}
	return &Verifier{secrets: secrets, now: c.now, replay: c.replay, acr: c.acr}, nil
}

var validateOpts = totp.ValidateOpts{Period: uint(Period / time.Second), Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Verify implements [sts.SecondFactor]: factor must be a code ([sts.AMROTP])
// of exactly [Digits] ASCII digits, valid for subject's secret at the
// current step or one either side, and not accepted before. It returns acr
// [DefaultACR] (or that of [WithACR]), amr ["otp"] and the current time.
// Errors match [sts.ErrFactorRejected] for a wrong code or another method,
// [sts.ErrFactorReplayed] for a code accepted before, and
// [sts.ErrFactorNotEnrolled] or [sts.ErrFactorUnavailable] as the
// [Secrets] lookup and the replay store answer. They never contain the code
// or the secret.
func (v *Verifier) Verify(ctx context.Context, subject string, factor sts.Factor) (sts.Authentication, error) {
	if v == nil || v.secrets == nil {
		return sts.Authentication{}, fmt.Errorf("%w: totp: Verifier not created by New", sts.ErrFactorUnavailable)
	}
	code := factor.Code.Reveal()
	if factor.Method != sts.AMROTP || !sixDigits(code) {
		return sts.Authentication{}, fmt.Errorf("%w: totp: not a %d-digit code", sts.ErrFactorRejected, Digits)
	}
	secret, err := v.secrets.Secret(ctx, subject)
	if err != nil {
		if errors.Is(err, sts.ErrFactorNotEnrolled) {
			return sts.Authentication{}, fmt.Errorf("totp: %w", sts.ErrFactorNotEnrolled)
		}
		// The lookup's error is dropped: it might quote the secret.
		return sts.Authentication{}, fmt.Errorf("%w: totp: the secret lookup failed", sts.ErrFactorUnavailable)
	}
	now := v.now()
	step := now.Unix() / int64(Period/time.Second)
	matched := int64(-1)
	// Every step in the window is checked, so that the time taken does not
	// say which one matched.
	for d := int64(-Skew); d <= Skew; d++ {
		ok, err := totp.ValidateCustom(code, secret.Reveal(), time.Unix((step+d)*int64(Period/time.Second), 0), validateOpts)
		if err != nil {
			// otp.ErrValidateSecretInvalidBase32: the stored secret is
			// unusable. The library's errors do not quote it.
			return sts.Authentication{}, fmt.Errorf("%w: totp: the stored secret is not usable", sts.ErrFactorUnavailable)
		}
		if ok && matched < 0 {
			matched = step + d
		}
	}
	if matched < 0 {
		return sts.Authentication{}, fmt.Errorf("%w: totp: wrong code", sts.ErrFactorRejected)
	}
	// RFC 6238 §5.2: one code, one use. The step is remembered until it
	// leaves the window of every clock that could accept it.
	until := time.Unix((matched+Skew+1)*int64(Period/time.Second), 0).Add(Period)
	if err := v.replay.CheckAndStore(ctx, "totp "+subject, strconv.FormatInt(matched, 10), until); err != nil {
		if errors.Is(err, dpop.ErrReplayed) {
			return sts.Authentication{}, fmt.Errorf("totp: %w", sts.ErrFactorReplayed)
		}
		return sts.Authentication{}, fmt.Errorf("%w: totp: the replay check is unavailable", sts.ErrFactorUnavailable)
	}
	// The earlier steps still in the window are spent too, so that a code
	// older than one accepted is refused: a code seen on its way but not
	// used is worthless once the user used a newer one. Best effort: the
	// code itself is already recorded.
	for d := int64(1); d <= 2*Skew; d++ {
		_ = v.replay.CheckAndStore(ctx, "totp "+subject, strconv.FormatInt(matched-d, 10), until)
	}
	return sts.Authentication{ACR: v.acr, AMR: []string{sts.AMROTP}, Time: now}, nil
}

// sixDigits reports whether s is exactly Digits ASCII digits.
func sixDigits(s string) bool {
	if len(s) != Digits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
