// Package srcloc locates problems in the text files ztkit reads (policy
// files, what-if tables) for error messages: the line of a byte offset,
// the "file:line: rule "id" (#3): field: cause" form that editors and CI
// annotate, and reads bounded in size.
package srcloc

import (
	"bytes"
	"io"
	"strconv"
	"strings"
)

// Line returns the 1-based line of byte offset off in data, clamping off
// into data.
func Line(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// Loc is where a problem is: each part is left out of the message when
// zero (Index: when negative).
type Loc struct {
	// File is the file's name; Line the 1-based line in it.
	File string
	Line int
	// Kind names what Index counts, such as "rule" or "case"; Name is that
	// item's ID or name.
	Kind  string
	Index int
	Name  string
	// Field is the offending key, such as "routes[1]".
	Field string
}

// Format returns prefix, the location and cause, as in
// `authz: policy.json:12: rule "pay" (#3): routes[0]: bad route`.
func (l Loc) Format(prefix, cause string) string {
	var b strings.Builder
	b.WriteString(prefix)
	switch {
	case l.File != "" && l.Line > 0:
		b.WriteString(l.File + ":" + strconv.Itoa(l.Line) + ": ")
	case l.File != "":
		b.WriteString(l.File + ": ")
	case l.Line > 0:
		b.WriteString("line " + strconv.Itoa(l.Line) + ": ")
	}
	if l.Index >= 0 {
		b.WriteString(l.Kind + " " + strconv.Quote(l.Name) + " (#" + strconv.Itoa(l.Index) + "): ")
	}
	if l.Field != "" {
		b.WriteString(l.Field + ": ")
	}
	b.WriteString(cause)
	return b.String()
}

// ReadLimited reads r to its end, or to limit bytes and one more: tooLarge
// reports that r holds more than limit bytes, and data is then not returned.
func ReadLimited(r io.Reader, limit int64) (data []byte, tooLarge bool, err error) {
	data, err = io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(data)) > limit {
		return nil, true, nil
	}
	return data, false, nil
}
