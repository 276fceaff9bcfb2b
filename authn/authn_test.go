package authn_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffesource"
	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// TestPrincipalContext: a principal put in a context comes back as the same
// pointer; a context without one, or with a nil one, has none.
func TestPrincipalContext(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		p, ok := authn.PrincipalFromContext(context.Background())
		assert.False(t, ok)
		assert.Nil(t, p)
	})
	t.Run("nil principal", func(t *testing.T) {
		p, ok := authn.PrincipalFromContext(authn.NewContext(context.Background(), nil))
		assert.False(t, ok)
		assert.Nil(t, p)
	})
	t.Run("round trip", func(t *testing.T) {
		want := &authn.Principal{Peer: shoprig.Checkout, Methods: authn.MethodMTLS}
		got, ok := authn.PrincipalFromContext(authn.NewContext(context.Background(), want))
		require.True(t, ok)
		assert.Same(t, want, got)
	})
	t.Run("inner context wins", func(t *testing.T) {
		outer, inner := &authn.Principal{Subject: "outer"}, &authn.Principal{Subject: "inner"}
		ctx := authn.NewContext(authn.NewContext(context.Background(), outer), inner)
		got, ok := authn.PrincipalFromContext(ctx)
		require.True(t, ok)
		assert.Same(t, inner, got)
	})
}

func TestPrincipalHas(t *testing.T) {
	p := &authn.Principal{
		Scopes:  []string{"orders:read", "payments:write"},
		Roles:   []string{"customer"},
		Methods: authn.MethodMTLS | authn.MethodDPoP,
	}
	cases := []struct {
		name string
		got  bool
		want bool
	}{
		{"scope granted", p.HasScope("payments:write"), true},
		{"scope not granted", p.HasScope("payments:refund"), false},
		{"scope prefix is not a scope", p.HasScope("orders"), false},
		{"empty scope", p.HasScope(""), false},
		{"role granted", p.HasRole("customer"), true},
		{"role not granted", p.HasRole("admin"), false},
		{"method mTLS", p.Has(authn.MethodMTLS), true},
		{"method DPoP", p.Has(authn.MethodDPoP), true},
		{"method Bearer", p.Has(authn.MethodBearer), false},
		{"method JWT-SVID", p.Has(authn.MethodJWTSVID), false},
		{"either of two methods", p.Has(authn.MethodBearer | authn.MethodDPoP), true},
		{"zero principal has no scope", (&authn.Principal{}).HasScope("orders:read"), false},
		{"zero principal has no method", (&authn.Principal{}).Has(authn.MethodMTLS), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, tc.got) })
	}
}

// TestPrincipalLogValue is the golden log line of a principal: peer,
// workload, client, scopes, kind, binding and methods, and nothing that
// identifies the customer or the token.
func TestPrincipalLogValue(t *testing.T) {
	const (
		subject    = "customer-42"
		tokenID    = "jti-3f9a1c7e5b"
		thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	)
	p := &authn.Principal{
		Peer: shoprig.Checkout, Workload: shoprig.Storefront,
		Issuer: shoprig.Issuer, Subject: subject, ClientID: "storefront", Audience: []string{shoprig.Audience},
		TokenID: tokenID, Scopes: []string{"orders:read", "payments:write"}, Roles: []string{"customer"},
		ACR: "urn:shop:acr:mfa", AMR: []string{"pwd", "otp"}, AuthTime: shoprig.Now, Expiry: shoprig.Now.Add(5 * time.Minute),
		Binding: authn.BoundToDPoPKey, KeyThumbprint: thumbprint, Kind: authn.UserKind,
		Methods: authn.MethodMTLS | authn.MethodDPoP,
		Actor:   &tokens.Actor{Subject: shoprig.Checkout.String(), Actor: &tokens.Actor{Subject: "admin@example.com"}},
	}
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	logger.Info("authenticated", "principal", p)

	const golden = `{"level":"INFO","msg":"authenticated","principal":{` +
		`"peer":"spiffe://shop.example/checkout","workload":"spiffe://shop.example/storefront",` +
		`"client_id":"storefront","scope":"orders:read payments:write",` +
		`"act":"spiffe://shop.example/checkout [REDACTED]",` +
		`"kind":"user","binding":"dpop","methods":"mtls+dpop"}}` + "\n"
	assert.Equal(t, golden, buf.String())
	for _, secret := range []string{subject, tokenID, thumbprint, "admin@example.com"} {
		assert.NotContains(t, buf.String(), secret)
	}

	t.Run("workload without a token", func(t *testing.T) {
		buf.Reset()
		logger.Info("authenticated", "principal", &authn.Principal{Peer: shoprig.Checkout, Methods: authn.MethodMTLS})
		assert.Equal(t, `{"level":"INFO","msg":"authenticated","principal":{"peer":"spiffe://shop.example/checkout","kind":"workload","binding":"none","methods":"mtls"}}`+"\n", buf.String())
	})
}

func TestStrings(t *testing.T) {
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"no method", authn.Method(0).String(), "none"},
		{"mTLS", authn.MethodMTLS.String(), "mtls"},
		{"JWT-SVID", authn.MethodJWTSVID.String(), "jwt-svid"},
		{"Bearer", authn.MethodBearer.String(), "bearer"},
		{"DPoP", authn.MethodDPoP.String(), "dpop"},
		{"mTLS and DPoP", (authn.MethodDPoP | authn.MethodMTLS).String(), "mtls+dpop"},
		{"all methods", (authn.MethodMTLS | authn.MethodJWTSVID | authn.MethodBearer | authn.MethodDPoP).String(), "mtls+jwt-svid+bearer+dpop"},
		{"unknown bit", authn.Method(1 << 7).String(), "none"},
		{"bound to nothing", authn.NoBinding.String(), "none"},
		{"bound to a DPoP key", authn.BoundToDPoPKey.String(), "dpop"},
		{"bound to a certificate", authn.BoundToCertificate.String(), "mtls"},
		{"workload", authn.WorkloadKind.String(), "workload"},
		{"end user", authn.UserKind.String(), "user"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, tc.got) })
	}
}

