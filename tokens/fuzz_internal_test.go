package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ztkit/ztkit/internal/jsonscan"
)

// FuzzParseClaims checks the claims parser: no panic, and every claims set it
// accepts is a JSON object whose registered claims encoding/json reads the same.
func FuzzParseClaims(f *testing.F) {
	for _, s := range []string{
		`{"iss":"https://id.shop.example","sub":"u1","aud":"api","exp":1700000300,"iat":1700000000,"jti":"j","client_id":"c"}`,
		`{"iss":"i","sub":"s","aud":["a","b"],"exp":1.5e9,"iat":1e9,"jti":"j","client_id":"c","scope":"a b","cnf":{"jkt":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"amr":["pwd"],"roles":[]}`,
		`{"iss":"i","sub":"s","aud":[],"exp":1,"iat":0,"jti":"j","client_id":"c"}`,
		`{"iss":1}`, `{"exp":"1"}`, `[]`, `{"iss":"a","iss":"b"}`, `{"cnf":{"jkt":1}}`, `{"cnf":{"jwk":{}}}`, `{"cnf":{}}`, `{"cnf":null}`, `{"scope":"a\u00a0b"}`, `{"act":{"sub":"a","act":{"sub":"b"}},"may_act":{"sub":"c"}}`, `{"scope":"a  b"}`, `{"aud":[1]}`, `{"exp":-1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Claims
		if err := parseClaims(data, &c, []string{"i", "api"}); err != nil {
			return
		}
		if c.Issuer == "" || c.Subject == "" || c.ID == "" || c.ClientID == "" || len(c.Audience) == 0 {
			t.Fatalf("accepted claims without a required claim")
		}
		for _, sc := range c.Scopes {
			if !IsScopeToken(sc) {
				t.Fatalf("accepted a scope that is not an RFC 6749 scope-token")
			}
		}
		if cnf := c.Confirmation; (cnf.JKT != "" && !validThumbprint(cnf.JKT)) || (cnf.X5TS256 != "" && !validThumbprint(cnf.X5TS256)) {
			t.Fatalf("accepted a cnf that is not a thumbprint")
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(data, &members); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
		if _, ok := members["cnf"]; ok && !c.Confirmation.Bound() {
			t.Fatalf("a token with cnf was read as unbound")
		}
		if _, ok := members["act"]; ok != (c.Actor != nil) {
			t.Fatalf("act claim and Claims.Actor disagree")
		}
		if _, ok := members["may_act"]; ok != (c.MayAct != nil) {
			t.Fatalf("may_act claim and Claims.MayAct disagree")
		}
		var std struct {
			Iss      string `json:"iss"`
			Sub      string `json:"sub"`
			ClientID string `json:"client_id"`
		}
		if err := json.Unmarshal(data, &std); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
		// encoding/json matches names case-insensitively, so it may read "ISS"
		// where ztkit reads "iss": compare only when no such twin exists.
		lower := strings.ToLower(string(data))
		if strings.Count(lower, `"iss"`) == 1 && strings.Count(lower, `"sub"`) == 1 && strings.Count(lower, `"client_id"`) == 1 &&
			(std.Iss != c.Issuer || std.Sub != c.Subject || std.ClientID != c.ClientID) {
			t.Fatalf("claims differ from encoding/json's reading")
		}
	})
}

// FuzzParseActor checks the act and may_act parser: no panic; an accepted
// chain is within MaxActorDepth, every actor has a subject, may_act has no
// prior actor, and encoding/json reads the same chain from the same bytes.
func FuzzParseActor(f *testing.F) {
	for _, s := range []string{
		rfc8693Act, rfc8693NestedAct, rfc8693MayAct, // RFC 8693 §4.1 and §4.4, verbatim
		`{"act":{"sub":"spiffe://shop.example/checkout","iss":"https://id.shop.example","act":{"sub":"spiffe://shop.example/storefront"}}}`,
		`{"act":{"sub":"a","act":{"sub":"b","act":{"sub":"c","act":{"sub":"d","act":{"sub":"e","act":{"sub":"f","act":{"sub":"g","act":{"sub":"h"}}}}}}}}}`,
		`{"act":{"sub":"a","act":{"sub":"b","act":{"sub":"c","act":{"sub":"d","act":{"sub":"e","act":{"sub":"f","act":{"sub":"g","act":{"sub":"h","act":{"sub":"i"}}}}}}}}}}`,
		`{"act":{}}`, `{"act":null}`, `{"act":[]}`, `{"act":{"sub":""}}`, `{"act":{"sub":1}}`, `{"act":{"sub":"a","sub":"b"}}`,
		`{"act":{"sub":"a","iss":""}}`, `{"act":{"sub":"a","act":null}}`, `{"act":{"sub":"\u0061","email":"x"}}`,
		`{"may_act":{"sub":"a","act":{"sub":"b"}}}`, `{"may_act":[{"sub":"a"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o := jsonscan.NewObject(data)
		for o.Next() {
			claim := string(o.Key())
			depth := MaxActorDepth
			switch claim {
			case "act":
			case "may_act":
				depth = 1
			default:
				continue
			}
			a, err := parseActor(o.Value(), claim, depth)
			if err != nil {
				if a != nil || !errors.Is(err, ErrInvalidActor) || !errors.Is(err, ErrMalformed) {
					t.Fatalf("refused with %v and actor %v", err, a != nil)
				}
				continue
			}
			if n := a.Depth(); n < 1 || n > depth {
				t.Fatalf("accepted a chain of %d", n)
			}
			for x := a; x != nil; x = x.Actor {
				if x.Subject == "" {
					t.Fatalf("accepted an actor without a subject")
				}
			}
			// encoding/json matches names case-insensitively and keeps the
			// last of duplicates: compare with it only when the value has no
			// such twins of sub, iss or act.
			raw := string(o.Value().Raw)
			lower := strings.ToLower(raw)
			if strings.Count(lower, `"sub"`) == strings.Count(raw, `"sub"`) && strings.Count(lower, `"iss"`) == strings.Count(raw, `"iss"`) &&
				strings.Count(lower, `"act"`) == strings.Count(raw, `"act"`) {
				var std Actor
				if err := json.Unmarshal(o.Value().Raw, &std); err != nil {
					t.Fatalf("accepted what encoding/json refuses: %v", err)
				}
				if !equalActors(a, &std) {
					t.Fatalf("chain differs from encoding/json's reading")
				}
			}
			// Marshalled and parsed again, the chain is the same.
			b, err := json.Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			again, err := parseActor(jsonscan.Value{Kind: jsonscan.ObjectKind, Raw: b}, claim, depth)
			if err != nil || !equalActors(a, again) {
				t.Fatalf("round trip failed: %v", err)
			}
		}
	})
}

// FuzzVerify feeds mutated tokens to a real Verifier: no panic, and nothing
// but the tokens the issuer signed ever verifies.
func FuzzVerify(f *testing.F) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	sk, err := NewSigningKey(k, "")
	if err != nil {
		f.Fatal(err)
	}
	ks, err := NewKeySet(sk)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	iss, err := NewIssuer("https://id.shop.example", ks, WithClock(clock))
	if err != nil {
		f.Fatal(err)
	}
	v, err := NewVerifier(ks, "https://id.shop.example", []string{"https://checkout.shop.example"}, WithClock(clock), WithCacheSize(0))
	if err != nil {
		f.Fatal(err)
	}
	signed := map[string]bool{}
	for _, r := range []TokenRequest{
		{Subject: "customer-42", ClientID: "storefront", Audience: []string{"https://checkout.shop.example"}, Scopes: []string{"checkout:write"}},
		{Subject: "svc", ClientID: "payments", Audience: []string{"https://checkout.shop.example", "x"}, DPoPKeyThumbprint: strings.Repeat("A", 43), Extra: map[string]any{"tenant": "eu"}},
		{Subject: "customer-42", ClientID: "checkout", Audience: []string{"https://checkout.shop.example"}, DPoPKeyThumbprint: strings.Repeat("A", 42) + "E",
			Actor:  &Actor{Subject: "spiffe://shop.example/checkout", Actor: &Actor{Subject: "spiffe://shop.example/storefront"}},
			MayAct: &Actor{Subject: "spiffe://shop.example/payments", Issuer: "https://id.shop.example"}},
	} {
		tok, err := iss.Issue(context.Background(), r)
		if err != nil {
			f.Fatal(err)
		}
		signed[tok] = true
		f.Add(tok)
		f.Add(tok[:len(tok)-2])
		f.Add(strings.Replace(tok, ".", "..", 1))
		parts := strings.Split(tok, ".")
		f.Add(parts[1] + "." + parts[0] + "." + parts[2])
	}
	f.Add("")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(context.Background(), tok)
		if err != nil {
			if c != nil {
				t.Fatalf("claims returned with an error")
			}
			if strings.Contains(err.Error(), tok) && len(tok) > 8 {
				t.Fatalf("error message contains the token")
			}
			return
		}
		if !signed[tok] {
			t.Fatalf("a token the issuer did not sign verified")
		}
	})
}
