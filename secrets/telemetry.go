package secrets

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// instrumentationName is the OpenTelemetry scope of the secrets metrics.
const instrumentationName = "github.com/ztkit/ztkit/secrets"

// Attribute keys of the secrets metrics. Their values come from small fixed
// sets, and the name from the service's own configuration, so the metrics'
// cardinality stays bounded.
const (
	attrName      = attribute.Key("ztkit.secrets.name")
	attrOperation = attribute.Key("ztkit.secrets.operation")
	attrCause     = attribute.Key("ztkit.secrets.cause")
)

type telemetry struct {
	issued   metric.Int64Counter
	renewed  metric.Int64Counter
	failures metric.Int64Counter
	nameOpt  metric.AddOption
	name     attribute.KeyValue
	reg      metric.Registration

	mu   sync.Mutex
	opts map[failureKey]metric.AddOption
}

type failureKey struct {
	op    op
	cause string
}

func newTelemetry(mp metric.MeterProvider, name string, s *Source) (*telemetry, error) {
	m := mp.Meter(instrumentationName)
	issued, err := m.Int64Counter("ztkit.secrets.issued",
		metric.WithDescription("Credentials issued (logins, reads, new leases), by source."), metric.WithUnit("{credential}"))
	if err != nil {
		return nil, err
	}
	renewed, err := m.Int64Counter("ztkit.secrets.renewed",
		metric.WithDescription("Leases renewed, by source."), metric.WithUnit("{renewal}"))
	if err != nil {
		return nil, err
	}
	failures, err := m.Int64Counter("ztkit.secrets.failures",
		metric.WithDescription("Failed issues and renewals, expiries with no replacement and failed rotation callbacks, by source, operation and cause."),
		metric.WithUnit("{failure}"))
	if err != nil {
		return nil, err
	}
	expiry, err := m.Float64ObservableGauge("ztkit.secrets.expiry",
		metric.WithDescription("Seconds until the current credential expires (0 once expired), by source; absent for credentials that do not expire."),
		metric.WithUnit("s"))
	if err != nil {
		return nil, err
	}
	t := &telemetry{
		issued: issued, renewed: renewed, failures: failures,
		name: attrName.String(name), opts: map[failureKey]metric.AddOption{},
	}
	t.nameOpt = metric.WithAttributeSet(attribute.NewSet(t.name))
	obsOpt := metric.WithAttributeSet(attribute.NewSet(t.name))
	t.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := s.state.Load()
		switch {
		case st == nil || st == closedState:
		case st.err != nil:
			o.ObserveFloat64(expiry, 0, obsOpt)
		case !st.secret.lease.ExpiresAt.IsZero():
			o.ObserveFloat64(expiry, max(0, time.Until(st.secret.lease.ExpiresAt).Seconds()), obsOpt)
		}
		return nil
	}, expiry)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (t *telemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}

// cause names the class of err, from a fixed set.
func cause(err error) string {
	switch {
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrRefused):
		return "refused"
	case errors.Is(err, ErrNotRenewable):
		return "not_renewable"
	case errors.Is(err, ErrInvalidSecret):
		return "invalid"
	case errors.Is(err, errCallbackPanic):
		return "panic"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "error"
}

func (t *telemetry) failure(ctx context.Context, o op, err error) {
	k := failureKey{op: o, cause: cause(err)}
	t.mu.Lock()
	opt, ok := t.opts[k]
	if !ok {
		opt = metric.WithAttributeSet(attribute.NewSet(t.name, attrOperation.String(o.String()), attrCause.String(k.cause)))
		t.opts[k] = opt
	}
	t.mu.Unlock()
	t.failures.Add(ctx, 1, opt)
}
