package dpop_test

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// A resource server refuses a payment because the customer signed in with a
// password an hour ago, and it requires a second factor within the last
// five minutes (RFC 9470 §3). The client reads what to do from the
// challenge: step up, asking the authorization server for one of these acr
// values and a fresh authentication.
func ExampleAdvise() {
	challenge := `DPoP error="insufficient_user_authentication", ` +
		`error_description="A different authentication level is required", ` +
		`acr_values="urn:shop:mfa urn:shop:phr", max_age=300, algs="ES256"`
	adv, err := dpop.Advise("DPoP", []string{challenge}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(adv.Action)
	fmt.Println(strings.Join(adv.ACRValues, ", "))
	fmt.Println(adv.MaxAge)
	// Output:
	// step_up
	// urn:shop:mfa, urn:shop:phr
	// 5m0s
}

// A client reads the advice straight from the response: here a resource
// server's use_dpop_nonce challenge (RFC 9449 §9), which dpop.Transport
// answers by itself.
func ExampleAdviseHTTP() {
	resp := &http.Response{
		StatusCode: http.StatusUnauthorized,
		Header: http.Header{
			"Www-Authenticate": {`DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`},
			"Dpop-Nonce":       {"eyJ7S_zG.eyJH0-Z.HX4w-7v"},
		},
	}
	adv, err := dpop.AdviseHTTP(resp)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(adv.Action, adv.Nonce)
	// Output: retry_with_nonce eyJ7S_zG.eyJH0-Z.HX4w-7v
}
