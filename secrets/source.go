package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Source keeps one credential fresh in the background and hands it out from
// memory: [Source.Current] is an atomic load, never a round trip to the
// backend.
//
// A Source renews a renewable lease at about two thirds of its lifetime (a
// random point between 60% and 70%), issues a new credential when the lease
// cannot be renewed, when the backend refuses the renewal, when a renewal
// comes back shorter than the lease it extends (the backend's maximum TTL is
// near), or when its provider, an [Invalidator], reports that the credential
// dies early; and issues a credential that does not expire again every
// [WithRefresh] interval. While the backend is unavailable it keeps serving
// the credential it has, retrying with exponential backoff and jitter; when
// that credential expires with no replacement, [Source.Current] fails closed
// with an error matching [ErrExpired] until a new one is issued, which the
// Source keeps trying to do by itself.
//
// Functions registered with [Source.OnRotate] get every new credential while
// the one it replaces is still valid (when the backend allows it), so that a
// connection pool can switch with no failed call.
//
// A Source is safe for concurrent use. Its methods, except Current, may block
// while the background goroutine is busy with the backend.
type Source struct {
	name  string
	p     Provider
	cfg   config
	state atomic.Pointer[state]
	tel   *telemetry

	mu      sync.Mutex
	subs    map[uint64]func(*Secret)
	nextSub uint64
	updated chan struct{}

	// expiry fails Current closed when the credential it returns expires,
	// apart from the background goroutine, which a provider call or a
	// rotation callback may hold past that point.
	expMu  sync.Mutex
	expiry *time.Timer
	// lastErr is the background goroutine's last failure since the last
	// credential, for the timer's error; nil after a success.
	lastErr atomic.Pointer[error]
	// calling is set from before a provider call bounded by the
	// credential's expiry until its outcome is recorded (lastErr, or a new
	// state): at the expiry, that call is the cause.
	calling atomic.Bool

	rotate    chan rotateRequest
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// state is what Current returns: a secret, or the error that replaces it.
type state struct {
	secret *Secret
	err    error
}

var closedState = &state{err: ErrClosed}

// NewSource issues the first credential from p and starts keeping it fresh.
// It blocks until that credential is issued: while the backend is
// unavailable it retries with backoff until ctx is done; any other failure
// returns at once. name identifies the credential in logs and metrics (such as
// "payments-db" or "vault-login"); it must be a fixed, low-cardinality string,
// never a value.
//
// The Source's goroutine runs until [Source.Close]; ctx bounds only the wait
// for the first credential.
func NewSource(ctx context.Context, name string, p Provider, opts ...Option) (*Source, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: nil provider", ErrInvalidConfig)
	}
	if name == "" {
		return nil, fmt.Errorf("%w: a source needs a name", ErrInvalidConfig)
	}
	s := &Source{
		name:    name,
		p:       p,
		cfg:     newConfig(opts),
		subs:    map[uint64]func(*Secret){},
		updated: make(chan struct{}),
		rotate:  make(chan rotateRequest),
		done:    make(chan struct{}),
	}
	tel, err := newTelemetry(s.cfg.meters, name, s)
	if err != nil {
		return nil, fmt.Errorf("%w: metrics: %v", ErrInvalidConfig, err)
	}
	s.tel = tel

	inval := s.invalidated()
	first, err := s.issueFirst(ctx)
	if err != nil {
		tel.close()
		return nil, err
	}
	s.setState(&state{secret: first})
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	go s.run(runCtx, first, inval)
	return s, nil
}

// Name returns the name the Source was created with.
func (s *Source) Name() string { return s.name }

// Current returns the credential to use now. It fails with an error matching
// [ErrExpired] (and the cause of the last failure, such as [ErrUnavailable])
// when the credential expired with no replacement, and with [ErrClosed] after
// [Source.Close]. It does not allocate and never calls the backend.
func (s *Source) Current() (*Secret, error) {
	st := s.state.Load()
	return st.secret, st.err
}

// OnRotate registers fn to be called with every new credential, after
// [Source.Current] returns it and, when the backend allows, while the
// credential it replaces is still valid. A renewal (the same credential with a
// longer lease) is not a rotation. The functions run on the Source's
// goroutine, one after the other in the order they were registered (so that
// one registered by the Source's owner, such as a vault.Client taking its new
// token, has run before the others), and should return promptly; a panic in
// fn is recovered, logged and counted as a failure. A function that does not
// return holds the Source (no renewal, no rotation, and Close waits for it),
// though Current still fails closed when the credential expires; fn must not
// wait for the Source, such as by calling [Source.Rotate]. remove
// unregisters fn.
func (s *Source) OnRotate(fn func(*Secret)) (remove func()) {
	if fn == nil {
		return func() {}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, id)
	}
}

