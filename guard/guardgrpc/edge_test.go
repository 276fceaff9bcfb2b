package guardgrpc_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffegrpc/grpccredentials"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/guard/guardgrpc"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/internal/test/refusaltest"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// dpopOnly is the authenticator of a route that takes DPoP-bound tokens
// only, for the external URL.
func dpopOnly(t *testing.T, rig *shoprig.Tokens) *authn.Authenticator {
	t.Helper()
	return refusaltest.Route{Token: authn.DPoPBoundToken}.Authenticator(t, rig, externalURL)
}

// bound is a fresh DPoP-bound token with a proof for a call of method at
// the origin origin.
func bound(t *testing.T, rig *shoprig.Tokens, origin, method string) refusaltest.Credentials {
	t.Helper()
	tok := rig.Token(t, nil)
	return refusaltest.Authorization("DPoP", tok, rig.Proof(t, "POST", origin+method, tok, ""))
}

// TestInterceptorsAccept: over SPIFFE mTLS (go-spiffe's grpccredentials)
// with a DPoP-bound token, unary and stream handlers see the principal,
// with the peer's SPIFFE ID, and every answer carries the current nonce.
func TestInterceptorsAccept(t *testing.T) {
	rig := shoprig.NewTokens(t)
	p := newPKI(t)
	bundle := p.iss.X509Bundle()
	a, err := authn.New(authn.Policy{Peer: authn.MatchID(shoprig.Checkout), Token: authn.DPoPBoundToken},
		authn.WithX509Bundles(bundle), authn.WithAccessTokens(rig.RequestVerifier(t, externalURL, nil, nil)))
	require.NoError(t, err)
	nonces, err := dpop.NewNonces([]byte("a 32-byte nonce secret for tests"), dpop.WithNonceClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	s := start(t, p, a, options{
		gopts:  []guard.Option{guard.WithNonces(nonces)},
		server: grpccredentials.MTLSServerCredentials(shoprig.SVID(t, p.iss, shoprig.Payments), bundle, tlsconfig.AuthorizeID(shoprig.Checkout)),
		client: grpccredentials.MTLSClientCredentials(shoprig.SVID(t, p.iss, shoprig.Checkout), bundle, tlsconfig.AuthorizeID(shoprig.Payments)),
	})
	for _, method := range []string{checkMethod, watchMethod} {
		t.Run(method, func(t *testing.T) {
			ans := s.call(t, method, bound(t, rig, externalURL, method))
			require.NoError(t, ans.err)
			assert.Equal(t, []string{nonces.Current()}, ans.header.Get("dpop-nonce"))
			assert.Empty(t, ans.trailer.Get("www-authenticate"))
			if method == watchMethod {
				assert.Equal(t, watchReplies, ans.replies)
			}
			pr, ran := s.served()
			require.True(t, ran)
			require.NotNil(t, pr)
			assert.Equal(t, shoprig.Checkout, pr.Peer)
			assert.Equal(t, shoprig.ClientID, pr.ClientID)
			assert.Equal(t, shoprig.Subject, pr.Subject)
			assert.Equal(t, authn.BoundToDPoPKey, pr.Binding)
			assert.True(t, pr.Has(authn.MethodMTLS))
			assert.True(t, pr.Has(authn.MethodDPoP))
		})
	}
}

// TestPeerForbidden: a workload of the trust domain that the policy does
// not name is PermissionDenied with reason peer_forbidden, on unary calls
// and streams, and gets no challenge.
func TestPeerForbidden(t *testing.T) {
	p := newPKI(t)
	bundle := p.iss.X509Bundle()
	a, err := authn.New(authn.Policy{Peer: authn.MatchID(shoprig.Checkout)}, authn.WithX509Bundles(bundle))
	require.NoError(t, err)
	s := start(t, p, a, options{
		server: grpccredentials.MTLSServerCredentials(shoprig.SVID(t, p.iss, shoprig.Payments), bundle, tlsconfig.AuthorizeMemberOf(shoprig.TrustDomain)),
		client: grpccredentials.MTLSClientCredentials(shoprig.SVID(t, p.iss, shoprig.Storefront), bundle, tlsconfig.AuthorizeID(shoprig.Payments)),
	})
	for _, method := range []string{checkMethod, watchMethod} {
		t.Run(method, func(t *testing.T) {
			assertRefused(t, s.call(t, method, refusaltest.Credentials{}), guard.ClassPermissionDenied, guard.ReasonPeerForbidden, nil)
			_, ran := s.served()
			assert.False(t, ran)
		})
	}
}

// TestStreamDecidedOnce: a stream is decided once, when it starts, however
// many messages it carries.
func TestStreamDecidedOnce(t *testing.T) {
	rig := shoprig.NewTokens(t)
	reader := sdkmetric.NewManualReader()
	s := start(t, newPKI(t), dpopOnly(t, rig), options{
		gopts: []guard.Option{guard.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))},
	})
	ans := s.call(t, watchMethod, bound(t, rig, externalURL, watchMethod))
	require.NoError(t, ans.err)
	assert.Equal(t, watchReplies, ans.replies)
	_, ran := s.served()
	assert.True(t, ran)

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(t.Context(), &rm))
	decisions := int64(-1)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "ztkit.authn.decisions" {
				decisions = 0
				for _, dp := range sum.DataPoints {
					decisions += dp.Value
				}
			}
		}
	}
	assert.Equal(t, int64(1), decisions)
}

