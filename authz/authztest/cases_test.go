package authztest_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/authz/authztest"
	"github.com/ztkit/ztkit/tokens"
)

var (
	refNow  = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	fileNow = time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
)

// shopCases exercises every key of the format.
const shopCases = `{
  "now": "2024-01-01T08:00:00Z",
  "cases": [
    {
      "name": "checkout pays",
      "principal": {
        "kind": "user",
        "peer": "spiffe://shop.example/checkout",
        "subject": "cust-42",
        "client_id": "storefront",
        "scopes": ["openid", "payments:write"],
        "roles": ["customer"],
        "groups": ["eu"],
        "acr": "mfa",
        "amr": ["pwd", "otp"],
        "auth_time": "-5m",
        "binding": "dpop"
      },
      "request": {"method": "POST", "path": "/payments"},
      "expect": {"allow": true, "reason": "allowed", "rule": "checkout-pays"}
    },
    {
      "now": "2030-01-01T00:00:00+02:00",
      "name": "charge over gRPC",
      "principal": {"kind": "workload", "workload": "spiffe://shop.example/eu/checkout",
                    "client_id": "checkout", "binding": "mtls", "auth_time": "2029-12-31T21:00:00Z", "actors": ["spiffe://shop.example/gateway", "admin@shop.example"]},
      "request": {"grpc_method": "/shop.Payments/Charge"},
      "expect": {"allow": true}
    },
    {
      "name": "anonymous",
      "principal": null,
      "request": {"method": "GET", "path": "/healthz"},
      "expect": {"allow": false, "reason": "no_rule"}
    },
    {
      "name": "mesh only",
      "expect": {"allow": false},
      "request": {"path": "/orders/1", "method": "GET"},
      "principal": {"kind": "workload", "peer": "spiffe://shop.example/eu/orders", "scopes": []}
    }
  ]
}`

func TestParseCases(t *testing.T) {
	cases, err := authztest.ParseCases("shop.json", []byte(shopCases), refNow)
	require.NoError(t, err)
	require.Len(t, cases, 4)

	pay := cases[0]
	assert.Equal(t, "checkout pays", pay.Name)
	assert.Equal(t, "shop.json", pay.File)
	assert.Equal(t, 4, pay.Line)
	assert.Equal(t, fileNow, pay.Now, "the file's now overrides the reference time")
	assert.Equal(t, &authn.Principal{
		Peer:     spiffeid.RequireFromString("spiffe://shop.example/checkout"),
		Subject:  "cust-42",
		ClientID: "storefront",
		Scopes:   []string{"openid", "payments:write"},
		Roles:    []string{"customer"},
		Groups:   []string{"eu"},
		ACR:      "mfa",
		AMR:      []string{"pwd", "otp"},
		AuthTime: fileNow.Add(-5 * time.Minute),
		Binding:  authn.BoundToDPoPKey,
		Kind:     authn.UserKind,
		Methods:  authn.MethodMTLS | authn.MethodDPoP,
	}, pay.Principal)
	assert.Equal(t, authz.Request{Method: "POST", Path: "/payments"}, pay.Request)
	assert.True(t, pay.Allow)
	assert.Equal(t, authz.ReasonAllowed, pay.Reason)
	assert.Equal(t, "checkout-pays", pay.RuleID)

	grpc := cases[1]
	assert.Equal(t, 22, grpc.Line)
	assert.True(t, grpc.Now.Equal(time.Date(2029, 12, 31, 22, 0, 0, 0, time.UTC)), "the case's now overrides the file's: %v", grpc.Now)
	assert.True(t, grpc.Principal.AuthTime.Equal(time.Date(2029, 12, 31, 21, 0, 0, 0, time.UTC)))
	assert.Equal(t, authn.WorkloadKind, grpc.Principal.Kind)
	assert.Equal(t, authn.BoundToCertificate, grpc.Principal.Binding)
	assert.Equal(t, authn.MethodJWTSVID|authn.MethodBearer, grpc.Principal.Methods)
	assert.Equal(t, &tokens.Actor{Subject: "spiffe://shop.example/gateway", Actor: &tokens.Actor{Subject: "admin@shop.example"}}, grpc.Principal.Actor, "actors nearest first")
	assert.Equal(t, authz.Request{GRPCMethod: "/shop.Payments/Charge"}, grpc.Request)
	assert.Empty(t, grpc.Reason)
	assert.Empty(t, grpc.RuleID)

	assert.Nil(t, cases[2].Principal, "null is an unauthenticated caller")
	assert.Equal(t, authz.ReasonNoRule, cases[2].Reason)
	assert.False(t, cases[2].Allow)

	mesh := cases[3]
	assert.Equal(t, authz.Request{Method: "GET", Path: "/orders/1"}, mesh.Request, "keys may come in any order")
	assert.Nil(t, mesh.Principal.Scopes, "an empty list is no list")
	assert.Equal(t, authn.MethodMTLS, mesh.Principal.Methods, "no token field, no token method")
	assert.Equal(t, authn.NoBinding, mesh.Principal.Binding)
	assert.Nil(t, mesh.Principal.Actor)
}

