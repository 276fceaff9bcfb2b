package replaykey_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/replaykey"
)

// reference is the documented encoding, built the obvious (allocating) way.
func reference(jkt, jti string) [replaykey.Size]byte {
	var b []byte
	b = append(b, "ztkit/dpop/replay/v1\x00"...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(jkt)))
	b = append(b, jkt...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(jti)))
	b = append(b, jti...)
	return sha256.Sum256(b)
}

func TestSumMatchesDocumentedEncoding(t *testing.T) {
	// The jkt below is the RFC 9449 §6.1 example thumbprint; the jti is from the §4.2 example proof.
	const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	const jti = "-BwC3ESc6acc2lTc"
	tests := []struct {
		name     string
		jkt, jti string
	}{
		{name: "empty", jkt: "", jti: ""},
		{name: "RFC 9449 example", jkt: jkt, jti: jti},
		{name: "chunk boundary minus one", jkt: jkt, jti: strings.Repeat("x", 128-21-8-8-len(jkt)-1)},
		{name: "chunk boundary", jkt: jkt, jti: strings.Repeat("x", 128-21-8-8-len(jkt))},
		{name: "chunk boundary plus one", jkt: jkt, jti: strings.Repeat("x", 128-21-8-8-len(jkt)+1)},
		{name: "length prefix straddles chunk", jkt: strings.Repeat("k", 128-21-8-3), jti: jti},
		{name: "long jti", jkt: jkt, jti: strings.Repeat("0123456789", 10_000)},
		{name: "long jkt", jkt: strings.Repeat("k", 1000), jti: jti},
		{name: "non-ASCII and NUL", jkt: "ключ\x00", jti: "\x00\xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, reference(tt.jkt, tt.jti), replaykey.Sum(tt.jkt, tt.jti))
		})
	}
}

// TestSumGolden pins the encoding: keys live in shared stores across releases, so
// a change here would silently reopen replay for proofs accepted by an older version.
func TestSumGolden(t *testing.T) {
	got := replaykey.Sum("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "-BwC3ESc6acc2lTc")
	assert.Equal(t, goldenRFC9449, hex.EncodeToString(got[:]))
}

const goldenRFC9449 = "5ed9ac3fd363a41eb407f9762901b9475341537bcddedaea15eecf6b0e603c03"

func TestSumSeparatesFields(t *testing.T) {
	tests := []struct {
		name string
		a, b [2]string
	}{
		{name: "separator moved across fields", a: [2]string{"a|b", "c"}, b: [2]string{"a", "b|c"}},
		{name: "bytes moved across fields", a: [2]string{"ab", "c"}, b: [2]string{"a", "bc"}},
		{name: "all in jkt vs all in jti", a: [2]string{"abc", ""}, b: [2]string{"", "abc"}},
		{name: "swapped", a: [2]string{"x", "y"}, b: [2]string{"y", "x"}},
		{name: "length prefix forged in jti", a: [2]string{"a", "b"}, b: [2]string{"a\x00\x00\x00\x00\x00\x00\x00\x01b", ""}},
		{name: "same jti, different jkt", a: [2]string{"key-1", "jti"}, b: [2]string{"key-2", "jti"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.NotEqual(t, replaykey.Sum(tt.a[0], tt.a[1]), replaykey.Sum(tt.b[0], tt.b[1]))
		})
	}
}

func TestSumDoesNotAllocate(t *testing.T) {
	jkt := "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	jti := strings.Repeat("j", 64<<10)
	var sink [replaykey.Size]byte
	allocs := testing.AllocsPerRun(100, func() { sink = replaykey.Sum(jkt, jti) })
	require.NotEqual(t, [replaykey.Size]byte{}, sink)
	assert.Zero(t, allocs)
}

// FuzzSum checks Sum against the documented encoding and that moving any number
// of bytes from one field to the other changes the key.
func FuzzSum(f *testing.F) {
	f.Add("a|b", "c")
	f.Add("", "")
	f.Add("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "-BwC3ESc6acc2lTc")
	f.Add(strings.Repeat("k", 97), strings.Repeat("j", 300))
	f.Fuzz(func(t *testing.T, jkt, jti string) {
		got := replaykey.Sum(jkt, jti)
		require.Equal(t, reference(jkt, jti), got)
		joined := jkt + jti
		for i := 0; i <= len(joined); i += 1 + len(joined)/16 {
			if i == len(jkt) {
				continue
			}
			require.NotEqual(t, got, replaykey.Sum(joined[:i], joined[i:]), "split at %d", i)
		}
	})
}

func BenchmarkSum(b *testing.B) {
	jkt := "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	for _, n := range []int{16, 36, 1024} {
		jti := strings.Repeat("j", n)
		b.Run("jti="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = replaykey.Sum(jkt, jti)
			}
		})
	}
}