// TestMetadataEdgeCases: metadata a client may send oddly is refused
// cleanly, with the status and reason of its cause.
func TestMetadataEdgeCases(t *testing.T) {
	rig := shoprig.NewTokens(t)
	p := newPKI(t)

	t.Run("two authorization values", func(t *testing.T) {
		s := start(t, p, dpopOnly(t, rig), options{})
		c := bound(t, rig, externalURL, checkMethod)
		c.Authorization = append(c.Authorization, c.Authorization[0])
		assertRefused(t, s.call(t, checkMethod, c), guard.ClassBadRequest, guard.ReasonInvalidRequest,
			[]string{refusaltest.DPoPChallenge("invalid_request")})
		_, ran := s.served()
		assert.False(t, ran)
	})
	t.Run("authorization-bin is not a credential", func(t *testing.T) {
		s := start(t, p, dpopOnly(t, rig), options{})
		c := bound(t, rig, externalURL, checkMethod)
		ctx := metadata.NewOutgoingContext(t.Context(), metadata.MD{"authorization-bin": c.Authorization, "dpop": c.DPoP})
		var trailer metadata.MD
		_, err := s.client.Check(ctx, &grpc_health_v1.HealthCheckRequest{}, grpc.Trailer(&trailer))
		assertRefused(t, answer{err: err, trailer: trailer}, guard.ClassUnauthenticated, guard.ReasonMissingToken,
			[]string{refusaltest.DPoPChallenge("")}, c.Authorization[0])
		_, ran := s.served()
		assert.False(t, ran)
	})
	t.Run("proof for another method", func(t *testing.T) {
		s := start(t, p, dpopOnly(t, rig), options{})
		c := bound(t, rig, externalURL, listMethod)
		assertRefused(t, s.call(t, checkMethod, c), guard.ClassUnauthenticated, guard.ReasonProofInvalid,
			[]string{refusaltest.DPoPChallenge("invalid_dpop_proof")})
	})
	for name, tc := range map[string]struct {
		authority, origin string
	}{
		"authority not served, proof for it":         {"evil.example", "https://evil.example"},
		"authority not served, proof for the server": {"evil.example", externalURL},
		"authority on another port":                  {authority + ":8443", externalURL},
		"authority with userinfo":                    {"u@" + authority, externalURL},
	} {
		t.Run(name, func(t *testing.T) {
			s := start(t, p, dpopOnly(t, rig), options{authority: tc.authority})
			assertRefused(t, s.call(t, checkMethod, bound(t, rig, tc.origin, checkMethod)), guard.ClassBadRequest, guard.ReasonMisdirected,
				[]string{refusaltest.DPoPChallenge("invalid_request")})
			_, ran := s.served()
			assert.False(t, ran)
		})
	}
	for _, auth := range []string{authority + ":443", "Payments.Shop.Example"} {
		t.Run("authority "+auth+" is served", func(t *testing.T) {
			s := start(t, p, dpopOnly(t, rig), options{authority: auth})
			require.NoError(t, s.call(t, checkMethod, bound(t, rig, externalURL, checkMethod)).err)
		})
	}
	t.Run("large authorization", func(t *testing.T) {
		s := start(t, p, dpopOnly(t, rig), options{})
		ans := s.call(t, checkMethod, refusaltest.Authorization("DPoP", strings.Repeat("A", 64<<10), "x"))
		require.Error(t, ans.err)
		st := status.Convert(ans.err)
		assert.Contains(t, []codes.Code{codes.Unauthenticated, codes.InvalidArgument}, st.Code())
		assert.Equal(t, "ztkit", errorInfo(t, st).GetDomain())
		assert.Less(t, len(st.Message()), 200)
		_, ran := s.served()
		assert.False(t, ran)
	})
	t.Run("metadata over the server's limit", func(t *testing.T) {
		s := start(t, p, dpopOnly(t, rig), options{sopts: []grpc.ServerOption{grpc.MaxHeaderListSize(16 << 10)}})
		ans := s.call(t, checkMethod, refusaltest.Authorization("DPoP", strings.Repeat("A", 32<<10), "x"))
		require.Error(t, ans.err)
		assert.NotEqual(t, codes.OK, status.Code(ans.err))
		_, ran := s.served()
		assert.False(t, ran)
		// The server still serves.
		require.NoError(t, s.call(t, checkMethod, bound(t, rig, externalURL, checkMethod)).err)
	})
}

// TestExemptMethods: only the methods WithExemptMethods names skip the
// guard; every other method, known to the handler or not, goes through it.
func TestExemptMethods(t *testing.T) {
	rig := shoprig.NewTokens(t)
	p := newPKI(t)
	missing := []string{refusaltest.DPoPChallenge("")}

	s := start(t, p, dpopOnly(t, rig), options{iopts: []guardgrpc.Option{guardgrpc.WithExemptMethods(checkMethod)}})
	ans := s.call(t, checkMethod, refusaltest.Credentials{})
	require.NoError(t, ans.err)
	pr, ran := s.served()
	assert.True(t, ran)
	assert.Nil(t, pr, "an exempt call has no principal")
	assert.Empty(t, ans.header.Get("dpop-nonce"))

	assertRefused(t, s.call(t, watchMethod, refusaltest.Credentials{}), guard.ClassUnauthenticated, guard.ReasonMissingToken, missing)
	assertRefused(t, s.call(t, listMethod, refusaltest.Credentials{}), guard.ClassUnauthenticated, guard.ReasonMissingToken, missing)

	t.Run("nothing is exempt by default", func(t *testing.T) {
		s := start(t, p, dpopOnly(t, rig), options{iopts: []guardgrpc.Option{guardgrpc.WithExemptMethods(), nil}})
		assertRefused(t, s.call(t, checkMethod, refusaltest.Credentials{}), guard.ClassUnauthenticated, guard.ReasonMissingToken, missing)
	})
	t.Run("a name matches exactly", func(t *testing.T) {
		s := start(t, p, dpopOnly(t, rig), options{iopts: []guardgrpc.Option{guardgrpc.WithExemptMethods(
			"grpc.health.v1.Health/Check", "/grpc.health.v1.Health/", "/GRPC.HEALTH.V1.HEALTH/CHECK", "/grpc.health.v1.Health/Check/")}})
		assertRefused(t, s.call(t, checkMethod, refusaltest.Credentials{}), guard.ClassUnauthenticated, guard.ReasonMissingToken, missing)
	})
}

