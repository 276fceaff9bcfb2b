package dpop

import "time"

// ClockOption sets the clock that a [Verifier], a [Proofer] or a
// [MemoryReplayStore] reads the time from. Tests inject one instead of sleeping.
type ClockOption struct{ now func() time.Time }

// WithClock returns an option that reads the time from now. nil keeps time.Now.
func WithClock(now func() time.Time) ClockOption { return ClockOption{now: now} }

func (o ClockOption) applyVerifier(c *verifierConfig) {
	if o.now != nil {
		c.now = o.now
	}
}

func (o ClockOption) applyMemory(c *memoryConfig) {
	if o.now != nil {
		c.now = o.now
	}
}

func (o ClockOption) applyProofer(p *Proofer) {
	if o.now != nil {
		p.now = o.now
	}
}
