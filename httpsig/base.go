package httpsig

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/dunglas/httpsfv"
)

// Limits on what a message may make this package parse or hold.
const (
	// maxFieldSize bounds the combined value of Signature-Input and of
	// Signature, and of any field a component covers.
	maxFieldSize = 16 << 10
	// maxSignatures bounds the number of labels in Signature-Input and
	// Signature.
	maxSignatures = 16
	// maxComponents bounds the covered components of one signature.
	maxComponents = 64
	// maxComponentLen bounds one component identifier.
	maxComponentLen = 512
	// maxParamLen bounds the keyid, nonce, tag and alg values.
	maxParamLen = 512
	// maxBaseInput bounds what the signature bases of one verification,
	// all its signatures together, read from the message: the field lines
	// of each covered field (parsed again for each sf or key parameter),
	// the query for each @query-param, the value of each other derived
	// component. Without it, sixteen signatures of sixty-four components
	// could each parse one 16 KiB field again.
	maxBaseInput = 4 * maxFieldSize
)

// errComponent is what building a signature base fails with when the message
// does not have a covered component. It matches ErrInvalid on the verifier's
// side (the message is not the one that was signed); the signer wraps it
// differently.
var errComponent = errors.New("httpsig: covered component absent or unusable")

// errBaseInput is what building a signature base fails with when the
// verification has read maxBaseInput bytes of the message. It matches
// ErrMalformed on the verifier's side.
var errBaseInput = errors.New("httpsig: signatures cover more of the message than is read to verify them")

// FieldType is the RFC 8941 type of a structured HTTP field, needed to
// re-serialize it for the sf parameter (RFC 9421 §2.1.1).
type FieldType int

// The RFC 8941 top-level types.
const (
	// FieldItem is an RFC 8941 Item.
	FieldItem FieldType = iota + 1
	// FieldList is an RFC 8941 List.
	FieldList
	// FieldDictionary is an RFC 8941 Dictionary.
	FieldDictionary
)

// knownStructuredFields are the fields whose RFC 8941 type this package
// knows without being told ([WithStructuredField]).
var knownStructuredFields = map[string]FieldType{
	"signature-input":              FieldDictionary,
	"signature":                    FieldDictionary,
	"accept-signature":             FieldDictionary,
	"content-digest":               FieldDictionary,
	"repr-digest":                  FieldDictionary,
	"want-content-digest":          FieldDictionary,
	"want-repr-digest":             FieldDictionary,
	"priority":                     FieldDictionary,
	"cdn-cache-control":            FieldDictionary,
	"cache-status":                 FieldList,
	"proxy-status":                 FieldList,
	"accept-ch":                    FieldList,
	"client-cert-chain":            FieldList,
	"client-cert":                  FieldItem,
	"cross-origin-embedder-policy": FieldItem,
	"cross-origin-opener-policy":   FieldItem,
}

// message is what the components of a signature base are read from: a
// request, or a response with the request that caused it.
type message struct {
	req      *http.Request
	status   int
	header   http.Header // of the request or of the response
	response bool
	// scheme and authority override the request's, for a server behind a
	// proxy that terminates TLS (WithExternalOrigin).
	scheme, authority string
	fields            map[string]FieldType
	// budget, when limited, is how many more bytes of the message the
	// signature bases may read (maxBaseInput for a verification).
	budget  int
	limited bool
}

// spend takes n bytes from the budget of a limited message.
func (m *message) spend(n int) error {
	if !m.limited {
		return nil
	}
	if n > m.budget {
		m.budget = 0
		return errBaseInput
	}
	m.budget -= n
	return nil
}

// build appends to dst the signature base (RFC 9421 §2.5) for components and the serialized signature
// parameters sigParams, which is the inner list with its parameters.
func (m *message) build(dst []byte, components []Component, sigParams string) ([]byte, error) {
	dst, err := m.appendComponents(dst, components)
	if err != nil {
		return nil, err
	}
	dst = append(dst, `"@signature-params": `...)
	return append(dst, sigParams...), nil
}

// appendComponents appends the lines of the signature base (RFC 9421 §2.5)
// before the @signature-params line.
func (m *message) appendComponents(dst []byte, components []Component) ([]byte, error) {
	for i := range components {
		c := &components[i]
		dst = append(dst, c.id...)
		dst = append(dst, ':', ' ')
		var err error
		dst, err = m.appendValue(dst, c)
		if err != nil {
			return nil, err
		}
		dst = append(dst, '\n')
	}
	return dst, nil
}

