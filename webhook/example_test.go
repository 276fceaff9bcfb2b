package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/webhook"
)

// A payments service verifies a Standard Webhooks delivery, then refuses the
// same delivery replayed and a tampered one.
func Example() {
	// The endpoint's secret, as the provider shows it (here the Standard
	// Webhooks reference libraries' test secret), and the time of the example.
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Unix(1614265330, 0)

	v, err := webhook.NewStandard(
		webhook.WithSecrets(secret),
		webhook.WithScope("payments/acme"),
		webhook.WithClock(func() time.Time { return now }), // a real service keeps time.Now
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = v.Close() }()

	// What the provider sent.
	body := []byte(`{"test": 2432232314}`)
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")

	msg, err := v.Verify(context.Background(), h, body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("accepted", msg.ID(), msg.Scheme())

	_, err = v.Verify(context.Background(), h, body)
	fmt.Println("again:", errors.Is(err, httpsig.ErrReplayed))

	h.Set("webhook-id", "msg_other")
	_, err = v.Verify(context.Background(), h, []byte(`{"test": 1}`))
	fmt.Println("tampered:", errors.Is(err, httpsig.ErrInvalid))
	// Output:
	// accepted msg_p5jXN8AQM9LWM0D4loKWxJek standard-webhooks/v1
	// again: true
	// tampered: true
}

// A Stripe endpoint: the secret is the "whsec_..." string the Stripe dashboard
// shows. Here a Signer plays Stripe.
func ExampleNewStripe() {
	const endpointSecret = "whsec_example-endpoint-secret-0123456789"
	now := time.Unix(1765000000, 0)
	clock := func() time.Time { return now }

	stripe, err := webhook.NewStripeSigner(endpointSecret)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := webhook.NewStripe(webhook.WithSecrets(endpointSecret), webhook.WithClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}

	body := []byte(`{"id":"evt_1","type":"payment_intent.succeeded"}`)
	h := http.Header{}
	if err := stripe.Sign(h, "", now, body); err != nil {
		fmt.Println(err)
		return
	}
	msg, err := v.Verify(context.Background(), h, body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(msg.Scheme(), msg.Timestamp().Unix())

	// Ten minutes later the same delivery is out of the window.
	now = now.Add(10 * time.Minute)
	_, err = v.Verify(context.Background(), h, body)
	fmt.Println("late:", errors.Is(err, httpsig.ErrExpired))
	// Output:
	// stripe/v1 1765000000
	// late: true
}

// The key comes from a secrets.Source, so that an operator's rotation applies
// without a restart; the previous key is accepted for the grace period.
func ExampleWithSource() {
	ctx := context.Background()
	// secrets.Static stands in for a Vault or OpenBao KV provider here.
	src, err := secrets.NewSource(ctx, "acme-webhook", secrets.Static(map[string]string{
		"signing_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = src.Close() }()

	v, err := webhook.NewStandard(
		webhook.WithSource(src, "signing_secret"),
		webhook.WithRotationGrace(30*time.Minute),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = v.Close() }()
	fmt.Println(v) // a Verifier never prints its keys
	// Output:
	// [REDACTED]
}

// A service that sends Standard Webhooks signs them with an Ed25519 key (v1a),
// so that its receivers hold only the public key.
func ExampleNewStandardSigner() {
	public, private := webhook.GenerateKeyPair() // keep private in a secrets backend
	fmt.Println(private)                         // it never prints

	s, err := webhook.NewStandardSigner(private.Reveal())
	if err != nil {
		fmt.Println(err)
		return
	}
	req, err := http.NewRequest(http.MethodPost, "https://shop.example/hooks", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	body := []byte(`{"type":"order.shipped","data":{"id":"ord_1"}}`)
	if err := s.Sign(req.Header, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", time.Now(), body); err != nil {
		fmt.Println(err)
		return
	}

	// The receiver.
	v, err := webhook.NewStandard(webhook.WithSecrets(public))
	if err != nil {
		fmt.Println(err)
		return
	}
	msg, err := v.Verify(context.Background(), req.Header, body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(msg.ID(), msg.Scheme())
	// Output:
	// [REDACTED]
	// msg_2KWPBgLlAfxdpx2AI54pPJ85f4W standard-webhooks/v1a
}
