package dpopgrpc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz/egress"
	"github.com/ztkit/ztkit/authz/egress/egressgrpc"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/dpopgrpc"
)

// TestFreshProofPerRPC: every call carries one "authorization: DPoP" value
// and one proof, for htm POST and the method's htu, with a new jti; the
// server's RequestVerifier accepts each.
func TestFreshProofPerRPC(t *testing.T) {
	r := newRig(t)
	srv := startServer(t, r, serverOpts{})
	src := r.source(t)
	conn := r.dialDPoP(t, srv, r.creds(t, src))

	for range 3 {
		require.NoError(t, check(t, conn))
	}
	hits := srv.seen()
	require.Len(t, hits, 3)
	jtis := map[string]bool{}
	for _, h := range hits {
		assert.NoError(t, h.err)
		assert.Equal(t, []string{"DPoP " + src.token}, h.auth, "one authorization value")
		assert.Len(t, h.proofs, 1, "one proof")
		assert.Equal(t, "POST", h.htm)
		assert.Equal(t, htu(checkMethod), h.htu)
		assert.Empty(t, h.nonce)
		require.NotEmpty(t, h.jti)
		jtis[h.jti] = true
	}
	assert.Len(t, jtis, 3, "a fresh proof per RPC")
	assert.EqualValues(t, 3, src.calls.Load(), "the token source is asked per RPC")
}

// TestHTUPerMethod: each method's proof names that method, for unary,
// server-streaming and bidi calls, and the server accepts it.
func TestHTUPerMethod(t *testing.T) {
	r := newRig(t)
	srv := startServer(t, r, serverOpts{})
	conn := r.dialDPoP(t, srv, r.creds(t, r.source(t)))
	ctx := shoprig.Context(t)

	require.NoError(t, check(t, conn))
	w, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	_, err = w.Recv()
	require.NoError(t, err)
	chat, err := conn.NewStream(ctx, chatDesc, chatMethod)
	require.NoError(t, err)
	require.NoError(t, chat.SendMsg(&healthpb.HealthCheckRequest{}))
	require.NoError(t, chat.RecvMsg(&healthpb.HealthCheckResponse{}))
	require.NoError(t, chat.CloseSend())

	hits := srv.seen()
	require.Len(t, hits, 3)
	for i, m := range []string{checkMethod, watchMethod, chatMethod} {
		assert.Equal(t, m, hits[i].method)
		assert.Equal(t, htu(m), hits[i].htu)
		assert.NoError(t, hits[i].err, m)
	}
}

// TestAuthority: htu's authority is the one the client dialed, unless
// WithAuthority names the one a proxy serves the service under.
func TestAuthority(t *testing.T) {
	r := newRig(t)

	t.Run("dialed", func(t *testing.T) {
		srv := startServer(t, r, serverOpts{external: "https://{addr}"})
		c := r.creds(t, r.source(t))
		require.NoError(t, check(t, r.dial(t, srv, c.DialOptions()...)))
		hits := srv.seen()
		require.Len(t, hits, 1)
		assert.NoError(t, hits[0].err)
		assert.Equal(t, "https://"+srv.addr+checkMethod, hits[0].htu)
	})
	t.Run("WithAuthority", func(t *testing.T) {
		srv := startServer(t, r, serverOpts{})
		c := r.creds(t, r.source(t), dpopgrpc.WithAuthority(authority))
		require.NoError(t, check(t, r.dial(t, srv, c.DialOptions()...)))
		hits := srv.seen()
		require.Len(t, hits, 1)
		assert.NoError(t, hits[0].err)
		assert.Equal(t, htu(checkMethod), hits[0].htu)
	})
	t.Run("dialed address refused by a server that knows another authority", func(t *testing.T) {
		srv := startServer(t, r, serverOpts{})
		c := r.creds(t, r.source(t))
		err := check(t, r.dial(t, srv, c.DialOptions()...))
		assert.Equal(t, codes.Unauthenticated, status.Code(err))
		hits := srv.seen()
		require.Len(t, hits, 1, "not retried")
		assert.ErrorIs(t, hits[0].err, dpop.ErrURIMismatch)
	})
}

