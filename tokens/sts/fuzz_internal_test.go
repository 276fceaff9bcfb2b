package sts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/ztkit/ztkit/tokens"
)

// FuzzParseForm: parseForm never panics, refuses with errForm or
// errDuplicate only, and what it accepts round-trips: every value decodes
// as url.ParseQuery decodes it, and only audience and resource repeat (not
// even with an empty value).
func FuzzParseForm(f *testing.F) {
	for _, s := range []string{
		// Verbatim from RFC 8693 §2.3, Figure 2 (the body, folded lines joined).
		"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&resource=https%3A%2F%2Fbackend.example.com%2Fapi&subject_token=accVkjcJyb4BWCxGsndESCJQbdFMogUC5PbRDqceLTC&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token",
		// Verbatim from RFC 8693 Appendix A.2.1, Figure 14 (the body, folded
		// lines joined).
		"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&audience=urn%3Aexample%3Acooperation-context&subject_token=eyJhbGciOiJFUzI1NiIsImtpZCI6IjE2In0.eyJhdWQiOiJodHRwczovL2FzLmV4YW1wbGUuY29tIiwiaXNzIjoiaHR0cHM6Ly9vcmlnaW5hbC1pc3N1ZXIuZXhhbXBsZS5uZXQiLCJleHAiOjE0NDE5MTAwNjAsInNjb3BlIjoic3RhdHVzIGZlZWQiLCJzdWIiOiJ1c2VyQGV4YW1wbGUubmV0IiwibWF5X2FjdCI6eyJzdWIiOiJhZG1pbkBleGFtcGxlLm5ldCJ9fQ.4rPRSWihQbpMIgAmAoqaJojAxj-p2X8_fAtAGTXrvMxU-eEZHnXqY0_AOZgLdxw5DyLzua8H_I10MCcckF-Q_g&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&actor_token=eyJhbGciOiJFUzI1NiIsImtpZCI6IjE2In0.eyJhdWQiOiJodHRwczovL2FzLmV4YW1wbGUuY29tIiwiaXNzIjoiaHR0cHM6Ly9vcmlnaW5hbC1pc3N1ZXIuZXhhbXBsZS5uZXQiLCJleHAiOjE0NDE5MTAwNjAsInN1YiI6ImFkbWluQGV4YW1wbGUubmV0In0.7YQ-3zPfhUvzje5oqw8COCvN5uP6NsKik9CVV6cAOf4QKgM-tKfiOwcgZoUuDL2tEs6tqPlcBlMjiSzEjm3yBg&actor_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt",
		// RFC 7523 §2.2 (the body, folded lines joined; the RFC elides most of
		// the assertion "[...omitted for brevity...]", left out here).
		"grant_type=authorization_code&code=n0esc3NRze7LTCu7iYzS6a5acc3f0ogp4&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJhbGciOiJSUzI1NiIsImtpZCI6IjIyIn0.eyJpc3Mi.cC4hiUPo",
		"grant_type=client_credentials&scope=a+b&audience=x&audience=y&resource=z",
		"grant_type=client_credentials&grant_type=client_credentials",
		"a=&a=&b=%41", "a=&b=%41", "audience=&audience=x", "=x", "a", "a=%", "a=%zz", "a=%00", "&&", "a=b;c=d", "a=%C3%28", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, err := parseForm(body)
		if err != nil {
			if !errors.Is(err, errForm) && !errors.Is(err, errDuplicate) {
				t.Fatalf("unexpected error class: %v", err)
			}
			if got != nil {
				t.Fatal("values returned with an error")
			}
			return
		}
		want, qerr := url.ParseQuery(body)
		if qerr != nil {
			t.Fatalf("parseForm accepted what url.ParseQuery refuses: %v", qerr)
		}
		for name, values := range want {
			if len(values) > 1 && !multiValued[name] {
				t.Fatalf("parameter %q repeated", name)
			}
		}
		for name, values := range got {
			var nonEmpty []string
			for _, v := range want[name] {
				if v != "" {
					nonEmpty = append(nonEmpty, v)
				}
			}
			if len(nonEmpty) != len(values) {
				t.Fatalf("parameter %q: %d values, url.ParseQuery %d", name, len(values), len(nonEmpty))
			}
			for i := range values {
				if values[i] != nonEmpty[i] || values[i] == "" {
					t.Fatalf("parameter %q decoded differently", name)
				}
			}
		}
	})
}

