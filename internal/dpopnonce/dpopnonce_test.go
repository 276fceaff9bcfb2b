package dpopnonce_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ztkit/ztkit/internal/dpopnonce"
)

// TestValid: RFC 9449 §8 NQCHAR, non-empty, bounded.
func TestValid(t *testing.T) {
	cases := []struct {
		name  string
		nonce string
		want  bool
	}{
		{"RFC 9449 §8 example", "eyJ7S_zG.eyJH0-Z.HX4w-7v", true},
		{"every NQCHAR", "!#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~", true},
		{"longest", strings.Repeat("n", dpopnonce.MaxLen), true},
		{"empty", "", false},
		{"too long", strings.Repeat("n", dpopnonce.MaxLen+1), false},
		{"space", "a b", false},
		{"quote", `a"b`, false},
		{"backslash", `a\b`, false},
		{"control", "a\nb", false},
		{"DEL", "a\x7fb", false},
		{"non-ASCII", "nonc\u00e9", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, dpopnonce.Valid(tc.nonce))
		})
	}
}

// TestBookUpdate: a valid nonce is kept per origin and is a retry nonce only
// when it differs from the one the refused proof carried; an invalid one
// changes nothing.
func TestBookUpdate(t *testing.T) {
	var b dpopnonce.Book
	const o = "https://payments.shop.example"
	assert.Empty(t, b.Get(o))

	assert.Equal(t, "n1", b.Update(o, "", "n1"), "first nonce: retry with it")
	assert.Equal(t, "n1", b.Get(o))
	assert.Equal(t, "n1", b.Get("HTTPS://Payments.Shop.Example"), "origins compare without case")
	assert.Empty(t, b.Get("https://other.shop.example"), "nonces are per origin")

	assert.Empty(t, b.Update(o, "n1", "n1"), "same nonce refused again: no retry, no loop")
	assert.Empty(t, b.Update(o, "n1", ""), "no nonce: no retry")
	assert.Equal(t, "n1", b.Get(o), "a response without a nonce keeps the last one")
	assert.Empty(t, b.Update(o, "n1", `bad "nonce"`), "invalid nonce: no retry")
	assert.Equal(t, "n1", b.Get(o), "an invalid nonce is never kept")

	assert.Equal(t, "n2", b.Update(o, "n1", "n2"), "rotated nonce: retry with it")
	assert.Equal(t, "n2", b.Get(o))
}

// TestBookConcurrent: a Book is safe for concurrent use (run with -race).
func TestBookConcurrent(t *testing.T) {
	var b dpopnonce.Book
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				b.Update("https://a.example", "", string(rune('a'+i))+string(rune('a'+j%26)))
				_ = b.Get("https://a.example")
			}
		}()
	}
	wg.Wait()
	assert.True(t, dpopnonce.Valid(b.Get("https://a.example")))
}
