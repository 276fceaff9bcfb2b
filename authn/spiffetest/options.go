package spiffetest

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Defaults used by [New] when no option says otherwise.
const (
	// DefaultX509SVIDTTL is the lifetime of an X509-SVID.
	DefaultX509SVIDTTL = time.Hour
	// DefaultJWTSVIDTTL is the lifetime of a JWT-SVID.
	DefaultJWTSVIDTTL = 5 * time.Minute
)

// defaultSocketName is the file name of the socket in the temporary directory
// [New] creates when [WithSocketPath] is not given.
const defaultSocketName = "agent.sock"

// caLifetime is how long the issuer's root CA is valid. It never rotates, so it
// outlives any test or demo run; the leaves it signs are short-lived.
const caLifetime = 10 * 365 * 24 * time.Hour

// Option configures an [Issuer] in [New].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	socketPath string
	x509TTL    time.Duration
	jwtTTL     time.Duration
	rotation   time.Duration
	now        func() time.Time
	log        *slog.Logger
	attestor   Attestor
	federated  map[spiffeid.TrustDomain]*spiffebundle.Bundle
	dnsNames   []string
	errs       []error
}

func newConfig(opts []Option) *config {
	c := &config{
		x509TTL:   DefaultX509SVIDTTL,
		jwtTTL:    DefaultJWTSVIDTTL,
		now:       time.Now,
		log:       slog.New(slog.DiscardHandler),
		federated: map[spiffeid.TrustDomain]*spiffebundle.Bundle{},
	}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if c.rotation == 0 {
		c.rotation = c.x509TTL / 2
	}
	return c
}

func (c *config) validate(td spiffeid.TrustDomain) error {
	if td.IsZero() {
		c.errs = append(c.errs, fmt.Errorf("%w: zero trust domain", ErrInvalidConfig))
	}
	if c.rotation <= 0 || c.rotation >= c.x509TTL {
		c.errs = append(c.errs, fmt.Errorf("%w: rotation interval %s is not between zero and the X509-SVID lifetime %s",
			ErrInvalidConfig, c.rotation, c.x509TTL))
	}
	if _, ok := c.federated[td]; ok {
		c.errs = append(c.errs, fmt.Errorf("%w: federated bundle for the issuer's own trust domain %q", ErrInvalidConfig, td))
	}
	if len(c.errs) > 0 {
		return c.errs[0]
	}
	return nil
}

// positive sets *dst to d when d is positive, keeps the default when d is
// zero, and records an error when d is negative.
func (c *config) positive(name string, d time.Duration, dst *time.Duration) {
	switch {
	case d > 0:
		*dst = d
	case d < 0:
		c.errs = append(c.errs, fmt.Errorf("%w: %s %s is negative", ErrInvalidConfig, name, d))
	}
}

// WithSocketPath sets the path of the unix socket the Workload API listens on.
// The file must not exist; Close removes it. Keep the path short: unix socket
// paths are limited to about 100 bytes. An empty path keeps the default, a
// socket named agent.sock in a fresh temporary directory that Close
// removes.
func WithSocketPath(path string) Option {
	return optionFunc(func(c *config) {
		if path != "" {
			c.socketPath = path
		}
	})
}

// WithX509SVIDTTL sets the lifetime of the X509-SVIDs the issuer serves and
// issues. Zero keeps [DefaultX509SVIDTTL]; a negative value makes [New] fail
// with [ErrInvalidConfig].
func WithX509SVIDTTL(d time.Duration) Option {
	return optionFunc(func(c *config) { c.positive("X509-SVID lifetime", d, &c.x509TTL) })
}

// WithJWTSVIDTTL sets the lifetime of the JWT-SVIDs the issuer serves and
// issues. Zero keeps [DefaultJWTSVIDTTL]; a negative value makes [New] fail
// with [ErrInvalidConfig].
func WithJWTSVIDTTL(d time.Duration) Option {
	return optionFunc(func(c *config) { c.positive("JWT-SVID lifetime", d, &c.jwtTTL) })
}

