package vault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/ztkit/ztkit/secrets"
)

// CertLogin logs in to Vault's TLS certificate auth method ("cert") with the
// workload's X.509-SVID. Make one with [Cert]. It is safe for concurrent use,
// and one CertLogin may serve several [Client]s.
type CertLogin struct {
	mount, role string
	svids       x509svid.Source
	// id caches the leaf certificate last seen by CredentialID and its
	// serial number, so that the once-a-second check allocates nothing while
	// the SVID stays the same.
	id atomic.Pointer[leafID]
}

type leafID struct {
	leaf   *x509.Certificate
	serial string
}

var (
	_ RotatingLogin = (*CertLogin)(nil)
	_ renewingLogin = (*CertLogin)(nil)
)

// Cert returns the login to the TLS certificate auth method ("cert") mounted
// at mount ("cert" when empty), as its role role, presenting the X.509-SVID
// that svids holds now: a workloadapi.X509Source in production, which keeps
// the SVID the SPIRE agent rotates. Each login opens a new TLS connection of
// its own (no connection is kept or reused, and HTTP/2 is not negotiated), so
// Vault always sees the SVID current at the time of the login, never one an
// older connection was made with.
//
// A [Client] logging in with a CertLogin checks about once a second whether
// the source's SVID is still the one of its last login, and logs in again
// when the SVID rotated (see [RotatingLogin]). Token renewals also present
// the current SVID, on a connection of their own: unless the auth method's
// disable_binding is set, Vault renews a token of the cert auth method only
// on a connection presenting a client certificate with the key, or from the
// CA, of the login's.
//
// Vault must see the workload's TLS connection: the login cannot go through
// a proxy that terminates TLS, and the address must be https. To let a SPIFFE
// ID log in, give the cert auth role the trust domain's X.509 bundle (its CA
// certificates, PEM) as certificate and the SPIFFE ID as allowed_uri_sans
// (a glob such as "spiffe://example.org/ns/payments/*" admits several):
//
//	bao auth enable cert
//	bao write auth/cert/certs/payments \
//		certificate=@trust-bundle.pem \
//		allowed_uri_sans=spiffe://example.org/payments \
//		token_policies=payments token_ttl=1h token_max_ttl=4h
//
// The trust bundle comes from the SPIRE server (spire-server bundle show) or
// the Workload API (workloadapi.FetchX509Bundles); update the role when the
// trust domain's CA rotates. Without allowed_uri_sans (or another allowed_*
// constraint), the role admits every SVID of the trust domain.
//
// Vault and OpenBao take the token's identity alias from the client
// certificate's subject common name, and refuse a certificate without one
// (hashicorp/vault#6820, openbao/openbao#1687), while X.509-SVIDs need none:
// give the workload's SPIRE registration entry a DNS name (spire-server entry
// create -dns payments.example.org), which SPIRE also makes the common name.
// The alias then names that DNS name; the SPIFFE ID is what allowed_uri_sans
// checks.
//
// Cert fails with a [*ConfigError] (matching [secrets.ErrInvalidConfig]) when
// role is empty or svids is nil.
func Cert(mount, role string, svids x509svid.Source) (*CertLogin, error) {
	if isNil(svids) {
		return nil, &ConfigError{Func: "Cert", Arg: "source", Reason: "is nil"}
	}
	if strings.TrimSpace(role) == "" {
		return nil, &ConfigError{Func: "Cert", Arg: "role", Reason: "is empty"}
	}
	return &CertLogin{mount: mountOr(mount, "cert"), role: role, svids: svids}, nil
}

// Login logs in with the source's current X.509-SVID on a new TLS connection
// that presents it as the client certificate. It implements api.AuthMethod.
//
// It fails with an error matching [secrets.ErrUnavailable] when the source
// has no valid SVID (the Workload API is down, or the SVID expired), with
// [secrets.ErrInvalidConfig] when c cannot present a client certificate (its
// address is not https, or its transport is not an *http.Transport), and
// with [secrets.ErrRefused] when the server cannot take an SVID without a
// subject common name (Vault and OpenBao use it as the identity alias: see
// [Cert]). Vault's other answers are returned as vault/api errors.
func (l *CertLogin) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: vault: cert login: nil client", secrets.ErrInvalidConfig)
	}
	svid, err := l.currentSVID()
	if err != nil {
		return nil, err
	}
	lc, closeIdle, err := svidClient(c, svid)
	if err != nil {
		return nil, err
	}
	defer closeIdle()
	sec, err := lc.Logical().WriteWithContext(ctx, "auth/"+l.mount+"/login", map[string]any{"name": l.role})
	if err != nil && missingAlias(err) {
		return nil, fmt.Errorf("vault: cert login: %w: the server takes the identity alias from the client "+
			"certificate's subject common name, and the X.509-SVID of %s has none: give the SPIRE entry a DNS name "+
			"(SPIRE makes the first one the common name)", secrets.ErrRefused, svid.ID)
	}
	return sec, err
}

