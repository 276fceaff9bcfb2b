package sts

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Limits of a token request.
const (
	// DefaultMaxBodySize bounds a token request's body: room for a subject
	// token, an actor token and a client assertion of the sizes the
	// verifiers accept.
	DefaultMaxBodySize = 64 << 10
	// maxParameters bounds the number of parameters in one request.
	maxParameters = 64
	// maxTargets bounds the audience and resource values of one request.
	maxTargets = 16
)

// multiValued are the parameters that may appear more than once: audience
// (RFC 8693 §2.1) and resource (RFC 8693 §2.1, RFC 8707 §2). Every other
// parameter "MUST NOT be included more than once" (RFC 6749 §3.1, §3.2).
var multiValued = map[string]bool{"audience": true, "resource": true}

// errForm is a request body that is not a strict application/x-www-form-urlencoded form.
var errForm = errors.New("sts: malformed form")

// errDuplicate is a parameter repeated where RFC 6749 §3.1 forbids it.
var errDuplicate = errors.New("sts: parameter included more than once")

// form is a parsed token request: one value per single-valued parameter,
// every value of audience and resource in order.
type form map[string][]string

// get returns the value of a single-valued parameter, "" when absent.
func (f form) get(name string) string {
	if v := f[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// has reports whether the parameter was sent with a value.
func (f form) has(name string) bool { return len(f[name]) > 0 }

// parseForm reads body, an application/x-www-form-urlencoded token request
// (RFC 6749 §3.2, Appendix B), strictly: pairs separated by '&' (a raw ';'
// is refused), each
// "name=value" with a non-empty name, percent-encoding and '+' decoded,
// names and values valid UTF-8 without control characters. A parameter
// sent without a value is treated as omitted (RFC 6749 §3.1). A parameter
// other than audience and resource given twice, even with an empty value,
// fails with errDuplicate;
// anything else malformed with errForm. The errors never quote the body.
func parseForm(body string) (form, error) {
	f := form{}
	if body == "" {
		return f, nil
	}
	n := 0
	seen := map[string]bool{}
	for pair := range strings.SplitSeq(body, "&") {
		n++
		if n > maxParameters {
			return nil, fmt.Errorf("%w: more than %d parameters", errForm, maxParameters)
		}
		rawName, rawValue, ok := strings.Cut(pair, "=")
		// A raw ';' is a separator to some parsers (and refused by
		// net/url): refuse it so that no two readers see different forms.
		if !ok || rawName == "" || strings.Contains(pair, ";") {
			return nil, fmt.Errorf("%w: a parameter is not name=value", errForm)
		}
		name, err1 := url.QueryUnescape(rawName)
		value, err2 := url.QueryUnescape(rawValue)
		if err1 != nil || err2 != nil || !clean(name) || !clean(value) || name == "" {
			return nil, fmt.Errorf("%w: a parameter is not valid form-urlencoded UTF-8 text", errForm)
		}
		if !multiValued[name] {
			// Included once (RFC 6749 §3.1), also when an occurrence is
			// empty: a reader taking the first value would see another form.
			if seen[name] {
				return nil, fmt.Errorf("%w: %s", errDuplicate, safeName(name))
			}
			seen[name] = true
		}
		if value == "" {
			continue // RFC 6749 §3.1: as if omitted.
		}
		f[name] = append(f[name], value)
	}
	if len(f["audience"])+len(f["resource"]) > maxTargets {
		return nil, fmt.Errorf("%w: more than %d audience and resource values", errForm, maxTargets)
	}
	return f, nil
}

// clean reports whether s is valid UTF-8 without control characters.
func clean(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// safeName returns name for an error message when it is one of the
// parameters of a token request, and "a parameter" otherwise, so that
// nothing a client chose appears in logs.
func safeName(name string) string {
	switch name {
	case "grant_type", "scope", "client_id", "client_assertion", "client_assertion_type",
		"subject_token", "subject_token_type", "actor_token", "actor_token_type",
		"requested_token_type", "audience", "resource", "acr_values", "max_age", "otp":
		return name
	}
	return "a parameter"
}

// readRequest checks the request line and headers of a token request and
// parses its body (RFC 6749 §3.2: POST, application/x-www-form-urlencoded;
// no parameters in the query, where credentials would be logged).
func readRequest(w http.ResponseWriter, r *http.Request, maxBody int64) (form, *refusal) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, &refusal{status: http.StatusMethodNotAllowed, code: errInvalidRequest, reason: reasonMethod,
			description: "the token endpoint accepts POST only"}
	}
	if r.URL != nil && r.URL.RawQuery != "" {
		return nil, badRequest(errInvalidRequest, reasonQueryParameters, "parameters must be sent in the request body, not the query", nil)
	}
	ct := r.Header.Values("Content-Type")
	if len(ct) != 1 {
		return nil, badRequest(errInvalidRequest, reasonContentType, "content type must be application/x-www-form-urlencoded", nil)
	}
	mt, params, err := mime.ParseMediaType(ct[0])
	if err != nil || mt != "application/x-www-form-urlencoded" || !charsetUTF8(params) {
		return nil, badRequest(errInvalidRequest, reasonContentType, "content type must be application/x-www-form-urlencoded", nil)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &refusal{status: http.StatusRequestEntityTooLarge, code: errInvalidRequest, reason: reasonBodyTooLarge,
				description: "request body too large"}
		}
		return nil, badRequest(errInvalidRequest, reasonMalformedForm, "request body could not be read", err)
	}
	f, err := parseForm(string(body))
	switch {
	case errors.Is(err, errDuplicate):
		return nil, badRequest(errInvalidRequest, reasonDuplicateParameter, "a parameter is included more than once", err)
	case err != nil:
		return nil, badRequest(errInvalidRequest, reasonMalformedForm, "request body is not a valid form", err)
	}
	return f, nil
}

// charsetUTF8 accepts no parameters or a charset of UTF-8 alone.
func charsetUTF8(params map[string]string) bool {
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}
