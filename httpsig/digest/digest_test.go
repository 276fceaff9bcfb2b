package digest_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig/digest"
)

// The JSON object of the RFC 9530 examples.
const hello = `{"hello": "world"}`

// rfcVectors are the digest field values of the RFC 9530 examples, each with
// the exact bytes it was computed over.
var rfcVectors = []struct {
	name  string
	body  []byte
	field string
}{
	// RFC 9530 §2 and §3: the sha-512 and sha-256 digests of {"hello": "world"}.
	{"§2 sha-512", []byte(hello), "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"},
	{"§2 sha-256", []byte(hello), "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"},
	{"§2 both", []byte(hello), "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"},
	// RFC 9530 Appendix B.1: full representation, the JSON object and a newline.
	{"B.1 sha-256", []byte(hello + "\n"), "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:"},
	{"B.1 sha-512", []byte(hello + "\n"), "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:"},
	// RFC 9530 Appendix B.2: HEAD, Content-Digest of empty content.
	{"B.2 empty", nil, "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"},
	// RFC 9530 Appendix B.3: a range (bytes 10-18/19) of the representation.
	{"B.3 partial", []byte(`"world"}` + "\n"), "sha-256=:jjcgBDWNAtbYUXI37CVG3gRuGOAjaaDRGpIUFsdyepQ=:"},
	// The brotli-encoded response of the Appendix B examples
	// (iwiAeyJoZWxsbyI6ICJ3b3JsZCJ9Aw== is {"hello": "world"} in brotli).
	{"B br", mustB64("iwiAeyJoZWxsbyI6ICJ3b3JsZCJ9Aw=="), "sha-256=:4REjxQ4yrqUVicfSKYNO/cF9zNj5ANbzgDZt3/h3Qxo=:, sha-512=:pxo7aYzcGI88pnDnoSmAnaOEVys0MABhgvHY9+VI+ElE60jBCwnMPyA/s3NF3ZO5oIWA7lf8ukk+5KJzm3p5og==:"},
	// The POST and PATCH examples of Appendix B.
	{"B POST request", []byte(`{"title": "New Title"}`), "sha-256=:bWopGGNiZtbVgHsG+I4knzfEJpmmmQHf7RHDXA3o1hQ=:"},
	{"B POST response", []byte("{\n  \"id\": \"123\",\n  \"title\": \"New Title\"\n}"), "sha-256=:yxOAqEeoj+reqygSIsLpT0LhumrNkIds5uLKtmdLyYE=:"},
}

func mustB64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestRFC9530Vectors(t *testing.T) {
	for _, v := range rfcVectors {
		t.Run(v.name, func(t *testing.T) {
			parsed, err := digest.Parse(v.field)
			require.NoError(t, err)

			// Compute with the field's algorithms, in the field's order, and
			// format: the exact RFC value.
			algs := make([]digest.Algorithm, len(parsed))
			for i, m := range parsed {
				algs[i] = m.Algorithm
			}
			got, err := digest.Value(v.body, algs...)
			require.NoError(t, err)
			assert.Equal(t, v.field, got)

			assert.NoError(t, digest.Verify(v.body, v.field))
			tampered := append(append([]byte(nil), v.body...), ' ')
			assert.ErrorIs(t, digest.Verify(tampered, v.field), digest.ErrMismatch)

			// Streaming gives the same.
			r, err := digest.NewReader(iotest.OneByteReader(bytes.NewReader(v.body)), parsed.Algorithms()...)
			require.NoError(t, err)
			_, err = io.Copy(io.Discard, r)
			require.NoError(t, err)
			assert.NoError(t, r.Verify(parsed))
			assert.Equal(t, int64(len(v.body)), r.Len())
		})
	}
}

func TestComputeDefault(t *testing.T) {
	d, err := digest.Compute([]byte(hello))
	require.NoError(t, err)
	s, err := d.Format()
	require.NoError(t, err)
	assert.Equal(t, "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", s)

	_, err = digest.Compute(nil, "md5")
	assert.ErrorIs(t, err, digest.ErrUnsupported)
	_, err = digest.NewHasher(digest.SHA256, "sha")
	assert.ErrorIs(t, err, digest.ErrUnsupported)
	_, err = digest.NewReader(strings.NewReader(""), "crc32c")
	assert.ErrorIs(t, err, digest.ErrUnsupported)
}

func TestFormatRefuses(t *testing.T) {
	sum := make([]byte, 32)
	for name, tc := range map[string]struct {
		d    digest.Digests
		want error
	}{
		"empty":        {nil, digest.ErrMissing},
		"md5":          {digest.Digests{{Algorithm: "md5", Sum: make([]byte, 16)}}, digest.ErrUnsupported},
		"short":        {digest.Digests{{Algorithm: digest.SHA512, Sum: sum}}, digest.ErrMalformed},
		"twice":        {digest.Digests{{Algorithm: digest.SHA256, Sum: sum}, {Algorithm: digest.SHA256, Sum: sum}}, digest.ErrMalformed},
		"unknown name": {digest.Digests{{Algorithm: "Bad Key\n", Sum: sum}}, digest.ErrUnsupported},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tc.d.Format()
			assert.ErrorIs(t, err, tc.want)
			if err != nil {
				assert.NotContains(t, err.Error(), "\n")
			}
		})
	}
}

