package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// walk iterates every member of the object in data, recursing into nested
// objects and arrays, and returns the first error.
func walk(data []byte) error {
	o := NewObject(data)
	for o.Next() {
		if err := walkValue(o.Value()); err != nil {
			return err
		}
	}
	return o.Err()
}

func walkValue(v Value) error {
	switch v.Kind {
	case ObjectKind:
		o := v.Object()
		for o.Next() {
			if err := walkValue(o.Value()); err != nil {
				return err
			}
		}
		return o.Err()
	case ArrayKind:
		a := v.Array()
		for a.Next() {
			if err := walkValue(a.Value()); err != nil {
				return err
			}
		}
		return a.Err()
	case String:
		_, err := v.Str()
		return err
	case Number:
		_, err := v.Float()
		return err
	}
	return nil
}

func TestObjectMembers(t *testing.T) {
	in := []byte(` { "alg" : "ES256", "n":-1.5e3, "t":true, "f":false, "z":null, "a":["x",1,{"k":[]}], "o":{"p":"\u00e9\ud83d\ude00"} } `)
	o := NewObject(in)
	var keys []string
	kinds := map[string]Kind{}
	for o.Next() {
		keys = append(keys, string(o.Key()))
		kinds[string(o.Key())] = o.Value().Kind
	}
	require.NoError(t, o.Err())
	assert.Equal(t, []string{"alg", "n", "t", "f", "z", "a", "o"}, keys)
	assert.Equal(t, map[string]Kind{"alg": String, "n": Number, "t": True, "f": False, "z": Null, "a": ArrayKind, "o": ObjectKind}, kinds)
	require.NoError(t, walk(in))
}

func TestStringValues(t *testing.T) {
	o := NewObject([]byte(`{"a":"plain","b":"esc\"aped\\\/\n\u0041","c":"\ud83d\ude00"}`))
	got := map[string]string{}
	for o.Next() {
		s, err := o.Value().Str()
		require.NoError(t, err)
		got[string(o.Key())] = s
		assert.True(t, o.Value().Equal(s))
		b, err := o.Value().AppendStr(nil)
		require.NoError(t, err)
		assert.Equal(t, s, string(b))
	}
	require.NoError(t, o.Err())
	assert.Equal(t, map[string]string{"a": "plain", "b": "esc\"aped\\/\nA", "c": "😀"}, got)
}

func TestMemberNamesAreCaseSensitiveAndUnescaped(t *testing.T) {
	o := NewObject([]byte(`{"ALG":"none","\u0061lg":"ES256"}`))
	var keys []string
	for o.Next() {
		keys = append(keys, string(o.Key()))
	}
	require.NoError(t, o.Err())
	assert.Equal(t, []string{"ALG", "alg"}, keys)
}

func TestRefused(t *testing.T) {
	many := `{`
	for i := range 40 {
		if i > 0 {
			many += ","
		}
		many += `"k` + strings.Repeat("x", i) + `":1`
	}
	cases := map[string]struct {
		in   string
		want error
	}{
		"empty":                    {``, ErrSyntax},
		"not an object":            {`["a"]`, ErrSyntax},
		"trailing data":            {`{"a":1} x`, ErrSyntax},
		"two objects":              {`{"a":1}{"b":2}`, ErrSyntax},
		"trailing comma":           {`{"a":1,}`, ErrSyntax},
		"leading comma":            {`{,"a":1}`, ErrSyntax},
		"missing colon":            {`{"a" 1}`, ErrSyntax},
		"unquoted name":            {`{a:1}`, ErrSyntax},
		"single quotes":            {`{'a':1}`, ErrSyntax},
		"unterminated":             {`{"a":1`, ErrSyntax},
		"unterminated string":      {`{"a":"b}`, ErrSyntax},
		"control char":             {"{\"a\":\"b\x01\"}", ErrSyntax},
		"bad escape":               {`{"a":"\x"}`, ErrSyntax},
		"short unicode escape":     {`{"a":"\u12"}`, ErrSyntax},
		"lone high surrogate":      {`{"a":"\ud83d"}`, ErrSyntax},
		"lone low surrogate":       {`{"a":"\ude00"}`, ErrSyntax},
		"invalid utf8":             {"{\"a\":\"\xff\"}", ErrSyntax},
		"leading zero":             {`{"a":01}`, ErrSyntax},
		"bare minus":               {`{"a":-}`, ErrSyntax},
		"dot without digits":       {`{"a":1.}`, ErrSyntax},
		"exponent without digits":  {`{"a":1e}`, ErrSyntax},
		"NaN":                      {`{"a":NaN}`, ErrSyntax},
		"plus sign":                {`{"a":+1}`, ErrSyntax},
		"misspelled literal":       {`{"a":tru}`, ErrSyntax},
		"comment":                  {`{"a":1 /* c */}`, ErrSyntax},
		"duplicate":                {`{"a":1,"a":2}`, ErrDuplicate},
		"duplicate via escape":     {`{"alg":"ES256","\u0061lg":"none"}`, ErrDuplicate},
		"duplicate past inline":    {many + `,"k":2}`, ErrDuplicate},
		"duplicate in nested":      {`{"o":{"x":1,"x":2}}`, ErrDuplicate},
		"too deep":                 {`{"a":` + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + `}`, ErrDepth},
		"unbalanced nested":        {`{"a":[1,2}`, ErrSyntax},
		"array trailing comma":     {`{"a":[1,]}`, ErrSyntax},
		"number overflows float64": {`{"a":1e999}`, ErrSyntax},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			assert.ErrorIs(t, walk([]byte(tc.in)), tc.want)
		})
	}
}

