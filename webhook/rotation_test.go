package webhook_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/webhook"
)

// rotatingProvider issues a credential whose field holds the value last set:
// what a KV secret an operator rewrites looks like to a secrets.Source.
type rotatingProvider struct {
	mu     sync.Mutex
	fields map[string]string
}

func (p *rotatingProvider) set(fields map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fields = fields
}

func (p *rotatingProvider) Issue(context.Context) (*secrets.Secret, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return secrets.NewSecret(p.fields, secrets.Lease{IssuedAt: time.Now()}), nil
}

func (p *rotatingProvider) Renew(context.Context, *secrets.Secret) (*secrets.Secret, error) {
	return nil, secrets.ErrNotRenewable
}

// newRotatingSource returns a Source whose "webhook_secret" field holds value,
// and the provider to change it with.
func newRotatingSource(t *testing.T, value string) (*secrets.Source, *rotatingProvider) {
	t.Helper()
	p := &rotatingProvider{fields: map[string]string{"webhook_secret": value}}
	src, err := secrets.NewSource(context.Background(), "webhook-test", p)
	require.NoError(t, err)
	t.Cleanup(func() { _ = src.Close() })
	return src, p
}

// rotate makes the source issue fields now.
func rotate(t *testing.T, src *secrets.Source, p *rotatingProvider, fields map[string]string) {
	t.Helper()
	p.set(fields)
	require.NoError(t, src.Rotate(context.Background()))
}

// sendStandard signs a message with secret at clk's time and verifies it.
func sendStandard(t *testing.T, v *webhook.Verifier, clk *clock, secret, id string) error {
	t.Helper()
	body := []byte(`{"type":"invoice.paid"}`)
	ts := clk.Now().Unix()
	_, err := v.Verify(context.Background(), standardHeader(id, ts, standardV1(t, secret, id, ts, body)), body)
	return err
}

func TestRotationFromSource(t *testing.T) {
	const grace = 10 * time.Minute
	src, p := newRotatingSource(t, testSecret)
	clk := newClock(t0)
	v, err := webhook.NewStandard(webhook.WithSource(src, "webhook_secret"), webhook.WithRotationGrace(grace), webhook.WithClock(clk.Now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })

	require.NoError(t, sendStandard(t, v, clk, testSecret, "m1"))
	require.ErrorIs(t, sendStandard(t, v, clk, otherSecret, "m2"), httpsig.ErrInvalid, "not rotated yet")

	rotate(t, src, p, map[string]string{"webhook_secret": otherSecret})
	require.NoError(t, sendStandard(t, v, clk, otherSecret, "m3"), "the new secret applies at once")
	require.NoError(t, sendStandard(t, v, clk, testSecret, "m4"), "the old secret is accepted during the grace period")

	// A renewal, or a reissue of the same value, is not a rotation: the old
	// secret keeps its grace and does not make way for the current one.
	rotate(t, src, p, map[string]string{"webhook_secret": otherSecret})
	clk.Add(grace - time.Second)
	require.NoError(t, sendStandard(t, v, clk, testSecret, "m5"), "still within the grace period")

	clk.Add(time.Second)
	require.ErrorIs(t, sendStandard(t, v, clk, testSecret, "m6"), httpsig.ErrInvalid, "the old secret is refused after the grace period")
	require.NoError(t, sendStandard(t, v, clk, otherSecret, "m7"))
}

func TestRotationTwiceKeepsOnlyThePrevious(t *testing.T) {
	third := webhook.GenerateSecret().Reveal()
	src, p := newRotatingSource(t, testSecret)
	clk := newClock(t0)
	v, err := webhook.NewStandard(webhook.WithSource(src, "webhook_secret"), webhook.WithClock(clk.Now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })

	rotate(t, src, p, map[string]string{"webhook_secret": otherSecret})
	rotate(t, src, p, map[string]string{"webhook_secret": third})
	require.NoError(t, sendStandard(t, v, clk, third, "m1"))
	require.NoError(t, sendStandard(t, v, clk, otherSecret, "m2"))
	require.ErrorIs(t, sendStandard(t, v, clk, testSecret, "m3"), httpsig.ErrInvalid, "two rotations ago")

	clk.Add(webhook.DefaultRotationGrace)
	require.ErrorIs(t, sendStandard(t, v, clk, otherSecret, "m4"), httpsig.ErrInvalid, "DefaultRotationGrace applies")
}

func TestRotationWithoutGrace(t *testing.T) {
	src, p := newRotatingSource(t, testSecret)
	clk := newClock(t0)
	v, err := webhook.NewStandard(webhook.WithSource(src, "webhook_secret"), webhook.WithRotationGrace(0), webhook.WithClock(clk.Now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })

	rotate(t, src, p, map[string]string{"webhook_secret": otherSecret})
	require.ErrorIs(t, sendStandard(t, v, clk, testSecret, "m1"), httpsig.ErrInvalid, "a compromised secret is refused at once")
	require.NoError(t, sendStandard(t, v, clk, otherSecret, "m2"))
}