func TestParseCasesReferenceTime(t *testing.T) {
	doc := `{"cases": [{"name": "a", "principal": {"kind": "user", "auth_time": "+1h30m"},
	  "request": {"method": "GET", "path": "/"}, "expect": {"allow": false}}]}`
	cases, err := authztest.ParseCases("a.json", []byte(doc), refNow.In(time.FixedZone("X", 3600)))
	require.NoError(t, err)
	require.Len(t, cases, 1)
	assert.Equal(t, refNow, cases[0].Now)
	assert.Equal(t, refNow.Add(90*time.Minute), cases[0].Principal.AuthTime)
	assert.Equal(t, authn.MethodBearer, cases[0].Principal.Methods)

	_, err = authztest.ParseCases("a.json", []byte(doc), time.Time{})
	require.ErrorIs(t, err, authztest.ErrInvalidCases)
	assert.ErrorContains(t, err, "no reference time")
}

func TestParseCasesErrors(t *testing.T) {
	const ok = `"request": {"method": "GET", "path": "/"}, "expect": {"allow": true}`
	for _, tc := range []struct {
		name  string
		doc   string
		line  int
		index int
		cas   string
		field string
		want  string
	}{
		{"empty", ``, 1, -1, "", "", "want a JSON object"},
		{"array", `[]`, 1, -1, "", "", "want a JSON object"},
		{"syntax", "{\n\"cases\": [\n{\"name\": \"a\",,}]}", 3, -1, "", "", "invalid character"},
		{"truncated", "{\"cases\": [\n{\"name\": \"a\"", 2, -1, "", "", "unexpected"},
		{"trailing data", `{"cases": [{"name": "a", ` + ok + `}]} {}`, 1, -1, "", "", "data after"},
		{"unknown top key", "{\n\"case\": []}", 2, -1, "", "case", "unknown key"},
		{"duplicate top key", "{\"now\": \"2025-01-01T00:00:00Z\",\n\"now\": \"2025-01-01T00:00:00Z\"}", 2, -1, "", "now", "duplicate key"},
		{"bad file now", "{\n\"now\": \"yesterday\"}", 2, -1, "", "now", "RFC 3339"},
		{"file now not a string", "{\n\"now\": 5}", 2, -1, "", "now", "cannot unmarshal number"},
		{"cases not an array", "{\n\"cases\": {}}", 2, -1, "", "cases", "want an array"},
		{"no cases key", `{}`, 1, -1, "", "cases", "no cases"},
		{"no cases", "{\"cases\": [\n]}", 2, -1, "", "cases", "no cases"},
		{"case not an object", "{\"cases\": [\n 5]}", 2, 0, "", "", "want an object"},
		{"unknown case key", "{\"cases\": [{\"name\": \"a\",\n \"allow\": true}]}", 2, 0, "a", "allow", "unknown key"},
		{"duplicate case key", "{\"cases\": [{\"name\": \"a\",\n \"name\": \"b\"}]}", 2, 0, "b", "name", "duplicate key"},
		{"missing name", "{\"cases\": [\n{" + ok + "}]}", 2, 0, "", "name", "required"},
		{"empty name", "{\"cases\": [{\"name\": \"\", " + ok + "}]}", 1, 0, "", "name", "must not be empty"},
		{"duplicate name", "{\"cases\": [{\"name\": \"a\", " + ok + "},\n{\"name\": \"a\", " + ok + "}]}", 2, 1, "a", "name", "first at line 1"},
		{"missing request", "{\"cases\": [\n{\"name\": \"a\", \"expect\": {\"allow\": true}}]}", 2, 0, "a", "request", "required"},
		{"missing expect", "{\"cases\": [\n{\"name\": \"a\", \"request\": {\"method\": \"GET\", \"path\": \"/\"}}]}", 2, 0, "a", "expect", "required"},
		{"bad case now", "{\"cases\": [{\"name\": \"a\", " + ok + ",\n\"now\": \"12:00\"}]}", 2, 0, "a", "now", "RFC 3339"},
		{"principal not an object", "{\"cases\": [{\"name\": \"a\", " + ok + ",\n\"principal\": [1]}]}", 2, 0, "a", "principal", "not an array"},
		{"missing kind", "{\"cases\": [{\"name\": \"a\", " + ok + ",\n\"principal\": {\"subject\": \"s\"}}]}", 2, 0, "a", "principal.kind", "required"},
		{"bad kind", "{\"cases\": [{\"name\": \"a\", " + ok + ",\n\"principal\": {\"kind\": \"robot\"}}]}", 2, 0, "a", "principal.kind", `"robot": want`},
		{"unknown principal key", "{\"cases\": [{\"name\": \"a\", " + ok + ", \"principal\": {\"kind\": \"user\",\n\"scope\": [\"x\"]}}]}", 2, 0, "a", "principal.scope", "unknown key"},
		{"bad peer", "{\"cases\": [{\"name\": \"a\", " + ok + ", \"principal\": {\"kind\": \"user\",\n\"peer\": \"checkout\"}}]}", 2, 0, "a", "principal.peer", "want a SPIFFE ID"},
		{"bad workload", "{\"cases\": [{\"name\": \"a\", " + ok + ", \"principal\": {\"kind\": \"user\",\n\"workload\": \"spiffe://\"}}]}", 2, 0, "a", "principal.workload", "want a SPIFFE ID"},
		{"scopes not a list", "{\"cases\": [{\"name\": \"a\", " + ok + ", \"principal\": {\"kind\": \"user\",\n\"scopes\": \"a b\"}}]}", 2, 0, "a", "principal.scopes", "cannot unmarshal string"},
		{"empty scope", "{\"cases\": [{\"name\": \"a\", " + ok + ", \"principal\": {\"kind\": \"user\",\n\"scopes\": [\"a\", \"\"]}}]}", 2, 0, "a", "principal.scopes", "element 1 is empty"},
		{"actors not a list", "{\"cases\": [{\"name\": \"a\", " + ok + ", \"principal\": {\"kind\": \"user\",\n\"actors\": \"spiffe://td/a\"}}]}", 2, 0, "a", "principal.actors", "cannot unmarshal string"},
		{"empty actor", "{\"cases\": [{\"name\": \"a\", " + ok + ", \"principal\": {\"kind\": \"user\",\n\"actors\": [\"spiffe://td/a\", \"\"]}}]}", 2, 0, "a", "principal.actors", "element 1 is empty"},
		{"too many actors", "{\"cases\": [{\"name\": \"a\", " + ok + ", \"principal\": {\"kind\": \"user\",\n\"actors\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}}]}", 2, 0, "a", "principal.actors", "more than 8 actors"},
		{"empty subject", "{\"cases\": [{\"name\": \"a\", " + ok + ", \"principal\": {\"kind\": \"user\",\n\"subject\": \"\"}}]}", 2, 0, "a", "principal.subject", "must not be empty"},
		{"bad binding", "{\"cases\": [{\"name\": \"a\", " + ok + ",\n\"principal\": {\"kind\": \"user\", \"binding\": \"dpop+mtls\"}}]}", 2, 0, "a", "principal.binding", `"dpop+mtls": want "none", "dpop" or "mtls"`},
		{"a requirement as a binding", "{\"cases\": [{\"name\": \"a\", " + ok + ",\n\"principal\": {\"kind\": \"user\", \"binding\": \"bound\"}}]}", 2, 0, "a", "principal.binding", `"bound" is what a rule requires, not what a token is bound to: want "none", "dpop" or "mtls"`},
		{"any as a binding", "{\"cases\": [{\"name\": \"a\", " + ok + ",\n\"principal\": {\"kind\": \"user\", \"binding\": \"any\"}}]}", 2, 0, "a", "principal.binding", `"any" is what a rule requires`},
		{"old word unbound", "{\"cases\": [{\"name\": \"a\", " + ok + ",\n\"principal\": {\"kind\": \"user\", \"binding\": \"unbound\"}}]}", 2, 0, "a", "principal.binding", `"unbound": write "none"`},
		{"unsigned offset", "{\"cases\": [{\"name\": \"a\", " + ok + ", \"principal\": {\"kind\": \"user\",\n\"auth_time\": \"5m\"}}]}", 2, 0, "a", "principal.auth_time", "RFC 3339"},
		{"bad offset", "{\"cases\": [{\"name\": \"a\", " + ok + ", \"principal\": {\"kind\": \"user\",\n\"auth_time\": \"-5 minutes\"}}]}", 2, 0, "a", "principal.auth_time", "signed offset"},
		{"request not an object", "{\"cases\": [{\"name\": \"a\", \"expect\": {\"allow\": true},\n\"request\": \"GET /\"}]}", 2, 0, "a", "request", "want an object"},
		{"unknown request key", "{\"cases\": [{\"name\": \"a\", \"expect\": {\"allow\": true}, \"request\": {\"method\": \"GET\",\n\"url\": \"/\"}}]}", 2, 0, "a", "request.url", "unknown key"},
		{"no path", "{\"cases\": [{\"name\": \"a\", \"expect\": {\"allow\": true},\n\"request\": {\"method\": \"GET\"}}]}", 2, 0, "a", "request", "want method and path"},
		{"relative path", "{\"cases\": [{\"name\": \"a\", \"expect\": {\"allow\": true},\n\"request\": {\"method\": \"GET\", \"path\": \"x\"}}]}", 2, 0, "a", "request", "start with"},
		{"http and grpc", "{\"cases\": [{\"name\": \"a\", \"expect\": {\"allow\": true},\n\"request\": {\"method\": \"GET\", \"grpc_method\": \"/a/b\"}}]}", 2, 0, "a", "request", "not both"},
		{"bad grpc", "{\"cases\": [{\"name\": \"a\", \"expect\": {\"allow\": true},\n\"request\": {\"grpc_method\": \"a.B/C\"}}]}", 2, 0, "a", "request", "full method"},
		{"missing allow", "{\"cases\": [{\"name\": \"a\", \"request\": {\"method\": \"GET\", \"path\": \"/\"},\n\"expect\": {\"rule\": \"r\"}}]}", 2, 0, "a", "expect.allow", "required"},
		{"null allow", "{\"cases\": [{\"name\": \"a\", \"request\": {\"method\": \"GET\", \"path\": \"/\"}, \"expect\": {\n\"allow\": null}}]}", 2, 0, "a", "expect.allow", "want true or false"},
		{"string allow", "{\"cases\": [{\"name\": \"a\", \"request\": {\"method\": \"GET\", \"path\": \"/\"}, \"expect\": {\n\"allow\": \"yes\"}}]}", 2, 0, "a", "expect.allow", "cannot unmarshal string"},
		{"unknown expect key", "{\"cases\": [{\"name\": \"a\", \"request\": {\"method\": \"GET\", \"path\": \"/\"}, \"expect\": {\"allow\": true,\n\"rule_id\": \"r\"}}]}", 2, 0, "a", "expect.rule_id", "unknown key"},
		{"empty reason", "{\"cases\": [{\"name\": \"a\", \"request\": {\"method\": \"GET\", \"path\": \"/\"}, \"expect\": {\"allow\": true,\n\"reason\": \"\"}}]}", 2, 0, "a", "expect.reason", "must not be empty"},
		{"keys are case-sensitive", "{\"cases\": [{\"name\": \"a\", " + ok + ",\n\"Principal\": null}]}", 2, 0, "a", "Principal", "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := authztest.ParseCases("c.json", []byte(tc.doc), refNow)
			require.ErrorIs(t, err, authztest.ErrInvalidCases)
			var ce *authztest.CasesError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "c.json", ce.File)
			assert.Equal(t, tc.line, ce.Line, "line")
			assert.Equal(t, tc.index, ce.Index, "index")
			assert.Equal(t, tc.cas, ce.Case, "case")
			assert.Equal(t, tc.field, ce.Field, "field")
			assert.ErrorContains(t, err, tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "authztest: c.json:"), err.Error())
		})
	}
}

