// Package shoprig builds the parties of ztkit's authentication tests, all in
// process: an authorization server that issues access tokens, a customer's
// client with its DPoP key, and SPIFFE issuers (package spiffetest) whose
// workloads call each other over mutual TLS on loopback.
//
// Token, proof, replay-store and nonce clocks are stuck at [Now], so nothing
// depends on the wall clock except X.509 validity, which go-spiffe checks
// against time.Now. Helpers take a testing.TB and clean up after themselves.
//
// This package is for tests only.
package shoprig

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// The authorization server, the resource server it issues for, and the
// customer and client every default token names.
const (
	Issuer   = "https://id.shop.example"
	Audience = "https://payments.shop.example"
	Subject  = "customer-42"
	ClientID = "storefront"
)

// Now is the instant every token, proof, replay-store and nonce clock is stuck at.
var Now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// The shop's trust domain and workloads, and a partner's.
var (
	TrustDomain        = spiffeid.RequireTrustDomainFromString("shop.example")
	Payments           = spiffeid.RequireFromPath(TrustDomain, "/payments")
	Checkout           = spiffeid.RequireFromPath(TrustDomain, "/checkout")
	Storefront         = spiffeid.RequireFromPath(TrustDomain, "/storefront")
	PartnerTrustDomain = spiffeid.RequireTrustDomainFromString("partner.example")
	Bank               = spiffeid.RequireFromPath(PartnerTrustDomain, "/bank")
)

// Clock returns a clock stuck at t.
func Clock(t time.Time) func() time.Time { return func() time.Time { return t } }

// Context returns the test's context bounded to a minute, so that a bug shows
// as a failure rather than a hung test binary. Nothing asserts on the time.
func Context(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

// B64 is base64url without padding.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// ECKey returns a fresh P-256 key.
func ECKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err)
	return k
}

// Tokens is an authorization server (key set and issuer), a resource server's
// token verifier, and a customer's client with its DPoP key, all on the clock [Now].
type Tokens struct {
	// Keys is the authorization server's key set; SigningKey its current
	// private key, whose kid is KeyID.
	Keys       *tokens.KeySet
	SigningKey *ecdsa.PrivateKey
	KeyID      string
	// Issuer issues tokens for [Audience] as [Issuer] at [Now].
	Issuer *tokens.Issuer
	// Verifier verifies tokens from [Issuer] for [Audience] at [Now].
	Verifier *tokens.Verifier
	// ClientKey is the client's DPoP key and Proofer makes its proofs at [Now].
	ClientKey *ecdsa.PrivateKey
	Proofer   *dpop.Proofer
}

// NewTokens returns a fresh authorization server and client.
func NewTokens(tb testing.TB) *Tokens {
	tb.Helper()
	asKey := ECKey(tb)
	sk, err := tokens.NewSigningKey(asKey, "")
	require.NoError(tb, err)
	ks, err := tokens.NewKeySet(sk, tokens.WithClock(Clock(Now)))
	require.NoError(tb, err)
	iss, err := tokens.NewIssuer(Issuer, ks, tokens.WithClock(Clock(Now)))
	require.NoError(tb, err)
	tv, err := tokens.NewVerifier(ks, Issuer, []string{Audience}, tokens.WithClock(Clock(Now)))
	require.NoError(tb, err)
	clientKey := ECKey(tb)
	return &Tokens{
		Keys: ks, SigningKey: asKey, KeyID: sk.KeyID(), Issuer: iss, Verifier: tv,
		ClientKey: clientKey, Proofer: NewProofer(tb, clientKey, Now),
	}
}

// NewProofer returns a proofer for key whose clock is stuck at now.
func NewProofer(tb testing.TB, key *ecdsa.PrivateKey, now time.Time) *dpop.Proofer {
	tb.Helper()
	p, err := dpop.NewProofer(key, "", dpop.WithClock(Clock(now)))
	require.NoError(tb, err)
	return p
}

// TokenRequest returns the default request: customer-42 through storefront,
// for [Audience], DPoP-bound to the client's key.
func (r *Tokens) TokenRequest() tokens.TokenRequest {
	return tokens.TokenRequest{
		Subject: Subject, ClientID: ClientID, Audience: []string{Audience},
		Scopes: []string{"orders:read", "payments:write"}, Roles: []string{"customer"},
		DPoPKeyThumbprint: r.Proofer.Thumbprint(),
	}
}

