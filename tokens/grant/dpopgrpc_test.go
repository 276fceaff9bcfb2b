package grant_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/credentials"

	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/dpopgrpc"
	"github.com/ztkit/ztkit/tokens/grant"
)

type tlsInfo struct{}

func (tlsInfo) AuthType() string { return "tls" }
func (tlsInfo) GetCommonAuthInfo() credentials.CommonAuthInfo {
	return credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}
}

// A Source and an Exchanger are the token sources of dpopgrpc's per-RPC
// credentials: each call carries the cached token and a proof whose ath is
// its hash; the Exchanger exchanges the subject token of the call's context.
func TestPerRPCCredentials(t *testing.T) {
	p := newPeer(t, false, func(p *peer) { p.secret = secret; p.subjects["ada-token"] = "ada" })
	proofer := newProofer(t)
	cc, err := grant.NewClientCredentials(p.url, "checkout", basicAuth(), grant.WithInsecureHTTP(), grant.WithDPoP(proofer))
	require.NoError(t, err)
	src, err := grant.NewSource(cc)
	require.NoError(t, err)
	defer src.Close()
	x := newExchanger(t, p)

	call := credentials.NewContextWithRequestInfo(context.Background(), credentials.RequestInfo{Method: "/shop.payments.v1.Payments/Charge", AuthInfo: tlsInfo{}})
	for _, c := range []struct {
		name string
		src  dpop.TokenSource
		ctx  context.Context
		want string
	}{
		{"client credentials Source", src, call, "at-1"},
		{"Exchanger", x, grant.ContextWithSubjectToken(call, "ada-token"), "at-2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			creds, err := dpopgrpc.NewPerRPCCredentials(c.src, proofer)
			require.NoError(t, err)
			for range 2 {
				md, err := creds.GetRequestMetadata(c.ctx, "https://payments.shop.example/shop.payments.v1.Payments")
				require.NoError(t, err)
				assert.Equal(t, "DPoP "+c.want, md["authorization"])
				assert.NotEmpty(t, md["dpop"])
			}
		})
	}
	assert.EqualValues(t, 2, p.issued.Load(), "one token each, cached across calls")

	creds, err := dpopgrpc.NewPerRPCCredentials(x, proofer)
	require.NoError(t, err)
	_, err = creds.GetRequestMetadata(call, "https://payments.shop.example/shop.payments.v1.Payments")
	assert.ErrorIs(t, err, grant.ErrNoSubjectToken, "no call on nobody's behalf")
}