// TestNewConfig: New refuses a policy that would admit anyone, or that lacks
// what its checks need.
func TestNewConfig(t *testing.T) {
	rig := shoprig.NewTokens(t)
	rv := rig.RequestVerifier(t, "https://payments.shop.example", nil, nil)
	bundle := x509bundle.New(shoprig.TrustDomain)
	jwtBundle := jwtbundle.New(shoprig.TrustDomain)
	peer := authn.MatchID(shoprig.Checkout)

	refused := []struct {
		name   string
		policy authn.Policy
		opts   []authn.Option
	}{
		{name: "empty policy", policy: authn.Policy{}},
		{name: "empty policy with every option", policy: authn.Policy{},
			opts: []authn.Option{authn.WithX509Bundles(bundle), authn.WithAccessTokens(rv), authn.WithJWTSVIDs(jwtBundle, "spiffe://shop.example/payments")}},
		{name: "peer without bundles", policy: authn.Policy{Peer: peer}},
		{name: "peer with nil bundles", policy: authn.Policy{Peer: peer}, opts: []authn.Option{authn.WithX509Bundles(nil)}},
		{name: "access token without verifier", policy: authn.Policy{Token: authn.AccessToken}},
		{name: "access token with nil verifier", policy: authn.Policy{Token: authn.AccessToken}, opts: []authn.Option{authn.WithAccessTokens(nil)}},
		{name: "DPoP-bound token without verifier", policy: authn.Policy{Token: authn.DPoPBoundToken}},
		{name: "peer and DPoP-bound token without verifier", policy: authn.Policy{Peer: peer, Token: authn.DPoPBoundToken},
			opts: []authn.Option{authn.WithX509Bundles(bundle)}},
		{name: "JWT-SVID without bundles", policy: authn.Policy{Token: authn.JWTSVID}},
		{name: "JWT-SVID with nil bundles", policy: authn.Policy{Token: authn.JWTSVID},
			opts: []authn.Option{authn.WithJWTSVIDs(nil, "spiffe://shop.example/payments")}},
		{name: "JWT-SVID without audience", policy: authn.Policy{Token: authn.JWTSVID}, opts: []authn.Option{authn.WithJWTSVIDs(jwtBundle, "")}},
		{name: "unknown token requirement", policy: authn.Policy{Token: authn.JWTSVID + 1}},
		{name: "unknown token requirement with a peer", policy: authn.Policy{Peer: peer, Token: 200},
			opts: []authn.Option{authn.WithX509Bundles(bundle)}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			a, err := authn.New(tc.policy, tc.opts...)
			assert.ErrorIs(t, err, authn.ErrInvalidConfig)
			assert.Nil(t, a)
		})
	}

	accepted := []struct {
		name   string
		policy authn.Policy
		opts   []authn.Option
	}{
		{name: "peer alone", policy: authn.Policy{Peer: peer}, opts: []authn.Option{authn.WithX509Bundles(bundle)}},
		{name: "access token alone", policy: authn.Policy{Token: authn.AccessToken}, opts: []authn.Option{authn.WithAccessTokens(rv)}},
		{name: "DPoP-bound token alone", policy: authn.Policy{Token: authn.DPoPBoundToken}, opts: []authn.Option{authn.WithAccessTokens(rv)}},
		{name: "JWT-SVID alone", policy: authn.Policy{Token: authn.JWTSVID},
			opts: []authn.Option{authn.WithJWTSVIDs(jwtBundle, "spiffe://shop.example/payments")}},
		{name: "peer and DPoP-bound token", policy: authn.Policy{Peer: peer, Token: authn.DPoPBoundToken},
			opts: []authn.Option{authn.WithX509Bundles(bundle), authn.WithAccessTokens(rv)}},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			a, err := authn.New(tc.policy, tc.opts...)
			require.NoError(t, err)
			require.NotNil(t, a)
			assert.Equal(t, tc.policy.Token, a.Policy().Token)
			assert.Equal(t, tc.policy.Peer == nil, a.Policy().Peer == nil)
		})
	}
}

// errHandshake marks a request refused in the TLS handshake, before any
// handler runs.
var errHandshake = errors.New("refused in the TLS handshake")

// anServerMode is how the TLS layer of a test server treats client certificates.
type anServerMode int

const (
	// anSPIFFETLS: authn.ServerTLSConfig; the TLS layer verifies and authorizes.
	anSPIFFETLS anServerMode = iota
	// anRequestCert: the TLS layer asks for a certificate and verifies nothing.
	anRequestCert
	// anRequireAnyCert: the TLS layer requires a certificate and verifies nothing.
	anRequireAnyCert
)

func (m anServerMode) String() string {
	return [...]string{"ServerTLSConfig", "RequestClientCert", "RequireAnyClientCert"}[m]
}

// anResult is what the test server's Authenticate returned for one request.
type anResult struct {
	p   *authn.Principal
	err error
	tls *tls.ConnectionState
}

// anFixture is the shop's SPIFFE issuer, serving spiffe://shop.example/payments
// to the payments service through the Workload API.
type anFixture struct {
	iss *spiffetest.Issuer
	src *workloadapi.X509Source
}

func anNewFixture(t *testing.T) *anFixture {
	t.Helper()
	iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
	require.NoError(t, iss.Register(shoprig.Payments))
	return &anFixture{iss: iss, src: shoprig.NewX509Source(t, iss)}
}

// serverTLS returns the TLS configuration of a server in mode that presents
// the payments SVID; under anSPIFFETLS, peers authorizes at the TLS layer
// against bundles.
func (f *anFixture) serverTLS(t testing.TB, mode anServerMode, bundles x509bundle.Source, peers authn.IDMatcher) *tls.Config {
	switch mode {
	case anSPIFFETLS:
		return shoprig.ServerTLSConfig(t, f.src, bundles, peers)
	case anRequestCert:
		return &tls.Config{MinVersion: tls.VersionTLS13, ClientAuth: tls.RequestClientCert, GetCertificate: tlsconfig.GetCertificate(f.src)}
	default:
		return &tls.Config{MinVersion: tls.VersionTLS13, ClientAuth: tls.RequireAnyClientCert, GetCertificate: tlsconfig.GetCertificate(f.src)}
	}
}

// serve starts an HTTPS server whose handler authenticates every request with
// the authenticator newAuth builds for the server's URL, and reports each
// result.
func (f *anFixture) serve(t *testing.T, cfg *tls.Config, connState func(net.Conn, http.ConnState), newAuth func(url string) *authn.Authenticator) (*shoprig.Server, <-chan anResult) {
	t.Helper()
	srv := shoprig.NewTLSServer(t, cfg, connState)
	a := newAuth(srv.URL)
	results := make(chan anResult, 256)
	srv.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r.Context(), r)
		results <- anResult{p: p, err: err, tls: r.TLS}
		if err != nil {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	return srv, results
}

