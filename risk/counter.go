package risk

import (
	"context"
	"log/slog"
	"time"
)

// Counter keeps the sliding-window event counts of velocity rules. One
// decision makes one Count call with every window it needs, so that a
// store shared by replicas (Redis) answers in one round trip.
//
// Count adds each window's Add (0: read only) to the window's events at
// now and sets its Count to the events within (now−Length, now], the
// addition included. It must leave a window whose Value is empty
// untouched (Count 0): that key is missing from the signals. On failure it
// returns an error matching [ErrCounterUnavailable], and the engine
// applies the action's on_counter_error outcome; it may then have counted
// some windows and not others. Count must be safe for concurrent use.
type Counter interface {
	Count(ctx context.Context, now time.Time, windows []Window) error
}

// Window is one sliding window of a [Counter] call. Event, Key, Value
// and Length identify the count; two windows differing in any of them are
// counted apart.
type Window struct {
	// Event is what is counted: an action's policy name or a recorded event.
	Event string
	// Key and Value are what it is counted per: KeyCard and the card's
	// fingerprint, for example. Value identifies a customer, card, device
	// or network, so it is never logged (see [Window.LogValue]).
	Key   Key
	Value string
	// Length is the window's length.
	Length time.Duration
	// Add is how many events to add now; Count is set by the Counter.
	Add   int64
	Count int64
}

// LogValue logs w without its Value.
func (w Window) LogValue() slog.Value {
	return slog.GroupValue(slog.String("event", w.Event), slog.String("key", w.Key.String()),
		slog.Duration("length", w.Length), slog.Int64("add", w.Add), slog.Int64("count", w.Count))
}
