package authztest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/internal/srcloc"
	"github.com/ztkit/ztkit/tokens"
)

// ErrInvalidCases: a cases file cannot be read as a table of cases. Every
// [*CasesError] matches it.
var ErrInvalidCases = errors.New("authztest: invalid cases file")

// maxCasesFile bounds the size of a cases file [LoadCases] reads.
const maxCasesFile = 4 << 20

// CasesError locates one problem in a cases file: the file and line, the
// case and the field. It matches [ErrInvalidCases] and unwraps to the cause.
// Its message holds nothing but the file's own text.
type CasesError struct {
	// File is the name the cases were parsed under.
	File string
	// Line is the 1-based line in File; 0 when unknown.
	Line int
	// Index is the case's position in the file; -1 for a file-wide problem.
	Index int
	// Case is the case's name, when it has one.
	Case string
	// Field is the offending key, such as "principal.auth_time"; may be empty.
	Field string
	// Err is the cause.
	Err error
}

// Error formats the location and the cause, as in
// `authztest: cases.json:12: case "pays" (#3): principal.kind: want "workload" or "user"`.
func (e *CasesError) Error() string {
	loc := srcloc.Loc{File: e.File, Line: e.Line, Kind: "case", Index: e.Index, Name: e.Case, Field: e.Field}
	return loc.Format("authztest: ", fmt.Sprint(e.Err))
}

// Unwrap returns the cause.
func (e *CasesError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrInvalidCases].
func (e *CasesError) Is(target error) bool { return target == ErrInvalidCases }

// FileCase is a [Case] read from a cases file, with where it was written and
// the time it is decided at.
type FileCase struct {
	Case
	// File and Line locate the case, for messages.
	File string
	Line int
	// Now is the time the policy decides the case at (max_auth_age is
	// measured from it): the case's "now", else the file's, else the time
	// given to [ParseCases]. Relative auth_time values are resolved from it.
	Now time.Time
}

// LoadCases reads the cases file at path; see [ParseCases]. Files over 4 MiB
// are refused.
func LoadCases(path string, now time.Time) ([]FileCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("authztest: %w", err)
	}
	defer f.Close()
	data, tooLarge, err := srcloc.ReadLimited(f, maxCasesFile)
	if err != nil {
		return nil, fmt.Errorf("authztest: %w", err)
	}
	if tooLarge {
		return nil, &CasesError{File: path, Index: -1, Err: fmt.Errorf("file larger than %d bytes", maxCasesFile)}
	}
	return ParseCases(path, data, now)
}

// ParseCases decodes a JSON table of what-if cases. name is used in errors
// and in [FileCase.File]; now is the time cases are decided at unless the
// file or the case sets its own "now", and must not be zero.
//
//	{
//	  "now": "2025-06-01T12:00:00Z",
//	  "cases": [
//	    {
//	      "name": "checkout pays with a DPoP-bound MFA token",
//	      "principal": {
//	        "kind": "user",
//	        "peer": "spiffe://shop.example/checkout",
//	        "subject": "cust-42", "client_id": "storefront",
//	        "scopes": ["payments:write"], "acr": "mfa", "amr": ["pwd", "otp"],
//	        "auth_time": "-5m", "binding": "dpop"
//	      },
//	      "request": {"method": "POST", "path": "/payments"},
//	      "expect": {"allow": true, "rule": "checkout-pays"}
//	    },
//	    {
//	      "name": "anonymous callers cannot pay",
//	      "request": {"method": "POST", "path": "/payments"},
//	      "expect": {"allow": false, "reason": "peer_mismatch"}
//	    }
//	  ]
//	}
//
// The top level holds "cases", a non-empty array, and optionally "now".
// Each case has:
//
//   - "name": required and unique in the file.
//   - "now": optional RFC 3339 time the case is decided at.
//   - "principal": the caller; omitted or null for an unauthenticated one.
//     "kind" ("workload" or "user") is required. "peer" (mTLS) and
//     "workload" (JWT-SVID) are SPIFFE IDs; "actors" is the token's act
//     chain (RFC 8693 §4.1), an array of actor subjects nearest first: the
//     current actor, which a rule's "actors" matches, then the prior ones
//     (at most tokens.MaxActorDepth); "subject", "client_id" and
//     "acr" are strings; "scopes", "roles", "groups" and "amr" are arrays of
//     strings; "auth_time" is RFC 3339 or a signed offset from the case's
//     now ("-5m"); "binding", what the token is bound to, is "none" (the
//     default), "dpop" or "mtls", as [authn.Binding] names them (a rule's
//     requirement, authz.BindingRequirement, is written "any", "dpop",
//     "mtls" or "bound"; "any" and "bound" are refused here).
//     The principal's methods follow from these: mTLS with a peer,
//     JWT-SVID with a workload, DPoP with a dpop binding, Bearer with any
//     other token field.
//   - "request": {"method", "path"} for HTTP, or {"grpc_method"}.
//   - "expect": "allow" (true or false) is required; "reason" and "rule",
//     when set, must equal the decision's reason and rule ID.
//
// Keys are case-sensitive; unknown and duplicate keys are errors. Errors are
// [*CasesError] values giving the line, the case and the field; all match
// [ErrInvalidCases].
func ParseCases(name string, data []byte, now time.Time) ([]FileCase, error) {
	if now.IsZero() {
		return nil, &CasesError{File: name, Index: -1, Err: errors.New("no reference time: now is zero")}
	}
	p := &fileParser{name: name, data: data}
	return p.parse(now.Round(0).UTC())
}

