package policyfile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ztkit/ztkit/internal/policyfile"
)

func TestCheckKeys(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		key       bool
	}{
		{"ok", `{"a": {"b": [1, {"c": 2}], "d": 3}}`, false},
		{"duplicate", `{"a": 1, "a": 2}`, true},
		{"nested duplicate", `{"a": [{"b": 1, "b": 1}]}`, true},
		{"upper case", `{"effect": "allow", "EFFECT": "forbid"}`, true},
		{"unicode fold", `{"ſ": 1}`, true},
		{"empty key", `{"": 1}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policyfile.CheckKeys([]byte(tc.doc))
			assert.Equal(t, tc.key, errors.Is(err, policyfile.ErrKey), "%v", err)
		})
	}
	_, err := policyfile.CheckKeys([]byte(`{"a" 1}`))
	require.Error(t, err)
	assert.NotErrorIs(t, err, policyfile.ErrKey)
}

func TestFieldLine(t *testing.T) {
	doc := []byte("{\n \"id\": \"x\",\n \"routes\": [\"a\",\n  \"b\"],\n \"match\": {\"min_acr\":\n \"mfa\"}}")
	assert.Equal(t, 2, policyfile.FieldLine(doc, 0, "id"))
	assert.Equal(t, 4, policyfile.FieldLine(doc, 0, "routes[1]"))
	assert.Equal(t, 6, policyfile.FieldLine(doc, 0, "match.min_acr"))
	assert.Equal(t, 0, policyfile.FieldLine(doc, 0, "nope"))
	assert.Equal(t, 0, policyfile.FieldLine(doc, 1000, "id"))
}

var errClosed = errors.New("closed")

func TestStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n")
	write := func(s string) { require.NoError(t, os.WriteFile(path, []byte(s), 0o600)) }
	write("1")
	var reports []error
	cfg := policyfile.Config[int]{
		Read: os.ReadFile,
		Compile: func(_ string, data []byte) (*int, error) {
			n, err := strconv.Atoi(string(data))
			return &n, err
		},
		Report:   func(_ context.Context, v *int, err error) { reports = append(reports, err) },
		Closed:   errClosed,
		Interval: time.Hour,
	}
	s, err := policyfile.Watch(t.Context(), path, cfg)
	require.NoError(t, err)
	assert.Equal(t, 1, *s.Load())
	assert.Equal(t, path, s.File())
	assert.NoError(t, s.Reload(t.Context()), "unchanged")
	assert.Empty(t, reports)

	up := s.Updated()
	write("2")
	require.NoError(t, s.Reload(t.Context()))
	<-up
	assert.Equal(t, 2, *s.Load())

	write("x")
	assert.Error(t, s.Reload(t.Context()))
	assert.Error(t, s.LastError())
	assert.NoError(t, s.Reload(t.Context()), "the same bad file is reported once")
	assert.Equal(t, uint64(1), s.ReloadFailures())
	assert.Equal(t, 2, *s.Load(), "the last good policy stays")
	assert.Len(t, reports, 2)

	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	write("3")
	assert.ErrorIs(t, s.Reload(t.Context()), errClosed)
	assert.ErrorIs(t, s.Update(t.Context(), new(int), nil), errClosed)
	assert.Len(t, reports, 2, "nothing reported after Close")
	assert.Equal(t, 2, *s.Load())

	_, err = policyfile.Watch(t.Context(), path+".missing", cfg)
	assert.Error(t, err)
}
