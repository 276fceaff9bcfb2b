package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/risk/rediscounter"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/redisreplay"
)

// The replay-and-risk benchmark times one DPoP-bound checkout request
// (POST origin+path, the rig's token and a fresh proof) through everything
// a service asks Redis on its way in: the token and the proof verified, the
// proof's jti checked against replay on Redis (RFC 9449 §11.1), and the
// checkout decided with BenchmarkRisk's two velocity windows on Redis.
// ztkit does it with guard.Check (the only public path that pipelines the
// replay check with the count), tokens/dpop/redisreplay and
// risk/rediscounter, on one go-redis client (one round trip) and with the
// replay store on a client of its own (pipelining unavailable: two round
// trips). Beside it, what a user assembles: golang-jwt and the hand-written
// go-jose proof check of BenchmarkDPoPRequest, a go-redis SET NX of the jti,
// and then the hand-written sorted-set window (two round trips) or the same
// commands in one pipeline (one round trip), or redis_rate (three).
//
// Every contender verifies the token's signature on every request (ztkit's
// token cache is off), so that what differs is the Redis part and the code
// around it. The customer (and card) of each request is named in the
// replayRiskCustomer header, a different one per request, so that no window
// fills up during a run: one token, many customers.

// replayRiskCustomer is the header naming the request's customer and card.
const replayRiskCustomer = "X-Bench-Customer"

// replayRiskCustomers is how many customers the benchmark rotates through:
// a customer's sixth checkout in the hour, flagged, comes only after five
// times as many requests in one sub-benchmark (each has its own keys).
const replayRiskCustomers = 1 << 16

// replayRiskCheck handles one request: flagged reports that the checkout
// decision stopped it; err is errReplayed for a replayed proof.
type replayRiskCheck func(ctx context.Context, req *http.Request) (flagged bool, err error)

// replayRiskContender builds its check on fresh keys.
type replayRiskContender struct {
	name  string
	build func(tb testing.TB) replayRiskCheck
}

// replayRiskEnv is what every contender shares: the rig, two clients to the
// test Redis (the second for ztkit's replay store when it is not to share
// the first) hooked by one round-trip counter.
type replayRiskEnv struct {
	rig             *rig
	client, client2 *redis.Client
	trips           *riskTrips
	thumbprint      string
}

func newReplayRiskEnv(tb testing.TB) *replayRiskEnv {
	tb.Helper()
	addr := testenv.Require(tb, testenv.RedisAddrVar)
	e := &replayRiskEnv{rig: newRig(tb, "ES256"), trips: &riskTrips{}}
	e.thumbprint = e.rig.proofs.Thumbprint()
	for _, c := range []**redis.Client{&e.client, &e.client2} {
		*c = redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		(*c).AddHook(e.trips)
		tb.Cleanup(func() { _ = (*c).Close() })
	}
	return e
}

// prefix returns a fresh key prefix whose keys are deleted at the end of tb.
func (e *replayRiskEnv) prefix(tb testing.TB) string {
	tb.Helper()
	prefix := "ztkit-bench:replayrisk:" + rand.Text() + ":"
	tb.Cleanup(func() { deleteKeys(e.client, prefix) })
	return prefix
}

// deleteKeys unlinks every key under prefix, a page of SCAN at a time.
func deleteKeys(client redis.UniversalClient, prefix string) {
	ctx := context.Background()
	var cursor uint64
	for {
		keys, next, err := client.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			return
		}
		if len(keys) > 0 {
			_ = client.Unlink(ctx, keys...).Err()
		}
		if cursor = next; cursor == 0 {
			return
		}
	}
}

// contenders are ztkit, on one client and on two, and the user's stacks.
func (e *replayRiskEnv) contenders() []replayRiskContender {
	return []replayRiskContender{
		{"ztkit-pipelined", func(tb testing.TB) replayRiskCheck { return e.ztkit(tb, e.client) }},
		{"ztkit-separate-clients", func(tb testing.TB) replayRiskCheck { return e.ztkit(tb, e.client2) }},
		{"go-redis-setnx+zset-hand", func(tb testing.TB) replayRiskCheck { return e.hand(tb, false) }},
		{"go-redis-setnx+zset-hand-pipelined", func(tb testing.TB) replayRiskCheck { return e.hand(tb, true) }},
		{"go-redis-setnx+redis_rate", e.handRate},
	}
}

