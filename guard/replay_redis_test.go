package guard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metricnoop "go.opentelemetry.io/otel/metric/noop"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/internal/test/redistest"
	"github.com/ztkit/ztkit/internal/test/refusaltest"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/risk/rediscounter"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/redisreplay"
)

// roundTrips counts the round trips of the go-redis clients it hooks: one
// per command sent alone, one per pipeline.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

// take returns the round trips counted since the last take.
func (r *roundTrips) take() int64 { return r.n.Swap(0) }

// Risk policies of action "checkout", counted per customer on Redis.
const (
	// riskAllows never refuses (the count stays far below the rule).
	riskAllows = `{"actions": [{"action": "checkout", "on_counter_error": "deny", "rules": [
  {"id": "flood", "reason": "velocity_customer", "outcome": "deny",
   "when": {"velocity": {"event": "checkout", "key": "customer", "window": "1m", "over": 1000000}}}]}]}`
	// riskDenies refuses every checkout (the count includes this one).
	riskDenies = `{"actions": [{"action": "checkout", "on_counter_error": "deny", "rules": [
  {"id": "always", "reason": "velocity_customer", "outcome": "deny",
   "when": {"velocity": {"event": "checkout", "key": "customer", "window": "1m", "over": 0}}}]}]}`
)

// replayService is a service whose DPoP replay store and velocity counters
// are on Redis, with the client that sends proofs for the rig's token.
type replayService struct {
	g       *guard.Guard
	token   string
	proofer *dpop.Proofer
	trips   *roundTrips
	logs    *bytes.Buffer
}

// replayConfig says how a replayService is built.
type replayConfig struct {
	addr, prefix string
	// separate puts the replay store on a client of its own.
	separate bool
	// riskPolicy is the risk policy of the route's action "checkout"; ""
	// for no risk step.
	riskPolicy string
	// limit adds a rate limit (failing open when limitFailOpen) on the
	// route, before the risk step.
	limit, limitFailOpen bool
	// noAction names no step for the route (the steps are configured).
	noAction bool
	// authz adds an authorizer that allows (or denies, when deny) the route.
	authz, deny bool
	// inMemory keeps the velocity counters in memory (the replay store
	// stays on Redis).
	inMemory bool
	// noSteps: the guard only authenticates (and authorizes): the replay
	// check runs inside authentication, as before deferral.
	noSteps bool
	// syncReplay hides the store's pipelining: the replay check runs
	// inside authentication, in a round trip of its own, as before
	// deferral.
	syncReplay bool
	// signals is the risk step's guard.RiskSignals.
	signals guard.RiskSignals
}

// syncStore is a replay store that cannot be deferred.
type syncStore struct{ s *redisreplay.Store }

func (s syncStore) CheckAndStore(ctx context.Context, jkt, jti string, expiry time.Time) error {
	return s.s.CheckAndStore(ctx, jkt, jti, expiry)
}