// TestNonceRetry: a server that requires nonces refuses the first call with
// the use_dpop_nonce challenge; the call is retried once with the nonce and
// succeeds, and the next call carries the remembered nonce at once, whether
// the nonce came in the trailer or the header.
func TestNonceRetry(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode nonceMode
	}{{"nonce in trailer", nonceTrailer}, {"nonce in header", nonceHeader}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			srv := startServer(t, r, serverOpts{mode: tc.mode})
			conn := r.dialDPoP(t, srv, r.creds(t, r.source(t)))

			require.NoError(t, check(t, conn))
			hits := srv.seen()
			require.Len(t, hits, 2, "one challenge, one retry")
			assert.ErrorIs(t, hits[0].err, dpop.ErrUseDPoPNonce)
			assert.Empty(t, hits[0].nonce)
			assert.NoError(t, hits[1].err)
			assert.Equal(t, srv.nonces.Current(), hits[1].nonce)
			assert.NotEqual(t, hits[0].jti, hits[1].jti, "the retry has a fresh proof")

			require.NoError(t, check(t, conn))
			hits = srv.seen()
			require.Len(t, hits, 3, "the remembered nonce makes the next call one round trip")
			assert.NoError(t, hits[2].err)
		})
	}
}

// TestSecondChallengeReturned: a server that challenges every call with a
// new nonce gets each call twice, never more; the second refusal is the
// caller's error.
func TestSecondChallengeReturned(t *testing.T) {
	r := newRig(t)
	srv := startServer(t, r, serverOpts{mode: alwaysNewNonce})
	conn := r.dialDPoP(t, srv, r.creds(t, r.source(t)))

	for call := 1; call <= 2; call++ {
		err := check(t, conn)
		require.Error(t, err)
		assert.Equal(t, codes.Unauthenticated, status.Code(err))
		hits := srv.seen()
		require.Len(t, hits, 2*call, "one retry per call, no loop")
	}
	hits := srv.seen()
	assert.Empty(t, hits[0].nonce)
	assert.Equal(t, "fresh-1", hits[1].nonce, "retried with the challenge's nonce")
	assert.Equal(t, "fresh-2", hits[2].nonce, "the last nonce is remembered")
	assert.Equal(t, "fresh-3", hits[3].nonce)
}

// TestNoRetryOnOtherRefusal: a refusal other than the use_dpop_nonce
// challenge is never retried, even with a new nonce beside it; the nonce is
// still remembered.
func TestNoRetryOnOtherRefusal(t *testing.T) {
	r := newRig(t)
	srv := startServer(t, r, serverOpts{mode: nonceTrailer})
	bad := &countingSource{token: r.tokens.Token(t, func(tr *tokens.TokenRequest) { tr.Audience = []string{"https://other.shop.example"} })}
	conn := r.dialDPoP(t, srv, r.creds(t, bad))

	for i := 1; i <= 2; i++ {
		err := check(t, conn)
		assert.Equal(t, codes.Unauthenticated, status.Code(err))
		assert.Len(t, srv.seen(), i, "not retried")
	}
	hits := srv.seen()
	assert.ErrorIs(t, hits[0].err, tokens.ErrInvalidAudience)
	assert.Empty(t, hits[0].nonce)
	assert.Equal(t, srv.nonces.Current(), hits[1].nonce, "the nonce beside the refusal is remembered")
}

// TestWithoutInterceptors: the credentials alone send a valid proof but
// cannot learn nonces: the challenge reaches the caller.
func TestWithoutInterceptors(t *testing.T) {
	r := newRig(t)
	srv := startServer(t, r, serverOpts{mode: nonceTrailer})
	conn := r.dial(t, srv, grpc.WithPerRPCCredentials(r.creds(t, r.source(t))), grpc.WithAuthority(authority))
	var trl metadata.MD
	err := check(t, conn, grpc.Trailer(&trl))
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	assert.Len(t, srv.seen(), 1)
	assert.Equal(t, []string{srv.nonces.Current()}, trl.Get("dpop-nonce"))
}