// Updated returns a channel that is closed the next time the credential or
// its lease changes (an issue, a renewal, an expiry, [Source.Close]). Call it
// again after each change for the next one.
func (s *Source) Updated() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updated
}

// Rotate issues a new credential now, for instance after the identity used to
// log in to the backend changed, or when a service learns the credential was
// refused. It returns when the new credential is current (and the
// [Source.OnRotate] functions have run), or with the error of the attempt;
// after a failure the Source keeps the credential it had and retries by
// itself. A call made with a credential that a rotation under way, or done
// since, replaces is answered by that rotation: a burst of calls, such as
// every in-flight request that found the credential refused, issues one new
// credential, not one each.
func (s *Source) Rotate(ctx context.Context) error {
	reply := make(chan error, 1)
	req := rotateRequest{seen: s.state.Load().secret, reply: reply}
	select {
	case s.rotate <- req:
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the Source's goroutine and waits for it. It does not revoke the
// credential: leases end by themselves. Close may be called more than once;
// [Source.Current] returns [ErrClosed] afterwards.
func (s *Source) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.done
		s.setState(closedState)
		s.tel.close()
		s.signal()
	})
	return nil
}

// setState makes st what Current returns and, when st holds a credential
// that expires, arms a timer that replaces it with an error matching
// [ErrExpired] at its expiry unless something replaced it before. The
// background goroutine does the same when it gets there (with the cause of
// the last failure, and a log record and a metric); the timer is for when
// it cannot, being held by a backend call or a rotation callback that does
// not return: Current must not serve a credential past its end for that.
func (s *Source) setState(st *state) {
	s.expMu.Lock()
	defer s.expMu.Unlock()
	s.setStateLocked(st)
}

func (s *Source) setStateLocked(st *state) {
	s.state.Store(st)
	if s.expiry != nil {
		s.expiry.Stop()
		s.expiry = nil
	}
	if st.secret == nil || st.secret.lease.ExpiresAt.IsZero() {
		return
	}
	s.expiry = time.AfterFunc(time.Until(st.secret.lease.ExpiresAt), func() { s.expireState(st) })
}

// expireState fails Current closed if st is still its state: the timer of
// setState. It counts and logs the expiry, which the background goroutine
// then does not do again.
func (s *Source) expireState(st *state) {
	// calling first: it is cleared after lastErr is set.
	var cause error
	if s.calling.Load() {
		cause = errNoAnswer
	} else if p := s.lastErr.Load(); p != nil {
		cause = *p
	}
	ctx := context.Background()
	s.expMu.Lock()
	if s.state.Load() != st {
		s.expMu.Unlock()
		return
	}
	// Counted before Current fails: whoever sees it fail sees the count.
	s.tel.failure(ctx, opExpire, ErrExpired)
	s.state.Store(&state{err: s.expiredErr(cause)})
	s.expiry = nil
	s.expMu.Unlock()
	s.logExpired(ctx, st.secret, cause)
	s.signal()
}

func (s *Source) logExpired(ctx context.Context, sec *Secret, cause error) {
	attrs := s.leaseAttrs(sec)
	if cause != nil {
		attrs = append(attrs, slog.String("error", cause.Error()))
	}
	s.cfg.logger.LogAttrs(ctx, slog.LevelError, "secrets: credential expired with no replacement", attrs...)
}

// signal wakes whoever waits on Updated.
func (s *Source) signal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.updated)
	s.updated = make(chan struct{})
}

// issueFirst issues the first credential, retrying while the backend is
// unavailable, until ctx is done.
func (s *Source) issueFirst(ctx context.Context) (*Secret, error) {
	for attempt := 1; ; attempt++ {
		sec, err := s.issue(ctx)
		if err == nil {
			s.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "secrets: credential issued", s.leaseAttrs(sec)...)
			return sec, nil
		}
		if !errors.Is(err, ErrUnavailable) {
			return nil, fmt.Errorf("secrets: %s: first credential: %w", s.name, err)
		}
		wait := s.backoff(attempt)
		s.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "secrets: backend unavailable, retrying",
			slog.String("source", s.name), slog.Duration("retry_in", wait), slog.String("error", err.Error()))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("secrets: %s: first credential: %w (%w)", s.name, err, ctx.Err())
		case <-t.C:
		}
	}
}

