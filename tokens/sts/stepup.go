package sts

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/tokens"
)

// AMROTP is the amr value of a one-time password (RFC 8176 §2), the
// [Factor.Method] of the otp request parameter.
const AMROTP = "otp"

// Defaults of step-up ([WithStepUp]).
const (
	// DefaultStepUpMaxFailures is how many failed second-factor attempts a
	// subject may make within [DefaultStepUpWindow] before it is locked out
	// for the rest of the window.
	DefaultStepUpMaxFailures = 5
	// DefaultStepUpWindow is the window failed attempts are counted in.
	DefaultStepUpWindow = 15 * time.Minute
	// maxACRValues bounds the acr_values of one request.
	maxACRValues = 16
	// maxFactorCode bounds the length of a factor's code.
	maxFactorCode = 64
)

// Factor is a second factor a client sends on behalf of its user in a
// step-up request: the method (its RFC 8176 amr value) and the code the user
// gave. The code is secret: it prints, logs and marshals as [REDACTED]
// (package redact) and is reached only through Code.Reveal.
type Factor struct {
	// Method is the RFC 8176 amr value of the factor, [AMROTP] for the otp
	// parameter.
	Method string
	// Code is what the user entered.
	Code redact.Secret[string]
}

// Authentication is what a verified second factor proves: the
// authentication context class the user's session now reaches (acr,
// OpenID Connect Core §2), the methods used (amr, RFC 8176), and when.
type Authentication struct {
	// ACR is the authentication context class reached by the session's
	// earlier authentication plus this factor, such as "mfa".
	ACR string
	// AMR are the methods of this factor, such as ["otp"]; the issued
	// token's amr is the subject token's followed by these.
	AMR []string
	// Time is when the factor was verified; zero means now.
	Time time.Time
}

// SecondFactor verifies a user's second factor for a step-up ([WithStepUp]).
// Verify checks factor for the user subject (the sub of the token being
// stepped up) and returns what it proves. A code that is wrong returns an
// error matching [ErrFactorRejected]; a code accepted before (RFC 6238 §5.2)
// [ErrFactorReplayed]; a subject without a factor of that method
// [ErrFactorNotEnrolled]; a store that cannot answer [ErrFactorUnavailable].
// Errors must never contain the code or the user's secret. Implementations
// must be safe for concurrent use; package tokens/sts/totp is one.
type SecondFactor interface {
	Verify(ctx context.Context, subject string, factor Factor) (Authentication, error)
}

// AttemptLimiter bounds the second-factor attempts of each subject, so that
// a 6-digit code cannot be found by trying. Attempt counts one attempt by
// subject, as a failure until Reset is called, and returns an error matching
// [ErrTooManyAttempts] (without counting) when subject has failed too often;
// counting before verifying makes concurrent guesses count too. Reset
// forgets subject's failures after a factor verified. An error that matches
// neither refuses the request as unavailable: the limiter fails closed.
// Implementations must be safe for concurrent use; replicas need a shared
// one (the default, of [WithStepUpAttempts], is per process).
type AttemptLimiter interface {
	Attempt(ctx context.Context, subject string) error
	Reset(ctx context.Context, subject string) error
}

// Errors of a [SecondFactor] and an [AttemptLimiter]. The token endpoint
// answers ErrFactorRejected, ErrFactorReplayed, ErrFactorNotEnrolled and
// ErrTooManyAttempts with invalid_grant (RFC 6749 §5.2: the resource
// owner's credential is invalid), ErrFactorUnavailable with a 503.
var (
	ErrFactorRejected    = errors.New("sts: second factor rejected")
	ErrFactorReplayed    = errors.New("sts: second factor used before")
	ErrFactorNotEnrolled = errors.New("sts: no second factor of this method for the subject")
	ErrFactorUnavailable = errors.New("sts: second factor cannot be verified now")
	ErrTooManyAttempts   = errors.New("sts: too many failed second-factor attempts")
)

// stepUpConfig is the configuration of [WithStepUp].
type stepUpConfig struct {
	subjects    TokenVerifier
	factor      SecondFactor
	limiter     AttemptLimiter
	maxFailures int
	window      time.Duration
}

// isStepUp reports whether a token exchange request is a step-up: it
// carries one of the step-up parameters.
func isStepUp(f form) bool {
	return f.has("acr_values") || f.has("max_age") || f.has("otp")
}

