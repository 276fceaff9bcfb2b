package baotest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/baotest"
)

// The shared server's TLS listener takes client certificates: a test's own cert auth
// method logs in a client presenting a certificate with a SPIFFE ID, as an X.509-SVID
// would. OpenBao 2.4.0 names the identity alias after the certificate's subject CN and
// refuses a certificate with none (500, "missing name in alias"): an X.509-SVID with
// only its URI SAN (spiffetest's; SPIRE's unless the entry has a DNS name, which SPIRE
// copies into the CN) cannot log in by cert until it carries a CN.
func TestCertAuthWithSPIFFEID(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	admin := baotest.Admin(t)
	mount := baotest.EnableAuth(t, admin, "cert")

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	id, err := url.Parse("spiffe://ztkit.test/workload")
	require.NoError(t, err)
	issue := func(cn string) tls.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			URIs:        []*url.URL{id},
		}, ca, key.Public(), caKey)
		require.NoError(t, err)
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}

	_, err = admin.Logical().WriteWithContext(ctx, "auth/"+mount+"/certs/workload", map[string]any{
		"certificate":      string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})),
		"allowed_uri_sans": "spiffe://ztkit.test/*",
		"token_ttl":        "1m",
	})
	require.NoError(t, err)

	login := func(cert tls.Certificate) (*api.Secret, error) {
		cfg := baotest.Config(t)
		cfg.HttpClient.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{cert}
		cfg.MaxRetries = 0
		c, err := api.NewClient(cfg)
		require.NoError(t, err)
		c.ClearToken()
		return c.Logical().WriteWithContext(ctx, "auth/"+mount+"/login", map[string]any{"name": "workload"})
	}

	secret, err := login(issue("workload.ztkit.test"))
	require.NoError(t, err)
	require.NotNil(t, secret.Auth)
	assert.True(t, secret.Auth.Renewable)
	assert.Equal(t, 60, secret.Auth.LeaseDuration)
	assert.Equal(t, "workload", secret.Auth.Metadata["cert_name"])

	_, err = login(issue(""))
	var re *api.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusInternalServerError, re.StatusCode)
	assert.Contains(t, re.Errors, "missing name in alias")
}
