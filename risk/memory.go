package risk

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// memBuckets is how many buckets a window is split into: a window counts
// the events of its last memBuckets buckets, so it spans between
// (memBuckets−1)/memBuckets of its Length and its whole Length.
const memBuckets = 16

const memShards = 16

// DefaultMemoryKeys is the default bound on the windows a [MemoryCounter] keeps.
const DefaultMemoryKeys = 1 << 16

// MemoryCounter is a [Counter] in memory, for a single replica: each
// window is split into 16 buckets, so a window of Length L counts the
// events of the last L at a resolution of L/16 (an event older than
// 15/16 L may already have left it; none older than L is counted).
//
// Memory is bounded: it keeps at most maxKeys windows (about 300 bytes
// each). When full it first drops the windows with no event in their
// length, then, if an attacker keeps it full with fresh keys, drops
// windows at random (an eighth of a shard at a time), which can only lower
// counts. Size maxKeys above the distinct customers, cards, devices and
// networks active within the longest window. It is safe for concurrent use.
type MemoryCounter struct {
	seed     maphash.Seed
	maxShard int
	shards   [memShards]memShard
}

type memShard struct {
	mu sync.Mutex
	m  map[memKey]*memEntry
}

type memKey struct {
	event  string
	key    Key
	value  string
	length time.Duration
}

type memEntry struct {
	width time.Duration // Length / memBuckets, at least 1ns
	last  int64         // the latest bucket index touched
	slots [memBuckets]struct{ idx, n int64 }
}

// NewMemoryCounter returns an empty MemoryCounter keeping at most
// maxKeys windows; 0 or less means [DefaultMemoryKeys].
func NewMemoryCounter(maxKeys int) *MemoryCounter {
	if maxKeys <= 0 {
		maxKeys = DefaultMemoryKeys
	}
	c := &MemoryCounter{seed: maphash.MakeSeed(), maxShard: max(1, maxKeys/memShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[memKey]*memEntry)
	}
	return c
}

// Count implements [Counter]. It never fails.
func (c *MemoryCounter) Count(_ context.Context, now time.Time, windows []Window) error {
	t := now.UnixNano()
	for i := range windows {
		w := &windows[i]
		if w.Value == "" || w.Length <= 0 {
			continue
		}
		k := memKey{event: w.Event, key: w.Key, value: w.Value, length: w.Length}
		s := &c.shards[maphash.String(c.seed, w.Value)%memShards]
		s.mu.Lock()
		e := s.m[k]
		if e == nil {
			if w.Add == 0 {
				s.mu.Unlock()
				w.Count = 0
				continue
			}
			if len(s.m) >= c.maxShard {
				s.evict(t, c.maxShard)
			}
			e = &memEntry{width: max(w.Length/memBuckets, 1)}
			s.m[k] = e
		}
		w.Count = e.add(t, w.Add)
		s.mu.Unlock()
	}
	return nil
}

// add adds n events at t (UnixNano) and returns the window's count.
func (e *memEntry) add(t int64, n int64) int64 {
	idx := t / int64(e.width)
	if n != 0 {
		s := &e.slots[(idx%memBuckets+memBuckets)%memBuckets]
		if s.idx != idx {
			s.idx, s.n = idx, 0
		}
		s.n += n
		e.last = max(e.last, idx)
	}
	var sum int64
	for _, s := range e.slots {
		if s.idx > idx-memBuckets && s.idx <= idx {
			sum += s.n
		}
	}
	return sum
}

// evict makes room in a full shard: expired windows first, then random ones.
func (s *memShard) evict(t int64, limit int) {
	for k, e := range s.m {
		if t/int64(e.width)-e.last >= memBuckets {
			delete(s.m, k)
		}
	}
	if len(s.m) < limit {
		return
	}
	for k := range s.m { // map order is random
		if len(s.m) <= limit-limit/8-1 {
			break
		}
		delete(s.m, k)
	}
}

// Len returns the number of windows kept, for tests and metrics.
func (c *MemoryCounter) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
