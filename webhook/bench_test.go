package webhook_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/ztkit/ztkit/webhook"
)

// acceptAll is a replay store that accepts everything, so that a benchmark can
// verify the same message again and again: it measures the verification, not
// the store (see tokens/dpop for the stores' benchmarks).
type acceptAll struct{}

func (acceptAll) CheckAndStore(context.Context, string, string, time.Time) error { return nil }

// benchBody is a typical payment webhook, about 1 KiB.
var benchBody = []byte(`{"id":"evt_3PZt9mLkdIwHu7ix0q1xYb4C","object":"event","api_version":"2024-06-20","created":1765000000,"data":{"object":{"id":"pi_3PZt9mLkdIwHu7ix0G1j2k3L","object":"payment_intent","amount":4999,"amount_capturable":0,"amount_received":4999,"currency":"eur","customer":"cus_QK1b2c3d4e5f6g","description":"Order #100234","latest_charge":"ch_3PZt9mLkdIwHu7ix0a9b8c7d","livemode":false,"metadata":{"order_id":"100234","cart_id":"c_8f7e6d5c4b3a"},"payment_method":"pm_1PZt9lLkdIwHu7ixAbCdEfGh","payment_method_types":["card"],"receipt_email":"buyer@example.com","status":"succeeded"}},"livemode":false,"pending_webhooks":2,"request":{"id":"req_a1b2c3d4e5f6g7","idempotency_key":"b7c2b1e0-3f9d-4c1a-9a53-1f2e3d4c5b6a"},"type":"payment_intent.succeeded"}`)

func BenchmarkVerify(b *testing.B) {
	now := time.Unix(1765000000, 0)
	clock := func() time.Time { return now }
	ctx := context.Background()

	b.Run("standard-v1", func(b *testing.B) {
		v, err := webhook.NewStandard(webhook.WithSecrets(testSecret), webhook.WithClock(clock), webhook.WithReplayStore(acceptAll{}))
		if err != nil {
			b.Fatal(err)
		}
		h := standardHeader("msg_bench", now.Unix(), standardV1(b, testSecret, "msg_bench", now.Unix(), benchBody))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, h, benchBody); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("standard-v1a", func(b *testing.B) {
		pub, priv := keyPair()
		v, err := webhook.NewStandard(webhook.WithSecrets(pub), webhook.WithClock(clock), webhook.WithReplayStore(acceptAll{}))
		if err != nil {
			b.Fatal(err)
		}
		s, err := webhook.NewStandardSigner(priv)
		if err != nil {
			b.Fatal(err)
		}
		h := http.Header{}
		if err := s.Sign(h, "msg_bench", now, benchBody); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, h, benchBody); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stripe-v1", func(b *testing.B) {
		v, err := webhook.NewStripe(webhook.WithSecrets(stripeSecret), webhook.WithClock(clock), webhook.WithReplayStore(acceptAll{}))
		if err != nil {
			b.Fatal(err)
		}
		h := stripeHeader("t=" + strconv.FormatInt(now.Unix(), 10) + ",v1=" + stripeV1(stripeSecret, now.Unix(), benchBody))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, h, benchBody); err != nil {
				b.Fatal(err)
			}
		}
	})
}