// Token issues the default token after edit changes its request.
func (r *Tokens) Token(tb testing.TB, edit func(*tokens.TokenRequest)) string {
	tb.Helper()
	return r.TokenFrom(tb, Issuer, Now, edit)
}

// TokenFrom is [Tokens.Token] from an issuer named iss on the same key set whose clock is at.
func (r *Tokens) TokenFrom(tb testing.TB, iss string, at time.Time, edit func(*tokens.TokenRequest)) string {
	tb.Helper()
	issuer, err := tokens.NewIssuer(iss, r.Keys, tokens.WithClock(Clock(at)))
	require.NoError(tb, err)
	req := r.TokenRequest()
	if edit != nil {
		edit(&req)
	}
	tok, err := issuer.Issue(context.Background(), req)
	require.NoError(tb, err)
	return tok
}

// HandToken builds an access token by hand, independently of package
// tokens: a valid RFC 9068 header and claims naming the key set's kid and
// bound to the client's key, edited by edit, signed by key with ES256 (or
// carrying a bogus signature when the edited alg is "none").
func (r *Tokens) HandToken(tb testing.TB, key *ecdsa.PrivateKey, edit func(h, c map[string]any)) string {
	tb.Helper()
	var jti [16]byte
	_, err := rand.Read(jti[:])
	require.NoError(tb, err)
	h := map[string]any{"typ": "at+jwt", "alg": "ES256", "kid": r.KeyID}
	c := map[string]any{
		"iss": Issuer, "sub": Subject, "aud": Audience, "client_id": ClientID, "jti": B64(jti[:]),
		"iat": Now.Unix(), "exp": Now.Add(5 * time.Minute).Unix(), "scope": "orders:read",
		"cnf": map[string]any{"jkt": r.Proofer.Thumbprint()},
	}
	if edit != nil {
		edit(h, c)
	}
	return JWS(tb, key, h, c)
}

// ProofVerifier returns a proof verifier on the clock [Now] with its own
// replay store on the same clock; opts apply last and may replace the store.
func (r *Tokens) ProofVerifier(tb testing.TB, opts ...dpop.VerifierOption) *dpop.Verifier {
	tb.Helper()
	store, err := dpop.NewMemoryReplayStore(dpop.WithClock(Clock(Now)))
	require.NoError(tb, err)
	pv, err := dpop.NewVerifier(append([]dpop.VerifierOption{dpop.WithClock(Clock(Now)), dpop.WithReplayStore(store)}, opts...)...)
	require.NoError(tb, err)
	return pv
}

// RequestVerifier returns a request verifier for a service reached at
// externalURL, verifying tokens with tv (nil for [Tokens.Verifier]) and
// proofs with [Tokens.ProofVerifier](vopts).
func (r *Tokens) RequestVerifier(tb testing.TB, externalURL string, tv dpop.TokenVerifier, vopts []dpop.VerifierOption, ropts ...dpop.RequestOption) *dpop.RequestVerifier {
	tb.Helper()
	if tv == nil {
		tv = r.Verifier
	}
	rv, err := dpop.NewRequestVerifier(tv, r.ProofVerifier(tb, vopts...), append([]dpop.RequestOption{dpop.WithExternalURL(externalURL)}, ropts...)...)
	require.NoError(tb, err)
	return rv
}

// Proof returns a proof from the client's proofer.
func (r *Tokens) Proof(tb testing.TB, method, target, token, nonce string) string {
	tb.Helper()
	return ProofWith(tb, r.Proofer, method, target, token, nonce)
}

// ProofWith returns a proof from p.
func ProofWith(tb testing.TB, p *dpop.Proofer, method, target, token, nonce string) string {
	tb.Helper()
	proof, err := p.Proof(dpop.ProofRequest{Method: method, URL: target, AccessToken: token, Nonce: nonce})
	require.NoError(tb, err)
	return proof
}

// HandProof builds a proof by hand with the client's key: a valid header and
// claims for method and target with token, edited by edit.
func (r *Tokens) HandProof(tb testing.TB, method, target, token string, edit func(h, c map[string]any)) string {
	tb.Helper()
	var jti [16]byte
	_, err := rand.Read(jti[:])
	require.NoError(tb, err)
	h := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": JWK(&r.ClientKey.PublicKey)}
	c := map[string]any{"jti": B64(jti[:]), "htm": method, "htu": target, "iat": Now.Unix(), "ath": dpop.AccessTokenHash(token)}
	if edit != nil {
		edit(h, c)
	}
	return JWS(tb, r.ClientKey, h, c)
}

