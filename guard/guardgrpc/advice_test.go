package guardgrpc_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/dpopgrpc"
)

// TestAdviseDenials: over real gRPC, an authorization denial for a missing
// scope carries the insufficient_scope challenge (RFC 6750 §3.1) in the
// trailer, which dpopgrpc.Advise reads as "ask for that scope"; any other
// denial has no challenge and is given up on. The refusals of the
// authentication table are checked in TestInterceptorsRefuse.
func TestAdviseDenials(t *testing.T) {
	rig := shoprig.NewTokens(t)
	az, err := authz.AuthorizePolicy(authz.Policy{Rules: []authz.Rule{
		{ID: "check", Effect: authz.Allow, Routes: []string{"POST " + checkMethod}, Match: authz.Match{AllScopes: []string{"refunds:write"}}},
		{ID: "watch", Effect: authz.Allow, Routes: []string{"POST " + watchMethod}, Match: authz.Match{ClientIDs: []string{"someone-else"}}},
	}})
	require.NoError(t, err)
	s := start(t, newPKI(t), dpopOnly(t, rig), options{gopts: []guard.Option{guard.WithAuthorizer(az)}})

	for _, tc := range []struct {
		method string
		want   dpop.Advice
	}{
		{checkMethod, dpop.Advice{Action: dpop.ActionRequestScopes, Scheme: "DPoP", Error: "insufficient_scope",
			Scopes: []string{"refunds:write"}, Algs: []string{"ES256", "ES384", "EdDSA", "Ed25519", "PS256", "RS256"}}},
		{watchMethod, dpop.Advice{}},
	} {
		t.Run(tc.method, func(t *testing.T) {
			a := s.call(t, tc.method, bound(t, rig, externalURL, tc.method))
			require.Error(t, a.err)
			assert.Equal(t, codes.PermissionDenied, status.Code(a.err))
			got, err := dpopgrpc.Advise(a.err, a.header, a.trailer)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
