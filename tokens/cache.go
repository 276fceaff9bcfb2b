package tokens

import (
	"crypto/sha256"
	"sync"
)

// tokenCache remembers verified tokens by the SHA-256 of their text, so that a
// token presented again (as a DPoP-bound token is, with each request) skips
// parsing and the signature check. It holds at most max entries and evicts the
// oldest first. Entries hold no token text.
type tokenCache struct {
	mu      sync.RWMutex
	entries map[[sha256.Size]byte]cacheEntry
	order   [][sha256.Size]byte // ring of keys in insertion order
	head    int
	max     int
}

type cacheEntry struct {
	claims *Claims
	key    *PublicKey
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{entries: make(map[[sha256.Size]byte]cacheEntry, max), order: make([][sha256.Size]byte, 0, max), max: max}
}

func (c *tokenCache) get(sum *[sha256.Size]byte) (*Claims, *PublicKey, bool) {
	c.mu.RLock()
	e, ok := c.entries[*sum]
	c.mu.RUnlock()
	return e.claims, e.key, ok
}

func (c *tokenCache) put(sum *[sha256.Size]byte, claims *Claims, key *PublicKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[*sum]; ok {
		return
	}
	if len(c.order) < c.max {
		c.order = append(c.order, *sum)
	} else {
		delete(c.entries, c.order[c.head])
		c.order[c.head] = *sum
		c.head = (c.head + 1) % c.max
	}
	c.entries[*sum] = cacheEntry{claims: claims, key: key}
}

// remove drops an entry; its ring slot is reused when it comes round.
func (c *tokenCache) remove(sum *[sha256.Size]byte) {
	c.mu.Lock()
	delete(c.entries, *sum)
	c.mu.Unlock()
}

func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
