package authz

import (
	"context"

	"github.com/ztkit/ztkit/internal/policyfile"
)

// Watch loads the JSON policy file at path and returns an Engine that polls
// the file every [WithPollInterval] (default 5s), swapping in each new valid
// version atomically. The file is re-read and hashed on each poll, so an
// edit is noticed even when size and mtime do not change; no file-system
// notification is needed, and atomic renames, symlink swaps (Kubernetes
// ConfigMaps) and in-place writes all work.
//
// Watch blocks until the first load; if that fails it returns the error and
// no Engine. Later invalid versions are rejected: the engine keeps the last
// good policy, logs the error and records it in [Engine.LastError] and
// [Engine.ReloadFailures]. Call [Engine.Close] to stop polling; ctx bounds
// only the first load.
func Watch(ctx context.Context, path string, opts ...Option) (*Engine, error) {
	e := &Engine{cfg: newConfig(opts)}
	s, err := policyfile.Watch(ctx, path, e.storeConfig())
	if err != nil {
		return nil, err
	}
	e.store = s
	return e, nil
}

// Reload re-reads the watched file now and swaps in its policy if it
// changed and is valid. It returns nil when the file is unchanged, the
// rejection error otherwise (also kept in [Engine.LastError]), and
// [ErrClosed] after [Engine.Close]. On an Engine built by [New] it does
// nothing and returns nil.
func (e *Engine) Reload(ctx context.Context) error { return e.store.Reload(ctx) }

// Close stops polling and waits for the poller to exit. It may be called
// more than once. Afterwards [Engine.Update] and [Engine.Reload] return
// [ErrClosed]; [Engine.Decide] keeps deciding with the last policy.
func (e *Engine) Close() error { return e.store.Close() }
