package secrets_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/ztkit/ztkit/secrets"
)

func attributeKey(k string) attribute.Key { return attribute.Key(k) }

const canary = "canary-7f3c9a1e-secret-value"

func TestSecretNeverPrintsItsValue(t *testing.T) {
	s := secrets.NewSecret(map[string]string{"password": canary}, secrets.Lease{ID: "lease/1", ExpiresAt: time.Now().Add(time.Hour)})
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		assert.Equal(t, "[REDACTED]", fmt.Sprintf(verb, s), verb)
		out := fmt.Sprintf(verb, []any{s, *s, map[string]any{"k": s}})
		// Never the value itself in a failure message.
		assert.False(t, strings.Contains(out, "canary"), verb)
	}
	j, err := json.Marshal(map[string]any{"s": s})
	require.NoError(t, err)
	assert.JSONEq(t, `{"s":"[REDACTED]"}`, string(j))

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "secret", s, slog.Any("again", s))
	assert.False(t, strings.Contains(buf.String(), "canary"))
	assert.Contains(t, buf.String(), "[REDACTED]")

	v, ok := s.Reveal("password")
	assert.True(t, ok)
	assert.True(t, v == canary, "Reveal returns the value")
	_, ok = s.Reveal("nope")
	assert.False(t, ok)
	assert.Equal(t, []string{"password"}, s.Fields())
	assert.Equal(t, "lease/1", s.Lease().ID)
}

func TestSecretCopiesItsFields(t *testing.T) {
	f := map[string]string{"k": "a"}
	s := secrets.NewSecret(f, secrets.Lease{})
	f["k"] = "b"
	v, _ := s.Reveal("k")
	assert.True(t, v == "a")
}

func TestNilSecret(t *testing.T) {
	var s *secrets.Secret
	_, ok := s.Reveal("x")
	assert.False(t, ok)
	assert.Nil(t, s.Fields())
	assert.Equal(t, secrets.Lease{}, s.Lease())
	assert.NotPanics(t, func() { _ = fmt.Sprint(s) })
}

func TestLeaseTTL(t *testing.T) {
	now := time.Now()
	assert.Zero(t, secrets.Lease{IssuedAt: now}.TTL())
	assert.Equal(t, time.Minute, secrets.Lease{IssuedAt: now, ExpiresAt: now.Add(time.Minute)}.TTL())
}

// captureT records what a testify assertion would print on failure.
type captureT struct{ out strings.Builder }

func (c *captureT) Errorf(format string, args ...any) { fmt.Fprintf(&c.out, format, args...) }

// Printers that read a value by reflection, without calling its methods,
// must find no secret in a Secret either: fmt prints a struct's unexported
// fields that way, and testify's failure diff (spew, methods disabled) does it
// for every field, so assert.Equal on two secrets would print both values.
func TestSecretValueIsNotReachableByReflectionPrinters(t *testing.T) {
	a := secrets.NewSecret(map[string]string{"password": canary + "-a"}, secrets.Lease{ID: "lease/1"})
	b := secrets.NewSecret(map[string]string{"password": canary + "-b"}, secrets.Lease{ID: "lease/1"})
	type holder struct{ s secrets.Secret } // an unexported field: fmt cannot call its methods
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out := fmt.Sprintf(verb, holder{s: *a})
		assert.False(t, strings.Contains(out, canary), "fmt %s of a struct holding a Secret", verb)
	}
	var c captureT
	assert.Equal(&c, a, b)
	assert.NotEmpty(t, c.out.String(), "the assertion must fail")
	assert.False(t, strings.Contains(c.out.String(), canary), "testify's failure output of two Secrets")
	var c2 captureT
	assert.Equal(&c2, *a, *b)
	assert.False(t, strings.Contains(c2.out.String(), canary), "testify's failure output of two Secret values")
}
