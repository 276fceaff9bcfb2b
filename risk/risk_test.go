package risk_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/risk"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func loadEngine(t testing.TB, opts ...risk.Option) (*risk.Engine, *clock) {
	t.Helper()
	p, err := risk.LoadFile("testdata/policy.json")
	require.NoError(t, err)
	clk := &clock{now: t0}
	e, err := risk.New(p, append([]risk.Option{risk.WithClock(clk.Now)}, opts...)...)
	require.NoError(t, err)
	return e, clk
}

// known is a customer on a known device, logged in with a password a
// minute ago, with a DPoP-bound token.
func known() *authn.Principal {
	return &authn.Principal{Subject: "cust-1", ACR: "pwd", AuthTime: t0.Add(-time.Minute), Binding: authn.BoundToDPoPKey, KeyThumbprint: "dev-1"}
}

func history() risk.History {
	return risk.History{Orders: 4, MaxAmount: 50000, Devices: []string{"dev-0", "dev-1"}}
}

func newDevice() *authn.Principal {
	p := known()
	p.KeyThumbprint = "dev-new"
	return p
}

func withACR(p *authn.Principal, acr string, age time.Duration) *authn.Principal {
	p.ACR, p.AuthTime = acr, t0.Add(-age)
	return p
}

type tcase struct {
	name      string
	action    string
	s         risk.Signals
	outcome   risk.Outcome
	reasons   []risk.Reason
	score     int
	steppedUp bool
	shadow    risk.Outcome // the would-be outcome, for shadow actions
}