// Transport returns a dpop.Transport over base that sends token with the
// client's proofs.
func (r *Tokens) Transport(base http.RoundTripper, token string) *dpop.Transport {
	return &dpop.Transport{Base: base, Proofer: r.Proofer, Token: StaticToken(token)}
}

// StaticToken is a dpop.TokenSource with a fixed token.
type StaticToken string

// AccessToken implements dpop.TokenSource.
func (s StaticToken) AccessToken(context.Context) (string, error) { return string(s), nil }

// JWK returns the public JWK of a P-256 key (RFC 7518 §6.2.1).
func JWK(pub *ecdsa.PublicKey) map[string]any {
	pt, err := pub.Bytes()
	if err != nil {
		panic(err) // a P-256 key always encodes
	}
	return map[string]any{"kty": "EC", "crv": "P-256", "x": B64(pt[1:33]), "y": B64(pt[33:])}
}

// JWS builds a compact JWS by hand: header and claims marshalled as given and
// signed by key with ES256 (RFC 7518 §3.4), or, when header's alg is "none",
// followed by a signature that is not one.
func JWS(tb testing.TB, key *ecdsa.PrivateKey, header, claims map[string]any) string {
	tb.Helper()
	hb, err := json.Marshal(header)
	require.NoError(tb, err)
	cb, err := json.Marshal(claims)
	require.NoError(tb, err)
	input := B64(hb) + "." + B64(cb)
	if header["alg"] == "none" {
		return input + "." + B64([]byte("not a signature"))
	}
	digest := sha256.Sum256([]byte(input))
	der, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	require.NoError(tb, err)
	var rs struct{ R, S *big.Int }
	_, err = asn1.Unmarshal(der, &rs)
	require.NoError(tb, err)
	sig := make([]byte, 64)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])
	return input + "." + B64(sig)
}

// NewIssuer starts a SPIFFE issuer for td and closes it at the end of the test.
func NewIssuer(tb testing.TB, td spiffeid.TrustDomain, opts ...spiffetest.Option) *spiffetest.Issuer {
	tb.Helper()
	iss, err := spiffetest.New(Context(tb), td, opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, iss.Close()) })
	return iss
}

// NewX509Source connects a workloadapi.X509Source to iss, closed at the end of the test.
func NewX509Source(tb testing.TB, iss *spiffetest.Issuer, opts ...workloadapi.ClientOption) *workloadapi.X509Source {
	tb.Helper()
	src, err := workloadapi.NewX509Source(Context(tb),
		workloadapi.WithClientOptions(append([]workloadapi.ClientOption{workloadapi.WithAddr(iss.Addr())}, opts...)...))
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, src.Close()) })
	return src
}

// workloadKey is the gRPC metadata key with which a test workload names itself
// to a [ByWorkloadName] attestor.
const workloadKey = "ztkit-test-workload"

// ByWorkloadName returns an attestor that gives each Workload API caller the
// ID ids maps its [AsWorkload] name to, so that several workloads of one test
// process get different identities from one issuer. A caller that names no
// workload gets ids[""], if any.
func ByWorkloadName(ids map[string]spiffeid.ID) spiffetest.Attestor {
	return func(ctx context.Context) (spiffeid.ID, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		name := ""
		if v := md.Get(workloadKey); len(v) == 1 {
			name = v[0]
		}
		if id, ok := ids[name]; ok {
			return id, nil
		}
		return spiffeid.ID{}, spiffetest.ErrNoIdentity
	}
}

// AsWorkload makes a Workload API client name itself name to a [ByWorkloadName] attestor.
func AsWorkload(name string) workloadapi.ClientOption {
	return workloadapi.WithDialOptions(
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(metadata.AppendToOutgoingContext(ctx, workloadKey, name), method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(metadata.AppendToOutgoingContext(ctx, workloadKey, name), desc, cc, method, opts...)
		}),
	)
}

// SVID issues an X509-SVID for id from iss.
func SVID(tb testing.TB, iss *spiffetest.Issuer, id spiffeid.ID, opts ...spiffetest.SVIDOption) *x509svid.SVID {
	tb.Helper()
	s, err := iss.IssueX509SVID(id, opts...)
	require.NoError(tb, err)
	return s
}

