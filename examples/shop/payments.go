package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/authz/egress"
	"github.com/ztkit/ztkit/authz/egress/egressgrpc"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/guard/guardgrpc"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/dpopgrpc"
	"github.com/ztkit/ztkit/tokens/grant"
	"github.com/ztkit/ztkit/tokens/sts"
)

// The payments service: a gRPC service written by hand (no protoc), whose
// messages are protobuf well-known types.
const (
	paymentsAudience = "https://payments.shop.example"
	paymentsService  = "shop.payments.v1.Payments"
	// chargeMethod charges an order; the policy's payments-from-checkout rule
	// allows checkout to call it.
	chargeMethod = "/" + paymentsService + "/Charge"
	// refundMethod refunds a charge; no rule of the policy allows it.
	refundMethod = "/" + paymentsService + "/Refund"
)

// paymentsHandler is the service's handler type, for grpc.ServiceDesc.
type paymentsHandler interface {
	charge(ctx context.Context, order *wrapperspb.StringValue) (*wrapperspb.StringValue, error)
	refund(ctx context.Context, charge *wrapperspb.StringValue) (*wrapperspb.StringValue, error)
}

// paymentsDesc is what protoc would generate for
//
//	service Payments {
//	  rpc Charge(google.protobuf.StringValue) returns (google.protobuf.StringValue); // order ID → charge ID
//	  rpc Refund(google.protobuf.StringValue) returns (google.protobuf.StringValue); // charge ID → refund ID
//	}
var paymentsDesc = grpc.ServiceDesc{
	ServiceName: paymentsService,
	HandlerType: (*paymentsHandler)(nil),
	Methods: []grpc.MethodDesc{
		unaryMethod("Charge", paymentsHandler.charge),
		unaryMethod("Refund", paymentsHandler.refund),
	},
	Metadata: "shop/payments/v1/payments.proto",
}

// unaryMethod is the method name of the service's handler h.
func unaryMethod(name string, h func(paymentsHandler, context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error)) grpc.MethodDesc {
	return grpc.MethodDesc{MethodName: name, Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.StringValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		call := func(ctx context.Context, req any) (any, error) {
			return h(srv.(paymentsHandler), ctx, req.(*wrapperspb.StringValue))
		}
		if ic == nil {
			return call(ctx, in)
		}
		return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + paymentsService + "/" + name}, call)
	}}
}

// payments charges orders. Its guard admits a call only over mTLS from
// checkout, with a DPoP-bound token for paymentsAudience and a fresh proof
// carrying the server's nonce, and only if the policy allows the principal
// the full method (for Charge: a customer's token that the identity service
// issued to checkout to act for the customer, act naming checkout); the handlers run after that. A charge goes to the card
// processor with the processor key current at that moment (processor.go).
type payments struct {
	decide func(format string, args ...any)
	// key is the processor key's source; processor, the card processor.
	key       *secrets.Source
	processor *cardProcessor
	mu        sync.Mutex
	next      int
}

func (pm *payments) charge(ctx context.Context, order *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	p, ok := authn.PrincipalFromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "no principal")
	}
	// The key from memory, current as of now: no call to Vault on the
	// request path. Without a valid key payments fails closed; the error
	// says why (expired, the backend down), never the key.
	key, err := pm.key.Current()
	if err != nil {
		pm.decide("payments: ERR  charge for order %s: no processor key: %v", order.GetValue(), err)
		return nil, status.Error(codes.Unavailable, "the card processor cannot be reached")
	}
	apiKey, _ := key.Reveal(processorKeyField)
	ref, err := pm.processor.charge(apiKey, order.GetValue())
	if err != nil {
		pm.decide("payments: ERR  charge for order %s: %v", order.GetValue(), err)
		return nil, status.Error(codes.Unavailable, "the card processor refused the charge")
	}
	pm.mu.Lock()
	id := fmt.Sprintf("ch_%d", pm.next)
	pm.next++
	pm.mu.Unlock()
	pm.decide("payments: OK  allow  charge %s for order %s of %s, actor %s (act), from %s (%s); card processor %s, %s",
		id, order.GetValue(), p.Subject, p.ActorID(), p.Peer, p.Methods, ref, keyVersion(key))
	return wrapperspb.String(id), nil
}

func (pm *payments) refund(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	// Only reachable if a policy rule allowed Refund; policy.json has none.
	return nil, status.Error(codes.Unimplemented, "refunds are made in the back office")
}

