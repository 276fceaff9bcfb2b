package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/middleware"
	"github.com/ztkit/ztkit/webhook"
)

// TestVerifyWebhooksRecorder: a service that receives only webhooks (no mTLS,
// no token) records its refusals with a guard of guard.NewRecorder, no
// authenticator needed; the same guard given to middleware that
// authenticates lets nothing through (fail closed).
func TestVerifyWebhooksRecorder(t *testing.T) {
	secret := webhook.GenerateSecret().Reveal()
	v, err := webhook.NewStandard(webhook.WithSecrets(secret))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, v.Close()) })
	signer, err := webhook.NewStandardSigner(secret)
	require.NoError(t, err)
	vg := newRecorderGuard(t)
	s := newHookShopOf(t, vg, v)

	body := `{"type":"payment.succeeded","amount":4200}`
	h := http.Header{}
	require.NoError(t, signer.Sign(h, "msg_1", time.Now(), []byte(body)))
	got := send(t, s.client, s.request(t, body, h))
	assert.Equal(t, http.StatusOK, got.status)
	assert.Equal(t, "standard-webhooks/v1 msg_1 "+body, got.body)
	assert.Empty(t, vg.log.take(t))

	got = send(t, s.client, s.request(t, body, h))
	assert.Equal(t, http.StatusUnauthorized, got.status)
	assert.Equal(t, string(guard.ReasonSignatureReplayed), got.code)
	recs := vg.log.take(t)
	require.Len(t, recs, 1)
	assert.Equal(t, "WARN", recs[0]["level"])
	assert.Equal(t, "signature", recs[0][guard.LogKeyStage])
	assert.Equal(t, int64(1), vg.denials(t)[string(guard.ReasonSignatureReplayed)])

	// The recorder authenticates nobody: behind FromGuard, every request is
	// refused, 500, and the handler never runs.
	srv := httptest.NewTLSServer(middleware.FromGuard(vg.g)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("the handler ran")
	})))
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL + "/orders")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	recs = vg.log.take(t)
	require.Len(t, recs, 1)
	assert.Equal(t, "ERROR", recs[0]["level"])
	assert.Equal(t, string(guard.ReasonInternal), recs[0][guard.LogKeyReason])
}