// anGet sends GET url with client and returns the result the server reported,
// or errHandshake when the TLS handshake refused the client.
func anGet(t *testing.T, srv *shoprig.Server, results <-chan anResult, client *http.Client, target string) anResult {
	t.Helper()
	ctx := shoprig.Context(t)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	if err != nil {
		// TLS 1.3: the client finishes its side of the handshake before the
		// server checks its certificate, so it learns of the refusal from the
		// server's alert ("remote error: tls: …") or, when it was writing the
		// request as the server hung up, from a broken connection. The server's
		// log says where the request was refused.
		select {
		case line := <-srv.HandshakeErrors:
			assert.Contains(t, line, "TLS handshake error")
		case <-ctx.Done():
			t.Fatal("the server logged no TLS handshake error")
		}
		select {
		case r := <-results:
			t.Fatalf("a refused handshake reached the handler: %+v", r)
		default:
		}
		return anResult{err: errHandshake}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	var got anResult
	select {
	case got = <-results:
	case <-ctx.Done():
		t.Fatal("the handler reported nothing")
	}
	if got.err == nil {
		assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	} else {
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	}
	return got
}

// TestAuthenticatePeerOverTLS sends client certificates over real TLS on
// loopback to payments, which allows only spiffe://shop.example/checkout.
// Each refused certificate is refused where it should be: in the handshake
// when the server uses ServerTLSConfig, and by Authenticate itself, which
// re-verifies the chain, when the TLS layer only asks for a certificate.
func TestAuthenticatePeerOverTLS(t *testing.T) {
	f := anNewFixture(t)
	partner := shoprig.NewIssuer(t, shoprig.PartnerTrustDomain)
	impostor := shoprig.NewIssuer(t, shoprig.TrustDomain) // same trust domain name, another CA
	past := time.Now().Add(-2 * time.Hour)

	type want map[anServerMode]error
	cases := []struct {
		name string
		cert *tls.Certificate
		want want // nil error: accepted
	}{
		{
			name: "checkout's SVID",
			cert: shoprig.Certificate(shoprig.SVID(t, f.iss, shoprig.Checkout)),
			want: want{anSPIFFETLS: nil, anRequestCert: nil, anRequireAnyCert: nil},
		},
		{
			name: "SVID of another trust domain",
			cert: shoprig.Certificate(shoprig.SVID(t, partner, shoprig.Bank)),
			want: want{anSPIFFETLS: errHandshake, anRequestCert: authn.ErrInvalidPeer, anRequireAnyCert: authn.ErrInvalidPeer},
		},
		{
			name: "SVID with the wrong path",
			cert: shoprig.Certificate(shoprig.SVID(t, f.iss, shoprig.Storefront)),
			want: want{anSPIFFETLS: errHandshake, anRequestCert: authn.ErrPeerNotAuthorized, anRequireAnyCert: authn.ErrPeerNotAuthorized},
		},
		{
			name: "expired SVID",
			cert: shoprig.Certificate(shoprig.SVID(t, f.iss, shoprig.Checkout, spiffetest.WithValidity(past, past.Add(time.Hour)))),
			want: want{anSPIFFETLS: errHandshake, anRequestCert: authn.ErrInvalidPeer, anRequireAnyCert: authn.ErrInvalidPeer},
		},
		{
			name: "not yet valid SVID",
			cert: shoprig.Certificate(shoprig.SVID(t, f.iss, shoprig.Checkout, spiffetest.WithValidity(time.Now().Add(time.Hour), time.Now().Add(2*time.Hour)))),
			want: want{anSPIFFETLS: errHandshake, anRequestCert: authn.ErrInvalidPeer, anRequireAnyCert: authn.ErrInvalidPeer},
		},
		{
			name: "no client certificate",
			cert: nil,
			want: want{anSPIFFETLS: errHandshake, anRequestCert: authn.ErrMissingPeer, anRequireAnyCert: errHandshake},
		},
		{
			name: "SVID from another CA of the same trust domain",
			cert: shoprig.Certificate(shoprig.SVID(t, impostor, shoprig.Checkout)),
			want: want{anSPIFFETLS: errHandshake, anRequestCert: authn.ErrInvalidPeer, anRequireAnyCert: authn.ErrInvalidPeer},
		},
		{
			name: "self-signed SVID",
			cert: shoprig.SelfSignedSVID(t, shoprig.Checkout),
			want: want{anSPIFFETLS: errHandshake, anRequestCert: authn.ErrInvalidPeer, anRequireAnyCert: authn.ErrInvalidPeer},
		},
	}
	for _, mode := range []anServerMode{anSPIFFETLS, anRequestCert, anRequireAnyCert} {
		t.Run(mode.String(), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					peers := authn.MatchID(shoprig.Checkout)
					srv, results := f.serve(t, f.serverTLS(t, mode, f.src, peers), nil, func(string) *authn.Authenticator {
						a, err := authn.New(authn.Policy{Peer: peers}, authn.WithX509Bundles(f.src))
						require.NoError(t, err)
						return a
					})
					client := shoprig.HTTPClient(t, shoprig.ClientTLS(tc.cert, f.iss.X509Bundle(), shoprig.Payments))
					got := anGet(t, srv, results, client, srv.URL+"/pay")

					wantErr := tc.want[mode]
					if wantErr != nil {
						assert.ErrorIs(t, got.err, wantErr)
						assert.Nil(t, got.p)
						return
					}
					require.NoError(t, got.err)
					require.NotNil(t, got.p)
					assert.Equal(t, shoprig.Checkout, got.p.Peer)
					assert.Equal(t, authn.MethodMTLS, got.p.Methods)
					assert.Equal(t, authn.WorkloadKind, got.p.Kind)
					assert.Equal(t, authn.NoBinding, got.p.Binding)
					assert.True(t, got.p.Workload.IsZero())
					assert.Empty(t, got.p.Subject)
				})
			}
		})
	}
}

// TestAuthenticatePeerPerConnection: every request of a keep-alive
// connection shares the connection's verified leaf and is accepted; the
// verification is remembered for the connection, and a new connection is
// verified afresh against the bundles of the moment.
func TestAuthenticatePeerPerConnection(t *testing.T) {
	f := anNewFixture(t)
	bundles := &anSwappableBundles{}
	bundles.b.Store(f.iss.X509Bundle())
	var conns atomic.Int32
	connState := func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv, results := f.serve(t, f.serverTLS(t, anRequestCert, nil, nil), connState, func(string) *authn.Authenticator {
		a, err := authn.New(authn.Policy{Peer: authn.MatchID(shoprig.Checkout)}, authn.WithX509Bundles(bundles))
		require.NoError(t, err)
		return a
	})
	cert := shoprig.Certificate(shoprig.SVID(t, f.iss, shoprig.Checkout))
	client := shoprig.HTTPClient(t, shoprig.ClientTLS(cert, f.iss.X509Bundle(), shoprig.Payments))

	const n = 50
	first := anGet(t, srv, results, client, srv.URL+"/pay")
	require.NoError(t, first.err)
	require.NotNil(t, first.tls)
	leaf := first.tls.PeerCertificates[0]
	for i := 1; i < n; i++ {
		got := anGet(t, srv, results, client, srv.URL+"/pay")
		require.NoError(t, got.err, "request %d", i)
		assert.Equal(t, shoprig.Checkout, got.p.Peer)
		assert.Same(t, leaf, got.tls.PeerCertificates[0], "request %d: net/http shares the connection's leaf", i)
	}
	assert.EqualValues(t, 1, conns.Load(), "all requests went over one connection")

	// The trust domain's bundle goes away: the open connection stays
	// verified, a new one is not.
	bundles.b.Store(nil)
	got := anGet(t, srv, results, client, srv.URL+"/pay")
	require.NoError(t, got.err, "the connection verified before keeps its peer")
	fresh := shoprig.HTTPClient(t, shoprig.ClientTLS(cert, f.iss.X509Bundle(), shoprig.Payments))
	got = anGet(t, srv, results, fresh, srv.URL+"/pay")
	assert.ErrorIs(t, got.err, authn.ErrInvalidPeer, "a new connection is verified against the current bundles")
	assert.EqualValues(t, 2, conns.Load())
}

