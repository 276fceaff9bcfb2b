package middleware

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dunglas/httpsfv"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/httpsig/digest"
	"github.com/ztkit/ztkit/inbound"
)

// DefaultMaxBody is the largest request body, in bytes, that [VerifyWebhooks]
// reads to verify a webhook's signature, unless [WithMaxBody] says otherwise:
// 1 MiB.
const DefaultMaxBody = 1 << 20

// maxAcceptSignature bounds the Accept-Signature value of
// [WithAcceptSignature].
const maxAcceptSignature = 4096

// signatureRefusal is the refusal of a signature verification that failed with
// err, an error of package httpsig or of package webhook (which match the
// same sentinels), by the sentinel it matches. The order matters: an
// outage first, then the more specific conditions.
func signatureRefusal(err error) guard.Refusal {
	is := func(target error) bool { return errors.Is(err, target) }
	const invalid = "The request signature is not valid."
	switch {
	case is(httpsig.ErrUnavailable):
		return guard.Refusal{Class: guard.ClassUnavailable, Reason: guard.ReasonSignatureUnavailable, Detail: "Signature verification is temporarily unavailable."}
	case is(httpsig.ErrDigestMismatch), is(digest.ErrMismatch):
		return guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonDigestMismatch, Detail: "The request body does not match its signed digest."}
	case is(httpsig.ErrReplayed):
		return guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonSignatureReplayed, Detail: "The request signature was already used."}
	case is(httpsig.ErrExpired):
		return guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonSignatureExpired, Detail: "The request signature has expired."}
	case is(httpsig.ErrUnknownKey):
		return guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonSignatureUnknownKey, Detail: invalid}
	case is(httpsig.ErrInsufficient):
		return guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonSignatureInsufficient, Detail: "The request signature does not cover what this resource requires."}
	case is(httpsig.ErrMalformed), is(digest.ErrMalformed), is(digest.ErrUnsupported):
		return guard.Refusal{Class: guard.ClassBadRequest, Reason: guard.ReasonSignatureMalformed, Detail: "The request signature is malformed."}
	case is(httpsig.ErrMissing), is(digest.ErrMissing):
		return guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonSignatureMissing, Detail: "A request signature is required."}
	case is(httpsig.ErrInvalid):
		return guard.Refusal{Class: guard.ClassUnauthenticated, Reason: guard.ReasonSignatureInvalid, Detail: invalid}
	}
	// Anything else is a fault on the server's side; refuse without detail.
	return guard.Refusal{Class: guard.ClassInternal, Reason: guard.ReasonInternal, Detail: "Signature verification failed."}
}

// refuseSignature records the refusal of r's signature with cause err on g,
// and answers it; a signature_missing refusal carries acceptSignature, when
// set, in an Accept-Signature field (RFC 9421 §5.1).
func refuseSignature(g *guard.Guard, w http.ResponseWriter, r *http.Request, start time.Time, err error, acceptSignature string) {
	req := inbound.FromHTTP(r)
	ref := g.Refuse(r.Context(), &req, signatureRefusal(err), start, err)
	if ref.Reason == guard.ReasonSignatureMissing && acceptSignature != "" {
		w.Header().Set("Accept-Signature", acceptSignature)
	}
	Refuse(w, r, ref)
}

// refuseBody records and answers the refusal of a request whose body could
// not be read within the limit: 400 invalid_request.
func refuseBody(g *guard.Guard, w http.ResponseWriter, r *http.Request, start time.Time, err error) {
	req := inbound.FromHTTP(r)
	detail := "The request body could not be read."
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		detail = "The request body is too large."
	}
	ref := g.Refuse(r.Context(), &req, guard.Refusal{Class: guard.ClassBadRequest, Reason: guard.ReasonInvalidRequest, Detail: detail}, start, err)
	Refuse(w, r, ref)
}

// readBody reads r's body, at most max bytes (a longer one fails with an
// *http.MaxBytesError, and the connection is closed after the response), and
// puts the bytes back as r's body, so that the next handler reads them as
// they came. A request without a body gives nil.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > max {
		return nil, &http.MaxBytesError{Limit: max}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	_ = r.Body.Close()
	if err != nil {
		return nil, err
	}
	restoreBody(r, body)
	return body, nil
}

// restoreBody makes body r's body, readable again through GetBody.
func restoreBody(r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
}

// checkAcceptSignature checks that v is an Accept-Signature value (RFC 9421
// §5.1): a Dictionary whose members are Inner Lists of Strings.
func checkAcceptSignature(v string) error {
	if v == "" || len(v) > maxAcceptSignature {
		return fmt.Errorf("%w: middleware: Accept-Signature must be 1 to %d bytes", authn.ErrInvalidConfig, maxAcceptSignature)
	}
	d, err := httpsfv.UnmarshalDictionary([]string{v})
	if err != nil {
		return fmt.Errorf("%w: middleware: Accept-Signature is not a structured-field dictionary: %w", authn.ErrInvalidConfig, err)
	}
	for _, name := range d.Names() {
		m, _ := d.Get(name)
		il, ok := m.(httpsfv.InnerList)
		if !ok {
			return fmt.Errorf("%w: middleware: Accept-Signature member %q is not an inner list of components", authn.ErrInvalidConfig, name)
		}
		for _, it := range il.Items {
			if _, ok := it.Value.(string); !ok {
				return fmt.Errorf("%w: middleware: Accept-Signature member %q has a component that is not a string", authn.ErrInvalidConfig, name)
			}
		}
	}
	return nil
}
