package risk_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ztkit/ztkit/risk"
)

func count(t *testing.T, c risk.Counter, now time.Time, ws ...risk.Window) []int64 {
	t.Helper()
	require.NoError(t, c.Count(context.Background(), now, ws))
	out := make([]int64, len(ws))
	for i, w := range ws {
		out[i] = w.Count
	}
	return out
}

func TestMemoryCounterSlidingWindow(t *testing.T) {
	c := risk.NewMemoryCounter(0)
	w := func(add int64) risk.Window {
		return risk.Window{Event: "checkout", Key: risk.KeyCard, Value: "card-a", Length: 16 * time.Minute, Add: add}
	}
	now := t0
	assert.Equal(t, []int64{1}, count(t, c, now, w(1)))
	assert.Equal(t, []int64{3}, count(t, c, now.Add(time.Minute), w(2)))
	assert.Equal(t, []int64{3}, count(t, c, now.Add(15*time.Minute), w(0)), "within the window")
	assert.Equal(t, []int64{2}, count(t, c, now.Add(16*time.Minute), w(0)), "the first event left (bucket resolution 1m)")
	assert.Equal(t, []int64{0}, count(t, c, now.Add(17*time.Minute), w(0)))
	assert.Equal(t, []int64{1}, count(t, c, now.Add(40*time.Minute), w(1)), "an old bucket is reused")

	// Windows differing in any part are counted apart; several in one call.
	other := w(1)
	other.Length = time.Hour
	card := w(1)
	card.Value = "card-b"
	event := w(1)
	event.Event = "payment_failed"
	key := w(1)
	key.Key = risk.KeyDevice
	assert.Equal(t, []int64{1, 1, 1, 1, 2}, count(t, c, now.Add(40*time.Minute), other, card, event, key, w(1)))

	// A window with no value is left alone; a read of an unknown window is 0 and kept nowhere.
	empty := w(5)
	empty.Value = ""
	n := c.Len()
	assert.Equal(t, []int64{0}, count(t, c, now, empty))
	unknown := w(0)
	unknown.Value = "never-seen"
	assert.Equal(t, []int64{0}, count(t, c, now, unknown))
	assert.Equal(t, n, c.Len())

	// Times before 1970 do not break the bucket arithmetic.
	assert.Equal(t, []int64{1}, count(t, c, time.Unix(-1000, 0), w(1)))
}

func TestMemoryCounterBounded(t *testing.T) {
	c := risk.NewMemoryCounter(160)
	ctx := context.Background()
	for i := range 10000 {
		ws := []risk.Window{{Event: "login_failed", Key: risk.KeyIP, Value: "10.0." + strconv.Itoa(i), Length: time.Minute, Add: 1}}
		require.NoError(t, c.Count(ctx, t0, ws))
		require.Equal(t, int64(1), ws[0].Count)
	}
	assert.LessOrEqual(t, c.Len(), 160)
	// Expired windows go first: after the window, new keys find room without dropping live ones.
	live := []risk.Window{{Event: "e", Key: risk.KeyCard, Value: "live", Length: 24 * time.Hour, Add: 1}}
	require.NoError(t, c.Count(ctx, t0.Add(time.Hour), live))
	for i := range 150 {
		ws := []risk.Window{{Event: "login_failed", Key: risk.KeyIP, Value: "x" + strconv.Itoa(i), Length: time.Minute, Add: 1}}
		require.NoError(t, c.Count(ctx, t0.Add(time.Hour), ws))
	}
	live[0].Add = 0
	require.NoError(t, c.Count(ctx, t0.Add(time.Hour), live))
	assert.LessOrEqual(t, c.Len(), 160)
}

func TestMemoryCounterConcurrentExact(t *testing.T) {
	c := risk.NewMemoryCounter(0)
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				ws := []risk.Window{
					{Event: "checkout", Key: risk.KeyCustomer, Value: "shared", Length: time.Hour, Add: 1},
					{Event: "checkout", Key: risk.KeyCustomer, Value: "own-" + strconv.Itoa(g), Length: time.Hour, Add: 1},
				}
				assert.NoError(t, c.Count(context.Background(), t0, ws))
			}
		})
	}
	wg.Wait()
	got := count(t, c, t0, risk.Window{Event: "checkout", Key: risk.KeyCustomer, Value: "shared", Length: time.Hour})
	assert.Equal(t, []int64{goroutines * each}, got)
	got = count(t, c, t0, risk.Window{Event: "checkout", Key: risk.KeyCustomer, Value: "own-3", Length: time.Hour})
	assert.Equal(t, []int64{each}, got)
}

func TestWindowLogValueHidesValue(t *testing.T) {
	w := risk.Window{Event: "checkout", Key: risk.KeyCard, Value: "card-fp-secret", Length: time.Minute, Count: 2}
	assert.NotContains(t, w.LogValue().String(), "card-fp-secret")
}
