package bench

import (
	"runtime"
	"testing"
	"time"
)

// cpuClock measures the CPU time the process spends while a benchmark's timer
// runs, reported as cpu-ns/op next to ns/op. On a shared machine ns/op counts
// the time other processes hold the CPU; cpu-ns/op does not, so it is the
// steadier figure for comparing libraries in one run (see README.md).
type cpuClock struct {
	start, total time.Duration
	running, ok  bool
}

// startCPU collects the garbage of the set-up, so that neither clock charges
// it to the loop, and starts the clock; call it right before the b.Loop loop.
func startCPU() *cpuClock {
	runtime.GC()
	c := &cpuClock{}
	c.start, c.ok = processCPU()
	c.running = c.ok
	return c
}

// stop pauses the clock, alongside b.StopTimer.
func (c *cpuClock) stop() {
	if c == nil || !c.running {
		return
	}
	now, _ := processCPU()
	c.total += now - c.start
	c.running = false
}

// resume restarts the clock, alongside b.StartTimer.
func (c *cpuClock) resume() {
	if c == nil || !c.ok || c.running {
		return
	}
	c.start, _ = processCPU()
	c.running = true
}

// report stops the clock and reports cpu-ns/op; call it after the loop.
func (c *cpuClock) report(b *testing.B) {
	c.stop()
	if c.ok && b.N > 0 {
		b.ReportMetric(float64(c.total.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
