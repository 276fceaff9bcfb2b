package spiffetest_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn/spiffetest"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		td   spiffeid.TrustDomain
		opts []spiffetest.Option
	}{
		{"zero trust domain", spiffeid.TrustDomain{}, nil},
		{"negative X509-SVID lifetime", td, []spiffetest.Option{spiffetest.WithX509SVIDTTL(-time.Second)}},
		{"negative JWT-SVID lifetime", td, []spiffetest.Option{spiffetest.WithJWTSVIDTTL(-time.Second)}},
		{"negative rotation", td, []spiffetest.Option{spiffetest.WithRotation(-time.Second)}},
		{"rotation equal to lifetime", td, []spiffetest.Option{
			spiffetest.WithX509SVIDTTL(time.Hour), spiffetest.WithRotation(time.Hour)}},
		{"rotation longer than lifetime", td, []spiffetest.Option{
			spiffetest.WithX509SVIDTTL(time.Minute), spiffetest.WithRotation(time.Hour)}},
		{"lifetime too short to rotate", td, []spiffetest.Option{spiffetest.WithX509SVIDTTL(time.Nanosecond)}},
		{"federated bundle for own trust domain", td, []spiffetest.Option{
			spiffetest.WithFederatedBundle(spiffebundle.New(td))}},
		{"federated bundle with zero trust domain", td, []spiffetest.Option{
			spiffetest.WithFederatedBundle(spiffebundle.New(spiffeid.TrustDomain{}))}},
		{"empty DNS name", td, []spiffetest.Option{spiffetest.WithDNSNames("checkout.shop.test", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := spiffetest.New(t.Context(), tt.td, tt.opts...)
			require.ErrorIs(t, err, spiffetest.ErrInvalidConfig)
			assert.Nil(t, iss)
		})
	}
}

func TestNewNilOptionsKeepDefaults(t *testing.T) {
	iss := newIssuer(t, td,
		nil,
		spiffetest.WithSocketPath(""),
		spiffetest.WithX509SVIDTTL(0),
		spiffetest.WithJWTSVIDTTL(0),
		spiffetest.WithRotation(0),
		spiffetest.WithClock(nil),
		spiffetest.WithLogger(nil),
		spiffetest.WithAttestor(nil),
		spiffetest.WithFederatedBundle(nil),
	)
	svid, err := iss.IssueX509SVID(checkout)
	require.NoError(t, err)
	leaf := svid.Certificates[0]
	assert.Equal(t, spiffetest.DefaultX509SVIDTTL, leaf.NotAfter.Sub(leaf.NotBefore))
	assert.True(t, strings.HasPrefix(iss.Addr(), "unix:///"), iss.Addr())
	assert.Equal(t, td, iss.TrustDomain())
}

func TestNewHonoursCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	iss, err := spiffetest.New(ctx, td)
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, iss)
}

func TestWithSocketPath(t *testing.T) {
	dir, err := os.MkdirTemp("", "sock") // t.TempDir paths can exceed the unix socket limit
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	path := filepath.Join(dir, "workload.sock")

	iss, err := spiffetest.New(t.Context(), td, spiffetest.WithSocketPath(path))
	require.NoError(t, err)
	assert.Equal(t, "unix://"+path, iss.Addr())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.ModeSocket, fi.Mode().Type())

	_, err = spiffetest.New(t.Context(), td, spiffetest.WithSocketPath(path))
	require.Error(t, err, "a second issuer on a socket in use")

	require.NoError(t, iss.Close())
	_, err = os.Stat(path)
	require.ErrorIs(t, err, fs.ErrNotExist, "Close removes the socket")
	_, err = os.Stat(dir)
	require.NoError(t, err, "Close leaves a directory it did not create")
}

func TestCloseIsIdempotentAndRemovesTheSocket(t *testing.T) {
	iss, err := spiffetest.New(t.Context(), td)
	require.NoError(t, err)
	require.NoError(t, iss.Register(checkout))
	socket := strings.TrimPrefix(iss.Addr(), "unix://")
	_, err = os.Stat(socket)
	require.NoError(t, err)

	require.NoError(t, iss.Close())
	require.NoError(t, iss.Close())

	_, err = os.Stat(socket)
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = os.Stat(filepath.Dir(socket))
	require.ErrorIs(t, err, fs.ErrNotExist, "Close removes the temporary directory New created")

	other := newIssuer(t, spiffeid.RequireTrustDomainFromString("partner.test"))
	calls := []struct {
		name string
		call func() error
	}{
		{"Register", func() error { return iss.Register(storefront) }},
		{"Rotate", iss.Rotate},
		{"SetFederatedBundle", func() error { return iss.SetFederatedBundle(other.Bundle()) }},
		{"IssueX509SVID", func() error { _, err := iss.IssueX509SVID(checkout); return err }},
		{"IssueJWTSVID", func() error { _, err := iss.IssueJWTSVID(checkout, []string{"aud"}); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			require.ErrorIs(t, c.call(), spiffetest.ErrClosed)
		})
	}
	assert.Len(t, iss.X509Bundle().X509Authorities(), 1, "bundles stay readable after Close")
}

func TestInvalidIDs(t *testing.T) {
	iss := newIssuer(t, td)
	tests := []struct {
		name string
		id   spiffeid.ID
	}{
		{"zero", spiffeid.ID{}},
		{"other trust domain", spiffeid.RequireFromString("spiffe://partner.test/checkout")},
		{"no path", td.ID()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, iss.Register(tt.id), spiffetest.ErrInvalidID)
			_, err := iss.IssueX509SVID(tt.id)
			require.ErrorIs(t, err, spiffetest.ErrInvalidID)
			_, err = iss.IssueJWTSVID(tt.id, []string{"aud"})
			require.ErrorIs(t, err, spiffetest.ErrInvalidID)
		})
	}
}

// oidKeyUsage is id-ce-keyUsage (RFC 5280 §4.2.1.3).
var oidKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

func keyUsageCritical(t *testing.T, c *x509.Certificate) bool {
	t.Helper()
	for _, e := range c.Extensions {
		if e.Id.Equal(oidKeyUsage) {
			return e.Critical
		}
	}
	t.Fatalf("certificate has no key usage extension")
	return false
}

// TestX509SVIDProfile checks an issued X509-SVID and the CA against the
// X509-SVID specification, section by section.
func TestX509SVIDProfile(t *testing.T) {
	iss := newIssuer(t, td)
	svid, err := iss.IssueX509SVID(checkout)
	require.NoError(t, err)
	require.Len(t, svid.Certificates, 1, "no intermediates: the leaf is signed by the root")
	leaf := svid.Certificates[0]
	cas := iss.X509Bundle().X509Authorities()
	require.Len(t, cas, 1)
	ca := cas[0]

	t.Run("leaf", func(t *testing.T) {
		// §2: exactly one URI SAN, the SPIFFE ID.
		require.Len(t, leaf.URIs, 1)
		assert.Equal(t, checkout.String(), leaf.URIs[0].String())
		assert.Equal(t, checkout, svid.ID)
		// §4.1: cA false.
		assert.True(t, leaf.BasicConstraintsValid)
		assert.False(t, leaf.IsCA)
		// §4.3: digitalSignature, never keyCertSign or cRLSign, critical.
		assert.Equal(t, x509.KeyUsageDigitalSignature, leaf.KeyUsage)
		assert.True(t, keyUsageCritical(t, leaf))
		// §4.4: serverAuth and clientAuth.
		assert.ElementsMatch(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, leaf.ExtKeyUsage)
		// ECDSA P-256, and the private key matches the certificate.
		pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
		require.True(t, ok)
		assert.Equal(t, elliptic.P256(), pub.Curve)
		priv, ok := svid.PrivateKey.(*ecdsa.PrivateKey)
		require.True(t, ok)
		assert.True(t, priv.PublicKey.Equal(pub))
		assert.Equal(t, spiffetest.DefaultX509SVIDTTL, leaf.NotAfter.Sub(leaf.NotBefore))
	})

	t.Run("CA", func(t *testing.T) {
		// §3.2: the signing certificate is an SVID for the trust domain, no path.
		require.Len(t, ca.URIs, 1)
		assert.Equal(t, "spiffe://shop.test", ca.URIs[0].String())
		// §4.1 and §4.3: cA true, keyCertSign, critical.
		assert.True(t, ca.IsCA)
		assert.NotZero(t, ca.KeyUsage&x509.KeyUsageCertSign)
		assert.True(t, keyUsageCritical(t, ca))
		assert.NoError(t, ca.CheckSignatureFrom(ca), "self-signed root")
		assert.Equal(t, ca.SubjectKeyId, leaf.AuthorityKeyId)
	})

	t.Run("verifies against the bundle", func(t *testing.T) {
		id, chains, err := x509svid.Verify(svid.Certificates, iss.X509Bundle())
		require.NoError(t, err)
		assert.Equal(t, checkout, id)
		require.Len(t, chains, 1)
		assert.Equal(t, []*x509.Certificate{leaf, ca}, chains[0])
	})

	t.Run("round-trips through the wire encoding", func(t *testing.T) {
		certs, key, err := svid.MarshalRaw()
		require.NoError(t, err)
		parsed, err := x509svid.ParseRaw(certs, key)
		require.NoError(t, err)
		assert.Equal(t, checkout, parsed.ID)
	})
}

