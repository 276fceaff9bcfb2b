package main

import (
	"context"
	_ "embed"
	"log/slog"

	"github.com/ztkit/ztkit/risk"
)

// defaultRisk is risk.json: the risk policy of checkout's orders. go:embed
// needs a package variable; nothing writes to it.
//
//go:embed risk.json
var defaultRisk []byte

// riskFile is the risk policy of checkout's orders: the JSON file that
// risk.Watch polls, and the engine it feeds, watched and reloaded exactly as
// the authorization policy is (policyFile).
type riskFile = watchedFile[*risk.Engine]

// openRisk watches the risk policy file at path or, when path is empty, a
// copy of the embedded risk.json written to a new temporary directory. The
// engine polls it every pollInterval, counts velocity in ctr (nil: in
// memory) and logs its decisions and reloads to logger.
func openRisk(ctx context.Context, path string, ctr risk.Counter, logger *slog.Logger) (*riskFile, error) {
	return openWatched(ctx, path, "risk.json", defaultRisk, func(ctx context.Context, path string) (*risk.Engine, error) {
		return risk.Watch(ctx, path, risk.WithPollInterval(pollInterval), risk.WithCounter(ctr), risk.WithLogger(logger))
	})
}
