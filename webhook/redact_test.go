package webhook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/webhook"
)

func TestSecretsNeverPrint(t *testing.T) {
	pub, priv := keyPair()
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

// TestGeneratedKeysNeverPrint: GenerateSecret and GenerateKeyPair return the
// secret halves as redact.Secret values, which print, marshal and log as
// [REDACTED]; Reveal gives the key, which a signer and a verifier take.
func TestGeneratedKeysNeverPrint(t *testing.T) {
	secret := webhook.GenerateSecret()
	public, private := webhook.GenerateKeyPair()
	for name, x := range map[string]any{"secret": secret, "private key": private} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			assert.Equal(t, "[REDACTED]", fmt.Sprintf(verb, x), name+" "+verb)
		}
		j, err := json.Marshal(map[string]any{"x": x})
		require.NoError(t, err)
		assert.JSONEq(t, `{"x":"[REDACTED]"}`, string(j), name)
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "x", x)
		assert.Contains(t, buf.String(), `"x":"[REDACTED]"`, name)
	}
	assert.True(t, strings.HasPrefix(secret.Reveal(), webhook.PrefixSecret))
	assert.True(t, strings.HasPrefix(private.Reveal(), webhook.PrefixPrivateKey))
	assert.True(t, strings.HasPrefix(public, webhook.PrefixPublicKey))
	assert.False(t, webhook.GenerateSecret().Reveal() == secret.Reveal(), "two secrets are different")

	// The revealed keys work: v1 with the secret, v1a with the key pair.
	s, err := webhook.NewStandardSigner(secret.Reveal(), private.Reveal())
	require.NoError(t, err)
	v, err := webhook.NewStandard(webhook.WithSecrets(secret.Reveal(), public))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, v.Close()) })
	h := http.Header{}
	body := []byte(`{"type":"payment.succeeded"}`)
	require.NoError(t, s.Sign(h, "msg_1", time.Now(), body))
	msg, err := v.Verify(t.Context(), h, body)
	require.NoError(t, err)
	assert.Equal(t, "msg_1", msg.ID())
}