// missingAlias reports whether err is the answer of Vault's and OpenBao's
// cert auth method to a certificate with no subject common name, from which
// they take the identity alias (hashicorp/vault#6820, openbao/openbao#1687).
// They answer 500, which would otherwise read as an outage to retry.
func missingAlias(err error) bool {
	var re *api.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusInternalServerError {
		return false
	}
	for _, e := range re.Errors {
		if strings.Contains(e, "missing name in alias") {
			return true
		}
	}
	return false
}

// CredentialID returns the serial number (hexadecimal) of the leaf
// certificate of the source's current X.509-SVID, or "" when the source has
// none. It implements [RotatingLogin]: it reads the source in memory and
// does not allocate while the SVID stays the same.
func (l *CertLogin) CredentialID() string {
	svid, err := l.svids.GetX509SVID()
	if err != nil || svid == nil || len(svid.Certificates) == 0 || svid.Certificates[0] == nil {
		return ""
	}
	leaf := svid.Certificates[0]
	if c := l.id.Load(); c != nil && c.leaf == leaf {
		return c.serial
	}
	if leaf.SerialNumber == nil {
		return ""
	}
	c := &leafID{leaf: leaf, serial: leaf.SerialNumber.Text(16)}
	l.id.Store(c)
	return c.serial
}

// renewClient returns a client that presents the current X.509-SVID, for
// renewing a token: the cert auth method binds renewals to the identity that
// logged in.
func (l *CertLogin) renewClient(c *api.Client) (*api.Client, func(), error) {
	svid, err := l.currentSVID()
	if err != nil {
		return nil, nil, err
	}
	return svidClient(c, svid)
}

// currentSVID returns the source's SVID when it is usable now.
func (l *CertLogin) currentSVID() (*x509svid.SVID, error) {
	svid, err := l.svids.GetX509SVID()
	if err != nil {
		// go-spiffe's errors name the source's state, never key material.
		return nil, fmt.Errorf("vault: cert login: %w: no X.509-SVID: %v", secrets.ErrUnavailable, err)
	}
	if svid == nil || len(svid.Certificates) == 0 || svid.Certificates[0] == nil || svid.PrivateKey == nil {
		return nil, fmt.Errorf("vault: cert login: %w: the source returned an incomplete X.509-SVID", secrets.ErrUnavailable)
	}
	leaf := svid.Certificates[0]
	if now := time.Now(); now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		// The Workload API should rotate it: retry rather than fail for good.
		return nil, fmt.Errorf("vault: cert login: %w: the X.509-SVID of %s is outside its validity period", secrets.ErrUnavailable, svid.ID)
	}
	return svid, nil
}

// svidClient returns a client of the same server as c, with c's headers
// (namespace) and token, whose every request opens a new TLS connection
// presenting svid as its client certificate, and a function that releases
// the transport.
//
// The transport is a clone of c's, with keep-alives off and HTTP/1.1 only:
// vault/api configures its transport for HTTP/2 with x/net/http2, whose
// connection pool belongs to the original transport, so an HTTP/2 connection
// made by a clone would land in c's pool, and be reused by c.
func svidClient(c *api.Client, svid *x509svid.SVID) (*api.Client, func(), error) {
	if !strings.HasPrefix(strings.ToLower(c.Address()), "https://") {
		return nil, nil, fmt.Errorf("%w: vault: cert login needs an https address", secrets.ErrInvalidConfig)
	}
	cfg := c.CloneConfig()
	if cfg.Error != nil {
		return nil, nil, fmt.Errorf("%w: vault: cert login: %v", secrets.ErrInvalidConfig, cfg.Error)
	}
	base, ok := cfg.HttpClient.Transport.(*http.Transport)
	if !ok {
		return nil, nil, fmt.Errorf("%w: vault: cert login needs the client's transport to be an *http.Transport, not %T",
			secrets.ErrInvalidConfig, cfg.HttpClient.Transport)
	}
	chain := make([][]byte, len(svid.Certificates))
	for i, cert := range svid.Certificates {
		chain[i] = cert.Raw
	}
	clientCert := &tls.Certificate{Certificate: chain, PrivateKey: svid.PrivateKey, Leaf: svid.Certificates[0]}

	t := base.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	t.TLSClientConfig.Certificates = nil
	t.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return clientCert, nil
	}
	t.TLSClientConfig.NextProtos = []string{"http/1.1"}
	t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	t.ForceAttemptHTTP2 = false
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	t.DisableKeepAlives = true
	cfg.HttpClient.Transport = t

	lc, err := api.NewClient(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: vault: cert login: %v", secrets.ErrInvalidConfig, err)
	}
	// api.NewClient takes a token from VAULT_TOKEN: use c's instead.
	lc.SetToken(c.Token())
	lc.SetHeaders(c.Headers())
	return lc, t.CloseIdleConnections, nil
}

// isNil reports whether v is nil, or an interface holding a nil pointer,
// map, slice, channel or function (a nil *workloadapi.X509Source would
// panic when used).
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
