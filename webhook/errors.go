package webhook

import (
	"errors"
	"fmt"
)

// Errors of this package. Refusals of a message match the httpsig sentinels
// ([httpsig.ErrMissing], [httpsig.ErrMalformed], [httpsig.ErrInvalid],
// [httpsig.ErrExpired], [httpsig.ErrReplayed], [httpsig.ErrUnavailable]);
// the values here are for what is not a refusal.
var (
	// ErrInvalidConfig: a constructor was given an unusable argument: no key,
	// a key of the wrong kind or size, an option out of range. The message
	// names the problem, never the key.
	ErrInvalidConfig = errors.New("webhook: invalid configuration")

	// ErrUnsignable: [Signer.Sign] was given a message the scheme cannot carry
	// (an empty or overlong webhook-id, one with a '.' or a character outside
	// printable ASCII, a timestamp before 1970).
	ErrUnsignable = errors.New("webhook: message cannot be signed")

	// ErrClosed: the Verifier was closed. [Verifier.Verify] returns it wrapped
	// with [httpsig.ErrUnavailable].
	ErrClosed = errors.New("webhook: verifier closed")
)

// refusal returns an error that matches sentinel and says what failed, with the
// package prefix. what must never hold a value taken from the message or a key.
func refusal(sentinel error, what string) error {
	return fmt.Errorf("webhook: %s: %w", what, sentinel)
}

// invalidConfig returns an error matching ErrInvalidConfig.
func invalidConfig(what string) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, what)
}
