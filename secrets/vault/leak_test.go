package vault_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/vault"
)

// syncBuffer is a bytes.Buffer that several goroutines may write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSpace(b.buf.String()), "\n")
}

// secretSet is every secret value of the leak test, by label. Values are
// never printed: a failure names the label.
type secretSet struct {
	mu   sync.Mutex
	vals map[string]string
}

func (s *secretSet) add(label, v string) {
	if v == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vals[fmt.Sprintf("%s #%d", label, len(s.vals))] = v
}

// scan asserts that text holds none of the secrets, nor the first 12
// characters of any (a value cut short in a message still leaks).
func (s *secretSet) scan(t *testing.T, where, text string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for label, v := range s.vals {
		assert.False(t, strings.Contains(text, v[:min(12, len(v))]), "%s holds the %s", where, label)
	}
}

// A leak test. A canary secret flows through KV (written with the root
// token), a Source and its OnRotate functions (one of which logs the secret
// the careless way and another panics with its value), debug logging of the
// Source and the Client, the metrics, and error strings from every failure
// the test can provoke (a refused path and login, a revoked lease, Vault
// down, a credential expired, a closed Source), recorded on spans the way a
// service records its errors (package secrets records no spans of its own).
// Every captured log line, span, metric attribute and error string is
// scanned for the canaries, the Vault tokens, the root token, the AppRole
// secret IDs and the Redis passwords: zero hits.
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	secretsSeen := &secretSet{vals: map[string]string{}}
	canary1 := "canary-" + rand.Text()
	canary2 := "canary-" + rand.Text()
	refusedSecretID := "canary-" + rand.Text()
	secretsSeen.add("KV canary", canary1)
	secretsSeen.add("KV canary", canary2)
	secretsSeen.add("refused AppRole secret ID", refusedSecretID)

	srv := baotest.StartServer(t)
	a := srv.Client()
	a.SetMaxRetries(0)
	secretsSeen.add("root token", srv.RootToken)
	kv := baotest.Mount(t, a, "kv-v2")
	_, err := a.KVv2(kv).Put(ctx, "payments/processor", map[string]any{"api_key": canary1, "n": 1})
	require.NoError(t, err)
	db := baotest.RedisDatabase(t, a)
	role := baotest.RedisRole(t, a, db, 2*time.Second, time.Minute)
	login, secretID := appRoleLoginSecret(t, a, `
path "`+kv+`/data/payments/*" { capabilities = ["read"] }
path "`+db+`/creds/*" { capabilities = ["read"] }`, time.Minute, time.Hour)
	secretsSeen.add("AppRole secret ID", secretID)

	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mp, reader := meters(t)
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracer := tp.Tracer("leak-test")
	var errs []error
	provoked := func(what string, err error) {
		t.Helper()
		require.Error(t, err, what)
		errs = append(errs, err)
		_, span := tracer.Start(ctx, what)
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		span.End()
	}
	opts := []secrets.Option{secrets.WithLogger(logger), secrets.WithMeterProvider(mp), fastBackoff}

	cfg := srv.Config()
	cfg.MaxRetries = 0
	c, err := vault.New(ctx, cfg, login, opts...)
	require.NoError(t, err)
	defer c.Close()
	tok, err := c.Token().Current()
	require.NoError(t, err)
	v, _ := tok.Reveal("token")
	secretsSeen.add("Vault token", v)
	c.Token().OnRotate(func(s *secrets.Secret) {
		v, _ := s.Reveal("token")
		secretsSeen.add("Vault token", v)
	})

	// The canary through a KV Source and its callbacks.
	kvSrc, err := secrets.NewSource(ctx, "processor", c.KV(kv, "payments/processor"),
		append(opts, secrets.WithRefresh(100*time.Millisecond))...)
	require.NoError(t, err)
	defer kvSrc.Close()
	got := make(chan bool, 1)
	kvSrc.OnRotate(func(s *secrets.Secret) {
		// What a careless service does with a secret.
		b, _ := json.Marshal(s)
		logger.Info("processor key rotated", "secret", s, "as_json", string(b),
			"as_fmt", fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s), "lease", s.Lease())
		v, _ := s.Reveal("api_key")
		got <- v == canary2
	})
	kvSrc.OnRotate(func(s *secrets.Secret) {
		v, _ := s.Reveal("api_key")
		panic("callback failed with key " + v)
	})
	first, err := kvSrc.Current()
	require.NoError(t, err)
	v, _ = first.Reveal("api_key")
	require.True(t, v == canary1, "the Source read the canary")
	_, err = a.KVv2(kv).Put(ctx, "payments/processor", map[string]any{"api_key": canary2, "n": 2})
	require.NoError(t, err)
	select {
	case ok := <-got:
		require.True(t, ok, "the callback got the second canary")
	case <-time.After(5 * time.Second):
		t.Fatal("no rotation of the KV secret")
	}

	// A dynamic credential, whose passwords are secrets too.
	leaseSrc, err := secrets.NewSource(ctx, "cache", c.Lease(db+"/creds/"+role, nil), opts...)
	require.NoError(t, err)
	defer leaseSrc.Close()
	cred, err := leaseSrc.Current()
	require.NoError(t, err)
	p, _ := cred.Reveal("password")
	secretsSeen.add("Redis password", p)
	leaseRotated := make(chan struct{}, 8)
	leaseSrc.OnRotate(func(s *secrets.Secret) {
		p, _ := s.Reveal("password")
		secretsSeen.add("Redis password", p)
		leaseRotated <- struct{}{}
	})
	waitUntil(t, leaseSrc, 3*time.Second, "renewed", func(s *secrets.Secret, err error) bool {
		return err == nil && s.Lease().ExpiresAt.After(cred.Lease().ExpiresAt)
	})

	// Refusals.
	_, err = secrets.NewSource(ctx, "other", c.KV(kv, "elsewhere/key"), opts...)
	provoked("refused path", err)
	_, err = c.KV(kv, "payments/nothing-here").Issue(ctx)
	provoked("no secret", err)
	badLogin, err := vault.AppRole("approle", "no-such-role", secrets.NewSecret(map[string]string{"secret_id": refusedSecretID}, secrets.Lease{}))
	require.NoError(t, err)
	_, err = vault.New(ctx, cfg, badLogin, opts...)
	provoked("refused login", err)
	require.NoError(t, a.Sys().RevokeWithContext(ctx, cred.Lease().ID))
	_, err = c.Lease(db+"/creds/"+role, nil).Renew(ctx, cred)
	provoked("revoked lease", err)
	select {
	case <-leaseRotated: // the Source's renewal was refused too, and it issued a new credential
	case <-time.After(3 * time.Second):
		t.Fatal("no new credential after the lease was revoked")
	}

	// Vault down, and a credential expired.
	require.NoError(t, srv.Stop())
	provoked("rotate, Vault down", kvSrc.Rotate(ctx))
	provoked("rotate lease, Vault down", leaseSrc.Rotate(ctx))
	provoked("login, Vault down", c.Token().Rotate(ctx))
	_, err = c.KV(kv, "payments/processor").Issue(ctx)
	provoked("KV read, Vault down", err)
	now, _ := leaseSrc.Current()
	if now != nil {
		_, err = c.Lease(db+"/creds/"+role, nil).Renew(ctx, now)
		provoked("renew, Vault down", err)
	}
	waitUntil(t, leaseSrc, 5*time.Second, "credential expired", func(_ *secrets.Secret, err error) bool { return err != nil })
	_, err = leaseSrc.Current()
	provoked("expired", err)
	require.NoError(t, srv.Start())
	require.NoError(t, srv.Unseal())
	waitUntil(t, leaseSrc, 10*time.Second, "recovered", func(_ *secrets.Secret, err error) bool { return err == nil })

	// Closed.
	require.NoError(t, kvSrc.Close())
	_, err = kvSrc.Current()
	provoked("closed source", err)
	require.NoError(t, leaseSrc.Close())
	require.NoError(t, c.Close())
	_, err = c.KV(kv, "payments/processor").Issue(ctx)
	provoked("closed client", err)

	// Scan everything captured.
	lines := logs.lines()
	require.Greater(t, len(lines), 20, "debug logging captured")
	joined := strings.Join(lines, "\n")
	for _, want := range []string{
		"credential rotated", "lease renewed", "failed, retrying", "credential expired with no replacement",
		"rotation callback panicked", "renewal refused", "processor key rotated", "[REDACTED]",
	} {
		// Not assert.Contains: it would print the logs, which could hold a secret.
		assert.True(t, strings.Contains(joined, want), "the logs cover %q", want)
	}
	for i, line := range lines {
		secretsSeen.scan(t, fmt.Sprintf("log line %d", i), line)
	}
	for i, err := range errs {
		secretsSeen.scan(t, fmt.Sprintf("error %d", i), err.Error())
		secretsSeen.scan(t, fmt.Sprintf("error %d (%%+v)", i), fmt.Sprintf("%+v %#v", err, err))
	}
	recorded := spans.GetSpans()
	require.Len(t, recorded, len(errs))
	for _, s := range recorded {
		texts := []string{s.Name, s.Status.Description}
		for _, e := range s.Events {
			texts = append(texts, e.Name, attributesText(e.Attributes))
		}
		texts = append(texts, attributesText(s.Attributes))
		secretsSeen.scan(t, "span "+s.Name, strings.Join(texts, " "))
	}
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	points := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, set := range metricSets(m.Data) {
				points++
				secretsSeen.scan(t, "metric "+m.Name, set.Encoded(attribute.DefaultEncoder()))
			}
		}
	}
	assert.Greater(t, points, 5, "metrics captured")
}

func attributesText(kvs []attribute.KeyValue) string {
	set := attribute.NewSet(kvs...)
	return set.Encoded(attribute.DefaultEncoder())
}

// metricSets returns the attribute sets of a metric's data points.
func metricSets(data metricdata.Aggregation) []attribute.Set {
	var sets []attribute.Set
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	case metricdata.Sum[float64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	case metricdata.Gauge[int64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	case metricdata.Gauge[float64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	}
	return sets
}
