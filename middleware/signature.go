package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/httpsig"
)

// RequestVerifier verifies the RFC 9421 HTTP message signature of a request
// and returns the signature it accepted, or an error matching one of the
// httpsig sentinels (httpsig.ErrMissing and the rest). When the signature
// covers content-digest, it reads the body, checks it and puts the bytes it
// checked back in r.Body. *httpsig.Verifier is one.
type RequestVerifier interface {
	VerifyRequest(ctx context.Context, r *http.Request) (*httpsig.Verified, error)
}

// SignatureOption configures [VerifySignatures].
type SignatureOption interface {
	applySignature(*signatureConfig)
}

type signatureConfig struct {
	acceptSignature string
	unsignedBody    bool
	err             error
}

type signatureOptionFunc func(*signatureConfig)

func (f signatureOptionFunc) applySignature(c *signatureConfig) { f(c) }

// WithAcceptSignature sends value as an Accept-Signature field (RFC 9421
// §5.1) with every 401 for a missing signature (signature_missing), to tell
// the client what to sign: a Dictionary of signature labels, each an Inner
// List of the covered components with the parameters to use, such as
//
//	sig1=("@method" "@authority" "@path" "@query" "content-digest");created;nonce;keyid="partner-2026"
//
// [VerifySignatures] fails with an error matching authn.ErrInvalidConfig when
// value is empty, longer than 4 KiB or not such a Dictionary. By default no
// Accept-Signature is sent.
func WithAcceptSignature(value string) SignatureOption {
	return signatureOptionFunc(func(c *signatureConfig) {
		if err := checkAcceptSignature(value); err != nil {
			c.err = errors.Join(c.err, err)
			return
		}
		c.acceptSignature = value
	})
}

// WithInsecureUnsignedBody lets through a request with a body whose
// signature does not cover its Content-Digest, so that the handler reads a
// body nobody signed. By default such a request is refused
// (signature_insufficient): a signature that does not cover the body lets
// anyone on the path replace it. Use it only for a route whose handler
// ignores the body, or checks it some other way.
func WithInsecureUnsignedBody() SignatureOption {
	return signatureOptionFunc(func(c *signatureConfig) { c.unsignedBody = true })
}

// VerifySignatures returns net/http middleware that lets through only the
// requests whose RFC 9421 HTTP message signature v accepts, with the accepted
// signature in the request's context (httpsig.FromContext); a request
// with a body must have it signed, through a covered Content-Digest that
// matches it (RFC 9530; see [WithInsecureUnsignedBody]), and the next handler
// reads the body that was checked. A request that declares no body
// (Content-Length 0) and whose signature covers none reaches the next handler
// with http.NoBody, whatever its r.Body held.
//
// Every other request is refused, recorded and logged by g
// ([guard.Guard.Refuse]: the decision metrics, span attributes and refusal
// log of every refusal, stage "signature"), and answered as [Refuse] answers,
// by the sentinel the error of v matches:
//
//   - httpsig.ErrMissing: 401 signature_missing, with the Accept-Signature
//     field of [WithAcceptSignature];
//   - httpsig.ErrMalformed: 400 signature_malformed, which includes a
//     covered Content-Digest that is malformed or names no supported
//     algorithm, and a body that cannot be read or is longer than v reads
//     (not forgeries, logged at Info);
//   - httpsig.ErrInvalid: 401 signature_invalid;
//   - httpsig.ErrExpired: 401 signature_expired;
//   - httpsig.ErrReplayed: 401 signature_replayed;
//   - httpsig.ErrUnknownKey: 401 signature_unknown_key;
//   - httpsig.ErrDigestMismatch: 401 digest_mismatch;
//   - httpsig.ErrInsufficient, or a body not covered: 401
//     signature_insufficient;
//   - httpsig.ErrUnavailable: 503 signature_unavailable;
//   - anything else: 500 internal.
//
// A 401 for a signature carries no WWW-Authenticate challenge: RFC 9421
// defines no authentication scheme. The middleware authenticates a message,
// not a caller: it puts no [authn.Principal] in the context. To require both
// a token and a signature, wrap it with the middleware of [New] or
// [FromGuard], on the same guard; a service that authenticates messages
// only can record refusals with a guard of guard.NewRecorder.
//
// It fails with an error matching authn.ErrInvalidConfig when g or v is nil or
// an option is invalid.
func VerifySignatures(g *guard.Guard, v RequestVerifier, opts ...SignatureOption) (func(http.Handler) http.Handler, error) {
	if g == nil || v == nil {
		return nil, fmt.Errorf("%w: middleware: VerifySignatures needs a guard and a verifier", authn.ErrInvalidConfig)
	}
	var c signatureConfig
	for _, o := range opts {
		if o != nil {
			o.applySignature(&c)
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r == nil || r.URL == nil {
				http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
				return
			}
			start := time.Now()
			hadBody := hasBody(r)
			verified, err := v.VerifyRequest(r.Context(), r)
			switch {
			case err != nil:
			case verified == nil:
				err = errors.New("middleware: the verifier accepted no signature and returned no error")
			case hadBody && !verified.DigestChecked && !c.unsignedBody:
				err = fmt.Errorf("%w: the signature does not cover the body's content-digest", httpsig.ErrInsufficient)
			}
			if err != nil {
				refuseSignature(g, w, r, start, err, c.acceptSignature)
				return
			}
			if !hadBody && !verified.DigestChecked && r.Body != nil {
				// The request declared no body (Content-Length 0) and
				// none was signed: whatever r.Body holds (a wrapper of
				// the request can leave bytes there), the handler reads
				// none.
				r.Body, r.GetBody = http.NoBody, nil
			}
			next.ServeHTTP(w, r.WithContext(httpsig.NewContext(r.Context(), verified)))
		})
	}, nil
}

// hasBody reports whether r has a body: a positive Content-Length, or a body
// of unknown length (chunked).
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}
