package replaydefer_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/replaydefer"
)

var errReplayed = errors.New("replayed")

// check is a replay check whose Run answers with verdict and counts calls.
type check struct {
	client  any
	verdict error
	runs    atomic.Int32
}

func (c *check) Client() any                             { return c.client }
func (c *check) Timeout() time.Duration                  { return time.Second }
func (c *check) Queue(context.Context, any) func() error { return func() error { return c.verdict } }
func (c *check) Run(context.Context) error               { c.runs.Add(1); return c.verdict }

func TestWithoutCollector(t *testing.T) {
	c := replaydefer.FromContext(t.Context())
	assert.Nil(t, c)
	assert.False(t, c.Defer(&check{}), "nothing defers without a collector")
	assert.Nil(t, c.Take("client"))
	c.Settle(nil)
	assert.NoError(t, c.Resolve(t.Context()))
}

func TestResolveRunsPendingCheck(t *testing.T) {
	ctx, c := replaydefer.NewContext(t.Context())
	require.Same(t, c, replaydefer.FromContext(ctx))
	chk := &check{client: "a", verdict: errReplayed}
	require.True(t, c.Defer(chk))
	assert.False(t, c.Defer(&check{}), "one check per collector")
	assert.Nil(t, c.Take("b"), "a pipeline of another client does not take it")
	assert.ErrorIs(t, c.Resolve(ctx), errReplayed)
	assert.ErrorIs(t, c.Resolve(ctx), errReplayed, "the verdict stays")
	assert.Equal(t, int32(1), chk.runs.Load())
	assert.Nil(t, c.Take("a"), "settled: nothing to take")
}

func TestResolveAfterPipeline(t *testing.T) {
	ctx, c := replaydefer.NewContext(t.Context())
	chk := &check{client: "a"}
	require.True(t, c.Defer(chk))
	taken := c.Take("a")
	require.NotNil(t, taken)
	assert.Nil(t, c.Take("a"), "taken once")
	c.Settle(errReplayed)
	c.Settle(nil) // changes nothing
	assert.ErrorIs(t, c.Resolve(ctx), errReplayed)
	assert.Zero(t, chk.runs.Load(), "not sent again")
}

func TestResolveWaitsForPipeline(t *testing.T) {
	ctx, c := replaydefer.NewContext(t.Context())
	require.True(t, c.Defer(&check{client: "a"}))
	require.NotNil(t, c.Take("a"))
	go func() {
		time.Sleep(10 * time.Millisecond)
		c.Settle(errReplayed)
	}()
	assert.ErrorIs(t, c.Resolve(ctx), errReplayed)

	ctx, c = replaydefer.NewContext(t.Context())
	require.True(t, c.Defer(&check{client: "a"}))
	require.NotNil(t, c.Take("a"))
	done, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, c.Resolve(done), replaydefer.ErrNotRun, "never settled: never an allow")
}

func TestNothingDefersAfterResolve(t *testing.T) {
	ctx, c := replaydefer.NewContext(t.Context())
	assert.NoError(t, c.Resolve(ctx))
	assert.False(t, c.Defer(&check{}), "a check asked for after the verdict runs on its own")
}

// TestTakeNonComparableClient: a client Go cannot compare never panics
// Take, and is never taken: Resolve runs the check alone.
func TestTakeNonComparableClient(t *testing.T) {
	type client struct{ tags []string }
	ctx, c := replaydefer.NewContext(t.Context())
	chk := &check{client: client{tags: []string{"a"}}, verdict: errReplayed}
	require.True(t, c.Defer(chk))
	require.NotPanics(t, func() { assert.Nil(t, c.Take(client{tags: []string{"a"}})) })
	require.NotPanics(t, func() { assert.Nil(t, c.Take(nil)) })
	assert.ErrorIs(t, c.Resolve(ctx), errReplayed)
	assert.Equal(t, int32(1), chk.runs.Load())
}

// TestSeal: a sealed collector takes no new check, and keeps the one it
// holds.
func TestSeal(t *testing.T) {
	var nilCol *replaydefer.Collector
	nilCol.Seal()
	ctx, c := replaydefer.NewContext(t.Context())
	c.Seal()
	assert.False(t, c.Defer(&check{client: "a"}), "sealed: checked by its verifier")
	assert.NoError(t, c.Resolve(ctx))

	ctx, c = replaydefer.NewContext(t.Context())
	chk := &check{client: "a", verdict: errReplayed}
	require.True(t, c.Defer(chk))
	c.Seal()
	assert.False(t, c.Defer(&check{client: "a"}))
	require.NotNil(t, c.Take("a"), "the deferred check is still taken")
	c.Settle(errReplayed)
	assert.ErrorIs(t, c.Resolve(ctx), errReplayed)
}