// paymentsServer is the running payments service.
type paymentsServer struct {
	url  string // https://<addr>, the external URL of its DPoP proofs' htu
	addr string
	srv  *grpc.Server
}

// startPayments serves payments on a free loopback port over SPIFFE mTLS
// with the payments workload's X509-SVID. The handshake admits any workload
// of the trust domain; the guard then requires w.paymentsPeers, a token from
// the identity service (identityIssuer), whose keys is keys, and az's decision, so
// that every refusal reaches the caller as a gRPC status with its reason.
// Charges go to processor with the key from key.
func startPayments(keys tokens.KeySource, w *workloads, az authz.Authorizer, logger *slog.Logger, decide func(string, ...any), key *secrets.Source, processor *cardProcessor) (*paymentsServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ps := &paymentsServer{url: "https://" + ln.Addr().String(), addr: ln.Addr().String()}
	srv, err := paymentsGRPC(keys, ps.url, w, az, logger)
	if err != nil {
		return nil, errors.Join(err, ln.Close())
	}
	srv.RegisterService(&paymentsDesc, &payments{decide: decide, key: key, processor: processor, next: 5001})
	ps.srv = srv
	go func() { _ = srv.Serve(ln) }()
	return ps, nil
}

// Stop closes the listener and every connection.
func (ps *paymentsServer) Stop() { ps.srv.Stop() }

