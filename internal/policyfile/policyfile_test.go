package policyfile_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

type item struct {
	ID string `json:"id"`
	N  int    `json:"n"`
}

func TestDecode(t *testing.T) {
	decode := func(doc string) ([]item, []int64, error) {
		var items []item
		var starts []int64
		err := policyfile.Decode([]byte(doc), func(key string, dec *json.Decoder) error {
			if key != "items" {
				return fmt.Errorf("unknown key %q", key)
			}
			return policyfile.DecodeItems(dec, []byte(doc), "items", &items, &starts, func(i *item) string { return i.ID })
		})
		return items, starts, err
	}
	doc := "{\"items\": [\n {\"id\": \"a\", \"n\": 1},\n {\"id\": \"b\"}]}"
	items, starts, err := decode(doc)
	require.NoError(t, err)
	assert.Equal(t, []item{{"a", 1}, {"b", 0}}, items)
	assert.Equal(t, byte('{'), doc[starts[1]])

	for _, tc := range []struct {
		name, doc string
		index     int
		itemName  string
		key       string
		msg       string
	}{
		{"not an object", `[1]`, -1, "", "", "want a JSON object"},
		{"trailing", `{} {}`, -1, "", "", "data after"},
		{"unknown key", `{"other": 1}`, -1, "", "other", `unknown key "other"`},
		{"duplicate", `{"items": [], "items": []}`, -1, "", "", "duplicate key"},
		{"not an array", `{"items": {}}`, -1, "", "items", "items must be an array"},
		{"unknown field", "{\"items\": [{\"id\": \"a\"},\n {\"id\": \"b\", \"m\": 1}]}", 1, "b", "", `unknown field "m"`},
		{"wrong type", `{"items": [{"id": "a", "n": "x"}]}`, 0, "a", "", "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decode(tc.doc)
			var de *policyfile.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.index, de.Index)
			assert.Equal(t, tc.itemName, de.Name)
			assert.Equal(t, tc.key, de.Key)
			assert.Contains(t, err.Error(), tc.msg)
			assert.LessOrEqual(t, de.Offset, int64(len(tc.doc)))
		})
	}
}
