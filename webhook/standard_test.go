package webhook_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/webhook"
)

// Vectors published by the Standard Webhooks project with its reference
// libraries (libraries/go webhook_test.go TestWebhookSign and
// webhook_asymmetric_test.go TestAsymmetricWebhookSign): the same inputs signed
// under a v1 secret and under a v1a key whose seed is given.
const (
	specSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specSeed    = "whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="
	specID      = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS      = 1614265330
	specPayload = `{"test": 2432232314}`
	specV1Sig   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	specV1aSig  = "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="
)

// specPublicKey derives the whpk_ key of specSeed.
func specPublicKey(t *testing.T) string {
	t.Helper()
	seed, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(specSeed, "whsk_"))
	require.NoError(t, err)
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	return "whpk_" + base64.StdEncoding.EncodeToString(pub)
}

func TestStandardReferenceVectors(t *testing.T) {
	specTime := time.Unix(specTS, 0)
	tests := []struct {
		name      string
		signKey   string
		verifyKey func(t *testing.T) string
		want      string
		scheme    webhook.Scheme
	}{
		{name: "v1 HMAC-SHA256", signKey: specSecret, verifyKey: func(*testing.T) string { return specSecret }, want: specV1Sig, scheme: webhook.SchemeStandardV1},
		{name: "v1a Ed25519", signKey: specSeed, verifyKey: specPublicKey, want: specV1aSig, scheme: webhook.SchemeStandardV1a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := webhook.NewStandardSigner(tt.signKey)
			require.NoError(t, err)
			h := http.Header{}
			require.NoError(t, s.Sign(h, specID, specTime, []byte(specPayload)))
			assert.Equal(t, tt.want, h.Get("webhook-signature"), "the signature is public test data")
			assert.Equal(t, specID, h.Get("webhook-id"))
			assert.Equal(t, "1614265330", h.Get("webhook-timestamp"))

			v, err := webhook.NewStandard(webhook.WithSecrets(tt.verifyKey(t)), webhook.WithClock(func() time.Time { return specTime }))
			require.NoError(t, err)
			msg, err := v.Verify(context.Background(), standardHeader(specID, specTS, tt.want), []byte(specPayload))
			require.NoError(t, err)
			assert.Equal(t, specID, msg.ID())
			assert.Equal(t, specTime, msg.Timestamp())
			assert.Equal(t, tt.scheme, msg.Scheme())
		})
	}
	// The v1 vector also matches HMAC-SHA256 computed here with crypto/hmac.
	assert.Equal(t, specV1Sig, standardV1(t, specSecret, specID, specTS, []byte(specPayload)))
}

func TestStandardSpecHeadersExample(t *testing.T) {
	// The specification's example header carries a v1 and a v1a signature
	// separated by a space; both parse, and a verifier holding the matching
	// key accepts the message whichever signature it checks.
	body := []byte(`{"type":"contact.created"}`)
	pub, priv := keyPair()
	s, err := webhook.NewStandardSigner(testSecret, priv)
	require.NoError(t, err)
	h := http.Header{}
	require.NoError(t, s.Sign(h, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", t0, body))
	sigs := strings.Split(h.Get("webhook-signature"), " ")
	require.Len(t, sigs, 2)
	assert.True(t, strings.HasPrefix(sigs[0], "v1,"))
	assert.True(t, strings.HasPrefix(sigs[1], "v1a,"))

	for _, tc := range []struct {
		key    string
		scheme webhook.Scheme
	}{{testSecret, webhook.SchemeStandardV1}, {pub, webhook.SchemeStandardV1a}} {
		v, err := webhook.NewStandard(webhook.WithSecrets(tc.key), webhook.WithClock(func() time.Time { return t0 }))
		require.NoError(t, err)
		msg, err := v.Verify(context.Background(), h, body)
		require.NoError(t, err)
		assert.Equal(t, tc.scheme, msg.Scheme())
	}
}

// newStandard returns a verifier of testSecret at clk, with its own memory store.
func newStandard(t *testing.T, clk *clock, opts ...webhook.Option) *webhook.Verifier {
	t.Helper()
	v, err := webhook.NewStandard(append([]webhook.Option{webhook.WithSecrets(testSecret), webhook.WithClock(clk.Now)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	return v
}

func TestStandardAccepts(t *testing.T) {
	body := []byte(`{"type":"invoice.paid","data":{"id":"in_1"}}`)
	ts := t0.Unix()
	good := standardV1(t, testSecret, "msg_1", ts, body)
	wrong := standardV1(t, otherSecret, "msg_1", ts, body)
	_, otherPriv := keyPair()
	os, err := webhook.NewStandardSigner(otherPriv)
	require.NoError(t, err)
	hv1a := http.Header{}
	require.NoError(t, os.Sign(hv1a, "msg_1", t0, body))
	foreignV1a := hv1a.Get("webhook-signature")

	tests := []struct {
		name   string
		header http.Header
		now    time.Time
	}{
		{name: "one signature", header: standardHeader("msg_1", ts, good)},
		{name: "valid among others (rotation)", header: standardHeader("msg_1", ts, wrong+" "+foreignV1a+" v2,abc "+good)},
		{name: "unknown versions ignored", header: standardHeader("msg_1", ts, "v0,xyz v2,"+strings.Repeat("A", 100)+" "+good)},
		{name: "extra spaces", header: standardHeader("msg_1", ts, "  "+good+"  ")},
		{name: "lower-case header names", header: func() http.Header {
			h := http.Header{}
			h.Set("WEBHOOK-ID", "msg_1")
			h.Set("webhook-TIMESTAMP", strconv.FormatInt(ts, 10))
			h.Set("Webhook-Signature", good)
			return h
		}()},
		{name: "exactly tolerance old", header: standardHeader("msg_1", ts, good), now: t0.Add(webhook.DefaultTolerance)},
		{name: "exactly tolerance ahead", header: standardHeader("msg_1", ts, good), now: t0.Add(-webhook.DefaultTolerance)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = t0
			}
			v := newStandard(t, newClock(now))
			msg, err := v.Verify(context.Background(), tt.header, body)
			require.NoError(t, err)
			assert.Equal(t, "msg_1", msg.ID())
			assert.Equal(t, t0, msg.Timestamp())
			assert.Equal(t, webhook.SchemeStandardV1, msg.Scheme())
		})
	}
}

func TestStandardRefusals(t *testing.T) {
	body := []byte(`{"type":"invoice.paid","data":{"id":"in_1"}}`)
	ts := t0.Unix()
	good := standardV1(t, testSecret, "msg_1", ts, body)
	tsS := strconv.FormatInt(ts, 10)
	with := func(edit func(h http.Header)) http.Header {
		h := standardHeader("msg_1", ts, good)
		edit(h)
		return h
	}
	signed := func(id string, ts int64, b []byte) http.Header {
		return standardHeader(id, ts, standardV1(t, testSecret, id, ts, b))
	}
	v1a := func() string {
		_, priv := keyPair()
		s, err := webhook.NewStandardSigner(priv)
		require.NoError(t, err)
		h := http.Header{}
		require.NoError(t, s.Sign(h, "msg_1", t0, body))
		return h.Get("webhook-signature")
	}()

	tests := []struct {
		name   string
		header http.Header
		body   []byte
		now    time.Time
		want   error
	}{
		{name: "changed body", header: with(func(http.Header) {}), body: []byte(`{"type":"invoice.paid","data":{"id":"in_2"}}`), want: httpsig.ErrInvalid},
		{name: "body with a trailing newline", header: with(func(http.Header) {}), body: append(append([]byte{}, body...), '\n'), want: httpsig.ErrInvalid},
		{name: "changed id", header: with(func(h http.Header) { h.Set("webhook-id", "msg_2") }), want: httpsig.ErrInvalid},
		{name: "changed timestamp", header: with(func(h http.Header) { h.Set("webhook-timestamp", strconv.FormatInt(ts+1, 10)) }), want: httpsig.ErrInvalid},
		{name: "wrong secret", header: standardHeader("msg_1", ts, standardV1(t, otherSecret, "msg_1", ts, body)), want: httpsig.ErrInvalid},
		{name: "v1a signature under an unknown key", header: with(func(h http.Header) { h.Set("webhook-signature", v1a) }), want: httpsig.ErrInvalid},
		{name: "signature of the right size, all zero", header: with(func(h http.Header) {
			h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32)))
		}), want: httpsig.ErrInvalid},
		{name: "expired", header: with(func(http.Header) {}), now: t0.Add(webhook.DefaultTolerance + time.Second), want: httpsig.ErrExpired},
		{name: "future", header: with(func(http.Header) {}), now: t0.Add(-webhook.DefaultTolerance - time.Second), want: httpsig.ErrExpired},
		{name: "far future", header: signed("msg_1", 999_999_999_999_999_999, body), want: httpsig.ErrExpired},
		{name: "missing id", header: with(func(h http.Header) { h.Del("webhook-id") }), want: httpsig.ErrMissing},
		{name: "missing timestamp", header: with(func(h http.Header) { h.Del("webhook-timestamp") }), want: httpsig.ErrMissing},
		{name: "missing signature", header: with(func(h http.Header) { h.Del("webhook-signature") }), want: httpsig.ErrMissing},
		{name: "empty signature", header: with(func(h http.Header) { h.Set("webhook-signature", "") }), want: httpsig.ErrMissing},
		{name: "only spaces", header: with(func(h http.Header) { h.Set("webhook-signature", "   ") }), want: httpsig.ErrMissing},
		{name: "only unknown versions", header: with(func(h http.Header) { h.Set("webhook-signature", "v2,"+good[3:]) }), want: httpsig.ErrMissing},
		{name: "no headers", header: http.Header{}, want: httpsig.ErrMissing},
		{name: "truncated signature", header: with(func(h http.Header) { h.Set("webhook-signature", good[:len(good)-2]) }), want: httpsig.ErrMalformed},
		{name: "signature without padding", header: with(func(h http.Header) { h.Set("webhook-signature", strings.TrimRight(good, "=")) }), want: httpsig.ErrMalformed},
		{name: "signature too long", header: with(func(h http.Header) { h.Set("webhook-signature", good+"AAAA") }), want: httpsig.ErrMalformed},
		{name: "v1a-sized field decoding to more than a signature", header: with(func(h http.Header) {
			h.Set("webhook-signature", "v1a,"+strings.Repeat("0", 88)) // 66 bytes: found by FuzzParseStandardSignatures
		}), want: httpsig.ErrMalformed},
		{name: "signature not base64", header: with(func(h http.Header) { h.Set("webhook-signature", "v1,"+strings.Repeat("*", 43)+"=") }), want: httpsig.ErrMalformed},
		{name: "non-canonical base64", header: with(func(h http.Header) {
			// The last character before the padding carries two bits that must
			// be zero; a lenient decoder ignores them and decodes the same bytes.
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
			b := []byte(good)
			b[len(b)-2] = alphabet[strings.IndexByte(alphabet, b[len(b)-2])^1]
			lenient, err := base64.StdEncoding.DecodeString(string(b[3:]))
			require.NoError(t, err)
			canonical, err := base64.StdEncoding.DecodeString(good[3:])
			require.NoError(t, err)
			require.True(t, string(lenient) == string(canonical), "the variant decodes to the same signature")
			h.Set("webhook-signature", string(b))
		}), want: httpsig.ErrMalformed},
		{name: "signature without a version", header: with(func(h http.Header) { h.Set("webhook-signature", good[3:]) }), want: httpsig.ErrMalformed},
		{name: "empty version", header: with(func(h http.Header) { h.Set("webhook-signature", good[2:]) }), want: httpsig.ErrMalformed},
		{name: "too many signatures", header: with(func(h http.Header) {
			h.Set("webhook-signature", strings.Repeat("v2,x ", webhook.MaxSignatures)+good)
		}), want: httpsig.ErrMalformed},
		{name: "signature header too long", header: with(func(h http.Header) {
			h.Set("webhook-signature", good+strings.Repeat(" ", webhook.MaxSignatureHeaderLen))
		}), want: httpsig.ErrMalformed},
		{name: "repeated signature header", header: with(func(h http.Header) { h.Add("webhook-signature", good) }), want: httpsig.ErrMalformed},
		{name: "repeated id", header: with(func(h http.Header) { h.Add("webhook-id", "msg_1") }), want: httpsig.ErrMalformed},
		{name: "repeated timestamp", header: with(func(h http.Header) { h.Add("webhook-timestamp", tsS) }), want: httpsig.ErrMalformed},
		{name: "timestamp not a number", header: with(func(h http.Header) { h.Set("webhook-timestamp", "12a4") }), want: httpsig.ErrMalformed},
		{name: "timestamp with a sign", header: with(func(h http.Header) { h.Set("webhook-timestamp", "+"+tsS) }), want: httpsig.ErrMalformed},
		{name: "negative timestamp", header: with(func(h http.Header) { h.Set("webhook-timestamp", "-"+tsS) }), want: httpsig.ErrMalformed},
		{name: "timestamp with a leading zero", header: with(func(h http.Header) { h.Set("webhook-timestamp", "0"+tsS) }), want: httpsig.ErrMalformed},
		{name: "timestamp zero", header: with(func(h http.Header) { h.Set("webhook-timestamp", "0") }), want: httpsig.ErrMalformed},
		{name: "timestamp in milliseconds", header: signed("msg_1", t0.UnixMilli(), body), want: httpsig.ErrExpired},
		{name: "timestamp too long", header: with(func(h http.Header) { h.Set("webhook-timestamp", strings.Repeat("9", 19)) }), want: httpsig.ErrMalformed},
		{name: "timestamp with a fraction", header: with(func(h http.Header) { h.Set("webhook-timestamp", tsS+".5") }), want: httpsig.ErrMalformed},
		{name: "id with a dot", header: signed("msg.1", ts, body), want: httpsig.ErrMalformed},
		{name: "id with a space", header: signed("msg 1", ts, body), want: httpsig.ErrMalformed},
		{name: "id with a control character", header: with(func(h http.Header) { h.Set("webhook-id", "msg\x011") }), want: httpsig.ErrMalformed},
		{name: "id with non-ASCII", header: with(func(h http.Header) { h.Set("webhook-id", "msg_é") }), want: httpsig.ErrMalformed},
		{name: "id too long", header: signed(strings.Repeat("m", webhook.MaxIDLen+1), ts, body), want: httpsig.ErrMalformed},
		{name: "body over the limit", header: with(func(http.Header) {}), body: make([]byte, webhook.DefaultMaxBodyBytes+1), want: httpsig.ErrMalformed},
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
			v := newStandard(t, newClock(now))
			msg, err := v.Verify(context.Background(), tt.header, b)
			require.ErrorIs(t, err, tt.want)
			assert.Nil(t, msg)
			assert.True(t, strings.HasPrefix(err.Error(), "webhook: "), "package prefix")
			assertNoLeak(t, err, testSecret, testSecret[len("whsec_"):], good, good[3:], tt.header.Get("webhook-signature"))
		})
	}
}

