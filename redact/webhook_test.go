package redact_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

// TestWebhooks: webhook signing secrets and chat webhook URLs, whose path is
// the credential.
func TestWebhooks(t *testing.T) {
	const m = "[REDACTED:webhook]"
	runDetectCases(t, []detectCase{
		{"stripe signing secret", "STRIPE_WEBHOOK_SECRET=whsec_5a6d7c2e1f0b9a8c7d6e5f4a3b2c1d0e", "STRIPE_WEBHOOK_SECRET=[REDACTED:secret]"},
		{"signing secret bare", "verify with whsec_5a6d7c2e1f0b9a8c7d6e5f4a3b2c1d0e failed", "verify with " + m + " failed"},
		{"svix secret", `{"msg":"svix whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+x/Y="}`, `{"msg":"svix ` + m + `"}`},
		// A Standard Webhooks v1a (Ed25519) private key: its seed in base64.
		{"standard webhooks private key", "signing with whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+x/Y7Tq1aZk= failed", "signing with " + m + " failed"},
		{"standard webhooks private key json", `{"key":"whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+x/Y7Tq1aZk="}`, `{"key":"` + m + `"}`},
		{"slack", "posting to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX failed",
			"posting to " + m + " failed"},
		{"slack workflow", `{"url":"https://hooks.slack.com/workflows/T0/A0/1234/abcd"}`, `{"url":"` + m + `"}`},
		{"discord", "webhook=https://discord.com/api/webhooks/123456789012345678/AbCdEf-GhIjKl_MnOp ok",
			"webhook=" + m + " ok"},
		{"discordapp canary", "https://canary.discordapp.com/api/webhooks/1/abc", m},
		{"teams", "https://contoso.webhook.office.com/webhookb2/7f8e-11@72f9-9a/IncomingWebhook/0b1c2d/3e4f5a", m},
		{"teams legacy", "https://outlook.office.com/webhook/a1b2@c3d4/IncomingWebhook/e5f6/g7h8", m},
		{"teams workflows", "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers&sv=1.0&sig=AbCdEf123", m},
		{"google chat", "https://chat.googleapis.com/v1/spaces/AAAA1234/messages?key=AIzaSy&token=abc%3D", m},
	})
	runKeepCases(t, [][2]string{
		{"short whsec", "whsec_abc"},
		{"glued whsec", "xwhsec_5a6d7c2e1f0b9a8c7d6e5f4a3b2c1d0e"},
		{"short whsk", "whsk_abc"},
		{"glued whsk", "xwhsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+x/Y7Tq1aZk="},
		// A v1a public key is not secret: a verifier's configuration may log it.
		{"whpk public key", "verify with whpk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+x/Y7Tq1aZk="},
		{"slack api", "https://slack.com/api/chat.postMessage"},
		{"slack hooks root", "https://hooks.slack.com/ down"},
		{"discord invite", "https://discord.com/invite/abc https://discord.com/channels/1/2"},
		{"office home", "https://www.office.com/launch https://outlook.office.com/mail/"},
		{"azure portal", "https://portal.azure.com/#home https://prod-12.westeurope.logic.azure.com/status"},
		{"look-alike host", "https://hooks.slack.com.example.org/services/T0/B0/X https://evilwebhook.office.com/x"},
	})
}

func TestURLWebhook(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	u, err := url.Parse("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX?x=1")
	require.NoError(t, err)
	assert.Equal(t, "https://hooks.slack.com/[REDACTED:webhook]", r.URL(u))
	u, err = url.Parse("https://shop.example.com/v1/orders?page=2")
	require.NoError(t, err)
	assert.Equal(t, "https://shop.example.com/v1/orders?page=2", r.URL(u))
	off, err := redact.New(redact.WithoutDetectors(redact.KindWebhook))
	require.NoError(t, err)
	assert.Contains(t, off.RedactString("https://discord.com/api/webhooks/1/abc"), "/api/webhooks/1/abc")
}