// ztkit is guard.Check with the DPoP request verifier of BenchmarkDPoPRequest
// (ES256 only, ztkit's default proof window, no token cache) on a
// redisreplay.Store of replayClient, and the risk engine of BenchmarkRisk
// on a rediscounter.Counter of e.client for the action "checkout". The
// service's signals are BenchmarkRisk's, for the request's customer.
func (e *replayRiskEnv) ztkit(tb testing.TB, replayClient *redis.Client) replayRiskCheck {
	tb.Helper()
	prefix := e.prefix(tb)
	store, err := redisreplay.New(replayClient, redisreplay.WithKeyPrefix(prefix+"jti:"))
	require.NoError(tb, err)
	ctr, err := rediscounter.New(e.client, rediscounter.WithKeyPrefix(prefix+"ctr:"),
		rediscounter.WithHashKey([]byte("bench-hash-key-0123456789abcdef")))
	require.NoError(tb, err)
	pv, err := dpop.NewVerifier(dpop.WithReplayStore(store), dpop.WithAlgorithms("ES256"),
		dpop.WithMaxAge(proofMaxAge), dpop.WithLeeway(proofLeeway))
	require.NoError(tb, err)
	rv, err := dpop.NewRequestVerifier(ztkitTokenVerifier(tb, e.rig, 0), pv, dpop.WithExternalURL(origin))
	require.NoError(tb, err)
	a, err := authn.New(authn.Policy{Token: authn.DPoPBoundToken}, authn.WithAccessTokens(rv))
	require.NoError(tb, err)
	history := risk.History{Orders: 4, MaxAmount: 50000, Devices: []string{"dev-0", e.thumbprint}}
	signals := func(_ context.Context, req *inbound.Request, s *risk.Signals) {
		if v := req.Values(replayRiskCustomer); len(v) == 1 {
			s.Customer, s.Card = v[0], v[0]
		}
		s.Amount, s.Currency, s.History = 5000, "EUR", history
	}
	checkout := func(*inbound.Request, authz.Decision) string { return "checkout" }
	g, err := guard.New(a, guard.WithRisk(riskEngine(tb, ctr), checkout, signals))
	require.NoError(tb, err)
	return func(ctx context.Context, r *http.Request) (bool, error) {
		req := inbound.FromHTTP(r)
		ref := g.Check(ctx, &req).Refusal
		switch {
		case ref == nil:
			return false, nil
		case ref.Reason == guard.ReasonRiskStepUp || ref.Reason == guard.ReasonRiskDenied:
			return true, nil
		case ref.Reason == guard.ReasonProofReplayed:
			return false, errReplayed
		}
		return false, errors.New("bench: refused: " + string(ref.Reason))
	}
}

// handAuth verifies r's token (golang-jwt) and proof (hand-written, no
// replay check), as BenchmarkDPoPRequest's hand-assembled stack does, and
// returns the proof's jti, until when to keep it, and the customer.
type handAuth func(r *http.Request) (jti string, exp time.Time, customer string, err error)

func (e *replayRiskEnv) handAuth() handAuth {
	p, keyFunc := golangJWTParser(e.rig)
	return func(r *http.Request) (string, time.Time, string, error) {
		token, proof, jkt, err := handVerifyToken(p, keyFunc, r)
		if err != nil {
			return "", time.Time{}, "", err
		}
		jti, exp, err := handVerifyProof(proof, &proofReq{method: r.Method, url: origin + r.URL.EscapedPath(), token: token, jkt: jkt})
		return jti, exp, r.Header.Get(replayRiskCustomer), err
	}
}

// hand is the user's stack on go-redis: SET jti NX PX (the time the proof
// stays valid), then the sorted-set window of BenchmarkRisk; pipelined, both
// in one pipeline (the window then counts a replayed request too, as
// ztkit-pipelined does).
func (e *replayRiskEnv) hand(tb testing.TB, pipelined bool) replayRiskCheck {
	tb.Helper()
	prefix := e.prefix(tb)
	auth := e.handAuth()
	client := e.client
	var seq atomic.Uint64
	return func(ctx context.Context, r *http.Request) (bool, error) {
		jti, exp, customer, err := auth(r)
		if err != nil {
			return false, err
		}
		var fresh *redis.BoolCmd
		pipe := client.Pipeline()
		if pipelined {
			fresh = pipe.SetNX(ctx, prefix+"jti:"+jti, 1, time.Until(exp))
		} else {
			ok, err := client.SetNX(ctx, prefix+"jti:"+jti, 1, time.Until(exp)).Result()
			if err != nil {
				return false, err
			}
			if !ok {
				return false, errReplayed
			}
		}
		checkouts, failures := queueZSet(ctx, pipe, prefix+"zset:", customer, customer, &seq)
		if _, err := pipe.Exec(ctx); err != nil {
			return false, err
		}
		if fresh != nil && !fresh.Val() {
			return false, errReplayed
		}
		return zsetOver(checkouts, failures), nil
	}
}

// handRate is SET jti NX PX, then BenchmarkRisk's redis_rate decider: three
// round trips.
func (e *replayRiskEnv) handRate(tb testing.TB) replayRiskCheck {
	tb.Helper()
	prefix := e.prefix(tb)
	auth := e.handAuth()
	client := e.client
	decide := redisRate(client, prefix+"rate:")
	return func(ctx context.Context, r *http.Request) (bool, error) {
		jti, exp, customer, err := auth(r)
		if err != nil {
			return false, err
		}
		ok, err := client.SetNX(ctx, prefix+"jti:"+jti, 1, time.Until(exp)).Result()
		if err != nil {
			return false, err
		}
		if !ok {
			return false, errReplayed
		}
		return decide(ctx, customer, customer)
	}
}

