package middleware_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/middleware"
	"github.com/ztkit/ztkit/webhook"
)

// hookShop is a payments service receiving webhooks through VerifyWebhooks on
// a real TLS server.
type hookShop struct {
	vg     *verifyGuard
	url    string
	client *http.Client
}

func newHookShop(t *testing.T, v middleware.WebhookVerifier, opts ...middleware.WebhookOption) *hookShop {
	t.Helper()
	return newHookShopOf(t, newVerifyGuard(t), v, opts...)
}

func newHookShopOf(t *testing.T, vg *verifyGuard, v middleware.WebhookVerifier, opts ...middleware.WebhookOption) *hookShop {
	t.Helper()
	mw, err := middleware.VerifyWebhooks(vg.g, v, opts...)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/psp", mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg, ok := webhook.FromContext(r.Context())
		if !assert.True(t, ok) {
			return
		}
		body, err := io.ReadAll(r.Body)
		if !assert.NoError(t, err) {
			return
		}
		again, err := r.GetBody()
		if assert.NoError(t, err) {
			b, _ := io.ReadAll(again)
			assert.Equal(t, body, b)
		}
		fmt.Fprintf(w, "%s %s %s", msg.Scheme(), msg.ID(), body)
	})))
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return &hookShop{vg: vg, url: srv.URL, client: srv.Client()}
}

func (s *hookShop) request(t *testing.T, body string, h http.Header) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+"/webhooks/psp", strings.NewReader(body))
	require.NoError(t, err)
	for k, vs := range h {
		req.Header[k] = vs
	}
	return req
}

// TestVerifyWebhooksStandard: Standard Webhooks, with package webhook over
// TLS: a signed delivery reaches the handler with its id and the exact body;
// a replay, a changed body, a stale timestamp, no signature, a garbled
// header and a body over the limit are refused, recorded and logged.
func TestVerifyWebhooksStandard(t *testing.T) {
	secret := webhook.GenerateSecret().Reveal()
	v, err := webhook.NewStandard(webhook.WithSecrets(secret))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, v.Close()) })
	signer, err := webhook.NewStandardSigner(secret)
	require.NoError(t, err)
	s := newHookShop(t, v, middleware.WithMaxBody(1024))
	sign := func(id, body string, at time.Time) http.Header {
		h := http.Header{}
		require.NoError(t, signer.Sign(h, id, at, []byte(body)))
		return h
	}

	body := `{"type":"payment.succeeded","amount":4200}`
	h := sign("msg_1", body, time.Now())
	got := send(t, s.client, s.request(t, body, h))
	assert.Equal(t, http.StatusOK, got.status)
	assert.Equal(t, "standard-webhooks/v1 msg_1 "+body, got.body)
	assert.Empty(t, s.vg.log.take(t))

	garbled := sign("msg_5", body, time.Now())
	garbled.Set("webhook-signature", "v1,!!!")
	cases := []struct {
		name   string
		body   string
		h      http.Header
		status int
		reason guard.Reason
		level  string
	}{
		{"replayed", body, h, 401, guard.ReasonSignatureReplayed, "WARN"},
		{"changed body", strings.Replace(body, "4200", "9900", 1), sign("msg_2", body, time.Now()), 401, guard.ReasonSignatureInvalid, "WARN"},
		{"stale", body, sign("msg_3", body, time.Now().Add(-time.Hour)), 401, guard.ReasonSignatureExpired, "INFO"},
		{"unsigned", body, http.Header{}, 401, guard.ReasonSignatureMissing, "INFO"},
		{"garbled", body, garbled, 400, guard.ReasonSignatureMalformed, "INFO"},
		{"too large", strings.Repeat("x", 2048), sign("msg_6", strings.Repeat("x", 2048), time.Now()), 400, guard.ReasonInvalidRequest, "INFO"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := send(t, s.client, s.request(t, tc.body, tc.h))
			assert.Equal(t, tc.status, got.status)
			assert.Equal(t, string(tc.reason), got.code)
			assert.Empty(t, got.header.Get("Accept-Signature"))
			recs := s.vg.log.take(t)
			require.Len(t, recs, 1)
			assert.Equal(t, string(tc.reason), recs[0][guard.LogKeyReason])
			assert.Equal(t, tc.level, recs[0]["level"])
			assert.Equal(t, "POST /webhooks/psp", recs[0][guard.LogKeyRoute])
			assert.NotContains(t, fmt.Sprint(recs[0]), secret[6:], "the log leaks the secret")
		})
	}
}

