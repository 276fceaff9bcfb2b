package dpop

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ztkit/ztkit/internal/replaykey"
)

// ReplayStore remembers accepted DPoP proofs until they expire, so that a proof
// is accepted at most once (RFC 9449 §11.1). Consult it only after every other
// check on the proof has passed, signature included, so that forged proofs
// cannot fill it.
//
// A proof is identified by the pair (jkt, jti): the JWK SHA-256 thumbprint of
// the proof key (RFC 7638) and the proof's jti claim. Keying on both means one
// client cannot burn another client's jti values. Implementations store a fixed-size
// hash of the pair, never the raw jti, whose length the client controls.
//
// Implementations must be safe for concurrent use and must decide atomically:
// when several callers present the same pair at once, exactly one gets nil.
// [MemoryReplayStore] serves a single process; package redisreplay shares the
// state between replicas through Redis.
type ReplayStore interface {
	// CheckAndStore records (jkt, jti) until expiry. It returns nil the first
	// time the pair is seen, [ErrReplayed] if it was seen before and has not
	// expired, and an error matching [ErrReplayCheckUnavailable] when the store
	// cannot answer (never nil in that case). Errors never contain jkt or jti.
	//
	// expiry is when the proof stops being acceptable anyway (its iat plus the
	// acceptance window and leeway); remembering the pair longer is harmless,
	// shorter reopens replay. An expiry that has passed or is about to is not
	// an error: the stores in this module record the pair for at least one
	// second, so that a slow or clock-skewed caller cannot skip the record.
	CheckAndStore(ctx context.Context, jkt, jti string, expiry time.Time) error
}

// Compile-time check that the in-memory store satisfies the interface.
var _ ReplayStore = (*MemoryReplayStore)(nil)

const (
	// defaultMaxEntries is the bound of a [MemoryReplayStore] without [WithMaxEntries].
	defaultMaxEntries = 100_000
	// maxPrunePerCall bounds the lazy pruning one CheckAndStore does under the
	// lock, so that a burst of expirations is spread over later calls instead of
	// stalling one. Each call adds at most one entry, so pruning keeps up.
	maxPrunePerCall = 16
	// maxMaxEntries is the largest bound [WithMaxEntries] accepts, so that a
	// ring position fits in the int32 the index keeps per pair.
	maxMaxEntries = math.MaxInt32
)

// MemoryReplayStore is a [ReplayStore] held in the memory of one process.
//
// It is bounded: it never holds more than its maximum number of entries
// ([WithMaxEntries], 100,000 by default; about 100 bytes each, allocated up front).
// Expired entries are pruned lazily, oldest first, as new ones arrive. When the
// store is full of unexpired entries, a new proof evicts the oldest one and
// [MemoryReplayStore.Evictions] counts it. That is the trade-off of a hard memory
// bound under a flood of proofs: an evicted, still unexpired proof could be
// replayed once more. Size the bound to at least the peak rate of accepted proofs
// per second times the acceptance window in seconds (for example 1,000/s × 60s plus
// leeway needs more than 60,000 entries), and alert when Evictions grows.
//
// A MemoryReplayStore does not protect a service with several replicas: each
// replica would accept the proof once. Use package redisreplay there.
//
// MemoryReplayStore is safe for concurrent use. Create one with
// [NewMemoryReplayStore]; the zero value is not usable and fails closed, returning
// an error matching [ErrReplayCheckUnavailable]. It holds no goroutine and needs
// no Close.
type MemoryReplayStore struct {
	now func() time.Time

	mu sync.Mutex
	// ring holds the remembered pairs in insertion order, oldest at head. A slot
	// that is not live belongs to a pair that expired and was stored again in a
	// newer slot; it is skipped when it reaches head.
	ring  []ringSlot
	head  int
	count int
	// index maps each pair to its live slot in ring.
	index map[[replaykey.Size]byte]int32

	evictions atomic.Uint64
}

// ringSlot is one remembered pair.
type ringSlot struct {
	key    [replaykey.Size]byte
	expiry int64 // Unix nanoseconds
	live   bool
}

// MemoryOption configures [NewMemoryReplayStore].
type MemoryOption interface {
	applyMemory(*memoryConfig)
}

// memoryConfig is what the options set.
type memoryConfig struct {
	maxEntries int
	now        func() time.Time
}

type memoryOptionFunc func(*memoryConfig)

func (f memoryOptionFunc) applyMemory(c *memoryConfig) { f(c) }