// WithRotation sets how often the issuer reissues X509-SVIDs and pushes them,
// with the bundles, to every open Workload API stream. It must be shorter than
// the X509-SVID lifetime. Zero keeps the default, half the X509-SVID
// lifetime; a negative value makes [New] fail with [ErrInvalidConfig]. The
// interval is measured with real timers, not the [WithClock] clock; tests
// rotate with [Issuer.Rotate] instead of waiting.
func WithRotation(d time.Duration) Option {
	return optionFunc(func(c *config) { c.positive("rotation interval", d, &c.rotation) })
}

// WithClock sets the clock the issuer reads the time from for validity
// periods (NotBefore/NotAfter, iat/exp) and for ValidateJWTSVID. nil keeps
// time.Now. go-spiffe clients check JWT-SVID times against their own clock, so
// a clock far from the real time makes them refuse JWT-SVIDs fetched through
// the Workload API.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithLogger sets the logger that records rotations and refused calls, at
// debug level. nil keeps the default, which discards everything. Keys and
// tokens are never logged.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.log = l
		}
	})
}

// WithAttestor sets the function that decides which SPIFFE ID each Workload
// API caller gets, instead of the one identity set with [Issuer.Register].
// nil keeps that default. See [Attestor] and [ByUID].
func WithAttestor(a Attestor) Option {
	return optionFunc(func(c *config) {
		if a != nil {
			c.attestor = a
		}
	})
}

// WithFederatedBundle adds the bundle of a foreign trust domain, which the
// Workload API then serves next to the issuer's own (federated_bundles in
// FetchX509SVID, and FetchX509Bundles, FetchJWTBundles and ValidateJWTSVID).
// The bundle is copied. A second bundle for the same trust domain replaces the
// first; nil is ignored; a bundle for the issuer's own trust domain makes [New]
// fail with [ErrInvalidConfig]. Pass another issuer's [Issuer.Bundle] to
// federate with it, or use [Issuer.SetFederatedBundle] after New.
func WithFederatedBundle(b *spiffebundle.Bundle) Option {
	return optionFunc(func(c *config) {
		if b == nil {
			return
		}
		if b.TrustDomain().IsZero() {
			c.errs = append(c.errs, fmt.Errorf("%w: federated bundle with a zero trust domain", ErrInvalidConfig))
			return
		}
		c.federated[b.TrustDomain()] = b.Clone()
	})
}

// WithDNSNames gives the X509-SVIDs the issuer serves and issues the DNS
// names names as DNS SANs, and the first of them as the subject's common name,
// as SPIRE does for a registration entry with DNS names. Use it for verifiers
// that need a common name: the TLS certificate auth method of Vault and
// OpenBao takes the identity alias from it and refuses a certificate without
// one. No names keeps the default, SVIDs with the SPIFFE ID alone; an empty
// name makes [New] fail with [ErrInvalidConfig].
func WithDNSNames(names ...string) Option {
	return optionFunc(func(c *config) {
		if slices.Contains(names, "") {
			c.errs = append(c.errs, fmt.Errorf("%w: empty DNS name", ErrInvalidConfig))
			return
		}
		if len(names) > 0 {
			c.dnsNames = slices.Clone(names)
		}
	})
}

// SVIDOption configures one credential issued by [Issuer.IssueX509SVID] or
// [Issuer.IssueJWTSVID].
type SVIDOption interface{ applySVID(*svidConfig) }

type svidOptionFunc func(*svidConfig)

func (f svidOptionFunc) applySVID(c *svidConfig) { f(c) }

type svidConfig struct {
	notBefore, notAfter time.Time
}

// WithValidity sets the validity window of an issued credential: NotBefore
// and NotAfter of an X509-SVID, iat and exp of a JWT-SVID. A zero time keeps
// that end's default: notBefore now (by the [WithClock] clock), notAfter
// notBefore plus the issuer's lifetime for the type.
// Use a window in the past for an expired credential, in the future for one
// not yet valid. The issue call fails with [ErrInvalidConfig] unless notAfter
// is after notBefore.
func WithValidity(notBefore, notAfter time.Time) SVIDOption {
	return svidOptionFunc(func(c *svidConfig) {
		if !notBefore.IsZero() {
			c.notBefore = notBefore
		}
		if !notAfter.IsZero() {
			c.notAfter = notAfter
		}
	})
}
