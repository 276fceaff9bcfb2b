package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffesource"
	"github.com/ztkit/ztkit/authn/spiffetest"
)

// shopTrustDomain is the trust domain of the embedded SPIFFE issuer.
const shopTrustDomain = "shop.example"

// workloads are the SPIFFE identities of the storefront and the checkout, and
// whom each of them accepts at the other end of their mTLS connection.
type workloads struct {
	td spiffeid.TrustDomain

	checkoutID      spiffeid.ID
	checkoutSVID    x509svid.Source
	checkoutBundles x509bundle.Source
	// checkoutPeers is whom checkout accepts as a client; describe says it in words.
	checkoutPeers authn.IDMatcher
	describe      []string

	storefrontID      spiffeid.ID
	storefrontSVID    x509svid.Source
	storefrontBundles x509bundle.Source
	// storefrontServers is whom the storefront accepts as the checkout: its
	// egress allow-list requires it of the server at checkout's address.
	storefrontServers authn.IDMatcher

	paymentsID      spiffeid.ID
	paymentsSVID    x509svid.Source
	paymentsBundles x509bundle.Source
	// paymentsPeers is whom payments accepts as a caller (its guard checks
	// it); the TLS handshake admits any workload of the trust domain, so
	// that a wrong caller gets a gRPC status that says why.
	paymentsPeers authn.IDMatcher
	// distinctPayments is false when payments has the checkout's one SVID
	// (an external agent): its peer check can then not tell them apart.
	distinctPayments bool

	// jwt is the Workload API's JWT source: checkout's JWT-SVIDs, its actor
	// tokens at the identity service, and the trust domain's JWT bundles,
	// which the identity service verifies them against.
	jwt *workloadapi.JWTSource

	// issuer is the embedded issuer; nil with an external agent.
	issuer *spiffetest.Issuer

	closers []func() error
}

// Close closes the Workload API sources and the embedded issuer.
func (w *workloads) Close() error {
	var errs []error
	for k := len(w.closers) - 1; k >= 0; k-- {
		errs = append(errs, w.closers[k]())
	}
	w.closers = nil
	return errors.Join(errs...)
}

// newWorkloads returns the identities from the SPIFFE Workload API at addr
// (a SPIRE agent), or from an embedded issuer when addr is empty.
func newWorkloads(ctx context.Context, addr string) (_ *workloads, err error) {
	w := &workloads{}
	defer func() {
		if err != nil {
			err = errors.Join(err, w.Close())
		}
	}()
	if addr == "" {
		return w, w.embedded(ctx)
	}
	return w, w.agent(ctx, addr)
}

// embedded starts an in-process SPIFFE issuer for shop.example that serves the
// real Workload API on a unix socket, and gets the checkout's X509-SVID from
// it exactly as from a SPIRE agent (spiffesource.NewX509Source).
//
// The storefront's X509-SVID is issued directly by the same CA instead (its
// trust bundles come from the Workload API, with spiffesource.NewBundleSource). A
// Workload API tells its callers apart by what the kernel reports about the
// calling process (its uid, pid, binary...); the storefront and the checkout
// run in this one process, so no attestor could give them different
// identities honestly, and a label the caller sends would be a claim, not an
// attestation. Both SVIDs chain to the one trust bundle.
func (w *workloads) embedded(ctx context.Context) error {
	w.td = spiffeid.RequireTrustDomainFromString(shopTrustDomain)
	w.checkoutID = spiffeid.RequireFromPath(w.td, "/checkout")
	w.storefrontID = spiffeid.RequireFromPath(w.td, "/storefront")
	w.paymentsID = spiffeid.RequireFromPath(w.td, "/payments")

	iss, err := spiffetest.New(ctx, w.td)
	if err != nil {
		return err
	}
	w.closers = append(w.closers, iss.Close)
	w.issuer = iss
	if err := iss.Register(w.checkoutID); err != nil {
		return err
	}
	src, err := spiffesource.NewX509Source(ctx, iss.Addr())
	if err != nil {
		return err
	}
	w.closers = append(w.closers, src.Close)
	w.checkoutSVID, w.checkoutBundles = src, src
	if err := w.openJWT(ctx, iss.Addr()); err != nil {
		return err
	}

	svid, err := iss.IssueX509SVID(w.storefrontID)
	if err != nil {
		return err
	}
	// The storefront's bundles still come from the Workload API, so they
	// rotate and federate as the checkout's do (authn.ServerTLSConfig).
	bundles, err := spiffesource.NewBundleSource(ctx, iss.Addr())
	if err != nil {
		return err
	}
	w.closers = append(w.closers, bundles.Close)
	w.storefrontSVID, w.storefrontBundles = svid, bundles
	paySVID, err := iss.IssueX509SVID(w.paymentsID)
	if err != nil {
		return err
	}
	w.paymentsSVID, w.paymentsBundles = paySVID, bundles
	w.paymentsPeers, w.distinctPayments = authn.MatchID(w.checkoutID), true

	w.checkoutPeers = authn.MatchID(w.storefrontID)
	w.storefrontServers = authn.MatchID(w.checkoutID)
	w.describe = []string{
		fmt.Sprintf("spiffe:   trust domain %s, embedded issuer (authn/spiffetest) serving the Workload API at %s", w.td.Name(), iss.Addr()),
		fmt.Sprintf("checkout: is %s (X509-SVID from the Workload API); accepts mTLS from %s only", w.checkoutID, w.storefrontID),
		fmt.Sprintf("storefront: is %s (X509-SVID issued directly by the same CA: one process cannot be attested as two workloads)", w.storefrontID),
		fmt.Sprintf("payments: is %s (X509-SVID issued directly by the same CA); accepts gRPC calls from %s only", w.paymentsID, w.checkoutID),
	}
	return nil
}

