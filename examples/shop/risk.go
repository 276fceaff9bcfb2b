package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ztkit/ztkit/risk"
)

// defaultRisk is risk.json: the risk policy of checkout's orders. go:embed
// needs a package variable; nothing writes to it.
//
//go:embed risk.json
var defaultRisk []byte

// riskFile is the risk policy of checkout's orders: the JSON file that
// risk.Watch polls, and the engine it feeds. It is watched and reloaded
// exactly as the authorization policy is (policyFile): an edit takes effect
// without a restart, an invalid version is rejected and the last good
// policy stays.
type riskFile struct {
	engine *risk.Engine
	path   string
	// text is what the shop wrote to path, the embedded risk.json; nil for
	// a file named with -risk, which the shop never writes to.
	text []byte
	// dir is the temporary directory that holds path, removed by Close; ""
	// for a file named with -risk.
	dir string
}

// openRisk watches the risk policy file at path or, when path is empty, a
// copy of the embedded risk.json written to a new temporary directory. The
// engine polls it every pollInterval, counts velocity in ctr (nil: in
// memory) and logs its decisions and reloads to logger.
func openRisk(ctx context.Context, path string, ctr risk.Counter, logger *slog.Logger) (_ *riskFile, err error) {
	opts := []risk.Option{risk.WithPollInterval(pollInterval), risk.WithCounter(ctr), risk.WithLogger(logger)}
	if path != "" {
		e, err := risk.Watch(ctx, path, opts...)
		if err != nil {
			return nil, err
		}
		return &riskFile{engine: e, path: path}, nil
	}
	dir, err := os.MkdirTemp("", "shop-risk-")
	if err != nil {
		return nil, err
	}
	rf := &riskFile{path: filepath.Join(dir, "risk.json"), dir: dir, text: defaultRisk}
	defer func() {
		if err != nil {
			err = errors.Join(err, rf.Close())
		}
	}()
	if err := writeFile(rf.path, rf.text); err != nil {
		return nil, err
	}
	if rf.engine, err = risk.Watch(ctx, rf.path, opts...); err != nil {
		return nil, err
	}
	return rf, nil
}

// swap writes text to the file and waits for the engine to load it.
func (rf *riskFile) swap(ctx context.Context, text []byte) error {
	// Take the channel before writing: a swap between the write and a call
	// to WaitUntilUpdated would be missed.
	updated := rf.engine.Updated()
	if err := writeFile(rf.path, text); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case <-updated:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the risk engine did not load the new policy: %w (last error: %v)", ctx.Err(), rf.engine.LastError())
	}
}

// Close stops watching and removes the temporary copy, if any.
func (rf *riskFile) Close() error {
	var err error
	if rf.engine != nil {
		err = rf.engine.Close()
	}
	if rf.dir != "" {
		err = errors.Join(err, os.RemoveAll(rf.dir))
	}
	return err
}
