package authn

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/internal/fifo"
	"github.com/ztkit/ztkit/internal/httphdr"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// TokenRequirement says which token a route requires.
type TokenRequirement uint8

// Token requirements.
const (
	// NoToken: the route requires no token; one that is sent is not read.
	NoToken TokenRequirement = iota
	// AccessToken: an access token, DPoP-bound, or as Bearer where the
	// dpop.RequestVerifier accepts Bearer.
	AccessToken
	// DPoPBoundToken: an access token bound to the request's DPoP proof.
	DPoPBoundToken
	// JWTSVID: a JWT-SVID in `Authorization: Bearer` (SPIFFE JWT-SVID §7),
	// for workload-to-workload calls that cross a proxy terminating TLS.
	JWTSVID
)

// Policy is what a route accepts. For example, "payments accepts calls from
// workload spiffe://shop.example/checkout carrying a DPoP-bound customer token":
//
//	authn.Policy{Peer: authn.MatchID(checkoutID), Token: authn.DPoPBoundToken}
//
// A Policy that requires neither a peer nor a token is refused by [New]:
// it would admit anyone.
//
// The SPIFFE ID of a caller is authorized by an [IDMatcher] whichever
// way it was proved: Peer for the mTLS client X.509-SVID, Workload for a
// JWT-SVID. Both see only IDs that verified against trusted bundles, which
// may include federated trust domains; the matcher says which of those
// may call this route.
type Policy struct {
	// Peer, when set, requires an mTLS client X.509-SVID that it allows.
	Peer IDMatcher
	// Token is the token the route requires.
	Token TokenRequirement
	// Workload decides which SPIFFE IDs may call with a JWT-SVID (Token
	// JWTSVID). When nil, only the workloads of the audience's trust domain
	// may: the audience given to [WithJWTSVIDs] must then be a SPIFFE ID,
	// and a JWT-SVID of a federated trust domain, though it verifies, is
	// refused with [ErrPeerNotAuthorized]. Allow a federated domain
	// explicitly, as in Or(MatchMemberOf(own), MatchMemberOf(partner)).
	// [New] refuses a Workload matcher on a policy without JWT-SVIDs.
	Workload IDMatcher
}

// Option configures an [Authenticator].
type Option interface{ apply(*Authenticator) }

type optionFunc func(*Authenticator)

func (f optionFunc) apply(a *Authenticator) { f(a) }

// WithX509Bundles sets the trust bundles client X.509-SVIDs are verified
// against; required when the policy has a Peer matcher. Pass the
// workload's X509Source, as for [ServerTLSConfig]. A nil source (a nil
// pointer in the interface included) leaves it unset.
func WithX509Bundles(b x509bundle.Source) Option {
	return optionFunc(func(a *Authenticator) {
		if !isNil(b) {
			a.x509Bundles = b
		}
	})
}

// WithAccessTokens sets how access tokens and DPoP proofs are verified;
// required when the policy asks for an access token.
func WithAccessTokens(rv *dpop.RequestVerifier) Option {
	return optionFunc(func(a *Authenticator) { a.tokens = rv })
}

// WithJWTSVIDs sets the bundles and the audience JWT-SVIDs are verified
// against; required when the policy asks for a JWT-SVID. The audience is
// mandatory (SPIFFE JWT-SVID §3). A nil source (a nil pointer in the
// interface included) leaves the bundles unset, and [New] refuses the policy.
func WithJWTSVIDs(bundles jwtbundle.Source, audience string) Option {
	return optionFunc(func(a *Authenticator) {
		if !isNil(bundles) {
			a.jwtBundles = bundles
		}
		a.jwtAudience = audience
	})
}

// Authenticator establishes the [Principal] of requests, over HTTP or any
// transport that describes them as an inbound.Request, under one
// [Policy]. It is safe for concurrent use.
type Authenticator struct {
	policy      Policy
	x509Bundles x509bundle.Source
	tokens      *dpop.RequestVerifier
	jwtBundles  jwtbundle.Source
	jwtAudience string
	// workloads authorizes JWT-SVIDs: Policy.Workload, or by default the
	// audience's trust domain.
	workloads IDMatcher
	peers     *peerCache
}