// RunCases checks cases against policy p as subtests of t, as [Run] does,
// deciding each at its [FileCase.Now]: it compiles p with opts and a clock
// that it sets to each case's time in turn, so that clock overrides any
// [authz.WithClock] in opts. An invalid policy fails t. Cases are run one
// after the other, never in parallel.
//
//	func TestPolicy(t *testing.T) {
//		p, err := authz.LoadFile("authz.json")
//		require.NoError(t, err)
//		cases, err := authztest.LoadCases("testdata/authz_cases.json", time.Now())
//		require.NoError(t, err)
//		authztest.RunCases(t, p, cases)
//	}
func RunCases(t *testing.T, p authz.Policy, cases []FileCase, opts ...authz.Option) {
	t.Helper()
	var now time.Time
	eng, err := authz.New(p, append(opts[:len(opts):len(opts)], authz.WithClock(func() time.Time { return now }))...)
	if err != nil {
		t.Fatalf("authztest: %v", err)
	}
	for _, c := range cases {
		now = c.Now
		Run(t, eng, []Case{c.Case})
	}
}

// locError is a problem at an offset of the file, before it is tied to a case.
type locError struct {
	off   int64
	field string
	err   error
}

func (e *locError) Error() string { return e.err.Error() }

var errUnknownKey = errors.New("unknown key")

type fileParser struct {
	name string
	data []byte
}

type rawCase struct {
	start int64
	raw   []byte
}

func (f *fileParser) line(off int64) int { return srcloc.Line(f.data, off) }

func (f *fileParser) fileErr(off int64, field string, err error) error {
	return &CasesError{File: f.name, Line: f.line(off), Index: -1, Field: field, Err: err}
}

func jsonErr(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "json: "))
}

func (f *fileParser) parse(now time.Time) ([]FileCase, error) {
	dec := json.NewDecoder(bytes.NewReader(f.data))
	syntaxErr := func(err error) error {
		off := dec.InputOffset()
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = se.Offset
		}
		if errors.Is(err, io.EOF) {
			err = errors.New("unexpected end of input")
		}
		return f.fileErr(off, "", jsonErr(err))
	}
	tok, err := dec.Token()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, syntaxErr(err)
	}
	if tok != json.Delim('{') {
		return nil, f.fileErr(dec.InputOffset(), "", errors.New("want a JSON object"))
	}
	var (
		raws    []rawCase
		fileNow = now
		seen    = map[string]bool{}
		hasList bool
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxErr(err)
		}
		key, _ := tok.(string)
		off := dec.InputOffset()
		if seen[key] {
			return nil, f.fileErr(off, key, errors.New("duplicate key"))
		}
		seen[key] = true
		switch key {
		case "now":
			var s string
			if err := dec.Decode(&s); err != nil {
				return nil, f.fileErr(off, key, jsonErr(err))
			}
			if fileNow, err = parseTime(s); err != nil {
				return nil, f.fileErr(off, key, err)
			}
		case "cases":
			hasList = true
			if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
				if err != nil {
					return nil, syntaxErr(err)
				}
				return nil, f.fileErr(off, key, errors.New("want an array"))
			}
			for dec.More() {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return nil, syntaxErr(err)
				}
				end := dec.InputOffset()
				raws = append(raws, rawCase{start: end - int64(len(raw)), raw: raw})
			}
			if _, err := dec.Token(); err != nil { // ]
				return nil, syntaxErr(err)
			}
		default:
			return nil, f.fileErr(off, key, errUnknownKey)
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, syntaxErr(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, f.fileErr(dec.InputOffset(), "", errors.New("data after the top-level object"))
	}
	if !hasList || len(raws) == 0 {
		return nil, f.fileErr(int64(len(f.data)), "cases", errors.New("no cases: a table must test something"))
	}

	cases := make([]FileCase, 0, len(raws))
	names := make(map[string]int, len(raws))
	for i, rc := range raws {
		c, err := f.parseCase(rc, fileNow)
		if err != nil {
			return nil, f.caseErr(i, rc, err)
		}
		if first, dup := names[c.Name]; dup {
			return nil, f.caseErr(i, rc, &locError{off: rc.start, field: "name", err: fmt.Errorf("duplicate case name, first at line %d", first)})
		}
		names[c.Name] = c.Line
		cases = append(cases, c)
	}
	return cases, nil
}

