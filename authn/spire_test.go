package authn_test

// Integration tests against a real SPIRE server and agent, started by scripts/test:
// the SVIDs come from the agent's Workload API socket through go-spiffe's workloadapi,
// exactly as a production service gets them.

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/testenv"
)

const (
	// spireAudience is the audience the JWT-SVID tests ask the agent for.
	spireAudience = "ztkit-test"

	// spireStartTimeout bounds each wait for a first answer from the agent. scripts/test
	// starts the tests only once the agent serves an SVID, so it is a safety bound.
	spireStartTimeout = 30 * time.Second

	// spireRotationTimeout bounds the wait for the agent to rotate the X.509-SVID.
	// scripts/test gives SVIDs a 1-minute lifetime and the agent renews at about half of
	// it (±10%), so a rotation comes within about 35 s.
	spireRotationTimeout = 90 * time.Second
)

// spireEnv is what scripts/test tells the tests about the SPIRE agent it started.
type spireEnv struct {
	endpoint string
	td       spiffeid.TrustDomain
	id       spiffeid.ID
}

// requireSPIRE reads the SPIRE variables, skipping the test (failing it under CI=true)
// when they are missing.
func requireSPIRE(tb testing.TB) spireEnv {
	tb.Helper()
	endpoint := testenv.Require(tb, testenv.SPIFFEEndpointVar)
	td, err := spiffeid.TrustDomainFromString(testenv.Require(tb, testenv.SPIFFETrustDomainVar))
	require.NoError(tb, err, testenv.SPIFFETrustDomainVar)
	id, err := spiffeid.FromString(testenv.Require(tb, testenv.SPIFFEIDVar))
	require.NoError(tb, err, testenv.SPIFFEIDVar)
	require.True(tb, id.MemberOf(td), "%s %s is not in trust domain %s", testenv.SPIFFEIDVar, id, td)
	return spireEnv{endpoint: endpoint, td: td, id: id}
}

// newSPIRESource returns an X509Source on the agent's Workload API that holds its first
// X.509-SVID. It is closed when the test ends.
func newSPIRESource(tb testing.TB, env spireEnv) *workloadapi.X509Source {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), spireStartTimeout)
	defer cancel()
	src, err := workloadapi.NewX509Source(ctx, workloadapi.WithClientOptions(workloadapi.WithAddr(env.endpoint)))
	require.NoError(tb, err, "no X.509-SVID from the SPIRE agent at %s", env.endpoint)
	tb.Cleanup(func() { assert.NoError(tb, src.Close()) })
	return src
}

// spirePeer is what the test server saw of its client.
type spirePeer struct {
	ID     string `json:"id"`
	Serial string `json:"serial"`
}