// parseACRValues reads acr_values (RFC 9470 §4, OpenID Connect Core
// §3.1.2.1): values separated by single spaces, each a non-empty string of
// NQCHAR without space (the characters of an RFC 6749 §3.3 scope-token),
// at most maxACRValues of them, none twice.
func parseACRValues(s string) ([]string, bool) {
	if s == "" {
		return nil, false
	}
	var out []string
	for v := range strings.SplitSeq(s, " ") {
		if !tokens.IsScopeToken(v) || slices.Contains(out, v) || len(out) == maxACRValues {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// parseMaxAge reads max_age (RFC 9470 §4): a non-negative whole number of
// seconds in decimal digits, at most nine of them (31 years: more would
// overflow a time.Duration).
func parseMaxAge(s string) (time.Duration, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// stepUp serves a step-up: a token exchange (RFC 8693) by the client that
// holds the subject token and its DPoP key, with a second factor, for a
// token of the same subject at a higher acr. See the package documentation.
func (s *Server) stepUp(ctx context.Context, r *http.Request, f form, o *outcome) (*tokenResponse, *refusal) {
	o.stepUp = true
	su := s.cfg.stepUp
	if su == nil {
		return nil, badRequest(errInvalidRequest, reasonStepUpUnsupported, "step-up is not supported", nil)
	}
	switch {
	case f.has("actor_token") || f.has("actor_token_type"):
		return nil, badRequest(errInvalidRequest, reasonStepUpActor, "a step-up is made by the subject token's holder, without actor_token", nil)
	case f.has("client_assertion") || f.has("client_assertion_type"):
		return nil, badRequest(errInvalidRequest, reasonStepUpActor, "a step-up is authenticated by the subject token's DPoP key, without client assertion", nil)
	}
	if t := f.get("requested_token_type"); t != "" && t != TokenTypeAccessToken {
		return nil, badRequest(errInvalidRequest, reasonTokenType, "requested_token_type not supported: only "+TokenTypeAccessToken, nil)
	}
	subjectToken, subjectType := f.get("subject_token"), f.get("subject_token_type")
	if subjectToken == "" || subjectType == "" {
		return nil, badRequest(errInvalidRequest, reasonMissingParameter, "subject_token and subject_token_type are required", nil)
	}
	if subjectType != TokenTypeAccessToken && subjectType != TokenTypeJWT {
		return nil, badRequest(errInvalidRequest, reasonTokenType, "subject_token_type not supported", nil)
	}
	acrValues, ok := parseACRValues(f.get("acr_values"))
	if !ok {
		return nil, badRequest(errInvalidRequest, reasonACRValues, "acr_values is required: acr values separated by single spaces", nil)
	}
	if f.has("max_age") {
		// Any max_age is met: the factor is verified now.
		if _, ok := parseMaxAge(f.get("max_age")); !ok {
			return nil, badRequest(errInvalidRequest, reasonMaxAge, "max_age must be a non-negative whole number of seconds", nil)
		}
	}
	code := f.get("otp")
	if code == "" {
		return nil, badRequest(errInvalidRequest, reasonMissingParameter, "otp is required", nil)
	}
	if len(code) > maxFactorCode {
		return nil, badRequest(errInvalidRequest, reasonFactorRejected, "otp is too long", nil)
	}
	subject, err := su.subjects.Verify(ctx, subjectToken)
	if err != nil {
		return nil, subjectRefusal(err)
	}
	switch {
	case subject.Actor != nil:
		// A delegated token is held by a workload acting for the user,
		// not by the user's own client.
		return nil, badRequest(errInvalidRequest, reasonStepUpDelegated, "a delegated subject_token (act) cannot be stepped up", nil)
	case subject.Confirmation.JKT == "":
		return nil, badRequest(errInvalidRequest, reasonStepUpUnbound, "the subject_token must be DPoP-bound (cnf.jkt)", nil)
	}
	if id := f.get("client_id"); id != "" && id != subject.ClientID {
		return nil, badRequest(errInvalidRequest, reasonClientMismatch, "client_id does not match the subject_token", nil)
	}
	aud, rf := subjectTargets(f, subject.Audience)
	if rf != nil {
		return nil, rf
	}
	scopes, rf := narrowScopes(f, subject.Scopes, nil, false)
	if rf != nil {
		return nil, rf
	}
	// Never outlive the subject token: refused now when it has less than a
	// second left, and measured again when the token is signed (see issue).
	if _, ok := s.lifetimeUntil(subject.Expiry); !ok {
		return nil, badRequest(errInvalidRequest, reasonSubjectExpired, "subject_token is expired", nil)
	}
	// The proof must be by the key the subject token is bound to: a token
	// without its key cannot be stepped up, nor used to lock its user out.
	jkt, rf := s.proof(ctx, r)
	if rf != nil {
		return nil, rf
	}
	switch jkt {
	case "":
		return nil, badRequest(errInvalidRequest, reasonDPoPRequired, "a DPoP proof is required", nil)
	case subject.Confirmation.JKT:
		// The holder of the token's key: its client, from now on named
		// in the log.
		o.clientID = subject.ClientID
	default:
		return nil, badRequest(errInvalidGrant, reasonStepUpKeyMismatch, "the DPoP proof is not made with the key the subject_token is bound to", nil)
	}
	if err := su.limiter.Attempt(ctx, subject.Subject); err != nil {
		if errors.Is(err, ErrTooManyAttempts) {
			return nil, badRequest(errInvalidGrant, reasonTooManyAttempts, "too many failed second-factor attempts; try again later", err)
		}
		return nil, &refusal{status: http.StatusServiceUnavailable, code: errServerError, reason: reasonFactorUnavailable,
			description: "the second factor cannot be verified now", err: err}
	}
	auth, err := su.factor.Verify(ctx, subject.Subject, Factor{Method: AMROTP, Code: redact.NewSecret(code)})
	if err != nil {
		return nil, factorRefusal(err)
	}
	if err := su.limiter.Reset(ctx, subject.Subject); err != nil {
		return nil, &refusal{status: http.StatusServiceUnavailable, code: errServerError, reason: reasonFactorUnavailable,
			description: "the second factor cannot be verified now", err: err}
	}
	if auth.ACR == "" || !slices.Contains(acrValues, auth.ACR) {
		return nil, badRequest(errInvalidRequest, reasonACRNotMet, "the second factor does not reach any of the requested acr_values", nil)
	}
	now := s.cfg.now()
	authTime := auth.Time
	if authTime.IsZero() || authTime.After(now) {
		authTime = now
	}
	amr := slices.Clone(subject.AMR)
	for _, m := range auth.AMR {
		if !slices.Contains(amr, m) {
			amr = append(amr, m)
		}
	}
	return s.issue(ctx, o, tokens.TokenRequest{
		Subject: subject.Subject, ClientID: subject.ClientID, Audience: aud, Scopes: scopes,
		Roles: subject.Roles, Groups: subject.Groups, Entitlements: subject.Entitlements,
		AuthTime: authTime, ACR: auth.ACR, AMR: amr,
		MayAct: subject.MayAct,
	}, binding{jkt: jkt}, subject.Expiry, TokenTypeAccessToken)
}

// subjectTargets returns the audience and resource values of a step-up,
// each of which must be one of the subject token's audiences; with none,
// all of them.
func subjectTargets(f form, subjectAud []string) ([]string, *refusal) {
	if !f.has("audience") && !f.has("resource") {
		return slices.Clone(subjectAud), nil
	}
	return targets(f, subjectAud, "the subject token")
}

// factorRefusal is the answer to a second factor that did not verify.
func factorRefusal(err error) *refusal {
	switch {
	case errors.Is(err, ErrFactorReplayed):
		return badRequest(errInvalidGrant, reasonFactorReplayed, "the one-time password has been used before", err)
	case errors.Is(err, ErrFactorRejected):
		return badRequest(errInvalidGrant, reasonFactorRejected, "the one-time password is invalid", err)
	case errors.Is(err, ErrFactorNotEnrolled):
		return badRequest(errInvalidGrant, reasonFactorNotEnrolled, "the subject has no second factor of this method", err)
	case errors.Is(err, ErrFactorUnavailable):
		return &refusal{status: http.StatusServiceUnavailable, code: errServerError, reason: reasonFactorUnavailable,
			description: "the second factor cannot be verified now", err: err}
	}
	return &refusal{status: http.StatusInternalServerError, code: errServerError, reason: reasonFactorUnavailable,
		description: "the second factor could not be verified", err: err}
}

// memoryLimiter is the in-process [AttemptLimiter]: per subject, the
// failures counted since the window opened. It keeps at most maxEntries
// subjects; when full of live entries it refuses (fails closed).
type memoryLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*attempts
}

type attempts struct {
	failures int
	since    time.Time
}

// maxLimiterEntries bounds the subjects a memoryLimiter remembers. Only
// holders of a valid subject token and its key reach it.
const maxLimiterEntries = 1 << 16

var errLimiterFull = errors.New("sts: attempt limiter is full")

func newMemoryLimiter(max int, window time.Duration, now func() time.Time) *memoryLimiter {
	return &memoryLimiter{max: max, window: window, now: now, entries: map[string]*attempts{}}
}

// Attempt implements [AttemptLimiter].
func (l *memoryLimiter) Attempt(_ context.Context, subject string) error {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.entries[subject]
	if ok && !now.Before(a.since.Add(l.window)) {
		ok = false
	}
	if !ok {
		if len(l.entries) >= maxLimiterEntries {
			l.sweep(now)
			if len(l.entries) >= maxLimiterEntries {
				return errLimiterFull
			}
		}
		a = &attempts{since: now}
		l.entries[subject] = a
	}
	if a.failures >= l.max {
		return ErrTooManyAttempts
	}
	a.failures++
	return nil
}

// Reset implements [AttemptLimiter].
func (l *memoryLimiter) Reset(_ context.Context, subject string) error {
	l.mu.Lock()
	delete(l.entries, subject)
	l.mu.Unlock()
	return nil
}

// sweep drops the entries whose window has passed; l.mu is held.
func (l *memoryLimiter) sweep(now time.Time) {
	for k, a := range l.entries {
		if !now.Before(a.since.Add(l.window)) {
			delete(l.entries, k)
		}
	}
}