// caseErr ties err to case i, naming it by a lenient read of its "name".
func (f *fileParser) caseErr(i int, rc rawCase, err error) error {
	var named struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(rc.raw, &named) // best effort: the name is for the message only
	ce := &CasesError{File: f.name, Line: f.line(rc.start), Index: i, Case: named.Name, Err: err}
	var le *locError
	if errors.As(err, &le) {
		ce.Line, ce.Field, ce.Err = f.line(le.off), le.field, le.err
	}
	return ce
}

// caseParser walks one case with a decoder over its raw bytes; base is the
// offset of those bytes in the file.
type caseParser struct {
	dec  *json.Decoder
	base int64
}

func (c *caseParser) off() int64 { return c.base + c.dec.InputOffset() }

// object reads the keys of an object whose '{' has been read, calling f for
// each with its dotted field name. f decodes the value; errors are located
// at the key unless f located them itself.
func (c *caseParser) object(path string, f func(key, field string) error) error {
	seen := map[string]bool{}
	for c.dec.More() {
		tok, err := c.dec.Token()
		if err != nil {
			return &locError{off: c.off(), field: path, err: jsonErr(err)}
		}
		key, _ := tok.(string)
		off := c.off()
		field := key
		if path != "" {
			field = path + "." + key
		}
		if seen[key] {
			return &locError{off: off, field: field, err: errors.New("duplicate key")}
		}
		seen[key] = true
		if err := f(key, field); err != nil {
			var le *locError
			if errors.As(err, &le) {
				return err
			}
			return &locError{off: off, field: field, err: err}
		}
	}
	_, err := c.dec.Token() // }
	return err
}

// open reads the next token, which must start an object; null reports false.
func (c *caseParser) open(nullable bool) (bool, error) {
	tok, err := c.dec.Token()
	if err != nil {
		return false, jsonErr(err)
	}
	if tok == nil && nullable {
		return false, nil
	}
	if tok != json.Delim('{') {
		if tok == json.Delim('[') {
			return false, errors.New("want an object, not an array")
		}
		return false, errors.New("want an object")
	}
	return true, nil
}

func (c *caseParser) str(s *string) error {
	if err := c.dec.Decode(s); err != nil {
		return jsonErr(err)
	}
	return nil
}