func TestCasesErrorFormat(t *testing.T) {
	cause := errors.New("boom")
	assert.Equal(t, `authztest: c.json:3: case "a" (#1): principal.kind: boom`,
		(&authztest.CasesError{File: "c.json", Line: 3, Index: 1, Case: "a", Field: "principal.kind", Err: cause}).Error())
	assert.Equal(t, `authztest: c.json: boom`, (&authztest.CasesError{File: "c.json", Index: -1, Err: cause}).Error())
	assert.Equal(t, `authztest: line 2: boom`, (&authztest.CasesError{Line: 2, Index: -1, Err: cause}).Error())
	assert.ErrorIs(t, &authztest.CasesError{Index: -1, Err: cause}, cause)
}

func TestLoadCases(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "shop.json")
	require.NoError(t, os.WriteFile(path, []byte(shopCases), 0o600))
	cases, err := authztest.LoadCases(path, refNow)
	require.NoError(t, err)
	require.Len(t, cases, 4)
	assert.Equal(t, path, cases[3].File)
	assert.Equal(t, 36, cases[3].Line)

	_, err = authztest.LoadCases(filepath.Join(dir, "none.json"), refNow)
	require.ErrorIs(t, err, os.ErrNotExist)

	big := filepath.Join(dir, "big.json")
	require.NoError(t, os.WriteFile(big, []byte(`{"cases": ["`+strings.Repeat("x", 4<<20)+`"]}`), 0o600))
	_, err = authztest.LoadCases(big, refNow)
	require.ErrorIs(t, err, authztest.ErrInvalidCases)
	assert.ErrorContains(t, err, "larger than")
}

