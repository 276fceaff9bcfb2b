// Package replaykey derives the fixed-size key under which a DPoP proof is
// remembered by a replay store (RFC 9449 §11.1).
//
// Both stores, the in-memory one in tokens/dpop and the Redis one in
// tokens/dpop/redisreplay, index proofs by [Sum] so that they agree on what
// "the same proof" means and so that neither ever keeps the raw jti: a client
// can make the jti as long as it likes, the key stays 32 bytes.
package replaykey

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// Size is the length in bytes of a key returned by [Sum].
const Size = sha256.Size

// MinTTL is how long a replay store keeps a pair whose expiry is not after the
// store's clock. Such a pair is still recorded, so that a late or clock-skewed
// caller cannot make a store forget a proof by passing a past expiry.
const MinTTL = time.Second

// domain separates these keys from any other SHA-256 use. It is part of the
// stable encoding: changing it changes every key.
const domain = "ztkit/dpop/replay/v1\x00"

// chunk is the size of the stack buffer strings are copied through on their way
// into the hash, so that hashing an arbitrarily long jti never allocates.
const chunk = 128

// Sum returns SHA-256 over an unambiguous, length-prefixed encoding of jkt (the
// JWK SHA-256 thumbprint of the proof key, RFC 7638) and jti:
//
//	"ztkit/dpop/replay/v1" 0x00 || uint64be(len(jkt)) || jkt || uint64be(len(jti)) || jti
//
// Because each field carries its length, no choice of separator characters in
// either value can make two different pairs encode alike: ("a|b", "c") and
// ("a", "b|c") have different keys. The encoding is stable across releases, so
// keys written to a shared store by one version are found by the next.
//
// Sum does not allocate and is safe for concurrent use.
func Sum(jkt, jti string) [Size]byte {
	h := sha256.New()
	// Fields go through a stack buffer: converting a long string to []byte would
	// allocate, and the buffer also batches the short fields into one Write.
	var buf [chunk]byte
	n := copy(buf[:], domain)
	for _, s := range [2]string{jkt, jti} {
		if n+8 > chunk {
			_, _ = h.Write(buf[:n]) // hash.Hash.Write never returns an error.
			n = 0
		}
		binary.BigEndian.PutUint64(buf[n:], uint64(len(s)))
		n += 8
		for len(s) > 0 {
			if n == chunk {
				_, _ = h.Write(buf[:n])
				n = 0
			}
			c := copy(buf[n:], s)
			n += c
			s = s[c:]
		}
	}
	_, _ = h.Write(buf[:n])
	var out [Size]byte
	h.Sum(out[:0])
	return out
}
