package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"testing"

	grpcauth "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/guard/guardgrpc"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// The call of the gRPC benchmark: the storefront calls checkout's
// PlaceOrder. ztkit's DPoP mapping for gRPC (guard/guardgrpc) makes htm
// "POST" and htu the external URL's origin followed by the full method.
const (
	grpcMethod = "/shop.checkout.v1.Checkout/PlaceOrder"
	grpcHTU    = origin + grpcMethod
	// grpcAuthority is the :authority a client of origin sends.
	grpcAuthority = "checkout.shop.example"
)

// benchStream is the grpc.ServerTransportStream a gRPC server puts in the
// context of each call: grpc.Method reads the full method from it, and
// grpc.SetHeader and grpc.SetTrailer write to it. Headers and trailers are
// dropped; nothing is sent.
type benchStream struct{ method string }

func (s benchStream) Method() string             { return s.method }
func (benchStream) SetHeader(metadata.MD) error  { return nil }
func (benchStream) SendHeader(metadata.MD) error { return nil }
func (benchStream) SetTrailer(metadata.MD) error { return nil }

// grpcCall builds the server-side context of a unary call as grpc-go hands
// it to the interceptors: the transport stream, the peer (a TLS connection
// whose client chain is conn's, nil for a connection without TLS) and, when
// md is not nil, the incoming metadata.
func grpcCall(conn *tls.ConnectionState, md metadata.MD) context.Context {
	ctx := grpc.NewContextWithServerTransportStream(context.Background(), benchStream{method: grpcMethod})
	p := &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 44321}}
	if conn != nil {
		p.AuthInfo = credentials.TLSInfo{State: *conn, CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}
	}
	ctx = peer.NewContext(ctx, p)
	if md != nil {
		ctx = metadata.NewIncomingContext(ctx, md)
	}
	return ctx
}

// grpcMD is the incoming metadata of a DPoP-bound call: the :authority, the
// token in "authorization" and the proof in "dpop". The benchmark sets
// md["dpop"][0] to a fresh proof before each call.
func grpcMD(authorization, proof string) metadata.MD {
	return metadata.MD{
		":authority":    {grpcAuthority},
		"content-type":  {"application/grpc"},
		"user-agent":    {"grpc-go/1.84.0"},
		"authorization": {authorization},
		"dpop":          {proof},
	}
}

var errCallRefused = errors.New("bench: interceptor refused the call")

// callCheck runs one unary call of grpcMethod through an interceptor and
// reports whether the handler was reached with a caller in its context.
type callCheck func(ctx context.Context) error

// newCallCheck wraps a trivial handler that requires found(ctx) in ic. The
// check fails unless that handler ran.
func newCallCheck(ic grpc.UnaryServerInterceptor, found func(context.Context) bool) callCheck {
	served := false
	info := &grpc.UnaryServerInfo{FullMethod: grpcMethod}
	handler := func(ctx context.Context, _ any) (any, error) {
		served = found(ctx)
		return nil, nil
	}
	return func(ctx context.Context) error {
		served = false
		_, err := ic(ctx, nil, info, handler)
		if !served {
			return fmt.Errorf("%w: %v", errCallRefused, status.Convert(err).Message())
		}
		return err
	}
}

// ztkitInterceptor is guardgrpc's unary interceptor over guard.New of the
// authenticator BenchmarkMiddleware uses: Policy{Peer:
// MatchID(storefront), Token: DPoPBoundToken}, the peer rig's CA, the token
// cache of cacheSize, and the external URL origin (htu and :authority).
func ztkitInterceptor(tb testing.TB, r *rig, p *peerRig, cacheSize int) callCheck {
	tb.Helper()
	rv, err := dpop.NewRequestVerifier(ztkitTokenVerifier(tb, r, cacheSize), ztkitProofVerifier(tb), dpop.WithExternalURL(origin))
	require.NoError(tb, err)
	a, err := authn.New(authn.Policy{Peer: authn.MatchID(storefrontID), Token: authn.DPoPBoundToken},
		authn.WithX509Bundles(p.iss.X509Bundle()), authn.WithAccessTokens(rv))
	require.NoError(tb, err)
	g, err := guard.New(a)
	require.NoError(tb, err)
	ics, err := guardgrpc.New(g)
	require.NoError(tb, err)
	return newCallCheck(ics.UnaryServerInterceptor(), func(ctx context.Context) bool {
		_, ok := authn.PrincipalFromContext(ctx)
		return ok
	})
}