// anSwappableBundles is an X.509 bundle source whose one bundle the test
// replaces or removes.
type anSwappableBundles struct {
	b atomic.Pointer[x509bundle.Bundle]
}

func (s *anSwappableBundles) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	if b := s.b.Load(); b != nil && b.TrustDomain() == td {
		return b, nil
	}
	return nil, errors.New("anSwappableBundles: no bundle for " + td.Name())
}

// TestAuthenticateFederatedPeer: payments trusts its own trust domain and a
// partner's (a spiffebundle.Set) and lets any workload of the partner call.
func TestAuthenticateFederatedPeer(t *testing.T) {
	f := anNewFixture(t)
	partner := shoprig.NewIssuer(t, shoprig.PartnerTrustDomain)
	stranger := shoprig.NewIssuer(t, spiffeid.RequireTrustDomainFromString("stranger.example"))
	set := spiffebundle.NewSet(f.iss.Bundle(), partner.Bundle())
	peers := authn.MatchMemberOf(shoprig.PartnerTrustDomain)

	cases := []struct {
		name string
		cert *tls.Certificate
		want error
		peer spiffeid.ID
	}{
		{"partner's bank", shoprig.Certificate(shoprig.SVID(t, partner, shoprig.Bank)), nil, shoprig.Bank},
		{"a workload of the shop itself", shoprig.Certificate(shoprig.SVID(t, f.iss, shoprig.Checkout)), errHandshake, spiffeid.ID{}},
		{"a trust domain not federated", shoprig.Certificate(shoprig.SVID(t, stranger, spiffeid.RequireFromString("spiffe://stranger.example/bank"))), errHandshake, spiffeid.ID{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, results := f.serve(t, f.serverTLS(t, anSPIFFETLS, set, peers), nil, func(string) *authn.Authenticator {
				a, err := authn.New(authn.Policy{Peer: peers}, authn.WithX509Bundles(set))
				require.NoError(t, err)
				return a
			})
			client := shoprig.HTTPClient(t, shoprig.ClientTLS(tc.cert, f.iss.X509Bundle(), shoprig.Payments))
			got := anGet(t, srv, results, client, srv.URL+"/settle")
			if tc.want != nil {
				assert.ErrorIs(t, got.err, tc.want)
				return
			}
			require.NoError(t, got.err)
			assert.Equal(t, tc.peer, got.p.Peer)
			assert.Equal(t, shoprig.PartnerTrustDomain, got.p.Peer.TrustDomain())
		})
	}
}

// TestServerTLSFederatedFromWorkloadAPI: what ServerTLSConfig's doc says.
// Payments passes its X509Source as both the SVID and the bundle source; the
// Workload API serves the partner's bundle as a federated bundle, so a
// partner workload is verified with no other configuration, and one the
// Workload API stops federating with is refused.
func TestServerTLSFederatedFromWorkloadAPI(t *testing.T) {
	f := anNewFixture(t)
	partner := shoprig.NewIssuer(t, shoprig.PartnerTrustDomain)
	require.NoError(t, f.iss.SetFederatedBundle(partner.Bundle()))
	require.Eventually(t, func() bool {
		_, err := f.src.GetX509BundleForTrustDomain(shoprig.PartnerTrustDomain)
		return err == nil
	}, 10*time.Second, 5*time.Millisecond, "the X509Source carries the federated bundle")
	peers := authn.MatchMemberOf(shoprig.PartnerTrustDomain)
	stranger := shoprig.NewIssuer(t, spiffeid.RequireTrustDomainFromString("stranger.example"))

	cases := []struct {
		name string
		cert *tls.Certificate
		want error
	}{
		{"partner's bank", shoprig.Certificate(shoprig.SVID(t, partner, shoprig.Bank)), nil},
		{"a workload of the shop itself (verifies, not authorized)", shoprig.Certificate(shoprig.SVID(t, f.iss, shoprig.Checkout)), errHandshake},
		{"a trust domain not federated", shoprig.Certificate(shoprig.SVID(t, stranger, spiffeid.RequireFromString("spiffe://stranger.example/bank"))), errHandshake},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, results := f.serve(t, f.serverTLS(t, anSPIFFETLS, f.src, peers), nil, func(string) *authn.Authenticator {
				a, err := authn.New(authn.Policy{Peer: peers}, authn.WithX509Bundles(f.src))
				require.NoError(t, err)
				return a
			})
			client := shoprig.HTTPClient(t, shoprig.ClientTLS(tc.cert, f.iss.X509Bundle(), shoprig.Payments))
			got := anGet(t, srv, results, client, srv.URL+"/settle")
			if tc.want != nil {
				assert.ErrorIs(t, got.err, tc.want)
				return
			}
			require.NoError(t, got.err)
			assert.Equal(t, shoprig.Bank, got.p.Peer)
		})
	}
}

