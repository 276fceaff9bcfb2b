// Package digest implements the Digest Fields of RFC 9530: the
// Content-Digest and Repr-Digest fields, which carry a hash of a message's
// content or of its representation, and the Want-Content-Digest and
// Want-Repr-Digest fields, which ask for them.
//
// Only sha-256 and sha-512 are computed or accepted (RFC 9530 §5, the two
// algorithms of the registry that are not deprecated). The deprecated ones
// (md5, sha, unixsum, unixcksum, adler, crc32c) are never accepted, not even
// when they are the only member of a field: a field with no supported
// member is refused with [ErrUnsupported]. Members with an unknown
// algorithm are ignored (RFC 9530 §2 lets a recipient ignore any member).
// When a field has several supported members, each must match: a field
// whose sha-256 and sha-512 describe different bodies matches none.
//
// A digest alone proves nothing about who sent a body: anyone who can change
// the body can change the field. It becomes integrity protection when the
// field is covered by a signature (RFC 9421 §7.2.8, package httpsig), which
// is how ztkit uses it.
//
// Sending:
//
//	d, err := digest.Compute(body, digest.SHA256)
//	value, err := d.Format() // "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
//	req.Header.Set(digest.ContentDigest, value)
//
// Receiving, with the body in memory:
//
//	err := digest.Verify(body, req.Header.Values(digest.ContentDigest)...)
//
// or streaming the body through a [Reader] so that it is read once:
//
//	want, err := digest.Parse(req.Header.Values(digest.ContentDigest)...)
//	r, err := digest.NewReader(req.Body, want.Algorithms()...)
//	// ... consume r ...
//	err = r.Verify(want)
//
// Every error wraps one of the sentinels in errors.go ([ErrMissing],
// [ErrMalformed], [ErrUnsupported], [ErrMismatch]); none carries a digest
// value or any byte of the body.
package digest
