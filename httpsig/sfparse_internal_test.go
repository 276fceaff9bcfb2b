package httpsig

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dunglas/httpsfv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sfDictSeeds are Signature-Input and Signature fields, valid and not, and
// the corners of the RFC 8941 grammar the fast parser must treat as httpsfv
// does.
var sfDictSeeds = []string{
	`sig1=("@method" "@authority" "@path" "content-digest" "content-type");created=1618884473;keyid="test-key-ed25519"`,
	`sig1=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:`,
	`sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"`,
	`sig1=("@method" "x";key="a";req);created=1;expires=2;keyid="k\\\"";alg="ed25519";nonce="n";tag="t";x=?0;y;z=tok;b=:AAE=:;d=1.5`,
	`a=("@query-param";name="Pet" "content-digest";sf);created=-5;n=@1659578233`,
	`a=1, b=2, a=3`, `a;x=1;x=2;y, b=?0`, `a=( "x"  "y" )`, `a=("x""y")`, `a=("x" `, `a=(`,
	`a=1,`, `a=1 ,b=2`, `a=1,	b=2`, ` a=1`, "\ta=1", `A=1`, `a=-`, `a=-0`, `a=0001`,
	`a=1234567890123456`, `a=123456789012345`, `a=-999999999999999`, `a=1.`, `a=1.2345`,
	`a=:AB=:`, `a=:=:`, `a=::`, `a=:AAE:`, `a=:AA E=:`, `a="\u00e9"`, `a="\x"`, `a="a\\"`, `a="`,
	`a=?2`, `a=?`, `a=*tok/x:y`, `a=Tok`, `a=%"x"`, `a=@1`, `a=[`, `a=("x";sf=?1;key)`, `*=1`, ``, ` `,
	`a=1;`, `a=1; b`, `a=1;B`, `a=(1 2);p=("x")`, `a=1, ,b`, `a=x;b=:A:`,
}

// FuzzSFDictionary: the fast parser accepts and refuses exactly what
// httpsfv does and yields the same values, and parseSFDictionary (with its
// fallback) agrees with httpsfv on every input.
func FuzzSFDictionary(f *testing.F) {
	for _, s := range sfDictSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, field string) {
		want, werr := httpsfv.UnmarshalDictionary([]string{field})
		var fast sfDict
		ferr := fast.parseFast(field)
		switch {
		case errors.Is(ferr, errSFFallback):
		case ferr == nil && werr != nil:
			t.Fatalf("%q: fast parser accepts, httpsfv refuses: %v", field, werr)
		case ferr != nil && werr == nil:
			t.Fatalf("%q: fast parser refuses (%v), httpsfv accepts", field, ferr)
		case ferr == nil:
			var w sfDict
			w.fromHTTPSFV(want)
			if !sfDictEqual(&fast, &w) {
				t.Fatalf("%q: fast parser and httpsfv differ", field)
			}
		}
		var d sfDict
		err := parseSFDictionary(&d, []string{field})
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: parseSFDictionary error %v, httpsfv %v", field, err, werr)
		}
		if err != nil {
			if !reflect.DeepEqual(err, werr) {
				t.Fatalf("%q: error %v, httpsfv %v", field, err, werr)
			}
			return
		}
		var w sfDict
		w.fromHTTPSFV(want)
		if !sfDictEqual(&d, &w) {
			t.Fatalf("%q: parseSFDictionary and httpsfv differ", field)
		}
	})
}

func TestSFDictionaryReuse(t *testing.T) {
	var d sfDict
	require.NoError(t, parseSFDictionary(&d, []string{`a=("x";p=:AAE=: "y");q=:AAI=:, b=:AAM=:`}))
	require.NoError(t, parseSFDictionary(&d, []string{`c=:AAQ=:`, `d=("z");created=1`}))
	var w sfDict
	want, err := httpsfv.UnmarshalDictionary([]string{`c=:AAQ=:, d=("z");created=1`})
	require.NoError(t, err)
	w.fromHTTPSFV(want)
	assert.True(t, sfDictEqual(&d, &w))
	m, ok := d.get("d")
	require.True(t, ok)
	assert.Equal(t, `"z"`, m.items[0].raw)
}

func TestSFDictionaryFallback(t *testing.T) {
	var d sfDict
	require.NoError(t, parseSFDictionary(&d, []string{`a=("x");d=1.5;t=@1;s=%"x"`}))
	m, ok := d.get("a")
	require.True(t, ok)
	require.Len(t, m.params, 3)
	assert.Equal(t, sfOther, m.params[0].v.kind)
	b, ok := appendInnerList(nil, nil, m.params)
	require.True(t, ok)
	assert.Equal(t, `();d=1.5;t=@1;s=%"x"`, string(b))
}

func sfDictEqual(a, b *sfDict) bool {
	if len(a.members) != len(b.members) {
		return false
	}
	for i := range a.members {
		x, y := &a.members[i], &b.members[i]
		if x.key != y.key || x.inner != y.inner || !sfBareEqual(x.v, y.v) || !sfParamsEqual(x.params, y.params) ||
			len(x.items) != len(y.items) {
			return false
		}
		for j := range x.items {
			if !sfBareEqual(x.items[j].v, y.items[j].v) || !sfParamsEqual(x.items[j].params, y.items[j].params) {
				return false
			}
		}
	}
	return true
}

func sfParamsEqual(a, b []sfParam) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].key != b[i].key || !sfBareEqual(a[i].v, b[i].v) {
			return false
		}
	}
	return true
}

func sfBareEqual(a, b sfBare) bool {
	return a.kind == b.kind && a.b == b.b && a.i == b.i && a.s == b.s && bytes.Equal(a.bytes, b.bytes) &&
		reflect.DeepEqual(a.other, b.other)
}

func TestSFDictionaryTrim(t *testing.T) {
	var d sfDict
	big := "a=(" + strings.Repeat(`"x" `, 300) + ")"
	require.NoError(t, parseSFDictionary(&d, []string{big}))
	m, ok := d.get("a")
	require.True(t, ok)
	assert.Len(t, m.items, 300)
	d.trim()
	assert.Nil(t, d.items)
	require.NoError(t, parseSFDictionary(&d, []string{`a=("y")`}))
	m, ok = d.get("a")
	require.True(t, ok)
	assert.Len(t, m.items, 1)
}
