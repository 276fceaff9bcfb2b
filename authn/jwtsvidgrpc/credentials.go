package jwtsvidgrpc

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"google.golang.org/grpc/credentials"

	"github.com/ztkit/ztkit/internal/grpccreds"
	"github.com/ztkit/ztkit/internal/httphdr"
	"github.com/ztkit/ztkit/internal/redacted"
)

// PerRPCCredentials puts "authorization: Bearer <JWT-SVID>" on every gRPC
// call (credentials.PerRPCCredentials), with a JWT-SVID for one audience
// from a jwtsvid.Source, cached and renewed as the package documentation
// says.
//
// A PerRPCCredentials is safe for concurrent use; calls wait while one of
// them renews the JWT-SVID. It prints as [REDACTED]. Build it with
// [NewPerRPCCredentials]; the zero value refuses every call with
// [ErrInvalidConfig].
type PerRPCCredentials struct {
	src    jwtsvid.Source
	params jwtsvid.Params
	now    func() time.Time

	mu      sync.Mutex
	token   string
	renewAt time.Time
	expiry  time.Time
}

var _ credentials.PerRPCCredentials = (*PerRPCCredentials)(nil)

// NewPerRPCCredentials returns credentials that send JWT-SVIDs from src for
// audience (JWT-SVID §3: the server's SPIFFE ID or URL, as its
// authn.WithJWTSVIDs names it).
func NewPerRPCCredentials(src jwtsvid.Source, audience string, opts ...Option) (*PerRPCCredentials, error) {
	c := &PerRPCCredentials{src: src, params: jwtsvid.Params{Audience: audience}, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if src == nil || audience == "" {
		return nil, fmt.Errorf("%w: a JWT-SVID source and an audience are required", ErrInvalidConfig)
	}
	return c, nil
}

// RequireTransportSecurity returns true: a JWT-SVID is a bearer credential
// and is sent only over a connection with privacy and integrity (TLS).
func (c *PerRPCCredentials) RequireTransportSecurity() bool { return true }

// GetRequestMetadata returns the call's "authorization" metadata. It
// refuses a connection without privacy and integrity, a call that already
// carries "authorization", and, when no valid JWT-SVID can be had, fails
// with [ErrSVIDUnavailable].
func (c *PerRPCCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if c == nil || c.src == nil {
		return nil, fmt.Errorf("%w: PerRPCCredentials not built with NewPerRPCCredentials", ErrInvalidConfig)
	}
	switch _, refusal := grpccreds.Check(ctx, "authorization"); refusal {
	case grpccreds.Insecure:
		return nil, ErrInsecureTransport
	case grpccreds.Conflict:
		return nil, ErrConflictingMetadata
	}
	token, err := c.current(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + token}, nil
}

// current returns the cached JWT-SVID, renewed first when it is due.
func (c *PerRPCCredentials) current(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.token != "" && now.Before(c.renewAt) {
		return c.token, nil
	}
	token, expiry, err := c.fetch(ctx, now)
	if err != nil {
		if c.token != "" && now.Before(c.expiry) {
			return c.token, nil // renewal failed; the current one is still valid
		}
		return "", err
	}
	c.token, c.expiry = token, expiry
	c.renewAt = now.Add(expiry.Sub(now) * 2 / 3)
	return token, nil
}

// fetch asks the source for a JWT-SVID and checks it is usable now.
func (c *PerRPCCredentials) fetch(ctx context.Context, now time.Time) (string, time.Time, error) {
	svid, err := c.src.FetchJWTSVID(ctx, c.params)
	switch {
	case err != nil:
		return "", time.Time{}, fmt.Errorf("%w: %w", ErrSVIDUnavailable, err)
	case svid == nil:
		return "", time.Time{}, fmt.Errorf("%w: the source returned none", ErrSVIDUnavailable)
	case !now.Before(svid.Expiry):
		return "", time.Time{}, fmt.Errorf("%w: the source returned an expired JWT-SVID", ErrSVIDUnavailable)
	case !slices.Contains(svid.Audience, c.params.Audience):
		return "", time.Time{}, fmt.Errorf("%w: the source returned a JWT-SVID for another audience", ErrSVIDUnavailable)
	case !c.params.Subject.IsZero() && svid.ID != c.params.Subject:
		return "", time.Time{}, fmt.Errorf("%w: the source returned a JWT-SVID of another workload", ErrSVIDUnavailable)
	}
	token := svid.Marshal()
	if _, _, err := httphdr.ParseAuthorization("Bearer " + token); err != nil {
		return "", time.Time{}, fmt.Errorf("%w: the JWT-SVID is not token68", ErrSVIDUnavailable)
	}
	return token, svid.Expiry, nil
}

// String returns [REDACTED].
func (c *PerRPCCredentials) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (c *PerRPCCredentials) GoString() string { return redacted.Marker }

// Format prints [REDACTED] for every verb.
func (c *PerRPCCredentials) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue logs [REDACTED].
func (c *PerRPCCredentials) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON encodes [REDACTED].
func (c *PerRPCCredentials) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }
