package secrets

import "context"

// Provider issues and renews one kind of credential: a Vault login, a KV
// path, a dynamic lease, or an in-process value ([Static], [Memory]). A
// [Source] calls it from one goroutine at a time; implementations used by
// more than one Source must be safe for concurrent use.
//
// Errors should match [ErrUnavailable] when the backend could not answer (the
// Source retries with backoff) and [ErrRefused] or [ErrNotRenewable] when it
// answered no (the Source issues a new credential instead of retrying). An
// error message must never carry a secret value.
type Provider interface {
	// Issue returns a new credential.
	Issue(ctx context.Context) (*Secret, error)
	// Renew extends s's lease and returns s with the new lease. It returns an
	// error matching [ErrNotRenewable] when s cannot be renewed.
	Renew(ctx context.Context, s *Secret) (*Secret, error)
}
