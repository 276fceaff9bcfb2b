package tokens

import "time"

// ClockOption sets the clock a [Verifier], [Issuer], [KeySet] or
// [RemoteKeySet] reads the time from. Tests inject one instead of sleeping.
type ClockOption struct{ now func() time.Time }

// WithClock returns an option that reads the time from now. nil keeps time.Now.
func WithClock(now func() time.Time) ClockOption { return ClockOption{now: now} }

func (o ClockOption) applyVerifier(c *verifierConfig) {
	if o.now != nil {
		c.now = o.now
	}
}

func (o ClockOption) applyIssuer(i *Issuer) {
	if o.now != nil {
		i.now = o.now
	}
}

func (o ClockOption) applyKeySet(ks *KeySet) {
	if o.now != nil {
		ks.now = o.now
	}
}

func (o ClockOption) applyRemote(c *remoteConfig) {
	if o.now != nil {
		c.now = o.now
	}
}
