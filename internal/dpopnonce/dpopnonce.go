// Package dpopnonce is a DPoP client's memory of server nonces (RFC 9449 §8,
// §9): the latest valid DPoP-Nonce each server gave it, and the one rule
// every client transport follows to decide whether a refused request is
// retried with a new nonce. dpop.Transport (HTTP) and package
// tokens/dpop/dpopgrpc (gRPC) both keep their nonces in a [Book], so that
// the two transports agree on which nonces are kept and when a retry is due.
package dpopnonce

import (
	"strings"
	"sync"
)

// MaxLen bounds the length of a nonce a client keeps; a longer value is
// ignored.
const MaxLen = 1024

// Book holds the latest nonce of each origin ("https://host[:port]", the
// scheme and authority of a proof's htu). Origins are compared without
// regard to case. The zero value is empty and ready to use; a Book is safe
// for concurrent use and must not be copied after first use.
type Book struct {
	m sync.Map // lower-cased origin → nonce
}

// Get returns the nonce to put in the next proof for origin, "" when none is
// known.
func (b *Book) Get(origin string) string {
	if v, ok := b.m.Load(strings.ToLower(origin)); ok {
		return v.(string)
	}
	return ""
}

// Update records got, the DPoP-Nonce a response from origin carried ("" for
// none), when it is a valid nonce (RFC 9449 §8), so that the proofs that
// follow carry it. It returns the nonce to retry a refused request with:
// got, when it is valid and differs from sent, the nonce the refused
// request's proof carried; "" otherwise, which rules out a retry. A retry is
// due only when the response was also a use_dpop_nonce challenge, which the
// transport checks; a client retries at most once.
func (b *Book) Update(origin, sent, got string) (retry string) {
	if !Valid(got) {
		return ""
	}
	b.m.Store(strings.ToLower(origin), got)
	if got == sent {
		return ""
	}
	return got
}

// Valid reports whether s is a nonce of RFC 9449 §8, nonce = 1*NQCHAR with
// NQCHAR = %x21 / %x23-5B / %x5D-7E, of at most [MaxLen] bytes.
func Valid(s string) bool {
	if len(s) == 0 || len(s) > MaxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
