package authzotel_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/authz/authzotel"
)

const storefront = "spiffe://shop.example/storefront"

func testPolicy() authz.Policy {
	return authz.Policy{Rules: []authz.Rule{
		{ID: "place-order", Effect: authz.Allow, Routes: []string{"POST /orders"},
			Match: authz.Match{Peers: []string{storefront}, AllScopes: []string{"checkout:write"}}},
		{ID: "no-admin-from-storefront", Effect: authz.Forbid, Routes: []string{"/admin/{path...}"},
			Match: authz.Match{Peers: []string{storefront}}},
		{ID: "trial-forbid-bulk", Effect: authz.Forbid, Shadow: true, Routes: []string{"POST /orders"},
			Match: authz.Match{ClientIDs: []string{"bulk-importer"}}},
	}}
}

func caller(t testing.TB, clientID string, scopes ...string) *authn.Principal {
	t.Helper()
	return &authn.Principal{Peer: spiffeid.RequireFromString(storefront), ClientID: clientID,
		Subject: "customer-4711", Scopes: scopes, Methods: authn.MethodMTLS | authn.MethodDPoP}
}

// counts collects the counter name and returns its data points as
// attribute-map → value, checking the scope name on the way.
func counts(t *testing.T, r *sdkmetric.ManualReader, name string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			assert.Equal(t, authzotel.ScopeName, sm.Scope.Name)
			sum, ok := m.Data.(metricdata.Sum[int64])
			require.True(t, ok, "%s is a %T", name, m.Data)
			assert.True(t, sum.IsMonotonic)
			for _, dp := range sum.DataPoints {
				out[dp.Attributes.Encoded(attribute.DefaultEncoder())] = dp.Value
			}
		}
	}
	return out
}

// set is the encoding of an attribute set, "k1=v1,k2=v2" in key order.
func set(kvs ...attribute.KeyValue) string {
	s := attribute.NewSet(kvs...)
	return s.Encoded(attribute.DefaultEncoder())
}

func newRig(t *testing.T) (*sdkmetric.ManualReader, *authzotel.Metrics) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { assert.NoError(t, mp.Shutdown(context.Background())) })
	m, err := authzotel.New(mp)
	require.NoError(t, err)
	return reader, m
}

// TestDecisionsCounted: each decision is counted once under its outcome,
// reason and rule, shadow disagreements are marked, and no subject, path or
// client id becomes an attribute.
func TestDecisionsCounted(t *testing.T) {
	reader, m := newRig(t)
	eng, err := authz.New(testPolicy(), authz.WithObserver(m))
	require.NoError(t, err)
	ctx := context.Background()

	for range 3 {
		require.True(t, eng.Decide(ctx, caller(t, "web", "checkout:write"), authz.Request{Method: "POST", Path: "/orders"}).Allow)
	}
	d := eng.Decide(ctx, caller(t, "web"), authz.Request{Method: "POST", Path: "/orders"})
	require.Equal(t, authz.ReasonInsufficientScope, d.Reason)
	d = eng.Decide(ctx, caller(t, "web", "checkout:write"), authz.Request{Method: "GET", Path: "/admin/users/4711"})
	require.Equal(t, authz.ReasonForbidden, d.Reason)
	d = eng.Decide(ctx, caller(t, "web"), authz.Request{Method: "GET", Path: "/nowhere"})
	require.Equal(t, authz.ReasonNoRule, d.Reason)
	d = eng.Decide(ctx, caller(t, "bulk-importer", "checkout:write"), authz.Request{Method: "POST", Path: "/orders"})
	require.True(t, d.Allow)
	require.True(t, d.ShadowDeny)
	// Explain is for debugging and is not counted.
	_ = eng.Explain(ctx, caller(t, "web", "checkout:write"), authz.Request{Method: "POST", Path: "/orders"})

	got := counts(t, reader, "ztkit.authz.decisions")
	want := map[string]int64{
		set(authzotel.AttrDecision.String("allow"), authzotel.AttrReason.String("allowed"), authzotel.AttrRuleID.String("place-order")):               3,
		set(authzotel.AttrDecision.String("deny"), authzotel.AttrReason.String("insufficient_scope"), authzotel.AttrRuleID.String("place-order")):     1,
		set(authzotel.AttrDecision.String("deny"), authzotel.AttrReason.String("forbidden"), authzotel.AttrRuleID.String("no-admin-from-storefront")): 1,
		set(authzotel.AttrDecision.String("deny"), authzotel.AttrReason.String("no_rule")):                                                            1,
		set(authzotel.AttrDecision.String("allow"), authzotel.AttrReason.String("allowed"), authzotel.AttrRuleID.String("place-order"),
			authzotel.AttrShadow.String("would_deny")): 1,
	}
	assert.Equal(t, want, got)
	for k := range got {
		assert.NotContains(t, k, "customer-4711")
		assert.NotContains(t, k, "/admin/users")
		assert.NotContains(t, k, "=web")
	}
}

