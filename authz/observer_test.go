package authz

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu        sync.Mutex
	decisions []Decision
	updates   []error
}

func (r *recorder) ObserveDecision(_ context.Context, d Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.decisions = append(r.decisions, d)
}

func (r *recorder) ObservePolicy(_ context.Context, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, err)
}

// TestObserver: Decide reports each decision as returned, Explain reports
// nothing, and updates are reported as applied or rejected, but not after
// Close.
func TestObserver(t *testing.T) {
	rec := &recorder{}
	p := Policy{Rules: []Rule{{ID: "open", Effect: Allow, Routes: []string{"GET /open"}, Match: Match{AnyPrincipal: true}}}}
	e, err := New(p, WithObserver(rec), WithObserver(nil))
	require.NoError(t, err)
	ctx := context.Background()

	allow := e.Decide(ctx, nil, Request{Method: "GET", Path: "/open"})
	deny := e.Decide(ctx, nil, Request{Method: "GET", Path: "/closed"})
	_ = e.Explain(ctx, nil, Request{Method: "GET", Path: "/open"})
	assert.Equal(t, []Decision{allow, deny}, rec.decisions)

	require.NoError(t, e.Update(p))
	bad := e.Update(Policy{Rules: []Rule{{ID: "x", Effect: Allow, Routes: []string{"GET /x"}}}})
	require.ErrorIs(t, bad, ErrEmptyMatch)
	require.NoError(t, e.Close())
	require.ErrorIs(t, e.Update(p), ErrClosed)
	require.Len(t, rec.updates, 2)
	assert.NoError(t, rec.updates[0])
	assert.True(t, errors.Is(rec.updates[1], ErrEmptyMatch))
}
