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
// error message must never carry a secret value. Issue and Renew must return
// soon after ctx is done: a Source sets its deadline at the current
// credential's expiry, so that a backend that does not answer cannot keep
// [Source.Current] from failing closed on time.
type Provider interface {
	// Issue returns a new credential.
	Issue(ctx context.Context) (*Secret, error)
	// Renew extends s's lease and returns s with the new lease. It returns an
	// error matching [ErrNotRenewable] when s cannot be renewed.
	Renew(ctx context.Context, s *Secret) (*Secret, error)
}

// Invalidator is implemented by a [Provider] whose credentials can all stop
// being valid before their leases end, when something they depend on is
// replaced. Vault revokes a dynamic credential with the token that issued it:
// the lease providers of a secrets/vault Client report each new login, so
// that their credentials are replaced while the old token still lives.
//
// A [Source] whose provider implements Invalidator takes the channel before
// each issue and, when it is closed, issues a new credential at once (and
// calls its OnRotate functions), retrying with backoff while that fails.
type Invalidator interface {
	// Invalidated returns a channel that is closed once the credentials
	// issued before the call stop being valid, or will before their leases
	// end. It must be safe to call concurrently with Issue and Renew.
	Invalidated() <-chan struct{}
}
