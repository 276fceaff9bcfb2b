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

// TestBoundedSets: past maxSets distinct attribute sets, decisions are
// counted under rule_id _OTHER instead of growing memory, and no decision
// is lost on the way.
func TestBoundedSets(t *testing.T) {
	m, err := New(noop.NewMeterProvider())
	require.NoError(t, err)
	ctx := context.Background()
	const extra = 100
	for i := range maxSets + extra {
		m.ObserveDecision(ctx, authz.Decision{Allow: true, Reason: authz.ReasonAllowed, RuleID: "rule-" + strconv.Itoa(i)})
	}
	// Every rule seen before the bound still counts under its own set.
	m.ObserveDecision(ctx, authz.Decision{Allow: true, Reason: authz.ReasonAllowed, RuleID: "rule-0"})

	m.mu.Lock()
	defer m.mu.Unlock()
	all := map[setKey]*counter{}
	for k, c := range *m.read.Load() {
		all[k] = c
	}
	for k, c := range m.dirty {
		_, dup := all[k]
		require.False(t, dup, "%v is in both maps", k)
		all[k] = c
	}
	assert.Len(t, all, maxSets+1)
	assert.Equal(t, maxSets+1, m.total)
	var sum int64
	for _, c := range all {
		sum += c.n.Load()
	}
	assert.Equal(t, int64(maxSets+extra+1), sum)
	other := all[setKey{allow: true, reason: authz.ReasonAllowed, ruleID: otherRule}]
	require.NotNil(t, other)
	assert.Equal(t, int64(extra), other.n.Load())
	assert.Equal(t, int64(2), all[setKey{allow: true, reason: authz.ReasonAllowed, ruleID: "rule-0"}].n.Load())
	// Most counters are read without the lock.
	assert.Greater(t, len(*m.read.Load()), maxSets/2)
}
