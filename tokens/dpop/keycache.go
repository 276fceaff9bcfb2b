package dpop

import (
	"crypto/sha256"

	"github.com/ztkit/ztkit/internal/fifo"
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
	m *fifo.Map[[sha256.Size]byte, *jose.JWK]
}

func newKeyCache(max int) *keyCache {
	return &keyCache{m: fifo.New[[sha256.Size]byte, *jose.JWK](max)}
}

// parse returns the public JWK in v, parsing it on first sight.
func (c *keyCache) parse(v jsonscan.Value) (*jose.JWK, error) {
	sum := sha256.Sum256(v.Raw)
	if k, ok := c.m.Get(sum); ok {
		return k, nil
	}
	k, err := jose.ParseJWKValue(v, false)
	if err != nil {
		return nil, err
	}
	c.m.Put(sum, k)
	return k, nil
}
