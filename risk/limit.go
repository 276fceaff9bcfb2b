package risk

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ztkit/ztkit/authn"
)

// Rate-limit errors.
var (
	// ErrInvalidLimit: a [Limit] is malformed (a bad name or key, a window
	// out of range, a Max below 1) or a scope declares a name twice.
	ErrInvalidLimit = errors.New("risk: invalid rate limit")
)

// Limit is one rate limit: at most Max requests per Window for each
// caller, keyed on the caller's verified identity ([Key]: KeyCustomer,
// KeyClient, KeyWorkload, KeyDevice or KeyIP).
type Limit struct {
	// Name labels the limit in logs, metrics and refusals; spelled as a
	// [Reason] (lower-case letters, digits and '_'), so bounded. It also
	// names the limit's counters, together with Key and Window: two
	// scopes that declare the same Name, Key and Window share one count.
	Name string
	// Key is what the limit counts per. KeyCard is not a caller and is
	// refused.
	Key Key
	// Window is the sliding window's length, above 0 and at most 7 days;
	// Max the most requests it lets through, at least 1.
	Window time.Duration
	Max    int64
	// FailOpen lets requests through while the counter store fails. The
	// zero value fails closed: the request is refused as unavailable,
	// never let through unmetered. Set it only for a limit that protects
	// capacity rather than against abuse.
	FailOpen bool
}

// Caller is who a request comes from, as rate limits key it: each field
// comes from the verified principal and the connection, never from a
// value the client merely asserts. An empty field is not counted: a limit
// on it does not apply.
type Caller struct {
	// Customer is the access token's subject.
	Customer string
	// Client is the access token's client_id.
	Client string
	// Workload is the calling workload's SPIFFE ID: the JWT-SVID's, or
	// else the mTLS peer's.
	Workload string
	// Device is the DPoP key's RFC 7638 thumbprint.
	Device string
	// IP is the client's address, counted per /24 (IPv4) or /48 (IPv6).
	IP netip.Addr
}

// CallerOf is the caller of principal p from address ip. A nil p has only
// the address.
func CallerOf(p *authn.Principal, ip netip.Addr) Caller {
	c := Caller{IP: ip}
	if p == nil {
		return c
	}
	c.Customer, c.Client, c.Device = p.Subject, p.ClientID, p.KeyThumbprint
	switch {
	case !p.Workload.IsZero():
		c.Workload = p.Workload.String()
	case !p.Peer.IsZero():
		c.Workload = p.Peer.String()
	}
	return c
}

// value is c's value for key k, or "".
func (c Caller) value(k Key) string {
	switch k {
	case KeyCustomer:
		return c.Customer
	case KeyClient:
		return c.Client
	case KeyWorkload:
		return c.Workload
	case KeyDevice:
		return c.Device
	case KeyIP:
		s := Signals{IP: c.IP}
		return s.ipPrefix()
	}
	return ""
}

// LimitResult is the outcome of [Limiter.Allow].
type LimitResult struct {
	// Allowed reports that the request is within every limit of its scope
	// (or that the counters failed and every limit of the scope fails open).
	Allowed bool
	// Limit is the name of the limit that refused the request, or of the
	// first limit that fails closed when the counters failed; "" when allowed.
	Limit string
	// RetryAfter, for a request over a limit, is how long the caller
	// should wait: the limit's window, after which every request counted
	// in it has left it, so that a caller that stops for that long is sure
	// to get through. It is an upper bound, rounded up to a whole second.
	RetryAfter time.Duration
	// Err is the counter's error (matching [ErrCounterUnavailable]) when
	// the counters failed; the fallback of the scope's limits then decided.
	Err error
}

// Limiter enforces rate limits per caller, declared per scope (a route or
// an action, as the service names them), on a [Counter]: a MemoryCounter
// for one replica, or a store shared by replicas so that all of them
// enforce one limit together. Each [Limiter.Allow] makes one Counter call
// with every limit of its scope, so a shared store answers in one round
// trip.
//
// Every request is counted, those refused included: a caller that keeps
// sending over the limit stays over it, and N replicas sharing a counter
// let exactly Max requests through per window (as exactly as the counter
// counts: MemoryCounter and a Redis counter with atomic increments are
// exact). A Limiter is safe for concurrent use.
type Limiter struct {
	ctr    Counter
	now    func() time.Time
	scopes map[string][]Limit
}

// NewLimiter returns the limiter of limits, by scope name. Of opts, only
// [WithCounter] (default: a MemoryCounter, for one replica only) and
// [WithClock] apply. It returns an error matching [ErrInvalidLimit] for a
// malformed limit.
func NewLimiter(limits map[string][]Limit, opts ...Option) (*Limiter, error) {
	c := newConfig(opts)
	scopes := make(map[string][]Limit, len(limits))
	var errs []error
	for scope, ls := range limits {
		seen := map[string]bool{}
		for i, l := range ls {
			bad := func(format string, args ...any) {
				errs = append(errs, fmt.Errorf("%w: scope %q: limits[%d] %q: %s", ErrInvalidLimit, scope, i, l.Name, fmt.Sprintf(format, args...)))
			}
			switch {
			case !ValidReason(Reason(l.Name)):
				bad("name must be 1 to 48 lower-case letters, digits and '_', starting with a letter")
			case seen[l.Name]:
				bad("declared twice")
			}
			seen[l.Name] = true
			if l.Key < KeyCustomer || int(l.Key) >= len(keyNames) || l.Key == KeyCard {
				bad("key must be customer, client, workload, device or ip")
			}
			if l.Window <= 0 || l.Window > maxWindow {
				bad("window must be above 0 and at most %s", maxWindow)
			}
			if l.Max < 1 {
				bad("max must be at least 1")
			}
		}
		scopes[scope] = append([]Limit(nil), ls...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Limiter{ctr: c.counter, now: c.now, scopes: scopes}, nil
}

// limitEvent is the counter event of limit name, apart from every action
// and recorded event (which have no ':').
func limitEvent(name string) string { return "limit:" + name }

// Allow counts one request of caller c in every limit of scope and
// reports whether it is within all of them. A scope with no limits, and a
// limit whose key c lacks, allow. When the counter fails, a limit that
// fails closed (the default) and applies to c refuses, with Err set. A nil
// Limiter refuses every request, with Err matching [ErrInvalidLimit].
func (l *Limiter) Allow(ctx context.Context, scope string, c Caller) LimitResult {
	if l == nil {
		return LimitResult{Err: fmt.Errorf("%w: nil Limiter", ErrInvalidLimit)}
	}
	ls := l.scopes[scope]
	if len(ls) == 0 {
		return LimitResult{Allowed: true}
	}
	var buf [4]Window
	ws := buf[:0]
	for _, lim := range ls {
		ws = append(ws, Window{Event: limitEvent(lim.Name), Key: lim.Key, Value: c.value(lim.Key), Length: lim.Window, Add: 1})
	}
	if err := l.ctr.Count(ctx, l.now(), ws); err != nil {
		if !errors.Is(err, ErrCounterUnavailable) {
			err = fmt.Errorf("%w: %w", ErrCounterUnavailable, err)
		}
		for i, lim := range ls {
			if ws[i].Value != "" && !lim.FailOpen {
				return LimitResult{Limit: lim.Name, Err: err}
			}
		}
		return LimitResult{Allowed: true, Err: err}
	}
	for i, lim := range ls {
		if ws[i].Value != "" && ws[i].Count > lim.Max {
			return LimitResult{Limit: lim.Name, RetryAfter: (lim.Window + time.Second - 1).Truncate(time.Second)}
		}
	}
	return LimitResult{Allowed: true}
}