// invalidated returns the provider's invalidation channel, or nil (which
// never fires) when the provider is not an [Invalidator]. It is taken before
// each issue, so that an invalidation during the issue is not missed.
func (s *Source) invalidated() <-chan struct{} {
	if iv, ok := s.p.(Invalidator); ok {
		return iv.Invalidated()
	}
	return nil
}

// issue asks the provider for a new credential and checks it.
func (s *Source) issue(ctx context.Context) (*Secret, error) {
	sec, err := s.p.Issue(ctx)
	if err == nil {
		err = checkSecret(sec)
	}
	if err != nil {
		s.tel.failure(ctx, opIssue, err)
		return nil, err
	}
	s.tel.issued.Add(ctx, 1, s.tel.nameOpt)
	return sec, nil
}

func checkSecret(sec *Secret) error {
	if sec == nil {
		return fmt.Errorf("%w: the provider returned none", ErrInvalidSecret)
	}
	if exp := sec.lease.ExpiresAt; !exp.IsZero() && !time.Now().Before(exp) {
		return fmt.Errorf("%w: it expires before it is issued", ErrInvalidSecret)
	}
	return nil
}

type op int

const (
	opIssue op = iota
	opRenew
	opExpire
	opCallback
)

func (o op) String() string {
	switch o {
	case opRenew:
		return "renew"
	case opExpire:
		return "expire"
	case opCallback:
		return "callback"
	}
	return "issue"
}

// loop is the background goroutine's state.
type loop struct {
	cur      *Secret // the latest credential, perhaps expired
	fullTTL  time.Duration
	reissue  bool // renewing no longer helps: the next action issues
	failures int  // consecutive failures of the pending action
	expired  bool
	lastErr  error
	// inval is closed when cur stops being valid before its lease ends
	// (see [Invalidator]); nil once that fired and no new credential was
	// issued since.
	inval <-chan struct{}
}

func (s *Source) run(ctx context.Context, first *Secret, inval <-chan struct{}) {
	defer close(s.done)
	l := &loop{cur: first, fullTTL: first.lease.TTL(), inval: inval}
	action := time.NewTimer(0)
	expiry := time.NewTimer(0)
	defer action.Stop()
	defer expiry.Stop()
	for {
		next, at := s.plan(l)
		action.Reset(time.Until(at))
		if exp := l.cur.lease.ExpiresAt; !exp.IsZero() && !l.expired {
			expiry.Reset(time.Until(exp))
		} else {
			expiry.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case req := <-s.rotate:
			s.rotateFor(ctx, l, req)
		case <-l.inval:
			// The credential dies early (its Vault token was replaced):
			// issue a new one now, and with backoff until that succeeds.
			l.inval, l.reissue = nil, true
			s.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "secrets: credential invalidated by the provider, issuing a new one",
				slog.String("secret", s.name))
			_ = s.doIssue(ctx, l)
		case <-expiry.C:
			if exp := l.cur.lease.ExpiresAt; !exp.IsZero() && !time.Now().Before(exp) {
				s.expire(ctx, l)
			}
		case <-action.C:
			if next == opRenew {
				s.doRenew(ctx, l)
			} else {
				_ = s.doIssue(ctx, l)
			}
		}
	}
}

// rotateRequest is a Rotate call: the credential Current returned when it
// was made (nil when none), and where its answer goes.
type rotateRequest struct {
	seen  *Secret
	reply chan<- error
}

// rotateFor issues a new credential for req, and answers with it the Rotate
// calls that waited meanwhile with the credential it replaced. Without that,
// a burst of calls (every request that found the old credential refused)
// would issue one credential each, one after the other. A call made with a
// later credential gets an issue of its own; one made with a credential
// already replaced gets none.
func (s *Source) rotateFor(ctx context.Context, l *loop, req rotateRequest) {
	if req.seen != nil && !req.seen.sameValue(l.cur) {
		// Made with a credential already replaced: the current one is new
		// to the caller.
		req.reply <- nil
		return
	}
	for {
		replaced := l.cur
		err := s.doIssue(ctx, l)
		req.reply <- err
		next, more := s.answerPending(replaced, err)
		if !more {
			return
		}
		req = next
	}
}

