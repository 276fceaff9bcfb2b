package digest

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"hash"

	"github.com/dunglas/httpsfv"
)

// Field names defined by RFC 9530.
const (
	// ContentDigest is the Content-Digest field (RFC 9530 §2): a digest of
	// the message content, as sent (after any content coding).
	ContentDigest = "Content-Digest"
	// ReprDigest is the Repr-Digest field (RFC 9530 §3): a digest of the
	// selected representation data.
	ReprDigest = "Repr-Digest"
	// WantContentDigest is the Want-Content-Digest field (RFC 9530 §4).
	WantContentDigest = "Want-Content-Digest"
	// WantReprDigest is the Want-Repr-Digest field (RFC 9530 §4).
	WantReprDigest = "Want-Repr-Digest"
)

// Bounds on a parsed field. A field beyond them is refused with [ErrMalformed]
// before it is parsed.
const (
	// MaxFieldLength is the largest total length, in bytes, of the field
	// lines of one digest field given to [Parse] or [ParseWant].
	MaxFieldLength = 4096
	// MaxMembers is the largest number of members of one digest field.
	MaxMembers = 16
)

// Algorithm is a hash algorithm key of the IANA "Hash Algorithms for HTTP
// Digest Fields" registry (RFC 9530 §7.2), such as "sha-256". Keys are
// lowercase; comparison is exact.
type Algorithm string

// The supported algorithms (RFC 9530 §7.2, status "Active").
const (
	// SHA256 is SHA-256 (RFC 6234), the default.
	SHA256 Algorithm = "sha-256"
	// SHA512 is SHA-512 (RFC 6234), the strongest supported algorithm.
	SHA512 Algorithm = "sha-512"
)

// Supported reports whether a is computed and accepted by this package:
// sha-256 or sha-512. The deprecated algorithms of the registry (md5, sha,
// unixsum, unixcksum, adler, crc32c) are not.
func (a Algorithm) Supported() bool { return a.strength() > 0 }

// Insecure reports whether a is one of the algorithms RFC 9530 §7.2 marks
// "Deprecated" (md5, sha, unixsum, unixcksum, adler, crc32c). They are never
// accepted; this only lets a caller say why.
func (a Algorithm) Insecure() bool {
	switch a {
	case "md5", "sha", "unixsum", "unixcksum", "adler", "crc32c":
		return true
	}
	return false
}

// strength orders the supported algorithms; 0 means unsupported.
func (a Algorithm) strength() int {
	switch a {
	case SHA256:
		return 1
	case SHA512:
		return 2
	}
	return 0
}

// Size returns the length in bytes of a digest made with a, or 0 when a is not
// supported.
func (a Algorithm) Size() int {
	switch a {
	case SHA256:
		return sha256.Size
	case SHA512:
		return sha512.Size
	}
	return 0
}

func (a Algorithm) newHash() hash.Hash {
	switch a {
	case SHA256:
		return sha256.New()
	case SHA512:
		return sha512.New()
	}
	return nil
}

// Digest is one member of a digest field: an algorithm and the digest value it
// gives. Sum is the raw digest (the decoded Byte Sequence), not base64.
type Digest struct {
	// Algorithm is the member's key.
	Algorithm Algorithm
	// Sum is the digest value. It is nil for a member whose algorithm is not
	// supported and whose value is not a Byte Sequence.
	Sum []byte
}

// Digests is the content of a digest field, members in field order. A Digests
// returned by [Parse] keeps the members whose algorithm is not supported, so
// that a caller can see them; [Digests.Verify] and [Digests.Preferred] ignore
// them.
type Digests []Digest

// Compute returns the digests of body with each of the algorithms, in the
// order given; with none it uses [SHA256]. It fails with [ErrUnsupported] if
// an algorithm is not supported, and never for any other reason.
func Compute(body []byte, algs ...Algorithm) (Digests, error) {
	h, err := NewHasher(algs...)
	if err != nil {
		return nil, err
	}
	_, _ = h.Write(body) // hash.Hash.Write never fails
	return h.Digests(), nil
}

// Value returns the field value of a Content-Digest or Repr-Digest of body
// with the algorithms ([SHA256] if none): Compute then Format.
func Value(body []byte, algs ...Algorithm) (string, error) {
	d, err := Compute(body, algs...)
	if err != nil {
		return "", err
	}
	return d.Format()
}