// handAuthFunc is the grpcauth.AuthFunc a user would write without ztkit:
// x509svid.IDFromCert on the TLS peer's leaf and an ID comparison (what
// go-spiffe's grpccredentials.PeerIDFromContext returns when the server
// uses its credentials, there computed once per connection), the token
// from grpcauth.AuthFromMD with scheme DPoP, golang-jwt for it, one "dpop"
// value checked by the hand-written go-jose proof check (handProofChecker)
// against htu origin+grpc.Method(ctx) with cnf.jkt against the proof key's
// thumbprint, then the caller in the context. As in handMiddleware,
// IDFromCert does not verify the chain: this stack relies on the TLS layer
// having done it.
func handAuthFunc(r *rig, want spiffeid.ID) grpcauth.AuthFunc {
	jp, keyFunc := golangJWTParser(r)
	proofs := newHandProofChecker()
	denied := status.Error(codes.PermissionDenied, "peer not allowed")
	unauthenticated := status.Error(codes.Unauthenticated, "invalid token")
	return func(ctx context.Context) (context.Context, error) {
		p, ok := peer.FromContext(ctx)
		if !ok {
			return nil, denied
		}
		info, ok := p.AuthInfo.(credentials.TLSInfo)
		if !ok || len(info.State.PeerCertificates) == 0 {
			return nil, denied
		}
		id, err := x509svid.IDFromCert(info.State.PeerCertificates[0])
		if err != nil || id != want {
			return nil, denied
		}
		token, err := grpcauth.AuthFromMD(ctx, "DPoP")
		if err != nil {
			return nil, err
		}
		dp := metadata.ValueFromIncomingContext(ctx, "dpop")
		fullMethod, ok := grpc.Method(ctx)
		if len(dp) != 1 || !ok {
			return nil, unauthenticated
		}
		c := &gjwtClaims{}
		if _, err := jp.ParseWithClaims(token, c, keyFunc); err != nil || c.Cnf.JKT == "" {
			return nil, unauthenticated
		}
		if err := proofs.check(ctx, dp[0], &proofReq{method: method, url: origin + fullMethod, token: token, jkt: c.Cnf.JKT}); err != nil {
			return nil, unauthenticated
		}
		return context.WithValue(ctx, handCallerKey{}, &handCaller{peer: id, claims: c}), nil
	}
}

func handInterceptorCheck(r *rig) callCheck {
	return newCallCheck(grpcauth.UnaryServerInterceptor(handAuthFunc(r, storefrontID)), func(ctx context.Context) bool {
		c, ok := ctx.Value(handCallerKey{}).(*handCaller)
		return ok && c != nil
	})
}

// BenchmarkGRPC is the per-call cost of authenticating a unary gRPC call in
// a server interceptor: an mTLS peer (the storefront's X509-SVID in the
// peer's credentials.TLSInfo), a DPoP-bound access token and a fresh proof
// in the incoming metadata, ending with the caller in the handler's context
// and the handler called. As BenchmarkMiddleware does for net/http, it
// calls the interceptor directly with a prebuilt call context: no network,
// no HTTP/2 framing, no protobuf; what is timed is the authentication path.
func BenchmarkGRPC(b *testing.B) {
	r := newRig(b, "ES256")
	p := newPeerRig(b)
	b.Run("floor-1verify", func(b *testing.B) { benchOneVerifyFloor(b, r) })
	b.Run("floor-2verifies", func(b *testing.B) { benchRequestFloor(b, r) })
	b.Run("ztkit-cold", func(b *testing.B) { benchGRPC(b, r, p, ztkitInterceptor(b, r, p, 0)) })
	b.Run("ztkit-warm", func(b *testing.B) { benchGRPC(b, r, p, ztkitInterceptor(b, r, p, tokens.DefaultCacheSize)) })
	b.Run("grpc-middleware+golang-jwt+go-jose+x509svid", func(b *testing.B) { benchGRPC(b, r, p, handInterceptorCheck(r)) })
}

// benchGRPC runs one call per op on one connection with a fresh proof: the
// proof is written into the prebuilt call's metadata, as a new call's
// metadata would carry it.
func benchGRPC(b *testing.B, r *rig, p *peerRig, check callCheck) {
	proofs := newProofBatchFor(b, r, r.token, grpcHTU)
	md := grpcMD("DPoP "+r.token, "")
	ctx := grpcCall(p.conn, md)
	dp := md["dpop"]
	b.ReportAllocs()
	proofs.cpu = startCPU()
	for b.Loop() {
		dp[0] = proofs.take(b)
		if err := check(ctx); err != nil {
			b.Fatal(err)
		}
	}
	proofs.cpu.report(b)
}