// answerPending answers, with err, the pending Rotate calls made with the
// credential replaced (or with none, or while that issue failed), and returns
// the first one made with a later credential.
func (s *Source) answerPending(replaced *Secret, err error) (rotateRequest, bool) {
	for {
		select {
		case r := <-s.rotate:
			if err != nil || r.seen == nil || r.seen.sameValue(replaced) {
				r.reply <- err
				continue
			}
			return r, true
		default:
			return rotateRequest{}, false
		}
	}
}

// bound returns ctx with a deadline at the current credential's expiry, for a
// call to the provider: a backend that does not answer (packets dropped, a
// hung server) must not hold the Source past that point, where Current has
// to fail closed. Once the credential expired, or when it does not expire,
// the provider's own timeouts bound the call.
func (l *loop) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if exp := l.cur.lease.ExpiresAt; !exp.IsZero() && !l.expired {
		return context.WithDeadline(ctx, exp)
	}
	return ctx, func() {}
}

// plan returns the next action and when to take it.
func (s *Source) plan(l *loop) (op, time.Time) {
	lease := l.cur.lease
	next := opIssue
	if lease.Renewable && !l.reissue && !l.expired {
		next = opRenew
	}
	if l.failures > 0 {
		return next, time.Now().Add(s.backoff(l.failures))
	}
	if lease.ExpiresAt.IsZero() {
		r := s.cfg.refresh
		return next, lease.IssuedAt.Add(r - r/10 + rand.N(r/5+1))
	}
	ttl := lease.TTL()
	if l.reissue && !l.expired && ttl < l.fullTTL {
		// A renewal came back short: the lease ends at the backend's maximum
		// TTL. Issue the replacement when 30% to 40% of a full lifetime is
		// left, as a renewal would, or at once when less is: the old
		// credential then stays valid beside the new one for as long as it
		// can. (60% to 70% of the short lease would leave the two a third of
		// what remained, which is next to nothing when the short renewal
		// granted a second.)
		return next, lease.ExpiresAt.Add(-(l.fullTTL/10*3 + rand.N(l.fullTTL/10+1)))
	}
	// A random point between 60% and 70% of the lifetime. Tenths are taken
	// first: ttl*6 overflows for a lease of 49 years or more, and a renewal
	// point in the past renews in a loop.
	return next, lease.IssuedAt.Add(ttl/10*6 + rand.N(ttl/10+1))
}

// backoff returns the wait before attempt n+1 after n failures: up to twice
// the previous bound, drawn at random in its upper half, within the limits.
func (s *Source) backoff(n int) time.Duration {
	d := s.cfg.minBackoff
	for i := 1; i < n && d < s.cfg.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.cfg.maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// doIssue issues a new credential and, when it is a new value, publishes it
// to the OnRotate functions.
func (s *Source) doIssue(ctx context.Context, l *loop) error {
	inval := s.invalidated()
	callCtx, cancel := l.bound(ctx)
	s.calling.Store(true)
	sec, err := s.issue(callCtx)
	cancel()
	if err != nil {
		s.failed(ctx, l, opIssue, err)
		s.calling.Store(false)
		return err
	}
	old := l.cur
	rotated := !sec.sameValue(old)
	*l = loop{cur: sec, fullTTL: sec.lease.TTL(), inval: inval}
	s.lastErr.Store(nil)
	s.setState(&state{secret: sec})
	s.calling.Store(false)
	level, msg := slog.LevelDebug, "secrets: credential issued again, same value"
	if rotated {
		level, msg = slog.LevelInfo, "secrets: credential rotated"
	}
	s.cfg.logger.LogAttrs(ctx, level, msg, s.leaseAttrs(sec)...)
	if rotated {
		s.notify(ctx, sec)
	}
	s.signal()
	return nil
}

// doRenew extends the current lease; a refused renewal issues a new
// credential at once.
func (s *Source) doRenew(ctx context.Context, l *loop) {
	callCtx, cancel := l.bound(ctx)
	s.calling.Store(true)
	defer s.calling.Store(false)
	sec, err := s.p.Renew(callCtx, l.cur)
	cancel()
	if err == nil {
		err = checkSecret(sec)
	}
	if err == nil && sec.lease.ExpiresAt.IsZero() && !l.cur.lease.ExpiresAt.IsZero() {
		// A lease renewed with no end (a lease duration of 0 in the
		// answer): serving it as a credential that never expires would
		// serve it past its real end.
		err = fmt.Errorf("%w: the renewal of an expiring credential has no expiry", ErrInvalidSecret)
	}
	if err != nil {
		s.tel.failure(ctx, opRenew, err)
		if errors.Is(err, ErrRefused) || errors.Is(err, ErrNotRenewable) || errors.Is(err, ErrInvalidSecret) {
			s.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "secrets: renewal refused, issuing a new credential",
				slog.String("source", s.name), slog.String("error", err.Error()))
			l.reissue = true
			l.failures = 0
			_ = s.doIssue(ctx, l)
			return
		}
		s.failed(ctx, l, opRenew, err)
		return
	}
	s.tel.renewed.Add(ctx, 1, s.tel.nameOpt)
	// A renewal shorter than the lease it extends (by more than a tenth)
	// means the backend's maximum TTL is near: issue a new credential at the
	// usual point of this shorter lease rather than renew again.
	capped := sec.lease.TTL() < l.fullTTL/10*9
	l.cur, l.failures, l.lastErr, l.reissue = sec, 0, nil, capped
	s.lastErr.Store(nil)
	s.setState(&state{secret: sec})
	s.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "secrets: lease renewed",
		append(s.leaseAttrs(sec), slog.Bool("max_ttl_near", capped))...)
	s.signal()
}

