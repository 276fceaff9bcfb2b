package dpop

import (
	"crypto/sha256"
	"sync"

	"github.com/ztkit/ztkit/internal/jose"
	"github.com/ztkit/ztkit/internal/jsonscan"
)

// defaultKeyCacheSize bounds the parsed proof keys a Verifier remembers.
const defaultKeyCacheSize = 1024

// keyCache remembers parsed proof keys by the SHA-256 of their JSON text. A
// client signs every proof with the same key, so a resource server parses each
// client's key once instead of on every request (parsing checks the point is
// on the curve and computes the thumbprint). Only keys that parsed are kept;
// the cache is bounded and evicts the oldest entry, so a flood of new keys
// costs no memory, only the parsing it would have cost anyway.
type keyCache struct {
	mu    sync.RWMutex
	m     map[[sha256.Size]byte]*jose.JWK
	order [][sha256.Size]byte
	head  int
	max   int
}

func newKeyCache(max int) *keyCache {
	return &keyCache{m: make(map[[sha256.Size]byte]*jose.JWK, max), order: make([][sha256.Size]byte, 0, max), max: max}
}

// parse returns the public JWK in v, parsing it on first sight.
func (c *keyCache) parse(v jsonscan.Value) (*jose.JWK, error) {
	sum := sha256.Sum256(v.Raw)
	c.mu.RLock()
	k, ok := c.m[sum]
	c.mu.RUnlock()
	if ok {
		return k, nil
	}
	k, err := jose.ParseJWKValue(v, false)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[sum]; ok {
		return k, nil
	}
	if len(c.order) < c.max {
		c.order = append(c.order, sum)
	} else {
		delete(c.m, c.order[c.head])
		c.order[c.head] = sum
		c.head = (c.head + 1) % c.max
	}
	c.m[sum] = k
	return k, nil
}