// TestGRPCEquivalence checks that the hand-assembled interceptor accepts
// what ztkit's accepts and refuses what it refuses, but for two documented
// gaps, so that BenchmarkGRPC compares equal work.
func TestGRPCEquivalence(t *testing.T) {
	r, other := newRig(t, "ES256"), newRig(t, "ES256")
	p := newPeerRig(t)
	rogue := newPeerRig(t) // another CA, same trust domain name
	intruder, err := p.iss.IssueX509SVID(spiffeid.RequireFromPath(shopTD, "/intruder"))
	require.NoError(t, err)
	otherKeyToken := r.issue(t, issueOpts{keys: other.keys})
	dpopAuth := "DPoP " + r.token
	for _, c := range []struct {
		name  string
		check callCheck
		// verifiesChain is whether the interceptor verifies the peer's
		// chain itself. The hand-assembled stack relies on the TLS layer.
		verifiesChain bool
		// checksAuthority is whether the interceptor refuses a call whose
		// :authority is not the service's. The hand-assembled stack builds
		// htu from its own origin and never reads :authority.
		checksAuthority bool
	}{
		{"ztkit-cold", ztkitInterceptor(t, r, p, 0), true, true},
		{"ztkit-warm", ztkitInterceptor(t, r, p, tokens.DefaultCacheSize), true, true},
		{"grpc-middleware+golang-jwt+go-jose+x509svid", handInterceptorCheck(r), false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			fresh := func() string { return r.proofFor(t, r.token, grpcHTU) }
			call := func(conn *tls.ConnectionState, md metadata.MD) error {
				return c.check(grpcCall(conn, md))
			}
			valid := fresh()
			require.NoError(t, call(p.conn, grpcMD(dpopAuth, valid)), "valid")
			require.NoError(t, call(p.freshConn(t), grpcMD(dpopAuth, fresh())), "valid, new connection")

			err := call(rogue.conn, grpcMD(dpopAuth, fresh()))
			if c.verifiesChain {
				assert.ErrorIs(t, err, errCallRefused, "peer-from-another-CA")
			} else {
				// Documented gap: IDFromCert trusts that TLS verified the chain.
				assert.NoError(t, err, "peer-from-another-CA: %s was expected to rely on the TLS layer", c.name)
			}
			t.Logf("%-22s %v", "peer-from-another-CA", err)
			misdirected := grpcMD(dpopAuth, fresh())
			misdirected[":authority"] = []string{"payments.shop.example"}
			err = call(p.conn, misdirected)
			if c.checksAuthority {
				assert.ErrorIs(t, err, errCallRefused, "other-authority")
			} else {
				// Documented gap: the proof's htu is checked against the
				// server's own origin, so it still binds the call to this
				// service; only the :authority is not looked at.
				assert.NoError(t, err, "other-authority: %s was expected not to read :authority", c.name)
			}
			t.Logf("%-22s %v", "other-authority", err)
			otherMethod := r.proofFor(t, r.token, origin+"/shop.checkout.v1.Checkout/CancelOrder")
			for _, tc := range []struct {
				name string
				err  error
			}{
				{"no-metadata", call(p.conn, nil)},
				{"empty-metadata", call(p.conn, metadata.MD{":authority": {grpcAuthority}})},
				{"no-tls", call(nil, grpcMD(dpopAuth, fresh()))},
				{"no-client-cert", call(connState(nil), grpcMD(dpopAuth, fresh()))},
				{"wrong-peer-svid", call(connState(intruder.Certificates), grpcMD(dpopAuth, fresh()))},
				{"replayed-proof", call(p.conn, grpcMD(dpopAuth, valid))},
				{"proof-by-unbound-key", call(p.conn, grpcMD(dpopAuth, other.proofFor(t, r.token, grpcHTU)))},
				{"other-issuer-key", call(p.conn, grpcMD("DPoP "+otherKeyToken, r.proofFor(t, otherKeyToken, grpcHTU)))},
				{"bearer-scheme", call(p.conn, grpcMD("Bearer "+r.token, fresh()))},
				{"proof-for-other-method", call(p.conn, grpcMD(dpopAuth, otherMethod))},
				{"proof-for-http-path", call(p.conn, grpcMD(dpopAuth, r.proof(t, r.token)))},
			} {
				assert.ErrorIs(t, tc.err, errCallRefused, tc.name)
				t.Logf("%-22s %v", tc.name, tc.err)
			}
			// The valid call still passes after the refusals: nothing above
			// was refused for a state the refusals left behind.
			require.NoError(t, call(p.conn, grpcMD(dpopAuth, fresh())), "valid, after the refusals")
		})
	}
}
