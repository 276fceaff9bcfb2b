package httpsig

import (
	"fmt"

	"github.com/ztkit/ztkit/httpsig/digest"
)

// checkContentDigest checks body against the Content-Digest field lines with
// package digest (RFC 9530): sha-256 and sha-512 only, the strongest member
// checked, in constant time. Every failure matches ErrDigestMismatch.
func checkContentDigest(field []string, body []byte) error {
	if err := digest.Verify(body, field...); err != nil {
		return fmt.Errorf("%w: %w", ErrDigestMismatch, err)
	}
	return nil
}