func TestDecideTables(t *testing.T) {
	eur := func(amount int64, p *authn.Principal) risk.Signals {
		return risk.Signals{Principal: p, Amount: amount, Currency: "EUR", History: history()}
	}
	mod := func(s risk.Signals, f func(*risk.Signals)) risk.Signals { f(&s); return s }
	paris := risk.Location{Lat: 48.8566, Lon: 2.3522, At: t0}
	newYork := risk.Location{Lat: 40.7128, Lon: -74.0060, At: t0.Add(-time.Hour)}
	const (
		allow  = risk.Allow
		stepUp = risk.StepUp
		deny   = risk.Deny
	)
	cases := []tcase{
		// checkout: weights 30 (new device), 30 (over limit), 20 (3x history), 20 (new address); step up at 50, deny at 100.
		{name: "known device, usual order", action: "checkout", s: eur(5000, known()), outcome: allow},
		{name: "new device alone is below the threshold", action: "checkout", s: eur(5000, newDevice()), outcome: allow, score: 30},
		{name: "amount at the limit is not over it", action: "checkout", s: eur(100000, newDevice()), outcome: allow, score: 30},
		{name: "amount one cent over the limit", action: "checkout", s: eur(100001, newDevice()), outcome: stepUp,
			reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}, score: 60},
		{name: "lower-case currency is the same currency", action: "checkout", s: mod(eur(100001, newDevice()), func(s *risk.Signals) { s.Currency = "eur" }),
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}, score: 60},
		{name: "currency without a limit fails closed", action: "checkout", s: mod(eur(10, known()), func(s *risk.Signals) { s.Currency = "CHF" }),
			outcome: allow, score: 30},
		{name: "USD limit", action: "checkout", s: mod(eur(120001, known()), func(s *risk.Signals) { s.Currency = "USD" }),
			outcome: allow, score: 30},
		{name: "score equal to step_up_at steps up", action: "checkout", s: mod(eur(5000, newDevice()), func(s *risk.Signals) { s.NewShippingAddress = true }),
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonNewShippingAddress}, score: 50},
		{name: "score just below step_up_at allows", action: "checkout", s: mod(eur(150001, known()), func(s *risk.Signals) { s.Currency = "XXX"; s.History.MaxAmount = 50000 }),
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonAmountOverLimit, risk.ReasonAmountOverHistory}, score: 50},
		{name: "history factor: exactly 3x is not over", action: "checkout", s: mod(eur(30000, known()), func(s *risk.Signals) { s.History.MaxAmount = 10000 }),
			outcome: allow},
		{name: "history factor: one cent over 3x", action: "checkout", s: mod(eur(30001, known()), func(s *risk.Signals) { s.History.MaxAmount = 10000 }),
			outcome: allow, score: 20},
		{name: "40 is below 50", action: "checkout", s: mod(eur(150001, known()), func(s *risk.Signals) { s.NewShippingAddress = true; s.Amount = 90000; s.History.MaxAmount = 29999 }),
			outcome: allow, score: 40},
		{name: "score 80 steps up", action: "checkout", s: mod(eur(100001, newDevice()), func(s *risk.Signals) { s.History.MaxAmount = 100 }),
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit, risk.ReasonAmountOverHistory}, score: 80},
		{name: "score equal to deny_at denies", action: "checkout", s: mod(eur(100001, newDevice()), func(s *risk.Signals) { s.History.MaxAmount = 100; s.NewShippingAddress = true }),
			outcome: deny, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit, risk.ReasonAmountOverHistory, risk.ReasonNewShippingAddress}, score: 100},
		{name: "new customer: no known device, no history", action: "checkout", s: risk.Signals{Principal: known(), Amount: 1, Currency: "EUR"},
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverHistory}, score: 50},
		{name: "bearer token: no device to recognise", action: "checkout", s: mod(eur(100001, known()), func(s *risk.Signals) { s.Principal.KeyThumbprint = "" }),
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}, score: 60},
		{name: "no principal", action: "checkout", s: eur(100001, nil),
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}, score: 60},
		{name: "stepped up already: mfa 5 min ago", action: "checkout", s: eur(100001, withACR(newDevice(), "mfa", 5*time.Minute)),
			outcome: allow, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}, score: 60, steppedUp: true},
		{name: "stepped up exactly max_age ago", action: "checkout", s: eur(100001, withACR(newDevice(), "phr", 10*time.Minute)),
			outcome: allow, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}, score: 60, steppedUp: true},
		{name: "stepped up just over max_age ago", action: "checkout", s: eur(100001, withACR(newDevice(), "mfa", 10*time.Minute+time.Nanosecond)),
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit}, score: 60},
		{name: "a step-up cannot undo a deny", action: "checkout", s: mod(eur(100001, withACR(newDevice(), "phr", 0)), func(s *risk.Signals) { s.History.MaxAmount = 100; s.NewShippingAddress = true }),
			outcome: deny, reasons: []risk.Reason{risk.ReasonNewDevice, risk.ReasonAmountOverLimit, risk.ReasonAmountOverHistory, risk.ReasonNewShippingAddress}, score: 100},
		{name: "impossible travel", action: "checkout", s: mod(eur(5000, known()), func(s *risk.Signals) { s.Location, s.LastLocation = paris, newYork }),
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonImpossibleTravel}},
		{name: "plausible travel", action: "checkout", s: mod(eur(5000, known()), func(s *risk.Signals) {
			s.Location, s.LastLocation = paris, newYork
			s.LastLocation.At = t0.Add(-8 * time.Hour) // ~730 km/h
		}), outcome: allow},
		{name: "one location only", action: "checkout", s: mod(eur(5000, known()), func(s *risk.Signals) { s.Location = paris }), outcome: allow},
		{name: "two places at once", action: "checkout", s: mod(eur(5000, known()), func(s *risk.Signals) { s.Location, s.LastLocation = paris, newYork; s.LastLocation.At = t0 }),
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonImpossibleTravel}},

		// payment_method.add: step up to mfa within 5m.
		{name: "known device adds a card", action: "payment_method.add", s: risk.Signals{Principal: known(), History: history(), NewPaymentMethod: true}, outcome: allow},
		{name: "new device adds a card", action: "payment_method.add", s: risk.Signals{Principal: newDevice(), History: history(), NewPaymentMethod: true},
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonNewDevice}},
		{name: "new device, no new card: every condition must hold", action: "payment_method.add", s: risk.Signals{Principal: newDevice(), History: history()}, outcome: allow},
		{name: "auth_time exactly 15m ago", action: "payment_method.add", s: risk.Signals{Principal: withACR(known(), "pwd", 15*time.Minute), History: history()}, outcome: allow},
		{name: "auth_time just over 15m ago", action: "payment_method.add", s: risk.Signals{Principal: withACR(known(), "pwd", 15*time.Minute+time.Nanosecond), History: history()},
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonAuthTooOld}},
		{name: "no auth_time", action: "payment_method.add", s: risk.Signals{Principal: &authn.Principal{Subject: "c", KeyThumbprint: "dev-1", Binding: authn.BoundToDPoPKey}, History: history()},
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonAuthTooOld}},
		{name: "new device with mfa exactly 5m ago", action: "payment_method.add", s: risk.Signals{Principal: withACR(newDevice(), "mfa", 5*time.Minute), History: history(), NewPaymentMethod: true},
			outcome: allow, reasons: []risk.Reason{risk.ReasonNewDevice}, steppedUp: true},
		{name: "new device with mfa 6m ago", action: "payment_method.add", s: risk.Signals{Principal: withACR(newDevice(), "mfa", 6*time.Minute), History: history(), NewPaymentMethod: true},
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonNewDevice}},

		// account.email_change.
		{name: "password login changes e-mail", action: "account.email_change", s: risk.Signals{Principal: known()}, outcome: stepUp, reasons: []risk.Reason{risk.ReasonInsufficientACR}},
		{name: "mfa login changes e-mail", action: "account.email_change", s: risk.Signals{Principal: withACR(known(), "mfa", time.Hour)}, outcome: allow},
		{name: "unknown acr is below", action: "account.email_change", s: risk.Signals{Principal: withACR(known(), "gold", 0)}, outcome: stepUp, reasons: []risk.Reason{risk.ReasonInsufficientACR}},
		{name: "deny outranks step-up; only deny's reasons", action: "account.email_change", s: risk.Signals{Principal: known(), Flags: map[string]bool{"tor_exit": true}},
			outcome: deny, reasons: []risk.Reason{"tor_exit"}},
		{name: "service flag false", action: "account.email_change", s: risk.Signals{Principal: withACR(known(), "mfa", 0), Flags: map[string]bool{"tor_exit": false}}, outcome: allow},

		// refund is in shadow mode.
		{name: "shadow: would deny", action: "refund", s: risk.Signals{Principal: known(), Numbers: map[string]float64{"ip_risk": 0.81}},
			outcome: allow, reasons: []risk.Reason{"ip_risk"}, shadow: deny},
		{name: "shadow: number at the bound", action: "refund", s: risk.Signals{Principal: known(), Numbers: map[string]float64{"ip_risk": 0.8}}, outcome: allow},
		{name: "shadow: number missing", action: "refund", s: risk.Signals{Principal: known()}, outcome: allow},

		// admin.* pattern.
		{name: "admin with a bearer token", action: "admin.users.delete", s: risk.Signals{Principal: &authn.Principal{ACR: "phr", AuthTime: t0}},
			outcome: deny, reasons: []risk.Reason{risk.ReasonUnboundToken}},
		{name: "admin with mfa", action: "admin.refunds.approve", s: risk.Signals{Principal: withACR(known(), "mfa", 0)},
			outcome: stepUp, reasons: []risk.Reason{risk.ReasonInsufficientACR}},
		{name: "admin with phr", action: "admin.refunds.approve", s: risk.Signals{Principal: withACR(known(), "phr", 0)}, outcome: allow},

		// Unknown actions are denied.
		{name: "unknown action", action: "gift_card.buy", s: risk.Signals{Principal: known()}, outcome: deny, reasons: []risk.Reason{risk.ReasonUnknownAction}},
		{name: "pattern covers only what is under it", action: "admin", s: risk.Signals{Principal: known()}, outcome: deny, reasons: []risk.Reason{risk.ReasonUnknownAction}},
		{name: "empty action", action: "", outcome: deny, reasons: []risk.Reason{risk.ReasonUnknownAction}},
	}
	for _, tc := range cases {
		t.Run(tc.action+"/"+tc.name, func(t *testing.T) {
			e, _ := loadEngine(t)
			d := e.Decide(t.Context(), tc.action, tc.s)
			assert.Equal(t, tc.outcome.String(), d.Outcome.String(), "outcome")
			if len(tc.reasons) == 0 {
				assert.Empty(t, d.Reasons)
			} else {
				assert.Equal(t, tc.reasons, d.Reasons)
			}
			assert.Equal(t, tc.score, d.Score, "score")
			assert.Equal(t, tc.steppedUp, d.SteppedUp, "stepped up")
			assert.Equal(t, tc.shadow.String(), d.ShadowOutcome.String(), "shadow outcome")
			assert.Equal(t, tc.action == "refund", d.Shadow)
			tr := e.Explain(t.Context(), tc.action, tc.s)
			assert.Equal(t, d, tr.Decision, "Explain decides as Decide")
		})
	}
}

