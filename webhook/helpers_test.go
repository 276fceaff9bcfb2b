package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/webhook"
)

// Test keys. They are made up for the tests; none is used anywhere else.
const (
	// testSecret is a Standard Webhooks v1 secret (32 bytes).
	testSecret = "whsec_c2VjcmV0LWtleS1tdXN0LW5vdC1sZWFrLTAxMjM0NTY3ODk="
	// otherSecret is another one, for the wrong-key and rotation cases.
	otherSecret = "whsec_YW5vdGhlci1zZWNyZXQta2V5LW5vdC1sZWFrLTk4NzY1NA=="
	// stripeSecret is a Stripe-style endpoint secret, used as raw bytes.
	stripeSecret = "whsec_stripe-endpoint-secret-must-not-leak-42"
	// otherStripeSecret is another one.
	otherStripeSecret = "whsec_stripe-rolled-secret-must-not-leak-43"
)

// t0 is the time the tests' messages are signed at.
var t0 = time.Unix(1_765_000_000, 0)

// clock is a settable clock for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// standardV1 computes a Standard Webhooks v1 signature independently of the
// package: HMAC-SHA256 over "id.ts.body" under the base64-decoded secret.
func standardV1(tb testing.TB, secret, id string, ts int64, body []byte) string {
	tb.Helper()
	k, err := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	require.NoError(tb, err)
	m := hmac.New(sha256.New, k)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// stripeV1 computes a Stripe v1 signature independently of the package:
// hex HMAC-SHA256 over "t.body" under the secret's bytes.
func stripeV1(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// standardHeader returns the three Standard Webhooks headers.
func standardHeader(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)
	return h
}

// assertNoLeak checks that an error message carries none of the values.
func assertNoLeak(tb testing.TB, err error, values ...string) {
	tb.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, v := range values {
		if v != "" {
			assert.False(tb, contains(msg, v), "an error message carries a secret or signature value")
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// keyPair is webhook.GenerateKeyPair with the private key revealed, for the
// tests that give it to a signer.
func keyPair() (public, private string) {
	pub, priv := webhook.GenerateKeyPair()
	return pub, priv.Reveal()
}
