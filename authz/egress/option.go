package egress

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// DefaultDialTimeout bounds the name lookup, TCP connect and TLS handshake
// of one dial when [WithDialTimeout] is not given.
const DefaultDialTimeout = 30 * time.Second

// Resolver looks up the addresses of a host name. *net.Resolver implements
// it. network is "ip", "ip4" or "ip6". A host of two labels or more is
// passed fully qualified, with a trailing dot, so that resolv.conf search
// domains are not tried; a single label ("localhost") is passed as it is.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Option configures [NewDialer].
type Option interface {
	apply(*config)
}

type config struct {
	svid        x509svid.Source
	bundles     x509bundle.Source
	roots       *x509.CertPool
	resolver    Resolver
	logger      *slog.Logger
	dialTimeout time.Duration
}

func newConfig(opts []Option) *config {
	c := &config{
		resolver:    net.DefaultResolver,
		logger:      slog.New(slog.DiscardHandler),
		dialTimeout: DefaultDialTimeout,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	return c
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithSPIFFE sets the X.509-SVID the client presents to internal
// destinations and the trust bundles their server X.509-SVIDs are verified
// against; required when the list has a destination with a Server
// matcher. Both are read at each handshake, so rotation needs no restart.
// Pass the workload's X509Source (spiffesource.NewX509Source) as both, as
// [authn.ClientTLSConfig] explains. A nil argument leaves that source unset.
func WithSPIFFE(svid x509svid.Source, bundles x509bundle.Source) Option {
	return optionFunc(func(c *config) {
		if svid != nil {
			c.svid = svid
		}
		if bundles != nil {
			c.bundles = bundles
		}
	})
}

// WithRootCAs sets the roots that external (web PKI) destinations are
// verified against, for a private CA or a test server. nil keeps the
// system roots.
func WithRootCAs(roots *x509.CertPool) Option {
	return optionFunc(func(c *config) {
		if roots != nil {
			c.roots = roots
		}
	})
}

// WithResolver sets how host names are resolved. The dialer connects to
// the addresses it returns, after checking them against the destination's
// address rule, and never resolves the name again for that dial, so the
// address checked is the address dialed. nil keeps net.DefaultResolver.
func WithResolver(r Resolver) Option {
	return optionFunc(func(c *config) {
		if r != nil {
			c.resolver = r
		}
	})
}

// WithLogger logs one Warn record per refusal, "egress refused", with the
// scheme, host, port and reason, never a URL path, query, header or
// certificate. nil keeps the default, which discards.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithDialTimeout bounds the name lookup, TCP connect and TLS handshake of
// one dial. Zero or negative keeps [DefaultDialTimeout].
func WithDialTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.dialTimeout = d
		}
	})
}
