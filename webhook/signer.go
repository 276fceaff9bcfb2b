package webhook

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/ztkit/ztkit/internal/redacted"
)

// Signer signs outgoing webhooks: the sending side of a [Verifier], for
// services that send webhooks, demos and tests. It signs with each of its keys,
// so that a receiver that has either the old or the new key verifies the
// message while the keys rotate.
//
// A Signer is immutable and safe for concurrent use. Create one with
// NewStandardSigner or NewStripeSigner; the zero value signs nothing. It holds
// key material: every way of printing, logging or encoding it yields [REDACTED].
type Signer struct {
	kind verifierKind
	keys []key
}

// NewStandardSigner returns a Signer of Standard Webhooks messages. Each key is
// a "whsec_" secret (a v1 signature) or a "whsk_" private key (a v1a
// signature); at most 8. It returns an error matching ErrInvalidConfig when
// there is no key or one is unusable.
func NewStandardSigner(keys ...string) (*Signer, error) {
	return newSigner(kindStandard, parseStandardSignKey, keys)
}

// NewStripeSigner returns a Signer of Stripe-Signature messages with the
// endpoint secrets given (at most 8), one v1 signature each. It returns an
// error matching ErrInvalidConfig when there is no secret or one is unusable.
func NewStripeSigner(secrets ...string) (*Signer, error) {
	return newSigner(kindStripe, parseStripeKey, secrets)
}

func newSigner(kind verifierKind, parse func(string) (key, error), raw []string) (*Signer, error) {
	r, err := newStaticRing(raw, parse)
	if err != nil {
		return nil, err
	}
	return &Signer{kind: kind, keys: r.static}, nil
}

// Sign signs the message made of id, timestamp and body and sets its headers
// in h, replacing any there: webhook-id, webhook-timestamp and
// webhook-signature for Standard Webhooks, Stripe-Signature for Stripe (which
// does not use id: a Stripe event carries its id in the body). The body must
// be sent exactly as given. It returns an error matching ErrUnsignable for an
// id a Verifier would refuse (Standard Webhooks: empty, over MaxIDLen, with a
// '.' or a character outside printable ASCII), a timestamp before 1970-01-01
// 00:00:01 UTC or a nil h, and leaves h unchanged then.
func (s *Signer) Sign(h http.Header, id string, timestamp time.Time, body []byte) error {
	if s == nil || len(s.keys) == 0 {
		return fmt.Errorf("%w: signer has no key", ErrUnsignable)
	}
	if h == nil {
		return fmt.Errorf("%w: nil header", ErrUnsignable)
	}
	sec := timestamp.Unix()
	if sec <= 0 {
		return fmt.Errorf("%w: timestamp before 1970-01-01T00:00:01Z", ErrUnsignable)
	}
	ts := strconv.FormatInt(sec, 10)
	if s.kind == kindStripe {
		out := make([]byte, 0, 2+len(ts)+len(s.keys)*(4+v1HexLen))
		out = append(append(out, "t="...), ts...)
		for i := range s.keys {
			var sum [sha256.Size]byte
			macStripe(&s.keys[i], ts, body, sum[:0])
			out = hex.AppendEncode(append(out, ",v1="...), sum[:])
		}
		h.Set(HeaderStripeSignature, string(out))
		return nil
	}
	if id == "" || len(id) > MaxIDLen || !validID(id) {
		return fmt.Errorf("%w: webhook-id must be 1 to 256 printable ASCII characters without '.'", ErrUnsignable)
	}
	var out []byte
	var edMsg []byte
	for i := range s.keys {
		if i > 0 {
			out = append(out, ' ')
		}
		k := &s.keys[i]
		switch k.kind {
		case kindHMAC:
			var sum [sha256.Size]byte
			macStandard(k, id, ts, body, sum[:0])
			out = base64.StdEncoding.AppendEncode(append(out, "v1,"...), sum[:])
		case kindEdPrivate:
			if edMsg == nil {
				edMsg = make([]byte, 0, len(id)+len(ts)+2+len(body))
				edMsg = append(append(append(append(append(edMsg, id...), '.'), ts...), '.'), body...)
			}
			out = base64.StdEncoding.AppendEncode(append(out, "v1a,"...), ed25519.Sign(k.priv.Reveal(), edMsg))
		}
	}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, string(out))
	return nil
}

// String returns [REDACTED]: a Signer holds key material.
func (*Signer) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (*Signer) GoString() string { return redacted.Marker }

// Format prints [REDACTED] for every verb.
func (*Signer) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue logs [REDACTED].
func (*Signer) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON encodes [REDACTED].
func (*Signer) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }
