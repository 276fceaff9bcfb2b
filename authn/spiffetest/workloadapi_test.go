package spiffetest_test

import (
	"context"
	"crypto/ecdsa"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authn/spiffetest"
)

func validateViaWorkloadAPI(tb testing.TB, iss *spiffetest.Issuer, token, audience string) (*jwtsvid.SVID, error) {
	tb.Helper()
	return workloadapi.ValidateJWTSVID(testContext(tb), token, audience, workloadapi.WithAddr(iss.Addr()))
}

func withHeader(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "workload.spiffe.io", "true")
}

func TestX509SourceGetsTheRegisteredSVID(t *testing.T) {
	iss := newRegisteredIssuer(t, checkout)
	src := newX509Source(t, iss)

	svid, err := src.GetX509SVID()
	require.NoError(t, err)
	assert.Equal(t, checkout, svid.ID)

	id, _, err := x509svid.Verify(svid.Certificates, iss.X509Bundle())
	require.NoError(t, err)
	assert.Equal(t, checkout, id)

	bundle, err := src.GetX509BundleForTrustDomain(td)
	require.NoError(t, err)
	assert.True(t, bundle.Equal(iss.X509Bundle()))
}

func TestFetchX509(t *testing.T) {
	partner := newIssuer(t, spiffeid.RequireTrustDomainFromString("partner.test"))
	iss := newRegisteredIssuer(t, checkout, spiffetest.WithFederatedBundle(partner.Bundle()))
	ctx := testContext(t)
	addr := workloadapi.WithAddr(iss.Addr())

	svid, err := workloadapi.FetchX509SVID(ctx, addr)
	require.NoError(t, err)
	assert.Equal(t, checkout, svid.ID)

	x509ctx, err := workloadapi.FetchX509Context(ctx, addr)
	require.NoError(t, err)
	require.Len(t, x509ctx.SVIDs, 1)
	for _, want := range []*spiffetest.Issuer{iss, partner} {
		got, err := x509ctx.Bundles.GetX509BundleForTrustDomain(want.TrustDomain())
		require.NoError(t, err, "federated_bundles carries the partner's bundle")
		assert.True(t, got.Equal(want.X509Bundle()))
	}

	bundles, err := workloadapi.FetchX509Bundles(ctx, addr)
	require.NoError(t, err)
	assert.Equal(t, 2, bundles.Len())
	for _, want := range []*spiffetest.Issuer{iss, partner} {
		got, err := bundles.GetX509BundleForTrustDomain(want.TrustDomain())
		require.NoError(t, err)
		assert.True(t, got.Equal(want.X509Bundle()))
	}
}

// TestEveryStreamOfOneIdentityGetsTheSameSVID: like a SPIRE agent's cache, the
// issuer serves one SVID per identity per rotation period.
func TestEveryStreamOfOneIdentityGetsTheSameSVID(t *testing.T) {
	iss := newRegisteredIssuer(t, checkout)
	a, b := newX509Source(t, iss), newX509Source(t, iss)
	sa, err := a.GetX509SVID()
	require.NoError(t, err)
	sb, err := b.GetX509SVID()
	require.NoError(t, err)
	assert.Equal(t, sa.Certificates[0].Raw, sb.Certificates[0].Raw)
}

func TestFetchJWTSVID(t *testing.T) {
	iss := newRegisteredIssuer(t, checkout)
	ctx := testContext(t)
	addr := workloadapi.WithAddr(iss.Addr())

	t.Run("convenience function", func(t *testing.T) {
		svid, err := workloadapi.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "payments", ExtraAudiences: []string{"audit"}}, addr)
		require.NoError(t, err)
		assert.Equal(t, checkout, svid.ID)

		verified, err := jwtsvid.ParseAndValidate(svid.Marshal(), iss.JWTBundle(), []string{"payments"})
		require.NoError(t, err)
		assert.Equal(t, checkout, verified.ID)
		assert.Equal(t, []string{"payments", "audit"}, verified.Audience)
	})

	t.Run("JWT source", func(t *testing.T) {
		src := newJWTSource(t, iss)
		svid, err := src.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "payments", Subject: checkout})
		require.NoError(t, err)

		bundle, err := src.GetJWTBundleForTrustDomain(td)
		require.NoError(t, err)
		assert.True(t, bundle.Equal(iss.JWTBundle()))
		verified, err := jwtsvid.ParseAndValidate(svid.Marshal(), src, []string{"payments"})
		require.NoError(t, err)
		assert.Equal(t, checkout, verified.ID)
	})

	t.Run("another identity is refused", func(t *testing.T) {
		_, err := workloadapi.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "payments", Subject: storefront}, addr)
		assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	})
}