func TestStandardReplay(t *testing.T) {
	ctx := context.Background()
	body := []byte(`{"type":"invoice.paid"}`)
	clk := newClock(t0)
	store, err := dpop.NewMemoryReplayStore()
	require.NoError(t, err)
	v := newStandard(t, clk, webhook.WithReplayStore(store), webhook.WithScope("payments/acme"))
	h := standardHeader("msg_1", t0.Unix(), standardV1(t, testSecret, "msg_1", t0.Unix(), body))

	_, err = v.Verify(ctx, h, body)
	require.NoError(t, err)
	_, err = v.Verify(ctx, h, body)
	require.ErrorIs(t, err, httpsig.ErrReplayed)

	// The same id with a new timestamp (a sender's retry) is the same message.
	clk.Add(10 * time.Second)
	ts := clk.Now().Unix()
	_, err = v.Verify(ctx, standardHeader("msg_1", ts, standardV1(t, testSecret, "msg_1", ts, body)), body)
	require.ErrorIs(t, err, httpsig.ErrReplayed)

	// Another scope sharing the store does not see it.
	other := newStandard(t, clk, webhook.WithReplayStore(store), webhook.WithScope("payments/globex"))
	_, err = other.Verify(ctx, h, body)
	require.NoError(t, err)

	// A refused message is not recorded: after a forged attempt, the genuine one is accepted.
	forged := standardHeader("msg_2", ts, standardV1(t, otherSecret, "msg_2", ts, body))
	_, err = v.Verify(ctx, forged, body)
	require.ErrorIs(t, err, httpsig.ErrInvalid)
	_, err = v.Verify(ctx, standardHeader("msg_2", ts, standardV1(t, testSecret, "msg_2", ts, body)), body)
	require.NoError(t, err)

	// An expired message is refused as expired, not looked up.
	clk.Add(time.Hour)
	_, err = v.Verify(ctx, h, body)
	require.ErrorIs(t, err, httpsig.ErrExpired)
}

