package sts

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// instrumentationName is the OpenTelemetry scope of the endpoint's metrics.
const instrumentationName = "github.com/ztkit/ztkit/tokens/sts"

// Attribute keys of ztkit.sts.requests. Each value comes from a small fixed
// set (the two grants or "other", "issued" or "refused", the reason codes),
// so the metric's cardinality is bounded.
const (
	attrGrant   = attribute.Key("ztkit.sts.grant_type")
	attrOutcome = attribute.Key("ztkit.sts.outcome")
	attrReason  = attribute.Key("ztkit.sts.reason")
)

// grantStepUp labels a step-up token exchange in logs and metrics.
const grantStepUp = "step_up"

const (
	slogDebug = slog.LevelDebug
	slogInfo  = slog.LevelInfo
)

func slogString(k, v string) slog.Attr { return slog.String(k, v) }

type telemetry struct {
	requests metric.Int64Counter
	sets     sync.Map // setKey -> metric.AddOption
}

type setKey struct{ grant, reason string }

func newTelemetry(mp metric.MeterProvider) (*telemetry, error) {
	m := mp.Meter(instrumentationName)
	requests, err := m.Int64Counter("ztkit.sts.requests",
		metric.WithDescription("Token requests, by grant type, outcome (issued or refused) and refusal reason."),
		metric.WithUnit("{request}"))
	if err != nil {
		return nil, err
	}
	return &telemetry{requests: requests}, nil
}

// record counts one request; reason is "" for an issued token.
func (t *telemetry) record(ctx context.Context, grant, reason string) {
	switch grant {
	case GrantTypeTokenExchange:
		grant = "token_exchange"
	case grantStepUp:
	case GrantTypeClientCredentials:
	default:
		grant = "other"
	}
	k := setKey{grant, reason}
	opt, ok := t.sets.Load(k)
	if !ok {
		outcome := "issued"
		if reason != "" {
			outcome = "refused"
		}
		opt, _ = t.sets.LoadOrStore(k, metric.WithAttributeSet(attribute.NewSet(
			attrGrant.String(grant), attrOutcome.String(outcome), attrReason.String(reason))))
	}
	t.requests.Add(ctx, 1, opt.(metric.AddOption))
}

// metricGrant is the grant a request is counted under: a step-up apart
// from other token exchanges.
func (o *outcome) metricGrant() string {
	if o.stepUp {
		return grantStepUp
	}
	return o.grant
}

// attrs are the log attributes of a request: never a token, assertion or
// proof; the client_id and actor only when they authenticated.
func (o *outcome) attrs() []slog.Attr {
	grant := o.grant
	if o.stepUp {
		grant = grantStepUp
	}
	if grant == "" {
		grant = "other"
	}
	a := []slog.Attr{slog.String("grant_type", grant)}
	if o.clientID != "" {
		a = append(a, slog.String("client_id", o.clientID))
	}
	if o.actor != "" {
		a = append(a, slog.String("actor", o.actor))
	}
	return a
}

// quotable reports whether s can be sent as an RFC 9110 quoted-string as is.
func quotable(s string) bool {
	return !strings.ContainsAny(s, "\"\\") && clean(s)
}
