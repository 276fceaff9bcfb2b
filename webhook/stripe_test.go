package webhook_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/webhook"
)

func stripeHeader(value string) http.Header {
	h := http.Header{}
	h.Set("Stripe-Signature", value)
	return h
}

func newStripe(t *testing.T, clk *clock, opts ...webhook.Option) *webhook.Verifier {
	t.Helper()
	v, err := webhook.NewStripe(append([]webhook.Option{webhook.WithSecrets(stripeSecret), webhook.WithClock(clk.Now)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	return v
}

func TestStripeSignerMatchesIndependentHMAC(t *testing.T) {
	body := []byte(`{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}`)
	s, err := webhook.NewStripeSigner(stripeSecret, otherStripeSecret)
	require.NoError(t, err)
	h := http.Header{}
	require.NoError(t, s.Sign(h, "", t0, body))
	want := "t=" + strconv.FormatInt(t0.Unix(), 10) +
		",v1=" + stripeV1(stripeSecret, t0.Unix(), body) +
		",v1=" + stripeV1(otherStripeSecret, t0.Unix(), body)
	assert.True(t, h.Get("Stripe-Signature") == want, "Stripe-Signature is t and one v1 per secret, hex HMAC-SHA256 of t.body under the secret's bytes")
	assert.Empty(t, h.Get("webhook-id"), "a Stripe signer sets no Standard Webhooks header")
}

func TestStripeAccepts(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"charge.refunded"}`)
	ts := t0.Unix()
	tsS := strconv.FormatInt(ts, 10)
	good := stripeV1(stripeSecret, ts, body)
	wrong := stripeV1(otherStripeSecret, ts, body)
	tests := []struct {
		name  string
		value string
		now   time.Time
	}{
		{name: "t and v1", value: "t=" + tsS + ",v1=" + good},
		{name: "v1 before t", value: "v1=" + good + ",t=" + tsS},
		{name: "rolled secret: the valid v1 second", value: "t=" + tsS + ",v1=" + wrong + ",v1=" + good},
		{name: "v0 and unknown schemes ignored", value: "t=" + tsS + ",v0=" + strings.Repeat("0", 64) + ",v2=zz,v1=" + good + ",foo=bar"},
		{name: "upper-case hex", value: "t=" + tsS + ",v1=" + strings.ToUpper(good)},
		{name: "spaces around elements", value: " t=" + tsS + " , v1=" + good + " "},
		{name: "exactly tolerance old", value: "t=" + tsS + ",v1=" + good, now: t0.Add(300 * time.Second)},
		{name: "exactly tolerance ahead", value: "t=" + tsS + ",v1=" + good, now: t0.Add(-300 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = t0
			}
			v := newStripe(t, newClock(now))
			msg, err := v.Verify(context.Background(), stripeHeader(tt.value), body)
			require.NoError(t, err)
			assert.Equal(t, "", msg.ID(), "a Stripe message's id is in its body")
			assert.Equal(t, t0, msg.Timestamp())
			assert.Equal(t, webhook.SchemeStripeV1, msg.Scheme())
		})
	}
}

func TestStripeRefusals(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"charge.refunded"}`)
	ts := t0.Unix()
	tsS := strconv.FormatInt(ts, 10)
	good := stripeV1(stripeSecret, ts, body)
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		now    time.Time
		want   error
	}{
		{name: "changed body", header: stripeHeader("t=" + tsS + ",v1=" + good), body: []byte(`{"id":"evt_2","type":"charge.refunded"}`), want: httpsig.ErrInvalid},
		{name: "changed timestamp", header: stripeHeader("t=" + strconv.FormatInt(ts-1, 10) + ",v1=" + good), want: httpsig.ErrInvalid},
		{name: "wrong secret", header: stripeHeader("t=" + tsS + ",v1=" + stripeV1(otherStripeSecret, ts, body)), want: httpsig.ErrInvalid},
		{name: "secret decoded as base64 instead of raw", header: stripeHeader("t=" + tsS + ",v1=" + stripeV1(stripeSecret[len("whsec_"):], ts, body)), want: httpsig.ErrInvalid},
		{name: "valid v0 only", header: stripeHeader("t=" + tsS + ",v0=" + good), want: httpsig.ErrMissing},
		{name: "no signature at all", header: stripeHeader("t=" + tsS), want: httpsig.ErrMissing},
		{name: "missing header", header: http.Header{}, want: httpsig.ErrMissing},
		{name: "empty header", header: stripeHeader(""), want: httpsig.ErrMissing},
		{name: "expired", header: stripeHeader("t=" + tsS + ",v1=" + good), now: t0.Add(301 * time.Second), want: httpsig.ErrExpired},
		{name: "future", header: stripeHeader("t=" + tsS + ",v1=" + good), now: t0.Add(-301 * time.Second), want: httpsig.ErrExpired},
		{name: "truncated signature", header: stripeHeader("t=" + tsS + ",v1=" + good[:63]), want: httpsig.ErrMalformed},
		{name: "signature too long", header: stripeHeader("t=" + tsS + ",v1=" + good + "00"), want: httpsig.ErrMalformed},
		{name: "signature not hex", header: stripeHeader("t=" + tsS + ",v1=" + strings.Repeat("g", 64)), want: httpsig.ErrMalformed},
		{name: "no t", header: stripeHeader("v1=" + good), want: httpsig.ErrMalformed},
		{name: "two t", header: stripeHeader("t=" + tsS + ",t=" + tsS + ",v1=" + good), want: httpsig.ErrMalformed},
		{name: "t not a number", header: stripeHeader("t=abc,v1=" + good), want: httpsig.ErrMalformed},
		{name: "t negative", header: stripeHeader("t=-" + tsS + ",v1=" + good), want: httpsig.ErrMalformed},
		{name: "t empty", header: stripeHeader("t=,v1=" + good), want: httpsig.ErrMalformed},
		{name: "element without =", header: stripeHeader("t=" + tsS + ",v1" + good), want: httpsig.ErrMalformed},
		{name: "empty element", header: stripeHeader("t=" + tsS + ",,v1=" + good), want: httpsig.ErrMalformed},
		{name: "trailing comma", header: stripeHeader("t=" + tsS + ",v1=" + good + ","), want: httpsig.ErrMalformed},
		{name: "empty key", header: stripeHeader("t=" + tsS + ",=x,v1=" + good), want: httpsig.ErrMalformed},
		{name: "too many signatures", header: stripeHeader("t=" + tsS + strings.Repeat(",v0=00", webhook.MaxSignatures) + ",v1=" + good), want: httpsig.ErrMalformed},
		{name: "header too long", header: stripeHeader("t=" + tsS + ",v1=" + good + ",x=" + strings.Repeat("x", webhook.MaxSignatureHeaderLen)), want: httpsig.ErrMalformed},
		{name: "repeated header", header: func() http.Header {
			h := stripeHeader("t=" + tsS + ",v1=" + good)
			h.Add("Stripe-Signature", "t="+tsS+",v1="+good)
			return h
		}(), want: httpsig.ErrMalformed},
		{name: "Standard Webhooks headers only", header: standardHeader("msg_1", ts, standardV1(t, testSecret, "msg_1", ts, body)), want: httpsig.ErrMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = t0
			}
			b := tt.body
			if b == nil {
				b = body
			}
			v := newStripe(t, newClock(now))
			msg, err := v.Verify(context.Background(), tt.header, b)
			require.ErrorIs(t, err, tt.want)
			assert.Nil(t, msg)
			assert.True(t, strings.HasPrefix(err.Error(), "webhook: "), "package prefix")
			assertNoLeak(t, err, stripeSecret, good, tt.header.Get("Stripe-Signature"))
		})
	}
}