// appendValue appends the value of c (RFC 9421 §2.1, §2.2).
func (m *message) appendValue(dst []byte, c *Component) ([]byte, error) {
	src := m
	if c.req {
		if !m.response || m.req == nil {
			return nil, fmt.Errorf("%w: req parameter without a request", errComponent)
		}
		src = &message{req: m.req, header: m.req.Header, scheme: m.scheme, authority: m.authority, fields: m.fields}
	}
	start := len(dst)
	// What the value is made from is paid for before it is read (a field
	// may be parsed, a query scanned); the value of another derived
	// component, small, after.
	switch {
	case !c.derived():
		n := 0
		for _, l := range headerValues(src.header, c.name) {
			n += len(l) + 2
		}
		if err := m.spend(n); err != nil {
			return nil, err
		}
	case c.name == componentQueryParam && src.req != nil && src.req.URL != nil:
		if err := m.spend(len(src.req.URL.RawQuery)); err != nil {
			return nil, err
		}
	}
	var err error
	if c.derived() {
		dst, err = src.appendDerived(dst, c)
	} else {
		dst, err = src.appendField(dst, c)
	}
	if err != nil {
		return nil, err
	}
	if c.derived() && c.name != componentQueryParam {
		if err := m.spend(len(dst) - start); err != nil {
			return nil, err
		}
	}
	for _, b := range dst[start:] {
		if b == '\n' || b == '\r' {
			return nil, fmt.Errorf("%w: component value holds a line break", errComponent)
		}
	}
	return dst, nil
}

// appendDerived appends a derived component's value (RFC 9421 §2.2).
func (m *message) appendDerived(dst []byte, c *Component) ([]byte, error) {
	if c.name == componentStatus {
		if !m.response {
			return nil, fmt.Errorf("%w: @status of a request", errComponent)
		}
		if m.status < 100 || m.status > 999 {
			return nil, fmt.Errorf("%w: status code", errComponent)
		}
		return strconv.AppendInt(dst, int64(m.status), 10), nil
	}
	if m.response {
		return nil, fmt.Errorf("%w: request component in a response without req", errComponent)
	}
	r := m.req
	switch c.name {
	case componentMethod:
		return append(dst, r.Method...), nil
	case componentScheme:
		return append(dst, m.schemeOf()...), nil
	case componentAuthority:
		return append(dst, m.authorityOf()...), nil
	case componentTargetURI:
		dst = append(dst, m.schemeOf()...)
		dst = append(dst, "://"...)
		dst = append(dst, m.authorityOf()...)
		dst = appendPath(dst, r)
		if r.URL.RawQuery != "" || r.URL.ForceQuery {
			dst = append(dst, '?')
			dst = append(dst, r.URL.RawQuery...)
		}
		return dst, nil
	case componentRequestTarget:
		if r.RequestURI != "" {
			return append(dst, r.RequestURI...), nil
		}
		return append(dst, r.URL.RequestURI()...), nil
	case componentPath:
		return appendPath(dst, r), nil
	case componentQuery:
		dst = append(dst, '?')
		return append(dst, r.URL.RawQuery...), nil
	case componentQueryParam:
		v, found, dup := queryParam(r.URL.RawQuery, c.qname)
		if !found || dup {
			return nil, fmt.Errorf("%w: query parameter absent or repeated", errComponent)
		}
		return append(dst, v...), nil
	}
	return nil, fmt.Errorf("%w: unknown derived component", errComponent)
}

func appendPath(dst []byte, r *http.Request) []byte {
	p := r.URL.EscapedPath()
	if p == "" {
		return append(dst, '/')
	}
	return append(dst, p...)
}

// schemeOf is the request's scheme, lowercased (RFC 9421 §2.2.4).
func (m *message) schemeOf() string {
	switch {
	case m.scheme != "":
		return m.scheme
	case m.req.URL.Scheme != "":
		return strings.ToLower(m.req.URL.Scheme)
	case m.req.TLS != nil:
		return "https"
	default:
		return "http"
	}
}

