package guard

import (
	"context"
	"time"

	"github.com/ztkit/ztkit/inbound"
)

// The stages of a refusal recorded with [Guard.Refuse], in the log.
const (
	stageSignature = "signature"
	stageTransport = "transport"
)

// Refuse records and logs a refusal decided outside [Guard.Check], by a
// check only the transport can run because it needs the whole message: an
// HTTP message signature (package httpsig) or a webhook signature (package
// webhook), verified by package middleware. The refusal is recorded exactly
// as one of Check's: the decision counter and duration histogram with
// outcome "deny" and ref's reason (the duration measured from start; a zero
// start records the refusal as instantaneous), the attributes of the
// request's span, and one log record of [WithLogger] at the level of its
// reason (Warn for signature_invalid, signature_replayed and
// digest_mismatch, signs of an attack; Error for a 503 or 500, with err, the
// cause, redacted; Info otherwise), with stage "signature" for the signature
// reasons ([ReasonSignatureMissing] and the rest) and "transport" for any
// other.
//
// ref is taken as a value, so the caller's copy is never changed. A zero
// Class or an empty Reason is a fault of the caller and is recorded as
// [ClassInternal], reason internal, so that a refusal is never lost nor
// turned into something milder; an empty Detail gets the fixed sentence of
// its class. Refuse returns the refusal as recorded, for the transport to
// answer with. A nil Guard answers as Check does; a nil ctx or req is
// recorded with an empty description.
func (g *Guard) Refuse(ctx context.Context, req *inbound.Request, ref Refusal, start time.Time, err error) *Refusal {
	if g == nil {
		return nilGuard()
	}
	if ctx == nil {
		ctx = context.Background() // only to record the refusal
	}
	if req == nil {
		req = &inbound.Request{}
	}
	if start.IsZero() {
		start = time.Now()
	}
	if ref.Class == 0 || ref.Class > ClassRateLimited || ref.Reason == ReasonNone {
		ref.Class, ref.Reason, ref.Detail = ClassInternal, ReasonInternal, ""
	}
	if ref.Detail == "" {
		ref.Detail = classDetail(ref.Class)
	}
	ref.Challenges = append([]string(nil), ref.Challenges...)
	g.tel.record(ctx, req, start, false, ref.Reason, nil, "")
	g.refusals.outside(ctx, req, &ref, err)
	return &ref
}

// classDetail is the public sentence of a refusal of class c whose caller
// gave none.
func classDetail(c Class) string {
	switch c {
	case ClassUnauthenticated:
		return "Authentication is required."
	case ClassPermissionDenied:
		return "The caller is not allowed to make this request."
	case ClassBadRequest:
		return "The request is malformed."
	case ClassUnavailable:
		return "Authentication is temporarily unavailable."
	case ClassRateLimited:
		return "Too many requests."
	}
	return "Authentication failed."
}