func TestFetchJWTSVIDRefusesBadRequests(t *testing.T) {
	iss := newRegisteredIssuer(t, checkout)
	client := workload.NewSpiffeWorkloadAPIClient(rawConn(t, iss))
	ctx := withHeader(testContext(t))
	tests := []struct {
		name string
		req  *workload.JWTSVIDRequest
	}{
		{"no audience", &workload.JWTSVIDRequest{}},
		{"empty audience value", &workload.JWTSVIDRequest{Audience: []string{""}}},
		{"malformed spiffe_id", &workload.JWTSVIDRequest{Audience: []string{"a"}, SpiffeId: "https://shop.test/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.FetchJWTSVID(ctx, tt.req)
			assert.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
		})
	}
}

func TestValidateJWTSVID(t *testing.T) {
	partner := newRegisteredIssuer(t, spiffeid.RequireFromString("spiffe://partner.test/bank"))
	stranger := newIssuer(t, spiffeid.RequireTrustDomainFromString("stranger.test"))
	iss := newRegisteredIssuer(t, checkout, spiffetest.WithFederatedBundle(partner.Bundle()))

	issue := func(i *spiffetest.Issuer, id spiffeid.ID, opts ...spiffetest.SVIDOption) string {
		token, err := i.IssueJWTSVID(id, []string{"checkout"}, opts...)
		require.NoError(t, err)
		return token
	}
	past := time.Now().Add(-time.Hour)
	tests := []struct {
		name     string
		token    string
		audience string
		wantID   spiffeid.ID
	}{
		{"own trust domain", issue(iss, storefront), "checkout", storefront},
		{"federated trust domain", issue(partner, spiffeid.RequireFromString("spiffe://partner.test/bank")), "checkout",
			spiffeid.RequireFromString("spiffe://partner.test/bank")},
		{"wrong audience", issue(iss, storefront), "payments", spiffeid.ID{}},
		{"expired", issue(iss, storefront, spiffetest.WithValidity(past, past.Add(time.Minute))), "checkout", spiffeid.ID{}},
		{"unknown trust domain", issue(stranger, spiffeid.RequireFromString("spiffe://stranger.test/x")), "checkout", spiffeid.ID{}},
		{"garbage", "not.a.token", "checkout", spiffeid.ID{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svid, err := validateViaWorkloadAPI(t, iss, tt.token, tt.audience)
			if tt.wantID.IsZero() {
				assert.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantID, svid.ID)
			assert.Equal(t, tt.wantID.String(), svid.Claims["sub"])
		})
	}

	t.Run("claims in the response", func(t *testing.T) {
		resp, err := workload.NewSpiffeWorkloadAPIClient(rawConn(t, iss)).ValidateJWTSVID(withHeader(testContext(t)),
			&workload.ValidateJWTSVIDRequest{Audience: "checkout", Svid: issue(iss, storefront)})
		require.NoError(t, err)
		assert.Equal(t, storefront.String(), resp.GetSpiffeId())
		claims := resp.GetClaims().AsMap()
		assert.Equal(t, storefront.String(), claims["sub"])
		assert.Contains(t, claims, "exp")
		assert.Contains(t, claims, "iat")
		assert.Contains(t, claims, "aud")
	})
}