// redisClient is a go-redis client to addr that fails fast while Redis is
// down, hooked by trips.
func redisClient(t testing.TB, addr string, trips *roundTrips) *redis.Client {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: 1, DialTimeout: 200 * time.Millisecond, DialerRetries: 1,
		ContextTimeoutEnabled: true})
	client.AddHook(trips)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func newReplayService(t testing.TB, rig *shoprig.Tokens, c replayConfig) *replayService {
	t.Helper()
	s := &replayService{trips: &roundTrips{}, logs: &bytes.Buffer{}}
	client := redisClient(t, c.addr, s.trips)
	replayClient := client
	if c.separate {
		replayClient = redisClient(t, c.addr, s.trips)
	}
	const timeout = 5 * time.Second // generous: -race on a loaded machine
	store, err := redisreplay.New(replayClient, redisreplay.WithKeyPrefix(c.prefix+"jti:"), redisreplay.WithTimeout(timeout))
	require.NoError(t, err)
	var ctr risk.Counter
	if c.inMemory {
		ctr = risk.NewMemoryCounter(10000)
	} else {
		ctr, err = rediscounter.New(client, rediscounter.WithKeyPrefix(c.prefix+"ctr:"), rediscounter.WithTimeout(timeout))
	}
	require.NoError(t, err)

	// Proofs and their verifier on the real clock: the replay keys live
	// as long as the proofs.
	var rs dpop.ReplayStore = store
	if c.syncReplay {
		rs = syncStore{store}
	}
	pv, err := dpop.NewVerifier(dpop.WithReplayStore(rs))
	require.NoError(t, err)
	rv, err := dpop.NewRequestVerifier(rig.Verifier, pv, dpop.WithExternalURL(externalURL))
	require.NoError(t, err)
	a, err := authn.New(authn.Policy{Token: authn.DPoPBoundToken}, authn.WithAccessTokens(rv))
	require.NoError(t, err)
	s.proofer, err = dpop.NewProofer(rig.ClientKey, "")
	require.NoError(t, err)
	s.token = rig.Token(t, nil)

	name := func(*inbound.Request, authz.Decision) string {
		if c.noAction {
			return ""
		}
		return "checkout"
	}
	opts := []guard.Option{guard.WithMeterProvider(metricnoop.NewMeterProvider()), guard.WithRealm(refusaltest.Realm),
		guard.WithLogger(slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}})))}
	if c.authz {
		routes := []string{"/{path...}"}
		if c.deny {
			routes = []string{"/admin/{path...}"}
		}
		az, err := authz.AuthorizePolicy(authz.Policy{Rules: []authz.Rule{{ID: "all", Effect: authz.Allow, Routes: routes, Match: authz.Match{AnyPrincipal: true}}}})
		require.NoError(t, err)
		opts = append(opts, guard.WithAuthorizer(az))
	}
	if !c.noSteps {
		if c.limit {
			l, err := risk.NewLimiter(map[string][]risk.Limit{"checkout": {{Name: "per_customer", Key: risk.KeyCustomer,
				Window: time.Minute, Max: 1000000, FailOpen: c.limitFailOpen}}}, risk.WithCounter(ctr))
			require.NoError(t, err)
			opts = append(opts, guard.WithRateLimits(l, name))
		}
		if c.riskPolicy != "" {
			p, err := risk.Parse("risk.json", []byte(c.riskPolicy))
			require.NoError(t, err)
			eng, err := risk.New(p, risk.WithCounter(ctr))
			require.NoError(t, err)
			opts = append(opts, guard.WithRisk(eng, name, c.signals))
		}
	}
	s.g, err = guard.New(a, opts...)
	require.NoError(t, err)

	// Warm up: a connection in the pool and the counters' script loaded.
	if ref := s.g.Check(t.Context(), s.request(t, s.proof(t))).Refusal; ref != nil {
		require.NotEqual(t, guard.ClassUnauthenticated, ref.Class, "warm-up refused: %s", ref.Reason)
		require.NotEqual(t, guard.ClassUnavailable, ref.Class, "warm-up refused: %s", ref.Reason)
	}
	s.trips.take()
	s.logs.Reset()
	return s
}

// proof returns a fresh proof for the service's GET /orders/123.
func (s *replayService) proof(t testing.TB) string {
	t.Helper()
	return shoprig.ProofWith(t, s.proofer, http.MethodGet, externalURL+"/orders/123", s.token, "")
}

func (s *replayService) request(t testing.TB, proof string) *inbound.Request {
	t.Helper()
	return &inbound.Request{Method: http.MethodGet, Path: "/orders/123", Route: "GET /orders/{id}",
		Authorization: []string{"DPoP " + s.token}, DPoP: []string{proof}, RemoteAddr: netip.MustParseAddr("192.0.2.7")}
}

// logRecords returns the service's log records since the last call.
func (s *replayService) logRecords(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range bytes.Lines(s.logs.Bytes()) {
		var m map[string]any
		require.NoError(t, json.Unmarshal(line, &m))
		out = append(out, m)
	}
	s.logs.Reset()
	return out
}

// replayedRefusal is how authentication alone (the replay check inside it,
// no deferral) refuses a replayed proof, and what it logs.
func replayedRefusal(t *testing.T, rig *shoprig.Tokens, addr, prefix string) (*guard.Refusal, []map[string]any) {
	t.Helper()
	s := newReplayService(t, rig, replayConfig{addr: addr, prefix: prefix + "sync:", noSteps: true})
	proof := s.proof(t)
	require.Nil(t, s.g.Check(t.Context(), s.request(t, proof)).Refusal)
	assert.Equal(t, int64(1), s.trips.take(), "authentication alone: one SET NX")
	s.logRecords(t)
	res := s.g.Check(t.Context(), s.request(t, proof))
	require.NotNil(t, res.Refusal)
	require.Equal(t, guard.ReasonProofReplayed, res.Refusal.Reason)
	return res.Refusal, s.logRecords(t)
}

// TestReplayPipelined: a DPoP request whose action is decided on Redis
// counters makes one round trip (the replay SET NX and the counters'
// EVALSHA in one pipeline), and a replayed proof is refused exactly as
// authentication refuses it (class, reason, challenge, log record),
// whatever the steps decide, in as many round trips as the request needs
// without a replay.
func TestReplayPipelined(t *testing.T) {
	addr := testenv.Require(t, testenv.RedisAddrVar)
	rig := shoprig.NewTokens(t)
	prefix := redisPrefix(t, addr)
	wantRef, wantLog := replayedRefusal(t, rig, addr, prefix)

	tests := []struct {
		name string
		cfg  replayConfig
		// trips is the round trips of a request; reason that of a fresh
		// proof's refusal ("" when allowed).
		trips  int64
		reason guard.Reason
	}{
		{name: "risk allows", cfg: replayConfig{riskPolicy: riskAllows}, trips: 1},
		{name: "risk denies", cfg: replayConfig{riskPolicy: riskDenies}, trips: 1, reason: guard.ReasonRiskDenied},
		{name: "authz and risk", cfg: replayConfig{riskPolicy: riskAllows, authz: true}, trips: 1},
		// The limiter's count carries the replay check, the engine's is a
		// round trip of its own.
		{name: "limit and risk", cfg: replayConfig{riskPolicy: riskAllows, limit: true}, trips: 2},
		{name: "limit only", cfg: replayConfig{limit: true}, trips: 1},
		// No count to carry it: the guard sends the check alone before it
		// answers.
		{name: "no action", cfg: replayConfig{riskPolicy: riskAllows, limit: true, noAction: true}, trips: 1},
		{name: "authz allows, no action", cfg: replayConfig{riskPolicy: riskAllows, authz: true, noAction: true}, trips: 1},
		{name: "authz denies", cfg: replayConfig{riskPolicy: riskAllows, authz: true, deny: true}, trips: 1, reason: guard.Reason(authz.ReasonNoRule)},
		{name: "counters in memory", cfg: replayConfig{riskPolicy: riskAllows, limit: true, inMemory: true}, trips: 1},
		// Two clients, two round trips.
		{name: "separate clients", cfg: replayConfig{riskPolicy: riskAllows, separate: true}, trips: 2},
		{name: "separate clients, risk denies", cfg: replayConfig{riskPolicy: riskDenies, separate: true}, trips: 2, reason: guard.ReasonRiskDenied},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.addr, tt.cfg.prefix = addr, prefix+string(rune('a'+i))+":"
			s := newReplayService(t, rig, tt.cfg)
			proof := s.proof(t)
			res := s.g.Check(t.Context(), s.request(t, proof))
			if tt.reason == "" {
				assert.Nil(t, res.Refusal)
			} else if assert.NotNil(t, res.Refusal) {
				assert.Equal(t, tt.reason, res.Refusal.Reason)
			}
			assert.Equal(t, tt.trips, s.trips.take(), "round trips of a request")
			s.logRecords(t)

			res = s.g.Check(t.Context(), s.request(t, proof))
			require.NotNil(t, res.Refusal, "a replayed proof is refused")
			assert.Equal(t, wantRef, res.Refusal, "as authentication refuses it")
			assert.Nil(t, res.Principal)
			assert.Equal(t, wantLog, s.logRecords(t), "and logged as authentication logs it")
			assert.Equal(t, tt.trips, s.trips.take(), "round trips of a replayed request")
		})
	}
}

// TestReplayPipelinedRedisDown: Redis killed, a request is refused with
// dpop_replay_unavailable (fail closed), as authentication refuses it,
// even when its rate limit fails open; the same once Redis answers again
// for a new proof, which passes.
func TestReplayPipelinedRedisDown(t *testing.T) {
	srv := redistest.Start(t, "")
	rig := shoprig.NewTokens(t)
	s := newReplayService(t, rig, replayConfig{addr: srv.Addr, prefix: "down:", limit: true, limitFailOpen: true})
	srv.Kill()
	for range 3 {
		res := s.g.Check(t.Context(), s.request(t, s.proof(t)))
		require.NotNil(t, res.Refusal)
		assert.Equal(t, guard.ReasonReplayUnavailable, res.Refusal.Reason)
		assert.Equal(t, guard.ClassUnavailable, res.Refusal.Class)
		assert.Nil(t, res.Principal)
	}
	logs := s.logRecords(t)
	require.NotEmpty(t, logs)
	assert.Equal(t, "ERROR", logs[0]["level"])
	assert.Equal(t, string(guard.ReasonReplayUnavailable), logs[0][guard.LogKeyReason])

	redistest.Start(t, srv.Addr)
	proof := s.proof(t)
	require.Eventually(t, func() bool { return s.g.Check(t.Context(), s.request(t, proof)).Refusal == nil }, 10*time.Second, 50*time.Millisecond)
	res := s.g.Check(t.Context(), s.request(t, proof))
	require.NotNil(t, res.Refusal)
	assert.Equal(t, guard.ReasonProofReplayed, res.Refusal.Reason)
}