// TestRequireTransportSecurity: the token and proofs never travel over a
// connection without TLS.
func TestRequireTransportSecurity(t *testing.T) {
	r := newRig(t)
	c := r.creds(t, r.source(t))
	assert.True(t, c.RequireTransportSecurity())

	t.Run("dial options", func(t *testing.T) {
		_, err := grpc.NewClient("127.0.0.1:1", append(c.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		require.Error(t, err)
	})
	t.Run("call option on an insecure connection", func(t *testing.T) {
		srv := startServer(t, r, serverOpts{creds: insecure.NewCredentials()})
		conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithChainUnaryInterceptor(c.UnaryClientInterceptor()))
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		err = check(t, conn, grpc.PerRPCCredentials(c))
		assert.Equal(t, codes.Unauthenticated, status.Code(err))
		assert.Empty(t, srv.seen(), "nothing reached the server")
	})
	t.Run("GetRequestMetadata on an insecure connection", func(t *testing.T) {
		for _, ctx := range []context.Context{
			t.Context(), // no request info
			credentials.NewContextWithRequestInfo(t.Context(), credentials.RequestInfo{Method: checkMethod}),
			credentials.NewContextWithRequestInfo(t.Context(), credentials.RequestInfo{Method: checkMethod, AuthInfo: insecureInfo{}}),
		} {
			md, err := c.GetRequestMetadata(ctx, "https://"+authority+"/grpc.health.v1.Health")
			assert.ErrorIs(t, err, dpopgrpc.ErrInsecureTransport)
			assert.True(t, md == nil, "metadata made") // never print md: it holds the token
		}
	})
}

type insecureInfo struct{}

func (insecureInfo) AuthType() string { return "insecure" }
func (insecureInfo) GetCommonAuthInfo() credentials.CommonAuthInfo {
	return credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}
}

// TestTokenSourceError: a token source's failure is the caller's error,
// matching ErrTokenSource and the source's own error, as a gRPC status
// Unauthenticated; nothing reaches the server. So is a token that cannot be
// sent.
func TestTokenSourceError(t *testing.T) {
	r := newRig(t)
	srv := startServer(t, r, serverOpts{mode: nonceTrailer})
	errSource := errors.New("authorization server unreachable")
	for _, tc := range []struct {
		name  string
		src   *countingSource
		cause error
	}{
		{"source error", &countingSource{err: errSource}, errSource},
		{"empty token", &countingSource{}, nil},
		{"token with a space", &countingSource{token: "a b"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := r.dialDPoP(t, srv, r.creds(t, tc.src))
			ctx := shoprig.Context(t)
			assertErr := func(err error) {
				t.Helper()
				require.Error(t, err)
				assert.ErrorIs(t, err, dpopgrpc.ErrTokenSource)
				if tc.cause != nil {
					assert.ErrorIs(t, err, tc.cause)
				}
				assert.Equal(t, codes.Unauthenticated, status.Code(err))
			}
			assertErr(check(t, conn))
			_, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
			if err == nil {
				// grpc-go may report a stream's failure on its first receive.
				t.Fatal("Watch opened without a token")
			}
			assertErr(err)
			assert.Empty(t, srv.seen())
		})
	}
}

// TestConflictingMetadata: a call that already carries authorization or
// dpop metadata is refused rather than sent with two values.
func TestConflictingMetadata(t *testing.T) {
	r := newRig(t)
	srv := startServer(t, r, serverOpts{})
	conn := r.dialDPoP(t, srv, r.creds(t, r.source(t)))
	for _, key := range []string{"authorization", "dpop", "Authorization"} {
		ctx := metadata.AppendToOutgoingContext(shoprig.Context(t), key, "x")
		_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		assert.ErrorIs(t, err, dpopgrpc.ErrConflictingMetadata, key)
	}
	assert.Empty(t, srv.seen())
}

// openChat opens the bidi stream on a server asking for nonces by mode.
func openChat(t *testing.T, mode nonceMode) (*server, grpc.ClientStream) {
	t.Helper()
	r := newRig(t)
	srv := startServer(t, r, serverOpts{mode: mode})
	conn := r.dialDPoP(t, srv, r.creds(t, r.source(t)))
	chat, err := conn.NewStream(shoprig.Context(t), chatDesc, chatMethod)
	require.NoError(t, err)
	return srv, chat
}

// requireRetried: the server refused the stream for a nonce, then accepted it.
func requireRetried(t *testing.T, srv *server) {
	t.Helper()
	hits := srv.seen()
	require.Len(t, hits, 2)
	assert.ErrorIs(t, hits[0].err, dpop.ErrUseDPoPNonce)
	assert.NoError(t, hits[1].err)
}