// FuzzParseAssertionClaims: the client assertion claims reader never panics.
func FuzzParseAssertionClaims(f *testing.F) {
	for _, s := range []string{
		`{"iss":"reports","sub":"reports","aud":"https://sts.test/token","jti":"1","exp":1441910600,"iat":1441910000}`,
		`{"iss":"a","sub":"a","aud":["x","y"],"exp":1.5,"nbf":0}`,
		`{"aud":[1]}`, `{"exp":-1}`, `{"exp":1e300}`, `{"iss":"a","iss":"b"}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := parseAssertionClaims(payload)
		if err == nil && c.hasExp && c.exp.IsZero() && c.exp.Unix() != 0 {
			t.Fatal("exp set but zero")
		}
	})
}

// FuzzServeHTTP: no request body makes the endpoint panic or answer
// anything but a JSON refusal with no-store.
func FuzzServeHTTP(f *testing.F) {
	f.Add("grant_type=client_credentials&client_id=a")
	f.Add("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=a.b.c&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&actor_token=x&actor_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt")
	f.Add("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJhbGciOiJFUzI1NiJ9.e30.AA")
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "https://sts.test/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code == http.StatusOK || w.Header().Get("Cache-Control") != "no-store" || !json.Valid(w.Body.Bytes()) {
			t.Fatalf("status %d", w.Code)
		}
	})
}

func fuzzServer(tb testing.TB) *Server {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	sk, _ := tokens.NewSigningKey(k, "")
	ks, _ := tokens.NewKeySet(sk)
	iss, _ := tokens.NewIssuer("https://sts.test", ks)
	v, _ := tokens.NewVerifier(ks, "https://sts.test", []string{"https://a.test"})
	clients, err := NewStaticClients(Client{ID: "a", Keys: []*tokens.PublicKey{sk.Public()}, Audiences: []string{"https://a.test"}})
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New("https://sts.test", "https://sts.test/token", iss,
		WithTokenExchange(v, ActorPolicy{ID: spiffeid.RequireFromString("spiffe://t.test/a"), Audiences: []string{"https://a.test"}}),
		WithJWTSVIDs(jwtbundle.New(spiffeid.RequireTrustDomainFromString("t.test")), "spiffe://t.test/sts"),
		WithClientCredentials(clients))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestZeroServer(t *testing.T) {
	for _, s := range []*Server{nil, {}} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "https://sts.test/token", nil))
		if w.Code != http.StatusInternalServerError || !json.Valid(w.Body.Bytes()) {
			t.Fatalf("status %d", w.Code)
		}
	}
}

// A server whose actors prove themselves by actor_token only publishes
// token_endpoint_auth_methods_supported ["none"], not the RFC 8414 §2
// default of client_secret_basic.
func TestMetadataExchangeOnly(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := tokens.NewSigningKey(k, "")
	ks, _ := tokens.NewKeySet(sk)
	iss, _ := tokens.NewIssuer("https://sts.test", ks)
	v, _ := tokens.NewVerifier(ks, "https://sts.test", []string{"https://a.test"})
	s, err := New("https://sts.test", "https://sts.test/token", iss,
		WithTokenExchange(v, ActorPolicy{ID: spiffeid.RequireFromString("spiffe://t.test/a"), Audiences: []string{"https://a.test"}}),
		WithJWTSVIDs(jwtbundle.New(spiffeid.RequireTrustDomainFromString("t.test")), "spiffe://t.test/sts"))
	if err != nil {
		t.Fatal(err)
	}
	m := s.Metadata()
	if len(m.TokenEndpointAuthMethodsSupported) != 1 || m.TokenEndpointAuthMethodsSupported[0] != "none" ||
		len(m.GrantTypesSupported) != 1 || m.GrantTypesSupported[0] != GrantTypeTokenExchange || m.TLSClientCertificateBoundAccessTokens {
		t.Fatalf("metadata %+v", m)
	}
}

// New refuses configurations that cannot work or would admit anyone.
func TestNewInvalidConfig(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sk, _ := tokens.NewSigningKey(k, "")
	ks, _ := tokens.NewKeySet(sk)
	iss, _ := tokens.NewIssuer("https://sts.test", ks)
	v, _ := tokens.NewVerifier(ks, "https://sts.test", []string{"https://a.test"})
	id := spiffeid.RequireFromString("spiffe://t.test/a")
	b := jwtbundle.New(spiffeid.RequireTrustDomainFromString("t.test"))
	ok := ActorPolicy{ID: id, Audiences: []string{"https://a.test"}}
	for name, tc := range map[string]struct {
		issuerID, endpoint string
		iss                *tokens.Issuer
		opts               []Option
	}{
		"nil issuer":                    {"https://sts.test", "https://sts.test/token", nil, []Option{WithTokenExchange(v, ok), WithJWTSVIDs(b, "x")}},
		"http issuer id":                {"http://sts.test", "https://sts.test/token", iss, []Option{WithTokenExchange(v, ok), WithJWTSVIDs(b, "x")}},
		"relative endpoint":             {"https://sts.test", "/token", iss, []Option{WithTokenExchange(v, ok), WithJWTSVIDs(b, "x")}},
		"no grant":                      {"https://sts.test", "https://sts.test/token", iss, nil},
		"exchange without actors":       {"https://sts.test", "https://sts.test/token", iss, []Option{WithTokenExchange(v), WithJWTSVIDs(b, "x")}},
		"no way to authenticate actors": {"https://sts.test", "https://sts.test/token", iss, []Option{WithTokenExchange(v, ok)}},
		"JWT-SVIDs without audience":    {"https://sts.test", "https://sts.test/token", iss, []Option{WithTokenExchange(v, ok), WithJWTSVIDs(b, "")}},
		"actor without audience":        {"https://sts.test", "https://sts.test/token", iss, []Option{WithTokenExchange(v, ActorPolicy{ID: id}), WithJWTSVIDs(b, "x")}},
		"actor twice":                   {"https://sts.test", "https://sts.test/token", iss, []Option{WithTokenExchange(v, ok, ok), WithJWTSVIDs(b, "x")}},
		"HS256 assertions":              {"https://sts.test", "https://sts.test/token", iss, []Option{WithTokenExchange(v, ok), WithJWTSVIDs(b, "x"), WithClientAssertionAlgorithms("HS256")}},
		"negative lifetime":             {"https://sts.test", "https://sts.test/token", iss, []Option{WithTokenExchange(v, ok), WithJWTSVIDs(b, "x"), WithLifetime(-time.Second)}},
		"lifetime beyond the issuer's":  {"https://sts.test", "https://sts.test/token", iss, []Option{WithTokenExchange(v, ok), WithJWTSVIDs(b, "x"), WithLifetime(time.Hour)}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(tc.issuerID, tc.endpoint, tc.iss, tc.opts...); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	for name, c := range map[string]Client{
		"no id":       {Keys: []*tokens.PublicKey{sk.Public()}, Audiences: []string{"a"}},
		"two methods": {ID: "a", SPIFFEID: id, Keys: []*tokens.PublicKey{sk.Public()}, Audiences: []string{"a"}},
		"no method":   {ID: "a", Audiences: []string{"a"}},
		"no audience": {ID: "a", SPIFFEID: id},
		"bad scope":   {ID: "a", SPIFFEID: id, Audiences: []string{"a"}, Scopes: []string{"a b"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewStaticClients(c); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
