package authzotel

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/ztkit/ztkit/authz"
)

func newNoop(t *testing.T) *Metrics {
	t.Helper()
	m, err := New(noop.NewMeterProvider())
	require.NoError(t, err)
	return m
}

func allowBy(rule string) authz.Decision {
	return authz.Decision{Allow: true, Reason: authz.ReasonAllowed, RuleID: rule}
}

// TestBoundedSets: past maxSets distinct attribute sets, decisions are
// counted under rule_id _OTHER instead of growing the sets, and no decision
// is lost on the way.
func TestBoundedSets(t *testing.T) {
	m := newNoop(t)
	ctx := context.Background()
	const extra = 100
	for i := range maxSets + extra {
		m.ObserveDecision(ctx, allowBy("rule-"+strconv.Itoa(i)))
	}
	// Every rule seen before the bound still counts under its own set.
	m.ObserveDecision(ctx, allowBy("rule-0"))

	m.mu.Lock()
	defer m.mu.Unlock()
	assert.Equal(t, maxSets+1, m.sets)
	require.Len(t, m.all, maxSets+1)
	var sum int64
	for _, c := range m.all {
		sum += c.n.Load()
	}
	assert.Equal(t, int64(maxSets+extra+1), sum)
	other := m.lookup(setKey{allow: true, reason: authz.ReasonAllowed, ruleID: otherRule})
	require.NotNil(t, other)
	assert.Equal(t, int64(extra), other.n.Load())
	assert.Equal(t, int64(2), m.lookup(setKey{allow: true, reason: authz.ReasonAllowed, ruleID: "rule-0"}).n.Load())
	// A key past the bound is an alias of the _OTHER counter.
	assert.Same(t, other, m.lookup(setKey{allow: true, reason: authz.ReasonAllowed, ruleID: "rule-" + strconv.Itoa(maxSets+3)}))
}

// TestHotKeysLeaveTheLock: a policy with a handful of outcomes, fewer than
// the batch that triggers a rebuild, still ends with every key in the
// lock-free read map after a few decisions.
func TestHotKeysLeaveTheLock(t *testing.T) {
	m := newNoop(t)
	ctx := context.Background()
	for range 100 {
		for _, r := range []string{"a", "b", "c"} {
			m.ObserveDecision(ctx, allowBy(r))
		}
	}
	read := *m.read.Load()
	for _, r := range []string{"a", "b", "c"} {
		c, ok := read[setKey{allow: true, reason: authz.ReasonAllowed, ruleID: r}]
		require.True(t, ok, "%s is not in the read map", r)
		assert.Equal(t, int64(100), c.n.Load())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	assert.Empty(t, m.dirty)
}

// lookup returns k's counter from read or dirty; call it with mu held.
func (m *Metrics) lookup(k setKey) *counter {
	if c, ok := (*m.read.Load())[k]; ok {
		return c
	}
	return m.dirty[k]
}