// TestReplayPipelinedConcurrent: one proof sent at once by many goroutines
// to replicas on their own clients is allowed exactly once; every other
// attempt is refused as replayed.
func TestReplayPipelinedConcurrent(t *testing.T) {
	addr := testenv.Require(t, testenv.RedisAddrVar)
	rig := shoprig.NewTokens(t)
	prefix := redisPrefix(t, addr)
	const replicas, workers = 4, 16
	gs := make([]*replayService, replicas)
	for i := range gs {
		gs[i] = newReplayService(t, rig, replayConfig{addr: addr, prefix: prefix, riskPolicy: riskAllows, limit: true})
	}
	for round := range 5 {
		proof := gs[0].proof(t)
		var allowed, replayed, other atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, s := range gs {
			for range workers {
				wg.Go(func() {
					<-start
					res := s.g.Check(context.Background(), gs[0].request(t, proof)) // one token and proof
					switch {
					case res.Refusal == nil:
						allowed.Add(1)
					case res.Refusal.Reason == guard.ReasonProofReplayed:
						replayed.Add(1)
					default:
						other.Add(1)
					}
				})
			}
		}
		close(start)
		wg.Wait()
		assert.Equal(t, int64(1), allowed.Load(), "round %d: allowed once", round)
		assert.Equal(t, int64(replicas*workers-1), replayed.Load(), "round %d: every other attempt replayed", round)
		assert.Zero(t, other.Load(), "round %d", round)
	}
}

// TestReplayNestedGuard: a guard's Check called inside another guard's
// steps (here its RiskSignals, with the context the outer guard hands
// them) never answers before its own proof's replay verdict: the proof is
// not deferred into the outer guard's collector, which would resolve it
// only after the inner guard had let it through.
func TestReplayNestedGuard(t *testing.T) {
	addr := testenv.Require(t, testenv.RedisAddrVar)
	rig := shoprig.NewTokens(t)
	prefix := redisPrefix(t, addr)
	for _, tt := range []struct {
		name  string
		outer replayConfig
		inner replayConfig
	}{
		// The outer proof's check runs inside authentication: its
		// collector stays empty.
		{name: "outer checks alone, inner without steps", outer: replayConfig{riskPolicy: riskAllows, syncReplay: true}, inner: replayConfig{noSteps: true}},
		{name: "outer checks alone, inner with steps", outer: replayConfig{riskPolicy: riskAllows, syncReplay: true}, inner: replayConfig{riskPolicy: riskAllows}},
		{name: "outer deferred, inner without steps", outer: replayConfig{riskPolicy: riskAllows}, inner: replayConfig{noSteps: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.inner.addr, tt.inner.prefix = addr, prefix+tt.name+":in:"
			inner := newReplayService(t, rig, tt.inner)
			replayed := inner.proof(t)
			require.Nil(t, inner.g.Check(t.Context(), inner.request(t, replayed)).Refusal)
			var got guard.Result
			calls, armed := 0, false
			tt.outer.addr, tt.outer.prefix = addr, prefix+tt.name+":out:"
			tt.outer.signals = func(ctx context.Context, _ *inbound.Request, _ *risk.Signals) {
				if armed { // not during the warm-up
					calls++
					got = inner.g.Check(ctx, inner.request(t, replayed))
				}
			}
			outer := newReplayService(t, rig, tt.outer)
			armed = true
			require.Nil(t, outer.g.Check(t.Context(), outer.request(t, outer.proof(t))).Refusal, "the outer request is new")
			require.Equal(t, 1, calls)
			require.NotNil(t, got.Refusal, "the inner guard let a replayed proof through")
			assert.Equal(t, guard.ReasonProofReplayed, got.Refusal.Reason)
		})
	}
}
