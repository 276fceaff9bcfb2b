package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// engine is what the shop needs of an engine that watches a policy file:
// authz.Engine and risk.Engine.
type engine interface {
	Updated() <-chan struct{}
	LastError() error
	Close() error
}

// watchedFile is a policy file that an engine polls, and that engine: an
// edit takes effect without a restart, an invalid version is rejected and
// the last good policy stays.
type watchedFile[E engine] struct {
	engine E
	// watching: engine is set (E is a pointer type, nil until then).
	watching bool
	path     string
	// text is what the shop wrote to path (its embedded policy); nil for a
	// file named on the command line, which the shop never writes to.
	text []byte
	// dir is the temporary directory that holds path, removed by Close; ""
	// for a file named on the command line.
	dir string
}

// openWatched has watch poll the file at path or, when path is empty, a copy
// of text written as name to a new temporary directory.
func openWatched[E engine](ctx context.Context, path, name string, text []byte, watch func(ctx context.Context, path string) (E, error)) (_ *watchedFile[E], err error) {
	if path != "" {
		e, err := watch(ctx, path)
		if err != nil {
			return nil, err
		}
		return &watchedFile[E]{engine: e, watching: true, path: path}, nil
	}
	dir, err := os.MkdirTemp("", "shop-"+name+"-")
	if err != nil {
		return nil, err
	}
	wf := &watchedFile[E]{path: filepath.Join(dir, name), dir: dir, text: text}
	defer func() {
		if err != nil {
			err = errors.Join(err, wf.Close())
		}
	}()
	if err := wf.write(wf.text); err != nil {
		return nil, err
	}
	if wf.engine, err = watch(ctx, wf.path); err != nil {
		return nil, err
	}
	wf.watching = true
	return wf, nil
}

// write replaces the file atomically (writeFile).
func (wf *watchedFile[E]) write(text []byte) error { return writeFile(wf.path, text) }

// writeFile replaces the file at path atomically: a new file renamed over
// the old, so a watching engine never reads half of one.
func writeFile(path string, text []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".edit-*.json")
	if err != nil {
		return err
	}
	_, err = f.Write(text)
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}

// swap writes text and waits for the engine to load it.
func (wf *watchedFile[E]) swap(ctx context.Context, text []byte) error {
	// Take the channel before writing: a swap between the write and a call
	// to WaitUntilUpdated would be missed.
	updated := wf.engine.Updated()
	if err := wf.write(text); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case <-updated:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the engine did not load the new %s: %w (last error: %v)", filepath.Base(wf.path), ctx.Err(), wf.engine.LastError())
	}
}

// Close stops watching and removes the temporary copy, if any.
func (wf *watchedFile[E]) Close() error {
	var err error
	if wf.watching {
		err = wf.engine.Close()
	}
	if wf.dir != "" {
		err = errors.Join(err, os.RemoveAll(wf.dir))
	}
	return err
}