// WithMaxEntries sets how many pairs a [MemoryReplayStore] holds at most. The
// default is 100,000. [NewMemoryReplayStore] returns [ErrInvalidConfig] when n is
// zero, negative or above [math.MaxInt32]. See [MemoryReplayStore] for how to
// size it.
func WithMaxEntries(n int) MemoryOption {
	return memoryOptionFunc(func(c *memoryConfig) { c.maxEntries = n })
}

// NewMemoryReplayStore returns an empty [MemoryReplayStore]. It returns an error
// matching [ErrInvalidConfig] when an option is out of range. Nil options are
// ignored.
func NewMemoryReplayStore(opts ...MemoryOption) (*MemoryReplayStore, error) {
	c := &memoryConfig{maxEntries: defaultMaxEntries, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o.applyMemory(c)
		}
	}
	if c.maxEntries <= 0 || c.maxEntries > maxMaxEntries {
		return nil, fmt.Errorf("%w: memory replay store max entries must be in [1, %d], got %d", ErrInvalidConfig, maxMaxEntries, c.maxEntries)
	}
	return &MemoryReplayStore{
		now:   c.now,
		ring:  make([]ringSlot, c.maxEntries),
		index: make(map[[replaykey.Size]byte]int32, c.maxEntries),
	}, nil
}

// CheckAndStore implements [ReplayStore]. It returns nil the first time (jkt, jti)
// is seen, [ErrReplayed] while an earlier record of it has not expired, and an
// error matching [ErrReplayCheckUnavailable] when ctx is already done or the store
// was not created by [NewMemoryReplayStore].
func (s *MemoryReplayStore) CheckAndStore(ctx context.Context, jkt, jti string, expiry time.Time) error {
	if s == nil || s.ring == nil {
		// Fail closed, like an unreachable store.
		return fmt.Errorf("%w: memory replay store not created by NewMemoryReplayStore", ErrReplayCheckUnavailable)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrReplayCheckUnavailable, err)
	}
	key := replaykey.Sum(jkt, jti)
	now := s.now()
	if minExpiry := now.Add(replaykey.MinTTL); expiry.Before(minExpiry) {
		expiry = minExpiry
	}
	nowNs, expNs := now.UnixNano(), expiry.UnixNano()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(nowNs)
	if i, ok := s.index[key]; ok {
		old := &s.ring[i]
		if old.expiry > nowNs {
			return ErrReplayed
		}
		// Expired but not pruned yet: retire its slot, the pair gets a new one.
		old.live = false
	}
	if s.count == len(s.ring) && s.popHead(nowNs) {
		s.evictions.Add(1)
	}
	tail := s.head + s.count
	if tail >= len(s.ring) {
		tail -= len(s.ring)
	}
	s.ring[tail] = ringSlot{key: key, expiry: expNs, live: true}
	s.index[key] = int32(tail) // len(ring) fits: NewMemoryReplayStore caps it.
	s.count++
	return nil
}

// prune drops up to maxPrunePerCall expired or retired slots from the head of
// the ring. It stops at the first live, unexpired one: expired slots behind it
// wait for a later call. s.mu must be held.
func (s *MemoryReplayStore) prune(nowNs int64) {
	for range maxPrunePerCall {
		if s.count == 0 {
			return
		}
		if head := &s.ring[s.head]; head.live && head.expiry > nowNs {
			return
		}
		s.popHead(nowNs)
	}
}

// popHead removes the oldest slot and, if it is live, its pair. It reports
// whether it removed a pair that had not expired yet. s.mu must be held and the
// ring must not be empty.
func (s *MemoryReplayStore) popHead(nowNs int64) (evictedUnexpired bool) {
	head := &s.ring[s.head]
	if head.live {
		delete(s.index, head.key)
		evictedUnexpired = head.expiry > nowNs
	}
	*head = ringSlot{}
	s.head++
	if s.head == len(s.ring) {
		s.head = 0
	}
	s.count--
	return evictedUnexpired
}

// Len returns how many pairs the store holds, at most its maximum. It can include
// expired pairs not pruned yet.
func (s *MemoryReplayStore) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.index)
}

// Evictions returns how many unexpired pairs have been dropped because the store
// was full since it was created. Each eviction reopened replay of one proof for
// the rest of its window; a growing count means the bound set with
// [WithMaxEntries] is too small for the traffic (or the store is being flooded).
// Expired pairs that are pruned are not counted.
func (s *MemoryReplayStore) Evictions() uint64 {
	if s == nil {
		return 0
	}
	return s.evictions.Load()
}
