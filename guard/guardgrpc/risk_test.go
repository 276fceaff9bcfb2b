package guardgrpc_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/guard/guardgrpc"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/internal/test/refusaltest"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop/dpopgrpc"
)

// checkout is a health service whose Check is a checkout of the amount in
// the request's service name, decided by its handler with CheckRisk.
type checkout struct {
	grpc_health_v1.UnimplementedHealthServer
	g   *guard.Guard
	ics *guardgrpc.Interceptors
}

func (c *checkout) Check(ctx context.Context, r *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	amount, err := strconv.ParseInt(r.GetService(), 10, 64)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "bad amount")
	}
	req := guardgrpc.Request(ctx, checkMethod)
	if ref := c.g.CheckRisk(ctx, &req, "checkout", risk.Signals{Amount: amount, Currency: "EUR"}); ref != nil {
		return nil, c.ics.Refuse(ctx, ref)
	}
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

// TestHandlerCheckRisk: a gRPC handler's CheckRisk step-up, returned with
// Interceptors.Refuse, is the Unauthenticated status with the DPoP step-up
// challenge in the trailer, which dpopgrpc.Advise reads as a step-up; the
// stepped-up token passes. A rate limit of the interceptors' guard answers
// ResourceExhausted with the retry delay.
func TestHandlerCheckRisk(t *testing.T) {
	rig := shoprig.NewTokens(t)
	p := newPKI(t)
	eng, err := risk.New(risk.Policy{ACRLevels: []string{"pwd", "mfa"}, Actions: []risk.ActionPolicy{{
		Action: "checkout", StepUp: risk.StepUpRequirement{ACR: "mfa", MaxAge: risk.Duration(10 * time.Minute)},
		Rules: []risk.Rule{{ID: "big", Reason: risk.ReasonAmountOverLimit, When: risk.Conditions{AmountOver: map[string]int64{"eur": 100000}}, Outcome: risk.StepUp}},
	}}}, risk.WithClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	lim, err := risk.NewLimiter(map[string][]risk.Limit{"checkout": {{Name: "checkout_per_device", Key: risk.KeyDevice, Window: time.Minute, Max: 3}}},
		risk.WithClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	route := refusaltest.Route{Token: authn.DPoPBoundToken}
	g, err := guard.New(route.Authenticator(t, rig, externalURL), guard.WithRealm(refusaltest.Realm),
		guard.WithRisk(eng, guard.ActionsByRoute(nil), nil),
		guard.WithRateLimits(lim, func(req *inbound.Request, _ authz.Decision) string { return "checkout" }),
		guard.WithMeterProvider(metricnoop.NewMeterProvider()))
	require.NoError(t, err)
	ics, err := guardgrpc.New(g)
	require.NoError(t, err)
	srv := grpc.NewServer(append(ics.ServerOptions(), grpc.Creds(p.payment))...)
	grpc_health_v1.RegisterHealthServer(srv, &checkout{g: g, ics: ics})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(p.clientTLS(nil)), grpc.WithAuthority(authority))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, conn.Close()) })
	client := grpc_health_v1.NewHealthClient(conn)

	order := func(acr string, amount int64) (metadata.MD, error) {
		tok := rig.Token(t, func(tr *tokens.TokenRequest) { tr.ACR, tr.AuthTime = acr, shoprig.Now.Add(-time.Minute) })
		c := refusaltest.Authorization("DPoP", tok, rig.Proof(t, "POST", externalURL+checkMethod, tok, ""))
		var trailer metadata.MD
		_, err := client.Check(outgoing(t.Context(), c), &grpc_health_v1.HealthCheckRequest{Service: strconv.FormatInt(amount, 10)}, grpc.Trailer(&trailer))
		return trailer, err
	}
	_, err = order("pwd", 5000)
	require.NoError(t, err, "a small order passes")

	trailer, err := order("pwd", 250000)
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	assert.Equal(t, []string{refusaltest.StepUpChallenge(true, refusaltest.RiskAuthentication, `acr_values="mfa"`, `max_age="600"`)},
		trailer.Get("www-authenticate"))
	adv, aerr := dpopgrpc.Advise(err, nil, trailer)
	require.NoError(t, aerr)
	assert.Equal(t, "step_up", adv.Action.String())
	assert.Equal(t, []string{"mfa"}, adv.ACRValues)

	_, err = order("mfa", 250000)
	require.NoError(t, err, "the stepped-up token passes")

	_, err = order("mfa", 5000) // the fourth call in the window from the rig's DPoP key
	assert.Equal(t, codes.ResourceExhausted, status.Code(err))
	assert.Equal(t, time.Minute, retryDelay(t, err))
}
