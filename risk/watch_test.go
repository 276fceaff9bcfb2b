package risk_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ztkit/ztkit/risk"
)

func writePolicy(t testing.TB, dir, doc string) string {
	t.Helper()
	path := filepath.Join(dir, "risk.json")
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(doc), 0o600))
	require.NoError(t, os.Rename(tmp, path)) // atomic, like a ConfigMap swap
	return path
}

// denyOver is a policy denying checkouts over limit euro cents.
func denyOver(limit int) string {
	return fmt.Sprintf(`{"actions": [{"action": "checkout", "rules": [
  {"id": "big", "reason": "amount_over_limit", "outcome": "deny", "when": {"amount_over": {"eur": %d}}}]}]}`, limit)
}

func TestWatchReload(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	path := writePolicy(t, dir, denyOver(1000))
	e, err := risk.Watch(t.Context(), path, risk.WithPollInterval(time.Hour), risk.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	order := risk.Signals{Amount: 1500, Currency: "EUR"}
	assert.Equal(t, risk.Deny, e.Decide(t.Context(), "checkout", order).Outcome)

	require.NoError(t, e.Reload(t.Context()), "unchanged file")
	updated := e.Updated()
	writePolicy(t, dir, denyOver(2000))
	require.NoError(t, e.Reload(t.Context()))
	<-updated
	assert.Equal(t, risk.Allow, e.Decide(t.Context(), "checkout", order).Outcome)
	assert.NoError(t, e.LastError())

	writePolicy(t, dir, "{\"actions\": [{\"action\": \"checkout\",\n \"rules\": [{\"id\": \"big\", \"reason\": \"x\", \"outcome\": \"allow\", \"when\": {\"flag\": \"f\"}}]}]}")
	err = e.Reload(t.Context())
	assert.ErrorIs(t, err, risk.ErrInvalidRule)
	assert.ErrorIs(t, e.LastError(), risk.ErrInvalidRule)
	assert.Contains(t, err.Error(), path+":2:")
	assert.Equal(t, uint64(1), e.ReloadFailures())
	assert.Equal(t, risk.Allow, e.Decide(t.Context(), "checkout", order).Outcome, "the last good policy stays")
	require.NoError(t, e.Reload(t.Context()), "the same bad file is reported once")
	assert.Contains(t, logs.String(), "risk: policy rejected")

	writePolicy(t, dir, `{"actions": []}`)
	assert.ErrorIs(t, e.Reload(t.Context()), risk.ErrNoActions)
	assert.ErrorIs(t, e.Update(risk.Policy{}), risk.ErrNoActions)
	assert.Equal(t, uint64(3), e.ReloadFailures())

	require.NoError(t, os.Remove(path))
	assert.Error(t, e.Reload(t.Context()))
	assert.Equal(t, risk.Allow, e.Decide(t.Context(), "checkout", order).Outcome)

	require.NoError(t, e.Close())
	writePolicy(t, dir, denyOver(1000))
	assert.ErrorIs(t, e.Reload(t.Context()), risk.ErrClosed)
	assert.Equal(t, risk.Allow, e.Decide(t.Context(), "checkout", order).Outcome, "Decide works after Close")
}

func TestWatchPolls(t *testing.T) {
	dir := t.TempDir()
	path := writePolicy(t, dir, denyOver(1000))
	e, err := risk.Watch(t.Context(), path, risk.WithPollInterval(10*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	updated := e.Updated()
	writePolicy(t, dir, denyOver(2000))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	select {
	case <-updated:
	case <-ctx.Done():
		t.Fatal("the poller did not pick up the new policy")
	}
	assert.Equal(t, risk.Allow, e.Decide(t.Context(), "checkout", risk.Signals{Amount: 1500, Currency: "EUR"}).Outcome)
	ctx2, cancel2 := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel2()
	assert.ErrorIs(t, e.WaitUntilUpdated(ctx2), context.DeadlineExceeded)
}

func TestWatchFirstLoadFails(t *testing.T) {
	dir := t.TempDir()
	path := writePolicy(t, dir, `{"actions": [}`)
	_, err := risk.Watch(t.Context(), path)
	assert.ErrorIs(t, err, risk.ErrSyntax)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = risk.Watch(ctx, path)
	assert.ErrorIs(t, err, context.Canceled)
}

// TestConcurrentDecideAndReload runs decisions, explanations, records and
// reloads at once, for -race, and checks that every decision comes from
// one whole policy, old or new.
func TestConcurrentDecideAndReload(t *testing.T) {
	dir := t.TempDir()
	path := writePolicy(t, dir, denyOver(1000))
	e, err := risk.Watch(t.Context(), path, risk.WithPollInterval(time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	order := risk.Signals{Amount: 1500, Currency: "EUR", Card: "c"}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				d := e.Decide(t.Context(), "checkout", order)
				if d.Outcome == risk.Deny {
					assert.Equal(t, []risk.Reason{risk.ReasonAmountOverLimit}, d.Reasons)
				}
				_ = e.Explain(t.Context(), "checkout", order)
				_ = e.Record(t.Context(), "payment_failed", order)
			}
		})
	}
	for i := range 50 {
		writePolicy(t, dir, denyOver(1000+1000*(i%2)))
		_ = e.Reload(t.Context())
	}
	close(stop)
	wg.Wait()
}

func TestDecisionLog(t *testing.T) {
	var logs bytes.Buffer
	e, _ := loadEngine(t, risk.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	s := risk.Signals{Principal: newDevice(), Customer: "customer-4711", Card: "card-fp-secret", Amount: 100001, Currency: "EUR", History: history()}
	s.Principal.Subject = "subject-4711"
	e.Decide(t.Context(), "checkout", s)
	e.Decide(t.Context(), "refund", risk.Signals{Principal: known(), Numbers: map[string]float64{"ip_risk": 1}})
	out := logs.String()
	assert.Contains(t, out, `"msg":"risk decision","action":"checkout","outcome":"step_up","reasons":["new_device","amount_over_limit"],"score":60,"amount":100001,"currency":"EUR","acr":"mfa","max_age":600000000000`)
	assert.Contains(t, out, `"action":"refund","outcome":"allow","reasons":["ip_risk"],"score":0,"shadow":true,"shadow_outcome":"deny"`)
	for _, secret := range []string{"customer-4711", "subject-4711", "card-fp-secret", "dev-new", "cust-1"} {
		assert.False(t, strings.Contains(out, secret), "the log names a customer, card or device")
	}
}