// TestRunCases decides each case at its own time: the cases set "now" years
// from the wall clock, so max_auth_age holds only if the clock follows them.
func TestRunCases(t *testing.T) {
	p, err := authz.Parse("p.json", []byte(`{"acr_levels": ["pwd", "mfa"], "rules": [
	  {"id": "recent", "effect": "allow", "routes": ["POST /payments"],
	   "match": {"kind": "user", "min_acr": "mfa", "max_auth_age": "15m"}}]}`))
	require.NoError(t, err)
	cases, err := authztest.ParseCases("c.json", []byte(`{"now": "2001-01-01T00:00:00Z", "cases": [
	  {"name": "fresh", "principal": {"kind": "user", "acr": "mfa", "auth_time": "-5m"},
	   "request": {"method": "POST", "path": "/payments"}, "expect": {"allow": true, "rule": "recent"}},
	  {"name": "stale", "principal": {"kind": "user", "acr": "mfa", "auth_time": "2000-12-31T23:00:00Z"},
	   "request": {"method": "POST", "path": "/payments"}, "expect": {"allow": false, "reason": "auth_too_old"}},
	  {"name": "fresh at its own time", "now": "1999-06-01T00:00:00Z",
	   "principal": {"kind": "user", "acr": "mfa", "auth_time": "1999-05-31T23:50:00Z"},
	   "request": {"method": "POST", "path": "/payments"}, "expect": {"allow": true}}]}`), refNow)
	require.NoError(t, err)
	authztest.RunCases(t, p, cases, authz.WithClock(time.Now))
}

