package guardgrpc_test

// End-to-end tests against a real SPIRE server and agent, started by
// scripts/test: server and client take their SVIDs from the agent's Workload
// API through go-spiffe's workloadapi, as production services do. The agent
// gives every test process the same SPIFFE ID, so the workload calls itself.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffegrpc/grpccredentials"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/jwtsvidgrpc"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/internal/test/testenv"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/dpopgrpc"
)

// spireStartTimeout bounds each wait for a first answer from the agent.
// scripts/test starts the tests only once the agent serves an SVID, so it is
// a safety bound.
const spireStartTimeout = 30 * time.Second

// spireWorkload is what scripts/test tells the tests about the SPIRE agent
// it started: its Workload API address, and the trust domain and SPIFFE ID
// of the SVIDs it serves.
type spireWorkload struct {
	endpoint string
	td       spiffeid.TrustDomain
	id       spiffeid.ID
}

// spireFromEnv reads the SPIRE variables, skipping the test (failing it
// under CI=true) when they are missing.
func spireFromEnv(t *testing.T) spireWorkload {
	t.Helper()
	endpoint := testenv.Require(t, testenv.SPIFFEEndpointVar)
	td, err := spiffeid.TrustDomainFromString(testenv.Require(t, testenv.SPIFFETrustDomainVar))
	require.NoError(t, err, testenv.SPIFFETrustDomainVar)
	id, err := spiffeid.FromString(testenv.Require(t, testenv.SPIFFEIDVar))
	require.NoError(t, err, testenv.SPIFFEIDVar)
	require.True(t, id.MemberOf(td), "%s %s is not in trust domain %s", testenv.SPIFFEIDVar, id, td)
	return spireWorkload{endpoint: endpoint, td: td, id: id}
}

// spireContext bounds a wait for the agent.
func spireContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), spireStartTimeout)
	t.Cleanup(cancel)
	return ctx
}

