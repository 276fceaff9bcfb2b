package guard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/internal/test/shoprig"
)

// refuseRig is a guard recording to an in-memory meter and a JSON log.
type refuseRig struct {
	g      *guard.Guard
	reader *sdkmetric.ManualReader
	log    *bytes.Buffer
}

func newRefuseRig(t *testing.T) *refuseRig {
	t.Helper()
	iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
	a, err := authn.New(authn.Policy{Peer: authn.MatchID(shoprig.Checkout)}, authn.WithX509Bundles(iss.X509Bundle()))
	require.NoError(t, err)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { assert.NoError(t, mp.Shutdown(context.Background())) })
	var buf bytes.Buffer
	g, err := guard.New(a, guard.WithMeterProvider(mp),
		guard.WithLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)
	return &refuseRig{g: g, reader: reader, log: &buf}
}

// records returns the log records so far, and forgets them.
func (r *refuseRig) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(r.log.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		out = append(out, rec)
	}
	r.log.Reset()
	return out
}

// decisions returns the attribute sets of the ztkit.authn.decisions points,
// and the total count of the ztkit.authn.duration histogram.
func (r *refuseRig) decisions(t *testing.T) ([]attribute.Set, uint64) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.reader.Collect(context.Background(), &rm))
	var sets []attribute.Set
	var durations uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					durations += p.Count
				}
			}
		}
	}
	return sets, durations
}

// TestRefuse: a refusal decided outside Check is recorded as every refusal:
// the decision counter and duration histogram with its reason and route, the
// span attributes, one log record at the level of its cause, with the stage,
// and the cause's message only at Error.
func TestRefuse(t *testing.T) {
	cases := []struct {
		name   string
		ref    guard.Refusal
		cause  error
		status int
		level  string
		stage  string
	}{
		{"missing", guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonSignatureMissing, Detail: "A signature is required."}, nil, 401, "INFO", "signature"},
		{"malformed", guard.Refusal{Class: guard.ClassBadRequest, Reason: guard.ReasonSignatureMalformed}, errors.New("httpsig: malformed"), 400, "INFO", "signature"},
		{"invalid", guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonSignatureInvalid}, errors.New("httpsig: invalid"), 401, "WARN", "signature"},
		{"replayed", guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonSignatureReplayed}, nil, 401, "WARN", "signature"},
		{"digest", guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonDigestMismatch}, nil, 401, "WARN", "signature"},
		{"unavailable", guard.Refusal{Class: guard.ClassUnavailable, Reason: guard.ReasonSignatureUnavailable}, errors.New("dial tcp 10.0.0.9:6379: connection refused"), 503, "ERROR", "signature"},
		{"other", guard.Refusal{Class: guard.ClassBadRequest, Reason: guard.ReasonInvalidRequest}, nil, 400, "INFO", "transport"},
		{"zero class", guard.Refusal{Reason: guard.ReasonSignatureInvalid}, nil, 500, "ERROR", "transport"},
		{"no reason", guard.Refusal{Class: guard.ClassUnauthenticated}, nil, 500, "ERROR", "transport"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rig := newRefuseRig(t)
			sr := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
			ctx, span := tp.Tracer("test").Start(context.Background(), "request")
			req := &inbound.Request{Method: http.MethodPost, Path: "/webhooks/psp/4111111111111111", Route: "POST /webhooks/psp/{id}"}

			in := tc.ref
			got := rig.g.Refuse(ctx, req, in, time.Now().Add(-time.Millisecond), tc.cause)
			span.End()
			require.NotNil(t, got)
			assert.Equal(t, tc.ref, in, "the caller's refusal is not changed")
			assert.Equal(t, tc.status, got.HTTPStatus())
			assert.NotEmpty(t, got.Detail)
			if tc.ref.Detail != "" {
				assert.Equal(t, tc.ref.Detail, got.Detail)
			}

			recs := rig.records(t)
			require.Len(t, recs, 1)
			rec := recs[0]
			assert.Equal(t, guard.RefusalMessage, rec["msg"])
			assert.Equal(t, tc.level, rec["level"])
			assert.Equal(t, string(got.Reason), rec[guard.LogKeyReason])
			assert.EqualValues(t, tc.status, rec[guard.LogKeyStatus])
			assert.Equal(t, tc.stage, rec[guard.LogKeyStage])
			assert.Equal(t, "POST /webhooks/psp/{id}", rec[guard.LogKeyRoute])
			assert.NotContains(t, rig.log.String()+mustJSON(t, rec), "4111111111111111", "the path is never logged")
			if tc.level == "ERROR" && tc.cause != nil {
				assert.Contains(t, rec[guard.LogKeyError], "connection refused")
			} else {
				assert.NotContains(t, rec, guard.LogKeyError)
			}

			sets, durations := rig.decisions(t)
			require.Len(t, sets, 1)
			reason, _ := sets[0].Value("ztkit.authn.reason")
			assert.Equal(t, string(got.Reason), reason.AsString())
			outcome, _ := sets[0].Value("ztkit.authn.outcome")
			assert.Equal(t, "deny", outcome.AsString())
			route, _ := sets[0].Value("http.route")
			assert.Equal(t, "/webhooks/psp/{id}", route.AsString())
			assert.Equal(t, uint64(1), durations)

			spans := sr.Ended()
			require.Len(t, spans, 1)
			attrs := attribute.NewSet(spans[0].Attributes()...)
			v, _ := attrs.Value("ztkit.authn.reason")
			assert.Equal(t, string(got.Reason), v.AsString())
			v, _ = attrs.Value("ztkit.authn.outcome")
			assert.Equal(t, "deny", v.AsString())
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestRefuseMisuse: nil arguments and a nil Guard never panic.
func TestRefuseMisuse(t *testing.T) {
	rig := newRefuseRig(t)
	var nilCtx context.Context
	ref := rig.g.Refuse(nilCtx, nil, guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonSignatureMissing}, time.Time{}, nil)
	assert.Equal(t, guard.ReasonSignatureMissing, ref.Reason)
	assert.Len(t, rig.records(t), 1)

	var nilGuard *guard.Guard
	ref = nilGuard.Refuse(context.Background(), nil, guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonSignatureMissing}, time.Time{}, nil)
	assert.Equal(t, guard.ClassInternal, ref.Class)
}

// TestRetryAfterSecondsNeverWraps checks that a wait too long for a
// Duration's rounding (a RateLimiter of one's own may return one) is not
// turned into a short one, which would invite the client back at once.
func TestRetryAfterSecondsNeverWraps(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int64
	}{
		{-time.Second, 0}, {0, 0}, {1, 1}, {time.Second, 1}, {time.Second + 1, 2},
		{math.MaxInt64, math.MaxInt64/int64(time.Second) + 1},
		{math.MaxInt64 - time.Second + 2, math.MaxInt64 / int64(time.Second)},
	} {
		r := &guard.Refusal{Class: guard.ClassRateLimited, Reason: guard.ReasonRateLimited, RetryAfter: c.d}
		assert.Equal(t, c.want, r.RetryAfterSeconds(), "RetryAfter %d", int64(c.d))
	}
}
