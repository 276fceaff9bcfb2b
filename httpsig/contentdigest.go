package httpsig

import (
	"errors"
	"fmt"

	"github.com/ztkit/ztkit/httpsig/digest"
)

// checkContentDigest checks body against the Content-Digest field lines with
// package digest (RFC 9530): sha-256 and sha-512 only, every such member
// checked, in constant time. Only a digest that does not match the body is a
// forgery, ErrDigestMismatch; a field that is missing, malformed or names no
// supported algorithm (digest.ErrMissing, digest.ErrMalformed,
// digest.ErrUnsupported) is ErrMalformed: the signer's fault, not an attack
// (the signature over the field has verified by then).
func checkContentDigest(field []string, body []byte) error {
	err := digest.Verify(body, field...)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, digest.ErrMismatch):
		return fmt.Errorf("%w: %w", ErrDigestMismatch, err)
	default:
		return fmt.Errorf("%w: content-digest: %w", ErrMalformed, err)
	}
}

// coversCheckedDigest reports whether a Content-Digest member key names an
// algorithm checkContentDigest compares with the body.
func coversCheckedDigest(key string) bool { return digest.Algorithm(key).Supported() }
