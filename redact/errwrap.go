package redact

import "fmt"

// Error is an error whose message is redacted. [errors.Is] and [errors.As]
// still reach the cause through Unwrap; the cause's own Error, printed
// directly, is not redacted.
type Error struct {
	err error
	r   *Redactor
}

// WrapError returns err wrapped in an [*Error] whose Error method redacts
// err's message, or nil when err is nil. The message is redacted each time it
// is read, so a wrapped error costs nothing until it is printed.
func (r *Redactor) WrapError(err error) error {
	if err == nil {
		return nil
	}
	return &Error{err: err, r: r}
}

// Error returns the cause's message, redacted.
func (e *Error) Error() string { return e.r.RedactString(e.err.Error()) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.err }

// Format prints the redacted message for every verb, so %+v never reaches a
// cause that prints more (a stack, a request body) through its own Format.
func (e *Error) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), e.Error())
}