// TestAuthenticateJWTSVID: payments accepts JWT-SVIDs for its own SPIFFE ID as
// audience, verified against the bundles the Workload API serves.
func TestAuthenticateJWTSVID(t *testing.T) {
	const audience = "spiffe://shop.example/payments"
	f := anNewFixture(t)
	partner := shoprig.NewIssuer(t, shoprig.PartnerTrustDomain)
	impostor := shoprig.NewIssuer(t, shoprig.TrustDomain)
	bundles, err := spiffesource.NewBundleSource(shoprig.Context(t), f.iss.Addr(), spiffesource.WithStartTimeout(10*time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, bundles.Close()) })
	a, err := authn.New(authn.Policy{Token: authn.JWTSVID}, authn.WithJWTSVIDs(bundles, audience))
	require.NoError(t, err)

	jwt := func(iss *spiffetest.Issuer, id spiffeid.ID, aud []string, opts ...spiffetest.SVIDOption) string {
		tok, err := iss.IssueJWTSVID(id, aud, opts...)
		require.NoError(t, err)
		return tok
	}
	past := time.Now().Add(-2 * time.Hour)
	bearer := func(tok string) []string { return []string{"Bearer " + tok} }

	cases := []struct {
		name  string
		authz []string
		want  error
		id    spiffeid.ID
	}{
		{name: "valid", authz: bearer(jwt(f.iss, shoprig.Checkout, []string{audience})), id: shoprig.Checkout},
		{name: "valid among several audiences", authz: bearer(jwt(f.iss, shoprig.Storefront, []string{"spiffe://shop.example/orders", audience})), id: shoprig.Storefront},
		{name: "lower-case scheme", authz: []string{"bearer " + jwt(f.iss, shoprig.Checkout, []string{audience})}, id: shoprig.Checkout},
		{name: "wrong audience", authz: bearer(jwt(f.iss, shoprig.Checkout, []string{"spiffe://shop.example/orders"})), want: authn.ErrInvalidJWTSVID},
		{name: "expired", authz: bearer(jwt(f.iss, shoprig.Checkout, []string{audience}, spiffetest.WithValidity(past, past.Add(time.Hour)))), want: authn.ErrInvalidJWTSVID},
		{name: "other trust domain", authz: bearer(jwt(partner, shoprig.Bank, []string{audience})), want: authn.ErrInvalidJWTSVID},
		{name: "another CA of the same trust domain", authz: bearer(jwt(impostor, shoprig.Checkout, []string{audience})), want: authn.ErrInvalidJWTSVID},
		{name: "garbage", authz: bearer("not.a.jwt"), want: authn.ErrInvalidJWTSVID},
		{name: "missing", authz: nil, want: authn.ErrMissingToken},
		{name: "Basic scheme", authz: []string{"Basic Y2hlY2tvdXQ6aHVudGVyMg=="}, want: dpop.ErrInvalidRequest},
		{name: "DPoP scheme", authz: []string{"DPoP " + jwt(f.iss, shoprig.Checkout, []string{audience})}, want: dpop.ErrInvalidRequest},
		{name: "empty credentials", authz: []string{"Bearer "}, want: dpop.ErrInvalidRequest},
		{name: "two Authorization headers", authz: append(bearer(jwt(f.iss, shoprig.Checkout, []string{audience})), "Bearer x.y.z"), want: dpop.ErrInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "https://payments.shop.example/settle", nil)
			r.Header["Authorization"] = tc.authz
			p, err := a.Authenticate(r.Context(), r)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
				assert.Nil(t, p)
				anAssertNoCredentials(t, err, tc.authz)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.id, p.Workload)
			assert.Equal(t, authn.MethodJWTSVID, p.Methods)
			assert.Equal(t, authn.WorkloadKind, p.Kind)
			assert.True(t, p.Peer.IsZero())
		})
	}
}

// TestAuthenticateFederatedJWTSVID: the Workload API serves the partner's
// bundle next to the shop's, so the partner's JWT-SVIDs verify. Whether they
// may call is the policy's Workload authorizer, the same IDMatcher that
// decides on mTLS peers; without one, only the audience's trust domain may.
func TestAuthenticateFederatedJWTSVID(t *testing.T) {
	const audience = "spiffe://shop.example/payments"
	f := anNewFixture(t)
	partner := shoprig.NewIssuer(t, shoprig.PartnerTrustDomain)
	require.NoError(t, f.iss.SetFederatedBundle(partner.Bundle()))
	bundles, err := spiffesource.NewBundleSource(shoprig.Context(t), f.iss.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, bundles.Close()) })
	require.Eventually(t, func() bool {
		_, err := bundles.GetJWTBundleForTrustDomain(shoprig.PartnerTrustDomain)
		return err == nil
	}, 10*time.Second, 5*time.Millisecond, "the partner's JWT bundle is served")

	jwt := func(iss *spiffetest.Issuer, id spiffeid.ID) string {
		tok, err := iss.IssueJWTSVID(id, []string{audience})
		require.NoError(t, err)
		return tok
	}
	shopTD := shoprig.TrustDomain
	policies := map[string]authn.IDMatcher{
		"default (the audience's trust domain)": nil,
		"the shop only":                         authn.MatchMemberOf(shopTD),
		"the shop and the partner":              authn.Or(authn.MatchMemberOf(shopTD), authn.MatchMemberOf(shoprig.PartnerTrustDomain)),
		"the partner's bank only":               authn.MatchID(shoprig.Bank),
		"nobody (a nil in And)":                 authn.And(nil),
	}
	shop, bank := jwt(f.iss, shoprig.Checkout), jwt(partner, shoprig.Bank)
	cases := []struct {
		policy, caller string
		token          string
		id             spiffeid.ID
		want           error
	}{
		{"default (the audience's trust domain)", "shop's checkout", shop, shoprig.Checkout, nil},
		{"default (the audience's trust domain)", "partner's bank", bank, spiffeid.ID{}, authn.ErrPeerNotAuthorized},
		{"the shop only", "shop's checkout", shop, shoprig.Checkout, nil},
		{"the shop only", "partner's bank", bank, spiffeid.ID{}, authn.ErrPeerNotAuthorized},
		{"the shop and the partner", "shop's checkout", shop, shoprig.Checkout, nil},
		{"the shop and the partner", "partner's bank", bank, shoprig.Bank, nil},
		{"the partner's bank only", "partner's bank", bank, shoprig.Bank, nil},
		{"the partner's bank only", "shop's checkout", shop, spiffeid.ID{}, authn.ErrPeerNotAuthorized},
		{"nobody (a nil in And)", "shop's checkout", shop, spiffeid.ID{}, authn.ErrPeerNotAuthorized},
	}
	for _, tc := range cases {
		t.Run(tc.policy+"/"+tc.caller, func(t *testing.T) {
			a, err := authn.New(authn.Policy{Token: authn.JWTSVID, Workload: policies[tc.policy]}, authn.WithJWTSVIDs(bundles, audience))
			require.NoError(t, err)
			r := httptest.NewRequest(http.MethodPost, "https://payments.shop.example/settle", nil)
			r.Header.Set("Authorization", "Bearer "+tc.token)
			p, err := a.Authenticate(r.Context(), r)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
				assert.Nil(t, p)
				anAssertNoCredentials(t, err, []string{"Bearer " + tc.token})
				var re *authn.RefusalError
				if assert.ErrorAs(t, err, &re, "the JWT-SVID verified: the refusal says whose it was") {
					assert.Equal(t, tc.caller == "partner's bank", re.Workload == shoprig.Bank)
					assert.False(t, re.Workload.IsZero())
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.id, p.Workload)
			assert.Equal(t, authn.MethodJWTSVID, p.Methods)
		})
	}

	t.Run("New", func(t *testing.T) {
		_, err := authn.New(authn.Policy{Token: authn.JWTSVID}, authn.WithJWTSVIDs(bundles, "payments"))
		assert.ErrorIs(t, err, authn.ErrInvalidConfig, "an audience that is not a SPIFFE ID needs an explicit Workload authorizer")
		a, err := authn.New(authn.Policy{Token: authn.JWTSVID, Workload: authn.MatchAny()}, authn.WithJWTSVIDs(bundles, "payments"))
		require.NoError(t, err)
		assert.NotNil(t, a)
		_, err = authn.New(authn.Policy{Peer: authn.MatchAny(), Workload: authn.MatchAny()}, authn.WithX509Bundles(f.src))
		assert.ErrorIs(t, err, authn.ErrInvalidConfig, "a Workload authorizer on a policy without JWT-SVIDs")
	})
}

