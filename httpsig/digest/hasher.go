package digest

import (
	"crypto/subtle"
	"fmt"
	"hash"
	"io"
)

// Hasher computes digests of a body written to it in pieces, so that a body is
// hashed while it is read or copied and never held twice. It implements
// [io.Writer]. The zero value is not usable; use [NewHasher]. A Hasher is not
// safe for concurrent use.
type Hasher struct {
	algs []Algorithm
	hs   []hash.Hash
	n    int64
}

// NewHasher returns a Hasher computing each of the algorithms ([SHA256] if
// none), each once. It fails with [ErrUnsupported] if an algorithm is not
// supported.
func NewHasher(algs ...Algorithm) (*Hasher, error) {
	if len(algs) == 0 {
		algs = []Algorithm{SHA256}
	}
	h := &Hasher{}
	for _, a := range algs {
		if !a.Supported() {
			return nil, fmt.Errorf("%w: %q", ErrUnsupported, sanitize(string(a)))
		}
		dup := false
		for _, b := range h.algs {
			dup = dup || a == b
		}
		if !dup {
			h.algs = append(h.algs, a)
			h.hs = append(h.hs, a.newHash())
		}
	}
	return h, nil
}

// Write hashes p with every algorithm. It never fails.
func (h *Hasher) Write(p []byte) (int, error) {
	for _, x := range h.hs {
		_, _ = x.Write(p)
	}
	h.n += int64(len(p))
	return len(p), nil
}

// Len returns the number of bytes written so far.
func (h *Hasher) Len() int64 { return h.n }

// Digests returns the digests of what has been written so far, in the order
// of the algorithms given to [NewHasher]. Writing more afterwards is allowed.
func (h *Hasher) Digests() Digests {
	out := make(Digests, len(h.hs))
	for i, x := range h.hs {
		out[i] = Digest{Algorithm: h.algs[i], Sum: x.Sum(nil)}
	}
	return out
}

// Value returns the field value of the digests of what has been written so
// far (see [Digests.Format]).
func (h *Hasher) Value() string {
	s, _ := h.Digests().Format() // cannot fail: algorithms and lengths are ours
	return s
}

// Verify checks what has been written so far against every supported
// member of want that this Hasher computes, comparing in constant time. It
// fails like [Digests.Verify], and with [ErrUnsupported] when want's supported
// members are all of algorithms this Hasher does not compute.
func (h *Hasher) Verify(want Digests) error {
	if _, err := want.preferred(); err != nil {
		return err
	}
	checked := false
	var bad Algorithm // the first algorithm whose member differs
	for i, a := range h.algs {
		var sum []byte
		for _, m := range want {
			if m.Algorithm != a {
				continue
			}
			if sum == nil {
				sum = h.hs[i].Sum(nil)
			}
			checked = true
			if subtle.ConstantTimeCompare(m.Sum, sum) != 1 && bad == "" {
				bad = a
			}
		}
	}
	switch {
	case !checked:
		return fmt.Errorf("%w: the field's algorithms were not computed", ErrUnsupported)
	case bad != "":
		return fmt.Errorf("%w (%s)", ErrMismatch, bad)
	}
	return nil
}

// Reader is an [io.Reader] that hashes what it reads from another reader, so a
// body can be consumed once and checked (or its field value sent) at the end.
// A Reader is not safe for concurrent use.
type Reader struct {
	r io.Reader
	h *Hasher
}

// NewReader returns a Reader of r computing each of the algorithms ([SHA256]
// if none). It fails with [ErrUnsupported] if an algorithm is not supported.
// To verify a received field, pass the algorithms of the parsed field:
// NewReader(body, want.Algorithms()...).
func NewReader(r io.Reader, algs ...Algorithm) (*Reader, error) {
	h, err := NewHasher(algs...)
	if err != nil {
		return nil, err
	}
	return &Reader{r: r, h: h}, nil
}

// Read reads from the underlying reader and hashes what it read.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		_, _ = r.h.Write(p[:n])
	}
	return n, err
}

// Len returns the number of bytes read so far.
func (r *Reader) Len() int64 { return r.h.Len() }

// Digests returns the digests of what has been read so far.
func (r *Reader) Digests() Digests { return r.h.Digests() }

// Value returns the field value of the digests of what has been read so far.
func (r *Reader) Value() string { return r.h.Value() }

// Verify checks what has been read so far against want, like
// [Hasher.Verify]. Call it after the underlying reader returned [io.EOF]:
// a body read in part does not match.
func (r *Reader) Verify(want Digests) error { return r.h.Verify(want) }
