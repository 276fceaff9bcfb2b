package secrets

import "errors"

// Errors a [Source] or a [Provider] returns. Each is matched with errors.Is;
// an error from [Source.Current] may match several (an expired credential
// whose renewal failed because the backend was down matches [ErrExpired] and
// [ErrUnavailable]). No error message carries a secret value.
var (
	// ErrExpired: the credential's lease ended and no replacement could be
	// had. [Source.Current] fails closed with it until a new credential is
	// issued; the Source keeps trying in the background.
	ErrExpired = errors.New("secrets: credential expired with no replacement")

	// ErrUnavailable: the backend could not be reached or could not answer
	// (a network error, a 5xx answer, a sealed Vault). A Source retries with
	// backoff and keeps serving a credential that is still valid.
	ErrUnavailable = errors.New("secrets: backend unavailable")

	// ErrRefused: the backend answered and refused (permission denied, an
	// unknown or revoked lease, a login it does not accept). A Source does not
	// retry a refused renewal: it issues a new credential instead.
	ErrRefused = errors.New("secrets: refused by the backend")

	// ErrNotRenewable: the credential cannot be renewed; a Source issues a
	// new one before the old one expires.
	ErrNotRenewable = errors.New("secrets: credential is not renewable")

	// ErrInvalidSecret: a provider returned no secret, or one that expires
	// before it is issued.
	ErrInvalidSecret = errors.New("secrets: invalid secret")

	// ErrClosed: the Source was closed.
	ErrClosed = errors.New("secrets: source closed")

	// ErrInvalidConfig: a constructor was given an unusable argument.
	ErrInvalidConfig = errors.New("secrets: invalid configuration")
)
