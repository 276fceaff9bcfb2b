package httpsig

import "errors"

// Errors returned when a message is refused or cannot be signed. Each names the
// check that failed and never a key, a secret or a signature value. Match them
// with [errors.Is]; a returned error may wrap one of them with more detail.
var (
	// ErrMissing: the message has no signature, or none with the label or tag
	// the verifier requires.
	ErrMissing = errors.New("httpsig: signature missing")
	// ErrMalformed: Signature-Input, Signature or a signature parameter cannot
	// be parsed (RFC 8941, RFC 9421 §4), a component is repeated or unknown, a
	// label of Signature-Input has no Signature, or a limit is exceeded; also
	// a covered Content-Digest that is malformed or names no supported
	// algorithm, and a body that cannot be read (the client went away) or is
	// longer than the verifier reads: a message that cannot be checked, not
	// a forgery.
	ErrMalformed = errors.New("httpsig: signature malformed")
	// ErrInvalid: the signature does not verify. Deliberately generic.
	ErrInvalid = errors.New("httpsig: invalid signature")
	// ErrExpired: the expires parameter has passed, created is older than the
	// verifier's maximum age, or created is in the future beyond the leeway.
	ErrExpired = errors.New("httpsig: signature expired")
	// ErrReplayed: the signature's nonce has been seen before.
	ErrReplayed = errors.New("httpsig: signature replayed")
	// ErrUnknownKey: no key has the signature's keyid, or the signature's alg
	// contradicts the algorithm of the key.
	ErrUnknownKey = errors.New("httpsig: unknown key")
	// ErrDigestMismatch: the Content-Digest the signature covers does not match
	// the body (RFC 9530): a forgery, or a body altered in transit.
	ErrDigestMismatch = errors.New("httpsig: content digest mismatch")
	// ErrInsufficient: the signature does not cover a component or carry a
	// parameter the verifier requires.
	ErrInsufficient = errors.New("httpsig: signature covers too little")
	// ErrUnavailable: the key source or the replay store cannot answer.
	ErrUnavailable = errors.New("httpsig: verification unavailable")
)

// ErrInvalidConfig: a constructor was given options that would turn a check
// off or cannot work.
var ErrInvalidConfig = errors.New("httpsig: invalid configuration")
