package webhook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/webhook"
)

func TestSecretsNeverPrint(t *testing.T) {
	pub, priv := webhook.GenerateKeyPair()
	v, err := webhook.NewStandard(webhook.WithSecrets(testSecret, pub))
	require.NoError(t, err)
	sv, err := webhook.NewStripe(webhook.WithSecrets(stripeSecret))
	require.NoError(t, err)
	s, err := webhook.NewStandardSigner(testSecret, priv)
	require.NoError(t, err)
	ss, err := webhook.NewStripeSigner(stripeSecret)
	require.NoError(t, err)

	leaks := []string{testSecret, testSecret[len("whsec_"):], "c2VjcmV0", "secret-key-must-not-leak", stripeSecret, "stripe-endpoint", priv, priv[len("whsk_"):]}
	check := func(what, out string) {
		t.Helper()
		for _, l := range leaks {
			assert.False(t, strings.Contains(out, l), "%s prints key material", what)
		}
	}
	for name, x := range map[string]any{"standard verifier": v, "stripe verifier": sv, "standard signer": s, "stripe signer": ss} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			out := fmt.Sprintf(verb, x)
			assert.Equal(t, "[REDACTED]", out, name+" "+verb)
			check(name+" "+verb, fmt.Sprintf(verb, struct{ X any }{x}))
		}
		j, err := json.Marshal(map[string]any{"x": x})
		require.NoError(t, err)
		assert.JSONEq(t, `{"x":"[REDACTED]"}`, string(j), name)

		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "x", x)
		assert.Contains(t, buf.String(), `"x":"[REDACTED]"`, name)
		check(name+" slog", buf.String())
	}
	// Printed by value, the structs show no key either.
	check("signer by value", fmt.Sprintf("%+v %#v", *s, *ss))
}

func TestMessageLogLine(t *testing.T) {
	// Golden log line: a Message logs its id, timestamp and scheme, nothing else.
	body := []byte(`{}`)
	v := newStandard(t, newClock(t0))
	msg, err := v.Verify(t.Context(), standardHeader("msg_1", t0.Unix(), standardV1(t, testSecret, "msg_1", t0.Unix(), body)), body)
	require.NoError(t, err)
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	logger.Info("webhook accepted", "webhook", msg)
	assert.Equal(t, "level=INFO msg=\"webhook accepted\" webhook.id=msg_1 webhook.timestamp=1765000000 webhook.scheme=standard-webhooks/v1\n", buf.String())
	assert.Equal(t, time.Unix(1765000000, 0), msg.Timestamp())
}