func TestStepUpRequirement(t *testing.T) {
	e, _ := loadEngine(t)
	d := e.Decide(t.Context(), "checkout", risk.Signals{Principal: newDevice(), Amount: 100001, Currency: "EUR", History: history()})
	require.Equal(t, risk.StepUp, d.Outcome)
	assert.Equal(t, "mfa", d.ACR)
	assert.Equal(t, []string{"mfa", "phr"}, d.ACRValues, "the acr and every stronger level, weakest first")
	assert.Equal(t, 10*time.Minute, d.MaxAge)
	assert.Equal(t, "checkout", d.Action)
	d.ACRValues[0] = "changed"
	again := e.Decide(t.Context(), "checkout", risk.Signals{Principal: newDevice(), Amount: 100001, Currency: "EUR", History: history()})
	assert.Equal(t, []string{"mfa", "phr"}, again.ACRValues, "the caller owns the slice")

	d = e.Decide(t.Context(), "admin.users.delete", risk.Signals{Principal: known()})
	assert.Equal(t, "admin.*", d.Action)
	assert.Equal(t, "phr", d.ACR)
	assert.Equal(t, []string{"phr"}, d.ACRValues, "the strongest level alone")
	assert.Equal(t, 5*time.Minute, d.MaxAge)

	d = e.Decide(t.Context(), "checkout", risk.Signals{Principal: known(), Amount: 100, Currency: "EUR", History: history()})
	require.Equal(t, risk.Allow, d.Outcome)
	assert.Nil(t, d.ACRValues)
}

