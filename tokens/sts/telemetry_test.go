package sts_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/sts"
)

// Refusals and issues are logged with reason codes, client and actor, and
// counted by grant, outcome and reason; no token ever reaches the log.
func TestLogAndMetrics(t *testing.T) {
	var logs bytes.Buffer
	reader := sdkmetric.NewManualReader()
	rg := newRig(t,
		sts.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		sts.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	p := newProofer(t)
	c := rg.client(checkoutID)
	subject := rg.customerToken(tokens.TokenRequest{Scopes: []string{"payments:charge"}})
	aud := "audience=" + url.QueryEscape(paymentsAud)

	ok := rg.post(c, exchange(subject, aud), "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusOK, ok.status)
	widened := rg.post(c, exchange(subject, aud, "scope=payments%3Arefund"), "DPoP", proof(t, p, rg.endpoint, ""))
	require.Equal(t, http.StatusBadRequest, widened.status)
	mayAct := rg.customerToken(tokens.TokenRequest{Scopes: []string{"payments:charge"}, MayAct: &tokens.Actor{Subject: storefrontID.String()}})
	require.Equal(t, http.StatusBadRequest, rg.post(c, exchange(mayAct, aud), "DPoP", proof(t, p, rg.endpoint, "")).status)

	out := logs.String()
	assert.Contains(t, out, `"msg":"sts: token issued","grant_type":"`+sts.GrantTypeTokenExchange+`","client_id":"spiffe://shop.test/checkout","actor":"spiffe://shop.test/checkout","aud":["https://payments.shop.test"],"scope":"payments:charge","token_type":"DPoP","expires_in":`)
	assert.Contains(t, out, `"error":"invalid_scope","reason":"scope_not_allowed"`)
	assert.Contains(t, out, `"error":"invalid_request","reason":"may_act_mismatch"`)
	for _, secret := range []string{subject, mayAct, ok.body["access_token"].(string), strings.Split(subject, ".")[2]} {
		assert.False(t, strings.Contains(out, secret), "a token reached the log")
	}

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "ztkit.sts.requests" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				g, _ := dp.Attributes.Value("ztkit.sts.grant_type")
				o, _ := dp.Attributes.Value("ztkit.sts.outcome")
				r, _ := dp.Attributes.Value("ztkit.sts.reason")
				got[g.AsString()+"/"+o.AsString()+"/"+r.AsString()] += dp.Value
			}
		}
	}
	assert.Equal(t, map[string]int64{
		"token_exchange/issued/":                   1,
		"token_exchange/refused/scope_not_allowed": 1,
		"token_exchange/refused/may_act_mismatch":  1,
	}, got)
}
