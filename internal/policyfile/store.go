package policyfile

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"
)

// Config says how a [Store] reads, compiles and reports its policy.
type Config[T any] struct {
	// Read returns the file's bytes, bounded in size; its errors are the
	// caller's (prefixed with its package name).
	Read func(path string) ([]byte, error)
	// Compile parses and compiles a file's bytes; path is for errors only.
	Compile func(path string, data []byte) (*T, error)
	// Report is called after every attempt to install a policy that changed
	// something (not after Close): v is the new policy and err nil, or v nil
	// and err the rejection. It logs and tells observers. May be nil.
	Report func(ctx context.Context, v *T, err error)
	// Closed is the error returned by Update and Reload after Close.
	Closed error
	// Interval is the poll period of a watched file; Tick, when set,
	// replaces the ticker (tests).
	Interval time.Duration
	Tick     <-chan time.Time
}

// Store holds the current policy: loads are one atomic read; updates swap
// atomically and keep the old policy when the new one is rejected. It is
// safe for concurrent use. Build it with [New] or [Watch].
type Store[T any] struct {
	cur atomic.Pointer[T]
	cfg Config[T]

	failures atomic.Uint64

	mu      sync.Mutex
	updated chan struct{}
	lastErr error
	closed  bool

	// Set by Watch.
	file     string
	lastHash [32]byte
	reloadMu sync.Mutex
	stop     context.CancelFunc
	done     chan struct{}
}

// New returns a Store holding v, which must not be nil.
func New[T any](v *T, cfg Config[T]) *Store[T] {
	s := &Store[T]{cfg: cfg, updated: make(chan struct{})}
	s.cur.Store(v)
	return s
}

// Watch reads and compiles the file at path and returns a Store that polls
// it every cfg.Interval, swapping in each new valid version. The file is
// re-read and hashed on each poll, so an edit is noticed even when size and
// mtime do not change; atomic renames, symlink swaps (Kubernetes
// ConfigMaps) and in-place writes all work. The first load's error is
// returned as is. ctx bounds only the first load.
func Watch[T any](ctx context.Context, path string, cfg Config[T]) (*Store[T], error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := cfg.Read(path)
	if err != nil {
		return nil, err
	}
	v, err := cfg.Compile(path, data)
	if err != nil {
		return nil, err
	}
	s := New(v, cfg)
	s.file, s.lastHash, s.done = path, sha256.Sum256(data), make(chan struct{})
	pollCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = cancel
	go s.poll(pollCtx)
	return s, nil
}

// Load returns the current policy.
func (s *Store[T]) Load() *T { return s.cur.Load() }

// File returns the watched file's path, or "" for a Store built by New.
func (s *Store[T]) File() string { return s.file }

func (s *Store[T]) poll(ctx context.Context) {
	defer close(s.done)
	tick := s.cfg.Tick
	if tick == nil {
		t := time.NewTicker(s.cfg.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			_ = s.Reload(ctx)
		}
	}
}

// Update installs v, or records err when it is not nil (v is then
// ignored), and reports the outcome. It returns err, or cfg.Closed after
// Close.
func (s *Store[T]) Update(ctx context.Context, v *T, err error) error {
	err = s.install(v, err)
	if s.cfg.Report != nil && (s.cfg.Closed == nil || err != s.cfg.Closed) { //nolint:errorlint // our own sentinel, unwrapped
		if err != nil {
			v = nil
		}
		s.cfg.Report(ctx, v, err)
	}
	return err
}

func (s *Store[T]) install(v *T, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.cfg.Closed
	}
	if err != nil {
		s.failures.Add(1)
		s.lastErr = err
		return err
	}
	s.cur.Store(v)
	s.lastErr = nil
	close(s.updated)
	s.updated = make(chan struct{})
	return nil
}

// Reload re-reads the watched file now and swaps in its policy if it
// changed and is valid. It returns nil when the file is unchanged, the
// rejection error otherwise (also kept for LastError), and cfg.Closed after
// Close. On a Store built by New it does nothing and returns nil.
func (s *Store[T]) Reload(ctx context.Context) error {
	if s.file == "" {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	data, err := s.cfg.Read(s.file)
	if err != nil {
		return s.Update(ctx, nil, err)
	}
	h := sha256.Sum256(data)
	if h == s.lastHash {
		return nil
	}
	s.lastHash = h // an invalid version is reported once, not on every poll
	v, err := s.cfg.Compile(s.file, data)
	return s.Update(ctx, v, err)
}

// LastError returns the error of the last rejected policy, or nil when the
// last update or reload succeeded.
func (s *Store[T]) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// ReloadFailures counts the policies rejected since the Store was built.
func (s *Store[T]) ReloadFailures() uint64 { return s.failures.Load() }

// Updated returns a channel closed at the next successful swap.
func (s *Store[T]) Updated() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updated
}

// WaitUntilUpdated blocks until the next successful swap or until ctx is
// done, returning ctx's error.
func (s *Store[T]) WaitUntilUpdated(ctx context.Context) error {
	select {
	case <-s.Updated():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops polling and waits for the poller to exit. It may be called
// more than once. Afterwards Update and Reload return cfg.Closed; Load
// keeps returning the last policy.
func (s *Store[T]) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	return nil
}