// paymentsGRPC is the payments gRPC server, with guardgrpc's interceptors.
func paymentsGRPC(keys tokens.KeySource, payURL string, w *workloads, az authz.Authorizer, logger *slog.Logger) (*grpc.Server, error) {
	tv, err := tokens.NewVerifier(keys, identityIssuer, []string{paymentsAudience})
	if err != nil {
		return nil, err
	}
	nonces, err := newNonces()
	if err != nil {
		return nil, err
	}
	pv, err := dpop.NewVerifier(dpop.WithNonces(nonces))
	if err != nil {
		return nil, err
	}
	rv, err := dpop.NewRequestVerifier(tv, pv, dpop.WithExternalURL(payURL))
	if err != nil {
		return nil, err
	}
	a, err := authn.New(authn.Policy{Peer: w.paymentsPeers, Token: authn.DPoPBoundToken},
		authn.WithX509Bundles(w.paymentsBundles), authn.WithAccessTokens(rv))
	if err != nil {
		return nil, err
	}
	g, err := guard.New(a, guard.WithNonces(nonces), guard.WithAuthorizer(az), guard.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	ics, err := guardgrpc.New(g)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := authn.ServerTLSConfig(w.paymentsSVID, w.paymentsBundles, authn.MatchMemberOf(w.td))
	if err != nil {
		return nil, err
	}
	return grpc.NewServer(append(ics.ServerOptions(), grpc.Creds(credentials.NewTLS(tlsCfg)))...), nil
}

// paymentsClient is checkout's client of payments: through checkout's
// egress allow-list (payments over SPIFFE mTLS, only if the server presents
// the payments SPIFFE ID; the identity service in plaintext on loopback).
// Its calls act for a customer: the customer's token, taken from the request
// checkout serves, is exchanged at the identity service for a DPoP-bound
// token for paymentsAudience that names checkout as the actor.
type paymentsClient struct {
	// conn calls for the customer whose token is in the call's context
	// (grant.ContextWithSubjectToken), with the exchanged token.
	conn *grpc.ClientConn
	// own calls with checkout's own client-credentials token, which names
	// no customer: what checkout sent before payments required an actor.
	own *grpc.ClientConn
	// bare is a connection over the same mTLS without the DPoP credentials,
	// for the scenario's attacker inside checkout.
	bare *grpc.ClientConn
	// tap records the metadata of checkout's last call, as a compromised
	// dependency in checkout could.
	tap    *tapCreds
	egress *egress.Transport
	// exchanger exchanges customers' tokens and caches the results;
	// ownTokens caches checkout's own token.
	exchanger *grant.Exchanger
	ownTokens *grant.Source
}

// dialPayments returns checkout's client of the payments service at ps. Its
// tokens come from the identity service at idURL: by token exchange, with
// checkout's JWT-SVID from w as the actor token, and for its own token by
// client_credentials with a client assertion signed by clientKey.
func dialPayments(w *workloads, idURL string, ps *paymentsServer, clientKey crypto.Signer, logger *slog.Logger) (_ *paymentsClient, err error) {
	pay, err := destination(ps.url)
	if err != nil {
		return nil, err
	}
	pay.Server = authn.MatchID(w.paymentsID)
	id, err := destination(idURL)
	if err != nil {
		return nil, err
	}
	list, err := egress.NewList(pay, id)
	if err != nil {
		return nil, err
	}
	d, err := egress.NewDialer(list, egress.WithSPIFFE(w.checkoutSVID, w.checkoutBundles),
		egress.WithLogger(logger), egress.WithDialTimeout(5*time.Second))
	if err != nil {
		return nil, err
	}
	t, err := egress.NewTransport(d)
	if err != nil {
		return nil, err
	}
	pc := &paymentsClient{egress: t}
	defer func() {
		if err != nil {
			err = errors.Join(err, pc.Close())
		}
	}()
	proofer, err := newProofer()
	if err != nil {
		return nil, err
	}
	idClient := &http.Client{Transport: t}
	// Token exchange (RFC 8693): the customer's token as subject_token,
	// checkout's JWT-SVID for the identity service as actor_token, no other
	// client authentication; the result bound to checkout's DPoP key and
	// cached per customer token until it nears expiry.
	pc.exchanger, err = grant.NewExchanger(idURL+"/token", "", grant.NoClientAuth(),
		grant.WithHTTPClient(idClient),
		grant.WithInsecureHTTP(), // the identity service listens on loopback
		grant.WithDPoP(proofer),
		grant.WithActorToken(func(ctx context.Context) (string, error) {
			return w.jwtSVID(ctx, w.checkoutID, identityIssuer)
		}, sts.TokenTypeJWT),
		grant.WithAudience(paymentsAudience),
		grant.WithScopes("payments:write"),
		grant.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	creds, err := dpopgrpc.NewPerRPCCredentials(pc.exchanger, proofer)
	if err != nil {
		return nil, err
	}
	pc.tap = &tapCreds{PerRPCCredentials: creds}
	if pc.conn, err = egressgrpc.NewClient(ps.addr, d, grpc.WithPerRPCCredentials(pc.tap),
		grpc.WithChainUnaryInterceptor(creds.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(creds.StreamClientInterceptor())); err != nil {
		return nil, err
	}
	// Checkout's own token: client_credentials with private_key_jwt (RFC
	// 7523), DPoP-bound to the same key, cached by a grant.Source.
	auth, err := grant.PrivateKeyJWT(clientKey, "")
	if err != nil {
		return nil, err
	}
	cc, err := grant.NewClientCredentials(idURL+"/token", checkoutClientID, auth,
		grant.WithHTTPClient(idClient), grant.WithInsecureHTTP(), grant.WithDPoP(proofer),
		grant.WithScopes("payments:write"))
	if err != nil {
		return nil, err
	}
	if pc.ownTokens, err = grant.NewSource(cc, grant.WithLogger(logger)); err != nil {
		return nil, err
	}
	ownCreds, err := dpopgrpc.NewPerRPCCredentials(pc.ownTokens, proofer)
	if err != nil {
		return nil, err
	}
	if pc.own, err = egressgrpc.NewClient(ps.addr, d, ownCreds.DialOptions()...); err != nil {
		return nil, err
	}
	if pc.bare, err = egressgrpc.NewClient(ps.addr, d); err != nil {
		return nil, err
	}
	return pc, nil
}

// Close closes the connections and stops the token sources.
func (pc *paymentsClient) Close() error {
	var errs []error
	for _, c := range []*grpc.ClientConn{pc.conn, pc.own, pc.bare} {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	if pc.exchanger != nil {
		errs = append(errs, pc.exchanger.Close())
	}
	if pc.ownTokens != nil {
		errs = append(errs, pc.ownTokens.Close())
	}
	pc.egress.CloseIdleConnections()
	return errors.Join(errs...)
}

// Charge charges order for the customer whose token ctx carries
// (grant.ContextWithSubjectToken) and returns the charge ID.
func (pc *paymentsClient) Charge(ctx context.Context, order string) (string, error) {
	return invoke(ctx, pc.conn, chargeMethod, order)
}

// invoke calls method on conn with in and returns the answer.
func invoke(ctx context.Context, conn *grpc.ClientConn, method, in string, opts ...grpc.CallOption) (string, error) {
	out := new(wrapperspb.StringValue)
	if err := conn.Invoke(ctx, method, wrapperspb.String(in), out, opts...); err != nil {
		return "", err
	}
	return out.GetValue(), nil
}

// tapCreds are checkout's DPoP credentials with a tap: it keeps the metadata
// of the last call, as a compromised dependency in checkout could read it.
type tapCreds struct {
	*dpopgrpc.PerRPCCredentials
	mu   sync.Mutex
	last map[string]string
}

func (t *tapCreds) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	md, err := t.PerRPCCredentials.GetRequestMetadata(ctx, uri...)
	if err == nil {
		t.mu.Lock()
		t.last = maps.Clone(md)
		t.mu.Unlock()
	}
	return md, err
}

// lastMetadata returns the metadata of the last call as key, value pairs.
func (t *tapCreds) lastMetadata() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var kv []string
	for k, v := range t.last {
		kv = append(kv, k, v)
	}
	return kv
}

// grpcOutcome is what a client sees of a call's error: OK, or the status
// code and the ErrorInfo reason of guardgrpc's refusals, and its message (a
// fixed public sentence).
func grpcOutcome(err error) string {
	if err == nil {
		return "OK"
	}
	st := status.Convert(err)
	reason := ""
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == guardgrpc.Domain {
			reason = " " + info.GetMetadata()[guardgrpc.CodeKey] + " (ErrorInfo " + info.GetReason() + ")"
		}
	}
	return fmt.Sprintf("%s%s: %q", st.Code(), reason, st.Message())
}

// expectGRPC checks that err is a refusal with code and reason.
func expectGRPC(err error, code codes.Code, reason guard.Reason) error {
	st := status.Convert(err)
	if err == nil || st.Code() != code || !strings.Contains(grpcOutcome(err), " "+string(reason)+" ") {
		return fmt.Errorf("expected %s %s, got %s", code, reason, grpcOutcome(err))
	}
	return nil
}

// newNonces returns a DPoP nonce source with a fresh random secret.
func newNonces() (*dpop.Nonces, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	return dpop.NewNonces(secret)
}

// newProofer returns a DPoP proofer with a fresh P-256 key.
func newProofer() (*dpop.Proofer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return dpop.NewProofer(k, "")
}

// grpcSteps plays steps 15 to 20: calls to payments refused for each cause,
// each printed with the status code and the ErrorInfo reason the client
// sees, and the storefront's attempt to act for the customer at the
// identity service. proofer and tok are the storefront's: its DPoP key and
// the customer's token.
func (s *stage) grpcSteps(ctx context.Context, p *printer, proofer *dpop.Proofer, tok string) error {
	const call = "Charge(ord_1001)"
	p.line("15. An attacker inside checkout (a bad dependency) calls payments over checkout's mTLS connection, without a token.")
	_, err := invoke(ctx, s.pay.bare, chargeMethod, "ord_1001")
	p.line("attacker  : gRPC %s [mTLS as checkout, no token] → %s", call, grpcOutcome(err))
	if err := expectGRPC(err, codes.Unauthenticated, guard.ReasonMissingToken); err != nil {
		return err
	}

	p.line("16. It resends the metadata of checkout's last call (token and proof), read by the bad dependency.")
	md := s.pay.tap.lastMetadata()
	if len(md) == 0 {
		return errors.New("checkout made no call to payments")
	}
	_, err = invoke(metadata.AppendToOutgoingContext(ctx, md...), s.pay.bare, chargeMethod, "ord_1001")
	p.line("attacker  : gRPC %s [mTLS as checkout, replayed DPoP token and proof] → %s", call, grpcOutcome(err))
	if err := expectGRPC(err, codes.Unauthenticated, guard.ReasonProofReplayed); err != nil {
		return err
	}

	p.line("17. Checkout, acting for the customer with the exchanged token and fresh proofs, asks for a refund: no policy rule allows %s.", refundMethod)
	_, err = invoke(grant.ContextWithSubjectToken(ctx, tok), s.pay.conn, refundMethod, "ch_5001")
	p.line("checkout: gRPC Refund(ch_5001) [mTLS, DPoP token, DPoP proof] → %s", grpcOutcome(err))
	if status.Code(err) != codes.PermissionDenied {
		return fmt.Errorf("expected PermissionDenied, got %s", grpcOutcome(err))
	}

	if !s.w.distinctPayments {
		p.line("18. Wrong peer: skipped, the agent serves the storefront and checkout one SVID, so payments cannot tell them apart.")
	} else if err := s.wrongPeer(ctx, p, proofer, tok); err != nil {
		return err
	}

	p.line("19. Checkout charges with a token of its own (client_credentials, private_key_jwt, DPoP-bound), as it did before payments")
	p.line("    required the customer's token acted on by checkout: the token names no actor, the policy answers actor_mismatch.")
	var header, trailer metadata.MD
	_, err = invoke(ctx, s.pay.own, chargeMethod, "ord_1001", grpc.Header(&header), grpc.Trailer(&trailer))
	// What the refusal's challenge tells the client to do (dpopgrpc.Advise):
	// give up; no nonce, proof or new token helps.
	advice := ""
	if adv, aerr := dpopgrpc.Advise(err, header, trailer); aerr == nil {
		advice = fmt.Sprintf(" (client: %s)", adv.Action)
	}
	p.line("checkout: gRPC %s [mTLS, its own DPoP token, DPoP proof] → %s%s", call, grpcOutcome(err), advice)
	if err := expectGRPC(err, codes.PermissionDenied, guard.Reason(authz.ReasonActorMismatch)); err != nil {
		return err
	}
	return s.storefrontActs(ctx, p, proofer, tok)
}

// wrongPeer plays step 18: the storefront calls payments directly, with its
// own SVID.
func (s *stage) wrongPeer(ctx context.Context, p *printer, proofer *dpop.Proofer, tok string) error {
	p.line("18. The storefront calls payments directly, with its own SVID, its customer's token and fresh proofs.")
	creds, err := dpopgrpc.NewPerRPCCredentials(staticToken(tok), proofer)
	if err != nil {
		return err
	}
	tlsCfg := tlsconfig.MTLSClientConfig(s.w.storefrontSVID, s.w.storefrontBundles, tlsconfig.AuthorizeID(s.w.paymentsID))
	conn, err := grpc.NewClient("passthrough:///"+grpcAuthority(s.payURL),
		append(creds.DialOptions(), grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))...)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = invoke(ctx, conn, chargeMethod, "ord_1001")
	p.line("storefront: gRPC Charge(ord_1001) [mTLS %s, DPoP token, DPoP proof] → %s", s.w.storefrontID, grpcOutcome(err))
	return expectGRPC(err, codes.PermissionDenied, guard.ReasonPeerForbidden)
}

