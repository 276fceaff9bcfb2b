package sts_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/sts"
)

// The whole SPIFFE path as deployed: the token service reads its trust
// bundles from the Workload API, and checkout fetches its JWT-SVID for the
// token service's audience from the Workload API (spiffetest serves the real
// protocol, as a SPIRE agent does).
func TestExchangeWithWorkloadAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	probe := newRig(t) // for its SPIFFE issuer
	require.NoError(t, probe.spiffe.Register(checkoutID))
	addr := workloadapi.WithClientOptions(workloadapi.WithAddr(probe.spiffe.Addr()))
	bundles, err := workloadapi.NewBundleSource(ctx, addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = bundles.Close() })

	rg := newRig(t, sts.WithJWTSVIDs(bundles, stsID.String()))
	svid, err := workloadapi.FetchJWTSVID(ctx, jwtsvid.Params{Audience: stsID.String()}, workloadapi.WithAddr(probe.spiffe.Addr()))
	require.NoError(t, err)

	subject := rg.customerToken(tokens.TokenRequest{Scopes: []string{"payments:charge"}})
	body := exchange(subject, "audience="+url.QueryEscape(paymentsAud), "actor_token="+svid.Marshal(), "actor_token_type="+url.QueryEscape(sts.TokenTypeJWT))
	r := rg.post(rg.client(spiffeid.ID{}), body, "DPoP", proof(t, newProofer(t), rg.endpoint, ""))
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, map[string]any{"sub": checkoutID.String()}, claims(t, r.body["access_token"].(string))["act"])
}
