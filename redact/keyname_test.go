package redact_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

// TestSecretKeyNames: the key names of the ecosystems commerce services run
// on, however they are written.
func TestSecretKeyNames(t *testing.T) {
	const m = "[REDACTED:secret]"
	long := strings.Repeat("checkout_service_payment_provider_primary_", 2) + "password"
	runDetectCases(t, []detectCase{
		{"aws credentials file", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			"aws_secret_access_key = " + m},
		{"aws env", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SECRET_ACCESS_KEY=" + m},
		{"aws json", `{"SecretAccessKey":"wJalrXUtnFEMI/K7MDENG"}`, `{"SecretAccessKey":"` + m + `"}`},
		{"django setting", "SECRET_KEY = 'django-insecure-7f#x0k2'", "SECRET_KEY = '" + m + "'"},
		{"rails env", "SECRET_KEY_BASE=9f86d081884c7d65", "SECRET_KEY_BASE=" + m},
		{"laravel env", "APP_KEY=base64:9f86d081884c7d65", "APP_KEY=" + m},
		{"signing key", `{"webhookSigningKey":"k_123"}`, `{"webhookSigningKey":"` + m + `"}`},
		{"flask config", `{"secret_key":"s3cr3t"}`, `{"secret_key":"` + m + `"}`},
		{"pwd", "db_host=pg pwd=hunter2 user=app", "db_host=pg pwd=" + m + " user=app"},
		{"pwd upper", "MYSQL_PWD=hunter2", "MYSQL_PWD=" + m},
		{"passcode", `{"passcode":"482913"}`, `{"passcode":"` + m + `"}`},
		{"credentials", "credentials: c2VjcmV0OnBhc3M=", "credentials: " + m},
		{"credential header", "X-Amz-Credential: AKIDEXAMPLE/20261206/us-east-1/s3/aws4_request",
			"X-Amz-Credential: " + m},
		{"long key", long + "=hunter2 next=1", long + "=" + m + " next=1"},
		{"long json key", `{"` + long + `":"hunter2"}`, `{"` + long + `":"` + m + `"}`},
		{"json escaped key", `{"\u0070assword":"hunter2","user":"bob"}`, `{"\u0070assword":"` + m + `","user":"bob"}`},
		{"json all escaped key", `{"\u0074\u006f\u006b\u0065\u006e": "abc123"}`, `{"\u0074\u006f\u006b\u0065\u006e": "` + m + `"}`},
		{"json escaped last letter", `{"passwor\u0064":"hunter2"}`, `{"passwor\u0064":"` + m + `"}`},
		{"url-encoded key", "/cb?api%5Fkey=abc123&x=1", "/cb?api%5Fkey=" + m + "&x=1"},
		{"url-encoded key letters", "/cb?client%5fsecret=abc123", "/cb?client%5fsecret=" + m},
		{"url-encoded separator", "next=%2Fcb%3Fpassword%3Dhunter2%26x%3D1", "next=%2Fcb%3Fpassword%3D" + m + "%26x%3D1"},
	})
	runKeepCases(t, [][2]string{
		{"access key id", "aws_access_key_id = AKIDEXAMPLE"},
		{"public key", "public_key=abc sort_key=def"},
		{"cwd", "cwd=/srv/app"},
		{"credential id", "credential_id=42"},
		{"escaped other key", `{"\u0075ser":"bob"}`},
		{"escaped value", `{"msg":"caf\u00e9 password"}`},
		{"encoded other key", "/cb?user%5Fid=42&x=1"},
		{"encoded other separator", "next=%2Fcb%3Fpage%3D2"},
		{"totals", `{"total":12,"interval":5,"alias":"x","class":"y"}`},
	})
}

// TestHeaderCredential: a header field whose name contains Credential is
// replaced whole.
func TestHeaderCredential(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	h := http.Header{}
	h.Set("X-Amz-Credential", "AKIDEXAMPLE/20261206/us-east-1/s3/aws4_request")
	h.Set("X-Credential-Id", "cred-8842")
	h.Set("Proxy-Credentials", "user:pass")
	h.Set("Accept", "application/json")
	out := r.Header(h)
	assert.Equal(t, "[REDACTED:secret]", out.Get("X-Amz-Credential"))
	assert.Equal(t, "[REDACTED:secret]", out.Get("X-Credential-Id"))
	assert.Equal(t, "[REDACTED:secret]", out.Get("Proxy-Credentials"))
	assert.Equal(t, "application/json", out.Get("Accept"))
}
