package tokens

import (
	"errors"
	"testing"

	"github.com/ztkit/ztkit/internal/jsonscan"
)

// RFC 8693 claims sets, verbatim (each as the RFC prints it, with its
// indentation). They lack claims RFC 9068 requires (iat, jti, client_id), so
// the tests read their act and may_act members directly.
const (
	// Verbatim from RFC 8693 §4.1, Figure 5 ("Actor Claim"):
	// admin@example.com is the current actor.
	rfc8693Act = `{
  "aud":"https://consumer.example.com",
  "iss":"https://issuer.example.com",
  "exp":1443904177,
  "nbf":1443904077,
  "sub":"user@example.com",
  "act":
  {
    "sub":"admin@example.com"
  }
}`
	// Verbatim from RFC 8693 §4.1, Figure 6 ("Nested Actor Claim"): service16
	// is the current actor, service77 a prior one.
	rfc8693NestedAct = `{
  "aud":"https://service26.example.com",
  "iss":"https://issuer.example.com",
  "exp":1443904100,
  "nbf":1443904000,
  "sub":"user@example.com",
  "act":
  {
    "sub":"https://service16.example.com",
    "act":
    {
      "sub":"https://service77.example.com"
    }
  }
}`
	// Verbatim from RFC 8693 §4.4, Figure 9 ("Authorized Actor Claim"):
	// admin@example.com may act for user@example.com.
	rfc8693MayAct = `{
  "aud":"https://consumer.example.com",
  "iss":"https://issuer.example.com",
  "exp":1443904177,
  "nbf":1443904077,
  "sub":"user@example.com",
  "may_act":
  {
    "sub":"admin@example.com"
  }
}`
)

// member returns the value of member name of the JSON object data.
func member(t testing.TB, data, name string) jsonscan.Value {
	t.Helper()
	o := jsonscan.NewObject([]byte(data))
	for o.Next() {
		if string(o.Key()) == name {
			return o.Value()
		}
	}
	t.Fatalf("no member %q (err %v)", name, o.Err())
	return jsonscan.Value{}
}

func TestParseActorRFC8693Examples(t *testing.T) {
	cases := []struct {
		name, data, claim string
		depth             int
		want              Actor
	}{
		{"§4.1 act", rfc8693Act, "act", MaxActorDepth, Actor{Subject: "admin@example.com"}},
		{"§4.1 nested act", rfc8693NestedAct, "act", MaxActorDepth, Actor{
			Subject: "https://service16.example.com",
			Actor:   &Actor{Subject: "https://service77.example.com"},
		}},
		{"§4.4 may_act", rfc8693MayAct, "may_act", 1, Actor{Subject: "admin@example.com"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseActor(member(t, tc.data, tc.claim), tc.claim, tc.depth)
			if err != nil {
				t.Fatalf("parseActor: %v", err)
			}
			if !equalActors(got, &tc.want) {
				t.Fatalf("parsed %+v, want %+v", got, tc.want)
			}
			// The clone is equal and shares nothing.
			cp := got.clone()
			if !equalActors(cp, got) {
				t.Fatalf("clone differs")
			}
			for a, b := cp, got; a != nil; a, b = a.Actor, b.Actor {
				if a == b {
					t.Fatalf("clone shares an actor")
				}
			}
		})
	}
	t.Run("parseClaims reads the example's act", func(t *testing.T) {
		var c Claims
		err := parseClaims([]byte(rfc8693NestedAct), &c, nil)
		if !errors.Is(err, ErrMissingClaim) { // iat, jti and client_id are absent
			t.Fatalf("err = %v, want ErrMissingClaim", err)
		}
		if got := c.Actor.Subjects(); len(got) != 2 || got[0] != "https://service16.example.com" || got[1] != "https://service77.example.com" {
			t.Fatalf("act chain %q", got)
		}
	})
}

func equalActors(a, b *Actor) bool {
	for ; a != nil && b != nil; a, b = a.Actor, b.Actor {
		if a.Subject != b.Subject || a.Issuer != b.Issuer {
			return false
		}
	}
	return a == nil && b == nil
}