func TestWithDNSNames(t *testing.T) {
	t.Run("default: no common name, no DNS SAN", func(t *testing.T) {
		iss := newIssuer(t, td)
		svid, err := iss.IssueX509SVID(checkout)
		require.NoError(t, err)
		assert.Empty(t, svid.Certificates[0].Subject.CommonName)
		assert.Empty(t, svid.Certificates[0].DNSNames)
	})

	iss := newIssuer(t, td, spiffetest.WithDNSNames("checkout.shop.test", "checkout"))
	require.NoError(t, iss.Register(checkout))
	issued, err := iss.IssueX509SVID(checkout)
	require.NoError(t, err)
	served, err := newX509Source(t, iss).GetX509SVID()
	require.NoError(t, err)
	for name, svid := range map[string]*x509svid.SVID{"issued": issued, "served": served} {
		t.Run(name, func(t *testing.T) {
			leaf := svid.Certificates[0]
			// As SPIRE does: the first DNS name is also the common name.
			assert.Equal(t, "checkout.shop.test", leaf.Subject.CommonName)
			assert.Equal(t, []string{"checkout.shop.test", "checkout"}, leaf.DNSNames)
			// Still an X509-SVID: exactly one URI SAN, verified by go-spiffe.
			require.Len(t, leaf.URIs, 1)
			id, _, err := x509svid.Verify(svid.Certificates, iss.X509Bundle())
			require.NoError(t, err)
			assert.Equal(t, checkout, id)
		})
	}
}

