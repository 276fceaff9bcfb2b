package guard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/risk"
)

// TestNewRecorder: a guard without an authenticator records the refusals
// decided outside Check, and its Check refuses everything (fail closed).
func TestNewRecorder(t *testing.T) {
	var buf bytes.Buffer
	g, err := guard.NewRecorder(guard.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	require.NoError(t, err)
	records := func(t *testing.T) []map[string]any {
		t.Helper()
		var out []map[string]any
		for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &rec))
			out = append(out, rec)
		}
		buf.Reset()
		return out
	}
	req := &inbound.Request{Method: http.MethodPost, Path: "/webhooks/psp", Route: "POST /webhooks/psp"}

	t.Run("Check refuses everything", func(t *testing.T) {
		for _, r := range []*inbound.Request{req, {Method: http.MethodGet, Path: "/"}} {
			res := g.Check(context.Background(), r)
			require.NotNil(t, res.Refusal)
			assert.Nil(t, res.Principal)
			assert.Equal(t, guard.ClassInternal, res.Refusal.Class)
			assert.Equal(t, guard.ReasonInternal, res.Refusal.Reason)
			assert.Equal(t, http.StatusInternalServerError, res.Refusal.HTTPStatus())
			assert.Empty(t, res.Refusal.Challenges)
			recs := records(t)
			require.Len(t, recs, 1)
			assert.Equal(t, "ERROR", recs[0]["level"])
			assert.Equal(t, string(guard.ReasonInternal), recs[0][guard.LogKeyReason])
		}
	})
	t.Run("Refuse records", func(t *testing.T) {
		ref := g.Refuse(context.Background(), req, guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonSignatureReplayed},
			time.Now(), errors.New("webhook id seen before"))
		require.NotNil(t, ref)
		assert.Equal(t, http.StatusUnauthorized, ref.HTTPStatus())
		recs := records(t)
		require.Len(t, recs, 1)
		assert.Equal(t, "WARN", recs[0]["level"])
		assert.Equal(t, "signature", recs[0][guard.LogKeyStage])
		assert.Equal(t, string(guard.ReasonSignatureReplayed), recs[0][guard.LogKeyReason])
	})
	t.Run("Reject records", func(t *testing.T) {
		ref := g.Reject(context.Background(), req, "The request is missing.")
		require.NotNil(t, ref)
		assert.Equal(t, http.StatusBadRequest, ref.HTTPStatus())
		assert.Len(t, records(t), 1)
	})
	t.Run("CheckRisk refuses", func(t *testing.T) {
		ref := g.CheckRisk(context.Background(), req, "refund", risk.Signals{})
		require.NotNil(t, ref)
		assert.Equal(t, guard.ClassInternal, ref.Class)
	})
	assert.Empty(t, g.Nonce())
}

// stubDecider and stubLimiter stand for a risk engine and a rate limiter
// that NewRecorder must refuse before using.
type stubDecider struct{}

func (stubDecider) Decide(context.Context, string, risk.Signals) risk.Decision {
	return risk.Decision{}
}

type stubLimiter struct{}

func (stubLimiter) Allow(context.Context, string, risk.Caller) risk.LimitResult {
	return risk.LimitResult{}
}

// TestNewRecorderOptions: the options that decide on an authenticated
// caller have none with a recorder, and are refused; the others are taken.
func TestNewRecorderOptions(t *testing.T) {
	actions := func(*inbound.Request, authz.Decision) string { return "refund" }
	for name, o := range map[string]guard.Option{
		"authorizer":  guard.WithAuthorizer(authz.DenyAll()),
		"risk":        guard.WithRisk(stubDecider{}, actions, nil),
		"rate limits": guard.WithRateLimits(stubLimiter{}, actions),
	} {
		t.Run(name, func(t *testing.T) {
			g, err := guard.NewRecorder(guard.WithLogger(slog.New(slog.DiscardHandler)), o)
			assert.ErrorIs(t, err, authn.ErrInvalidConfig)
			assert.Nil(t, g)
		})
	}
	g, err := guard.NewRecorder(nil, guard.WithRealm("shop"), guard.WithLogger(nil), guard.WithMeterProvider(nil))
	require.NoError(t, err)
	assert.NotNil(t, g.Check(context.Background(), &inbound.Request{Method: http.MethodGet, Path: "/"}).Refusal)
}
