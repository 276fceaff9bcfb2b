package sts

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
)

// Concurrent guesses count as they are made: of 50 at once, exactly the
// allowed number get to a verifier.
func TestMemoryLimiterConcurrent(t *testing.T) {
	l := newMemoryLimiter(5, time.Hour, time.Now)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if l.Attempt(context.Background(), "c") == nil {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(5), allowed.Load())
}

// The lock lasts until the window since the first failure has passed; a
// reset clears it; subjects are counted apart.
func TestMemoryLimiterWindow(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newMemoryLimiter(2, 15*time.Minute, func() time.Time { return now })
	ctx := context.Background()
	require.NoError(t, l.Attempt(ctx, "c"))
	now = now.Add(10 * time.Minute)
	require.NoError(t, l.Attempt(ctx, "c"))
	assert.ErrorIs(t, l.Attempt(ctx, "c"), ErrTooManyAttempts)
	assert.NoError(t, l.Attempt(ctx, "d"))
	now = now.Add(5*time.Minute - time.Second)
	assert.ErrorIs(t, l.Attempt(ctx, "c"), ErrTooManyAttempts)
	now = now.Add(time.Second)
	assert.NoError(t, l.Attempt(ctx, "c"), "the window has passed")
	assert.NoError(t, l.Attempt(ctx, "c"))
	assert.ErrorIs(t, l.Attempt(ctx, "c"), ErrTooManyAttempts)
	require.NoError(t, l.Reset(ctx, "c"))
	assert.NoError(t, l.Attempt(ctx, "c"), "reset after a verified factor")
}

// Full of live subjects, the limiter refuses new ones (fails closed) and
// admits them again once old windows have passed.
func TestMemoryLimiterFull(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newMemoryLimiter(1, time.Minute, func() time.Time { return now })
	ctx := context.Background()
	for i := range maxLimiterEntries {
		require.NoError(t, l.Attempt(ctx, strconv.Itoa(i)))
	}
	assert.ErrorIs(t, l.Attempt(ctx, "new"), errLimiterFull)
	assert.ErrorIs(t, l.Attempt(ctx, "0"), ErrTooManyAttempts, "known subjects are still counted")
	now = now.Add(time.Minute)
	assert.NoError(t, l.Attempt(ctx, "new"))
}

// FuzzParseACRValues: parseACRValues never panics, and what it accepts
// joins back to its input: single spaces, scope-token values, none twice,
// at most maxACRValues.
func FuzzParseACRValues(f *testing.F) {
	for _, s := range []string{
		// The acr_values of RFC 9470 §3, the figure "Authentication
		// Requirements Challenge indicating acr_values" (verbatim).
		"myACR",
		"urn:example:mfa urn:example:phr", "mfa phr mfa", "mfa  phr", " mfa", "mfa ", "", "a\"b", "m\x7f",
		strings.Repeat("a ", 16) + "a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseACRValues(s)
		if !ok {
			if got != nil {
				t.Fatal("values returned with a refusal")
			}
			return
		}
		if strings.Join(got, " ") != s || len(got) == 0 || len(got) > maxACRValues {
			t.Fatalf("%q parsed as %q", s, got)
		}
		seen := map[string]bool{}
		for _, v := range got {
			if !tokens.IsScopeToken(v) || seen[v] {
				t.Fatalf("%q: value %q", s, v)
			}
			seen[v] = true
		}
	})
}

// FuzzParseMaxAge: parseMaxAge never panics, accepts only decimal digits,
// and round-trips.
func FuzzParseMaxAge(f *testing.F) {
	// The max_age of RFC 9470 §3, the figure "Authentication Requirements
	// Challenge indicating max_age" (verbatim), and edges.
	for _, s := range []string{"5", "0", "300", "-1", "+5", "1e3", "0x10", "9999999999", "99999999999", " 5", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseMaxAge(s)
		if !ok {
			return
		}
		if d < 0 || strings.TrimLeft(s, "0123456789") != "" {
			t.Fatalf("%q accepted as %v", s, d)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || time.Duration(n)*time.Second != d {
			t.Fatalf("%q parsed as %v", s, d)
		}
	})
}