// Certificate returns svid as a TLS client certificate.
func Certificate(svid *x509svid.SVID) *tls.Certificate {
	c := &tls.Certificate{PrivateKey: svid.PrivateKey, Leaf: svid.Certificates[0]}
	for _, cert := range svid.Certificates {
		c.Certificate = append(c.Certificate, cert.Raw)
	}
	return c
}

// SelfSignedSVID returns a certificate that looks like an X509-SVID for id (one
// URI SAN, client and server auth) but is signed by its own key: no bundle
// vouches for it.
func SelfSignedSVID(tb testing.TB, id spiffeid.ID) *tls.Certificate {
	tb.Helper()
	key := ECKey(tb)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(4242),
		Subject:               pkix.Name{Organization: []string{"SPIFFE"}},
		URIs:                  []*url.URL{id.URL()},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(tb, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(tb, err)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// Server is an HTTPS server on loopback whose TLS is exactly the
// configuration it was started with.
type Server struct {
	*httptest.Server
	// URL is https://127.0.0.1:port (the embedded server's says http).
	URL string
	// HandshakeErrors receives each line the server logs, in practice its
	// failed TLS handshakes. Buffered; lines beyond the buffer are dropped.
	HandshakeErrors <-chan string
}

// NewTLSServer returns an HTTPS server on loopback, not yet started, whose
// TLS is exactly cfg; URL is already set, so that a handler that needs it can
// be built before [Server.Start]. (httptest's own StartTLS would add its
// certificate, which a TLS server answering a client without SNI prefers to
// cfg.GetCertificate.) connState, when not nil, sees every connection state
// change. The server is closed at the end of the test.
func NewTLSServer(tb testing.TB, cfg *tls.Config, connState func(net.Conn, http.ConnState)) *Server {
	tb.Helper()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	lines := make(chan string, 64)
	srv.Config.ErrorLog = log.New(lineWriter(lines), "", 0)
	srv.Config.ConnState = connState
	srv.Listener = tls.NewListener(srv.Listener, cfg)
	tb.Cleanup(srv.Close)
	return &Server{Server: srv, URL: "https://" + srv.Listener.Addr().String(), HandshakeErrors: lines}
}

// Start serves h.
func (s *Server) Start(h http.Handler) {
	s.Config.Handler = h
	s.Server.Start()
}

// StartTLS is [NewTLSServer] started with h.
func StartTLS(tb testing.TB, h http.Handler, cfg *tls.Config, connState func(net.Conn, http.ConnState)) *Server {
	tb.Helper()
	s := NewTLSServer(tb, cfg, connState)
	s.Start(h)
	return s
}

type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	select {
	case w <- string(p):
	default:
	}
	return len(p), nil
}

var _ io.Writer = lineWriter(nil)

// ClientTLS returns a TLS 1.3 client configuration that presents cert (none
// when nil) and accepts only the server X509-SVID server, verified against bundle.
func ClientTLS(cert *tls.Certificate, bundle x509bundle.Source, server spiffeid.ID) *tls.Config {
	cfg := tlsconfig.TLSClientConfig(bundle, tlsconfig.AuthorizeID(server))
	cfg.MinVersion = tls.VersionTLS13
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return cfg
}

// ServerTLSConfig is authn.ServerTLSConfig for a test: it fails the test on an error.
func ServerTLSConfig(tb testing.TB, svid x509svid.Source, bundles x509bundle.Source, peers authn.IDMatcher) *tls.Config {
	tb.Helper()
	cfg, err := authn.ServerTLSConfig(svid, bundles, peers)
	require.NoError(tb, err)
	return cfg
}

// ClientTLSConfig is authn.ClientTLSConfig for a test: it fails the test on an error.
func ClientTLSConfig(tb testing.TB, svid x509svid.Source, bundles x509bundle.Source, server authn.IDMatcher) *tls.Config {
	tb.Helper()
	cfg, err := authn.ClientTLSConfig(svid, bundles, server)
	require.NoError(tb, err)
	return cfg
}

// HTTPClient returns a client with its own transport on cfg, whose idle
// connections are closed at the end of the test.
func HTTPClient(tb testing.TB, cfg *tls.Config) *http.Client {
	tb.Helper()
	tr := &http.Transport{TLSClientConfig: cfg}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}