func TestIssueX509SVIDValidity(t *testing.T) {
	now := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	iss := newIssuer(t, td, spiffetest.WithClock(func() time.Time { return now }))

	tests := []struct {
		name      string
		opts      []spiffetest.SVIDOption
		notBefore time.Time
		notAfter  time.Time
		verifyAt  time.Time
		verifies  bool
	}{
		{"default window from the injected clock", nil,
			now, now.Add(spiffetest.DefaultX509SVIDTTL), now.Add(time.Minute), true},
		{"expired", []spiffetest.SVIDOption{spiffetest.WithValidity(now.Add(-2*time.Hour), now.Add(-time.Hour))},
			now.Add(-2 * time.Hour), now.Add(-time.Hour), now, false},
		{"not yet valid", []spiffetest.SVIDOption{spiffetest.WithValidity(now.Add(time.Hour), now.Add(2*time.Hour))},
			now.Add(time.Hour), now.Add(2 * time.Hour), now, false},
		{"only notBefore: the lifetime follows it", []spiffetest.SVIDOption{spiffetest.WithValidity(now.Add(time.Hour), time.Time{})},
			now.Add(time.Hour), now.Add(time.Hour + spiffetest.DefaultX509SVIDTTL), now.Add(90 * time.Minute), true},
		{"only notAfter", []spiffetest.SVIDOption{spiffetest.WithValidity(time.Time{}, now.Add(time.Minute))},
			now, now.Add(time.Minute), now, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svid, err := iss.IssueX509SVID(checkout, tt.opts...)
			require.NoError(t, err)
			leaf := svid.Certificates[0]
			assert.True(t, tt.notBefore.Equal(leaf.NotBefore), "NotBefore %s", leaf.NotBefore)
			assert.True(t, tt.notAfter.Equal(leaf.NotAfter), "NotAfter %s", leaf.NotAfter)
			_, _, err = x509svid.Verify(svid.Certificates, iss.X509Bundle(), x509svid.WithTime(tt.verifyAt))
			if tt.verifies {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}

	t.Run("empty window", func(t *testing.T) {
		_, err := iss.IssueX509SVID(checkout, spiffetest.WithValidity(now, now))
		require.ErrorIs(t, err, spiffetest.ErrInvalidConfig)
		_, err = iss.IssueJWTSVID(checkout, []string{"aud"}, spiffetest.WithValidity(now, now.Add(-time.Second)))
		require.ErrorIs(t, err, spiffetest.ErrInvalidConfig)
	})
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

// TestJWTSVIDProfile checks an issued JWT-SVID against the JWT-SVID
// specification and verifies it with go-spiffe against the JWT bundle.
func TestJWTSVIDProfile(t *testing.T) {
	iss := newIssuer(t, td)
	token, err := iss.IssueJWTSVID(checkout, []string{"spiffe://shop.test/payments"})
	require.NoError(t, err)
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3, "JWS compact serialization (§5.1)")

	header := decodeSegment(t, parts[0])
	// §2: only alg, kid and typ; alg ES256; typ JWT.
	assert.Equal(t, "ES256", header["alg"])
	assert.Equal(t, "JWT", header["typ"])
	kid, ok := header["kid"].(string)
	require.True(t, ok)
	assert.Len(t, header, 3, "no other header parameters: %v", header)
	_, found := iss.JWTBundle().FindJWTAuthority(kid)
	assert.True(t, found, "the JWT bundle holds the key under the token's kid")

	claims := decodeSegment(t, parts[1])
	// §3: sub is the SPIFFE ID, aud and exp are set; iat too.
	assert.Equal(t, checkout.String(), claims["sub"])
	assert.Contains(t, []any{"spiffe://shop.test/payments", []any{"spiffe://shop.test/payments"}}, claims["aud"])
	exp, iat := claims["exp"].(float64), claims["iat"].(float64)
	assert.Equal(t, spiffetest.DefaultJWTSVIDTTL.Seconds(), exp-iat)

	svid, err := jwtsvid.ParseAndValidate(token, iss.JWTBundle(), []string{"spiffe://shop.test/payments"})
	require.NoError(t, err)
	assert.Equal(t, checkout, svid.ID)
	assert.Equal(t, []string{"spiffe://shop.test/payments"}, svid.Audience)

	_, err = jwtsvid.ParseAndValidate(token, iss.JWTBundle(), []string{"spiffe://shop.test/other"})
	assert.Error(t, err, "wrong audience")
	other := newIssuer(t, td)
	_, err = jwtsvid.ParseAndValidate(token, other.JWTBundle(), []string{"spiffe://shop.test/payments"})
	assert.Error(t, err, "another issuer's bundle")
}

func TestIssueJWTSVIDValidity(t *testing.T) {
	iss := newIssuer(t, td)
	now := time.Now()
	aud := []string{"checkout"}
	tests := []struct {
		name  string
		opts  []spiffetest.SVIDOption
		valid bool
	}{
		{"default", nil, true},
		{"expired", []spiffetest.SVIDOption{spiffetest.WithValidity(now.Add(-time.Hour), now.Add(-10*time.Minute))}, false},
		{"issued in the future", []spiffetest.SVIDOption{spiffetest.WithValidity(now.Add(time.Hour), now.Add(2*time.Hour))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := iss.IssueJWTSVID(checkout, aud, tt.opts...)
			require.NoError(t, err)
			_, err = jwtsvid.ParseAndValidate(token, iss.JWTBundle(), aud)
			if tt.valid {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestIssueJWTSVIDRequiresAudience(t *testing.T) {
	iss := newIssuer(t, td)
	for _, aud := range [][]string{nil, {}, {""}, {"checkout", ""}} {
		t.Run(fmt.Sprintf("%q", aud), func(t *testing.T) {
			_, err := iss.IssueJWTSVID(checkout, aud)
			require.ErrorIs(t, err, spiffetest.ErrInvalidAudience)
		})
	}
}

func TestBundles(t *testing.T) {
	partner := newIssuer(t, spiffeid.RequireTrustDomainFromString("partner.test"))
	iss := newIssuer(t, td, spiffetest.WithFederatedBundle(partner.Bundle()))

	own := iss.Bundle()
	assert.Equal(t, td, own.TrustDomain())
	assert.True(t, own.X509Bundle().Equal(iss.X509Bundle()))
	assert.True(t, own.JWTBundle().Equal(iss.JWTBundle()))

	set := iss.Bundles()
	assert.Equal(t, 2, set.Len())
	got, ok := set.Get(partner.TrustDomain())
	require.True(t, ok)
	assert.True(t, got.Equal(partner.Bundle()))

	// Copies: changing one does not change the issuer.
	own.SetX509Authorities(nil)
	assert.Len(t, iss.X509Bundle().X509Authorities(), 1)

	tests := []struct {
		name   string
		bundle *spiffebundle.Bundle
	}{
		{"nil", nil},
		{"own trust domain", spiffebundle.New(td)},
		{"zero trust domain", spiffebundle.New(spiffeid.TrustDomain{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, iss.SetFederatedBundle(tt.bundle), spiffetest.ErrInvalidConfig)
		})
	}
}

// TestIssuerNeverPrints locks in that no print or log path reaches the CA keys.
func TestIssuerNeverPrints(t *testing.T) {
	iss := newIssuer(t, td)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		assert.Equal(t, "[REDACTED]", fmt.Sprintf(verb, iss), verb)
	}

	var buf bytes.Buffer
	drop := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: drop})).Info("started", "issuer", iss)
	assert.Equal(t, "level=INFO msg=started issuer=[REDACTED]\n", buf.String())
}

func TestLoggerRecordsRefusalsWithoutSecrets(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	iss := newRegisteredIssuer(t, checkout, spiffetest.WithLogger(logger))
	token, err := iss.IssueJWTSVID(checkout, []string{"a"})
	require.NoError(t, err)
	require.NoError(t, iss.Rotate())

	_, err = validateViaWorkloadAPI(t, iss, token, "b")
	require.Error(t, err)
	out := buf.String()
	assert.Contains(t, out, "rotated X509-SVIDs")
	assert.Contains(t, out, "refused JWT-SVID")
	assert.NotContains(t, out, token)
	assert.NotContains(t, out, strings.Split(token, ".")[2])
}
