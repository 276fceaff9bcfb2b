package httpsig

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dunglas/httpsfv"
)

// sentinels are the errors every refusal must match one of.
var sentinels = []error{ErrMissing, ErrMalformed, ErrInvalid, ErrExpired, ErrReplayed,
	ErrUnknownKey, ErrDigestMismatch, ErrInsufficient, ErrUnavailable}

func matchesSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzParseComponent: parsing a component identifier never panics, and what
// parses serializes to an identifier that parses to the same component.
func FuzzParseComponent(f *testing.F) {
	for _, s := range []string{
		`"@method"`, `"@query-param";name="Pet"`, `"content-digest";sf`, `"example-dict";key="a"`,
		`"example-header";bs`, `"@authority";req`, `"signature";req;key="sig1"`, `"x";tr`, `"@status"`,
		`"a";key="\"\\"`, `"x";sf=?0`, `("a")`, `"x";name=""`, `"@query-param";name="fa%C3%A7ade%22%3A%20"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseComponent(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not match ErrMalformed: %v", err)
			}
			return
		}
		it, err := httpsfv.UnmarshalItem([]string{s})
		if err != nil {
			t.Fatalf("%q parsed as a component but not as an item", s)
		}
		if m, err := httpsfv.Marshal(it); err != nil || m != c.String() {
			t.Fatalf("identifier %q, httpsfv serializes %q", c.String(), m)
		}
		again, err := ParseComponent(c.String())
		if err != nil {
			t.Fatalf("%q serializes to %q, which does not parse: %v", s, c.String(), err)
		}
		if !again.same(c) || again.String() != c.String() {
			t.Fatalf("round trip of %q: %q then %q", s, c.String(), again.String())
		}
	})
}

// FuzzSignatureFields: whatever Signature-Input and Signature hold, the
// verifier does not panic, refuses with one of the sentinels, and accepts
// nothing.
func FuzzSignatureFields(f *testing.F) {
	f.Add(`sig1=("@method" "@authority" "@path" "@query");created=1800000000;keyid="k"`, `sig1=:AAAA:`)
	f.Add(`sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"`, `sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:`)
	f.Add(`sig1=("@query-param";name="a" "content-digest";sf "x";key="y" "x";bs);created=1800000000;expires=1800000060;keyid="k";alg="hmac-sha256";tag="t";nonce="n"`, `sig1=:AAAA:, sig2=:BBBB:`)
	f.Add(`sig1=("@method" "@method");created=1800000000;keyid="k"`, `sig1=:AAAA:`)
	f.Add(`sig1=("@status");created=1800000000;keyid="k"`, `sig1=?1`)
	f.Add(`sig1=:AAAA:`, `sig1=("@method")`)
	f.Add(`a=(), b=(), c=()`, `a=:AA==:, b=:AA==:`)
	f.Add(`sig1=();created=-1;keyid="k"`, `sig1=:AAAA:`)
	f.Add(`sig1=();created=99999999999999;keyid="k"`, `sig1=:AAAA:`)
	f.Add(`sig1=("content-digest");created=1800000000;keyid="k"`, `sig1=:AAAA:`)
	keys, err := NewHMACVerifyingKey("k", []byte(strings.Repeat("s", 32)))
	if err != nil {
		f.Fatal(err)
	}
	resolver, err := NewStaticKeys(keys)
	if err != nil {
		f.Fatal(err)
	}
	v, err := NewVerifier(resolver, WithRequiredComponents(),
		WithClock(func() time.Time { return time.Unix(1_800_000_000, 0) }))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, input, sig string) {
		r := &http.Request{
			Method: http.MethodPost, Host: "shop.example",
			URL:    &url.URL{Scheme: "https", Host: "shop.example", Path: "/p", RawQuery: "a=1&x=%20"},
			Header: http.Header{"Signature-Input": {input}, "Signature": {sig}, "Content-Digest": {"sha-256=:AAAA:"}, "X": {"a=1"}},
			Body:   http.NoBody,
		}
		got, err := v.VerifyRequest(context.Background(), r)
		if err == nil {
			t.Fatalf("accepted %+v", got)
		}
		if !matchesSentinel(err) {
			t.Fatalf("error matches no sentinel: %v", err)
		}
	})
}

// FuzzInnerList: the signature parameters the verifier serializes itself
// are what httpsfv serializes.
func FuzzInnerList(f *testing.F) {
	f.Add(`sig1=("@method" "x";key="a";req);created=1;expires=2;keyid="k\\\"";alg="ed25519";nonce="n";tag="t";x=?0;y;z=tok;b=:AAE=:;d=1.5`)
	f.Add(`sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"`)
	f.Add(`a=("@query-param";name="Pet" "content-digest";sf);created=-5;n=@1659578233`)
	f.Fuzz(func(t *testing.T, field string) {
		d, err := httpsfv.UnmarshalDictionary([]string{field})
		if err != nil {
			return
		}
		for _, name := range d.Names() {
			m, _ := d.Get(name)
			il, ok := m.(httpsfv.InnerList)
			if !ok {
				continue
			}
			comps := make([]Component, 0, len(il.Items))
			for _, it := range il.Items {
				c, err := componentFromItem(it)
				if err != nil {
					return
				}
				comps = append(comps, c)
			}
			got, ok := appendInnerList(nil, comps, sfParamsOf(il.Params))
			if !ok {
				continue
			}
			want, err := httpsfv.Marshal(httpsfv.List{il})
			if err != nil {
				continue
			}
			if string(got) != want {
				t.Fatalf("appendInnerList %q, httpsfv %q", got, want)
			}
		}
	})
}

// FuzzComponentValue: taking any component from any field value and query
// never panics, and a value never holds a line break (it would forge
// another line of the signature base).
func FuzzComponentValue(f *testing.F) {
	f.Add(`"x"`, "a, b", "a=1&b=2")
	f.Add(`"x";sf`, "a=1, b=(c d)", "")
	f.Add(`"x";key="b"`, "a=1, b=(c d);p", "")
	f.Add(`"x";bs`, "  v  ", "")
	f.Add(`"@query-param";name="a%20b"`, "", "a+b=c%0Ad&a%20b=2")
	f.Add(`"@query-param";name="a"`, "", "a=%zz&=&&a")
	f.Add(`"@target-uri"`, "", "q")
	f.Add(`"x"`, "a\nb", "")
	fields := map[string]FieldType{"x": FieldDictionary}
	f.Fuzz(func(t *testing.T, id, value, query string) {
		c, err := ParseComponent(id)
		if err != nil || c.req || c.name == componentStatus {
			return
		}
		r := &http.Request{
			Method: http.MethodGet, Host: "shop.example",
			URL:    &url.URL{Path: "/p", RawQuery: query},
			Header: http.Header{"X": {value, value}},
		}
		m := &message{req: r, header: r.Header, fields: fields}
		b, err := m.build(nil, []Component{c}, "()")
		if err != nil {
			return
		}
		if strings.Count(string(b), "\n") != 1 {
			t.Fatalf("base %q has more than two lines", b)
		}
	})
}

// FuzzQueryPart: re-encoding is a fixed point.
func FuzzQueryPart(f *testing.F) {
	for _, s := range []string{"a", "fa%C3%A7ade%22%3A%20", "with+plus", "%zz", "%", "a%2", "é ~!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := encodeQueryPart(decodeQueryPart(s))
		if again := encodeQueryPart(decodeQueryPart(e)); again != e {
			t.Fatalf("%q -> %q -> %q", s, e, again)
		}
	})
}
