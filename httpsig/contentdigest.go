package httpsig

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"

	"github.com/dunglas/httpsfv"
)

// checkContentDigest checks body against the Content-Digest field (RFC 9530
// §2): every sha-256 and sha-512 member must match it, and there must be at
// least one; other algorithms are ignored.
func checkContentDigest(field []string, body []byte) error {
	if len(field) == 0 {
		return fmt.Errorf("%w: no Content-Digest", ErrDigestMismatch)
	}
	if fieldSize(field) > maxFieldSize {
		return fmt.Errorf("%w: Content-Digest too large", ErrDigestMismatch)
	}
	d, err := httpsfv.UnmarshalDictionary(field)
	if err != nil {
		return fmt.Errorf("%w: Content-Digest is not an RFC 8941 dictionary", ErrDigestMismatch)
	}
	known := 0
	for _, alg := range d.Names() {
		var sum []byte
		switch alg {
		case "sha-256":
			s := sha256.Sum256(body)
			sum = s[:]
		case "sha-512":
			s := sha512.Sum512(body)
			sum = s[:]
		default:
			continue
		}
		m, _ := d.Get(alg)
		it, ok := m.(httpsfv.Item)
		if !ok {
			return fmt.Errorf("%w: Content-Digest member is not a byte sequence", ErrDigestMismatch)
		}
		got, ok := it.Value.([]byte)
		if !ok || subtle.ConstantTimeCompare(got, sum) != 1 {
			return ErrDigestMismatch
		}
		known++
	}
	if known == 0 {
		return fmt.Errorf("%w: no sha-256 or sha-512 Content-Digest", ErrDigestMismatch)
	}
	return nil
}