// New returns an authenticator for policy.
func New(policy Policy, opts ...Option) (*Authenticator, error) {
	a := &Authenticator{policy: policy, peers: newPeerCache(4096)}
	for _, o := range opts {
		if o != nil {
			o.apply(a)
		}
	}
	switch {
	case policy.Peer == nil && policy.Token == NoToken:
		return nil, fmt.Errorf("%w: the policy requires neither a peer nor a token", ErrInvalidConfig)
	case policy.Peer != nil && a.x509Bundles == nil:
		return nil, fmt.Errorf("%w: a peer policy needs X.509 bundles (WithX509Bundles)", ErrInvalidConfig)
	case (policy.Token == AccessToken || policy.Token == DPoPBoundToken) && a.tokens == nil:
		return nil, fmt.Errorf("%w: an access-token policy needs WithAccessTokens", ErrInvalidConfig)
	case policy.Token == JWTSVID && (a.jwtBundles == nil || a.jwtAudience == ""):
		return nil, fmt.Errorf("%w: a JWT-SVID policy needs bundles and an audience (WithJWTSVIDs)", ErrInvalidConfig)
	case policy.Token > JWTSVID:
		return nil, fmt.Errorf("%w: unknown token requirement", ErrInvalidConfig)
	case policy.Workload != nil && policy.Token != JWTSVID:
		return nil, fmt.Errorf("%w: a Workload matcher applies only to a JWT-SVID policy", ErrInvalidConfig)
	}
	if policy.Token == JWTSVID {
		a.workloads = policy.Workload
		if a.workloads == nil {
			aud, err := spiffeid.FromString(a.jwtAudience)
			if err != nil {
				return nil, fmt.Errorf("%w: the JWT-SVID audience is not a SPIFFE ID, so Policy.Workload must say which workloads may call", ErrInvalidConfig)
			}
			a.workloads = MatchMemberOf(aud.TrustDomain())
		}
	}
	return a, nil
}

// Policy returns the policy the authenticator enforces.
func (a *Authenticator) Policy() Policy { return a.policy }

// Authenticate verifies what the policy requires of r and returns who is
// calling: [Authenticator.AuthenticateInbound] of inbound.FromHTTP(r).
// Refusals match this package's Err values or, for the token and
// proof, those of packages tokens and dpop (a *dpop.NonceError among them).
// A refusal after a part of r verified (the peer, or the token) is a
// *[RefusalError] that says what did.
//
// A nil ctx or request is refused with an error matching
// dpop.ErrInvalidRequest, and a nil Authenticator with [ErrInvalidConfig].
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (*Principal, error) {
	if a == nil {
		return nil, fmt.Errorf("%w: nil Authenticator", ErrInvalidConfig)
	}
	if ctx == nil || r == nil {
		return nil, fmt.Errorf("%w: nil context or request", dpop.ErrInvalidRequest)
	}
	req := inbound.FromHTTP(r)
	return a.AuthenticateInbound(ctx, &req)
}

// AuthenticateInbound is [Authenticator.Authenticate] for a request of any
// transport: the peer from req.PeerCertificates, the token from
// req.Authorization, and the DPoP proof through
// dpop.RequestVerifier.VerifyInbound. Its refusals are Authenticate's.
func (a *Authenticator) AuthenticateInbound(ctx context.Context, req *inbound.Request) (*Principal, error) {
	if a == nil {
		return nil, fmt.Errorf("%w: nil Authenticator", ErrInvalidConfig)
	}
	if ctx == nil || req == nil {
		return nil, fmt.Errorf("%w: nil context or request", dpop.ErrInvalidRequest)
	}
	p := &Principal{}
	if a.policy.Peer != nil {
		id, err := a.peer(req.PeerCertificates)
		if err != nil {
			return nil, err
		}
		if err := a.policy.Peer.authorize(id); err != nil {
			return nil, &RefusalError{Peer: id, Err: err}
		}
		p.Peer = id
		p.Methods |= MethodMTLS
	}
	switch a.policy.Token {
	case AccessToken, DPoPBoundToken:
		if len(req.Authorization) == 0 {
			return nil, refused(p, ErrMissingToken)
		}
		res, err := a.tokens.VerifyInbound(ctx, req)
		if err != nil {
			return nil, refused(p, err)
		}
		if a.policy.Token == DPoPBoundToken && res.Proof == nil {
			return nil, &RefusalError{Peer: p.Peer, ClientID: res.Claims.ClientID, Err: ErrDPoPRequired}
		}
		fromToken(p, res)
	case JWTSVID:
		id, err := a.jwtSVID(req.Authorization)
		if err != nil {
			return nil, refused(p, err)
		}
		if err := a.workloads.authorize(id); err != nil {
			return nil, &RefusalError{Peer: p.Peer, Workload: id, Err: err}
		}
		p.Workload = id
		p.Methods |= MethodJWTSVID
	}
	return p, nil
}