// TestStreamRetryAtStart: a stream refused for a nonce before the client
// sent anything is opened again with the nonce, transparently, whether the
// refusal is seen by Header (a trailers-only refusal) or by RecvMsg after
// CloseSend (the stream opened again is closed for sending too).
func TestStreamRetryAtStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode nonceMode
	}{{"nonce in trailer", nonceTrailer}, {"nonce in header", nonceHeader}} {
		t.Run(tc.name+", CloseSend then RecvMsg", func(t *testing.T) {
			srv, chat := openChat(t, tc.mode)
			require.NoError(t, chat.CloseSend())
			assert.ErrorIs(t, chat.RecvMsg(&healthpb.HealthCheckResponse{}), io.EOF, "the stream ended well")
			requireRetried(t, srv)
		})
	}
	t.Run("Header first", func(t *testing.T) {
		srv, chat := openChat(t, nonceTrailer)
		hdr, err := chat.Header()
		require.NoError(t, err)
		assert.Equal(t, []string{srv.nonces.Current()}, hdr.Get("dpop-nonce"), "the header of the stream opened again")
		require.NoError(t, chat.SendMsg(&healthpb.HealthCheckRequest{}))
		var resp healthpb.HealthCheckResponse
		require.NoError(t, chat.RecvMsg(&resp))
		assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
		require.NoError(t, chat.CloseSend())
		requireRetried(t, srv)
	})
	t.Run("second refusal at start", func(t *testing.T) {
		srv, chat := openChat(t, alwaysNewNonce)
		hdr, err := chat.Header()
		assert.NoError(t, err)
		assert.Nil(t, hdr, "ended without a header, as grpc-go reports it")
		err = chat.RecvMsg(&healthpb.HealthCheckResponse{})
		assert.Equal(t, codes.Unauthenticated, status.Code(err))
		assert.NotErrorIs(t, err, dpopgrpc.ErrNonceRetryImpossible, "nothing was sent")
		assert.Len(t, srv.seen(), 2, "opened again once, no loop")
	})
}

// TestStreamNoRetryAfterSend: a stream refused for a nonce after the client
// sent its request is not replayed: the caller gets the status, matching
// ErrNonceRetryImpossible; the nonce is remembered, so the stream opened
// again succeeds.
func TestStreamNoRetryAfterSend(t *testing.T) {
	r := newRig(t)
	srv := startServer(t, r, serverOpts{mode: nonceTrailer})
	conn := r.dialDPoP(t, srv, r.creds(t, r.source(t)))
	ctx := shoprig.Context(t)
	hc := healthpb.NewHealthClient(conn)

	w, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	_, err = w.Recv()
	require.Error(t, err)
	assert.ErrorIs(t, err, dpopgrpc.ErrNonceRetryImpossible)
	assert.ErrorIs(t, err, dpop.ErrNonceRetryImpossible)
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	assert.Len(t, srv.seen(), 1)

	w, err = hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	resp, err := w.Recv()
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
	assert.Len(t, srv.seen(), 2)
}

// TestConcurrentRPCs: many goroutines share one PerRPCCredentials and one
// connection; every call succeeds with its own proof (run with -race).
func TestConcurrentRPCs(t *testing.T) {
	r := newRig(t)
	srv := startServer(t, r, serverOpts{mode: nonceTrailer})
	conn := r.dialDPoP(t, srv, r.creds(t, r.source(t)))
	const workers, calls = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				errs <- check(t, conn)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	jtis := map[string]bool{}
	ok := 0
	for _, h := range srv.seen() {
		jtis[h.jti] = true
		if h.err == nil {
			ok++
		}
	}
	assert.Equal(t, workers*calls, ok)
	assert.Len(t, jtis, len(srv.seen()), "every attempt had its own proof")
}

// TestErrorsCarryNoSecrets: no error text names the token or a proof.
func TestErrorsCarryNoSecrets(t *testing.T) {
	r := newRig(t)
	srv := startServer(t, r, serverOpts{mode: alwaysNewNonce})
	src := r.source(t)
	c := r.creds(t, src)
	err := check(t, r.dialDPoP(t, srv, c))
	require.Error(t, err)
	hits := srv.seen()
	require.NotEmpty(t, hits)
	for _, s := range []string{err.Error(), fmt.Sprint(c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, src.token) || strings.Contains(s, hits[0].proofs[0]) {
			t.Error("an error or print of the credentials carries the token or a proof")
		}
	}
}

// TestNewPerRPCCredentials: a missing source or proofer, or a malformed
// authority, is refused; so is a zero PerRPCCredentials.
func TestNewPerRPCCredentials(t *testing.T) {
	r := newRig(t)
	src := r.source(t)
	for _, tc := range []struct {
		name string
		src  dpop.TokenSource
		p    *dpop.Proofer
		opts []dpopgrpc.Option
	}{
		{"no source", nil, r.tokens.Proofer, nil},
		{"no proofer", src, nil, nil},
		{"authority with a path", src, r.tokens.Proofer, []dpopgrpc.Option{dpopgrpc.WithAuthority("shop.example/x")}},
		{"authority with userinfo", src, r.tokens.Proofer, []dpopgrpc.Option{dpopgrpc.WithAuthority("u@shop.example")}},
		{"authority with a scheme", src, r.tokens.Proofer, []dpopgrpc.Option{dpopgrpc.WithAuthority("https://shop.example")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := dpopgrpc.NewPerRPCCredentials(tc.src, tc.p, tc.opts...)
			assert.ErrorIs(t, err, dpopgrpc.ErrInvalidConfig)
			assert.Nil(t, c)
		})
	}
	var zero dpopgrpc.PerRPCCredentials
	_, err := zero.GetRequestMetadata(context.Background(), "https://"+authority+"/s")
	assert.ErrorIs(t, err, dpopgrpc.ErrInvalidConfig)
}