// FuzzParseCases: no input panics, and whatever parses encodes back to a file
// that parses to the same cases.
func FuzzParseCases(f *testing.F) {
	for _, s := range []string{
		shopCases,
		`{"cases": [{"name": "a", "request": {"method": "GET", "path": "/"}, "expect": {"allow": true}}]}`,
		`{"cases": [{"name": "a", "principal": {"kind": "user", "auth_time": "-1h"}, "request": {"grpc_method": "/a.B/C"}, "expect": {"allow": false, "rule": "r"}}]}`,
		`{"cases": [{"name": "a", "principal": {"kind": "user", "peer": "spiffe://x/y", "peer": "spiffe://x/z"}}]}`,
		`{"cases": [null, 1, "x", []]}`,
		`{"now": "2025-01-01T00:00:00Z", "cases": []}`,
		`{"cases": [{"name": "\u00e9", "now": "2025-01-01T00:00:00.123456789+05:30", "request": {"method": "GET", "path": "/"}, "expect": {"allow": true}}]}`,
		`{"cases": [{"principal": {"kind": "workload", "scopes": null, "binding": "none"}}]}`,
		`{"cases": [{"name": "a", "principal": {"kind": "user", "actors": ["spiffe://x/y", "z"]}, "request": {"grpc_method": "/a.B/C"}, "expect": {"allow": false, "reason": "actor_mismatch"}}]}`,
		`{"cases": [{"name": "a", "principal": {"kind": "user", "actors": []}, "request": {"grpc_method": "/a.B/C"}, "expect": {"allow": false}}]}`,
		`{`, `}`, `[`, `"`, ``, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cases, err := authztest.ParseCases("fuzz.json", data, refNow)
		if err != nil {
			var ce *authztest.CasesError
			if !errors.As(err, &ce) || !errors.Is(err, authztest.ErrInvalidCases) {
				t.Fatalf("error %v is not a *CasesError matching ErrInvalidCases", err)
			}
			return
		}
		if len(cases) == 0 {
			t.Fatal("parsed a table without cases")
		}
		again, err := authztest.ParseCases("fuzz.json", encodeCases(t, cases), refNow.Add(time.Hour))
		if err != nil {
			t.Fatalf("re-encoded cases do not parse: %v", err)
		}
		if len(again) != len(cases) {
			t.Fatalf("got %d cases back, want %d", len(again), len(cases))
		}
		for i := range cases {
			a, b := cases[i], again[i]
			a.Line, b.Line = 0, 0
			if !assert.ObjectsAreEqual(a, b) {
				t.Fatalf("case %d changed in a round trip:\n%#v\n%#v", i, a, b)
			}
		}
	})
}