// TestAuthorizationDenied: an authorization denial on the full method is
// PermissionDenied, with the authz reason in the ErrorInfo.
func TestAuthorizationDenied(t *testing.T) {
	rig := shoprig.NewTokens(t)
	az, err := authz.AuthorizePolicy(authz.Policy{Rules: []authz.Rule{{
		ID: "health", Effect: authz.Allow, Routes: []string{"POST " + checkMethod},
		Match: authz.Match{ClientIDs: []string{shoprig.ClientID}},
	}}})
	require.NoError(t, err)
	s := start(t, newPKI(t), dpopOnly(t, rig), options{gopts: []guard.Option{guard.WithAuthorizer(az)}})

	require.NoError(t, s.call(t, checkMethod, bound(t, rig, externalURL, checkMethod)).err)
	_, ran := s.served()
	assert.True(t, ran)

	ans := s.call(t, watchMethod, bound(t, rig, externalURL, watchMethod))
	require.Error(t, ans.err)
	st := status.Convert(ans.err)
	assert.Equal(t, codes.PermissionDenied, st.Code())
	info := errorInfo(t, st)
	code := info.GetMetadata()["code"]
	assert.NotEmpty(t, code)
	assert.Equal(t, strings.ToUpper(code), info.GetReason())
	_, ran = s.served()
	assert.False(t, ran)
}

// TestOddInput: nothing panics on a nil or odd argument; each is refused
// with a status.
func TestOddInput(t *testing.T) {
	rig := shoprig.NewTokens(t)
	_, err := guardgrpc.New(nil)
	assert.ErrorIs(t, err, authn.ErrInvalidConfig)

	g, err := guard.New(dpopOnly(t, rig))
	require.NoError(t, err)
	ics, err := guardgrpc.New(g)
	require.NoError(t, err)
	assert.Len(t, ics.ServerOptions(), 2)

	var nilCtx context.Context
	handler := func(context.Context, any) (any, error) { t.Error("the handler ran"); return nil, nil }
	info := &grpc.UnaryServerInfo{FullMethod: checkMethod}
	unary := ics.UnaryServerInterceptor()
	for name, call := range map[string]func() error{
		"nil context":          func() error { _, err := unary(nilCtx, nil, info, handler); return err },
		"nil info":             func() error { _, err := unary(t.Context(), nil, nil, handler); return err },
		"nil handler":          func() error { _, err := unary(t.Context(), nil, info, nil); return err },
		"no metadata, no peer": func() error { _, err := unary(t.Context(), nil, info, handler); return err },
		"empty method":         func() error { _, err := unary(t.Context(), nil, &grpc.UnaryServerInfo{}, handler); return err },
		"stream, nil stream": func() error {
			return ics.StreamServerInterceptor()(nil, nil, &grpc.StreamServerInfo{FullMethod: watchMethod}, nil)
		},
		"stream, nil info": func() error { return ics.StreamServerInterceptor()(nil, nil, nil, nil) },
		"metadata without values": func() error {
			_, err := unary(metadata.NewIncomingContext(t.Context(), metadata.MD{"authorization": nil}), nil, info, handler)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = call() })
			require.Error(t, err)
			st := status.Convert(err)
			assert.NotEqual(t, codes.OK, st.Code())
			assert.NotEqual(t, codes.Unknown, st.Code())
			assert.Equal(t, "ztkit", errorInfo(t, st).GetDomain())
		})
	}
	t.Run("nil Request context", func(t *testing.T) {
		req := guardgrpc.Request(nilCtx, checkMethod)
		assert.Equal(t, "POST", req.Method)
		assert.Equal(t, checkMethod, req.Path)
		assert.Nil(t, req.Authorization)
	})
	t.Run("nil refusal", func(t *testing.T) {
		assert.Equal(t, codes.Internal, guardgrpc.Status(nil).Code())
	})
}