// anAssertNoCredentials checks that err names no credential of authz.
func anAssertNoCredentials(t *testing.T, err error, authz []string) {
	t.Helper()
	for _, v := range authz {
		_, cred, _ := strings.Cut(v, " ")
		for _, part := range append([]string{cred}, strings.Split(cred, ".")...) {
			if len(part) >= 16 {
				assert.NotContains(t, err.Error(), part, "the error leaks a credential")
			}
		}
	}
}

// TestAuthenticateAccessTokens covers the token policies on requests built
// in memory: binding, kind and the refusals Authenticate itself decides.
func TestAuthenticateAccessTokens(t *testing.T) {
	const origin = "https://payments.shop.example"
	const target = origin + "/settle"
	rig := shoprig.NewTokens(t)
	newAuth := func(t *testing.T, req authn.TokenRequirement, ropts ...dpop.RequestOption) *authn.Authenticator {
		a, err := authn.New(authn.Policy{Token: req}, authn.WithAccessTokens(rig.RequestVerifier(t, origin, nil, nil, ropts...)))
		require.NoError(t, err)
		return a
	}
	unbound := func(tr *tokens.TokenRequest) { tr.DPoPKeyThumbprint = "" }
	workload := func(tr *tokens.TokenRequest) { tr.Subject = shoprig.ClientID }

	type request struct{ authz, proof string }
	dpopReq := func(edit func(*tokens.TokenRequest)) func(t *testing.T) request {
		return func(t *testing.T) request {
			tok := rig.Token(t, edit)
			return request{"DPoP " + tok, rig.Proof(t, http.MethodPost, target, tok, "")}
		}
	}
	bearerReq := func(edit func(*tokens.TokenRequest)) func(t *testing.T) request {
		return func(t *testing.T) request { return request{authz: "Bearer " + rig.Token(t, edit)} }
	}

	cases := []struct {
		name    string
		policy  authn.TokenRequirement
		ropts   []dpop.RequestOption
		req     func(t *testing.T) request
		want    error
		binding authn.Binding
		methods authn.Method
		kind    authn.PrincipalKind
		subject string
	}{
		{name: "DPoP-bound customer token", policy: authn.DPoPBoundToken, req: dpopReq(nil),
			binding: authn.BoundToDPoPKey, methods: authn.MethodDPoP, kind: authn.UserKind, subject: shoprig.Subject},
		{name: "DPoP-bound client-credentials token", policy: authn.DPoPBoundToken, req: dpopReq(workload),
			binding: authn.BoundToDPoPKey, methods: authn.MethodDPoP, kind: authn.WorkloadKind, subject: shoprig.ClientID},
		{name: "DPoP-bound token on an access-token route", policy: authn.AccessToken, req: dpopReq(nil),
			binding: authn.BoundToDPoPKey, methods: authn.MethodDPoP, kind: authn.UserKind, subject: shoprig.Subject},
		{name: "Bearer token where Bearer is accepted", policy: authn.AccessToken, ropts: []dpop.RequestOption{dpop.WithBearer()}, req: bearerReq(unbound),
			binding: authn.NoBinding, methods: authn.MethodBearer, kind: authn.UserKind, subject: shoprig.Subject},
		{name: "Bearer client-credentials token", policy: authn.AccessToken, ropts: []dpop.RequestOption{dpop.WithBearer()}, req: bearerReq(func(tr *tokens.TokenRequest) { unbound(tr); workload(tr) }),
			binding: authn.NoBinding, methods: authn.MethodBearer, kind: authn.WorkloadKind, subject: shoprig.ClientID},
		{name: "Bearer token on a DPoP-bound route, though the verifier accepts Bearer", policy: authn.DPoPBoundToken,
			ropts: []dpop.RequestOption{dpop.WithBearer()}, req: bearerReq(unbound), want: authn.ErrDPoPRequired},
		{name: "Bearer token where the verifier refuses Bearer", policy: authn.AccessToken, req: bearerReq(unbound), want: dpop.ErrBearerNotAccepted},
		{name: "no token on an access-token route", policy: authn.AccessToken, req: func(*testing.T) request { return request{} }, want: authn.ErrMissingToken},
		{name: "no token on a DPoP-bound route", policy: authn.DPoPBoundToken, req: func(*testing.T) request { return request{} }, want: authn.ErrMissingToken},
		{name: "proof without token", policy: authn.DPoPBoundToken, req: func(t *testing.T) request {
			return request{proof: rig.Proof(t, http.MethodPost, target, "", "")}
		}, want: authn.ErrMissingToken},
		{name: "DPoP-bound token as Bearer", policy: authn.AccessToken, ropts: []dpop.RequestOption{dpop.WithBearer()}, req: bearerReq(nil), want: dpop.ErrBoundTokenAsBearer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAuth(t, tc.policy, tc.ropts...)
			req := tc.req(t)
			r := httptest.NewRequest(http.MethodPost, target, nil)
			if req.authz != "" {
				r.Header.Set("Authorization", req.authz)
			}
			if req.proof != "" {
				r.Header.Set("DPoP", req.proof)
			}
			p, err := a.Authenticate(r.Context(), r)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
				assert.Nil(t, p)
				// Only the token that verified without its proof names its client.
				var re *authn.RefusalError
				if errors.Is(err, authn.ErrDPoPRequired) {
					require.ErrorAs(t, err, &re)
					assert.Equal(t, shoprig.ClientID, re.ClientID)
					assert.True(t, re.Peer.IsZero())
				} else {
					assert.False(t, errors.As(err, &re), "nothing verified: the cause alone")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.subject, p.Subject)
			assert.Equal(t, shoprig.ClientID, p.ClientID)
			assert.Equal(t, shoprig.Issuer, p.Issuer)
			assert.Equal(t, []string{shoprig.Audience}, p.Audience)
			assert.Equal(t, []string{"orders:read", "payments:write"}, p.Scopes)
			assert.True(t, p.HasScope("payments:write"))
			assert.True(t, p.HasRole("customer"))
			assert.NotEmpty(t, p.TokenID)
			assert.Equal(t, shoprig.Now.Add(tokens.DefaultTokenLifetime), p.Expiry)
			assert.Equal(t, tc.binding, p.Binding)
			assert.Equal(t, tc.methods, p.Methods)
			assert.Equal(t, tc.kind, p.Kind)
			if tc.binding == authn.BoundToDPoPKey {
				assert.Equal(t, rig.Proofer.Thumbprint(), p.KeyThumbprint)
			} else {
				assert.Empty(t, p.KeyThumbprint)
			}
			assert.True(t, p.Peer.IsZero())
		})
	}
}