func TestVerify(t *testing.T) {
	body := []byte(hello)
	sha256v := "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
	sha512v := "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
	bad256 := "sha-256=:" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + ":"
	bad512 := "sha-512=:" + base64.StdEncoding.EncodeToString(make([]byte, 64)) + ":"
	for name, tc := range map[string]struct {
		lines []string
		want  error
	}{
		"sha-256":                       {[]string{sha256v}, nil},
		"sha-512":                       {[]string{sha512v}, nil},
		"two lines":                     {[]string{sha256v, sha512v}, nil},
		"unknown ignored":               {[]string{"sha3-256=:AAAA:, " + sha256v}, nil},
		"insecure ignored":              {[]string{"md5=:Sd/dVLAcvNLSq16eXua5uQ==:, " + sha256v}, nil},
		"parameters ignored":            {[]string{sha256v + ";foo=1"}, nil},
		"every member checked, bad":     {[]string{sha256v + ", " + bad512}, digest.ErrMismatch},
		"every member checked, bad 256": {[]string{bad256 + ", " + sha512v}, digest.ErrMismatch},
		"last duplicate wins":           {[]string{sha256v + ", " + bad256}, digest.ErrMismatch},
		"last duplicate wins, good":     {[]string{bad256, sha256v}, nil},
		"mismatch":                      {[]string{bad256}, digest.ErrMismatch},
		"no line":                       {nil, digest.ErrMissing},
		"empty line":                    {[]string{"", " "}, digest.ErrMissing},
		"md5 only":                      {[]string{"md5=:Sd/dVLAcvNLSq16eXua5uQ==:"}, digest.ErrUnsupported},
		"sha only":                      {[]string{"sha=:07CavjDP4u3/TungoUHJO/Wzr4c=:"}, digest.ErrUnsupported},
		"deprecated only":               {[]string{"unixsum=:GQU=:, unixcksum=:AA==:, adler=:AA==:, crc32c=:AA==:"}, digest.ErrUnsupported},
		"unknown only":                  {[]string{"sha3-512=:AA==:"}, digest.ErrUnsupported},
		"upper case key":                {[]string{"SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"}, digest.ErrMalformed},
		"RFC 3230 syntax":               {[]string{"SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="}, digest.ErrMalformed},
		"token value":                   {[]string{"sha-256=abc"}, digest.ErrMalformed},
		"integer value":                 {[]string{"sha-256=1"}, digest.ErrMalformed},
		"inner list":                    {[]string{"sha-256=(:AA==:)"}, digest.ErrMalformed},
		"bare key":                      {[]string{"sha-256"}, digest.ErrMalformed},
		"short value":                   {[]string{"sha-256=:AA==:"}, digest.ErrMalformed},
		"long value":                    {[]string{"sha-256=:" + base64.StdEncoding.EncodeToString(make([]byte, 33)) + ":"}, digest.ErrMalformed},
		"bad base64":                    {[]string{"sha-256=:!!:"}, digest.ErrMalformed},
		"too long":                      {[]string{sha256v + ", x=:" + strings.Repeat("A", digest.MaxFieldLength) + ":"}, digest.ErrMalformed},
		"too many members":              {[]string{sha256v + manyMembers(digest.MaxMembers)}, digest.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			err := digest.Verify(body, tc.lines...)
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.want)
			// An error never carries a digest value.
			if err != nil {
				assert.NotContains(t, err.Error(), "X48E9q")
				assert.NotContains(t, err.Error(), "AAAAAAAA")
			}
		})
	}
}

func manyMembers(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(", k")
		b.WriteByte(byte('a' + i%26))
		b.WriteByte(byte('a' + i/26))
		b.WriteString("=:AA==:")
	}
	return b.String()
}

func TestPreferred(t *testing.T) {
	d, err := digest.Parse("md5=:Sd/dVLAcvNLSq16eXua5uQ==:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, foo=:AA==:, sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:")
	require.NoError(t, err)
	require.Len(t, d, 4)
	assert.True(t, d[0].Algorithm.Insecure())
	assert.False(t, d[0].Algorithm.Supported())
	p, ok := d.Preferred()
	require.True(t, ok)
	assert.Equal(t, digest.SHA512, p.Algorithm)
	assert.Equal(t, []digest.Algorithm{digest.SHA512, digest.SHA256}, d.Algorithms())

	_, ok = digest.Digests{{Algorithm: "md5", Sum: make([]byte, 16)}}.Preferred()
	assert.False(t, ok)
}