// authorityOf is the request's authority (RFC 9421 §2.2.3): host and port
// lowercased, the default port of the scheme left out.
func (m *message) authorityOf() string {
	if m.authority != "" {
		return m.authority
	}
	a := m.req.Host
	if a == "" {
		a = m.req.URL.Host
	}
	return normalizeAuthority(m.schemeOf(), a)
}

// normalizeAuthority lowercases a and drops the scheme's default port.
func normalizeAuthority(scheme, a string) string {
	for i := 0; i < len(a); i++ {
		if c := a[i]; c >= 'A' && c <= 'Z' {
			a = strings.ToLower(a)
			break
		}
	}
	switch {
	case scheme == "https" && strings.HasSuffix(a, ":443"):
		return a[:len(a)-4]
	case scheme == "http" && strings.HasSuffix(a, ":80"):
		return a[:len(a)-3]
	}
	return a
}

// appendField appends an HTTP field's value (RFC 9421 §2.1).
func (m *message) appendField(dst []byte, c *Component) ([]byte, error) {
	lines := headerValues(m.header, c.name)
	if len(lines) == 0 && !m.response && m.req != nil {
		switch c.name {
		case "host":
			// net/http moves Host into Request.Host; a client request
			// may have it in its URL only.
			h := m.req.Host
			if h == "" {
				h = m.req.URL.Host
			}
			if h != "" {
				lines = []string{h}
			}
		case "content-length":
			// A client request's Content-Length is sent from
			// Request.ContentLength, not from its header.
			if m.req.ContentLength > 0 {
				lines = []string{strconv.FormatInt(m.req.ContentLength, 10)}
			}
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%w: covered field absent", errComponent)
	}
	size := 0
	for _, l := range lines {
		size += len(l) + 2
	}
	if size > maxFieldSize {
		return nil, fmt.Errorf("%w: covered field too large", errComponent)
	}
	switch {
	case c.bs:
		for i, l := range lines {
			if i > 0 {
				dst = append(dst, ',', ' ')
			}
			dst = append(dst, ':')
			dst = base64.StdEncoding.AppendEncode(dst, []byte(trimOWS(l)))
			dst = append(dst, ':')
		}
		return dst, nil
	case c.hasKey:
		d, err := httpsfv.UnmarshalDictionary(lines)
		if err != nil {
			return nil, fmt.Errorf("%w: covered field is not a dictionary", errComponent)
		}
		mem, ok := d.Get(c.key)
		if !ok {
			return nil, fmt.Errorf("%w: dictionary member absent", errComponent)
		}
		var s string
		switch v := mem.(type) {
		case httpsfv.Item:
			s, err = httpsfv.Marshal(v)
		case httpsfv.InnerList:
			s, err = httpsfv.Marshal(httpsfv.List{v})
		default:
			err = errComponent
		}
		if err != nil {
			return nil, fmt.Errorf("%w: dictionary member cannot be serialized", errComponent)
		}
		return append(dst, s...), nil
	case c.sf:
		t, ok := m.fields[c.name]
		if !ok {
			t, ok = knownStructuredFields[c.name]
		}
		if !ok {
			return nil, fmt.Errorf("%w: sf on a field of unknown structured type", errComponent)
		}
		var v httpsfv.StructuredFieldValue
		var err error
		switch t {
		case FieldItem:
			v, err = httpsfv.UnmarshalItem(lines)
		case FieldList:
			v, err = httpsfv.UnmarshalList(lines)
		default:
			v, err = httpsfv.UnmarshalDictionary(lines)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: covered field is not a structured field of its type", errComponent)
		}
		s, err := httpsfv.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%w: covered field cannot be serialized", errComponent)
		}
		return append(dst, s...), nil
	}
	for i, l := range lines {
		if i > 0 {
			dst = append(dst, ',', ' ')
		}
		dst = append(dst, trimOWS(l)...)
	}
	return dst, nil
}

// headerValues is h.Values(name) for a lowercase field name, without
// allocating the canonical key for a name of usual length.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) || !validFieldName(name) {
		return h.Values(name)
	}
	// textproto.CanonicalMIMEHeaderKey of a token: upper case at the start
	// and after each "-", lower case elsewhere.
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case upper && c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case !upper && c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[i] = c
		upper = c == '-'
	}
	return h[string(buf[:len(name)])]
}

// trimOWS strips leading and trailing spaces and tabs (RFC 9110 §5.5).
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