// failingStore is a replay store that cannot answer.
type failingStore struct{}

func (failingStore) CheckAndStore(context.Context, string, string, time.Time) error {
	return dpop.ErrReplayCheckUnavailable
}

func TestStandardReplayStoreUnavailable(t *testing.T) {
	body := []byte(`{}`)
	v := newStandard(t, newClock(t0), webhook.WithReplayStore(failingStore{}))
	_, err := v.Verify(context.Background(), standardHeader("msg_1", t0.Unix(), standardV1(t, testSecret, "msg_1", t0.Unix(), body)), body)
	require.ErrorIs(t, err, httpsig.ErrUnavailable)
	assert.ErrorIs(t, err, dpop.ErrReplayCheckUnavailable)
	assert.NotErrorIs(t, err, httpsig.ErrReplayed)
}

func TestStandardV1a(t *testing.T) {
	ctx := context.Background()
	body := []byte(`{"type":"order.shipped"}`)
	pub, priv := keyPair()
	s, err := webhook.NewStandardSigner(priv)
	require.NoError(t, err)
	v, err := webhook.NewStandard(webhook.WithSecrets(pub), webhook.WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)

	h := http.Header{}
	require.NoError(t, s.Sign(h, "msg_a", t0, body))
	msg, err := v.Verify(ctx, h, body)
	require.NoError(t, err)
	assert.Equal(t, webhook.SchemeStandardV1a, msg.Scheme())

	h2 := http.Header{}
	require.NoError(t, s.Sign(h2, "msg_b", t0, body))
	_, err = v.Verify(ctx, h2, []byte(`{"type":"order.cancelled"}`))
	require.ErrorIs(t, err, httpsig.ErrInvalid)

	// A v1 signature does not verify under a public key (and the other way round).
	hv1 := standardHeader("msg_c", t0.Unix(), standardV1(t, testSecret, "msg_c", t0.Unix(), body))
	_, err = v.Verify(ctx, hv1, body)
	require.ErrorIs(t, err, httpsig.ErrInvalid)
}