// encodeCases writes cases back in the file format, with absolute times.
func encodeCases(t *testing.T, cases []authztest.FileCase) []byte {
	t.Helper()
	type principal struct {
		Kind     string   `json:"kind"`
		Peer     string   `json:"peer,omitempty"`
		Workload string   `json:"workload,omitempty"`
		Actors   []string `json:"actors,omitempty"`
		Subject  string   `json:"subject,omitempty"`
		ClientID string   `json:"client_id,omitempty"`
		Scopes   []string `json:"scopes,omitempty"`
		Roles    []string `json:"roles,omitempty"`
		Groups   []string `json:"groups,omitempty"`
		ACR      string   `json:"acr,omitempty"`
		AMR      []string `json:"amr,omitempty"`
		AuthTime string   `json:"auth_time,omitempty"`
		Binding  string   `json:"binding,omitempty"`
	}
	type request struct {
		Method     string `json:"method,omitempty"`
		Path       string `json:"path,omitempty"`
		GRPCMethod string `json:"grpc_method,omitempty"`
	}
	type expect struct {
		Allow  bool   `json:"allow"`
		Reason string `json:"reason,omitempty"`
		Rule   string `json:"rule,omitempty"`
	}
	type fileCase struct {
		Name      string     `json:"name"`
		Now       string     `json:"now"`
		Principal *principal `json:"principal"`
		Request   request    `json:"request"`
		Expect    expect     `json:"expect"`
	}
	var out struct {
		Cases []fileCase `json:"cases"`
	}
	for _, c := range cases {
		fc := fileCase{
			Name: c.Name, Now: c.Now.Format(time.RFC3339Nano),
			Request: request{c.Request.Method, c.Request.Path, c.Request.GRPCMethod},
			Expect:  expect{c.Allow, string(c.Reason), c.RuleID},
		}
		if p := c.Principal; p != nil {
			fc.Principal = &principal{
				Kind: p.Kind.String(), Subject: p.Subject, ClientID: p.ClientID,
				Scopes: p.Scopes, Roles: p.Roles, Groups: p.Groups, ACR: p.ACR, AMR: p.AMR,
				Binding: p.Binding.String(), Actors: p.Actor.Subjects(),
			}
			if !p.Peer.IsZero() {
				fc.Principal.Peer = p.Peer.String()
			}
			if !p.Workload.IsZero() {
				fc.Principal.Workload = p.Workload.String()
			}
			if !p.AuthTime.IsZero() {
				fc.Principal.AuthTime = p.AuthTime.Format(time.RFC3339Nano)
			}
		}
		out.Cases = append(out.Cases, fc)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}
