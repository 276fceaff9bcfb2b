package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/ztkit/ztkit/httpsig"
)

// stripeHeader is a parsed Stripe-Signature header.
type stripeHeader struct {
	t    string // the timestamp's text, as signed
	ts   time.Time
	n    int
	sigs [MaxSignatures][sha256.Size]byte
}

// v1HexLen is the length of a Stripe v1 signature, in hex.
const v1HexLen = 2 * sha256.Size

// parseStripeSignature parses a Stripe-Signature header, a comma-separated
// list of "key=value" pairs: exactly one t (Unix seconds) and the v1
// signatures (hex HMAC-SHA256); v0 and unknown keys are skipped but count
// toward MaxSignatures. Spaces and tabs around a pair are ignored.
func parseStripeSignature(s string, dst *stripeHeader) error {
	entries := 0
	seenT := false
	for {
		var pair string
		i := indexByte(s, ',')
		if i >= 0 {
			pair, s = s[:i], s[i+1:]
		} else {
			pair = s
		}
		pair = trimOWS(pair)
		eq := indexByte(pair, '=')
		if eq <= 0 {
			return refusal(httpsig.ErrMalformed, "Stripe-Signature element is not key=value")
		}
		k, val := pair[:eq], pair[eq+1:]
		if k == "t" {
			if seenT {
				return refusal(httpsig.ErrMalformed, "Stripe-Signature has more than one t")
			}
			ts, ok := parseTimestamp(val)
			if !ok {
				return refusal(httpsig.ErrMalformed, "Stripe-Signature t is not a positive integer")
			}
			seenT, dst.t, dst.ts = true, val, ts
		} else {
			entries++
			if entries > MaxSignatures {
				return refusal(httpsig.ErrMalformed, "too many signatures")
			}
			if k == "v1" {
				if len(val) != v1HexLen {
					return refusal(httpsig.ErrMalformed, "v1 signature of the wrong size")
				}
				var src [v1HexLen]byte
				copy(src[:], val)
				if _, err := hex.Decode(dst.sigs[dst.n][:], src[:]); err != nil {
					return refusal(httpsig.ErrMalformed, "v1 signature is not hex")
				}
				dst.n++
			}
		}
		if i < 0 {
			break
		}
	}
	if !seenT {
		return refusal(httpsig.ErrMalformed, "Stripe-Signature has no t")
	}
	return nil
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func (v *Verifier) verifyStripe(ctx context.Context, h http.Header, body []byte) (*Message, error) {
	raw, err := singleHeader(h, HeaderStripeSignature, MaxSignatureHeaderLen)
	if err != nil {
		return nil, err
	}
	var sh stripeHeader
	if err := parseStripeSignature(raw, &sh); err != nil {
		return nil, err
	}
	if sh.n == 0 {
		return nil, refusal(httpsig.ErrMissing, "no v1 signature")
	}
	if err := v.checkWindow(sh.ts); err != nil {
		return nil, err
	}
	var keyBuf [maxKeys]*key
	keys, err := v.ring.keys(keyBuf[:0], v.now())
	if err != nil {
		return nil, err
	}
	match := false
	for _, k := range keys {
		var sum [sha256.Size]byte
		macStripe(k, sh.t, body, sum[:0])
		for i := 0; i < sh.n; i++ {
			if hmac.Equal(sum[:], sh.sigs[i][:]) {
				match = true
			}
		}
		if match {
			break
		}
	}
	if !match {
		return nil, refusal(httpsig.ErrInvalid, "no signature verifies")
	}
	// The replay record is the signed content itself (t and the body's hash),
	// not one of the signatures: a header signed under two keys must not be
	// accepted twice, once per signature.
	digest := sha256.Sum256(body)
	var jti [maxTimestampLen + 1 + 43]byte
	j := append(append(jti[:0], sh.t...), '.')
	j = base64.RawURLEncoding.AppendEncode(j, digest[:])
	if err := v.checkReplay(ctx, string(j), sh.ts); err != nil {
		return nil, err
	}
	return &Message{timestamp: sh.ts, scheme: SchemeStripeV1}, nil
}

// macStripe appends HMAC-SHA256(k, t "." body) to dst.
func macStripe(k *key, t string, body []byte, dst []byte) []byte {
	var buf [maxTimestampLen + 1]byte
	return k.sum(dst, append(append(buf[:0], t...), '.'), body)
}
