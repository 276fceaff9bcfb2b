package tokens

import (
	"crypto/sha256"

	"github.com/ztkit/ztkit/internal/fifo"
)

// tokenCache remembers verified tokens by the SHA-256 of their text, so that a
// token presented again (as a DPoP-bound token is, with each request) skips
// parsing and the signature check. It holds at most max entries and evicts the
// oldest first. Entries hold no token text.
type tokenCache struct {
	m *fifo.Map[[sha256.Size]byte, cacheEntry]
}

type cacheEntry struct {
	claims *Claims
	key    *PublicKey
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{m: fifo.New[[sha256.Size]byte, cacheEntry](max)}
}

func (c *tokenCache) get(sum *[sha256.Size]byte) (*Claims, *PublicKey, bool) {
	e, ok := c.m.Get(*sum)
	return e.claims, e.key, ok
}

func (c *tokenCache) put(sum *[sha256.Size]byte, claims *Claims, key *PublicKey) {
	c.m.Put(*sum, cacheEntry{claims: claims, key: key})
}

// remove drops an entry.
func (c *tokenCache) remove(sum *[sha256.Size]byte) { c.m.Delete(*sum) }

func (c *tokenCache) len() int { return c.m.Len() }
