package httpsig_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/httpsig/digest"
)

// errReader fails after the bytes it has, as the body of a client that went
// away does.
type errReader struct{ r io.Reader }

var errGone = errors.New("connection reset by peer")

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, errGone
	}
	return n, err
}

// Only a digest that does not match the body is a forgery
// (ErrDigestMismatch, which middleware logs as an attack); a body the
// verifier cannot check, or a Content-Digest it cannot use, is ErrMalformed.
func TestVerifyBodyRefusals(t *testing.T) {
	good, err := digest.Value([]byte(orderBody), digest.SHA256)
	require.NoError(t, err)
	other, err := digest.Value([]byte("something else"), digest.SHA256)
	require.NoError(t, err)
	tests := []struct {
		name   string
		digest string // the signed Content-Digest
		body   func() io.Reader
		opts   []httpsig.VerifierOption
		want   error
	}{
		{name: "digest of another body", digest: other, want: httpsig.ErrDigestMismatch},
		{name: "body cut short", digest: good, want: httpsig.ErrDigestMismatch,
			body: func() io.Reader { return strings.NewReader(orderBody[:10]) }},
		{name: "body read fails", digest: good, want: httpsig.ErrMalformed,
			body: func() io.Reader { return &errReader{strings.NewReader(orderBody[:10])} }},
		{name: "body larger than the verifier reads", digest: good, want: httpsig.ErrMalformed,
			opts: []httpsig.VerifierOption{httpsig.WithMaxBodySize(int64(len(orderBody) - 1))}},
		{name: "not a dictionary", digest: "sha-256=:", want: httpsig.ErrMalformed},
		{name: "not a byte sequence", digest: "sha-256=abc", want: httpsig.ErrMalformed},
		{name: "wrong length", digest: "sha-256=:AAAA:", want: httpsig.ErrMalformed},
		{name: "only unsupported algorithms", digest: "md5=:HUXZLQLMuI/KZ5KDcJPcOA==:, sha=:hFQ/ghOvN5IcUHwRbjWN0Tk4qCk=:", want: httpsig.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := httptest.NewRequest(http.MethodPost, "https://payments.shop.example/v1/charges?order=o-1&currency=EUR", strings.NewReader(orderBody))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Content-Digest", tt.digest)
			require.NoError(t, f.signer.SignRequest(r))
			if tt.body != nil {
				r.Body = io.NopCloser(tt.body())
			}
			_, err := f.verifier(t, tt.opts...).VerifyRequest(context.Background(), r)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			if tt.want != httpsig.ErrDigestMismatch {
				assert.NotErrorIs(t, err, httpsig.ErrDigestMismatch, "not a forgery")
			}
			assert.True(t, strings.HasPrefix(err.Error(), "httpsig: "), err.Error())
		})
	}
}
