package sts

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"
	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
)

const svidAudience = "spiffe://t.test/sts"

// svidSigner signs JWT-SVID-shaped tokens with any header and claims.
type svidSigner struct {
	key crypto.Signer
	alg gojose.SignatureAlgorithm
	kid string
}

func (s svidSigner) sign(t testing.TB, header map[gojose.HeaderKey]any, claims map[string]any) string {
	t.Helper()
	opts := &gojose.SignerOptions{ExtraHeaders: map[gojose.HeaderKey]any{"kid": s.kid}}
	for k, v := range header {
		opts.ExtraHeaders[k] = v
	}
	signer, err := gojose.NewSigner(gojose.SigningKey{Algorithm: s.alg, Key: s.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

// svidFixture is a server whose JWT bundle for t.test holds an ES256, an
// RS256 and an RS384 key (the last verified by go-spiffe's path).
func svidFixture(t testing.TB) (*Server, *jwtbundle.Bundle, []svidSigner) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b := jwtbundle.New(spiffeid.RequireTrustDomainFromString("t.test"))
	signers := []svidSigner{{ec, gojose.ES256, "ec"}, {rs, gojose.RS256, "rs"}, {rs, gojose.RS384, "rs"}}
	if err := b.AddJWTAuthority("ec", ec.Public()); err != nil {
		t.Fatal(err)
	}
	if err := b.AddJWTAuthority("rs", rs.Public()); err != nil {
		t.Fatal(err)
	}
	s := fuzzServer(t)
	s.cfg.jwtBundles, s.cfg.jwtAudience = b, svidAudience
	return s, b, signers
}

// verifyJWTSVID agrees with go-spiffe's jwtsvid.ParseAndValidate, the
// reference, on every case: JWT-SVID §3 and §4.
func TestVerifyJWTSVIDAgreesWithGoSPIFFE(t *testing.T) {
	s, bundle, signers := svidFixture(t)
	now := time.Now()
	good := func() map[string]any {
		return map[string]any{"sub": "spiffe://t.test/checkout", "aud": []string{svidAudience}, "exp": now.Add(time.Minute).Unix(), "iat": now.Unix()}
	}
	with := func(k string, v any) map[string]any {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, sg := range signers {
		for _, tc := range []struct {
			name   string
			token  string
			accept bool
		}{
			{"valid", sg.sign(t, nil, good()), true},
			{"aud as a string", sg.sign(t, nil, with("aud", svidAudience)), true},
			{"aud among several", sg.sign(t, nil, with("aud", []string{"x", svidAudience})), true},
			{"typ JWT", sg.sign(t, map[gojose.HeaderKey]any{"typ": "JWT"}, good()), true},
			{"typ JOSE", sg.sign(t, map[gojose.HeaderKey]any{"typ": "JOSE"}, good()), true},
			{"typ at+jwt", sg.sign(t, map[gojose.HeaderKey]any{"typ": "at+jwt"}, good()), false},
			{"other audience", sg.sign(t, nil, with("aud", "spiffe://t.test/other")), false},
			{"no audience", sg.sign(t, nil, with("aud", nil)), false},
			{"expired", sg.sign(t, nil, with("exp", now.Add(-10*time.Minute).Unix())), false},
			{"no exp", sg.sign(t, nil, with("exp", nil)), false},
			{"not yet valid", sg.sign(t, nil, with("nbf", now.Add(10*time.Minute).Unix())), false},
			{"sub not a SPIFFE ID", sg.sign(t, nil, with("sub", "checkout")), false},
			{"no sub", sg.sign(t, nil, with("sub", nil)), false},
			{"trust domain without bundle", sg.sign(t, nil, with("sub", "spiffe://other.test/checkout")), false},
			{"unknown kid", svidSigner{sg.key, sg.alg, "nope"}.sign(t, nil, good()), false},
			{"signed by another key", svidSigner{other, gojose.ES256, "ec"}.sign(t, nil, good()), false},
			{"tampered", tamper(sg.sign(t, nil, good())), false},
		} {
			t.Run(string(sg.alg)+"/"+tc.name, func(t *testing.T) {
				_, refErr := jwtsvid.ParseAndValidate(tc.token, bundle, []string{svidAudience})
				id, err := s.verifyJWTSVID(tc.token)
				if (refErr == nil) != tc.accept {
					t.Fatalf("go-spiffe: accepted %v, want %v", refErr == nil, tc.accept)
				}
				if (err == nil) != tc.accept {
					t.Fatalf("ztkit: accepted %v, want %v", err == nil, tc.accept)
				}
				if err == nil && id.String() != "spiffe://t.test/checkout" {
					t.Fatalf("id %s", id)
				}
			})
		}
	}
}

func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	sig := []byte(parts[2])
	if sig[0] == 'A' {
		sig[0] = 'B'
	} else {
		sig[0] = 'A'
	}
	return parts[0] + "." + parts[1] + "." + string(sig)
}

// FuzzVerifyJWTSVID: no panic, and whatever ztkit's path accepts, go-spiffe
// accepts too (ztkit's is the stricter).
func FuzzVerifyJWTSVID(f *testing.F) {
	s, bundle, signers := svidFixture(f)
	now := time.Now()
	for _, sg := range signers {
		f.Add(sg.sign(f, nil, map[string]any{"sub": "spiffe://t.test/checkout", "aud": svidAudience, "exp": now.Add(time.Hour).Unix()}))
	}
	f.Add("e30.e30.")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		if _, err := s.verifyJWTSVID(token); err == nil {
			if _, refErr := jwtsvid.ParseAndValidate(token, bundle, []string{svidAudience}); refErr != nil {
				t.Fatalf("accepted what go-spiffe refuses: %v", refErr)
			}
		}
	})
}