// failed records a failure of the pending action; it is retried with backoff.
func (s *Source) failed(ctx context.Context, l *loop, o op, err error) {
	if ctx.Err() != nil {
		return // closing: the call was cut short, nothing failed
	}
	l.failures++
	l.lastErr = err
	s.lastErr.Store(&err)
	if l.expired {
		// Keep the state's error up to date with the latest cause.
		s.setState(&state{err: s.expiredErr(err)})
	}
	s.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "secrets: "+o.String()+" failed, retrying",
		slog.String("source", s.name), slog.Int("failures", l.failures), slog.Bool("expired", l.expired),
		slog.String("error", err.Error()))
}

// expire fails Current closed: the credential ended with no replacement.
func (s *Source) expire(ctx context.Context, l *loop) {
	l.expired = true
	l.reissue = true
	s.expMu.Lock()
	// When the state holds no credential, setState's timer failed Current
	// closed already, and counted and logged it: only the cause is updated.
	first := s.state.Load().secret != nil
	if first {
		s.tel.failure(ctx, opExpire, ErrExpired)
	}
	s.setStateLocked(&state{err: s.expiredErr(l.lastErr)})
	s.expMu.Unlock()
	if first {
		s.logExpired(ctx, l.cur, l.lastErr)
	}
	s.signal()
}

func (s *Source) expiredErr(cause error) error {
	if cause == nil {
		return fmt.Errorf("%w: %s", ErrExpired, s.name)
	}
	return fmt.Errorf("%w: %s: last failure: %w", ErrExpired, s.name, cause)
}

// notify calls the OnRotate functions with sec.
func (s *Source) notify(ctx context.Context, sec *Secret) {
	s.mu.Lock()
	fns := make([]func(*Secret), 0, len(s.subs))
	for _, id := range slices.Sorted(maps.Keys(s.subs)) {
		fns = append(fns, s.subs[id])
	}
	s.mu.Unlock()
	for _, fn := range fns {
		s.call(ctx, fn, sec)
	}
}

func (s *Source) call(ctx context.Context, fn func(*Secret), sec *Secret) {
	defer func() {
		if r := recover(); r != nil {
			// The panic value is not logged: it may hold the secret.
			s.tel.failure(ctx, opCallback, errCallbackPanic)
			s.cfg.logger.LogAttrs(ctx, slog.LevelError, "secrets: rotation callback panicked",
				slog.String("source", s.name))
		}
	}()
	fn(sec)
}

var errCallbackPanic = errors.New("secrets: rotation callback panicked")

// errNoAnswer is the cause of an expiry while a call to the provider, bounded
// by that expiry, is under way; the call's own error replaces it when the
// call returns.
var errNoAnswer = fmt.Errorf("%w: no answer before the credential expired: %w", ErrUnavailable, context.DeadlineExceeded)

func (s *Source) leaseAttrs(sec *Secret) []slog.Attr {
	lease := sec.Lease()
	attrs := []slog.Attr{slog.String("source", s.name)}
	if lease.Version != "" {
		attrs = append(attrs, slog.String("version", lease.Version))
	}
	if !lease.ExpiresAt.IsZero() {
		attrs = append(attrs, slog.Time("expires", lease.ExpiresAt), slog.Duration("ttl", lease.TTL()))
	}
	return append(attrs, slog.Bool("renewable", lease.Renewable))
}