// agent gets both workloads' X509-SVIDs from the Workload API at addr. An
// agent serves a process the SVIDs of the registration entries that match it
// (by uid, for example); both workloads run in this one process, so they get
// the same SVID (the first, if there are several), and the checkout can only
// authorize the whole trust domain. The storefront still requires the
// checkout's exact SPIFFE ID of the server it calls: it knows what that is.
func (w *workloads) agent(ctx context.Context, addr string) error {
	co, err := spiffesource.NewX509Source(ctx, addr)
	if err != nil {
		return err
	}
	w.closers = append(w.closers, co.Close)
	sf, err := spiffesource.NewX509Source(ctx, addr)
	if err != nil {
		return err
	}
	w.closers = append(w.closers, sf.Close)
	coSVID, err := co.GetX509SVID()
	if err != nil {
		return err
	}
	sfSVID, err := sf.GetX509SVID()
	if err != nil {
		return err
	}
	w.td = coSVID.ID.TrustDomain()
	w.checkoutID, w.storefrontID = coSVID.ID, sfSVID.ID
	w.checkoutSVID, w.checkoutBundles = co, co
	if err := w.openJWT(ctx, addr); err != nil {
		return err
	}
	w.storefrontSVID, w.storefrontBundles = sf, sf
	w.paymentsID, w.paymentsSVID, w.paymentsBundles = coSVID.ID, co, co
	w.paymentsPeers = authn.MatchMemberOf(w.td)

	w.checkoutPeers = authn.MatchMemberOf(w.td)
	w.storefrontServers = authn.MatchID(w.checkoutID)
	w.describe = []string{
		fmt.Sprintf("spiffe:   Workload API at %s (an external agent); it serves this process %s", addr, w.checkoutID),
		fmt.Sprintf("checkout: is %s; accepts mTLS from any workload of trust domain %s, since both workloads have the agent's one SVID",
			w.checkoutID, w.td.Name()),
		fmt.Sprintf("storefront: is %s (X509-SVID from the Workload API)", w.storefrontID),
		fmt.Sprintf("payments: is %s; accepts gRPC calls from any workload of trust domain %s", w.paymentsID, w.td.Name()),
	}
	return nil
}

// openJWT opens the JWT source of the Workload API at addr, waiting at most
// spiffesource.DefaultStartTimeout for its first bundles.
func (w *workloads) openJWT(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, spiffesource.DefaultStartTimeout)
	defer cancel()
	src, err := workloadapi.NewJWTSource(ctx, workloadapi.WithClientOptions(workloadapi.WithAddr(addr)))
	if err != nil {
		return fmt.Errorf("shop: JWT source at %s: %w", addr, err)
	}
	w.closers = append(w.closers, src.Close)
	w.jwt = src
	return nil
}

// jwtSVID returns a JWT-SVID for id with audience aud, in its compact
// form: from the Workload API for the workload it serves (checkout), and
// issued directly by the embedded issuer for another (the storefront),
// like their X509-SVIDs.
func (w *workloads) jwtSVID(ctx context.Context, id spiffeid.ID, aud string) (string, error) {
	if w.issuer != nil && id != w.checkoutID {
		return w.issuer.IssueJWTSVID(id, []string{aud})
	}
	svid, err := w.jwt.FetchJWTSVID(ctx, jwtsvid.Params{Audience: aud})
	if err != nil {
		return "", err
	}
	return svid.Marshal(), nil
}

// forgedSVID returns an X509-SVID for id signed by a CA of the same trust
// domain name that nobody trusts: what an attacker can make for itself.
func (w *workloads) forgedSVID(ctx context.Context, id spiffeid.ID) (*x509svid.SVID, error) {
	rogue, err := spiffetest.New(ctx, w.td)
	if err != nil {
		return nil, err
	}
	svid, err := rogue.IssueX509SVID(id)
	return svid, errors.Join(err, rogue.Close())
}

// impostor is the identity of a server that is not the checkout.
type impostor struct {
	svid *x509svid.SVID
	// what says in words what the impostor presents.
	what []string
	// cause, when set, is the error the storefront's refusal must match
	// besides egress.ErrServerIdentity.
	cause error
}

// impostor returns the identity of a server that is not the checkout. With
// the embedded issuer it is a genuine X509-SVID of the shop's own CA for
// spiffe://<td>/impostor: another workload of the trust domain, which the
// storefront's matcher must refuse. An external agent serves this process
// only its one SVID, so no genuine SVID for another ID can be had; the
// impostor then presents the checkout's ID signed by a CA of its own, which
// the trust bundle must refuse.
func (w *workloads) impostor(ctx context.Context) (impostor, error) {
	if w.issuer == nil {
		svid, err := w.forgedSVID(ctx, w.checkoutID)
		return impostor{svid: svid, what: []string{
			fmt.Sprintf("an X509-SVID for %s that it signed with a CA of its own.", w.checkoutID),
			"(The agent issues this process only its one SVID: no genuine SVID of another workload can be had here.)",
		}}, err
	}
	id := spiffeid.RequireFromPath(w.td, "/impostor")
	svid, err := w.issuer.IssueX509SVID(id)
	return impostor{svid: svid, what: []string{fmt.Sprintf("a genuine X509-SVID for %s from the shop's own CA.", id)}, cause: authn.ErrPeerNotAuthorized}, err
}
