package digest

import "errors"

// Errors returned by this package. Each names the check that failed and never
// a digest value or a byte of the body. Match them with [errors.Is]; a returned
// error may wrap one of them with more detail.
var (
	// ErrMissing: the message has no digest field (no field line, or only
	// empty ones).
	ErrMissing = errors.New("digest: no digest field")
	// ErrMalformed: the field is not a Structured Fields Dictionary (RFC 8941
	// §3.2), a member's value is not a Byte Sequence (RFC 9530 §2, §3), a
	// supported algorithm's value has the wrong length, a Want- field's weight
	// is not an Integer from 0 to 10 (RFC 9530 §4), or the field exceeds
	// [MaxFieldLength] or [MaxMembers].
	ErrMalformed = errors.New("digest: malformed digest field")
	// ErrUnsupported: the field has no member with a supported algorithm
	// (sha-256, sha-512), for instance only deprecated ones such as md5 or
	// sha; or an algorithm asked of [Compute] or [NewHasher] is not supported.
	ErrUnsupported = errors.New("digest: no supported digest algorithm")
	// ErrMismatch: the digest in the field does not match the body. A signed
	// message whose digest does not match its body is a forgery, or was
	// altered in transit.
	ErrMismatch = errors.New("digest: digest does not match the content")
)
