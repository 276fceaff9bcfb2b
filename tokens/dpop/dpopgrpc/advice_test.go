package dpopgrpc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/dpopgrpc"
)

// rfc9470 is the step-up challenge of RFC 9470 §3 in the DPoP scheme, with
// both parameters (§3: they "MAY both occur in the same challenge"). Adapted:
// the error, error_description, acr_values and max_age values are verbatim
// from the two figures of RFC 9470 §3, which use Bearer, one parameter each.
const rfc9470 = `DPoP error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR", max_age="5"`

// TestAdvise: the status code says whether a call's outcome is a refusal
// to read; its challenges and nonce come from the trailer, else the header.
func TestAdvise(t *testing.T) {
	stepUp := dpop.Advice{Action: dpop.ActionStepUp, Scheme: "DPoP", Error: "insufficient_user_authentication",
		Description: "A different authentication level is required", ACRValues: []string{"myACR"}, MaxAge: 5 * time.Second, HasMaxAge: true}
	for _, tc := range []struct {
		name            string
		err             error
		header, trailer metadata.MD
		want            dpop.Advice
	}{
		{name: "no error", trailer: metadata.Pairs("www-authenticate", `DPoP error="invalid_token"`)},
		{name: "not a status", err: errors.New("connection reset"), trailer: metadata.Pairs("www-authenticate", `DPoP error="invalid_token"`)},
		{name: "Unavailable", err: status.Error(codes.Unavailable, "x"), trailer: metadata.Pairs("www-authenticate", `DPoP error="invalid_token"`)},
		{name: "Unauthenticated without challenge", err: status.Error(codes.Unauthenticated, "x")},
		{
			name: "step-up in the trailer", err: status.Error(codes.Unauthenticated, "x"),
			trailer: metadata.Pairs("www-authenticate", rfc9470), want: stepUp,
		},
		{
			name: "step-up in the header", err: status.Error(codes.Unauthenticated, "x"),
			header: metadata.Pairs("www-authenticate", rfc9470), want: stepUp,
		},
		{
			name: "the trailer before the header", err: status.Error(codes.Unauthenticated, "x"),
			header: metadata.Pairs("www-authenticate", `DPoP error="invalid_token"`), trailer: metadata.Pairs("www-authenticate", rfc9470), want: stepUp,
		},
		{
			name: "nonce in the header, challenge in the trailer", err: status.Error(codes.Unauthenticated, "x"),
			header:  metadata.Pairs("dpop-nonce", "n-1"),
			trailer: metadata.Pairs("www-authenticate", `Bearer realm="shop"`, "www-authenticate", `DPoP realm="shop", error="use_dpop_nonce"`),
			want:    dpop.Advice{Action: dpop.ActionRetryWithNonce, Scheme: "DPoP", Error: "use_dpop_nonce", Nonce: "n-1"},
		},
		{
			name: "PermissionDenied insufficient_scope", err: status.Error(codes.PermissionDenied, "x"),
			trailer: metadata.Pairs("www-authenticate", `DPoP realm="shop", error="insufficient_scope", scope="refunds:write"`),
			want:    dpop.Advice{Action: dpop.ActionRequestScopes, Scheme: "DPoP", Error: "insufficient_scope", Scopes: []string{"refunds:write"}},
		},
		{
			name: "InvalidArgument invalid_request", err: status.Error(codes.InvalidArgument, "x"),
			trailer: metadata.Pairs("www-authenticate", `DPoP error="invalid_request"`),
			want:    dpop.Advice{Scheme: "DPoP", Error: "invalid_request"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dpopgrpc.Advise(tc.err, tc.header, tc.trailer)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestAdviseMalformed: a malformed challenge or a nonce retry without one
// nonce is given up on with ErrMalformedChallenge.
func TestAdviseMalformed(t *testing.T) {
	refused := status.Error(codes.Unauthenticated, "x")
	for name, trl := range map[string]metadata.MD{
		"unterminated":        metadata.Pairs("www-authenticate", `DPoP error="invalid_token`),
		"max_age negative":    metadata.Pairs("www-authenticate", `DPoP error="insufficient_user_authentication", max_age=-5`),
		"acr_values spaced":   metadata.Pairs("www-authenticate", `DPoP error="insufficient_user_authentication", acr_values="a  b"`),
		"nonce missing":       metadata.Pairs("www-authenticate", `DPoP error="use_dpop_nonce"`),
		"two nonces":          metadata.Pairs("www-authenticate", `DPoP error="use_dpop_nonce"`, "dpop-nonce", "a", "dpop-nonce", "b"),
		"one malformed value": metadata.Pairs("www-authenticate", `DPoP error="invalid_token"`, "www-authenticate", `DPoP ,=`),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := dpopgrpc.Advise(refused, nil, trl)
			require.ErrorIs(t, err, dpop.ErrMalformedChallenge)
			assert.Equal(t, dpop.ActionGiveUp, got.Action)
		})
	}
}

// TestAdviseStepUpOverGRPC: a real gRPC server refuses a unary call and a
// stream with the RFC 9470 §3 step-up challenge in the trailer, as package
// guardgrpc sends challenges; Advise reads it from what grpc-go gives the
// client, with the nonce beside it.
func TestAdviseStepUpOverGRPC(t *testing.T) {
	refuse := func(ctx context.Context) error {
		_ = grpc.SetTrailer(ctx, metadata.Pairs("www-authenticate", rfc9470, "dpop-nonce", "n-1"))
		return status.Error(codes.Unauthenticated, "A stronger authentication is required.")
	}
	gs := grpc.NewServer(
		grpc.UnaryInterceptor(func(ctx context.Context, _ any, _ *grpc.UnaryServerInfo, _ grpc.UnaryHandler) (any, error) {
			return nil, refuse(ctx)
		}),
		grpc.StreamInterceptor(func(_ any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, _ grpc.StreamHandler) error {
			return refuse(ss.Context())
		}))
	healthpb.RegisterHealthServer(gs, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, conn.Close()) })
	client := healthpb.NewHealthClient(conn)
	want := dpop.Advice{Action: dpop.ActionStepUp, Scheme: "DPoP", Error: "insufficient_user_authentication",
		Description: "A different authentication level is required", Nonce: "n-1", ACRValues: []string{"myACR"}, MaxAge: 5 * time.Second, HasMaxAge: true}

	t.Run("unary", func(t *testing.T) {
		var hdr, trl metadata.MD
		_, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{}, grpc.Header(&hdr), grpc.Trailer(&trl))
		require.Error(t, err)
		got, err := dpopgrpc.Advise(err, hdr, trl)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
	t.Run("stream", func(t *testing.T) {
		stream, err := client.Watch(t.Context(), &healthpb.HealthCheckRequest{})
		require.NoError(t, err)
		_, err = stream.Recv()
		require.Error(t, err)
		require.NotErrorIs(t, err, io.EOF)
		hdr, _ := stream.Header()
		got, err := dpopgrpc.Advise(err, hdr, stream.Trailer())
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
}

// FuzzAdvise: whatever status and metadata a server sends, Advise never
// panics, and it says what dpop.Advise says of the same challenges and
// nonces when the code is a refusal's, and gives up otherwise.
func FuzzAdvise(f *testing.F) {
	for _, s := range []struct {
		code             uint32
		challenge, nonce string
		inHeader         bool
	}{
		{16, rfc9470, "", false},
		{16, `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`, "eyJ7S_zG.eyJH0-Z.HX4w-7v", false},
		{16, `Bearer realm="shop", DPoP realm="shop", error="use_dpop_nonce"`, "n", true},
		{7, `DPoP realm="shop", error="insufficient_scope", scope="refunds:write"`, "", false},
		{3, `DPoP error="invalid_request"`, "", false},
		{14, `DPoP error="invalid_token"`, "", false},
		{16, `DPoP error="insufficient_user_authentication", max_age=-1`, "a b", true},
	} {
		f.Add(s.code, s.challenge, s.nonce, s.inHeader)
	}
	f.Fuzz(func(t *testing.T, code uint32, challenge, nonce string, inHeader bool) {
		md := metadata.MD{"www-authenticate": {challenge}, "dpop-nonce": {nonce}}
		var hdr, trl metadata.MD
		if inHeader {
			hdr = md
		} else {
			trl = md
		}
		err := status.Error(codes.Code(code), "refused")
		got, aerr := dpopgrpc.Advise(err, hdr, trl)
		switch codes.Code(code) {
		case codes.Unauthenticated, codes.PermissionDenied, codes.InvalidArgument:
		default:
			if aerr != nil || got.Action != dpop.ActionGiveUp || got.Error != "" {
				t.Fatalf("status %d advised %+v, %v", code, got, aerr)
			}
			return
		}
		want, werr := dpop.Advise("", []string{challenge}, []string{nonce})
		if (aerr == nil) != (werr == nil) {
			t.Fatalf("errors differ: %v, %v", aerr, werr)
		}
		if aerr != nil && !errors.Is(aerr, dpop.ErrMalformedChallenge) {
			t.Fatalf("error %v does not match ErrMalformedChallenge", aerr)
		}
		assert.Equal(t, want, got)
	})
}
