package vault

import (
	"github.com/ztkit/ztkit/secrets"
)

// ConfigError reports an unusable argument given to a login constructor
// ([Cert], [JWT], [AppRole]). It matches [secrets.ErrInvalidConfig] with errors.Is; use
// errors.As for the argument's name. Its message names the argument and the
// problem, never a value that could be secret.
type ConfigError struct {
	// Func is the constructor, such as "Cert".
	Func string
	// Arg names the argument, such as "role" or "source".
	Arg string
	// Reason says what is wrong with it, such as "is empty".
	Reason string
}

// Error returns "vault: <Func>: <Arg> <Reason>".
func (e *ConfigError) Error() string {
	return "vault: " + e.Func + ": " + e.Arg + " " + e.Reason
}

// Unwrap returns [secrets.ErrInvalidConfig].
func (e *ConfigError) Unwrap() error { return secrets.ErrInvalidConfig }
