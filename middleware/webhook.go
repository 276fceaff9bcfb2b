package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/webhook"
)

// WebhookVerifier verifies a webhook from its headers and its raw body, and
// returns what it learned of it, or an error matching one of the httpsig
// sentinels (httpsig.ErrMissing and the rest). *webhook.Verifier is one.
type WebhookVerifier interface {
	Verify(ctx context.Context, h http.Header, body []byte) (*webhook.Message, error)
}

// WebhookOption configures [VerifyWebhooks].
type WebhookOption interface {
	applyWebhook(*webhookConfig)
}

type webhookConfig struct {
	maxBody int64
	err     error
}

type webhookOptionFunc func(*webhookConfig)

func (f webhookOptionFunc) applyWebhook(c *webhookConfig) { f(c) }

// WithMaxBody sets the largest body, in bytes, [VerifyWebhooks] reads; a
// longer one is refused with 400 invalid_request without being read further,
// and the connection is closed after the answer. The default is the
// verifier's own limit when it reports one (webhook.Verifier.MaxBodyBytes),
// [DefaultMaxBody] (1 MiB) otherwise. Zero or a negative n makes
// VerifyWebhooks fail with an error matching authn.ErrInvalidConfig.
func WithMaxBody(n int64) WebhookOption {
	return webhookOptionFunc(func(c *webhookConfig) {
		if n <= 0 {
			c.err = errors.Join(c.err, fmt.Errorf("%w: middleware: WithMaxBody needs a positive size", authn.ErrInvalidConfig))
			return
		}
		c.maxBody = n
	})
}

// VerifyWebhooks returns net/http middleware that lets through only the
// webhooks v accepts (Standard Webhooks, Stripe-Signature: package webhook),
// with what v learned of the message in the request's context
// (webhook.FromContext). It reads the body once, at most [WithMaxBody]
// bytes, verifies the signature over exactly those bytes, and gives the next
// handler the same bytes as its r.Body (and GetBody).
//
// Every other request is refused, recorded and logged by g
// ([guard.Guard.Refuse], stage "signature"), and answered as [Refuse]
// answers, by the sentinel the error of v matches, as [VerifySignatures]
// does: 401 signature_missing, 400 signature_malformed, 401
// signature_invalid, 401 signature_expired (a timestamp outside the
// tolerance), 401 signature_replayed (a webhook id seen before), 503
// signature_unavailable (the secrets source or the replay store cannot
// answer), 500 internal otherwise; a body that is too long or cannot be read
// is refused with 400 invalid_request. A sender retries a webhook on any
// answer but 2xx, so a refused replay costs it nothing.
//
// A service that receives only webhooks (payment provider callbacks: no
// mTLS, no token) builds g with guard.NewRecorder, which needs no
// authenticator and records refusals; its Check refuses everything, so it
// cannot let an unauthenticated request through other middleware by
// mistake.
//
// It fails with an error matching authn.ErrInvalidConfig when g or v is nil or
// an option is invalid.
func VerifyWebhooks(g *guard.Guard, v WebhookVerifier, opts ...WebhookOption) (func(http.Handler) http.Handler, error) {
	if g == nil || v == nil {
		return nil, fmt.Errorf("%w: middleware: VerifyWebhooks needs a guard and a verifier", authn.ErrInvalidConfig)
	}
	c := webhookConfig{maxBody: DefaultMaxBody}
	if l, ok := v.(interface{ MaxBodyBytes() int64 }); ok && l.MaxBodyBytes() > 0 {
		c.maxBody = l.MaxBodyBytes()
	}
	for _, o := range opts {
		if o != nil {
			o.applyWebhook(&c)
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
			body, err := readBody(w, r, c.maxBody)
			if err != nil {
				refuseBody(g, w, r, start, err)
				return
			}
			msg, err := v.Verify(r.Context(), r.Header, body)
			if err == nil && msg == nil {
				err = errors.New("middleware: the verifier accepted no message and returned no error")
			}
			if err != nil {
				refuseSignature(g, w, r, start, err, "")
				return
			}
			next.ServeHTTP(w, r.WithContext(webhook.NewContext(r.Context(), msg)))
		})
	}, nil
}