func TestHasherVerify(t *testing.T) {
	body := []byte(hello)
	both, err := digest.Compute(body, digest.SHA256, digest.SHA512)
	require.NoError(t, err)

	// A Hasher checks the members it computes.
	h, err := digest.NewHasher(digest.SHA256)
	require.NoError(t, err)
	_, _ = h.Write(body[:5])
	_, _ = h.Write(body[5:])
	assert.NoError(t, h.Verify(both))
	assert.Equal(t, "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", h.Value())

	// A member the Hasher did not compute cannot be checked.
	only512, err := digest.Compute(body, digest.SHA512)
	require.NoError(t, err)
	assert.ErrorIs(t, h.Verify(only512), digest.ErrUnsupported)
	assert.ErrorIs(t, h.Verify(nil), digest.ErrMissing)

	// A body read in part does not match.
	r, err := digest.NewReader(bytes.NewReader(body), digest.SHA512, digest.SHA512)
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(r, buf)
	require.NoError(t, err)
	assert.ErrorIs(t, r.Verify(both), digest.ErrMismatch)
	_, err = io.Copy(io.Discard, r)
	require.NoError(t, err)
	assert.NoError(t, r.Verify(both))
	assert.Len(t, r.Digests(), 1, "an algorithm given twice is computed once")
	assert.True(t, strings.HasPrefix(r.Value(), "sha-512=:"))

	// Read errors pass through.
	boom := errors.New("boom")
	r, err = digest.NewReader(iotest.ErrReader(boom))
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, r)
	assert.ErrorIs(t, err, boom)
}

func TestParseWant(t *testing.T) {
	// RFC 9530 §4 examples.
	p, err := digest.ParseWant("sha-512=3, sha-256=10, unixsum=0")
	require.NoError(t, err)
	assert.Equal(t, []digest.Preference{{Algorithm: "sha-512", Weight: 3}, {Algorithm: "sha-256", Weight: 10}, {Algorithm: "unixsum", Weight: 0}}, p)
	a, ok := digest.Choose(p)
	assert.True(t, ok)
	assert.Equal(t, digest.SHA256, a)

	p, err = digest.ParseWant("sha-256=1")
	require.NoError(t, err)
	a, ok = digest.Choose(p)
	assert.True(t, ok)
	assert.Equal(t, digest.SHA256, a)

	// Tie: the stronger.
	p, err = digest.ParseWant("sha-256=5, sha-512=5")
	require.NoError(t, err)
	a, _ = digest.Choose(p)
	assert.Equal(t, digest.SHA512, a)

	// Only deprecated or zero weights: nothing to choose.
	p, err = digest.ParseWant("sha=10, md5=3, sha-256=0")
	require.NoError(t, err)
	_, ok = digest.Choose(p)
	assert.False(t, ok)

	for _, bad := range []string{"sha-256=11", "sha-256=-1", "sha-256=:AA==:", "sha-256=1.5", "sha-256=(1)", "sha-256=\"x\"", "=1"} {
		_, err := digest.ParseWant(bad)
		assert.ErrorIs(t, err, digest.ErrMalformed, bad)
	}
	_, err = digest.ParseWant()
	assert.ErrorIs(t, err, digest.ErrMissing)
}

// TestVerifyEverySupportedMember: a field with a sha-256 and a sha-512 member
// matches the body only if both do. A recipient that checks the other member
// (RFC 9530 lets each pick) would otherwise see another body than the one
// accepted here; one field, one body.
func TestVerifyEverySupportedMember(t *testing.T) {
	good256 := "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
	good512 := "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
	bad256, err := digest.Value([]byte("other"), digest.SHA256)
	require.NoError(t, err)
	bad512, err := digest.Value([]byte("other"), digest.SHA512)
	require.NoError(t, err)
	for _, lines := range [][]string{
		{good512 + ", " + bad256},
		{bad256 + ", " + good512},
		{good256 + ", " + bad512},
		{bad512, good256},
		{good512, bad256},
	} {
		assert.ErrorIs(t, digest.Verify([]byte(hello), lines...), digest.ErrMismatch, "%q", lines)
		d, err := digest.Parse(lines...)
		require.NoError(t, err)
		assert.ErrorIs(t, d.Verify([]byte(hello)), digest.ErrMismatch, "%q", lines)
		h, err := digest.NewHasher(digest.SHA256, digest.SHA512)
		require.NoError(t, err)
		_, _ = h.Write([]byte(hello))
		assert.ErrorIs(t, h.Verify(d), digest.ErrMismatch, "%q", lines)
	}
	for _, lines := range [][]string{{good256 + ", " + good512}, {good512, good256}, {good256 + ", md5=:AAAA:"}} {
		assert.NoError(t, digest.Verify([]byte(hello), lines...), "%q", lines)
	}
}
