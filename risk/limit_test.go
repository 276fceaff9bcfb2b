package risk_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/risk"
)

// failingCounter is a counter store that cannot be reached.
type failingCounter struct{}

func (failingCounter) Count(context.Context, time.Time, []risk.Window) error {
	return fmt.Errorf("%w: connection refused", risk.ErrCounterUnavailable)
}

func TestNewLimiterRefusesBadLimits(t *testing.T) {
	good := risk.Limit{Name: "orders", Key: risk.KeyCustomer, Window: time.Minute, Max: 1}
	for name, l := range map[string]risk.Limit{
		"bad name":     {Name: "Orders", Key: risk.KeyCustomer, Window: time.Minute, Max: 1},
		"no key":       {Name: "orders", Window: time.Minute, Max: 1},
		"card key":     {Name: "orders", Key: risk.KeyCard, Window: time.Minute, Max: 1},
		"no window":    {Name: "orders", Key: risk.KeyIP, Max: 1},
		"long window":  {Name: "orders", Key: risk.KeyIP, Window: 8 * 24 * time.Hour, Max: 1},
		"zero max":     {Name: "orders", Key: risk.KeyIP, Window: time.Minute},
		"negative max": {Name: "orders", Key: risk.KeyIP, Window: time.Minute, Max: -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := risk.NewLimiter(map[string][]risk.Limit{"s": {l}})
			assert.ErrorIs(t, err, risk.ErrInvalidLimit)
		})
	}
	_, err := risk.NewLimiter(map[string][]risk.Limit{"s": {good, good}})
	assert.ErrorIs(t, err, risk.ErrInvalidLimit, "a name twice in a scope")
	_, err = risk.NewLimiter(map[string][]risk.Limit{"s": {good}, "t": {good}})
	assert.NoError(t, err)
}

// TestCallerOf: each key comes from the verified principal; the workload
// is the JWT-SVID's, else the mTLS peer's.
func TestCallerOf(t *testing.T) {
	ip := netip.MustParseAddr("198.51.100.9")
	peer := spiffeid.RequireFromString("spiffe://shop.example/checkout")
	svid := spiffeid.RequireFromString("spiffe://shop.example/batch")
	p := &authn.Principal{Subject: "customer-42", ClientID: "storefront", KeyThumbprint: "jkt", Peer: peer}
	assert.Equal(t, risk.Caller{Customer: "customer-42", Client: "storefront", Device: "jkt", Workload: peer.String(), IP: ip}, risk.CallerOf(p, ip))
	p.Workload = svid
	assert.Equal(t, svid.String(), risk.CallerOf(p, ip).Workload)
	assert.Equal(t, risk.Caller{IP: ip}, risk.CallerOf(nil, ip))
}

// TestLimiterKeys: each key limits its own callers, the IP by /24 and /48;
// a caller without the key is not limited by it; Retry-After is the window
// in whole seconds, rounded up.
func TestLimiterKeys(t *testing.T) {
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		key          risk.Key
		first, same  risk.Caller
		other, empty risk.Caller
	}{
		{risk.KeyCustomer, risk.Caller{Customer: "a"}, risk.Caller{Customer: "a", Client: "x"}, risk.Caller{Customer: "b"}, risk.Caller{Client: "x"}},
		{risk.KeyClient, risk.Caller{Client: "a"}, risk.Caller{Client: "a", Customer: "x"}, risk.Caller{Client: "b"}, risk.Caller{Customer: "x"}},
		{risk.KeyWorkload, risk.Caller{Workload: "spiffe://td/a"}, risk.Caller{Workload: "spiffe://td/a"}, risk.Caller{Workload: "spiffe://td/b"}, risk.Caller{}},
		{risk.KeyDevice, risk.Caller{Device: "k1"}, risk.Caller{Device: "k1", Customer: "y"}, risk.Caller{Device: "k2"}, risk.Caller{Customer: "y"}},
		{risk.KeyIP, risk.Caller{IP: netip.MustParseAddr("192.0.2.1")}, risk.Caller{IP: netip.MustParseAddr("192.0.2.200")},
			risk.Caller{IP: netip.MustParseAddr("192.0.3.1")}, risk.Caller{}},
		{risk.KeyIP, risk.Caller{IP: netip.MustParseAddr("2001:db8:1::1")}, risk.Caller{IP: netip.MustParseAddr("2001:db8:1:ffff::2")},
			risk.Caller{IP: netip.MustParseAddr("2001:db8:2::1")}, risk.Caller{}},
	} {
		t.Run(tc.key.String(), func(t *testing.T) {
			l, err := risk.NewLimiter(map[string][]risk.Limit{"s": {{Name: "l", Key: tc.key, Window: 1500 * time.Millisecond, Max: 1}}},
				risk.WithClock(func() time.Time { return now }))
			require.NoError(t, err)
			ctx := t.Context()
			assert.True(t, l.Allow(ctx, "s", tc.first).Allowed)
			r := l.Allow(ctx, "s", tc.same)
			assert.False(t, r.Allowed)
			assert.Equal(t, "l", r.Limit)
			assert.Equal(t, 2*time.Second, r.RetryAfter)
			assert.True(t, l.Allow(ctx, "s", tc.other).Allowed)
			assert.True(t, l.Allow(ctx, "s", tc.empty).Allowed)
			assert.True(t, l.Allow(ctx, "s", tc.empty).Allowed)
			assert.True(t, l.Allow(ctx, "unknown scope", tc.same).Allowed)
		})
	}
}

// TestLimiterWindowSlides: a caller over the limit gets through again once
// the window has passed since its requests.
func TestLimiterWindowSlides(t *testing.T) {
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	l, err := risk.NewLimiter(map[string][]risk.Limit{"s": {{Name: "l", Key: risk.KeyCustomer, Window: time.Minute, Max: 2}}},
		risk.WithClock(func() time.Time { return now }))
	require.NoError(t, err)
	c := risk.Caller{Customer: "a"}
	for i, want := range []bool{true, true, false, false} {
		assert.Equal(t, want, l.Allow(t.Context(), "s", c).Allowed, "request %d", i)
	}
	now = now.Add(time.Minute + time.Second)
	assert.True(t, l.Allow(t.Context(), "s", c).Allowed)
}

// TestLimiterCounterFailure: a limit fails closed unless it fails open; a
// limit whose key the caller lacks does not refuse.
func TestLimiterCounterFailure(t *testing.T) {
	closed := risk.Limit{Name: "closed", Key: risk.KeyDevice, Window: time.Minute, Max: 5}
	open := risk.Limit{Name: "open", Key: risk.KeyCustomer, Window: time.Minute, Max: 5, FailOpen: true}
	l, err := risk.NewLimiter(map[string][]risk.Limit{"s": {open, closed}}, risk.WithCounter(failingCounter{}))
	require.NoError(t, err)

	r := l.Allow(t.Context(), "s", risk.Caller{Customer: "a", Device: "k"})
	assert.False(t, r.Allowed)
	assert.Equal(t, "closed", r.Limit)
	assert.True(t, errors.Is(r.Err, risk.ErrCounterUnavailable))

	r = l.Allow(t.Context(), "s", risk.Caller{Customer: "a"})
	assert.True(t, r.Allowed, "the closed limit does not apply to a caller without a device")
	assert.ErrorIs(t, r.Err, risk.ErrCounterUnavailable)
}

func TestNilLimiterRefuses(t *testing.T) {
	var l *risk.Limiter
	r := l.Allow(t.Context(), "s", risk.Caller{Customer: "a"})
	assert.False(t, r.Allowed)
	assert.ErrorIs(t, r.Err, risk.ErrInvalidLimit)
}