func TestStandardEd25519WorkIsBounded(t *testing.T) {
	ctx := context.Background()
	body := []byte(`{}`)
	pub, priv := keyPair()
	var others []string
	for i := 0; i < 3; i++ {
		p, _ := keyPair()
		others = append(others, p)
	}
	v, err := webhook.NewStandard(webhook.WithSecrets(append(others, pub)...), webhook.WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	s, err := webhook.NewStandardSigner(priv)
	require.NoError(t, err)
	sign := func(id string) string {
		h := http.Header{}
		require.NoError(t, s.Sign(h, id, t0, body))
		return h.Get("webhook-signature")
	}
	junk := "v1a," + base64.StdEncoding.EncodeToString(make([]byte, 64))

	// Four keys, the right one last: one signature costs four checks, accepted.
	_, err = v.Verify(ctx, standardHeader("m1", t0.Unix(), sign("m1")), body)
	require.NoError(t, err)
	// Two signatures, the valid one second: eight checks, still accepted.
	_, err = v.Verify(ctx, standardHeader("m2", t0.Unix(), junk+" "+sign("m2")), body)
	require.NoError(t, err)
	// Behind two junk signatures, the valid one would be the twelfth check: refused.
	_, err = v.Verify(ctx, standardHeader("m3", t0.Unix(), junk+" "+junk+" "+sign("m3")), body)
	require.ErrorIs(t, err, httpsig.ErrInvalid)
	// A header of MaxSignatures junk v1a signatures costs MaxEd25519Checks checks.
	_, err = v.Verify(ctx, standardHeader("m4", t0.Unix(), strings.TrimSpace(strings.Repeat(junk+" ", webhook.MaxSignatures))), body)
	require.ErrorIs(t, err, httpsig.ErrInvalid)
}

// TestStandardSmallOrderPublicKeys: under a whpk_ key that is a point of small
// order (the identity, the all-zero key, the points of order 2, 4 and 8, and
// their non-canonical encodings, which crypto/ed25519 decodes), a signature
// anyone can make without a private key (R the identity, S zero) verifies for
// one message in eight at least. A verifier refuses such a key.
func TestStandardSmallOrderPublicKeys(t *testing.T) {
	encodings := []string{
		"0100000000000000000000000000000000000000000000000000000000000000", // the identity
		"0100000000000000000000000000000000000000000000000000000000000080",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p+1
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"0000000000000000000000000000000000000000000000000000000000000000", // order 4
		"0000000000000000000000000000000000000000000000000000000000000080",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	}
	// Keys that are not of small order are accepted.
	for range 64 {
		pub, _ := keyPair()
		_, err := webhook.NewStandard(webhook.WithSecrets(pub))
		require.NoError(t, err)
	}

	forged := make([]byte, ed25519.SignatureSize)
	forged[0] = 1 // R = the identity, S = 0
	body := []byte(`{"type":"payment.succeeded"}`)
	for _, e := range encodings {
		t.Run(e, func(t *testing.T) {
			pub, err := hex.DecodeString(e)
			require.NoError(t, err)
			ids := 0
			for i := range 256 {
				if ed25519.Verify(pub, []byte("msg_"+strconv.Itoa(i)+"."+strconv.FormatInt(t0.Unix(), 10)+"."+string(body)), forged) {
					ids++
				}
			}
			require.NotZero(t, ids, "precondition: the forged signature verifies under the key")

			key := "whpk_" + base64.StdEncoding.EncodeToString(pub)
			v, err := webhook.NewStandard(webhook.WithSecrets(key), webhook.WithClock(func() time.Time { return t0 }))
			if err == nil {
				accepted := 0
				for i := range 256 {
					id := "msg_" + strconv.Itoa(i)
					if _, err := v.Verify(context.Background(), standardHeader(id, t0.Unix(), "v1a,"+base64.StdEncoding.EncodeToString(forged)), body); err == nil {
						accepted++
					}
				}
				t.Fatalf("a small-order whpk_ key was accepted; %d of 256 forged messages verified under it", accepted)
			}
			require.ErrorIs(t, err, webhook.ErrInvalidConfig)

			// The value of a rotation is refused too: the previous key stays
			// for its grace period, then every message is refused.
			src, p := newRotatingSource(t, testSecret)
			clk := newClock(t0)
			v, err = webhook.NewStandard(webhook.WithSource(src, "webhook_secret"), webhook.WithRotationGrace(time.Minute), webhook.WithClock(clk.Now))
			require.NoError(t, err)
			t.Cleanup(func() { _ = v.Close() })
			rotate(t, src, p, map[string]string{"webhook_secret": key})
			clk.Add(time.Minute)
			for i := range 256 {
				id := "msg_" + strconv.Itoa(i)
				_, err := v.Verify(context.Background(), standardHeader(id, clk.Now().Unix(), "v1a,"+base64.StdEncoding.EncodeToString(forged)), body)
				require.ErrorIs(t, err, httpsig.ErrUnavailable)
			}
		})
	}
}

func TestStandardKeys(t *testing.T) {
	pub, priv := keyPair()
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	tests := []struct {
		name           string
		key            string
		verifier, sign bool
	}{
		{name: "whsec_", key: testSecret, verifier: true, sign: true},
		{name: "whsec_ reference", key: specSecret, verifier: true, sign: true},
		{name: "whsec_ unpadded", key: strings.TrimRight(testSecret, "="), verifier: true, sign: true},
		{name: "whsec_ 24 bytes", key: "whsec_" + b64(24), verifier: true, sign: true},
		{name: "whsec_ 64 bytes", key: "whsec_" + b64(64), verifier: true, sign: true},
		{name: "whsec_ 23 bytes", key: "whsec_" + b64(23)},
		{name: "whsec_ 65 bytes", key: "whsec_" + b64(65)},
		{name: "whsec_ empty", key: "whsec_"},
		{name: "whsec_ not base64", key: "whsec_!!!!"},
		{name: "no prefix", key: testSecret[len("whsec_"):]},
		{name: "empty", key: ""},
		{name: "whpk_", key: pub, verifier: true},
		{name: "whpk_ 31 bytes", key: "whpk_" + b64(31)},
		{name: "whsk_ seed", key: priv, sign: true},
		{name: "whsk_ 64-byte key", key: func() string {
			k := ed25519.NewKeyFromSeed(make([]byte, 32))
			return "whsk_" + base64.StdEncoding.EncodeToString(k)
		}(), sign: true},
		{name: "whsk_ 64-byte key with a foreign public half", key: func() string {
			k := ed25519.NewKeyFromSeed(make([]byte, 32))
			k[63] ^= 1
			return "whsk_" + base64.StdEncoding.EncodeToString(k)
		}()},
		{name: "whsk_ 33 bytes", key: "whsk_" + b64(33)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := webhook.NewStandard(webhook.WithSecrets(tt.key))
			if tt.verifier {
				require.NoError(t, err)
				require.NotNil(t, v)
			} else {
				require.ErrorIs(t, err, webhook.ErrInvalidConfig)
				if rest := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(tt.key, "whsec_"), "whpk_"), "whsk_"); rest != "" {
					assertNoLeak(t, err, tt.key, rest)
				}
			}
			s, err := webhook.NewStandardSigner(tt.key)
			if tt.sign {
				require.NoError(t, err)
				require.NotNil(t, s)
			} else {
				require.ErrorIs(t, err, webhook.ErrInvalidConfig)
			}
		})
	}
}

func TestVerifierOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []webhook.Option
	}{
		{name: "no key", opts: nil},
		{name: "no key, nil options", opts: []webhook.Option{nil, nil}},
		{name: "empty static keys", opts: []webhook.Option{webhook.WithSecrets()}},
		{name: "too many keys", opts: []webhook.Option{webhook.WithSecrets(strings.Split(strings.Repeat(testSecret+",", 9), ",")[:9]...)}},
		{name: "nil source", opts: []webhook.Option{webhook.WithSource(nil, "")}},
		{name: "zero tolerance", opts: []webhook.Option{webhook.WithSecrets(testSecret), webhook.WithTolerance(0)}},
		{name: "negative tolerance", opts: []webhook.Option{webhook.WithSecrets(testSecret), webhook.WithTolerance(-time.Second)}},
		{name: "negative grace", opts: []webhook.Option{webhook.WithSecrets(testSecret), webhook.WithRotationGrace(-time.Second)}},
		{name: "zero body limit", opts: []webhook.Option{webhook.WithSecrets(testSecret), webhook.WithMaxBodyBytes(0)}},
		{name: "scope too long", opts: []webhook.Option{webhook.WithSecrets(testSecret), webhook.WithScope(strings.Repeat("s", webhook.MaxScopeLen+1))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := webhook.NewStandard(tt.opts...)
			require.ErrorIs(t, err, webhook.ErrInvalidConfig)
			assert.Nil(t, v)
			v, err = webhook.NewStripe(tt.opts...)
			require.ErrorIs(t, err, webhook.ErrInvalidConfig)
			assert.Nil(t, v)
		})
	}

	v, err := webhook.NewStandard(webhook.WithSecrets(testSecret), webhook.WithTolerance(time.Minute),
		webhook.WithMaxBodyBytes(10), webhook.WithReplayStore(nil), webhook.WithClock(nil), webhook.WithRotationGrace(0))
	require.NoError(t, err)
	assert.Equal(t, int64(10), v.MaxBodyBytes())
	body := []byte("0123456789")
	ts := time.Now().Add(-50 * time.Second).Unix()
	_, err = v.Verify(context.Background(), standardHeader("m", ts, standardV1(t, testSecret, "m", ts, body)), body)
	require.NoError(t, err, "nil clock keeps time.Now, nil store keeps the default")
	ts = time.Now().Add(-2 * time.Minute).Unix()
	_, err = v.Verify(context.Background(), standardHeader("m2", ts, standardV1(t, testSecret, "m2", ts, body)), body)
	require.ErrorIs(t, err, httpsig.ErrExpired, "WithTolerance applies")
	_, err = v.Verify(context.Background(), standardHeader("m3", ts, ""), append(body, '!'))
	require.ErrorIs(t, err, httpsig.ErrMalformed, "WithMaxBodyBytes applies")
}

func TestVerifierClosedAndZero(t *testing.T) {
	body := []byte(`{}`)
	h := standardHeader("msg_1", t0.Unix(), standardV1(t, testSecret, "msg_1", t0.Unix(), body))
	v := newStandard(t, newClock(t0))
	require.NoError(t, v.Close())
	require.NoError(t, v.Close(), "Close twice")
	_, err := v.Verify(context.Background(), h, body)
	require.ErrorIs(t, err, httpsig.ErrUnavailable)
	assert.ErrorIs(t, err, webhook.ErrClosed)

	var zero webhook.Verifier
	_, err = zero.Verify(context.Background(), h, body)
	require.ErrorIs(t, err, httpsig.ErrUnavailable)
	var nilV *webhook.Verifier
	_, err = nilV.Verify(context.Background(), h, body)
	require.ErrorIs(t, err, httpsig.ErrUnavailable)
	require.NoError(t, nilV.Close())

	// A nil context is a fault of the caller: refused, not a panic in the
	// replay store, for either scheme and whatever store.
	for name, v := range map[string]*webhook.Verifier{
		"standard":       newStandard(t, newClock(t0)),
		"standard redis": newStandard(t, newClock(t0), webhook.WithReplayStore(deadRedisStore(t))),
		"stripe":         newStripe(t, newClock(t0)),
	} {
		hdr := h
		if name == "stripe" {
			hdr = stripeHeader("t=" + strconv.FormatInt(t0.Unix(), 10) + ",v1=" + stripeV1(stripeSecret, t0.Unix(), body))
		}
		var nilCtx context.Context
		require.NotPanics(t, func() { _, err = v.Verify(nilCtx, hdr, body) }, name)
		require.ErrorIs(t, err, httpsig.ErrUnavailable, name)
		_, err = v.Verify(context.Background(), hdr, body)
		if name != "standard redis" {
			require.NoError(t, err, "%s: the refused message was not recorded", name)
		}
	}

	var nilMsg *webhook.Message
	assert.Equal(t, "", nilMsg.ID())
	assert.True(t, nilMsg.Timestamp().IsZero())
	assert.Equal(t, webhook.Scheme(""), nilMsg.Scheme())
}
