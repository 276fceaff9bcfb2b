package dpop_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// FuzzAdvise: Advise never panics; it either fails with
// ErrMalformedChallenge and the zero Advice, or returns an Advice whose
// lists hold only RFC 6749 §3.3 tokens, whose nonce is one it was given,
// and which a challenge rendered from it advises again unchanged.
func FuzzAdvise(f *testing.F) {
	for _, s := range [][3]string{
		{"", `Bearer realm="example"`, ""},
		{"Bearer", `Bearer realm="example", error="invalid_token", error_description="The access token expired"`, ""},
		{"Bearer", `Bearer error="insufficient_scope", scope="openid profile email"`, ""},
		{"", `DPoP algs="ES256 PS256"`, ""},
		{"DPoP", `DPoP error="invalid_token", error_description="Invalid DPoP key binding", algs="ES256"`, ""},
		{"DPoP", `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`, rfcNonce},
		{"Bearer", `Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR"`, ""},
		{"Bearer", `Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="5"`, ""},
		{"DPoP", `DPoP realm="payments", error="insufficient_user_authentication", acr_values="mfa phr", max_age=300, algs="ES256"`, "n"},
		{"", `Bearer realm="shop", DPoP realm="shop", algs="ES256"`, ""},
		{"", `Basic realm="x", Negotiate abc==, DPoP error="invalid_dpop_proof"`, "a b"},
		{"", `Bearer acr_values="a  b", max_age=-1`, ""},
		{"DPoP", `DPoP abc==`, ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, scheme, challenge, nonce string) {
		nonces := []string{nonce}
		adv, err := dpop.Advise(scheme, []string{challenge}, nonces)
		if err != nil {
			if !errors.Is(err, dpop.ErrMalformedChallenge) {
				t.Fatalf("error %v does not match ErrMalformedChallenge", err)
			}
			if adv.Action != dpop.ActionGiveUp || adv.Scheme != "" || adv.Error != "" {
				t.Fatalf("an error came with advice %+v", adv)
			}
			return
		}
		if adv.Action.String() == "unknown" {
			t.Fatalf("unknown action %d", adv.Action)
		}
		if adv.Nonce != "" && adv.Nonce != nonce {
			t.Fatalf("nonce %q was not given", adv.Nonce)
		}
		if adv.Action == dpop.ActionRetryWithNonce && (adv.Nonce == "" || adv.Scheme != "DPoP") {
			t.Fatalf("a nonce retry without a nonce or outside DPoP: %+v", adv)
		}
		if adv.MaxAge < 0 || (!adv.HasMaxAge && adv.MaxAge != 0) {
			t.Fatalf("max_age %v (set %v)", adv.MaxAge, adv.HasMaxAge)
		}
		for _, list := range [][]string{adv.ACRValues, adv.Scopes, adv.Algs} {
			for _, v := range list {
				if v == "" || strings.ContainsAny(v, " \t\"\\") {
					t.Fatalf("list value %q", v)
				}
			}
		}
		if adv.Scheme == "" {
			return // no DPoP or Bearer challenge
		}
		again, err := dpop.Advise(adv.Scheme, []string{render(adv)}, nonces)
		if err != nil {
			t.Fatalf("the rendered challenge %q: %v", render(adv), err)
		}
		if fmt.Sprintf("%#v", again) != fmt.Sprintf("%#v", adv) {
			t.Fatalf("advice %+v, rendered %q, advised again %+v", adv, render(adv), again)
		}
	})
}

// render is the challenge adv was read from, less what Advise drops.
func render(adv dpop.Advice) string {
	var params []string
	add := func(name, v string) { params = append(params, fmt.Sprintf("%s=%q", name, v)) }
	if adv.Error != "" {
		add("error", adv.Error)
	}
	if adv.Description != "" {
		add("error_description", adv.Description)
	}
	if adv.Scopes != nil {
		add("scope", strings.Join(adv.Scopes, " "))
	}
	if adv.Algs != nil {
		add("algs", strings.Join(adv.Algs, " "))
	}
	if adv.ACRValues != nil {
		add("acr_values", strings.Join(adv.ACRValues, " "))
	}
	if adv.HasMaxAge {
		add("max_age", fmt.Sprint(int64(adv.MaxAge.Seconds())))
	}
	return strings.TrimSpace(adv.Scheme + " " + strings.Join(params, ", "))
}