// startSPIREServer serves HTTPS on a loopback TCP port with mTLS from src, accepting
// only clients with the SPIFFE ID peer, and answers each request with the client's ID
// and certificate serial. It returns the server's URL and stops when the test ends.
func startSPIREServer(tb testing.TB, src *workloadapi.X509Source, peer spiffeid.ID) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
				http.Error(w, "no client certificate", http.StatusUnauthorized)
				return
			}
			leaf := r.TLS.PeerCertificates[0]
			id, err := x509svid.IDFromCert(leaf)
			if err != nil {
				http.Error(w, "client certificate is not an X.509-SVID", http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(spirePeer{ID: id.String(), Serial: leaf.SerialNumber.String()})
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	// The TLS listener, not httptest's StartTLS: that one adds its own certificate, which
	// crypto/tls prefers to GetCertificate for clients sending no SNI (an IP address).
	tlsLn := tls.NewListener(ln, tlsconfig.MTLSServerConfig(src, src, tlsconfig.AuthorizeID(peer)))
	go func() { _ = srv.Serve(tlsLn) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return "https://" + ln.Addr().String() + "/"
}

// newSPIREClient returns an HTTPS client with mTLS from src that accepts only servers
// with the SPIFFE ID server. Each request makes a new connection, so a new handshake
// with the SVIDs current at that moment.
func newSPIREClient(tb testing.TB, src *workloadapi.X509Source, server spiffeid.ID) *http.Client {
	tb.Helper()
	tr := &http.Transport{
		TLSClientConfig:   tlsconfig.MTLSClientConfig(src, src, tlsconfig.AuthorizeID(server)),
		DisableKeepAlives: true,
	}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// getPeer makes one request and returns what the server saw of the client.
func getPeer(tb testing.TB, c *http.Client, url string) spirePeer {
	tb.Helper()
	resp, err := c.Get(url)
	require.NoError(tb, err)
	defer resp.Body.Close()
	require.Equal(tb, http.StatusOK, resp.StatusCode)
	var p spirePeer
	require.NoError(tb, json.NewDecoder(resp.Body).Decode(&p))
	return p
}

func TestSPIREX509SVID(t *testing.T) {
	t.Parallel()
	env := requireSPIRE(t)
	src := newSPIRESource(t, env)

	svid, err := src.GetX509SVID()
	require.NoError(t, err)
	assert.Equal(t, env.id, svid.ID)
	require.NotEmpty(t, svid.Certificates)
	assert.NotNil(t, svid.PrivateKey)

	bundle, err := src.GetX509BundleForTrustDomain(env.td)
	require.NoError(t, err)
	assert.NotEmpty(t, bundle.X509Authorities(), "SPIRE's X.509 bundle has no CA")

	id, chains, err := x509svid.Verify(svid.Certificates, src)
	require.NoError(t, err, "the SVID's chain does not verify against the agent's bundle")
	assert.Equal(t, env.id, id)
	assert.NotEmpty(t, chains)
}

func TestSPIREMTLS(t *testing.T) {
	t.Parallel()
	env := requireSPIRE(t)
	src := newSPIRESource(t, env)
	other, err := spiffeid.FromSegments(env.td, "someone-else")
	require.NoError(t, err)

	tests := []struct {
		name         string
		serverAllows spiffeid.ID // the client ID the server accepts
		clientAllows spiffeid.ID // the server ID the client accepts
		wantErr      string      // empty: the request succeeds
	}{
		{name: "both authorize the workload", serverAllows: env.id, clientAllows: env.id},
		{name: "client refuses another server ID", serverAllows: env.id, clientAllows: other, wantErr: "unexpected ID"},
		// The server refuses the client's certificate with a TLS alert.
		{name: "server refuses another client ID", serverAllows: other, clientAllows: env.id, wantErr: "remote error: tls"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := startSPIREServer(t, src, tc.serverAllows)
			client := newSPIREClient(t, src, tc.clientAllows)
			if tc.wantErr != "" {
				resp, err := client.Get(url)
				if err == nil {
					resp.Body.Close()
				}
				require.Error(t, err)
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			before, err := src.GetX509SVID()
			require.NoError(t, err)
			p := getPeer(t, client, url)
			after, err := src.GetX509SVID()
			require.NoError(t, err)
			assert.Equal(t, env.id.String(), p.ID)
			// The client presented its current SVID (the agent may rotate it meanwhile).
			assert.Contains(t, []string{
				before.Certificates[0].SerialNumber.String(),
				after.Certificates[0].SerialNumber.String(),
			}, p.Serial)
		})
	}
}

func TestSPIREJWTSVID(t *testing.T) {
	t.Parallel()
	env := requireSPIRE(t)
	ctx, cancel := context.WithTimeout(t.Context(), spireStartTimeout)
	defer cancel()

	svid, err := workloadapi.FetchJWTSVID(ctx, jwtsvid.Params{Audience: spireAudience}, workloadapi.WithAddr(env.endpoint))
	require.NoError(t, err)
	assert.Equal(t, env.id, svid.ID)
	assert.Equal(t, []string{spireAudience}, svid.Audience)
	bundles, err := workloadapi.FetchJWTBundles(ctx, workloadapi.WithAddr(env.endpoint))
	require.NoError(t, err)

	token := svid.Marshal()
	// The same token with one bit of its signature flipped (RFC 7515 section 7.1:
	// header.payload.signature, each base64url without padding).
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	sig[len(sig)/2] ^= 0x01
	tampered := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)

	tests := []struct {
		name     string
		token    string
		bundles  jwtbundle.Source
		audience []string
		wantErr  string // empty: valid
	}{
		{name: "requested audience", token: token, bundles: bundles, audience: []string{spireAudience}},
		{name: "among accepted audiences", token: token, bundles: bundles, audience: []string{"other", spireAudience}},
		{name: "other audience", token: token, bundles: bundles, audience: []string{"ztkit-other"}, wantErr: "expected audience"},
		{name: "tampered signature", token: tampered, bundles: bundles, audience: []string{spireAudience}, wantErr: "unable to get claims"},
		{name: "no bundle for the trust domain", token: token, bundles: jwtbundle.NewSet(), audience: []string{spireAudience}, wantErr: "no bundle found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jwtsvid.ParseAndValidate(tc.token, tc.bundles, tc.audience)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, env.id, got.ID)
			assert.True(t, got.Expiry.After(time.Now()), "JWT-SVID already expired at %s", got.Expiry)
		})
	}
}

func TestSPIREX509SVIDRotation(t *testing.T) {
	t.Parallel()
	env := requireSPIRE(t)
	src := newSPIRESource(t, env)
	url := startSPIREServer(t, src, env.id)
	client := newSPIREClient(t, src, env.id)

	first, err := src.GetX509SVID()
	require.NoError(t, err)
	leaf := first.Certificates[0]
	if lifetime := leaf.NotAfter.Sub(leaf.NotBefore); lifetime > 3*time.Minute {
		t.Fatalf("X.509-SVID lifetime %s: scripts/test sets default_x509_svid_ttl short so rotation comes within %s", lifetime, spireRotationTimeout)
	}
	firstSerial := leaf.SerialNumber
	assert.Equal(t, firstSerial.String(), getPeer(t, client, url).Serial)

	ctx, cancel := context.WithTimeout(t.Context(), spireRotationTimeout)
	defer cancel()
	var rotated *big.Int
	requests := 1
	for rotated == nil {
		select {
		case <-src.Updated():
		case <-ctx.Done():
			t.Fatalf("the agent rotated no X.509-SVID within %s (serial %s, not after %s): %v",
				spireRotationTimeout, firstSerial, leaf.NotAfter.Format(time.RFC3339), context.Cause(ctx))
		}
		svid, err := src.GetX509SVID()
		require.NoError(t, err)
		// Requests keep succeeding at every update, before and after the rotation.
		p := getPeer(t, client, url)
		requests++
		assert.Equal(t, env.id.String(), p.ID)
		if s := svid.Certificates[0].SerialNumber; s.Cmp(firstSerial) != 0 {
			rotated = s
			assert.Equal(t, env.id, svid.ID)
			_, _, err := x509svid.Verify(svid.Certificates, src)
			assert.NoError(t, err, "the rotated SVID's chain does not verify")
		}
	}

	// New handshakes present the new SVID, on both sides.
	p := getPeer(t, client, url)
	assert.Equal(t, env.id.String(), p.ID)
	assert.NotEqual(t, firstSerial.String(), p.Serial, "the client still presents the SVID from before the rotation")
	t.Logf("X.509-SVID rotated from serial %s to %s; %d requests succeeded", firstSerial, rotated, requests+1)
}
