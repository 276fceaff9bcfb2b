package digest

import (
	"bytes"
	"testing"
)

// FuzzParseSingle: whenever the one-member shortcut recognizes a field,
// Parse reads exactly that member from it, and Verify answers as Parse then
// Digests.Verify would.
func FuzzParseSingle(f *testing.F) {
	for _, s := range []string{
		"sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
		"sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
		"sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:;p", " sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
		"sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPF=:", "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBP==:",
		"sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE:", "sha-256=::", "sha-256", "sha-2566=:AA==:", "sha-256=:",
	} {
		f.Add(s, []byte(`{"hello": "world"}`))
	}
	f.Fuzz(func(t *testing.T, line string, body []byte) {
		var buf [64]byte
		a, ok := parseSingle([]string{line}, &buf)
		if !ok {
			return
		}
		d, err := Parse(line)
		if err != nil || len(d) != 1 || d[0].Algorithm != a || !bytes.Equal(d[0].Sum, buf[:a.Size()]) {
			t.Fatalf("%q: shortcut %s, Parse %v, %v", line, a, d, err)
		}
		got, want := Verify(body, line), d.Verify(body)
		if (got == nil) != (want == nil) || (got != nil && got.Error() != want.Error()) {
			t.Fatalf("%q: Verify %v, Parse then Verify %v", line, got, want)
		}
	})
}