func TestStripeReplay(t *testing.T) {
	ctx := context.Background()
	body := []byte(`{"id":"evt_1","type":"charge.refunded"}`)
	clk := newClock(t0)
	// The verifier holds both secrets, as during a roll; the sender signed with both.
	v, err := webhook.NewStripe(webhook.WithSecrets(stripeSecret, otherStripeSecret), webhook.WithClock(clk.Now))
	require.NoError(t, err)
	ts := t0.Unix()
	tsS := strconv.FormatInt(ts, 10)
	a, b := stripeV1(stripeSecret, ts, body), stripeV1(otherStripeSecret, ts, body)

	_, err = v.Verify(ctx, stripeHeader("t="+tsS+",v1="+a+",v1="+b), body)
	require.NoError(t, err)
	for name, value := range map[string]string{
		"same header":               "t=" + tsS + ",v1=" + a + ",v1=" + b,
		"first signature only":      "t=" + tsS + ",v1=" + a,
		"second signature only":     "t=" + tsS + ",v1=" + b,
		"signatures reordered":      "t=" + tsS + ",v1=" + b + ",v1=" + a,
		"junk added":                "t=" + tsS + ",v0=00,v1=" + a + ",x=y",
		"upper-case hex":            "t=" + tsS + ",v1=" + strings.ToUpper(b),
		"spaces around the element": "t=" + tsS + " , v1=" + a,
	} {
		_, err = v.Verify(ctx, stripeHeader(value), body)
		assert.ErrorIs(t, err, httpsig.ErrReplayed, name)
	}

	// The same event delivered again by Stripe (a retry) is signed at a new t: accepted.
	clk.Add(time.Minute)
	ts2 := clk.Now().Unix()
	_, err = v.Verify(ctx, stripeHeader("t="+strconv.FormatInt(ts2, 10)+",v1="+stripeV1(stripeSecret, ts2, body)), body)
	require.NoError(t, err)

	// Another body at the same t is another message.
	body2 := []byte(`{"id":"evt_2","type":"charge.refunded"}`)
	_, err = v.Verify(ctx, stripeHeader("t="+tsS+",v1="+stripeV1(stripeSecret, ts, body2)), body2)
	require.NoError(t, err)
}

