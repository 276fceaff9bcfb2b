// Package replaytest holds the checks every dpop.ReplayStore must pass,
// whatever keeps its state: the in-memory store and the Redis one run the
// same ones, beside the tests of what only they do (eviction, TTLs).
package replaytest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// JKT is a well-formed RFC 7638 thumbprint for the checks.
const JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"

// PairsAreDistinct checks that a store keys a record on the (jkt, jti)
// pair exactly: no separator or concatenation lets one pair stand for
// another, and the same pair is a replay however long its jti. newStore
// returns an empty store for each case.
func PairsAreDistinct(t *testing.T, newStore func(t *testing.T) dpop.ReplayStore) {
	t.Helper()
	tests := []struct {
		name       string
		jktA, jtiA string
		jktB, jtiB string
		distinct   bool
	}{
		{name: "separator collision", jktA: "a|b", jtiA: "c", jktB: "a", jtiB: "b|c", distinct: true},
		{name: "colon separator collision", jktA: "a:b", jtiA: "c", jktB: "a", jtiB: "b:c", distinct: true},
		{name: "bytes moved across fields", jktA: "ab", jtiA: "c", jktB: "a", jtiB: "bc", distinct: true},
		{name: "distinct jkt, same jti", jktA: JKT, jtiA: "jti", jktB: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", jtiB: "jti", distinct: true},
		{name: "same jkt, distinct jti", jktA: JKT, jtiA: "jti-a", jktB: JKT, jtiB: "jti-b", distinct: true},
		{name: "swapped", jktA: "x", jtiA: "y", jktB: "y", jtiB: "x", distinct: true},
		{name: "empty jti vs empty jkt", jktA: "", jtiA: "v", jktB: "v", jtiB: "", distinct: true},
		{name: "same pair", jktA: JKT, jtiA: "jti", jktB: JKT, jtiB: "jti", distinct: false},
		{name: "same 1 MiB jti", jktA: JKT, jtiA: strings.Repeat("j", 1<<20), jktB: JKT, jtiB: strings.Repeat("j", 1<<20), distinct: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t)
			expiry := time.Now().Add(time.Minute)
			require.NoError(t, s.CheckAndStore(ctx, tt.jktA, tt.jtiA, expiry))
			err := s.CheckAndStore(ctx, tt.jktB, tt.jtiB, expiry)
			if tt.distinct {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, dpop.ErrReplayed)
			}
		})
	}
}

// ConcurrentSameProof checks that of goroutines presenting the same proof
// at once, exactly one is accepted and every other one is a replay.
func ConcurrentSameProof(t *testing.T, s dpop.ReplayStore, goroutines int) {
	t.Helper()
	expiry := time.Now().Add(time.Minute)
	var accepted, replayed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range goroutines {
		wg.Go(func() {
			<-start
			err := s.CheckAndStore(context.Background(), JKT, "same-jti", expiry)
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.Is(err, dpop.ErrReplayed):
				replayed.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int64(1), accepted.Load(), "exactly one caller accepts the proof")
	assert.Equal(t, int64(goroutines-1), replayed.Load())
}

// ErrorsDoNotLeak checks that a replay error names neither the jkt nor the
// jti.
func ErrorsDoNotLeak(t *testing.T, s dpop.ReplayStore) {
	t.Helper()
	const secretJTI = "jti-must-not-leak-7f3a"
	const secretJKT = "jkt-must-not-leak-91c2"
	expiry := time.Now().Add(time.Minute)
	require.NoError(t, s.CheckAndStore(context.Background(), secretJKT, secretJTI, expiry))
	err := s.CheckAndStore(context.Background(), secretJKT, secretJTI, expiry)
	require.ErrorIs(t, err, dpop.ErrReplayed)
	assert.NotContains(t, err.Error(), secretJTI)
	assert.NotContains(t, err.Error(), secretJKT)
}