func TestRotationToAnUnusableValue(t *testing.T) {
	for name, fields := range map[string]map[string]string{
		"malformed key": {"webhook_secret": "not-a-key"},
		"field absent":  {"other_field": otherSecret},
		"private key":   {"webhook_secret": func() string { _, priv := keyPair(); return priv }()},
	} {
		t.Run(name, func(t *testing.T) {
			const grace = time.Minute
			src, p := newRotatingSource(t, testSecret)
			clk := newClock(t0)
			v, err := webhook.NewStandard(webhook.WithSource(src, "webhook_secret"), webhook.WithRotationGrace(grace), webhook.WithClock(clk.Now))
			require.NoError(t, err)
			t.Cleanup(func() { _ = v.Close() })

			rotate(t, src, p, fields)
			require.NoError(t, sendStandard(t, v, clk, testSecret, "m1"), "the old secret still has its grace period")
			clk.Add(grace)
			err = sendStandard(t, v, clk, testSecret, "m2")
			require.ErrorIs(t, err, httpsig.ErrUnavailable, "no usable key: fail closed")
			assertNoLeak(t, err, testSecret, otherSecret, "not-a-key")

			rotate(t, src, p, map[string]string{"webhook_secret": otherSecret})
			require.NoError(t, sendStandard(t, v, clk, otherSecret, "m3"), "recovers with the next good value")
		})
	}
}

func TestSourceClosed(t *testing.T) {
	src, _ := newRotatingSource(t, testSecret)
	clk := newClock(t0)
	v, err := webhook.NewStandard(webhook.WithSource(src, "webhook_secret"), webhook.WithClock(clk.Now))
	require.NoError(t, err)
	require.NoError(t, sendStandard(t, v, clk, testSecret, "m1"))
	require.NoError(t, src.Close())
	err = sendStandard(t, v, clk, testSecret, "m2")
	require.ErrorIs(t, err, httpsig.ErrUnavailable)
	assert.ErrorIs(t, err, secrets.ErrClosed)

	_, err = webhook.NewStandard(webhook.WithSource(src, "webhook_secret"))
	require.ErrorIs(t, err, secrets.ErrClosed, "a source that cannot serve its first credential")
}

func TestSourceConstruction(t *testing.T) {
	src, _ := newRotatingSource(t, testSecret)
	_, err := webhook.NewStandard(webhook.WithSource(src, "absent"))
	require.ErrorIs(t, err, webhook.ErrInvalidConfig)
	_, err = webhook.NewStripe(webhook.WithSource(src, "webhook_secret"), webhook.WithSecrets(stripeSecret))
	require.ErrorIs(t, err, webhook.ErrInvalidConfig, "both a source and static keys")

	def, err := secrets.NewSource(context.Background(), "default-field", secrets.Static(map[string]string{webhook.DefaultSecretField: stripeSecret}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = def.Close() })
	v, err := webhook.NewStripe(webhook.WithSource(def, ""))
	require.NoError(t, err, "an empty field name keeps DefaultSecretField")
	require.NoError(t, v.Close())
}

func TestStripeRotationFromSource(t *testing.T) {
	src, p := newRotatingSource(t, stripeSecret)
	clk := newClock(t0)
	v, err := webhook.NewStripe(webhook.WithSource(src, "webhook_secret"), webhook.WithClock(clk.Now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })

	send := func(secret string, body string) error {
		s, err := webhook.NewStripeSigner(secret)
		require.NoError(t, err)
		h := http.Header{}
		require.NoError(t, s.Sign(h, "", clk.Now(), []byte(body)))
		_, err = v.Verify(context.Background(), h, []byte(body))
		return err
	}
	rotate(t, src, p, map[string]string{"webhook_secret": otherStripeSecret})
	require.NoError(t, send(otherStripeSecret, `{"id":"evt_1"}`))
	require.NoError(t, send(stripeSecret, `{"id":"evt_2"}`))
	clk.Add(webhook.DefaultRotationGrace)
	require.ErrorIs(t, send(stripeSecret, `{"id":"evt_3"}`), httpsig.ErrInvalid)
}

func TestRotationUnderLoad(t *testing.T) {
	// Verifications run while the source rotates back and forth; under -race
	// this checks the key state is published safely. Each message is signed
	// with one of the two secrets, both of which stay acceptable (the grace
	// period is long), so every verification succeeds.
	src, p := newRotatingSource(t, testSecret)
	v, err := webhook.NewStandard(webhook.WithSource(src, "webhook_secret"), webhook.WithRotationGrace(time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	rotate(t, src, p, map[string]string{"webhook_secret": otherSecret})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ctx.Err() == nil; i++ {
			p.set(map[string]string{"webhook_secret": []string{testSecret, otherSecret}[i%2]})
			_ = src.Rotate(ctx)
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 8*50)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				body := []byte(`{}`)
				id := "m-" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
				ts := time.Now().Unix()
				secret := []string{testSecret, otherSecret}[i%2]
				_, err := v.Verify(context.Background(), standardHeader(id, ts, standardV1(t, secret, id, ts, body)), body)
				errs <- err
			}
		}()
	}
	wg.Wait()
	cancel()
	<-done
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}
