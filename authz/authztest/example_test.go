package authztest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/authz/authztest"
)

// A cases file read and decided by hand; in a test, authztest.RunCases does
// this for every case, and `ztkit policy test` does it from the command line.
func ExampleParseCases() {
	policy, err := authz.Parse("authz.json", []byte(`{
	  "acr_levels": ["pwd", "mfa"],
	  "rules": [{"id": "checkout-pays", "effect": "allow", "routes": ["POST /payments"],
	             "match": {"peers": ["spiffe://shop.example/checkout"], "kind": "user",
	                       "all_scopes": ["payments:write"], "min_acr": "mfa", "max_auth_age": "15m"}}]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	cases, err := authztest.ParseCases("authz_cases.json", []byte(`{
	  "now": "2025-06-01T12:00:00Z",
	  "cases": [
	    {"name": "customer pays",
	     "principal": {"kind": "user", "peer": "spiffe://shop.example/checkout",
	                   "scopes": ["payments:write"], "acr": "mfa", "auth_time": "-5m"},
	     "request": {"method": "POST", "path": "/payments"},
	     "expect": {"allow": true, "rule": "checkout-pays"}},
	    {"name": "stale login",
	     "principal": {"kind": "user", "peer": "spiffe://shop.example/checkout",
	                   "scopes": ["payments:write"], "acr": "mfa", "auth_time": "-1h"},
	     "request": {"method": "POST", "path": "/payments"},
	     "expect": {"allow": false, "reason": "auth_too_old"}}
	  ]
	}`), time.Now())
	if err != nil {
		fmt.Println(err)
		return
	}
	var now time.Time
	eng, err := authz.New(policy, authz.WithClock(func() time.Time { return now }))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range cases {
		now = c.Now
		d := eng.Decide(context.Background(), c.Principal, c.Request)
		fmt.Printf("%s:%d %s: allow=%v reason=%s\n", c.File, c.Line, c.Name, d.Allow, d.Reason)
	}

	_, err = authztest.ParseCases("bad_cases.json", []byte(`{"cases": [
	  {"name": "typo", "principal": {"kind": "user",
	   "scope": ["payments:write"]}}]}`), time.Now())
	fmt.Println(err)
	// Output:
	// authz_cases.json:4 customer pays: allow=true reason=allowed
	// authz_cases.json:9 stale login: allow=false reason=auth_too_old
	// authztest: bad_cases.json:3: case "typo" (#0): principal.scope: unknown key
}