// TestUnknownTarget: without a method of the form /service/method or an
// https authority, no proof is made.
func TestUnknownTarget(t *testing.T) {
	r := newRig(t)
	c := r.creds(t, r.source(t))
	secure := credentials.TLSInfo{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}
	for _, tc := range []struct {
		name, method string
		uri          []string
	}{
		{"method without service", "/Check", []string{"https://" + authority + "/s"}},
		{"method with query", "/s/m?x=1", []string{"https://" + authority + "/s"}},
		{"method with dot segment", "/../m", []string{"https://" + authority + "/s"}},
		{"method with percent-encoding", "/s/m%2Fx", []string{"https://" + authority + "/s"}},
		{"method with a space", "/s/m x", []string{"https://" + authority + "/s"}},
		{"no uri", checkMethod, nil},
		{"http uri", checkMethod, []string{"http://" + authority + "/s"}},
		{"uri with userinfo", checkMethod, []string{"https://u@" + authority + "/s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			if tc.method != "" {
				ctx = credentials.NewContextWithRequestInfo(ctx, credentials.RequestInfo{Method: tc.method, AuthInfo: secure})
			}
			md, err := c.GetRequestMetadata(ctx, tc.uri...)
			assert.ErrorIs(t, err, dpopgrpc.ErrUnknownTarget)
			assert.True(t, md == nil, "metadata made") // never print md: it holds the token
		})
	}
}

// TestInterceptorsWithoutCredentials: the interceptors leave calls that do
// not use their credentials alone: a refusal is neither learnt from nor
// retried.
func TestInterceptorsWithoutCredentials(t *testing.T) {
	r := newRig(t)
	srv := startServer(t, r, serverOpts{mode: nonceTrailer})
	c := r.creds(t, r.source(t))
	conn := r.dial(t, srv, grpc.WithChainUnaryInterceptor(c.UnaryClientInterceptor()), grpc.WithChainStreamInterceptor(c.StreamClientInterceptor()))

	assert.Equal(t, codes.Unauthenticated, status.Code(check(t, conn)))
	chat, err := conn.NewStream(shoprig.Context(t), chatDesc, chatMethod)
	require.NoError(t, err)
	require.NoError(t, chat.CloseSend())
	assert.Equal(t, codes.Unauthenticated, status.Code(chat.RecvMsg(&healthpb.HealthCheckResponse{})))

	hits := srv.seen()
	require.Len(t, hits, 2, "neither retried")
	for _, h := range hits {
		assert.ErrorIs(t, h.err, dpop.ErrMissingAccessToken)
	}
}

// TestWithEgressDialer: the credentials compose with an egress allow-list
// (egressgrpc): the call goes only to the listed server, proved by its
// SPIFFE ID, and carries a proof for the dialed authority; the nonce retry
// works through it.
func TestWithEgressDialer(t *testing.T) {
	r := newRig(t)
	srv := startServer(t, r, serverOpts{mode: nonceTrailer, external: "https://{addr}"})
	_, port, err := net.SplitHostPort(srv.addr)
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	list, err := egress.NewList(egress.Destination{Host: "127.0.0.1", Port: p, Server: authn.MatchID(shoprig.Payments)})
	require.NoError(t, err)
	d, err := egress.NewDialer(list, egress.WithSPIFFE(shoprig.SVID(t, r.iss, shoprig.Checkout), r.iss.X509Bundle()))
	require.NoError(t, err)
	conn, err := egressgrpc.NewClient(srv.addr, d, r.creds(t, r.source(t)).DialOptions()...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })

	require.NoError(t, check(t, conn))
	hits := srv.seen()
	require.Len(t, hits, 2)
	assert.ErrorIs(t, hits[0].err, dpop.ErrUseDPoPNonce)
	assert.NoError(t, hits[1].err)
	assert.Equal(t, "https://"+srv.addr+checkMethod, hits[1].htu)
}