// TestVerifyWebhooksStripe: a Stripe-Signature delivery verifies through the
// same middleware.
func TestVerifyWebhooksStripe(t *testing.T) {
	const secret = "whsec_test_0123456789abcdef0123456789abcdef"
	v, err := webhook.NewStripe(webhook.WithSecrets(secret))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, v.Close()) })
	s := newHookShop(t, v)

	body := `{"id":"evt_1","type":"charge.succeeded"}`
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + body))
	h := http.Header{"Stripe-Signature": {"t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))}}
	got := send(t, s.client, s.request(t, body, h))
	assert.Equal(t, http.StatusOK, got.status)
	assert.Equal(t, "stripe/v1  "+body, got.body)

	got = send(t, s.client, s.request(t, body+" ", h))
	assert.Equal(t, http.StatusUnauthorized, got.status)
	assert.Equal(t, string(guard.ReasonSignatureInvalid), got.code)
}

// failingHooks is a webhook verifier whose secrets source cannot answer.
type failingHooks struct{}

func (failingHooks) Verify(context.Context, http.Header, []byte) (*webhook.Message, error) {
	return nil, fmt.Errorf("%w: secrets source down", httpsig.ErrUnavailable)
}

// TestVerifyWebhooksMisuse: bad configuration fails at construction; an
// outage is a 503; a verifier that returns neither a message nor an error is
// a 500; a body that cannot be read is a 400.
func TestVerifyWebhooksMisuse(t *testing.T) {
	vg := newVerifyGuard(t)
	_, err := middleware.VerifyWebhooks(nil, failingHooks{})
	assert.ErrorIs(t, err, authn.ErrInvalidConfig)
	_, err = middleware.VerifyWebhooks(vg.g, nil)
	assert.ErrorIs(t, err, authn.ErrInvalidConfig)
	_, err = middleware.VerifyWebhooks(vg.g, failingHooks{}, middleware.WithMaxBody(0))
	assert.ErrorIs(t, err, authn.ErrInvalidConfig)

	s := newHookShop(t, failingHooks{})
	got := send(t, s.client, s.request(t, "{}", nil))
	assert.Equal(t, http.StatusServiceUnavailable, got.status)
	assert.Equal(t, string(guard.ReasonSignatureUnavailable), got.code)
	recs := s.vg.log.take(t)
	require.Len(t, recs, 1)
	assert.Equal(t, "ERROR", recs[0]["level"])

	mw, err := middleware.VerifyWebhooks(vg.g, nilHooks{}, nil)
	require.NoError(t, err)
	h := mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("the handler ran") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte("x"))))
	assert.Equal(t, http.StatusInternalServerError, rec.Code)

	rec = httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/", io.MultiReader(strings.NewReader("x"), errReader{}))
	r.ContentLength = -1
	h.ServeHTTP(rec, r)
	assert.Equal(t, http.StatusBadRequest, rec.Code)

	// A body of unknown length over the limit is cut off at the limit.
	small, err := middleware.VerifyWebhooks(vg.g, hmacHooks{secret: []byte("k")}, middleware.WithMaxBody(16))
	require.NoError(t, err)
	rec = httptest.NewRecorder()
	r = httptest.NewRequest(http.MethodPost, "/", io.MultiReader(strings.NewReader(strings.Repeat("x", 2048))))
	r.ContentLength = -1
	small(h).ServeHTTP(rec, r)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), "Bad Request")

	_, ok := webhook.FromContext(context.Background())
	assert.False(t, ok)
}

type nilHooks struct{}

func (nilHooks) Verify(context.Context, http.Header, []byte) (*webhook.Message, error) {
	return nil, nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// hmacHooks is a webhook verifier of its own, not package webhook's: HMAC-SHA256
// over the body under a shared secret, in an X-Signature header. It shows
// that VerifyWebhooks works with any verifier that returns the httpsig
// sentinels.
type hmacHooks struct{ secret []byte }

func (v hmacHooks) Verify(_ context.Context, h http.Header, body []byte) (*webhook.Message, error) {
	sig := h.Get("X-Signature")
	if sig == "" {
		return nil, httpsig.ErrMissing
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return nil, httpsig.ErrMalformed
	}
	mac := hmac.New(sha256.New, v.secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return nil, httpsig.ErrInvalid
	}
	return &webhook.Message{}, nil
}

// TestVerifyWebhooksOwnVerifier: the middleware with a verifier of the
// service's own making.
func TestVerifyWebhooksOwnVerifier(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	s := newHookShop(t, hmacHooks{secret: secret})
	body := `{"event":"refund"}`
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(body))
	sig := hex.EncodeToString(mac.Sum(nil))

	assert.Equal(t, http.StatusOK, send(t, s.client, s.request(t, body, http.Header{"X-Signature": {sig}})).status)
	got := send(t, s.client, s.request(t, body+"x", http.Header{"X-Signature": {sig}}))
	assert.Equal(t, http.StatusUnauthorized, got.status)
	assert.Equal(t, string(guard.ReasonSignatureInvalid), got.code)
	got = send(t, s.client, s.request(t, body, http.Header{"X-Signature": {"zz"}}))
	assert.Equal(t, http.StatusBadRequest, got.status)
}