func (c *caseParser) nonEmpty(s *string) error {
	if err := c.str(s); err != nil {
		return err
	}
	if *s == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func (c *caseParser) list(l *[]string) error {
	if err := c.dec.Decode(l); err != nil {
		return jsonErr(err)
	}
	for i, s := range *l {
		if s == "" {
			return fmt.Errorf("element %d is empty", i)
		}
	}
	if len(*l) == 0 {
		*l = nil
	}
	return nil
}

// actors reads the actor chain, an array of subjects nearest first (the
// current actor, then the prior ones), as the token's nested act claims
// (RFC 8693 §4.1) hold them; an empty array is no act claim.
func (c *caseParser) actors(a **tokens.Actor) error {
	var subs []string
	if err := c.list(&subs); err != nil {
		return err
	}
	if len(subs) > tokens.MaxActorDepth {
		return fmt.Errorf("more than %d actors", tokens.MaxActorDepth)
	}
	*a = nil
	for i := len(subs) - 1; i >= 0; i-- {
		*a = &tokens.Actor{Subject: subs[i], Actor: *a}
	}
	return nil
}

func (c *caseParser) id(id *spiffeid.ID) error {
	var s string
	if err := c.str(&s); err != nil {
		return err
	}
	v, err := spiffeid.FromString(s)
	if err != nil {
		return fmt.Errorf("want a SPIFFE ID: %w", err)
	}
	*id = v
	return nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("want an RFC 3339 time such as 2025-06-01T12:00:00Z")
	}
	return inRange(t.UTC())
}

// inRange refuses times whose UTC year RFC 3339 cannot write.
func inRange(t time.Time) (time.Time, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, errors.New("time out of range: the UTC year must be 0000 to 9999")
	}
	return t, nil
}

func (f *fileParser) parseCase(rc rawCase, fileNow time.Time) (FileCase, error) {
	c := &caseParser{dec: json.NewDecoder(bytes.NewReader(rc.raw)), base: rc.start}
	fc := FileCase{File: f.name, Line: f.line(rc.start), Now: fileNow}
	if ok, err := c.open(false); !ok {
		return fc, &locError{off: rc.start, err: err}
	}
	var (
		hasName, hasRequest, hasExpect bool
		authTime                       string
		authTimeOff                    int64
	)
	err := c.object("", func(key, field string) error {
		switch key {
		case "name":
			hasName = true
			return c.nonEmpty(&fc.Name)
		case "now":
			var s string
			if err := c.str(&s); err != nil {
				return err
			}
			t, err := parseTime(s)
			fc.Now = t
			return err
		case "principal":
			start := c.off()
			ok, err := c.open(true)
			if !ok {
				return err
			}
			p, at, atOff, err := c.principal(start)
			fc.Principal, authTime, authTimeOff = p, at, atOff
			return err
		case "request":
			hasRequest = true
			start := c.off()
			if ok, err := c.open(false); !ok {
				return err
			}
			return c.request(start, &fc.Request)
		case "expect":
			hasExpect = true
			start := c.off()
			if ok, err := c.open(false); !ok {
				return err
			}
			return c.expect(start, &fc.Case)
		}
		return errUnknownKey
	})
	switch {
	case err != nil:
		return fc, err
	case !hasName:
		return fc, &locError{off: rc.start, field: "name", err: errors.New("required")}
	case !hasRequest:
		return fc, &locError{off: rc.start, field: "request", err: errors.New("required")}
	case !hasExpect:
		return fc, &locError{off: rc.start, field: "expect", err: errors.New("required")}
	}
	if authTime != "" {
		t, err := resolveTime(authTime, fc.Now)
		if err != nil {
			return fc, &locError{off: authTimeOff, field: "principal.auth_time", err: err}
		}
		fc.Principal.AuthTime = t
	}
	return fc, nil
}

// resolveTime reads an RFC 3339 time or a signed offset from now.
func resolveTime(s string, now time.Time) (time.Time, error) {
	if s[0] == '-' || s[0] == '+' {
		d, err := time.ParseDuration(s)
		if err != nil {
			return time.Time{}, errors.New(`want a signed offset such as "-5m" or an RFC 3339 time`)
		}
		return inRange(now.Add(d))
	}
	return parseTime(s)
}