// TestPolicyUpdatesCounted: applied and rejected updates are counted, from
// Update and from the file watcher alike.
func TestPolicyUpdatesCounted(t *testing.T) {
	reader, m := newRig(t)
	path := filepath.Join(t.TempDir(), "policy.json")
	valid := `{"rules":[{"id":"r","effect":"allow","routes":["GET /x"],"match":{"any_principal":true}}]}`
	require.NoError(t, os.WriteFile(path, []byte(valid), 0o600))
	ctx := context.Background()
	eng, err := authz.Watch(ctx, path, authz.WithObserver(m), authz.WithPollInterval(time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, eng.Close()) })

	require.NoError(t, eng.Update(testPolicy()))
	require.Error(t, eng.Update(authz.Policy{Rules: []authz.Rule{{ID: "bad", Effect: authz.Allow, Routes: []string{"GET /y"}}}}))
	require.NoError(t, os.WriteFile(path, []byte(`{"rules":[`), 0o600))
	require.ErrorIs(t, eng.Reload(ctx), authz.ErrInvalidPolicy)
	require.NoError(t, os.WriteFile(path, []byte(valid+"\n"), 0o600))
	require.NoError(t, eng.Reload(ctx))
	require.NoError(t, eng.Reload(ctx)) // unchanged: not an update

	got := counts(t, reader, "ztkit.authz.policy.updates")
	assert.Equal(t, map[string]int64{
		set(authzotel.AttrResult.String("applied")):  2,
		set(authzotel.AttrResult.String("rejected")): 2,
	}, got)
	assert.Equal(t, uint64(2), eng.ReloadFailures())
}

// TestNoAllocations: with the counters on a no-op provider (the cost of
// ztkit's own bookkeeping), a decision that was seen before allocates
// nothing.
func TestNoAllocations(t *testing.T) {
	m, err := authzotel.New(noop.NewMeterProvider())
	require.NoError(t, err)
	eng, err := authz.New(testPolicy(), authz.WithObserver(m))
	require.NoError(t, err)
	p := caller(t, "web", "checkout:write")
	req := authz.Request{Method: "POST", Path: "/orders"}
	ctx := context.Background()
	require.True(t, eng.Decide(ctx, p, req).Allow)
	allocs := testing.AllocsPerRun(100, func() {
		if !eng.Decide(ctx, p, req).Allow {
			t.Fatal("denied")
		}
	})
	assert.Zero(t, allocs)
}

func TestNewRejectsNilProvider(t *testing.T) {
	m, err := authzotel.New(nil)
	assert.ErrorIs(t, err, authzotel.ErrNilMeterProvider)
	assert.Nil(t, m)
}

// TestConcurrentDecisions: many goroutines deciding while the policy is
// updated count every decision exactly once (run with -race).
func TestConcurrentDecisions(t *testing.T) {
	reader, m := newRig(t)
	eng, err := authz.New(testPolicy(), authz.WithObserver(m))
	require.NoError(t, err)
	const workers, each = 8, 200
	done := make(chan struct{})
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for range each {
				eng.Decide(context.Background(), caller(t, "web", "checkout:write"), authz.Request{Method: "POST", Path: "/orders"})
			}
		}()
	}
	for range 10 {
		assert.NoError(t, eng.Update(testPolicy()))
	}
	for range workers {
		<-done
	}
	var total int64
	for _, v := range counts(t, reader, "ztkit.authz.decisions") {
		total += v
	}
	assert.Equal(t, int64(workers*each), total)
}

func BenchmarkDecide(b *testing.B) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	sdk, err := authzotel.New(mp)
	require.NoError(b, err)
	p := caller(b, "web", "checkout:write")
	req := authz.Request{Method: "POST", Path: "/orders"}
	for _, c := range []struct {
		name string
		opts []authz.Option
	}{{"no-observer", nil}, {"otel-sdk", []authz.Option{authz.WithObserver(sdk)}}} {
		eng, err := authz.New(testPolicy(), c.opts...)
		require.NoError(b, err)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				eng.Decide(ctx, p, req)
			}
		})
	}
}
