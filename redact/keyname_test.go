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

// TestDPoPValues: a DPoP proof is a JWT (RFC 9449 §4.2), so under a dpop key
// only a compact JWS is secret; ztkit's own error messages, which start with
// the package name ("dpop: replay check unavailable"), stay. Keys whose
// values are free-form secrets are not affected.
func TestDPoPValues(t *testing.T) {
	const m = "[REDACTED:secret]"
	const proof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2In0.eyJodG0iOiJQT1NUIiwiaHR1IjoiL3Rva2VuIn0.c2lnbmF0dXJlLXZhbHVl"
	// The same header with a space after the brace: no eyJ, still a JWS.
	const spaced = "eyAidHlwIjogImRwb3Arand0In0.eyJodG0iOiJQT1NUIn0.c2lnbmF0dXJlLXZhbHVl"
	runDetectCases(t, []detectCase{
		{"header line", "DPoP: " + proof, "DPoP: " + m},
		{"json", `{"dpop":"` + proof + `"}`, `{"dpop":"` + m + `"}`},
		{"logfmt", "dpop=" + proof + " status=401", "dpop=" + m + " status=401"},
		{"no eyJ header", "dpop: " + spaced, "dpop: " + m},
		{"suffix key", "x_dpop=" + spaced + " ok", "x_dpop=" + m + " ok"},
		{"query", "/token?dpop=" + spaced + "&x=1", "/token?dpop=" + m + "&x=1"},
		// Free-form secret keys keep taking any value.
		{"authorization prose", "authorization: replay check unavailable", "authorization: replay " + m}, // its scheme stays
		{"cookie prose", "cookie: replay check unavailable", "cookie: " + m},
		{"token prose", "token: replay", "token: " + m},
		{"password prose", `{"password":"replay check unavailable"}`, `{"password":"` + m + `"}`},
	})
	runKeepCases(t, [][2]string{
		{"error prefix", "dpop: replay check unavailable"},
		{"error in json", `{"level":"error","msg":"dpop: replay check unavailable"}`},
		{"error in logfmt", `level=error err="dpop: proof expired: iat too old"`},
		{"wrapped error", "authn: dpop: htu mismatch"},
		{"dotted prose", "dpop: see v1.2 docs"},
		{"two segments", "dpop: abcdef.ghijkl"},
		{"short header", "dpop: a.b.c"},
		{"json object", `{"dpop":{"htm":"POST","htu":"/token"}}`},
		{"empty json", `{"dpop":""}`},
	})
	t.Run("slog", func(t *testing.T) {
		log, buf := newLogger(t)
		log.Info("refused", "dpop", "replay check unavailable", "proof_dpop", proof, "x_dpop", spaced)
		out := buf.String()
		assert.Contains(t, out, `"dpop":"replay check unavailable"`)
		assert.Contains(t, out, `"proof_dpop":"`+m+`"`)
		assert.Contains(t, out, `"x_dpop":"`+m+`"`)
		assert.NotContains(t, out, "c2lnbmF0dXJl", "no proof signature in the output")
	})
	t.Run("header", func(t *testing.T) {
		r, err := redact.New()
		require.NoError(t, err)
		h := r.Header(http.Header{"Dpop": {"replay"}, "X-Dpop": {"anything"}})
		assert.Equal(t, m, h.Get("Dpop"), "a DPoP header field is replaced whole")
		assert.Equal(t, m, h.Get("X-Dpop"))
	})
}
