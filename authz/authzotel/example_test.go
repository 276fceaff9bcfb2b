package authzotel_test

import (
	"context"
	"fmt"
	"log"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/authz/authzotel"
)

// Count decisions by outcome, reason and rule. In a service the
// MeterProvider is the one its OpenTelemetry set-up exports from; here a
// manual reader shows what would be exported.
func Example() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	metrics, err := authzotel.New(mp)
	if err != nil {
		log.Fatal(err)
	}
	defer metrics.Close()
	eng, err := authz.New(authz.Policy{Rules: []authz.Rule{{
		ID: "read-catalogue", Effect: authz.Allow, Routes: []string{"GET /products/{id}"},
		Match: authz.Match{AnyPrincipal: true},
	}}}, authz.WithObserver(metrics))
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	var anonymous *authn.Principal
	eng.Decide(ctx, anonymous, authz.Request{Method: "GET", Path: "/products/42"})
	eng.Decide(ctx, anonymous, authz.Request{Method: "DELETE", Path: "/products/42"})

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "ztkit.authz.decisions" {
			for _, dp := range sum.DataPoints {
				d, _ := dp.Attributes.Value(authzotel.AttrDecision)
				r, _ := dp.Attributes.Value(authzotel.AttrReason)
				fmt.Println(d.AsString(), r.AsString(), dp.Value)
			}
		}
	}
	// Unordered output:
	// allow allowed 1
	// deny no_rule 1
}
