// Package replaydefer lets package guard send a request's DPoP replay check
// (tokens/dpop/redisreplay) in the same Redis pipeline as the first velocity
// count of its rate-limit and risk steps (risk/rediscounter): one round trip
// instead of two.
//
// It is private to the module on purpose: a [Collector] exists only in the
// context that guard.Check hands to the authenticator and its steps, and a
// store defers its check only into one. Without a collector (the
// authenticator used alone, any other caller, a user's own code) every check
// runs when it is asked for, as before. No public API can skip the check:
// the exported hooks that take a *Collector are useless outside the module,
// which cannot make one, and do nothing with nil.
//
// Only the owner's own authentication defers: it calls [Collector.Seal]
// when that is done, and a proof verified later with the same context (by
// code the owner's steps call) is checked at once.
//
// The one who creates the collector owns the verdict: guard.Check calls
// [Collector.Resolve] before it answers, whatever the answer, and a check
// still pending then runs on its own. A deferred check is never an allow.
//
// The package imports no Redis client: package dpop uses it, and must not
// compile go-redis. The client and the pipeline are passed as any.
package replaydefer

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"time"
)

// ErrNotRun is the verdict of a check that was taken for a pipeline whose
// command never ran; [Collector.Resolve] returns it wrapped by nothing, and
// package guard refuses the request as it does when the store is down.
var ErrNotRun = errors.New("replaydefer: replay check not run")

// Check is one deferred replay check: one store's command for one proof.
// redisreplay.Store makes them.
type Check interface {
	// Client identifies the Redis client the command is for (a
	// redis.UniversalClient): only a pipeline of that same client may
	// carry it.
	Client() any
	// Timeout bounds the command, as the store's own timeout bounds a
	// check it runs alone.
	Timeout() time.Duration
	// Queue queues the command on pipe, a redis.Pipeliner of Client, and
	// returns the function that reads its verdict after the pipeline's
	// Exec: nil for a new proof, an error matching dpop.ErrReplayed or
	// dpop.ErrReplayCheckUnavailable otherwise.
	Queue(ctx context.Context, pipe any) (verdict func() error)
	// Run runs the check alone, in a round trip of its own, with the
	// verdicts of Queue.
	Run(ctx context.Context) error
}

// Deferrer is a replay store that can defer its check into a [Collector]:
// redisreplay.Store.
type Deferrer interface {
	// DeferReplay records the check of (jkt, jti) until expiry in c
	// instead of running it, and reports whether it did. as is the replay
	// store exactly as the caller holds it (its dpop.ReplayStore value):
	// the store defers only when as is the store itself, never when it is
	// a type of the user's own that embeds it (DeferReplay is promoted
	// then, but the wrapper's CheckAndStore is the check to run). A nil
	// c, one that holds a check already, or another as records nothing
	// (false): the caller then runs the check itself.
	DeferReplay(c *Collector, as any, jkt, jti string, expiry time.Time) bool
}

type state uint8

const (
	empty    state = iota // no check deferred
	pending               // deferred, not sent
	inFlight              // taken by a pipeline, verdict not known yet
	settled               // verdict known
)

// Collector holds the deferred replay check of one request, at most one.
// It is safe for concurrent use. The zero value is not usable: only
// [NewContext] makes one.
type Collector struct {
	mu      sync.Mutex
	state   state
	sealed  bool // Seal: nothing more is deferred
	check   Check
	verdict error
	done    chan struct{} // closed when an inFlight check settles
}

type ctxKey struct{}

// NewContext returns a child of ctx that carries a new, empty collector,
// and the collector. Only package guard calls it.
func NewContext(ctx context.Context) (context.Context, *Collector) {
	c := &Collector{}
	return context.WithValue(ctx, ctxKey{}, c), c
}

// FromContext returns the collector of ctx, or nil.
func FromContext(ctx context.Context) *Collector {
	c, _ := ctx.Value(ctxKey{}).(*Collector)
	return c
}

// Defer records check in c, pending, and reports whether it did: false
// when c is nil, already holds a check or is sealed (the caller runs its
// own then).
func (c *Collector) Defer(check Check) bool {
	if c == nil || check == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != empty || c.sealed {
		return false
	}
	c.state, c.check = pending, check
	return true
}

// Seal ends the deferral of c: its owner calls it once its own
// authentication is done, so that a proof verified later with its context
// (by a guard or a verifier that code of the steps calls: an authorizer,
// risk signals) is checked when it is verified, by whoever verifies it,
// never left to a collector that resolves it only after that caller has
// acted on it. A check already deferred stays, and is taken and resolved
// as before.
func (c *Collector) Seal() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sealed = true
}

// Take hands the pending check of c to a pipeline of client, when it is
// for that client, and marks it in flight: the taker must call
// [Collector.Settle] with its verdict, on every path. It returns nil when
// c is nil, holds no pending check, or holds one for another client (which
// [Collector.Resolve] then runs on its own); a client of a type that
// cannot be compared is never taken.
func (c *Collector) Take(client any) Check {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != pending || !sameClient(c.check.Client(), client) {
		return nil
	}
	c.state, c.done = inFlight, make(chan struct{})
	return c.check
}

// sameClient reports whether a and b are the same client. A client of a
// type Go cannot compare with == (a struct value holding a slice, say) is
// never the same: == would panic, in the middle of a request.
func sameClient(a, b any) bool {
	if a == nil || b == nil {
		return false
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Type() != vb.Type() || !va.Comparable() || !vb.Comparable() {
		return false
	}
	return a == b
}

// Settle records the verdict of the check [Collector.Take] handed out. A
// second call changes nothing.
func (c *Collector) Settle(verdict error) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != inFlight {
		return
	}
	c.state, c.verdict = settled, verdict
	close(c.done)
}

// Resolve returns the verdict of the request's replay check: nil when no
// check was deferred or the proof was new, the check's error otherwise:
// one matching dpop.ErrReplayed for a replayed proof; any other error
// (dpop.ErrReplayCheckUnavailable, [ErrNotRun]) means the check could not
// be made, and the proof must be refused as unavailable. A
// check still pending runs now, alone; one in flight is waited for (until
// ctx ends: [ErrNotRun] wrapped with ctx's error). After Resolve, c holds
// its verdict: a later Resolve returns it again, and nothing is deferred
// into c any more.
func (c *Collector) Resolve(ctx context.Context) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	switch c.state {
	case empty:
		c.state = settled // nothing may be deferred after the verdict
		c.mu.Unlock()
		return nil
	case settled:
		c.mu.Unlock()
		return c.verdict
	case inFlight:
		done := c.done
		c.mu.Unlock()
		select {
		case <-done:
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.verdict
		case <-ctx.Done():
			return errors.Join(ErrNotRun, ctx.Err())
		}
	}
	// pending: run it alone. In flight while it runs, so that no
	// pipeline takes it meanwhile.
	check := c.check
	c.state, c.done = inFlight, make(chan struct{})
	c.mu.Unlock()
	verdict := ErrNotRun
	defer func() { c.Settle(verdict) }()
	verdict = check.Run(ctx)
	return verdict
}
