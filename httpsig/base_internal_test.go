package httpsig

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func serverRequest(t *testing.T, text string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(text)))
	require.NoError(t, err)
	return r
}

// componentLine returns `<identifier>: <value>` as in a signature base.
func componentLine(t *testing.T, m *message, id string) (string, error) {
	t.Helper()
	c, err := ParseComponent(id)
	require.NoError(t, err)
	if err := checkComponentFor(&c, m.response); err != nil {
		return "", err
	}
	b, err := m.build(nil, []Component{c}, "()")
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return line, nil
}

// RFC 9421 §2.1 and §2.1.1-§2.1.3: HTTP fields.
func TestFieldValuesRFC9421Section21(t *testing.T) {
	r := serverRequest(t, "GET /foo HTTP/1.1\r\n"+
		"Host: www.example.com\r\n"+
		"Date: Tue, 20 Apr 2021 02:07:56 GMT\r\n"+
		"X-OWS-Header:   Leading and trailing whitespace.   \r\n"+
		"X-Obs-Fold-Header: Obsolete\r\n    line folding.\r\n"+
		"Cache-Control: max-age=60\r\n"+
		"Cache-Control:    must-revalidate\r\n"+
		"Example-Dict:  a=1,    b=2;x=1;y=2,   c=(a   b   c)\r\n"+
		"X-Empty-Header: \r\n"+
		"\r\n")
	m := &message{req: r, header: r.Header, fields: map[string]FieldType{"example-dict": FieldDictionary}}
	tests := []struct{ id, want string }{
		{`"host"`, `"host": www.example.com`},
		{`"date"`, `"date": Tue, 20 Apr 2021 02:07:56 GMT`},
		{`"x-ows-header"`, `"x-ows-header": Leading and trailing whitespace.`},
		{`"x-obs-fold-header"`, `"x-obs-fold-header": Obsolete line folding.`},
		{`"cache-control"`, `"cache-control": max-age=60, must-revalidate`},
		{`"example-dict"`, `"example-dict": a=1,    b=2;x=1;y=2,   c=(a   b   c)`},
		{`"x-empty-header"`, `"x-empty-header": `},
		// §2.1.1
		{`"example-dict";sf`, `"example-dict";sf: a=1, b=2;x=1;y=2, c=(a b c)`},
		// §2.1.2
		{`"example-dict";key="a"`, `"example-dict";key="a": 1`},
		{`"example-dict";key="b"`, `"example-dict";key="b": 2;x=1;y=2`},
		{`"example-dict";key="c"`, `"example-dict";key="c": (a b c)`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, err := componentLine(t, m, tt.id)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	// §2.1.2: a boolean member serializes as ?1.
	r.Header.Set("Example-Dict", "a=1, b=2;x=1;y=2, c=(a b c), d")
	got, err := componentLine(t, m, `"example-dict";key="d"`)
	require.NoError(t, err)
	assert.Equal(t, `"example-dict";key="d": ?1`, got)
	_, err = componentLine(t, m, `"example-dict";key="e"`)
	assert.ErrorIs(t, err, errComponent)

	// §2.1.3: bs wraps each field line.
	r.Header["Example-Header"] = []string{"value, with, lots", "of, commas"}
	got, err = componentLine(t, m, `"example-header"`)
	require.NoError(t, err)
	assert.Equal(t, `"example-header": value, with, lots, of, commas`, got)
	got, err = componentLine(t, m, `"example-header";bs`)
	require.NoError(t, err)
	assert.Equal(t, `"example-header";bs: :dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:`, got)
	r.Header["Example-Header"] = []string{"value, with, lots, of, commas"}
	got, err = componentLine(t, m, `"example-header";bs`)
	require.NoError(t, err)
	assert.Equal(t, `"example-header";bs: :dmFsdWUsIHdpdGgsIGxvdHMsIG9mLCBjb21tYXM=:`, got)

	// sf on a field of unknown type, and an absent field.
	_, err = componentLine(t, m, `"x-ows-header";sf`)
	assert.ErrorIs(t, err, errComponent)
	_, err = componentLine(t, m, `"x-absent"`)
	assert.ErrorIs(t, err, errComponent)
}

// RFC 9421 §2.2: derived components.
func TestDerivedComponentsRFC9421Section22(t *testing.T) {
	post := serverRequest(t, "POST /path?param=value HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
	// The RFC's examples are https: the verifier is told so.
	m := &message{req: post, header: post.Header, scheme: "https"}
	tests := []struct{ id, want string }{
		{`"@method"`, `"@method": POST`},                                             // §2.2.1
		{`"@target-uri"`, `"@target-uri": https://www.example.com/path?param=value`}, // §2.2.2
		{`"@authority"`, `"@authority": www.example.com`},                            // §2.2.3
		{`"@scheme"`, `"@scheme": https`},                                            // §2.2.4
		{`"@request-target"`, `"@request-target": /path?param=value`},                // §2.2.5
		{`"@path"`, `"@path": /path`},                                                // §2.2.6
		{`"@query"`, `"@query": ?param=value`},                                       // §2.2.7
		{`"@query-param";name="param"`, `"@query-param";name="param": value`},        // §2.2.8
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, err := componentLine(t, m, tt.id)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	// §2.2.3: the authority is lowercased, the default port dropped.
	r := serverRequest(t, "GET / HTTP/1.1\r\nHost: WWW.Example.COM:443\r\n\r\n")
	got, err := componentLine(t, &message{req: r, header: r.Header, scheme: "https"}, `"@authority"`)
	require.NoError(t, err)
	assert.Equal(t, `"@authority": www.example.com`, got)
	got, err = componentLine(t, &message{req: r, header: r.Header}, `"@authority"`)
	require.NoError(t, err)
	assert.Equal(t, `"@authority": www.example.com:443`, got, "443 is not http's default port")

	// §2.2.7: queries.
	for text, want := range map[string]string{
		"POST /path?param=value&foo=bar&baz=batman HTTP/1.1\r\nHost: www.example.com\r\n\r\n": `"@query": ?param=value&foo=bar&baz=batman`,
		"GET /path?queryString HTTP/1.1\r\nHost: www.example.com\r\n\r\n":                     `"@query": ?queryString`,
		"GET /path HTTP/1.1\r\nHost: www.example.com\r\n\r\n":                                 `"@query": ?`,
	} {
		r := serverRequest(t, text)
		got, err := componentLine(t, &message{req: r, header: r.Header}, `"@query"`)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}

	// §2.2.8: query parameters, decoded and encoded again.
	q := serverRequest(t, "GET /path?param=value&foo=bar&baz=batman&qux= HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
	qm := &message{req: q, header: q.Header}
	for id, want := range map[string]string{
		`"@query-param";name="baz"`:   `"@query-param";name="baz": batman`,
		`"@query-param";name="qux"`:   `"@query-param";name="qux": `,
		`"@query-param";name="param"`: `"@query-param";name="param": value`,
	} {
		got, err := componentLine(t, qm, id)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	q = serverRequest(t, "GET /parameters?var=this%20is%20a%20big%0Aval&bar=with+plus+whitespace HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
	qm = &message{req: q, header: q.Header}
	got, err = componentLine(t, qm, `"@query-param";name="var"`)
	require.NoError(t, err)
	assert.Equal(t, `"@query-param";name="var": this%20is%20a%20big%0Aval`, got)
	got, err = componentLine(t, qm, `"@query-param";name="bar"`)
	require.NoError(t, err)
	assert.Equal(t, `"@query-param";name="bar": with%20plus%20whitespace`, got)
	q = serverRequest(t, "GET /parameters?fa%C3%A7ade%22%3A%20=something HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
	got, err = componentLine(t, &message{req: q, header: q.Header}, `"@query-param";name="fa%C3%A7ade%22%3A%20"`)
	require.NoError(t, err)
	assert.Equal(t, `"@query-param";name="fa%C3%A7ade%22%3A%20": something`, got)
	assert.Equal(t, `"@query-param";name="fa%C3%A7ade%22%3A%20"`, QueryParam("façade\": ").String())

	// A repeated or absent parameter cannot be covered.
	q = serverRequest(t, "GET /p?a=1&a=2 HTTP/1.1\r\nHost: x\r\n\r\n")
	_, err = componentLine(t, &message{req: q, header: q.Header}, `"@query-param";name="a"`)
	assert.ErrorIs(t, err, errComponent)
	_, err = componentLine(t, &message{req: q, header: q.Header}, `"@query-param";name="b"`)
	assert.ErrorIs(t, err, errComponent)

	// §2.2.9: @status, of responses only.
	resp := &message{status: 200, header: http.Header{}, response: true}
	got, err = componentLine(t, resp, `"@status"`)
	require.NoError(t, err)
	assert.Equal(t, `"@status": 200`, got)
	_, err = componentLine(t, m, `"@status"`)
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = componentLine(t, resp, `"@method"`)
	assert.ErrorIs(t, err, ErrMalformed)
}

// RFC 9421 §2.5: the signature base of the example request.
func TestSignatureBaseRFC9421Section25(t *testing.T) {
	r := serverRequest(t, "POST /foo?param=Value&Pet=dog HTTP/1.1\r\n"+
		"Host: example.com\r\n"+
		"Date: Tue, 20 Apr 2021 02:07:55 GMT\r\n"+
		"Content-Type: application/json\r\n"+
		"Content-Digest: sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\r\n"+
		"Content-Length: 18\r\n\r\n"+`{"hello": "world"}`)
	comps := []Component{Derived("@method"), Derived("@authority"), Derived("@path"),
		Field("content-digest"), Field("content-length"), Field("content-type")}
	sp := sigParams{created: 1618884473, hasCreated: true, keyID: "test-key-rsa-pss", hasKeyID: true}
	params := appendSignatureParams(nil, comps, &sp)
	assert.Equal(t, `("@method" "@authority" "@path" "content-digest" "content-length" "content-type");created=1618884473;keyid="test-key-rsa-pss"`, string(params))
	m := &message{req: r, header: r.Header}
	base, err := m.build(nil, comps, string(params))
	require.NoError(t, err)
	assert.Equal(t, `"@method": POST
"@authority": example.com
"@path": /foo
"content-digest": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:
"content-length": 18
"content-type": application/json
"@signature-params": ("@method" "@authority" "@path" "content-digest" "content-length" "content-type");created=1618884473;keyid="test-key-rsa-pss"`, string(base))
}

func TestComponentSerialization(t *testing.T) {
	assert.Equal(t, `"content-digest";sf`, Field("Content-Digest").SF().String())
	assert.Equal(t, `"example-dict";key="a"`, Field("example-dict").Key("a").String())
	assert.Equal(t, `"example-header";bs`, Field("example-header").BS().String())
	assert.Equal(t, `"@method";req`, Derived("@method").Req().String())
	assert.Equal(t, `"@query-param";name="Pet"`, QueryParam("Pet").String())
	c, err := ParseComponent(`"example-dict";key="a";req`)
	require.NoError(t, err)
	assert.True(t, c.same(Field("example-dict").Key("a").Req()))
	assert.Equal(t, `"example-dict";key="a";req`, c.String(), "a parsed identifier keeps its order")

	for _, bad := range []string{
		`"Content-Type"`, `"@unknown"`, `"@signature-params"`, `"@query-param"`, `"@method";name="x"`,
		`"x";bs;sf`, `"x";key="a";bs`, `"@method";sf`, `"x";tr`, `"x";sf=2`, `x`, `"x" "y"`, `"a b"`, `""`,
	} {
		_, err := ParseComponent(bad)
		assert.ErrorIs(t, err, ErrMalformed, bad)
	}
}

func TestHeaderValues(t *testing.T) {
	h := http.Header{}
	for _, name := range []string{"content-digest", "x-a-b", "a", "x--y", "sec-ch-ua-mobile", "x_y", "www-authenticate", "dnt", "x-1a"} {
		h.Set(name, "v-"+name)
	}
	for _, name := range []string{"content-digest", "x-a-b", "a", "x--y", "sec-ch-ua-mobile", "x_y", "www-authenticate", "dnt", "x-1a", "absent", "x-Mixed"} {
		assert.Equal(t, h.Values(name), headerValues(h, name), name)
	}
}
