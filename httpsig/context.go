package httpsig

import "context"

// verifiedKey is the context key of a [Verified].
type verifiedKey struct{}

// NewContext returns a copy of ctx that carries v, a signature a [Verifier]
// accepted (package middleware's VerifySignatures puts the request's there).
func NewContext(ctx context.Context, v *Verified) context.Context {
	return context.WithValue(ctx, verifiedKey{}, v)
}

// FromContext returns the signature [NewContext] put in ctx: its label, key
// id, algorithm, parameters and covered components. ok is false when there is
// none (or it is nil). The Verified is shared: do not change it.
func FromContext(ctx context.Context) (v *Verified, ok bool) {
	v, ok = ctx.Value(verifiedKey{}).(*Verified)
	return v, ok && v != nil
}
