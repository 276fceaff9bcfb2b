package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertSigned checks steps 24 and 25: the provider's webhook accepted once,
// its replay and a changed body refused; payments' signed request accepted
// by the partner, a body changed on the way and an unsigned request refused.
// secretFrom is where payments' webhook secret comes from.
func assertSigned(t *testing.T, got, secretFrom string) {
	t.Helper()
	assert.Contains(t, got, "payments: webhooks at https://127.0.0.1:")
	assert.Contains(t, got, "/webhooks/provider (Standard Webhooks v1, middleware.VerifyWebhooks); secret from "+secretFrom+"\n")
	assert.Contains(t, got, " (the fraud-screening partner) only; requests signed with httpsig.Transport, keyid payments-2026-12\n")
	_, step24, ok := strings.Cut(got, "\n24. ")
	require.True(t, ok, "step 24 is played")
	step24, step25, ok := strings.Cut(step24, "\n25. ")
	require.True(t, ok, "step 25 is played")
	for _, want := range []string{
		// a. the genuine delivery, processed.
		"payments: 200 webhook msg_2Yw8fK3pQ1 (standard-webhooks/v1): payment_intent.succeeded, order ord_1001 of EUR 49.90 marked paid\n",
		"provider  : POST /webhooks/provider [webhook signature] → 200 OK\n",
		// b. replayed.
		`level=WARN msg="request refused" reason=signature_replayed status=401 stage=signature method=POST route="POST /webhooks/provider"` + "\n",
		`attacker  : POST /webhooks/provider [webhook signature] → 401 Unauthorized (problem code "signature_replayed")` + "\n",
		// c. the amount changed.
		`level=WARN msg="request refused" reason=signature_invalid status=401 stage=signature method=POST route="POST /webhooks/provider"` + "\n",
		`attacker  : POST /webhooks/provider [webhook signature] → 401 Unauthorized (problem code "signature_invalid")` + "\n",
		"payments: webhook msg_2Yw8fK3pQ1 processed once;",
	} {
		assert.Contains(t, step24, want)
	}
	assert.Equal(t, 1, strings.Count(got, "payments: 200 webhook "), "the delivery is processed once")
	assert.NotContains(t, got, "again (", "no delivery is processed twice")
	assert.NotContains(t, got, "EUR 0.01", "the changed amount is never processed")

	for _, want := range []string{
		// a. signed, accepted.
		`partner:  200 signature sig1 by keyid payments-2026-12 (ecdsa-p256-sha256) over "@method" "@authority" "@path" "@query" "content-digest"; Content-Digest matches the body: true; nonce fresh` + "\n",
		"partner:  screened order ord_1001 of EUR 49.90: approve\n",
		"payments  : POST /v1/screenings [Content-Digest, RFC 9421 signature] → 200 OK\n",
		// b. the body changed after signing.
		`level=WARN msg="request refused" service=partner reason=digest_mismatch status=401 stage=signature method=POST route="POST /v1/screenings"` + "\n",
		`proxy     : POST /v1/screenings [Content-Digest, RFC 9421 signature] → 401 Unauthorized (problem code "digest_mismatch")` + "\n",
		// c. unsigned.
		`level=INFO msg="request refused" service=partner reason=signature_missing status=401 stage=signature method=POST route="POST /v1/screenings"` + "\n",
		`payments  : POST /v1/screenings → 401 Unauthorized (problem code "signature_missing")` + "\n",
	} {
		assert.Contains(t, step25, want)
	}
	assert.Equal(t, 1, strings.Count(got, "partner:  screened order"), "the partner answers the signed request only")
	assert.Equal(t, 4, strings.Count(got, "stage=signature"), "four signature refusals")

	// No secret, signature or digest value, nor the event's customer data.
	for _, secret := range []string{"whsec_", "sig1=:", "sha-256=:", "receipt_email", "ada@example.com"} {
		assert.False(t, strings.Contains(got, secret), "the output holds no %s", secret)
	}
}
