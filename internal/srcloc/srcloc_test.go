package srcloc_test

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/srcloc"
)

func TestLine(t *testing.T) {
	data := []byte("a\nbc\n\nd")
	for off, want := range map[int64]int{-5: 1, 0: 1, 1: 1, 2: 2, 4: 2, 5: 3, 6: 4, 7: 4, 100: 4} {
		assert.Equal(t, want, srcloc.Line(data, off), "offset %d", off)
	}
	assert.Equal(t, 1, srcloc.Line(nil, 3))
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		loc  srcloc.Loc
		want string
	}{
		{srcloc.Loc{File: "p.json", Line: 12, Kind: "rule", Index: 3, Name: "pay", Field: "routes[0]"}, `x: p.json:12: rule "pay" (#3): routes[0]: cause`},
		{srcloc.Loc{File: "p.json", Index: -1}, `x: p.json: cause`},
		{srcloc.Loc{Line: 4, Index: -1, Field: "acr_levels[1]"}, `x: line 4: acr_levels[1]: cause`},
		{srcloc.Loc{Kind: "case", Index: 0, Name: `a "quoted" name`}, `x: case "a \"quoted\" name" (#0): cause`},
		{srcloc.Loc{Index: -1}, `x: cause`},
	} {
		assert.Equal(t, tt.want, tt.loc.Format("x: ", "cause"))
	}
}

func TestReadLimited(t *testing.T) {
	data, tooLarge, err := srcloc.ReadLimited(strings.NewReader("12345"), 5)
	require.NoError(t, err)
	assert.False(t, tooLarge)
	assert.Equal(t, "12345", string(data))

	data, tooLarge, err = srcloc.ReadLimited(strings.NewReader("123456"), 5)
	require.NoError(t, err)
	assert.True(t, tooLarge)
	assert.Nil(t, data)

	boom := errors.New("boom")
	_, _, err = srcloc.ReadLimited(iotest.ErrReader(boom), 5)
	assert.ErrorIs(t, err, boom)
}