// TestSPIREDPoP: over mTLS with X.509-SVIDs from the SPIRE agent, a
// dpopgrpc client with a DPoP-bound token calls the guarded service, unary
// and streaming, and the handler sees the SPIRE workload as the peer.
func TestSPIREDPoP(t *testing.T) {
	t.Parallel()
	w := spireFromEnv(t)
	src, err := workloadapi.NewX509Source(spireContext(t), workloadapi.WithClientOptions(workloadapi.WithAddr(w.endpoint)))
	require.NoError(t, err, "no X.509-SVID from the SPIRE agent at %s", w.endpoint)
	t.Cleanup(func() { assert.NoError(t, src.Close()) })

	rig := shoprig.NewTokens(t)
	nonces, err := dpop.NewNonces([]byte("a 32-byte nonce secret for tests"), dpop.WithNonceClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	rv := rig.RequestVerifier(t, externalURL, nil, []dpop.VerifierOption{dpop.WithNonces(nonces)})
	a, err := authn.New(authn.Policy{Peer: authn.MatchID(w.id), Token: authn.DPoPBoundToken},
		authn.WithX509Bundles(src), authn.WithAccessTokens(rv))
	require.NoError(t, err)
	s := startE2E(t, a, grpccredentials.MTLSServerCredentials(src, src, tlsconfig.AuthorizeID(w.id)), guard.WithNonces(nonces))

	token := rig.Token(t, nil)
	creds, err := dpopgrpc.NewPerRPCCredentials(shoprig.StaticToken(token), rig.Proofer)
	require.NoError(t, err)
	client := s.dial(t, grpccredentials.MTLSClientCredentials(src, src, tlsconfig.AuthorizeID(w.id)), creds.DialOptions()...)

	var header metadata.MD
	_, err = client.Check(spireContext(t), &grpc_health_v1.HealthCheckRequest{}, grpc.Header(&header))
	require.NoError(t, err)
	assert.Equal(t, []string{nonces.Current()}, header.Get("dpop-nonce"))
	assert.Len(t, s.wire.seen(), 2, "the first call was refused for a nonce and retried once")
	pr, ran := s.served()
	require.True(t, ran)
	require.NotNil(t, pr)
	assert.Equal(t, w.id, pr.Peer)
	assert.Equal(t, shoprig.ClientID, pr.ClientID)
	assert.Equal(t, authn.BoundToDPoPKey, pr.Binding)
	assert.True(t, pr.Has(authn.MethodMTLS))
	assert.True(t, pr.Has(authn.MethodDPoP))

	before := s.decisions(t)
	n, err := watch(spireContext(t), client)
	require.NoError(t, err)
	assert.Equal(t, watchReplies, n)
	assert.Equal(t, before+1, s.decisions(t), "one decision for the whole stream")
	pr, ran = s.served()
	require.True(t, ran)
	require.NotNil(t, pr)
	assert.Equal(t, w.id, pr.Peer)

	t.Run("client expects another server", func(t *testing.T) {
		other, err := spiffeid.FromSegments(w.td, "someone-else")
		require.NoError(t, err)
		client := s.dial(t, grpccredentials.MTLSClientCredentials(src, src, tlsconfig.AuthorizeID(other)), creds.DialOptions()...)
		_, err = client.Check(spireContext(t), &grpc_health_v1.HealthCheckRequest{})
		require.Error(t, err)
		assert.Equal(t, codes.Unavailable, status.Code(err), "the handshake fails; no call is made")
		assert.NotContains(t, err.Error(), token)
		_, ran := s.served()
		assert.False(t, ran)
	})
}

// TestSPIREJWTSVID: a JWT-SVID from the SPIRE agent, sent by jwtsvidgrpc,
// authenticates the workload to a guard whose policy takes JWT-SVIDs for
// its audience; one for another audience is refused.
func TestSPIREJWTSVID(t *testing.T) {
	t.Parallel()
	w := spireFromEnv(t)
	clientOpts := workloadapi.WithClientOptions(workloadapi.WithAddr(w.endpoint))
	src, err := workloadapi.NewX509Source(spireContext(t), clientOpts)
	require.NoError(t, err, "no X.509-SVID from the SPIRE agent at %s", w.endpoint)
	t.Cleanup(func() { assert.NoError(t, src.Close()) })
	js, err := workloadapi.NewJWTSource(spireContext(t), clientOpts)
	require.NoError(t, err, "no JWT bundles from the SPIRE agent at %s", w.endpoint)
	t.Cleanup(func() { assert.NoError(t, js.Close()) })

	// The service is the workload itself, so the audience is its SPIFFE ID.
	audience := w.id.String()
	a, err := authn.New(authn.Policy{Token: authn.JWTSVID}, authn.WithJWTSVIDs(js, audience))
	require.NoError(t, err)
	// TLS without client certificates: the mTLS peer would be a proxy.
	s := startE2E(t, a, grpccredentials.TLSServerCredentials(src))
	tlsCreds := grpccredentials.TLSClientCredentials(src, tlsconfig.AuthorizeID(w.id))

	t.Run("for the audience", func(t *testing.T) {
		creds, err := jwtsvidgrpc.NewPerRPCCredentials(js, audience)
		require.NoError(t, err)
		client := s.dial(t, tlsCreds, grpc.WithPerRPCCredentials(creds))
		_, err = client.Check(spireContext(t), &grpc_health_v1.HealthCheckRequest{})
		require.NoError(t, err)
		pr, ran := s.served()
		require.True(t, ran)
		require.NotNil(t, pr)
		assert.Equal(t, w.id, pr.Workload)
		assert.True(t, pr.Has(authn.MethodJWTSVID))

		n, err := watch(spireContext(t), client)
		require.NoError(t, err)
		assert.Equal(t, watchReplies, n)
		_, ran = s.served()
		assert.True(t, ran)
	})

	t.Run("for another audience", func(t *testing.T) {
		other, err := spiffeid.FromSegments(w.td, "someone-else")
		require.NoError(t, err)
		creds, err := jwtsvidgrpc.NewPerRPCCredentials(js, other.String())
		require.NoError(t, err)
		client := s.dial(t, tlsCreds, grpc.WithPerRPCCredentials(creds))
		_, err = client.Check(spireContext(t), &grpc_health_v1.HealthCheckRequest{})
		calls := s.wire.seen()
		require.NotEmpty(t, calls)
		sent := calls[len(calls)-1].Get("authorization")
		require.Len(t, sent, 1)
		require.True(t, strings.HasPrefix(sent[0], "Bearer "), "jwtsvidgrpc sends a Bearer JWT-SVID")
		assertStatus(t, err, codes.Unauthenticated, guard.ReasonJWTSVIDInvalid, strings.TrimPrefix(sent[0], "Bearer "))
		_, ran := s.served()
		assert.False(t, ran)
	})
}
