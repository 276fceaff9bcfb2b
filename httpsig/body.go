package httpsig

import (
	"bytes"
	"io"
)

// bufferedBody is a body read for its digest and handed back: one
// allocation where io.NopCloser(bytes.NewReader(b)) makes two.
type bufferedBody struct{ bytes.Reader }

// Close does nothing.
func (*bufferedBody) Close() error { return nil }

func newBufferedBody(b []byte) io.ReadCloser {
	rb := &bufferedBody{}
	rb.Reset(b)
	return rb
}
