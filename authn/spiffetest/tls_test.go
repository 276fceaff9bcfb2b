package spiffetest_test

import (
	"bufio"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn/spiffetest"
)

type handshake struct {
	peer spiffeid.ID
	err  error
}

// serveMTLS accepts one connection on a loopback TCP listener, completes the
// TLS handshake with cfg, writes the client's SPIFFE ID back and reports it.
func serveMTLS(t *testing.T, cfg *tls.Config) (string, <-chan handshake) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = lis.Close() })
	ctx := testContext(t)
	done := make(chan handshake, 1)
	go func() {
		conn, err := lis.Accept()
		if err != nil {
			done <- handshake{err: err}
			return
		}
		defer conn.Close()
		tc := tls.Server(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			done <- handshake{err: err}
			return
		}
		id, err := x509svid.IDFromCert(tc.ConnectionState().PeerCertificates[0])
		if err == nil {
			_, err = tc.Write([]byte(id.String() + "\n"))
		}
		done <- handshake{peer: id, err: err}
	}()
	return lis.Addr().String(), done
}

// dialMTLS connects with cfg and reads the line the server writes back.
func dialMTLS(addr string, cfg *tls.Config) (string, error) {
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	// TLS 1.3 reports a refused client certificate on the first read.
	return bufio.NewReader(conn).ReadString('\n')
}

// TestMTLSBetweenWorkloads: the server takes its identity from the Workload
// API (an X509Source), the client is a second workload whose SVID comes from
// IssueX509SVID; go-spiffe's tlsconfig authenticates both ends.
func TestMTLSBetweenWorkloads(t *testing.T) {
	iss := newRegisteredIssuer(t, checkout)
	server := newX509Source(t, iss)
	impostorCA := newIssuer(t, td) // same trust domain name, different CA
	attacker := spiffeid.RequireFromPath(td, "/attacker")
	past := time.Now().Add(-time.Hour)

	svid := func(i *spiffetest.Issuer, id spiffeid.ID, opts ...spiffetest.SVIDOption) *x509svid.SVID {
		s, err := i.IssueX509SVID(id, opts...)
		require.NoError(t, err)
		return s
	}
	tests := []struct {
		name         string
		client       *x509svid.SVID
		clientWants  spiffeid.ID // the server ID the client accepts
		serverAllows spiffeid.ID // the client ID the server accepts
		ok           bool
	}{
		{"authorized both ways", svid(iss, storefront), checkout, storefront, true},
		{"client refuses an unexpected server", svid(iss, storefront), spiffeid.RequireFromPath(td, "/payments"), storefront, false},
		{"server refuses an unauthorized client", svid(iss, attacker), checkout, storefront, false},
		{"server refuses an expired client SVID", svid(iss, storefront, spiffetest.WithValidity(past, past.Add(time.Minute))), checkout, storefront, false},
		{"server refuses an SVID from another CA", svid(impostorCA, storefront), checkout, storefront, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, done := serveMTLS(t, tlsconfig.MTLSServerConfig(server, server, tlsconfig.AuthorizeID(tt.serverAllows)))
			line, err := dialMTLS(addr, tlsconfig.MTLSClientConfig(tt.client, iss.X509Bundle(), tlsconfig.AuthorizeID(tt.clientWants)))
			got := <-done
			if !tt.ok {
				assert.Error(t, err, "client")
				assert.Error(t, got.err, "server")
				return
			}
			require.NoError(t, err)
			require.NoError(t, got.err)
			assert.Equal(t, storefront, got.peer)
			assert.Equal(t, storefront.String()+"\n", line)
		})
	}
}

// TestMTLSAcrossFederatedTrustDomains: two issuers federate with each other;
// each workload gets the other's bundle from its own Workload API.
func TestMTLSAcrossFederatedTrustDomains(t *testing.T) {
	bank := spiffeid.RequireFromString("spiffe://partner.test/bank")
	shop := newRegisteredIssuer(t, checkout)
	partner := newRegisteredIssuer(t, bank)
	require.NoError(t, shop.SetFederatedBundle(partner.Bundle()))
	require.NoError(t, partner.SetFederatedBundle(shop.Bundle()))
	shopSrc, partnerSrc := newX509Source(t, shop), newX509Source(t, partner)

	addr, done := serveMTLS(t, tlsconfig.MTLSServerConfig(shopSrc, shopSrc, tlsconfig.AuthorizeMemberOf(partner.TrustDomain())))
	line, err := dialMTLS(addr, tlsconfig.MTLSClientConfig(partnerSrc, partnerSrc, tlsconfig.AuthorizeID(checkout)))
	require.NoError(t, err)
	got := <-done
	require.NoError(t, got.err)
	assert.Equal(t, bank, got.peer)
	assert.Equal(t, bank.String()+"\n", line)
}