func TestVelocity(t *testing.T) {
	e, clk := loadEngine(t)
	ctx := t.Context()
	s := risk.Signals{Principal: known(), Customer: "cust-1", Card: "card-a", Amount: 1000, Currency: "EUR", History: history()}

	// Card testing: more than 3 failed payments per card in 10 minutes denies.
	for range 3 {
		require.NoError(t, e.Record(ctx, "payment_failed", s))
	}
	d := e.Decide(ctx, "checkout", s)
	assert.Equal(t, risk.Allow, d.Outcome, "3 failures is not over 3")
	require.NoError(t, e.Record(ctx, "payment_failed", s))
	d = e.Decide(ctx, "checkout", s)
	assert.Equal(t, risk.Deny, d.Outcome)
	assert.Equal(t, []risk.Reason{risk.ReasonVelocityCard}, d.Reasons)
	other := s
	other.Card = "card-b"
	other.Customer = "cust-2"
	assert.Equal(t, risk.Allow, e.Decide(ctx, "checkout", other).Outcome, "per card")
	noCard := s
	noCard.Card, noCard.Customer = "", "cust-3"
	assert.Equal(t, risk.Allow, e.Decide(ctx, "checkout", noCard).Outcome, "no card: the window counts nothing")

	// The window slides: 10 minutes later the failures are gone.
	clk.now = clk.now.Add(10 * time.Minute)
	assert.Equal(t, risk.Allow, e.Decide(ctx, "checkout", s).Outcome)

	// Checkout bursts: the attempt being decided counts; more than 5 per hour steps up.
	// cust-1 has made 3 checkout attempts so far (two within the hour before).
	burst := s
	burst.Customer, burst.Card = "cust-9", "card-9"
	for i := 1; i <= 5; i++ {
		assert.Equal(t, risk.Allow, e.Decide(ctx, "checkout", burst).Outcome, "attempt %d", i)
	}
	// Explain predicts the 6th attempt as Decide will decide it (its
	// windows count the attempt explained), without counting it.
	for range 2 {
		tr := e.Explain(ctx, "checkout", burst)
		assert.Equal(t, risk.StepUp, tr.Decision.Outcome, "Explain says what Decide will")
		assert.Equal(t, []risk.Reason{risk.ReasonVelocityCustomer}, tr.Decision.Reasons)
		require.NotEmpty(t, tr.Windows)
		assert.Equal(t, int64(6), tr.Windows[0].Count, "5 attempts and the one explained, not stored")
	}
	d = e.Decide(ctx, "checkout", burst)
	assert.Equal(t, risk.StepUp, d.Outcome, "6th attempt")
	assert.Equal(t, []risk.Reason{risk.ReasonVelocityCustomer}, d.Reasons)

	// Unknown events are not counted.
	assert.NoError(t, e.Record(ctx, "nobody_reads_this", s))

	// IP prefix: every address of a /24 counts together.
	for i := range 11 {
		ip := s
		ip.IP = netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
		require.NoError(t, e.Record(ctx, "login_failed", ip))
	}
	ip := s
	ip.IP = netip.MustParseAddr("203.0.113.200")
	d = e.Decide(ctx, "login", ip)
	assert.Equal(t, risk.Deny, d.Outcome)
	assert.Equal(t, []risk.Reason{risk.ReasonVelocityIP}, d.Reasons)
	ip.IP = netip.MustParseAddr("203.0.114.1")
	assert.Equal(t, risk.Allow, e.Decide(ctx, "login", ip).Outcome)
}

