package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/internal/test/shoprig"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// take returns the JSON records written so far, and forgets them.
func (s *syncBuffer) take(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(s.b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		out = append(out, rec)
	}
	s.b.Reset()
	return out
}

// verifyGuard is a guard that records to an in-memory meter and a JSON log,
// for the signature and webhook middleware.
type verifyGuard struct {
	g      *guard.Guard
	reader *sdkmetric.ManualReader
	log    *syncBuffer
}

func newVerifyGuard(t *testing.T) *verifyGuard {
	t.Helper()
	iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
	a, err := authn.New(authn.Policy{Peer: authn.MatchID(shoprig.Checkout)}, authn.WithX509Bundles(iss.X509Bundle()))
	require.NoError(t, err)
	return newVerifyGuardOf(t, func(opts ...guard.Option) (*guard.Guard, error) { return guard.New(a, opts...) })
}

// newRecorderGuard is a verifyGuard of guard.NewRecorder: no authenticator,
// as in a service that receives only webhooks.
func newRecorderGuard(t *testing.T) *verifyGuard {
	t.Helper()
	return newVerifyGuardOf(t, guard.NewRecorder)
}

func newVerifyGuardOf(t *testing.T, build func(...guard.Option) (*guard.Guard, error)) *verifyGuard {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { assert.NoError(t, mp.Shutdown(context.Background())) })
	log := &syncBuffer{}
	g, err := build(guard.WithMeterProvider(mp), guard.WithLogger(slog.New(slog.NewJSONHandler(log, nil))))
	require.NoError(t, err)
	return &verifyGuard{g: g, reader: reader, log: log}
}

// denials returns the count of refusals by reason in the decision counter.
func (v *verifyGuard) denials(t *testing.T) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, v.reader.Collect(context.Background(), &rm))
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if m.Name != "ztkit.authn.decisions" || !ok {
				continue
			}
			for _, p := range sum.DataPoints {
				r, _ := p.Attributes.Value("ztkit.authn.reason")
				out[r.AsString()] += p.Value
			}
		}
	}
	return out
}

// answer is a response as the tests look at it.
type answer struct {
	status int
	code   string // the problem's code, for a refusal
	body   string // the handler's answer, for a success
	header http.Header
}

// send sends req with client and reads the answer; the client accepts
// problem objects.
func send(t *testing.T, client *http.Client, req *http.Request) answer {
	t.Helper()
	req.Header.Set("Accept", "application/problem+json, application/json")
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		var p struct {
			Code string `json:"code"`
		}
		require.NoError(t, json.Unmarshal(b, &p))
		a.code = p.Code
	} else {
		a.body = string(b)
	}
	return a
}