func TestStripeKeys(t *testing.T) {
	for name, tc := range map[string]struct {
		key string
		ok  bool
	}{
		"whsec_ secret":         {key: stripeSecret, ok: true},
		"16 characters":         {key: strings.Repeat("k", 16), ok: true},
		"15 characters":         {key: strings.Repeat("k", 15)},
		"empty":                 {key: ""},
		"over 256 characters":   {key: strings.Repeat("k", 257)},
		"Standard Webhooks key": {key: testSecret, ok: true}, // any opaque string of the right length
	} {
		t.Run(name, func(t *testing.T) {
			_, err := webhook.NewStripe(webhook.WithSecrets(tc.key))
			_, serr := webhook.NewStripeSigner(tc.key)
			if tc.ok {
				assert.NoError(t, err)
				assert.NoError(t, serr)
				return
			}
			assert.ErrorIs(t, err, webhook.ErrInvalidConfig)
			assert.ErrorIs(t, serr, webhook.ErrInvalidConfig)
		})
	}
}

func TestSignerRefusals(t *testing.T) {
	s, err := webhook.NewStandardSigner(testSecret)
	require.NoError(t, err)
	for name, id := range map[string]string{
		"empty id":        "",
		"id with a dot":   "msg.1",
		"id with a space": "msg 1",
		"id too long":     strings.Repeat("m", webhook.MaxIDLen+1),
	} {
		h := http.Header{}
		assert.ErrorIs(t, s.Sign(h, id, t0, nil), webhook.ErrUnsignable, name)
		assert.Empty(t, h, name+": h unchanged")
	}
	h := http.Header{}
	assert.ErrorIs(t, s.Sign(h, "msg_1", time.Unix(0, 0), nil), webhook.ErrUnsignable)
	assert.ErrorIs(t, s.Sign(h, "msg_1", time.Time{}, nil), webhook.ErrUnsignable)
	assert.Empty(t, h)

	// A nil header has nowhere to put the signature: refused, not a panic.
	stripeS, err := webhook.NewStripeSigner(stripeSecret)
	require.NoError(t, err)
	for _, signer := range []*webhook.Signer{s, stripeS} {
		require.NotPanics(t, func() { err = signer.Sign(nil, "msg_1", t0, nil) })
		assert.ErrorIs(t, err, webhook.ErrUnsignable)
	}

	var zero webhook.Signer
	assert.ErrorIs(t, zero.Sign(h, "msg_1", t0, nil), webhook.ErrUnsignable)
	var nilS *webhook.Signer
	assert.ErrorIs(t, nilS.Sign(h, "msg_1", t0, nil), webhook.ErrUnsignable)

	_, err = webhook.NewStandardSigner()
	assert.ErrorIs(t, err, webhook.ErrInvalidConfig)
	_, err = webhook.NewStripeSigner()
	assert.ErrorIs(t, err, webhook.ErrInvalidConfig)

	// Sign replaces headers already there.
	h = standardHeader("old", 1, "v1,old")
	require.NoError(t, s.Sign(h, "msg_1", t0, nil))
	assert.Equal(t, []string{"msg_1"}, h.Values("webhook-id"))
	assert.Len(t, h.Values("webhook-signature"), 1)
}
