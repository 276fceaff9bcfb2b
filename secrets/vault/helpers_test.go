package vault_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/vault"
)

// Helpers of the tests that assert from what a service sees: a real Redis
// accepting (or not) the credential a Source hands out, the Source's metrics
// through a ManualReader, its OnRotate calls.

// redisCall makes one call to the Redis the database engine manages, on a new
// connection authenticated as the credential s, as a service would with a
// credential it just took from Source.Current: AUTH, then a write and a read.
// Its error never carries the password (Redis answers WRONGPASS or NOPERM).
// It may be called from any goroutine.
func redisCall(ctx context.Context, addr string, s *secrets.Secret) error {
	user, ok := s.Reveal("username")
	pass, ok2 := s.Reveal("password")
	if !ok || !ok2 {
		return errors.New("the credential has no username or no password")
	}
	rc := redis.NewClient(&redis.Options{
		Addr:            addr,
		Username:        user,
		Password:        pass,
		MaxRetries:      -1,
		PoolSize:        1,
		DialTimeout:     2 * time.Second,
		ReadTimeout:     2 * time.Second,
		WriteTimeout:    2 * time.Second,
		DisableIdentity: true,
	})
	defer rc.Close()
	key := "ztkit-test:" + user
	if err := rc.Set(ctx, key, "1", time.Minute).Err(); err != nil {
		return err
	}
	return rc.Get(ctx, key).Err()
}

// requireRedisGone waits until Redis refuses the credential s: Vault revoked
// it and the database plugin deleted the user.
func requireRedisGone(ctx context.Context, t *testing.T, s *secrets.Secret, within time.Duration) {
	t.Helper()
	addr := testenv.Require(t, testenv.VaultRedisAddrVar)
	require.Eventually(t, func() bool { return redisCall(ctx, addr, s) != nil }, within, 50*time.Millisecond,
		"Redis still accepts a credential whose lease ended")
}

// meters returns a MeterProvider whose metrics the test reads through a
// ManualReader.
func meters(t testing.TB) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, r
}

// counter returns the sum of the Int64Counter name over the data points
// whose attributes include every one of attrs.
// failureKinds lists the ztkit.secrets.failures points of a source as
// "operation/cause=n", for a failure message.
func failureKinds(t testing.TB, r *sdkmetric.ManualReader, source string) []string {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	var out []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if m.Name != "ztkit.secrets.failures" || !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				if v, ok := dp.Attributes.Value("ztkit.secrets.name"); !ok || v.AsString() != source {
					continue
				}
				op, _ := dp.Attributes.Value("ztkit.secrets.operation")
				cause, _ := dp.Attributes.Value("ztkit.secrets.cause")
				out = append(out, fmt.Sprintf("%s/%s=%d", op.AsString(), cause.AsString(), dp.Value))
			}
		}
	}
	return out
}

func counter(t testing.TB, r *sdkmetric.ManualReader, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			require.True(t, ok, "%s is an Int64Counter", name)
		points:
			for _, dp := range sum.DataPoints {
				for _, kv := range attrs {
					if v, ok := dp.Attributes.Value(kv.Key); !ok || v != kv.Value {
						continue points
					}
				}
				n += dp.Value
			}
		}
	}
	return n
}

func sourceName(name string) attribute.KeyValue {
	return attribute.String("ztkit.secrets.name", name)
}

// rotations records what a Source's OnRotate functions were called with.
type rotations struct {
	mu  sync.Mutex
	got []*secrets.Secret
	ch  chan *secrets.Secret
}

func watchRotations(src *secrets.Source) *rotations {
	r := &rotations{ch: make(chan *secrets.Secret, 64)}
	src.OnRotate(func(s *secrets.Secret) {
		r.mu.Lock()
		r.got = append(r.got, s)
		r.mu.Unlock()
		r.ch <- s
	})
	return r
}

func (r *rotations) all() []*secrets.Secret {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*secrets.Secret(nil), r.got...)
}

// next waits for the next rotation.
func (r *rotations) next(t *testing.T, within time.Duration) *secrets.Secret {
	t.Helper()
	select {
	case s := <-r.ch:
		return s
	case <-time.After(within):
		t.Fatalf("no rotation within %v", within)
		return nil
	}
}

// waitUntil waits, on the Source's Updated channel, until cond holds for
// what Current returns.
func waitUntil(t *testing.T, src *secrets.Source, within time.Duration, what string, cond func(*secrets.Secret, error) bool) {
	t.Helper()
	deadline := time.After(within)
	for {
		upd := src.Updated()
		if cond(src.Current()) {
			return
		}
		select {
		case <-upd:
		case <-deadline:
			t.Fatalf("%s: not within %v", what, within)
		}
	}
}

// privateVault is a private OpenBao server with the database engine
// issuing users of the test Redis, and a Client logged in to it through
// AppRole with tokens of tokenTTL (renewable up to tokenMaxTTL) allowed to
// read credentials of every role of that engine.
type privateVault struct {
	srv    *baotest.Server
	admin  *api.Client
	client *vault.Client
	mount  string
}

func startPrivateVault(t *testing.T, tokenTTL, tokenMaxTTL time.Duration, opts ...secrets.Option) *privateVault {
	t.Helper()
	srv := baotest.StartServer(t)
	a := srv.Client()
	a.SetMaxRetries(0)
	mount := baotest.RedisDatabase(t, a)
	login := appRoleLogin(t, a, `path "`+mount+`/creds/*" { capabilities = ["read"] }`, tokenTTL, tokenMaxTTL)
	cfg := srv.Config()
	cfg.MaxRetries = 0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := vault.New(ctx, cfg, login, append([]secrets.Option{fastBackoff}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &privateVault{srv: srv, admin: a, client: c, mount: mount}
}

// leaseSource starts a Source of the credentials of a new Redis role of pv
// (leases of ttl, at most maxTTL).
func (pv *privateVault) leaseSource(t *testing.T, name string, ttl, maxTTL time.Duration, opts ...secrets.Option) *secrets.Source {
	t.Helper()
	role := baotest.RedisRole(t, pv.admin, pv.mount, ttl, maxTTL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	src, err := secrets.NewSource(ctx, name, pv.client.Lease(pv.mount+"/creds/"+role, nil),
		append([]secrets.Option{fastBackoff}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// service is a loop of Redis calls, each on a new connection authenticated
// with the credential Source.Current returns at that moment: what a service
// does on its request path. It counts the calls and the failed ones.
type service struct {
	calls, failed atomic.Int64
	cancel        context.CancelFunc
	done          chan struct{}

	mu   sync.Mutex
	errs []string // the first few failures: Redis's or the Source's error text, never a secret
}

func startService(t *testing.T, src *secrets.Source, every time.Duration) *service {
	t.Helper()
	addr := testenv.Require(t, testenv.VaultRedisAddrVar)
	ctx, cancel := context.WithCancel(context.Background())
	s := &service{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			s.calls.Add(1)
			cred, err := src.Current()
			if err == nil {
				err = redisCall(ctx, addr, cred)
			}
			if err != nil && ctx.Err() == nil {
				s.failed.Add(1)
				s.mu.Lock()
				if len(s.errs) < 5 {
					s.errs = append(s.errs, time.Now().Format("15:04:05.000")+" "+err.Error())
				}
				s.mu.Unlock()
			}
		}
	}()
	t.Cleanup(s.stop)
	return s
}

// stop ends the loop and waits for it.
func (s *service) stop() {
	s.cancel()
	<-s.done
}

func (s *service) failures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errs...)
}
