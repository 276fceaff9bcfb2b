package httpsig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/ztkit/ztkit/httpsig/digest"
	"github.com/ztkit/ztkit/internal/redacted"
)

// ErrBodyTooLarge: a [Transport] was given a request whose body is longer
// than it buffers ([WithMaxBufferedBody]), so it cannot compute the body's
// Content-Digest; the request is not sent.
var ErrBodyTooLarge = errors.New("httpsig: request body too large to sign")

// Transport is an [http.RoundTripper] that signs every request it sends
// with a [Signer], the body included: it reads the body once into memory
// (bounded), sets its Content-Digest (RFC 9530), signs the request
// ([Signer.SignRequest], which covers content-digest when the message has
// one, unless the signer's components say otherwise) and hands it to its
// base transport. Each attempt is signed anew, so a redirect the client
// follows is signed for its own target, with its own created and nonce.
//
// Compose it with authz/egress.Transport as its base, so that a request is
// signed only to be sent to a destination the egress allow-list permits:
//
//	t, err := httpsig.NewTransport(egressTransport, signer)
//	client := &http.Client{Transport: t}
//
// The caller's request is never modified (RoundTrip works on a clone); its
// body is read and closed, as [http.RoundTripper] allows. The clone handed to
// the base transport has GetBody set, so that the base can send the body
// again on a retry. A Transport is safe for concurrent use if its signer and
// base are.
type Transport struct {
	base    http.RoundTripper
	signer  *Signer
	algs    []digest.Algorithm
	maxBody int64
}

// TransportOption configures a [Transport].
type TransportOption interface {
	applyTransport(*Transport) error
}

type transportOptionFunc func(*Transport) error

func (f transportOptionFunc) applyTransport(t *Transport) error { return f(t) }

// WithDigestAlgorithms sets the algorithms of the Content-Digest a
// [Transport] computes: one member each, in order. The default is
// digest.SHA256. An unsupported algorithm makes [NewTransport] fail with
// an error matching [ErrInvalidConfig]. No algorithm keeps the default.
func WithDigestAlgorithms(algs ...digest.Algorithm) TransportOption {
	return transportOptionFunc(func(t *Transport) error {
		if len(algs) == 0 {
			return nil
		}
		if _, err := digest.NewHasher(algs...); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		t.algs = append([]digest.Algorithm(nil), algs...)
		return nil
	})
}

// WithMaxBufferedBody sets the longest body, in bytes, a [Transport] reads
// into memory to compute its Content-Digest; a request with a longer body
// fails with [ErrBodyTooLarge] and is not sent. The default is
// [DefaultMaxBodySize], the verifier's default limit. Zero or a negative n
// makes [NewTransport] fail with an error matching [ErrInvalidConfig].
func WithMaxBufferedBody(n int64) TransportOption {
	return transportOptionFunc(func(t *Transport) error {
		if n <= 0 {
			return fmt.Errorf("%w: the maximum buffered body must be positive", ErrInvalidConfig)
		}
		t.maxBody = n
		return nil
	})
}

// NewTransport returns a Transport that signs with signer and sends through
// base (nil means [http.DefaultTransport]). It fails with an error matching
// [ErrInvalidConfig] when signer is nil or an option is invalid.
func NewTransport(base http.RoundTripper, signer *Signer, opts ...TransportOption) (*Transport, error) {
	if signer == nil {
		return nil, fmt.Errorf("%w: transport: nil Signer", ErrInvalidConfig)
	}
	t := &Transport{base: base, signer: signer, algs: []digest.Algorithm{digest.SHA256}, maxBody: DefaultMaxBodySize}
	var errs []error
	for _, o := range opts {
		if o != nil {
			errs = append(errs, o.applyTransport(t))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	return t, nil
}

// RoundTrip signs a clone of req and sends it through the base transport.
// A request with a body, or a POST, PUT or PATCH without one, gets the
// Content-Digest of its body (of empty content when there is none, so that
// the signature says there was none); a Content-Digest the request already
// has, whatever its method, is kept when it matches the body, so that
// signatures already there stay valid, and replaced otherwise. Signatures already on the request are
// kept; one under the signer's label makes [Signer.SignRequest] fail. It fails, without sending, with
// [ErrBodyTooLarge] for a body over the limit, with the error of reading the
// body, or with the error of [Signer.SignRequest].
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req == nil || req.URL == nil {
		closeBody(req)
		return nil, errors.New("httpsig: transport: nil request or URL")
	}
	body, err := t.readBody(req)
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	// A Content-Digest the caller set is checked whatever the method: one
	// left on a request without a body would otherwise be signed as it is.
	has := len(out.Header.Values(digest.ContentDigest)) > 0
	if (body != nil || has || needsDigest(req.Method)) && digest.Verify(body, out.Header.Values(digest.ContentDigest)...) != nil {
		// No Content-Digest, or one that does not match what is sent: ours.
		v, err := digest.Value(body, t.algs...)
		if err != nil { // unreachable: the algorithms were checked
			return nil, fmt.Errorf("httpsig: transport: %w", err)
		}
		out.Header.Set(digest.ContentDigest, v)
	}
	if body != nil {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	if err := t.signer.SignRequest(out); err != nil {
		return nil, err
	}
	return t.base.RoundTrip(out)
}

// readBody reads and closes req's body, at most t.maxBody bytes; nil when
// req has none.
func (t *Transport) readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer closeBody(req)
	if req.ContentLength > t.maxBody {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrBodyTooLarge, req.ContentLength, t.maxBody)
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, t.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("httpsig: transport: reading the body: %w", err)
	}
	if int64(len(b)) > t.maxBody {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, t.maxBody)
	}
	return b, nil
}

// CloseIdleConnections closes the idle connections of the base transport,
// when it has that method (as *http.Transport and egress.Transport do).
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// needsDigest reports whether a request of method without a body still gets
// a Content-Digest, of empty content: the methods whose requests carry
// content.
func needsDigest(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

func closeBody(req *http.Request) {
	if req != nil && req.Body != nil {
		_ = req.Body.Close()
	}
}

// String returns [REDACTED]: a Transport holds its Signer's key.
func (t Transport) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (t Transport) GoString() string { return redacted.Marker }

// Format writes [REDACTED] for every verb.
func (t Transport) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue returns [REDACTED].
func (t Transport) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON returns "[REDACTED]".
func (t Transport) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }
