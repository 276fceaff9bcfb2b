package webhook

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ztkit/ztkit/httpsig"
)

// Seeds: the specification's and reference libraries' headers, and edge cases.
var (
	standardSeeds = []string{
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		"v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==",
		"v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==",
		"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
		"v1a,", "v1,", ",", " ", "", "v1", "v1,====", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=",
		strings.Repeat("v2,x ", 17),
	}
	stripeSeeds = []string{
		"t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
		"t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39",
		"t=1,v1=00", "t=,v1=", "t=1,t=2", "v1=", "=", ",", "", "t=1, v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd ",
		"t=01,v1=5257A869E7ECEBEDA32AFFA62CDCA3FA51CAD7E77A0E56FF536D0CE8E108D8BD",
	}
)

func FuzzParseStandardSignatures(f *testing.F) {
	for _, s := range standardSeeds {
		f.Add(s)
	}
	enc := base64.StdEncoding.Strict()
	f.Fuzz(func(t *testing.T, s string) {
		var sigs [MaxSignatures]stdSig
		n, err := parseStandardSignatures(enc, s, &sigs)
		if err != nil {
			if !errors.Is(err, httpsig.ErrMalformed) {
				t.Fatalf("error does not match ErrMalformed: %v", err)
			}
			return
		}
		if n > MaxSignatures {
			t.Fatalf("%d signatures", n)
		}
		// Round trip: the signatures kept, written again, parse to the same.
		parts := make([]string, n)
		for i := 0; i < n; i++ {
			if sigs[i].v1a {
				parts[i] = "v1a," + base64.StdEncoding.EncodeToString(sigs[i].b[:])
			} else {
				parts[i] = "v1," + base64.StdEncoding.EncodeToString(sigs[i].b[:32])
			}
		}
		var again [MaxSignatures]stdSig
		m, err := parseStandardSignatures(enc, strings.Join(parts, " "), &again)
		if err != nil || m != n {
			t.Fatalf("round trip: %d signatures, then %d, %v", n, m, err)
		}
		for i := 0; i < n; i++ {
			if again[i].v1a != sigs[i].v1a || (sigs[i].v1a && again[i].b != sigs[i].b) || (!sigs[i].v1a && [32]byte(again[i].b[:32]) != [32]byte(sigs[i].b[:32])) {
				t.Fatalf("round trip changed signature %d", i)
			}
		}
	})
}

func FuzzParseStripeSignature(f *testing.F) {
	for _, s := range stripeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var sh stripeHeader
		if err := parseStripeSignature(s, &sh); err != nil {
			if !errors.Is(err, httpsig.ErrMalformed) {
				t.Fatalf("error does not match ErrMalformed: %v", err)
			}
			return
		}
		if sh.n > MaxSignatures {
			t.Fatalf("%d signatures", sh.n)
		}
		if got := strconv.FormatInt(sh.ts.Unix(), 10); got != sh.t {
			t.Fatalf("t %q parsed as %s", sh.t, got)
		}
		out := "t=" + sh.t
		for i := 0; i < sh.n; i++ {
			out += ",v1=" + hex.EncodeToString(sh.sigs[i][:])
		}
		var again stripeHeader
		if err := parseStripeSignature(out, &again); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if again.t != sh.t || again.n != sh.n || again.sigs != sh.sigs {
			t.Fatal("round trip changed the header")
		}
	})
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"1614265330", "0", "01", "-1", "+1", "", "999999999999999999", "9999999999999999999", "1e9", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, ok := parseTimestamp(s)
		if !ok {
			return
		}
		if got := strconv.FormatInt(ts.Unix(), 10); got != s || ts.Unix() <= 0 {
			t.Fatalf("%q parsed as %s", s, got)
		}
	})
}

// FuzzVerify checks that no header or body makes Verify panic, accept, or fail
// with an error outside the httpsig sentinels.
func FuzzVerify(f *testing.F) {
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", standardSeeds[0], standardSeeds[0]+",t=1614265330", []byte(`{"test": 2432232314}`))
	for i, s := range standardSeeds {
		f.Add("msg_"+strconv.Itoa(i), "1614265330", s, stripeSeeds[i%len(stripeSeeds)], []byte("{}"))
	}
	// A signature anyone can make: R the identity, S zero. It verifies under
	// a public key of small order, which NewStandard refuses.
	forged := make([]byte, ed25519.SignatureSize)
	forged[0] = 1
	for i := range 8 {
		f.Add("msg_"+strconv.Itoa(i), "1614265330", "v1a,"+base64.StdEncoding.EncodeToString(forged), "", []byte("{}"))
	}
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	now := func() time.Time { return time.Unix(1614265330, 0) }
	std, err := NewStandard(WithSecrets("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whpk_"+base64.StdEncoding.EncodeToString(pub)), WithClock(now))
	if err != nil {
		f.Fatal(err)
	}
	stripe, err := NewStripe(WithSecrets("whsec_fuzz-secret-0123456789"), WithClock(now))
	if err != nil {
		f.Fatal(err)
	}
	sentinels := []error{httpsig.ErrMissing, httpsig.ErrMalformed, httpsig.ErrInvalid, httpsig.ErrExpired, httpsig.ErrReplayed}
	f.Fuzz(func(t *testing.T, id, ts, sig, stripeSig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		h.Set(HeaderStripeSignature, stripeSig)
		for _, v := range []*Verifier{std, stripe} {
			msg, err := v.Verify(context.Background(), h, body)
			if err == nil {
				// Only the seed with the reference signature verifies, once.
				if msg == nil || msg.ID() != "msg_p5jXN8AQM9LWM0D4loKWxJek" {
					t.Fatalf("accepted a message it cannot have a signature for")
				}
				continue
			}
			matched := false
			for _, s := range sentinels {
				if errors.Is(err, s) {
					matched = true
				}
			}
			if !matched {
				t.Fatalf("error matches no sentinel: %v", err)
			}
		}
	})
}
