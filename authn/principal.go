package authn

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/ztkit/ztkit/tokens"
)

// Binding says what an access token IS bound to. Its names, "none", "dpop"
// and "mtls", are the words ztkit uses for a token's binding everywhere: in
// logs and span attributes, in authztest case files and in the ztkit CLI.
// What a rule REQUIRES of the binding is another type,
// authz.BindingRequirement, whose words are "any", "dpop", "mtls" and
// "bound" (dpop or mtls).
type Binding uint8

// Bindings.
const (
	// NoBinding ("none"): a bearer token, or no token.
	NoBinding Binding = iota
	// BoundToDPoPKey ("dpop"): the token's cnf.jkt matched the request's DPoP proof (RFC 9449).
	BoundToDPoPKey
	// BoundToCertificate ("mtls"): the token's cnf.x5t#S256 matched the TLS client certificate (RFC 8705).
	BoundToCertificate
)

// String names the binding: "none", "dpop" or "mtls".
func (b Binding) String() string {
	switch b {
	case BoundToDPoPKey:
		return "dpop"
	case BoundToCertificate:
		return "mtls"
	}
	return "none"
}

// PrincipalKind says whether the principal acts for an end user or only for
// a workload. Its names, "workload" and "user", are the words ztkit uses for
// it everywhere (logs, span attribute ztkit.authn.principal_kind, policy and
// case files). What a rule requires of it is authz.KindRequirement.
type PrincipalKind uint8

// Principal kinds.
const (
	// WorkloadKind ("workload"): a service acting for itself (mTLS, a
	// JWT-SVID, or a client-credentials token whose subject is the client).
	WorkloadKind PrincipalKind = iota
	// UserKind ("user"): a token issued for a person (its subject is not the client).
	UserKind
)

// String names the kind: "workload" or "user".
func (k PrincipalKind) String() string {
	if k == UserKind {
		return "user"
	}
	return "workload"
}

// Method is one way a request proved who it is.
type Method uint8

// Methods, combined as a bit set in [Principal.Methods].
const (
	MethodMTLS    Method = 1 << iota // an X.509-SVID client certificate
	MethodJWTSVID                    // a JWT-SVID
	MethodBearer                     // an access token with the Bearer scheme
	MethodDPoP                       // an access token with a DPoP proof
)

// Principal is who is calling, from whichever proofs the request carried. It
// holds no token, proof or key material, and its LogValue leaves out the
// subject, which may identify a customer.
//
// A Principal in a request's context has been verified; treat it as read-only.
type Principal struct {
	// Peer is the SPIFFE ID of the mTLS client certificate; zero without mTLS.
	Peer spiffeid.ID
	// Workload is the SPIFFE ID of a verified JWT-SVID; zero without one.
	Workload spiffeid.ID

	// Issuer, Subject, ClientID, Audience and TokenID come from the access token.
	Issuer   string
	Subject  string
	ClientID string
	Audience []string
	TokenID  string
	// Scopes, Roles and Groups are what the token grants.
	Scopes, Roles, Groups []string
	// ACR, AMR and AuthTime say how the subject authenticated.
	ACR      string
	AMR      []string
	AuthTime time.Time
	// Expiry is when the token stops being valid; zero without a token.
	Expiry time.Time
	// Actor is the token's act claim (RFC 8693 §4.1): the workloads acting
	// for Subject, nearest first. Actor.Subject is the current actor (for a
	// token from a token exchange, the workload it was issued to), and
	// Actor.Actor the one before it; [Principal.ActorID] is the current
	// actor as a SPIFFE ID. nil when the token has no act claim or there is
	// no token. Base decisions on the current actor only: prior actors are
	// informational (RFC 8693 §4.1). authz rules require it with "actors".
	Actor *tokens.Actor

	// Binding is how the token is bound; KeyThumbprint is the DPoP key's
	// RFC 7638 thumbprint when it is bound to one.
	Binding       Binding
	KeyThumbprint string
	// Kind says whether the principal acts for an end user.
	Kind PrincipalKind
	// Methods are the ways the request authenticated.
	Methods Method
}

// ActorID returns the current actor (the outermost act claim,
// Actor.Subject) as a SPIFFE ID, or the zero ID when the token names no
// actor or its subject is not a SPIFFE ID. A nil principal has none.
func (p *Principal) ActorID() spiffeid.ID {
	if p == nil || p.Actor == nil {
		return spiffeid.ID{}
	}
	id, err := spiffeid.FromString(p.Actor.Subject)
	if err != nil {
		return spiffeid.ID{}
	}
	return id
}

// HasScope reports whether the token grants scope s. A nil principal has none.
func (p *Principal) HasScope(s string) bool { return p != nil && slices.Contains(p.Scopes, s) }

// HasRole reports whether the token carries role r. A nil principal has none.
func (p *Principal) HasRole(r string) bool { return p != nil && slices.Contains(p.Roles, r) }

// Has reports whether the request authenticated with m. A nil principal did not.
func (p *Principal) Has(m Method) bool { return p != nil && p.Methods&m != 0 }

// LogValue logs the principal without personal data: peer and workload IDs,
// client, kind, binding, scopes, methods, and the actor chain ("act", as
// [tokens.Actor.LogValue] writes it: SPIFFE IDs nearest first, any other
// subject as [REDACTED]). Subject, token ID and key thumbprint are left out.
// A nil principal logs as an empty group.
func (p *Principal) LogValue() slog.Value {
	if p == nil {
		return slog.GroupValue()
	}
	attrs := make([]slog.Attr, 0, 8)
	if !p.Peer.IsZero() {
		attrs = append(attrs, slog.String("peer", p.Peer.String()))
	}
	if !p.Workload.IsZero() {
		attrs = append(attrs, slog.String("workload", p.Workload.String()))
	}
	if p.ClientID != "" {
		attrs = append(attrs, slog.String("client_id", p.ClientID), slog.String("scope", strings.Join(p.Scopes, " ")))
	}
	if p.Actor != nil {
		attrs = append(attrs, slog.Any("act", p.Actor))
	}
	attrs = append(attrs, slog.String("kind", p.Kind.String()), slog.String("binding", p.Binding.String()), slog.String("methods", p.Methods.String()))
	return slog.GroupValue(attrs...)
}

// String lists the methods: "mtls+dpop", for example, or "none". It does
// not allocate: every combination of the four methods is a constant.
func (m Method) String() string {
	return methodNames[m&(MethodMTLS|MethodJWTSVID|MethodBearer|MethodDPoP)] // bits beyond the four are not methods
}

// methodNames holds the name of each of the 16 combinations of methods, in
// the order mtls, jwt-svid, bearer, dpop.
var methodNames = [...]string{
	"none", "mtls", "jwt-svid", "mtls+jwt-svid", "bearer", "mtls+bearer", "jwt-svid+bearer", "mtls+jwt-svid+bearer",
	"dpop", "mtls+dpop", "jwt-svid+dpop", "mtls+jwt-svid+dpop", "bearer+dpop", "mtls+bearer+dpop", "jwt-svid+bearer+dpop",
	"mtls+jwt-svid+bearer+dpop",
}

type principalKey struct{}

// NewContext returns a copy of ctx that carries p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the principal that the authentication
// middleware put in ctx, and whether there is one.
func PrincipalFromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
