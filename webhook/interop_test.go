package webhook_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/internal/test/siginterop"
	"github.com/ztkit/ztkit/webhook"
)

// Interoperability with the Standard Webhooks project's own JavaScript library, the npm
// package standardwebhooks (1.1.1, pinned by internal/test/siginterop), run by the
// server scripts/test starts. It signs and verifies v1 (HMAC-SHA256) only: it has no
// v1a (Ed25519), so v1a appears here only beside v1 signatures, which it must skip.
// Every secret is made here, for this run, and never printed.

// interopSecret returns a new "whsec_" secret of n random bytes.
func interopSecret(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return webhook.PrefixSecret + base64.StdEncoding.EncodeToString(b)
}

// interopPayload is a payment provider's event, UTF-8 (the npm package signs strings).
func interopPayload(id string) []byte {
	return []byte(`{"type":"payment.succeeded","timestamp":"2026-12-07T03:00:00Z","data":{"id":"` + id + `","amount":1999,"currency":"EUR","customer":"Zoë"}}`)
}

// webhookReceiver is a Go server over a socket whose handler verifies each webhook with
// v and hands the outcome to the test.
type webhookReceiver struct {
	*httptest.Server
	results chan receiverResult
}

type receiverResult struct {
	msg *webhook.Message
	err error
}

func newWebhookReceiver(t *testing.T, v *webhook.Verifier) *webhookReceiver {
	t.Helper()
	rcv := &webhookReceiver{results: make(chan receiverResult, 1)}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, v.MaxBodyBytes()+1))
		if err == nil {
			var msg *webhook.Message
			msg, err = v.Verify(r.Context(), r.Header, body)
			rcv.results <- receiverResult{msg: msg, err: err}
		} else {
			rcv.results <- receiverResult{err: err}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

// send posts body with the header fields h and returns what the verifier said.
func (rcv *webhookReceiver) send(t *testing.T, h http.Header, body []byte) receiverResult {
	t.Helper()
	r, err := http.NewRequestWithContext(context.Background(), http.MethodPost, rcv.URL+"/webhooks/payments", bytes.NewReader(body))
	require.NoError(t, err)
	for k, vs := range h {
		r.Header[k] = vs
	}
	r.Header.Set("Content-Type", "application/json")
	resp, err := rcv.Client().Do(r)
	require.NoError(t, err)
	_ = resp.Body.Close()
	select {
	case res := <-rcv.results:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver did not verify the webhook")
		return receiverResult{}
	}
}

// TestInteropStandardWebhooksSignsZtkitVerifies: a v1 webhook standardwebhooks signs
// (secrets of 24, 32 and 64 bytes) verifies under ztkit when it arrives at a Go server,
// also among other keys (rotation); the same message again is a replay, and a changed
// body, id or timestamp fails with ErrInvalid.
func TestInteropStandardWebhooksSignsZtkitVerifies(t *testing.T) {
	s := siginterop.Require(t)
	for _, n := range []int{webhook.MinSecretBytes, 32, webhook.MaxSecretBytes} {
		t.Run(strconv.Itoa(n)+" bytes", func(t *testing.T) {
			secret := interopSecret(t, n)
			otherPub, _ := keyPair()
			v, err := webhook.NewStandard(webhook.WithSecrets(interopSecret(t, 32), otherPub, secret))
			require.NoError(t, err)
			rcv := newWebhookReceiver(t, v)

			id := "msg_" + strconv.Itoa(n) + "_2KWPBgLlAfxdpx2AI54pPJ85f4W"
			ts := time.Now().Add(-30 * time.Second).Truncate(time.Second)
			body := interopPayload("pay_" + strconv.Itoa(n))
			h := s.WebhookSign(t, secret, id, ts, body)
			assert.True(t, strings.HasPrefix(h.Get(webhook.HeaderSignature), "v1,"))

			res := rcv.send(t, h, body)
			require.NoError(t, res.err, "ztkit refused standardwebhooks' signature")
			assert.Equal(t, id, res.msg.ID())
			assert.True(t, ts.Equal(res.msg.Timestamp()), "timestamp %v, want %v", res.msg.Timestamp(), ts)
			assert.Equal(t, webhook.SchemeStandardV1, res.msg.Scheme())

			res = rcv.send(t, h, body)
			assert.ErrorIs(t, res.err, httpsig.ErrReplayed)

			// Negatives, each a fresh id so that none is refused as a replay.
			changed := bytes.Replace(body, []byte("1999"), []byte("1"), 1)
			h = s.WebhookSign(t, secret, id+"b", ts, body)
			res = rcv.send(t, h, changed)
			assert.ErrorIs(t, res.err, httpsig.ErrInvalid, "changed body")

			h = s.WebhookSign(t, secret, id+"c", ts, body)
			h.Set(webhook.HeaderID, id+"d")
			res = rcv.send(t, h, body)
			assert.ErrorIs(t, res.err, httpsig.ErrInvalid, "changed webhook-id")

			h = s.WebhookSign(t, secret, id+"e", ts, body)
			h.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts.Unix()+1, 10))
			res = rcv.send(t, h, body)
			assert.ErrorIs(t, res.err, httpsig.ErrInvalid, "changed webhook-timestamp")
		})
	}
}

// TestInteropZtkitSignsStandardWebhooksVerifies: a webhook ztkit signs with one secret
// verifies under standardwebhooks as it arrives, and carries the very signature the
// library makes; signed during a rotation (two secrets and a v1a key: "v1,… v1,… v1a,…")
// it verifies under either secret, the library skipping the v1a signature; a changed
// body or timestamp does not verify.
func TestInteropZtkitSignsStandardWebhooksVerifies(t *testing.T) {
	s := siginterop.Require(t)
	secret := interopSecret(t, 32)
	id := "msg_ztkit_2KWPBgLlAfxdpx2AI54pPJ85f4W"
	ts := time.Now().Truncate(time.Second)
	body := interopPayload("pay_ztkit")

	signer, err := webhook.NewStandardSigner(secret)
	require.NoError(t, err)
	h := http.Header{}
	require.NoError(t, signer.Sign(h, id, ts, body))
	ok, reason := s.WebhookVerify(t, secret, h, body)
	assert.True(t, ok, "standardwebhooks refused ztkit's signature: %s", reason)
	assert.Equal(t, id, h.Get(webhook.HeaderID))
	assert.Equal(t, strconv.FormatInt(ts.Unix(), 10), h.Get(webhook.HeaderTimestamp))
	lib := s.WebhookSign(t, secret, id, ts, body)
	// Signatures under a secret are compared, never printed.
	assert.True(t, h.Get(webhook.HeaderSignature) == lib.Get(webhook.HeaderSignature),
		"ztkit's webhook-signature differs from standardwebhooks' for the same message")

	t.Run("rotation", func(t *testing.T) {
		next := interopSecret(t, 32)
		_, edPriv := keyPair()
		signer, err := webhook.NewStandardSigner(next, secret, edPriv)
		require.NoError(t, err)
		h := http.Header{}
		require.NoError(t, signer.Sign(h, id, ts, body))
		versions := []string{}
		for _, sig := range strings.Fields(h.Get(webhook.HeaderSignature)) {
			v, _, _ := strings.Cut(sig, ",")
			versions = append(versions, v)
		}
		require.Equal(t, []string{"v1", "v1", "v1a"}, versions)
		for name, sec := range map[string]string{"next": next, "previous": secret} {
			ok, reason := s.WebhookVerify(t, sec, h, body)
			assert.True(t, ok, "standardwebhooks refused the %s secret's signature: %s", name, reason)
		}
		ok, reason := s.WebhookVerify(t, interopSecret(t, 32), h, body)
		assert.False(t, ok, "an unrelated secret verified")
		assert.Contains(t, reason, "No matching signature")
	})

	t.Run("changed body", func(t *testing.T) {
		ok, reason := s.WebhookVerify(t, secret, h, bytes.Replace(body, []byte("1999"), []byte("1"), 1))
		assert.False(t, ok)
		assert.Contains(t, reason, "No matching signature")
	})

	t.Run("changed timestamp", func(t *testing.T) {
		changed := h.Clone()
		changed.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts.Unix()-1, 10))
		ok, reason := s.WebhookVerify(t, secret, changed, body)
		assert.False(t, ok)
		assert.Contains(t, reason, "No matching signature")
	})
}