func TestManyMembersWithoutDuplicates(t *testing.T) {
	in := `{`
	for i := range 100 {
		if i > 0 {
			in += ","
		}
		in += `"k` + strings.Repeat("y", i) + `":"v"`
	}
	in += `}`
	require.NoError(t, walk([]byte(in)))
}

func TestWrongTypeAccessors(t *testing.T) {
	v := Value{Kind: Number, Raw: []byte("1")}
	_, err := v.Str()
	assert.ErrorIs(t, err, ErrType)
	assert.False(t, v.Equal("1"))
	o := v.Object()
	assert.False(t, o.Next())
	assert.ErrorIs(t, o.Err(), ErrType)
	a := v.Array()
	assert.False(t, a.Next())
	assert.ErrorIs(t, a.Err(), ErrType)
	_, err = Value{Kind: String, Raw: []byte(`"x"`)}.Float()
	assert.ErrorIs(t, err, ErrType)
}

func TestIterationDoesNotAllocate(t *testing.T) {
	in := []byte(`{"typ":"at+jwt","alg":"ES256","kid":"abc","aud":["a","b"],"exp":1700000000,"cnf":{"jkt":"x"}}`)
	allocs := testing.AllocsPerRun(100, func() {
		o := NewObject(in)
		for o.Next() {
			v := o.Value()
			if v.Kind == ObjectKind {
				inner := v.Object()
				for inner.Next() {
				}
			}
			_ = v.Equal("ES256")
		}
		if o.Err() != nil {
			panic(o.Err())
		}
	})
	assert.Zero(t, allocs)
}

// FuzzObject checks jsonscan against encoding/json: whatever jsonscan accepts,
// encoding/json accepts too, and whatever encoding/json accepts that is an
// object without duplicate names, invalid UTF-8 or lone surrogates, jsonscan
// accepts.
func FuzzObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":"\u00e9"}`, `{"a":[1,{"b":null}],"c":true}`, `{"a":1,"a":2}`,
		`{"a":"\ud83d\ude00"}`, `{"a":"\ud83d"}`, ` {"x":-0.5e-3} `, `{"a":}`, `[]`, `{"a":"` + "\xff" + `"}`,
		`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"a","y":"b"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := walk(data)
		stdValid := json.Valid(data)
		if err == nil {
			if !stdValid {
				t.Fatalf("jsonscan accepted what encoding/json refuses")
			}
			var m map[string]any
			if json.Unmarshal(data, &m) != nil {
				t.Fatalf("jsonscan accepted a non-object")
			}
			return
		}
		trimmed := strings.TrimSpace(string(data))
		if !stdValid || !utf8.Valid(data) || strings.Contains(trimmed, `\u`) || !strings.HasPrefix(trimmed, "{") {
			return // refusals that encoding/json tolerates or cannot judge
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) != nil {
			return
		}
		if err == ErrDuplicate || err == ErrDepth {
			return
		}
		t.Fatalf("jsonscan refused valid JSON object: %v", err)
	})
}
