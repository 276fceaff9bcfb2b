package authz

import (
	"context"
	"crypto/sha256"
	"time"
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
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	data, err := readLimited(path, cfg.maxSize)
	if err != nil {
		return nil, err
	}
	c, err := parseCompile(path, data)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, updated: make(chan struct{}), file: path, lastHash: sha256.Sum256(data), done: make(chan struct{})}
	e.cur.Store(c)
	pollCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.stop = cancel
	go e.poll(pollCtx)
	return e, nil
}

func (e *Engine) poll(ctx context.Context) {
	defer close(e.done)
	tick := e.cfg.tick
	if tick == nil {
		t := time.NewTicker(e.cfg.interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			_ = e.Reload(ctx)
		}
	}
}

// Reload re-reads the watched file now and swaps in its policy if it
// changed and is valid. It returns nil when the file is unchanged, the
// rejection error otherwise (also kept in [Engine.LastError]), and
// [ErrClosed] after [Engine.Close]. On an Engine built by [New] it does
// nothing and returns nil.
func (e *Engine) Reload(ctx context.Context) error {
	if e.file == "" {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	data, err := readLimited(e.file, e.cfg.maxSize)
	if err != nil {
		return e.swap(ctx, nil, err)
	}
	h := sha256.Sum256(data)
	if h == e.lastHash {
		return nil
	}
	e.lastHash = h // an invalid version is reported once, not on every poll
	c, err := parseCompile(e.file, data)
	return e.swap(ctx, c, err)
}

// Close stops polling and waits for the poller to exit. It may be called
// more than once. Afterwards [Engine.Update] and [Engine.Reload] return
// [ErrClosed]; [Engine.Decide] keeps deciding with the last policy.
func (e *Engine) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	if e.stop != nil {
		e.stop()
		<-e.done
	}
	return nil
}
