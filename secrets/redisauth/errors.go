package redisauth

// CredentialsError is the error a [Provider] returns instead of credentials
// when it has none to give: the Source's credential expired with no
// replacement, the Source or the Provider was closed, or the credential lacks
// a field. go-redis then refuses the connection it was opening, and the
// command that needed it fails with this error.
//
// Err is the cause, matched with errors.Is: [secrets.ErrExpired] (with the
// cause of the Source's last failure, such as [secrets.ErrUnavailable]),
// [secrets.ErrClosed] or [secrets.ErrInvalidSecret]. The message names the
// Source, never a credential's value.
type CredentialsError struct {
	// Source is the name of the Source the credential comes from.
	Source string
	// Err is why there is no credential.
	Err error
}

// Error returns "redisauth: <source>: no credentials: <cause>".
func (e *CredentialsError) Error() string {
	msg := "redisauth: " + e.Source + ": no credentials"
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *CredentialsError) Unwrap() error { return e.Err }
