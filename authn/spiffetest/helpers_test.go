package spiffetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ztkit/ztkit/authn/spiffetest"
)

var (
	td         = spiffeid.RequireTrustDomainFromString("shop.test")
	checkout   = spiffeid.RequireFromPath(td, "/checkout")
	storefront = spiffeid.RequireFromPath(td, "/storefront")
)

// testContext bounds a test that waits for the issuer, so that a bug shows as a
// failure rather than a hung test binary. Nothing asserts on the time.
func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

// newIssuer starts an issuer for td (or another trust domain) and closes it at
// the end of the test.
func newIssuer(tb testing.TB, trustDomain spiffeid.TrustDomain, opts ...spiffetest.Option) *spiffetest.Issuer {
	tb.Helper()
	iss, err := spiffetest.New(testContext(tb), trustDomain, opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, iss.Close()) })
	return iss
}

// newRegisteredIssuer starts an issuer for td that serves id to every caller.
func newRegisteredIssuer(tb testing.TB, id spiffeid.ID, opts ...spiffetest.Option) *spiffetest.Issuer {
	tb.Helper()
	iss := newIssuer(tb, id.TrustDomain(), opts...)
	require.NoError(tb, iss.Register(id))
	return iss
}

func newX509Source(tb testing.TB, iss *spiffetest.Issuer) *workloadapi.X509Source {
	tb.Helper()
	src, err := workloadapi.NewX509Source(testContext(tb),
		workloadapi.WithClientOptions(workloadapi.WithAddr(iss.Addr())))
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, src.Close()) })
	return src
}

func newJWTSource(tb testing.TB, iss *spiffetest.Issuer) *workloadapi.JWTSource {
	tb.Helper()
	src, err := workloadapi.NewJWTSource(testContext(tb),
		workloadapi.WithClientOptions(workloadapi.WithAddr(iss.Addr())))
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, src.Close()) })
	return src
}

// rawConn dials the issuer's socket with a plain gRPC client, which sends no
// security header unless the test adds one.
func rawConn(tb testing.TB, iss *spiffetest.Issuer) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpc.NewClient(iss.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}
