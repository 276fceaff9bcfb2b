package policyfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DecodeError is a problem [Decode] or [DecodeItems] found, at byte
// Offset of the file. Callers turn it into their own policy error.
type DecodeError struct {
	Offset int64
	// Index is the item's position in its array, -1 outside one; Name
	// is the item's name (its ID), when it was decoded that far.
	Index int
	Name  string
	// Key is the top-level key whose value is at fault; may be empty.
	Key string
	// Err is the cause: a JSON error, an [ErrKey] or an error of member.
	Err error
}

func (e *DecodeError) Error() string { return e.Err.Error() }
func (e *DecodeError) Unwrap() error { return e.Err }

// Decode reads data, which must hold one JSON object and nothing else,
// strictly: [CheckKeys] first, then member is called with each top-level
// key and the decoder positioned at its value, which member must consume.
// An unknown key is member's to refuse. Every error is a [*DecodeError].
func Decode(data []byte, member func(key string, dec *json.Decoder) error) error {
	if off, err := CheckKeys(data); err != nil {
		return &DecodeError{Offset: off, Index: -1, Err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return &DecodeError{Offset: dec.InputOffset(), Index: -1, Err: errors.New("want a JSON object")}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return &DecodeError{Offset: dec.InputOffset(), Index: -1, Err: err}
		}
		key, _ := tok.(string)
		if err := member(key, dec); err != nil {
			var de *DecodeError
			if errors.As(err, &de) {
				return err
			}
			return &DecodeError{Offset: dec.InputOffset(), Index: -1, Key: key, Err: err}
		}
	}
	if _, err := dec.Token(); err != nil {
		return &DecodeError{Offset: dec.InputOffset(), Index: -1, Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &DecodeError{Offset: dec.InputOffset(), Index: -1, Err: errors.New("data after the policy object")}
	}
	return nil
}

// DecodeItems decodes, from dec positioned at a JSON array in data (the
// whole file), each element strictly (unknown fields refused) into a new
// T, appending it to *items and the offset where it starts to *starts, for
// [FieldLines]. name returns an item's name for errors. An error is a
// [*DecodeError] with the item's index, or an error about the array itself.
func DecodeItems[T any](dec *json.Decoder, data []byte, what string, items *[]T, starts *[]int64, name func(*T) string) error {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return fmt.Errorf("%s must be an array", what)
	}
	for dec.More() {
		start := SkipSpace(data, dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return &DecodeError{Offset: dec.InputOffset(), Index: len(*items), Err: err}
		}
		idec := json.NewDecoder(bytes.NewReader(raw))
		idec.DisallowUnknownFields()
		var v T
		if err := idec.Decode(&v); err != nil {
			return &DecodeError{Offset: start + idec.InputOffset(), Index: len(*items), Name: name(&v), Err: err}
		}
		*items = append(*items, v)
		*starts = append(*starts, start)
	}
	_, err := dec.Token() // ]
	return err
}