// TestValidateJWTSVIDUsesTheInjectedClock: a token valid at the issuer's time
// is accepted even though it is long expired by the wall clock.
func TestValidateJWTSVIDUsesTheInjectedClock(t *testing.T) {
	then := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	iss := newRegisteredIssuer(t, checkout, spiffetest.WithClock(func() time.Time { return then }))
	token, err := iss.IssueJWTSVID(storefront, []string{"checkout"})
	require.NoError(t, err)
	resp, err := workload.NewSpiffeWorkloadAPIClient(rawConn(t, iss)).ValidateJWTSVID(withHeader(testContext(t)),
		&workload.ValidateJWTSVIDRequest{Audience: "checkout", Svid: token})
	require.NoError(t, err)
	assert.Equal(t, storefront.String(), resp.GetSpiffeId())
}

// TestSecurityHeaderRequired: every RPC without "workload.spiffe.io: true" is
// refused with InvalidArgument, as SPIRE does.
func TestSecurityHeaderRequired(t *testing.T) {
	iss := newRegisteredIssuer(t, checkout)
	client := workload.NewSpiffeWorkloadAPIClient(rawConn(t, iss))
	token, err := iss.IssueJWTSVID(checkout, []string{"a"})
	require.NoError(t, err)

	rpcs := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"FetchX509SVID", func(ctx context.Context) error {
			s, err := client.FetchX509SVID(ctx, &workload.X509SVIDRequest{})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}},
		{"FetchX509Bundles", func(ctx context.Context) error {
			s, err := client.FetchX509Bundles(ctx, &workload.X509BundlesRequest{})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}},
		{"FetchJWTBundles", func(ctx context.Context) error {
			s, err := client.FetchJWTBundles(ctx, &workload.JWTBundlesRequest{})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}},
		{"FetchJWTSVID", func(ctx context.Context) error {
			_, err := client.FetchJWTSVID(ctx, &workload.JWTSVIDRequest{Audience: []string{"a"}})
			return err
		}},
		{"ValidateJWTSVID", func(ctx context.Context) error {
			_, err := client.ValidateJWTSVID(ctx, &workload.ValidateJWTSVIDRequest{Audience: "a", Svid: token})
			return err
		}},
	}
	headers := []struct {
		name string
		md   []string
		code codes.Code
	}{
		{"missing", nil, codes.InvalidArgument},
		{"false", []string{"workload.spiffe.io", "false"}, codes.InvalidArgument},
		{"twice", []string{"workload.spiffe.io", "true", "workload.spiffe.io", "true"}, codes.InvalidArgument},
		{"present", []string{"workload.spiffe.io", "true"}, codes.OK},
	}
	for _, rpc := range rpcs {
		for _, h := range headers {
			t.Run(rpc.name+"/"+h.name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(testContext(t))
				defer cancel()
				if h.md != nil {
					ctx = metadata.AppendToOutgoingContext(ctx, h.md...)
				}
				err := rpc.call(ctx)
				assert.Equal(t, h.code, status.Code(err), "%v", err)
			})
		}
	}
}

func TestNoRegisteredIdentityIsPermissionDenied(t *testing.T) {
	iss := newIssuer(t, td)
	ctx := testContext(t)
	addr := workloadapi.WithAddr(iss.Addr())

	_, err := workloadapi.FetchX509SVID(ctx, addr)
	assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	_, err = workloadapi.FetchX509Bundles(ctx, addr)
	assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	_, err = workloadapi.FetchJWTBundles(ctx, addr)
	assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	_, err = workloadapi.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "a"}, addr)
	assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
}