// storefrontActs plays step 20: the storefront, not checkout, tries to act
// for the customer: it asks the identity service to exchange the customer's
// token tok, with its own JWT-SVID as the actor, for a token for payments,
// DPoP-bound to its key (proofer). The customer's token names checkout in
// may_act, so the identity service refuses.
func (s *stage) storefrontActs(ctx context.Context, p *printer, proofer *dpop.Proofer, tok string) error {
	if s.w.storefrontID == s.w.checkoutID {
		p.line("20. The storefront acting for the customer: skipped, the agent serves the storefront and checkout one SVID, so the identity service cannot tell them apart.")
		return nil
	}
	p.line("20. The storefront tries to act for the customer itself: it asks the identity service to exchange the customer's token,")
	p.line("    with its own JWT-SVID as the actor, for a token for payments. The customer's token names checkout in may_act.")
	rec := &recorder{base: s.egress, p: p, who: "storefront"}
	x, err := grant.NewExchanger(s.idURL+"/token", "", grant.NoClientAuth(),
		grant.WithHTTPClient(&http.Client{Transport: rec}), grant.WithInsecureHTTP(), grant.WithDPoP(proofer),
		grant.WithActorToken(func(ctx context.Context) (string, error) {
			return s.w.jwtSVID(ctx, s.w.storefrontID, identityIssuer)
		}, sts.TokenTypeJWT),
		grant.WithAudience(paymentsAudience), grant.WithScopes("payments:write"))
	if err != nil {
		return err
	}
	defer x.Close()
	_, err = x.Exchange(ctx, tok)
	var refused *grant.Error
	if !errors.As(err, &refused) || !errors.Is(err, grant.ErrRefused) || refused.Code != "invalid_request" ||
		!strings.Contains(refused.Description, "may_act") {
		return fmt.Errorf("expected the identity service to refuse the storefront's exchange with invalid_request for may_act, got %v", err)
	}
	// The description is the token service's fixed text: it never holds a
	// token (package sts).
	p.line("storefront: token exchange refused: %s (%s); it has no token for payments to call it with", refused.Code, refused.Description)
	return nil
}

// grpcAuthority is the host and port of u, a server's base URL.
func grpcAuthority(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return parsed.Host
}
