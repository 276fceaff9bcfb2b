package tokens

import (
	"net/url"
	"testing"
)

// TestSameOrigin: RFC 6454 §4 origins, with default ports filled in.
func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b string
		want bool
	}{
		{"identical", "https://id.example/jwks", "https://id.example/other", true},
		{"default port spelled out", "https://id.example/jwks", "https://id.example:443/jwks", true},
		{"http default port", "http://id.example/jwks", "http://id.example:80/jwks", true},
		{"case of scheme and host", "https://id.example/jwks", "HTTPS://ID.Example/jwks", true},
		{"query and userinfo do not matter", "https://id.example/jwks", "https://u@id.example/jwks?x=1", true},
		{"other port", "https://id.example/jwks", "https://id.example:8443/jwks", false},
		{"other scheme", "https://id.example/jwks", "http://id.example/jwks", false},
		{"http on 443", "https://id.example/jwks", "http://id.example:443/jwks", false},
		{"other host", "https://id.example/jwks", "https://id.example.evil/jwks", false},
		{"subdomain", "https://id.example/jwks", "https://a.id.example/jwks", false},
		{"trailing dot", "https://id.example/jwks", "https://id.example./jwks", false},
		{"IP and name", "https://127.0.0.1/jwks", "https://localhost/jwks", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := url.Parse(tc.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := url.Parse(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if got := sameOrigin(a, b); got != tc.want {
				t.Errorf("sameOrigin = %v, want %v", got, tc.want)
			}
		})
	}
}