func TestRotatePushesANewSVID(t *testing.T) {
	iss := newRegisteredIssuer(t, checkout)
	src := newX509Source(t, iss)
	before, err := src.GetX509SVID()
	require.NoError(t, err)

	require.NoError(t, iss.Rotate())
	require.NoError(t, src.WaitUntilUpdated(testContext(t)))

	after, err := src.GetX509SVID()
	require.NoError(t, err)
	assert.Equal(t, checkout, after.ID)
	assert.NotEqual(t, before.Certificates[0].SerialNumber, after.Certificates[0].SerialNumber)
	beforeKey, ok := before.Certificates[0].PublicKey.(*ecdsa.PublicKey)
	require.True(t, ok)
	assert.False(t, beforeKey.Equal(after.Certificates[0].PublicKey), "a new key, not only a new certificate")
	_, _, err = x509svid.Verify(after.Certificates, src)
	assert.NoError(t, err)
}

func TestScheduledRotation(t *testing.T) {
	iss := newRegisteredIssuer(t, checkout, spiffetest.WithRotation(10*time.Millisecond))
	src := newX509Source(t, iss)
	first, err := src.GetX509SVID()
	require.NoError(t, err)

	// No Rotate call: the schedule alone pushes new SVIDs. Wait for updates
	// (never for time) until one carries a different certificate.
	ctx := testContext(t)
	for {
		require.NoError(t, src.WaitUntilUpdated(ctx))
		later, err := src.GetX509SVID()
		require.NoError(t, err)
		if first.Certificates[0].SerialNumber.Cmp(later.Certificates[0].SerialNumber) != 0 {
			assert.Equal(t, checkout, later.ID)
			return
		}
	}
}

func TestRegisterPushesTheNewIdentity(t *testing.T) {
	iss := newRegisteredIssuer(t, checkout)
	src := newX509Source(t, iss)

	require.NoError(t, iss.Register(storefront))
	require.NoError(t, src.WaitUntilUpdated(testContext(t)))
	svid, err := src.GetX509SVID()
	require.NoError(t, err)
	assert.Equal(t, storefront, svid.ID)
}

func TestSetFederatedBundlePushesBundles(t *testing.T) {
	partner := newIssuer(t, spiffeid.RequireTrustDomainFromString("partner.test"))
	iss := newRegisteredIssuer(t, checkout)
	x509src, jwtsrc := newX509Source(t, iss), newJWTSource(t, iss)
	_, err := jwtsrc.GetJWTBundleForTrustDomain(partner.TrustDomain())
	require.Error(t, err)

	require.NoError(t, iss.SetFederatedBundle(partner.Bundle()))
	ctx := testContext(t)
	require.NoError(t, x509src.WaitUntilUpdated(ctx))
	require.NoError(t, jwtsrc.WaitUntilUpdated(ctx))

	xb, err := x509src.GetX509BundleForTrustDomain(partner.TrustDomain())
	require.NoError(t, err)
	assert.True(t, xb.Equal(partner.X509Bundle()))
	jb, err := jwtsrc.GetJWTBundleForTrustDomain(partner.TrustDomain())
	require.NoError(t, err)
	assert.True(t, jb.Equal(partner.JWTBundle()))
}

// TestCloseEndsStreams: Close ends open streams itself (Unavailable, "issuer
// closed") rather than leaving them to the forced stop.
func TestCloseEndsStreams(t *testing.T) {
	iss, err := spiffetest.New(testContext(t), td)
	require.NoError(t, err)
	require.NoError(t, iss.Register(checkout))
	client := workload.NewSpiffeWorkloadAPIClient(rawConn(t, iss))
	ctx := withHeader(testContext(t))

	x509Stream, err := client.FetchX509SVID(ctx, &workload.X509SVIDRequest{})
	require.NoError(t, err)
	_, err = x509Stream.Recv()
	require.NoError(t, err)
	jwtStream, err := client.FetchJWTBundles(ctx, &workload.JWTBundlesRequest{})
	require.NoError(t, err)
	_, err = jwtStream.Recv()
	require.NoError(t, err)

	require.NoError(t, iss.Close())

	_, err = x509Stream.Recv()
	assert.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	assert.Contains(t, status.Convert(err).Message(), "issuer closed")
	_, err = jwtStream.Recv()
	assert.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	assert.Contains(t, status.Convert(err).Message(), "issuer closed")
}