// TestAuthenticatePeerAndDPoP is the policy of the package documentation:
// "payments accepts calls from workload spiffe://shop.example/checkout
// carrying a DPoP-bound customer token", over real mTLS with the client's
// dpop.Transport.
func TestAuthenticatePeerAndDPoP(t *testing.T) {
	f := anNewFixture(t)
	rig := shoprig.NewTokens(t)
	peers := authn.MatchID(shoprig.Checkout)
	checkout := shoprig.Certificate(shoprig.SVID(t, f.iss, shoprig.Checkout))
	storefront := shoprig.Certificate(shoprig.SVID(t, f.iss, shoprig.Storefront))
	token := rig.Token(t, nil)

	type want map[anServerMode]error
	cases := []struct {
		name  string
		cert  *tls.Certificate
		token string
		want  want
		// refusedPeer is the verified peer an authn refusal names in its
		// *authn.RefusalError; zero when the refusal is not one.
		refusedPeer spiffeid.ID
	}{
		{"checkout with a DPoP-bound token", checkout, token, want{anSPIFFETLS: nil, anRequestCert: nil}, spiffeid.ID{}},
		{"checkout without a token", checkout, "", want{anSPIFFETLS: authn.ErrMissingToken, anRequestCert: authn.ErrMissingToken}, shoprig.Checkout},
		{"a token without a client certificate", nil, token, want{anSPIFFETLS: errHandshake, anRequestCert: authn.ErrMissingPeer}, spiffeid.ID{}},
		{"storefront with a DPoP-bound token", storefront, token, want{anSPIFFETLS: errHandshake, anRequestCert: authn.ErrPeerNotAuthorized}, shoprig.Storefront},
	}
	for _, mode := range []anServerMode{anSPIFFETLS, anRequestCert} {
		t.Run(mode.String(), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					srv, results := f.serve(t, f.serverTLS(t, mode, f.src, peers), nil, func(url string) *authn.Authenticator {
						a, err := authn.New(authn.Policy{Peer: peers, Token: authn.DPoPBoundToken},
							authn.WithX509Bundles(f.src), authn.WithAccessTokens(rig.RequestVerifier(t, url, nil, nil)))
						require.NoError(t, err)
						return a
					})
					client := shoprig.HTTPClient(t, shoprig.ClientTLS(tc.cert, f.iss.X509Bundle(), shoprig.Payments))
					if tc.token != "" {
						client.Transport = rig.Transport(client.Transport, tc.token)
					}
					got := anGet(t, srv, results, client, srv.URL+"/settle")
					if w := tc.want[mode]; w != nil {
						assert.ErrorIs(t, got.err, w)
						assert.Nil(t, got.p)
						if w == errHandshake {
							return
						}
						var re *authn.RefusalError
						if tc.refusedPeer.IsZero() {
							assert.False(t, errors.As(got.err, &re), "nothing verified: the cause alone")
							return
						}
						require.ErrorAs(t, got.err, &re)
						assert.Equal(t, tc.refusedPeer, re.Peer)
						assert.Empty(t, re.ClientID)
						assert.Equal(t, re.Err.Error(), got.err.Error(), "the message is the cause's")
						return
					}
					require.NoError(t, got.err)
					p := got.p
					assert.Equal(t, shoprig.Checkout, p.Peer)
					assert.Equal(t, shoprig.Subject, p.Subject)
					assert.Equal(t, authn.UserKind, p.Kind)
					assert.Equal(t, authn.BoundToDPoPKey, p.Binding)
					assert.Equal(t, rig.Proofer.Thumbprint(), p.KeyThumbprint)
					assert.Equal(t, authn.MethodMTLS|authn.MethodDPoP, p.Methods)
					assert.Equal(t, "mtls+dpop", p.Methods.String())
				})
			}
		})
	}
}

// TestAuthenticateCertificateBoundToken: a token bound to the client's
// certificate (cnf.x5t#S256, RFC 8705 §3) is accepted as Bearer over the
// connection that presents that certificate, and from no other.
func TestAuthenticateCertificateBoundToken(t *testing.T) {
	f := anNewFixture(t)
	rig := shoprig.NewTokens(t)
	peers := authn.MatchMemberOf(shoprig.TrustDomain)
	checkout := shoprig.Certificate(shoprig.SVID(t, f.iss, shoprig.Checkout))
	storefront := shoprig.Certificate(shoprig.SVID(t, f.iss, shoprig.Storefront))
	sum := sha256.Sum256(checkout.Certificate[0])
	token := rig.Token(t, func(tr *tokens.TokenRequest) {
		tr.DPoPKeyThumbprint, tr.CertThumbprint, tr.Subject = "", shoprig.B64(sum[:]), shoprig.ClientID
	})

	cases := []struct {
		name string
		cert *tls.Certificate
		want error
	}{
		{"the certificate the token is bound to", checkout, nil},
		{"another certificate of the trust domain", storefront, dpop.ErrBindingMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, results := f.serve(t, f.serverTLS(t, anSPIFFETLS, f.src, peers), nil, func(url string) *authn.Authenticator {
				a, err := authn.New(authn.Policy{Peer: peers, Token: authn.AccessToken},
					authn.WithX509Bundles(f.src), authn.WithAccessTokens(rig.RequestVerifier(t, url, nil, nil)))
				require.NoError(t, err)
				return a
			})
			client := shoprig.HTTPClient(t, shoprig.ClientTLS(tc.cert, f.iss.X509Bundle(), shoprig.Payments))
			client.Transport = anBearer{base: client.Transport, token: token}
			got := anGet(t, srv, results, client, srv.URL+"/settle")
			if tc.want != nil {
				assert.ErrorIs(t, got.err, tc.want)
				return
			}
			require.NoError(t, got.err)
			assert.Equal(t, shoprig.Checkout, got.p.Peer)
			assert.Equal(t, authn.BoundToCertificate, got.p.Binding)
			assert.Equal(t, authn.MethodMTLS|authn.MethodBearer, got.p.Methods)
			assert.Equal(t, authn.WorkloadKind, got.p.Kind)
			assert.Empty(t, got.p.KeyThumbprint)
		})
	}
}

