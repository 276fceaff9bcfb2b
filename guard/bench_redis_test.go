package guard_test

import (
	"testing"

	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/internal/test/testenv"
)

// BenchmarkCheckDPoPRiskRedis measures guard.Check of one DPoP request
// whose action is decided by the risk engine on Redis counters, with the
// proof's replay store on the same Redis: "pipelined" sends the replay
// check and the count in one pipeline (one round trip), "separate" checks
// replay inside authentication first, as without deferral (two round
// trips). Making each fresh proof (an ECDSA signature) is not timed.
func BenchmarkCheckDPoPRiskRedis(b *testing.B) {
	addr := testenv.Require(b, testenv.RedisAddrVar)
	for _, bc := range []struct {
		name string
		sync bool
	}{{"pipelined", false}, {"separate", true}} {
		b.Run(bc.name, func(b *testing.B) {
			rig := shoprig.NewTokens(b)
			s := newReplayService(b, rig, replayConfig{addr: addr, prefix: redisPrefix(b, addr), riskPolicy: riskAllows, syncReplay: bc.sync})
			b.ReportAllocs()
			s.trips.take()
			n := 0
			for b.Loop() {
				b.StopTimer()
				req := s.request(b, s.proof(b))
				b.StartTimer()
				if ref := s.g.Check(b.Context(), req).Refusal; ref != nil {
					b.Fatalf("refused: %s", ref.Reason)
				}
				n++
			}
			b.ReportMetric(float64(s.trips.take())/float64(n), "round-trips/op")
		})
	}
}
