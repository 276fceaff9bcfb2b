// Package httpsig signs and verifies HTTP messages with RFC 9421 HTTP Message
// Signatures.
//
// A [Signer] adds a Signature-Input and a Signature field to a request
// ([Signer.SignRequest]) or a response ([Signer.SignResponse]); a [Verifier]
// checks one signature of a request ([Verifier.VerifyRequest]) or a response,
// the one the verifier asks for by label or tag, and refuses a signature that
// does not cover the components and parameters it requires.
//
// Algorithms (RFC 9421 §3.3): ecdsa-p256-sha256, ed25519, rsa-pss-sha512,
// rsa-v1_5-sha256 and hmac-sha256. The verifier never takes the algorithm from
// the message alone: its [KeyResolver] returns each key with its algorithm, and
// a message whose alg parameter contradicts it is refused.
//
// Each refusal matches one of the Err values of this package with [errors.Is]
// and never contains a key, a secret or a signature.
package httpsig