// newReplayRiskRequest returns the request every contender handles and the
// header values to set per request: the proof and the customer.
func newReplayRiskRequest(token string) (req *http.Request, proof, customer []string) {
	req, proof = newRequest(token)
	customer = []string{""}
	req.Header[replayRiskCustomer] = customer
	return req, proof, customer
}

// TestReplayRiskEquivalence: every contender allows a customer's first five
// checkouts in the hour (each with a fresh proof) and stops the sixth,
// refuses a replayed proof, and makes the Redis round trips it claims, for
// a fresh request and a replayed one. It also checks whether a replayed
// request is counted in the customer's window: ztkit counts it (guard.Check
// lets the replay check wait for the count, and with the store on another
// client sends it alone after the steps, before it answers; see package
// guard, "One Redis round trip"), and so does the hand-written pipeline
// (the SET NX and the window in one pipeline); the other hand-written
// stacks refuse it before they count.
func TestReplayRiskEquivalence(t *testing.T) {
	ctx := context.Background()
	e := newReplayRiskEnv(t)
	want := map[string]struct {
		trips, replayTrips int64
		countsReplayed     bool
	}{
		"ztkit-pipelined":                    {1, 1, true},
		"ztkit-separate-clients":             {2, 2, true},
		"go-redis-setnx+zset-hand":           {2, 1, false},
		"go-redis-setnx+zset-hand-pipelined": {1, 1, true},
		"go-redis-setnx+redis_rate":          {3, 1, false},
	}
	for _, c := range e.contenders() {
		t.Run(c.name, func(t *testing.T) {
			w, ok := want[c.name]
			require.True(t, ok)
			check := c.build(t)
			req, proof, customer := newReplayRiskRequest(e.rig.token)
			send := func(cust, p string) (bool, error) {
				proof[0], customer[0] = p, cust
				return check(ctx, req)
			}

			// The first request may load a script; the second is timed.
			_, err := send("cust-warm", e.rig.proof(t, e.rig.token))
			require.NoError(t, err)
			p := e.rig.proof(t, e.rig.token)
			before := e.trips.n.Load()
			flagged, err := send("cust-trips", p)
			require.NoError(t, err)
			assert.False(t, flagged)
			assert.Equal(t, w.trips, e.trips.n.Load()-before, "round trips of a request")

			before = e.trips.n.Load()
			_, err = send("cust-trips", p)
			require.ErrorIs(t, err, errReplayed, "the same proof again")
			assert.Equal(t, w.replayTrips, e.trips.n.Load()-before, "round trips of a replayed request")

			// cust-trips has one checkout, two if the replay counted: the
			// fourth fresh one is then the sixth.
			for i := range 3 {
				flagged, err := send("cust-trips", e.rig.proof(t, e.rig.token))
				require.NoError(t, err)
				assert.False(t, flagged, "checkout %d", i+2)
			}
			flagged, err = send("cust-trips", e.rig.proof(t, e.rig.token))
			require.NoError(t, err)
			assert.Equal(t, w.countsReplayed, flagged, "the fifth fresh checkout after a replay is stopped only if the replay counted")

			for i := range riskCheckoutsPerHour {
				flagged, err := send("cust-eq", e.rig.proof(t, e.rig.token))
				require.NoError(t, err)
				assert.False(t, flagged, "checkout %d", i+1)
			}
			flagged, err = send("cust-eq", e.rig.proof(t, e.rig.token))
			require.NoError(t, err)
			assert.True(t, flagged, "the sixth checkout in an hour")
		})
	}
}

// BenchmarkReplayRisk handles one DPoP-bound checkout request per op,
// serially, each with a fresh proof (made in batches outside the timer) and
// its own customer, and reports the Redis round trips per op.
func BenchmarkReplayRisk(b *testing.B) {
	e := newReplayRiskEnv(b)
	ids := make([]string, replayRiskCustomers)
	for i := range ids {
		ids[i] = "cust-" + strconv.Itoa(i)
	}
	for _, c := range e.contenders() {
		b.Run(c.name, func(b *testing.B) {
			check := c.build(b)
			ctx := context.Background()
			proofs := newProofBatch(b, e.rig, e.rig.token)
			req, proof, customer := newReplayRiskRequest(e.rig.token)
			// Warm up: a connection in each pool, the scripts loaded.
			proof[0], customer[0] = proofs.take(b), "cust-warm"
			_, err := check(ctx, req)
			require.NoError(b, err)
			b.ReportAllocs()
			e.trips.n.Store(0)
			i := 0
			proofs.cpu = startCPU()
			for b.Loop() {
				proof[0], customer[0] = proofs.take(b), ids[i%replayRiskCustomers]
				if _, err := check(ctx, req); err != nil {
					b.Fatal(err)
				}
				i++
			}
			proofs.cpu.report(b)
			b.ReportMetric(float64(e.trips.n.Load())/float64(b.N), "round-trips/op")
		})
	}
}
