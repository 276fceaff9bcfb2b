// Package fifo is a map bounded to a fixed number of entries that evicts the
// oldest insertion first: the shape of every cache in ztkit's hot paths
// (verified tokens, parsed proof keys, verified peers), where an attacker may
// control what is inserted and memory must not grow with it.
package fifo

import "sync"

// Map is a bounded map. It is safe for concurrent use; create it with [New].
type Map[K comparable, V any] struct {
	mu    sync.RWMutex
	m     map[K]V
	order []K // ring of keys in insertion order
	head  int
	max   int
}

// New returns a map that holds at most max entries (at least one).
func New[K comparable, V any](max int) *Map[K, V] {
	max = maxInt(max, 1)
	return &Map[K, V]{m: make(map[K]V, max), order: make([]K, 0, max), max: max}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Get returns the value of k.
func (c *Map[K, V]) Get(k K) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

// Put stores v under k unless k is present, evicting the oldest entry when full.
func (c *Map[K, V]) Put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return
	}
	if len(c.order) < c.max {
		c.order = append(c.order, k)
	} else {
		delete(c.m, c.order[c.head])
		c.order[c.head] = k
		c.head = (c.head + 1) % c.max
	}
	c.m[k] = v
}

// Delete removes k. Its ring slot is reused when the ring comes round to it.
func (c *Map[K, V]) Delete(k K) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// Len returns the number of entries.
func (c *Map[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
