package redact_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

func TestHeader(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	h := http.Header{
		"Authorization":       {"Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"},
		"Proxy-Authorization": {"Basic dXNlcjpwYXNz"},
		"Cookie":              {"sid=abc123; theme=dark"},
		"Set-Cookie":          {"sid=abc123; Path=/; HttpOnly; Secure"},
		"Dpop":                {"eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.c2ln"},
		"X-Api-Key":           {"k-123"},
		"X-Shop-Token":        {"t-456"},
		"From":                {"alice@example.com"},
		"Accept":              {"application/json"},
		"X-Request-Id":        {"550e8400-e29b-41d4-a716-446655440000"},
	}
	got := r.Header(h)
	assert.Equal(t, http.Header{
		"Authorization":       {"Bearer [REDACTED:secret]"},
		"Proxy-Authorization": {"Basic [REDACTED:secret]"},
		"Cookie":              {"sid=[REDACTED:secret]; theme=[REDACTED:secret]"},
		"Set-Cookie":          {"sid=[REDACTED:secret]; Path=/; HttpOnly; Secure"},
		"Dpop":                {"[REDACTED:secret]"},
		"X-Api-Key":           {"[REDACTED:secret]"},
		"X-Shop-Token":        {"[REDACTED:secret]"},
		"From":                {"[REDACTED:email]"},
		"Accept":              {"application/json"},
		"X-Request-Id":        {"550e8400-e29b-41d4-a716-446655440000"},
	}, got)
	assert.Equal(t, "Basic dXNlcjpwYXNz", h.Get("Proxy-Authorization"), "the input is not modified")
}

func TestURLAndQuery(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	for _, tc := range []struct{ in, want string }{
		{"https://api.example.com/v1/orders?id=42", "https://api.example.com/v1/orders?id=42"},
		{"https://app:s3cr3t@api.example.com/x", "https://app:[REDACTED:password]@api.example.com/x"},
		{"/cb?code=abc&access_token=xyz&state=1", "/cb?code=abc&access_token=[REDACTED:secret]&state=1"},
		{"/users/alice@example.com/orders", "/users/[REDACTED:email]/orders"},
		{"/search?q=alice%40example.com&page=2", "/search?q=[REDACTED:email]&page=2"},
		{"/pay?card=4111+1111+1111+1111", "/pay?card=[REDACTED:card]"},
		{"/login?Password=a%26b&next=%2Fhome", "/login?Password=[REDACTED:secret]&next=%2Fhome"},
		{"/x?flag&api_key=&y=1", "/x?flag&api_key=&y=1"},
		{"/x?#to=alice@example.com", "/x?#to=[REDACTED:email]"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			u, err := url.Parse(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, r.URL(u))
		})
	}
	assert.Empty(t, r.URL(nil))
	assert.Empty(t, r.Query(""))
}

// TestAccessLog runs the helpers in an access-log middleware on a real server.
func TestAccessLog(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	var logged []string
	logging := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			logged = append(logged, req.Method+" "+r.URL(req.URL)+" auth="+r.Header(req.Header).Get("Authorization"))
			next.ServeHTTP(w, req)
		})
	}
	srv := httptest.NewServer(logging(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})))
	t.Cleanup(srv.Close)
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/cb?token=abc&email=bob%40example.com", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "DPoP eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Len(t, logged, 1)
	assert.Equal(t, "GET /cb?token=[REDACTED:secret]&email=[REDACTED:email] auth=DPoP [REDACTED:secret]", logged[0])
}
