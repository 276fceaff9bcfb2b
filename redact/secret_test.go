package redact_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

// TestSecretPrintsMarker checks every print path of Secret and Key.
func TestSecretPrintsMarker(t *testing.T) {
	s := redact.NewSecret("hunter2")
	key, err := redact.NewKey([]byte("key-material-0123456789"))
	require.NoError(t, err)
	type holder struct {
		S  redact.Secret[string]
		P  *redact.Secret[string]
		K  *redact.Key
		KV redact.Key
	}
	h := holder{S: s, P: &s, K: key, KV: *key}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s"} {
		for _, v := range []any{s, &s, key, *key, h, &h} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, "hunter2", verb)
			assert.NotContains(t, out, "key-material", verb)
		}
		assert.Equal(t, redact.Marker, fmt.Sprintf(verb, s), verb)
	}
	assert.Equal(t, redact.Marker, s.String())
	assert.Equal(t, redact.Marker, s.GoString())
	assert.True(t, s.Reveal() == "hunter2", "Reveal gives the value back")

	j, err := json.Marshal(map[string]any{"s": s, "k": key, "h": h, "m": map[redact.Secret[string]]int{s: 1}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"s":"[REDACTED]","k":"[REDACTED]","h":{"S":"[REDACTED]","P":"[REDACTED]","K":"[REDACTED]","KV":"[REDACTED]"},"m":{"[REDACTED]":1}}`, string(j))

	x, err := xml.Marshal(struct {
		XMLName xml.Name              `xml:"x"`
		S       redact.Secret[string] `xml:"s"`
		A       redact.Secret[string] `xml:"a,attr"`
	}{S: s, A: s})
	require.NoError(t, err)
	assert.Equal(t, `<x a="[REDACTED]"><s>[REDACTED]</s></x>`, string(x))

	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "s", s, "k", key, "h", h)
	assert.NotContains(t, buf.String(), "hunter2")
	assert.NotContains(t, buf.String(), "key-material")
	assert.Contains(t, buf.String(), "s=[REDACTED] k=[REDACTED]")

	var zero redact.Secret[[]byte]
	assert.Nil(t, zero.Reveal())
	assert.Equal(t, redact.Marker, fmt.Sprint(zero))
}

func TestNewKey(t *testing.T) {
	_, err := redact.NewKey([]byte("short"))
	assert.ErrorIs(t, err, redact.ErrShortKey)
	b := []byte("0123456789abcdef")
	k, err := redact.NewKey(b)
	require.NoError(t, err)
	b[0] = 'X' // the key keeps its own copy
	r1, err := redact.New(redact.WithKey(k), redact.WithMode(redact.KindEmail, redact.ModeToken))
	require.NoError(t, err)
	k2, err := redact.NewKey([]byte("0123456789abcdef"))
	require.NoError(t, err)
	r2, err := redact.New(redact.WithKey(k2), redact.WithMode(redact.KindEmail, redact.ModeToken))
	require.NoError(t, err)
	assert.Equal(t, r1.RedactString("a@example.com"), r2.RedactString("a@example.com"))
}

// TestHoldersPrintMarker checks that the types holding a key or unredacted
// text never print it.
func TestHoldersPrintMarker(t *testing.T) {
	r, err := redact.New(redact.WithKey(testKey(t)), redact.WithMode(redact.KindEmail, redact.ModeToken))
	require.NoError(t, err)
	var sink bytes.Buffer
	w, err := redact.NewWriter(&sink, r)
	require.NoError(t, err)
	_, err = w.Write([]byte("pending alice@example.com"))
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		assert.Equal(t, redact.Marker, fmt.Sprintf(verb, r))
		assert.Equal(t, redact.Marker, fmt.Sprintf(verb, w))
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "r", r, "w", w)
	assert.NotContains(t, buf.String(), "alice")
	assert.NotContains(t, buf.String(), "0123456789abcdef")
}

// TestUnexportedHoldersPrintNoSecret: fmt prints a struct's unexported fields
// without calling their String or Format methods, and a verb that does not
// fit a pointer (%s, %q) prints the struct it points to. A caller's config
// struct with an unexported Secret, Key, *Redactor or *Writer field, printed
// with any verb, must still show no secret.
func TestUnexportedHoldersPrintNoSecret(t *testing.T) {
	const secret = "hunter2-0123456789"
	key, err := redact.NewKey([]byte(secret))
	require.NoError(t, err)
	r, err := redact.New(redact.WithKey(key), redact.WithMode(redact.KindEmail, redact.ModeToken))
	require.NoError(t, err)
	var sink bytes.Buffer
	w, err := redact.NewWriter(&sink, r)
	require.NoError(t, err)
	_, err = w.Write([]byte("pending alice@example.com"))
	require.NoError(t, err)
	type config struct {
		name string
		s    redact.Secret[string]
		b    redact.Secret[[]byte]
		ps   *redact.Secret[string]
		k    redact.Key
		pk   *redact.Key
		r    *redact.Redactor
		w    *redact.Writer
	}
	s := redact.NewSecret(secret)
	c := config{name: "shop", s: s, b: redact.NewSecret([]byte(secret)), ps: &s, k: *key, pk: key, r: r, w: w}
	type outer struct{ c *config }
	forms := []string{secret, fmt.Sprint([]byte(secret)[:4])[1:], fmt.Sprintf("%x", secret), fmt.Sprintf("%X", secret), "alice"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for _, v := range []any{c, &c, outer{&c}, &outer{&c}} {
			out := fmt.Sprintf(verb, v)
			for _, f := range forms {
				// The output itself is never printed: it may hold the secret.
				assert.False(t, strings.Contains(out, f), "%s of %T shows a secret", verb, v)
			}
		}
	}
	assert.True(t, c.s.Reveal() == secret, "Reveal gives the value back")
	assert.True(t, bytes.Equal(c.b.Reveal(), []byte(secret)), "Reveal gives the bytes back")
}
