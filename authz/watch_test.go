package authz_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ztkit/ztkit/authz"
)

func writePolicy(t testing.TB, dir, doc string) string {
	t.Helper()
	path := filepath.Join(dir, "policy.json")
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(doc), 0o600))
	require.NoError(t, os.Rename(tmp, path)) // atomic, like a ConfigMap swap
	return path
}

func policyFor(id string) string {
	return fmt.Sprintf(`{"rules": [{"id": %q, "effect": "allow", "routes": ["GET /x"], "match": {"any_principal": true}}]}`, id)
}

const invalidPolicy = `{"rules": [{"id": "broken", "effect": "allow", "routes": ["GET /x"], "match": {}}]}`

func TestWatchReload(t *testing.T) {
	dir := t.TempDir()
	path := writePolicy(t, dir, policyFor("a"))
	e, err := authz.Watch(t.Context(), path, authz.WithPollInterval(time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	req := authz.Request{Method: "GET", Path: "/x"}
	assert.Equal(t, "a", e.Decide(t.Context(), nil, req).RuleID)

	require.NoError(t, e.Reload(t.Context()), "unchanged file")
	updated := e.Updated()
	writePolicy(t, dir, policyFor("b"))
	require.NoError(t, e.Reload(t.Context()))
	<-updated
	assert.Equal(t, "b", e.Decide(t.Context(), nil, req).RuleID)
	assert.NoError(t, e.LastError())

	writePolicy(t, dir, invalidPolicy)
	err = e.Reload(t.Context())
	assert.ErrorIs(t, err, authz.ErrEmptyMatch)
	assert.ErrorIs(t, e.LastError(), authz.ErrEmptyMatch)
	assert.Contains(t, err.Error(), path+":1:")
	assert.Equal(t, uint64(1), e.ReloadFailures())
	assert.Equal(t, "b", e.Decide(t.Context(), nil, req).RuleID, "the last good policy stays")
	require.ErrorIs(t, e.Reload(t.Context()), nil, "the same bad file is reported once")
	assert.Equal(t, uint64(1), e.ReloadFailures())

	// A file that lost its rules would deny everything: rejected, the last good policy stays.
	for _, emptied := range []string{`{"rules": []}`, `{}`} {
		writePolicy(t, dir, emptied)
		assert.ErrorIs(t, e.Reload(t.Context()), authz.ErrNoRules)
		assert.Equal(t, "b", e.Decide(t.Context(), nil, req).RuleID, "the last good policy stays")
	}
	assert.ErrorIs(t, e.Update(authz.Policy{}), authz.ErrNoRules)
	assert.Equal(t, "b", e.Decide(t.Context(), nil, req).RuleID)
	assert.Equal(t, uint64(4), e.ReloadFailures())

	require.NoError(t, os.Remove(path))
	assert.Error(t, e.Reload(t.Context()))
	assert.Equal(t, "b", e.Decide(t.Context(), nil, req).RuleID)

	require.NoError(t, e.Close())
	require.NoError(t, e.Close())
	assert.ErrorIs(t, e.Update(authz.Policy{}), authz.ErrClosed)
	writePolicy(t, dir, policyFor("c"))
	assert.ErrorIs(t, e.Reload(t.Context()), authz.ErrClosed)
	assert.Equal(t, "b", e.Decide(t.Context(), nil, req).RuleID, "Decide works after Close")
}

func TestWatchPolls(t *testing.T) {
	dir := t.TempDir()
	path := writePolicy(t, dir, policyFor("a"))
	e, err := authz.Watch(t.Context(), path, authz.WithPollInterval(time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	updated := e.Updated()
	writePolicy(t, dir, policyFor("b"))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a hang guard, not an assertion on timing
	defer cancel()
	select {
	case <-updated:
	case <-ctx.Done():
		t.Fatal("the poller never picked up the new file")
	}
	assert.Equal(t, "b", e.Decide(t.Context(), nil, authz.Request{Method: "GET", Path: "/x"}).RuleID)
}

func TestWatchFirstLoadFails(t *testing.T) {
	dir := t.TempDir()
	_, err := authz.Watch(t.Context(), writePolicy(t, dir, invalidPolicy))
	assert.ErrorIs(t, err, authz.ErrInvalidPolicy)
	_, err = authz.Watch(t.Context(), filepath.Join(dir, "none.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = authz.Watch(ctx, filepath.Join(dir, "policy.json"))
	assert.ErrorIs(t, err, context.Canceled)
}

// TestReloadUnderLoad swaps valid and invalid policies, from the file and in
// Go, while 16 goroutines decide: every decision sees a complete policy.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	path := writePolicy(t, dir, policyFor("a"))
	e, err := authz.Watch(t.Context(), path, authz.WithPollInterval(time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })

	var stop atomic.Bool
	var bad atomic.Int64
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			req := authz.Request{Method: "GET", Path: "/x"}
			for !stop.Load() {
				d := e.Decide(context.Background(), nil, req)
				if !d.Allow || (d.RuleID != "a" && d.RuleID != "b" && d.RuleID != "go") {
					bad.Add(1)
				}
				n.Add(1)
			}
		})
	}
	goPolicy := authz.Policy{Rules: []authz.Rule{{ID: "go", Effect: authz.Allow, Routes: []string{"GET /x"}, Match: authz.Match{AnyPrincipal: true}}}}
	for i := range 200 {
		switch i % 4 {
		case 0:
			writePolicy(t, dir, policyFor("b"))
			assert.NoError(t, e.Reload(t.Context()))
		case 1:
			writePolicy(t, dir, invalidPolicy)
			assert.Error(t, e.Reload(t.Context()))
		case 2:
			assert.NoError(t, e.Update(goPolicy))
			assert.Error(t, e.Update(authz.Policy{Rules: []authz.Rule{{ID: "x"}}}))
		case 3:
			writePolicy(t, dir, policyFor("a"))
			assert.NoError(t, e.Reload(t.Context()))
		}
	}
	stop.Store(true)
	wg.Wait()
	assert.Zero(t, bad.Load(), "decisions without a complete policy")
	assert.Positive(t, n.Load())
	assert.Equal(t, uint64(100), e.ReloadFailures())
}
