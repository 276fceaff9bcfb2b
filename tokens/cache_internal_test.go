package tokens

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func cacheTestSum(i int) *[sha256.Size]byte {
	s := sha256.Sum256(fmt.Appendf(nil, "token-%d", i))
	return &s
}

func TestTokenCacheIsBounded(t *testing.T) {
	c := newTokenCache(3)
	for i := range 10 {
		c.put(cacheTestSum(i), &Claims{Subject: fmt.Sprint(i)}, &PublicKey{})
		require.LessOrEqual(t, c.len(), 3, "after %d inserts", i+1)
	}
	assert.Equal(t, 3, c.len())
	for i := range 10 {
		claims, _, ok := c.get(cacheTestSum(i))
		if i < 7 {
			assert.False(t, ok, "entry %d should have been evicted first", i)
			continue
		}
		require.True(t, ok, "entry %d", i)
		assert.Equal(t, fmt.Sprint(i), claims.Subject)
	}
}

func TestTokenCacheBoundedUnderChurn(t *testing.T) {
	const max = 5
	c := newTokenCache(max)
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		s := cacheTestSum(r.IntN(40))
		switch r.IntN(3) {
		case 0:
			c.remove(s)
		default:
			c.put(s, &Claims{}, &PublicKey{})
		}
		require.LessOrEqual(t, c.len(), max)
	}
}

func TestTokenCachePutKeepsFirstEntry(t *testing.T) {
	c := newTokenCache(2)
	k1, k2 := &PublicKey{KeyID: "1"}, &PublicKey{KeyID: "2"}
	c.put(cacheTestSum(0), &Claims{Subject: "a"}, k1)
	c.put(cacheTestSum(0), &Claims{Subject: "b"}, k2)
	claims, key, ok := c.get(cacheTestSum(0))
	require.True(t, ok)
	assert.Equal(t, "a", claims.Subject)
	assert.Same(t, k1, key)
	assert.Equal(t, 1, c.len())
}

func TestTokenCacheRemove(t *testing.T) {
	c := newTokenCache(2)
	c.put(cacheTestSum(0), &Claims{}, &PublicKey{})
	c.remove(cacheTestSum(0))
	_, _, ok := c.get(cacheTestSum(0))
	assert.False(t, ok)
	c.remove(cacheTestSum(1)) // absent: no-op
	assert.Equal(t, 0, c.len())
}