// Format serializes d as the value of a Content-Digest or Repr-Digest field
// (RFC 9530 §2, §3): a Dictionary of Byte Sequences, such as
// "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:". Every member must
// have a supported algorithm and a value of the right length, otherwise Format
// fails with [ErrUnsupported] or [ErrMalformed]; an empty d fails with
// [ErrMissing].
func (d Digests) Format() (string, error) {
	if len(d) == 0 {
		return "", ErrMissing
	}
	dict := httpsfv.NewDictionary()
	for _, m := range d {
		if !m.Algorithm.Supported() {
			return "", fmt.Errorf("%w: cannot format algorithm %q", ErrUnsupported, sanitize(string(m.Algorithm)))
		}
		if len(m.Sum) != m.Algorithm.Size() {
			return "", fmt.Errorf("%w: %s value has %d bytes, want %d", ErrMalformed, m.Algorithm, len(m.Sum), m.Algorithm.Size())
		}
		if _, dup := dict.Get(string(m.Algorithm)); dup {
			return "", fmt.Errorf("%w: %s appears twice", ErrMalformed, m.Algorithm)
		}
		dict.Add(string(m.Algorithm), httpsfv.NewItem(m.Sum))
	}
	s, err := httpsfv.Marshal(dict)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return s, nil
}

// Algorithms returns the supported algorithms of d, strongest first, each once.
func (d Digests) Algorithms() []Algorithm {
	var out []Algorithm
	for _, a := range []Algorithm{SHA512, SHA256} {
		if _, ok := d.get(a); ok {
			out = append(out, a)
		}
	}
	return out
}

// Preferred returns the member of d with the strongest supported algorithm,
// and false if d has no supported member.
func (d Digests) Preferred() (Digest, bool) {
	var best Digest
	for _, m := range d {
		if m.Algorithm.strength() > best.Algorithm.strength() && len(m.Sum) == m.Algorithm.Size() {
			best = m
		}
	}
	return best, best.Algorithm != ""
}

func (d Digests) get(a Algorithm) (Digest, bool) {
	for _, m := range d {
		if m.Algorithm == a && len(m.Sum) == a.Size() {
			return m, true
		}
	}
	return Digest{}, false
}

// Verify checks body against every supported member of d, comparing in
// constant time: a field whose sha-256 and sha-512 members describe
// different bodies matches none. It fails with [ErrMissing] if d is empty,
// [ErrUnsupported] if d has no supported member (only deprecated or unknown
// ones) and [ErrMismatch] if a supported member's digest differs.
func (d Digests) Verify(body []byte) error {
	if _, err := d.preferred(); err != nil {
		return err
	}
	var sum256 *[sha256.Size]byte
	var sum512 *[sha512.Size]byte
	var bad Algorithm // the first member that differs
	for _, m := range d {
		eq := 1
		switch m.Algorithm {
		case SHA256:
			if sum256 == nil {
				s := sha256.Sum256(body)
				sum256 = &s
			}
			eq = subtle.ConstantTimeCompare(m.Sum, sum256[:])
		case SHA512:
			if sum512 == nil {
				s := sha512.Sum512(body)
				sum512 = &s
			}
			eq = subtle.ConstantTimeCompare(m.Sum, sum512[:])
		}
		if eq != 1 && bad == "" {
			bad = m.Algorithm
		}
	}
	if bad != "" {
		return fmt.Errorf("%w (%s)", ErrMismatch, bad)
	}
	return nil
}

// verifySum checks body's digest with a, a supported algorithm, against
// want in constant time. The sums are one-shot, on the stack: no hash state
// or digest is allocated.
func verifySum(a Algorithm, want, body []byte) error {
	var eq int
	switch a {
	case SHA512:
		sum := sha512.Sum512(body)
		eq = subtle.ConstantTimeCompare(want, sum[:])
	default: // SHA256, the only other supported algorithm
		sum := sha256.Sum256(body)
		eq = subtle.ConstantTimeCompare(want, sum[:])
	}
	if eq != 1 {
		return fmt.Errorf("%w (%s)", ErrMismatch, a)
	}
	return nil
}

func (d Digests) preferred() (Digest, error) {
	if len(d) == 0 {
		return Digest{}, ErrMissing
	}
	want, ok := d.Preferred()
	if !ok {
		for _, m := range d {
			if m.Algorithm.Insecure() {
				return Digest{}, fmt.Errorf("%w: deprecated algorithms are never accepted", ErrUnsupported)
			}
		}
		return Digest{}, ErrUnsupported
	}
	return want, nil
}

// Verify parses the lines of a Content-Digest or Repr-Digest field (as
// [http.Header.Values] returns them) and checks body against each of its
// supported members: [Parse] then [Digests.Verify].
func Verify(body []byte, lines ...string) error {
	var buf [64]byte
	if a, ok := parseSingle(lines, &buf); ok {
		return verifySum(a, buf[:a.Size()], body)
	}
	d, err := Parse(lines...)
	if err != nil {
		return err
	}
	return d.Verify(body)
}

// sanitize keeps at most 32 bytes of printable ASCII of s, for error messages
// that name what was refused. Algorithm keys are not secrets, but they are
// attacker input.
func sanitize(s string) string {
	const limit = 32
	b := make([]byte, 0, min(len(s), limit))
	for i := 0; i < len(s) && len(b) < limit; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b = append(b, c)
		} else {
			b = append(b, '?')
		}
	}
	return string(b)
}
