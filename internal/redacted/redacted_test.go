package redacted_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/redacted"
)

type secret struct{ key []byte }

func (secret) String() string                { return redacted.Marker }
func (secret) GoString() string              { return redacted.Marker }
func (secret) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }
func (secret) LogValue() slog.Value          { return redacted.LogValue() }
func (secret) MarshalJSON() ([]byte, error)  { return redacted.JSON(), nil }

func TestEveryPrintPathHidesTheValue(t *testing.T) {
	s := secret{key: []byte("hunter2-key-material")}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		out := fmt.Sprintf(verb, s)
		assert.Equal(t, redacted.Marker, out, verb)
		out = fmt.Sprintf(verb, &s)
		assert.NotContains(t, out, "hunter2", verb)
	}

	j, err := json.Marshal(map[string]any{"k": s})
	require.NoError(t, err)
	assert.JSONEq(t, `{"k":"[REDACTED]"}`, string(j))

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "k", s)
	assert.Contains(t, buf.String(), `"k":"[REDACTED]"`)
	assert.NotContains(t, buf.String(), "hunter2")
}