// anBearer sends token as Bearer.
type anBearer struct {
	base  http.RoundTripper
	token string
}

func (b anBearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// TestNewSources: a service that cannot get its identity fails to start
// within a bounded wait, with an error naming the socket and the wait.
func TestNewSources(t *testing.T) {
	type source interface{ Close() error }
	newX509 := func(ctx context.Context, addr string, d time.Duration) (source, error) {
		s, err := spiffesource.NewX509Source(ctx, addr, spiffesource.WithStartTimeout(d))
		if s == nil {
			return nil, err
		}
		return s, err
	}
	newBundles := func(ctx context.Context, addr string, d time.Duration) (source, error) {
		s, err := spiffesource.NewBundleSource(ctx, addr, spiffesource.WithStartTimeout(d))
		if s == nil {
			return nil, err
		}
		return s, err
	}
	for _, ctor := range []struct {
		name string
		new  func(context.Context, string, time.Duration) (source, error)
	}{{"NewX509Source", newX509}, {"NewBundleSource", newBundles}} {
		t.Run(ctor.name, func(t *testing.T) {
			t.Run("no address and no SPIFFE_ENDPOINT_SOCKET", func(t *testing.T) {
				t.Setenv(workloadapi.SocketEnv, "")
				start := time.Now()
				s, err := ctor.new(shoprig.Context(t), "", 10*time.Second)
				require.ErrorIs(t, err, spiffesource.ErrNoAddress)
				assert.ErrorIs(t, err, authn.ErrInvalidConfig)
				assert.Contains(t, err.Error(), workloadapi.SocketEnv)
				assert.Nil(t, s)
				// Refused before any wait: there is nothing to wait for.
				assert.Less(t, time.Since(start), 5*time.Second)
			})
			t.Run("malformed address", func(t *testing.T) {
				for _, addr := range []string{"/run/agent.sock", "http://agent", "tcp://agent:8081", "unix://"} {
					s, err := ctor.new(shoprig.Context(t), addr, 10*time.Second)
					require.ErrorIs(t, err, authn.ErrInvalidConfig, addr)
					assert.NotErrorIs(t, err, spiffesource.ErrNoAddress, addr)
					assert.Nil(t, s)
				}
			})
			t.Run("empty address uses SPIFFE_ENDPOINT_SOCKET", func(t *testing.T) {
				iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
				require.NoError(t, iss.Register(shoprig.Payments))
				t.Setenv(workloadapi.SocketEnv, iss.Addr())
				s, err := ctor.new(shoprig.Context(t), "", 10*time.Second)
				require.NoError(t, err)
				require.NotNil(t, s)
				assert.NoError(t, s.Close())
			})
			t.Run("an address given wins over SPIFFE_ENDPOINT_SOCKET", func(t *testing.T) {
				iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
				require.NoError(t, iss.Register(shoprig.Payments))
				t.Setenv(workloadapi.SocketEnv, "unix://"+filepath.Join(t.TempDir(), "nobody.sock"))
				s, err := ctor.new(shoprig.Context(t), iss.Addr(), 10*time.Second)
				require.NoError(t, err)
				require.NotNil(t, s)
				assert.NoError(t, s.Close())
			})
			t.Run("nothing listens", func(t *testing.T) {
				// A bounded wait, not a performance assertion: the call
				// must give up rather than hang.
				addr := "unix://" + filepath.Join(t.TempDir(), "agent.sock")
				s, err := ctor.new(shoprig.Context(t), addr, 300*time.Millisecond)
				require.ErrorIs(t, err, authn.ErrSourceUnavailable)
				assert.Nil(t, s)
				assert.Contains(t, err.Error(), addr)
				assert.Contains(t, err.Error(), "300ms")
			})
			t.Run("issuer serves", func(t *testing.T) {
				iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
				require.NoError(t, iss.Register(shoprig.Payments))
				for _, d := range []time.Duration{10 * time.Second, 0} {
					s, err := ctor.new(shoprig.Context(t), iss.Addr(), d)
					require.NoError(t, err, "timeout %s", d)
					require.NotNil(t, s)
					assert.NoError(t, s.Close())
				}
			})
		})
	}
	t.Run("the X.509 source carries the registered SVID", func(t *testing.T) {
		iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
		require.NoError(t, iss.Register(shoprig.Payments))
		src, err := spiffesource.NewX509Source(shoprig.Context(t), iss.Addr(), spiffesource.WithStartTimeout(10*time.Second))
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, src.Close()) })
		svid, err := src.GetX509SVID()
		require.NoError(t, err)
		assert.Equal(t, shoprig.Payments, svid.ID)
	})
}

// TestAuthenticateInbound: a request described without net/http (a gRPC
// call) is authenticated as its *http.Request would be: the peer from
// PeerCertificates, refusals with the same errors.
func TestAuthenticateInbound(t *testing.T) {
	iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
	a, err := authn.New(authn.Policy{Peer: authn.MatchID(shoprig.Checkout)}, authn.WithX509Bundles(iss.X509Bundle()))
	require.NoError(t, err)
	call := func(svid []*x509.Certificate) *inbound.Request {
		return &inbound.Request{Method: http.MethodPost, Path: "/shop.payments.v1.Payments/Charge", PeerCertificates: svid}
	}

	p, err := a.AuthenticateInbound(context.Background(), call(shoprig.SVID(t, iss, shoprig.Checkout).Certificates))
	require.NoError(t, err)
	assert.Equal(t, shoprig.Checkout, p.Peer)
	assert.True(t, p.Has(authn.MethodMTLS))

	_, err = a.AuthenticateInbound(context.Background(), call(nil))
	assert.ErrorIs(t, err, authn.ErrMissingPeer)

	_, err = a.AuthenticateInbound(context.Background(), call(shoprig.SVID(t, iss, shoprig.Storefront).Certificates))
	assert.ErrorIs(t, err, authn.ErrPeerNotAuthorized)
	var re *authn.RefusalError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, shoprig.Storefront, re.Peer)

	_, err = a.AuthenticateInbound(context.Background(), nil)
	assert.ErrorIs(t, err, dpop.ErrInvalidRequest)
	var nilAuth *authn.Authenticator
	_, err = nilAuth.AuthenticateInbound(context.Background(), call(nil))
	assert.ErrorIs(t, err, authn.ErrInvalidConfig)
}