// failing is a Counter whose store is down.
type failing struct{}

func (failing) Count(context.Context, time.Time, []risk.Window) error {
	return fmt.Errorf("%w: connection refused", risk.ErrCounterUnavailable)
}

func TestCounterFailureNeverAllowsSilently(t *testing.T) {
	e, _ := loadEngine(t, risk.WithCounter(failing{}))
	ctx := t.Context()
	s := risk.Signals{Principal: known(), Card: "card-a", Amount: 1000, Currency: "EUR", History: history()}

	d := e.Decide(ctx, "checkout", s)
	assert.Equal(t, risk.StepUp, d.Outcome, "on_counter_error step_up")
	assert.Equal(t, []risk.Reason{risk.ReasonCounterUnavailable}, d.Reasons)

	d = e.Decide(ctx, "login", s)
	assert.Equal(t, risk.Deny, d.Outcome, "on_counter_error deny")
	assert.Equal(t, []risk.Reason{risk.ReasonCounterUnavailable}, d.Reasons)

	// A stronger outcome from other rules stays; the fallback adds its reason only at its level.
	s.Principal = newDevice()
	s.Amount, s.History.MaxAmount, s.NewShippingAddress = 100001, 100, true
	d = e.Decide(ctx, "checkout", s)
	assert.Equal(t, risk.Deny, d.Outcome)
	assert.NotContains(t, d.Reasons, risk.ReasonCounterUnavailable)

	// Actions without velocity rules do not call the counter.
	assert.Equal(t, risk.Allow, e.Decide(ctx, "account.email_change", risk.Signals{Principal: withACR(known(), "mfa", 0)}).Outcome)

	tr := e.Explain(ctx, "login", s)
	assert.ErrorIs(t, tr.CounterError, risk.ErrCounterUnavailable)
	err := e.Record(ctx, "payment_failed", s)
	assert.ErrorIs(t, err, risk.ErrCounterUnavailable)
}

func TestExplain(t *testing.T) {
	e, _ := loadEngine(t)
	s := risk.Signals{Principal: newDevice(), Card: "card-a", Customer: "c", Amount: 100001, Currency: "EUR", History: history()}
	tr := e.Explain(t.Context(), "checkout", s)
	assert.Equal(t, "checkout", tr.Action)
	require.Len(t, tr.Steps, 7)
	want := []risk.Step{
		{RuleID: "new-device", Reason: risk.ReasonNewDevice, Weight: 30, Matched: true},
		{RuleID: "big-order", Reason: risk.ReasonAmountOverLimit, Weight: 30, Matched: true},
		{RuleID: "unusual-order", Reason: risk.ReasonAmountOverHistory, Weight: 20, Unmet: "amount_over_history"},
		{RuleID: "new-address", Reason: risk.ReasonNewShippingAddress, Weight: 20, Unmet: "new_shipping_address"},
		{RuleID: "card-testing", Reason: risk.ReasonVelocityCard, Outcome: risk.Deny, Unmet: "velocity"},
		{RuleID: "checkout-burst", Reason: risk.ReasonVelocityCustomer, Outcome: risk.StepUp, Unmet: "velocity"},
		{RuleID: "travel", Reason: risk.ReasonImpossibleTravel, Outcome: risk.StepUp, Unmet: "travel_over_kmh"},
	}
	assert.Equal(t, want, tr.Steps)
	require.Len(t, tr.Windows, 2)
	assert.Equal(t, "checkout", tr.Windows[0].Event, "the action's own window first")
	assert.Equal(t, int64(0), tr.Windows[0].Add, "Explain does not count")
	assert.NoError(t, tr.CounterError)
	assert.Equal(t, risk.StepUp, tr.Decision.Outcome)
	assert.Equal(t, 60, tr.Decision.Score)

	tr = e.Explain(t.Context(), "nope", s)
	assert.Empty(t, tr.Steps)
	assert.Equal(t, risk.Deny, tr.Decision.Outcome)
}

func TestDecideAfterClose(t *testing.T) {
	e, _ := loadEngine(t)
	require.NoError(t, e.Close())
	require.NoError(t, e.Close())
	assert.Equal(t, risk.Allow, e.Decide(t.Context(), "checkout", risk.Signals{Principal: known(), Amount: 1, Currency: "EUR", History: history()}).Outcome)
	assert.ErrorIs(t, e.Update(risk.Policy{}), risk.ErrClosed)
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }

var _ = errors.Is