func fromToken(p *Principal, res *dpop.Result) {
	c := res.Claims
	p.Issuer, p.Subject, p.ClientID, p.Audience, p.TokenID = c.Issuer, c.Subject, c.ClientID, c.Audience, c.ID
	p.Scopes, p.Roles, p.Groups = c.Scopes, c.Roles, c.Groups
	p.ACR, p.AMR, p.AuthTime, p.Expiry = c.ACR, c.AMR, c.AuthTime, c.Expiry
	p.Actor = c.Actor
	if c.Subject != c.ClientID {
		p.Kind = UserKind
	}
	switch {
	case res.Proof != nil:
		p.Binding, p.KeyThumbprint = BoundToDPoPKey, res.Proof.KeyThumbprint
		p.Methods |= MethodDPoP
	case c.Confirmation.X5TS256 != "":
		p.Binding = BoundToCertificate
		p.Methods |= MethodBearer
	default:
		p.Methods |= MethodBearer
	}
}

// peer returns the SPIFFE ID of the connection's client X.509-SVID, verified
// against the bundles. The TLS layer may or may not have verified it (that
// depends on how the server was configured), so the authenticator verifies
// the chain itself, once per connection: net/http shares one
// *tls.ConnectionState, and so one leaf *x509.Certificate, between all the
// requests of a connection (gRPC shares one credentials.TLSInfo).
func (a *Authenticator) peer(certs []*x509.Certificate) (spiffeid.ID, error) {
	if len(certs) == 0 {
		return spiffeid.ID{}, ErrMissingPeer
	}
	leaf := certs[0]
	if id, ok := a.peers.get(leaf); ok {
		return id, nil
	}
	id, _, err := x509svid.Verify(certs, a.x509Bundles)
	if err != nil {
		return spiffeid.ID{}, ErrInvalidPeer
	}
	a.peers.put(leaf, id)
	return id, nil
}

// jwtSVID verifies the JWT-SVID in `Authorization: Bearer`, the only
// Authorization value.
func (a *Authenticator) jwtSVID(authz []string) (spiffeid.ID, error) {
	if len(authz) == 0 {
		return spiffeid.ID{}, ErrMissingToken
	}
	if len(authz) > 1 {
		return spiffeid.ID{}, fmt.Errorf("%w: more than one Authorization header", dpop.ErrInvalidRequest)
	}
	scheme, token, err := httphdr.ParseAuthorization(authz[0])
	if err != nil || !strings.EqualFold(scheme, "Bearer") {
		return spiffeid.ID{}, fmt.Errorf("%w: expected `Bearer <JWT-SVID>`", dpop.ErrInvalidRequest)
	}
	svid, err := jwtsvid.ParseAndValidate(token, a.jwtBundles, []string{a.jwtAudience})
	if err != nil {
		return spiffeid.ID{}, ErrInvalidJWTSVID
	}
	return svid.ID, nil
}

// peerCache remembers verified client certificates by pointer until they
// expire, bounded, oldest evicted first.
type peerCache struct {
	m   *fifo.Map[*x509.Certificate, spiffeid.ID]
	now func() time.Time
}

func newPeerCache(max int) *peerCache {
	return &peerCache{m: fifo.New[*x509.Certificate, spiffeid.ID](max), now: time.Now}
}

func (c *peerCache) get(leaf *x509.Certificate) (spiffeid.ID, bool) {
	id, ok := c.m.Get(leaf)
	if !ok || !c.now().Before(leaf.NotAfter) {
		return spiffeid.ID{}, false
	}
	return id, true
}

func (c *peerCache) put(leaf *x509.Certificate, id spiffeid.ID) { c.m.Put(leaf, id) }
