package httpsig

import (
	"fmt"
	"strings"

	"github.com/dunglas/httpsfv"
)

// Derived component names (RFC 9421 §2.2).
const (
	componentMethod        = "@method"
	componentTargetURI     = "@target-uri"
	componentAuthority     = "@authority"
	componentScheme        = "@scheme"
	componentRequestTarget = "@request-target"
	componentPath          = "@path"
	componentQuery         = "@query"
	componentQueryParam    = "@query-param"
	componentStatus        = "@status"
	componentSigParams     = "@signature-params"
)

// Component identifies one covered component of a signature (RFC 9421 §2):
// an HTTP field, by its lowercased name, or a derived component such as
// @method, with the parameters that change how its value is taken (sf, key,
// bs, req, and name for @query-param).
//
// Build one with [Field], [Derived] or [QueryParam] and the methods that add
// parameters, or parse one with [ParseComponent]. The zero value is not a
// component. Components are values: the methods return modified copies.
type Component struct {
	name  string // lowercased field name or derived component name
	key   string // key parameter (sf dictionary member), when hasKey
	qname string // name parameter of @query-param
	// hasKey tells key="" apart from no key.
	hasKey, sf, bs, req bool
	// id is the serialized component identifier (RFC 9421 §2, §2.5): as
	// received when parsed (canonical RFC 8941 serialization), built in a
	// fixed parameter order otherwise.
	id string
}

// Field returns the component of the HTTP field name (RFC 9421 §2.1). The
// name is lowercased.
func Field(name string) Component {
	return Component{name: strings.ToLower(name)}.serialize()
}

// Derived returns the derived component name (RFC 9421 §2.2), such as
// "@method", "@authority", "@path", "@query", "@target-uri", "@scheme",
// "@request-target" or "@status". @query-param takes a name: use [QueryParam].
func Derived(name string) Component {
	return Component{name: name}.serialize()
}

// QueryParam returns the @query-param component for the query parameter
// name (RFC 9421 §2.2.8). name is given as it appears in the query, encoded
// or not: it is decoded and re-encoded as §2.2.8 requires.
func QueryParam(name string) Component {
	return Component{name: componentQueryParam, qname: encodeQueryPart(decodeQueryPart(name))}.serialize()
}

// SF returns c with the sf parameter: the field's value is parsed as a
// structured field and serialized again (RFC 9421 §2.1.1).
func (c Component) SF() Component { c.sf = true; return c.serialize() }

// Key returns c with the key parameter: the value is the member key of the
// field, parsed as a structured dictionary (RFC 9421 §2.1.2).
func (c Component) Key(key string) Component {
	c.key, c.hasKey = key, true
	return c.serialize()
}

// BS returns c with the bs parameter: each field line is wrapped as a byte
// sequence (RFC 9421 §2.1.3).
func (c Component) BS() Component { c.bs = true; return c.serialize() }

// Req returns c with the req parameter: in a response's signature, the
// component is taken from the request that caused the response (RFC 9421
// §2.4).
func (c Component) Req() Component { c.req = true; return c.serialize() }

// Name returns the component name: a lowercased field name or a derived
// component name starting with "@".
func (c Component) Name() string { return c.name }

// String returns the serialized component identifier, as it appears in
// Signature-Input and in the signature base: for example "@method" or
// "content-digest";sf, quotes included.
func (c Component) String() string { return c.id }

// derived reports whether c is a derived component.
func (c Component) derived() bool { return strings.HasPrefix(c.name, "@") }

// serialize sets c.id in the order name, sf, key, bs, req.
func (c Component) serialize() Component {
	var b strings.Builder
	writeSFString(&b, c.name)
	if c.qname != "" || c.name == componentQueryParam {
		b.WriteString(";name=")
		writeSFString(&b, c.qname)
	}
	if c.sf {
		b.WriteString(";sf")
	}
	if c.hasKey {
		b.WriteString(";key=")
		writeSFString(&b, c.key)
	}
	if c.bs {
		b.WriteString(";bs")
	}
	if c.req {
		b.WriteString(";req")
	}
	c.id = b.String()
	return c
}

// writeSFString writes s as an RFC 8941 sf-string. Callers check s is
// printable ASCII (validate); anything else is written escaped the same way
// so that the result never breaks the field syntax.
func writeSFString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
}

// ParseComponent parses one component identifier as it appears in
// Signature-Input (RFC 9421 §2): an sf-string with parameters, such as
// "@method", "content-digest";sf or "@query-param";name="Pet". It returns an
// error matching [ErrMalformed] when the identifier is not valid.
func ParseComponent(s string) (Component, error) {
	if len(s) > maxComponentLen {
		return Component{}, fmt.Errorf("%w: component identifier too long", ErrMalformed)
	}
	it, err := httpsfv.UnmarshalItem([]string{s})
	if err != nil {
		return Component{}, fmt.Errorf("%w: component identifier: not an RFC 8941 item", ErrMalformed)
	}
	return componentFromItem(it)
}

// componentFromItem checks one component identifier httpsfv parsed.
func componentFromItem(it httpsfv.Item) (Component, error) {
	c := sfItemOf(it)
	var scratch []byte
	return componentFromSF(&c, &scratch)
}

// componentFromSF checks one inner-list item of Signature-Input. scratch is
// a buffer it may reuse.
func componentFromSF(it *sfItem, scratch *[]byte) (Component, error) {
	if it.v.kind != sfString {
		return Component{}, fmt.Errorf("%w: component identifier is not a string", ErrMalformed)
	}
	name := it.v.s
	if name == "" || len(name) > maxComponentLen {
		return Component{}, fmt.Errorf("%w: component name empty or too long", ErrMalformed)
	}
	c := Component{name: name}
	for i := range it.params {
		p, v := it.params[i].key, it.params[i].v
		switch p {
		case "sf", "bs", "req":
			if v.kind != sfBool || !v.b {
				return Component{}, fmt.Errorf("%w: component parameter %s must be true", ErrMalformed, p)
			}
			switch p {
			case "sf":
				c.sf = true
			case "bs":
				c.bs = true
			default:
				c.req = true
			}
		case "key":
			if v.kind != sfString {
				return Component{}, fmt.Errorf("%w: component parameter key must be a string", ErrMalformed)
			}
			c.key, c.hasKey = v.s, true
		case "name":
			if v.kind != sfString || v.s == "" {
				return Component{}, fmt.Errorf("%w: component parameter name must be a non-empty string", ErrMalformed)
			}
			c.qname = v.s
		default:
			// tr (trailers) and any parameter this package does not
			// implement: refusing is the only safe answer, since the
			// parameter changes what the value is.
			return Component{}, fmt.Errorf("%w: unsupported component parameter", ErrMalformed)
		}
	}
	if err := c.validate(); err != nil {
		return Component{}, err
	}
	// The identifier as RFC 8941 serializes it, parameters in the order
	// received (every accepted parameter is a true boolean or a string):
	// the item as received when that is already its serialization.
	b := append((*scratch)[:0], '"')
	for i := 0; i < len(name); i++ {
		if name[i] == '"' || name[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, name[i])
	}
	b = append(b, '"')
	for i := range it.params {
		b = append(b, ';')
		b = append(b, it.params[i].key...)
		if v := it.params[i].v; v.kind == sfString {
			b = append(b, '=')
			b, _ = appendSFBare(b, v)
		}
	}
	if string(b) == it.raw {
		c.id = it.raw
	} else {
		c.id = string(b)
	}
	*scratch = b
	return c, nil
}

// validate checks the rules that do not depend on the message.
func (c Component) validate() error {
	if c.name == "" {
		return fmt.Errorf("%w: empty component", ErrMalformed)
	}
	for i := 0; i < len(c.name); i++ {
		if ch := c.name[i]; ch <= ' ' || ch >= 0x7f || (ch >= 'A' && ch <= 'Z') {
			return fmt.Errorf("%w: component name must be lowercase visible ASCII", ErrMalformed)
		}
	}
	if c.hasKey && !printableASCII(c.key) {
		return fmt.Errorf("%w: key parameter must be visible ASCII", ErrMalformed)
	}
	if !c.derived() {
		if !validFieldName(c.name) {
			return fmt.Errorf("%w: component is not a field name", ErrMalformed)
		}
		if c.qname != "" {
			return fmt.Errorf("%w: name parameter on a field", ErrMalformed)
		}
		if c.bs && (c.sf || c.hasKey) {
			return fmt.Errorf("%w: bs cannot be combined with sf or key", ErrMalformed)
		}
		return nil
	}
	if c.sf || c.hasKey || c.bs {
		return fmt.Errorf("%w: sf, key and bs apply to fields only", ErrMalformed)
	}
	switch c.name {
	case componentMethod, componentTargetURI, componentAuthority, componentScheme,
		componentRequestTarget, componentPath, componentQuery, componentStatus:
		if c.qname != "" {
			return fmt.Errorf("%w: name parameter on %s", ErrMalformed, c.name)
		}
	case componentQueryParam:
		if c.qname == "" {
			return fmt.Errorf("%w: @query-param without a name", ErrMalformed)
		}
	default:
		// @signature-params cannot be covered (§2.3); other names are unknown.
		return fmt.Errorf("%w: unknown derived component", ErrMalformed)
	}
	if c.name == componentStatus && c.req {
		return fmt.Errorf("%w: @status of a request", ErrMalformed)
	}
	return nil
}

// validFieldName reports whether s is an RFC 9110 token (a field name).
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

func isTchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// printableASCII reports whether s holds only the characters an sf-string can.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
