package fifo

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBoundAndOrder(t *testing.T) {
	m := New[int, string](3)
	for i := range 10 {
		m.Put(i, "v")
		assert.LessOrEqual(t, m.Len(), 3)
	}
	for i := range 7 {
		_, ok := m.Get(i)
		assert.False(t, ok, "oldest %d evicted", i)
	}
	for i := 7; i < 10; i++ {
		_, ok := m.Get(i)
		assert.True(t, ok, "newest %d kept", i)
	}
}

func TestPutKeepsExistingAndDelete(t *testing.T) {
	m := New[string, int](2)
	m.Put("a", 1)
	m.Put("a", 2)
	v, ok := m.Get("a")
	assert.True(t, ok)
	assert.Equal(t, 1, v)
	m.Delete("a")
	_, ok = m.Get("a")
	assert.False(t, ok)
	assert.Equal(t, 0, m.Len())
}

func TestZeroBoundHoldsOne(t *testing.T) {
	m := New[int, int](0)
	m.Put(1, 1)
	m.Put(2, 2)
	assert.Equal(t, 1, m.Len())
}

func TestConcurrent(t *testing.T) {
	m := New[int, int](64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				m.Put(g*1000+i, i)
				m.Get(i)
				if i%7 == 0 {
					m.Delete(g*1000 + i)
				}
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, m.Len(), 64)
}