// TestStatusReason: the ErrorInfo reason is the refusal's code in the form
// the ErrorInfo documentation asks, [A-Z][A-Z0-9_]+[A-Z0-9] of at most 63
// characters, and its metadata holds the code as is.
func TestStatusReason(t *testing.T) {
	form := regexp.MustCompile(`^[A-Z][A-Z0-9_]+[A-Z0-9]$`)
	for _, tc := range []struct {
		reason guard.Reason
		want   string
	}{
		{guard.ReasonProofReplayed, "DPOP_REPLAYED"},
		{guard.ReasonMisdirected, "MISDIRECTED"},
		{"insufficient_scope", "INSUFFICIENT_SCOPE"},
		{"rule-v2.denied", "RULE_V2_DENIED"},
		{"_9lead_trail_", "LEAD_TRAIL"},
		{"code2", "CODE2"},
		{"", "REFUSED"},
		{"x", "REFUSED"},
		{"__", "REFUSED"},
		{"é", "REFUSED"},
		{guard.Reason(strings.Repeat("ab_", 40)), ""},
	} {
		t.Run(string(tc.reason), func(t *testing.T) {
			st := guardgrpc.Status(&guard.Refusal{Class: guard.ClassPermissionDenied, Reason: tc.reason, Detail: "No."})
			assert.Equal(t, codes.PermissionDenied, st.Code())
			assert.Equal(t, "No.", st.Message())
			info := errorInfo(t, st)
			assert.Regexp(t, form, info.GetReason())
			assert.LessOrEqual(t, len(info.GetReason()), 63)
			if tc.want != "" {
				assert.Equal(t, tc.want, info.GetReason())
			}
			assert.Equal(t, map[string]string{"code": string(tc.reason)}, info.GetMetadata())
		})
	}
}

// wrappedInfo is an AuthInfo wrapper that embeds the TLS information, as
// go-spiffe's grpccredentials does.
type wrappedInfo struct {
	credentials.AuthInfo
}

// otherInfo is an AuthInfo of neither TLS nor a wrapper.
type otherInfo struct{ credentials.CommonAuthInfo }

func (otherInfo) AuthType() string { return "other" }

// TestRequest: a call is described as the package documents, from its
// metadata and its peer.
func TestRequest(t *testing.T) {
	p := newPKI(t)
	svid := shoprig.SVID(t, p.iss, shoprig.Checkout)
	tlsInfo := credentials.TLSInfo{State: tls.ConnectionState{PeerCertificates: svid.Certificates}}
	md := metadata.MD{
		"authorization": {"DPoP a", "DPoP b"}, "dpop": {"p"}, ":authority": {authority},
		"x-forwarded-host": {"edge.shop.example"}, "authorization-bin": {"c"},
	}
	for name, info := range map[string]credentials.AuthInfo{
		"TLSInfo": tlsInfo, "*TLSInfo": &tlsInfo, "wrapped": wrappedInfo{tlsInfo}, "wrapped twice": &wrappedInfo{wrappedInfo{tlsInfo}},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := peer.NewContext(metadata.NewIncomingContext(t.Context(), md), &peer.Peer{
				Addr: &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 4711}, AuthInfo: info,
			})
			req := guardgrpc.Request(ctx, checkMethod)
			assert.Equal(t, "POST", req.Method)
			assert.Equal(t, checkMethod, req.Path)
			assert.Equal(t, checkMethod, req.Route)
			assert.Equal(t, authority, req.Authority)
			assert.Equal(t, []string{"DPoP a", "DPoP b"}, req.Authorization)
			assert.Equal(t, []string{"p"}, req.DPoP)
			assert.Equal(t, []string{"edge.shop.example"}, req.Values("X-Forwarded-Host"))
			assert.Equal(t, netip.MustParseAddr("192.0.2.7"), req.RemoteAddr)
			require.Len(t, req.PeerCertificates, len(svid.Certificates))
			assert.Same(t, svid.Certificates[0], req.PeerCertificates[0])
		})
	}
	for name, info := range map[string]credentials.AuthInfo{
		"no AuthInfo": nil, "nil *TLSInfo": (*credentials.TLSInfo)(nil), "nil wrapper": (*wrappedInfo)(nil),
		"wrapper of nothing": wrappedInfo{}, "other AuthInfo": otherInfo{},
	} {
		t.Run(name, func(t *testing.T) {
			var req inbound.Request
			require.NotPanics(t, func() {
				req = guardgrpc.Request(peer.NewContext(t.Context(), &peer.Peer{AuthInfo: info}), checkMethod)
			})
			assert.Nil(t, req.PeerCertificates)
			assert.False(t, req.RemoteAddr.IsValid())
		})
	}
	t.Run("two :authority values", func(t *testing.T) {
		ctx := metadata.NewIncomingContext(t.Context(), metadata.MD{":authority": {authority, "evil.example"}})
		assert.NotEqual(t, authority, guardgrpc.Request(ctx, checkMethod).Authority)
	})
}