// principal reads the keys of a principal object that starts at offset
// start. auth_time is returned unresolved with its offset, because the
// case's "now" may come later.
func (c *caseParser) principal(start int64) (p *authn.Principal, authTime string, authTimeOff int64, err error) {
	p = &authn.Principal{}
	var kind, binding string
	var hasKind bool
	err = c.object("principal", func(key, _ string) error {
		switch key {
		case "kind":
			hasKind = true
			return c.str(&kind)
		case "peer":
			return c.id(&p.Peer)
		case "workload":
			return c.id(&p.Workload)
		case "actors":
			return c.actors(&p.Actor)
		case "subject":
			return c.nonEmpty(&p.Subject)
		case "client_id":
			return c.nonEmpty(&p.ClientID)
		case "scopes":
			return c.list(&p.Scopes)
		case "roles":
			return c.list(&p.Roles)
		case "groups":
			return c.list(&p.Groups)
		case "acr":
			return c.nonEmpty(&p.ACR)
		case "amr":
			return c.list(&p.AMR)
		case "auth_time":
			authTimeOff = c.off()
			return c.nonEmpty(&authTime)
		case "binding":
			return c.str(&binding)
		}
		return errUnknownKey
	})
	if err != nil {
		return nil, "", 0, err
	}
	switch {
	case !hasKind:
		return nil, "", 0, &locError{off: start, field: "principal.kind", err: errors.New(`required: "workload" or "user"`)}
	case kind == "workload":
		p.Kind = authn.WorkloadKind
	case kind == "user":
		p.Kind = authn.UserKind
	default:
		return nil, "", 0, &locError{off: start, field: "principal.kind", err: fmt.Errorf(`%q: want "workload" or "user"`, kind)}
	}
	switch binding {
	case "", "none":
		p.Binding = authn.NoBinding
	case "dpop":
		p.Binding = authn.BoundToDPoPKey
	case "mtls":
		p.Binding = authn.BoundToCertificate
	case "unbound":
		return nil, "", 0, &locError{off: start, field: "principal.binding", err: fmt.Errorf(`%q: write "none" for a token bound to nothing`, binding)}
	case "any", "bound":
		return nil, "", 0, &locError{off: start, field: "principal.binding", err: fmt.Errorf(`%q is what a rule requires, not what a token is bound to: want "none", "dpop" or "mtls"`, binding)}
	default:
		return nil, "", 0, &locError{off: start, field: "principal.binding", err: fmt.Errorf(`%q: want "none", "dpop" or "mtls"`, binding)}
	}
	if !p.Peer.IsZero() {
		p.Methods |= authn.MethodMTLS
	}
	if !p.Workload.IsZero() {
		p.Methods |= authn.MethodJWTSVID
	}
	hasToken := p.Subject != "" || p.ClientID != "" || p.ACR != "" || authTime != "" || p.Actor != nil ||
		p.Scopes != nil || p.Roles != nil || p.Groups != nil || p.AMR != nil
	switch {
	case p.Binding == authn.BoundToDPoPKey:
		p.Methods |= authn.MethodDPoP
	case hasToken || p.Binding == authn.BoundToCertificate:
		p.Methods |= authn.MethodBearer
	}
	return p, authTime, authTimeOff, nil
}

func (c *caseParser) request(start int64, r *authz.Request) error {
	err := c.object("request", func(key, _ string) error {
		switch key {
		case "method":
			return c.nonEmpty(&r.Method)
		case "path":
			return c.nonEmpty(&r.Path)
		case "grpc_method":
			return c.nonEmpty(&r.GRPCMethod)
		}
		return errUnknownKey
	})
	if err != nil {
		return err
	}
	bad := func(msg string) error { return &locError{off: start, field: "request", err: errors.New(msg)} }
	switch {
	case r.GRPCMethod != "" && (r.Method != "" || r.Path != ""):
		return bad("give method and path, or grpc_method, not both")
	case r.GRPCMethod != "" && r.GRPCMethod[0] != '/':
		return bad(`grpc_method must be a full method such as "/shop.Payments/Charge"`)
	case r.GRPCMethod != "":
		return nil
	case r.Method == "" || r.Path == "":
		return bad("want method and path, or grpc_method")
	case r.Path[0] != '/':
		return bad(`path must start with "/"`)
	}
	return nil
}

func (c *caseParser) expect(start int64, tc *Case) error {
	var allow *bool
	err := c.object("expect", func(key, _ string) error {
		switch key {
		case "allow":
			if err := c.dec.Decode(&allow); err != nil {
				return jsonErr(err)
			}
			if allow == nil {
				return errors.New("want true or false")
			}
			return nil
		case "reason":
			var s string
			err := c.nonEmpty(&s)
			tc.Reason = authz.Reason(s)
			return err
		case "rule":
			return c.nonEmpty(&tc.RuleID)
		}
		return errUnknownKey
	})
	if err != nil {
		return err
	}
	if allow == nil {
		return &locError{off: start, field: "expect.allow", err: errors.New("required: true or false")}
	}
	tc.Allow = *allow
	return nil
}
