package redact

import "errors"

var (
	// ErrInvalidOption reports an option value out of its range.
	ErrInvalidOption = errors.New("redact: invalid option")
	// ErrUnknownKind reports a kind that no built-in or configured detector has.
	ErrUnknownKind = errors.New("redact: unknown kind")
	// ErrInvalidKind reports a custom kind name outside [a-z0-9_-]{1,32}, or one
	// that a built-in detector or another custom detector already uses.
	ErrInvalidKind = errors.New("redact: invalid kind")
	// ErrUnsupportedMode reports [ModeTruncate] for a kind that has no standard
	// truncation.
	ErrUnsupportedMode = errors.New("redact: mode not supported for kind")
	// ErrNoKey reports [ModeToken] without a [Key].
	ErrNoKey = errors.New("redact: token mode needs a key")
	// ErrShortKey reports a [Key] shorter than [MinKeySize] bytes.
	ErrShortKey = errors.New("redact: key too short")
	// ErrNilArgument reports a nil writer, handler or redactor given to a
	// constructor.
	ErrNilArgument = errors.New("redact: nil argument")
	// ErrClosed reports a write to a closed [Writer].
	ErrClosed = errors.New("redact: writer closed")
)
