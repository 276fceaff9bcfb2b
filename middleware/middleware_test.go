package middleware_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/internal/test/refusaltest"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/middleware"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

const (
	// mwRealm is the realm every test middleware announces.
	mwRealm = "payments"
	// mwAlgs is the default algs parameter of DPoP challenges (RFC 9449 §7.1).
	mwAlgs = `algs="ES256 ES384 EdDSA Ed25519 PS256 RS256"`
	// mwRoute is the route every test server registers; mwPath matches it.
	mwRoute = "GET /orders/{id}"
	mwPath  = "/orders/123"
)

// mwOptions configure a test shop.
type mwOptions struct {
	// token is the route's token requirement; peer, when set, its peer requirement.
	token authn.TokenRequirement
	peer  authn.IDMatcher
	// bundles verifies client certificates; an empty bundle when nil.
	bundles x509bundle.Source
	// tv verifies tokens instead of the rig's verifier.
	tv    dpop.TokenVerifier
	vopts []dpop.VerifierOption
	ropts []dpop.RequestOption
	// mwopts follow WithRealm(mwRealm).
	mwopts []guard.Option
	// noRealm leaves WithRealm out.
	noRealm bool
	// wrap, when set, wraps the middleware-protected handler (to start a span around it).
	wrap func(http.Handler) http.Handler
	// tls, when set, serves HTTPS with this configuration.
	tls *tls.Config
	// jwtBundles verifies JWT-SVIDs (an empty bundle when nil); workload is
	// the policy's Workload matcher.
	jwtBundles jwtbundle.Source
	workload   authn.IDMatcher
}

// mwShop is the payments service behind the middleware, on a real loopback server.
type mwShop struct {
	rig    *shoprig.Tokens
	url    string
	client *http.Client
	// seen receives the principal of every request the handler serves.
	seen chan *authn.Principal
	// requests counts the requests that reached the server's mux.
	requests atomic.Int32
}

// mwStart starts the shop: route mwRoute, protected by the middleware of the
// policy o describes, and a handler that reports the request's principal.
func mwStart(t *testing.T, rig *shoprig.Tokens, o mwOptions) *mwShop {
	t.Helper()
	s := &mwShop{rig: rig, seen: make(chan *authn.Principal, 64)}
	mux := http.NewServeMux()
	var counted http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		mux.ServeHTTP(w, r)
	})
	var srv *httptest.Server
	var tlsSrv *shoprig.Server
	if o.tls != nil {
		tlsSrv = shoprig.NewTLSServer(t, o.tls, nil)
		s.url = tlsSrv.URL
	} else {
		srv = httptest.NewUnstartedServer(counted)
		s.url = "http://" + srv.Listener.Addr().String()
	}

	var opts []authn.Option
	if o.token == authn.AccessToken || o.token == authn.DPoPBoundToken {
		opts = append(opts, authn.WithAccessTokens(rig.RequestVerifier(t, s.url, o.tv, o.vopts, o.ropts...)))
	}
	if o.token == authn.JWTSVID {
		var b jwtbundle.Source = jwtbundle.New(shoprig.TrustDomain)
		if o.jwtBundles != nil {
			b = o.jwtBundles
		}
		opts = append(opts, authn.WithJWTSVIDs(b, "spiffe://shop.example/payments"))
	}
	if o.peer != nil {
		b := o.bundles
		if b == nil {
			b = x509bundle.New(shoprig.TrustDomain)
		}
		opts = append(opts, authn.WithX509Bundles(b))
	}
	a, err := authn.New(authn.Policy{Peer: o.peer, Token: o.token, Workload: o.workload}, opts...)
	require.NoError(t, err)
	mwopts := o.mwopts
	if !o.noRealm {
		mwopts = append([]guard.Option{guard.WithRealm(mwRealm)}, mwopts...)
	}
	auth, err := middleware.New(a, mwopts...)
	require.NoError(t, err)
	h := auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := authn.PrincipalFromContext(r.Context()); ok {
			s.seen <- p
		}
		_, _ = io.WriteString(w, "order "+r.PathValue("id"))
	}))
	if o.wrap != nil {
		h = o.wrap(h)
	}
	mux.Handle(mwRoute, h)

	if tlsSrv != nil {
		tlsSrv.Start(counted)
		return s
	}
	srv.Start()
	t.Cleanup(srv.Close)
	s.client = srv.Client()
	return s
}

// mwResponse is a response with its body read.
type mwResponse struct {
	*http.Response
	body string
}

// do sends a request for path with header.
func (s *mwShop) do(t *testing.T, client *http.Client, path string, header http.Header) mwResponse {
	t.Helper()
	if client == nil {
		client = s.client
	}
	req, err := http.NewRequestWithContext(shoprig.Context(t), http.MethodGet, s.url+path, nil)
	require.NoError(t, err)
	for k, vs := range header {
		req.Header[k] = slices.Clone(vs)
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return mwResponse{Response: resp, body: string(body)}
}

// mwHeader returns a header with `Authorization: scheme token` and a DPoP
// header per proof, each left out when empty.
func mwHeader(scheme, token string, proofs ...string) http.Header {
	h := http.Header{}
	if scheme != "" {
		h.Set("Authorization", scheme+" "+token)
	}
	for _, p := range proofs {
		if p != "" {
			h.Add("DPoP", p)
		}
	}
	return h
}

// mwSecrets are the credentials in h and their recognisable parts.
func mwSecrets(h http.Header) []string {
	var out []string
	add := func(v string) {
		for _, part := range append([]string{v}, strings.Split(v, ".")...) {
			if len(part) >= 16 {
				out = append(out, part)
			}
		}
	}
	for _, v := range h.Values("Authorization") {
		_, cred, _ := strings.Cut(v, " ")
		add(cred)
	}
	for _, v := range h.Values("DPoP") {
		add(v)
	}
	return out
}

// mwInternal are fragments of internal error text: every error of the
// packages behind the middleware starts with its package name.
var mwInternal = []string{"authn:", "dpop:", "tokens:", "x509svid:", "jwtsvid:", "jose:", shoprig.Subject}

// mwNonces returns server nonces on the clock shoprig.Now.
func mwNonces(t *testing.T) *dpop.Nonces {
	t.Helper()
	n, err := dpop.NewNonces([]byte("a 32-byte nonce secret for tests"), dpop.WithNonceClock(shoprig.Clock(shoprig.Now)))
	require.NoError(t, err)
	return n
}

// TestMiddlewareRefuses sends the refused requests of the shared table
// (package refusaltest, which package guard also runs against the core)
// through a real server and the middleware. Each must be answered with its status, the exact challenges of
// RFC 6750 §3 and RFC 9449 §7.1, and its reason; its body must hold neither
// the credentials nor internal error text, as text and as an RFC 9457 problem.
func TestMiddlewareRefuses(t *testing.T) {
	rig := shoprig.NewTokens(t)
	nonces := mwNonces(t)
	cases := refusaltest.Cases(t, rig, nonces)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			for _, problem := range []bool{false, true} {
				name := "text"
				if problem {
					name = "problem+json"
				}
				t.Run(name, func(t *testing.T) {
					s := mwStart(t, rig, mwOptions{token: tc.Route.Token, peer: tc.Route.Peer, tv: tc.Route.TokenVerifier,
						vopts: tc.Route.VerifierOptions, ropts: tc.Route.RequestOptions(), mwopts: tc.Route.GuardOptions})
					h := credentialHeader(tc.Credentials(t, httpTarget{s}))
					if problem {
						h.Set("Accept", "application/json, application/problem+json;q=0.9")
					}
					resp := s.do(t, nil, mwPath, h)

					assert.Equal(t, tc.Status, resp.StatusCode)
					assert.Equal(t, tc.Challenges, resp.Header.Values("WWW-Authenticate"))
					assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
					if tc.RetryAfter > 0 {
						assert.Equal(t, []string{strconv.Itoa(int(tc.RetryAfter / time.Second))}, resp.Header.Values("Retry-After"))
					} else {
						assert.Empty(t, resp.Header.Values("Retry-After"))
					}
					if tc.Nonce {
						assert.Equal(t, nonces.Current(), resp.Header.Get("DPoP-Nonce"))
					} else {
						assert.Empty(t, resp.Header.Values("DPoP-Nonce"))
					}
					adv, err := dpop.AdviseHTTP(resp.Response)
					require.NoError(t, err)
					if tc.Nonce {
						assert.Equal(t, nonces.Current(), adv.Nonce)
					}
					for _, secret := range mwSecrets(h) {
						assert.NotContains(t, resp.body, secret, "the body leaks a credential")
					}
					for _, internal := range mwInternal {
						assert.NotContains(t, resp.body, internal, "the body leaks internal error text")
					}
					select {
					case p := <-s.seen:
						t.Errorf("a refused request reached the handler with %v", p)
					default:
					}
					tc.AssertAdvice(t, httpTarget{s}, adv)

					if !problem {
						assert.Equal(t, http.StatusText(tc.Status)+"\n", resp.body)
						assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
						return
					}
					assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
					assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
					var body map[string]any
					require.NoError(t, json.Unmarshal([]byte(resp.body), &body), "body %q", resp.body)
					assert.ElementsMatch(t, []string{"type", "title", "status", "detail", "code"}, keys(body))
					assert.Equal(t, "about:blank", body["type"])
					assert.Equal(t, http.StatusText(tc.Status), body["title"])
					assert.EqualValues(t, tc.Status, body["status"])
					assert.NotEmpty(t, body["detail"])
					assert.Equal(t, string(tc.Reason), body["code"])
				})
			}
		})
	}
}

// httpTarget is the shop as the refusal table sees it: GET mwPath.
type httpTarget struct{ s *mwShop }

func (h httpTarget) Method() string { return http.MethodGet }
func (h httpTarget) URI() string    { return h.s.url + mwPath }

func (h httpTarget) Accepted(t *testing.T, c refusaltest.Credentials) bool {
	resp := h.s.do(t, nil, mwPath, credentialHeader(c))
	if resp.StatusCode != http.StatusOK {
		return false
	}
	<-h.s.seen
	return true
}

// credentialHeader is the header that carries c.
func credentialHeader(c refusaltest.Credentials) http.Header {
	h := http.Header{}
	for _, v := range c.Authorization {
		h.Add("Authorization", v)
	}
	for _, v := range c.DPoP {
		h.Add("DPoP", v)
	}
	return h
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestMiddlewareAccepts: the handler sees the verified principal, and the
// response carries nothing the middleware should not add.
func TestMiddlewareAccepts(t *testing.T) {
	rig := shoprig.NewTokens(t)
	s := mwStart(t, rig, mwOptions{token: authn.DPoPBoundToken})
	client := &http.Client{Transport: rig.Transport(s.client.Transport, rig.Token(t, nil))}

	resp := s.do(t, client, mwPath, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "order 123", resp.body)
	assert.Empty(t, resp.Header.Values("WWW-Authenticate"))
	assert.Empty(t, resp.Header.Values("DPoP-Nonce"), "no nonce without WithNonces")
	p := <-s.seen
	assert.Equal(t, shoprig.Issuer, p.Issuer)
	assert.Equal(t, shoprig.Subject, p.Subject)
	assert.Equal(t, shoprig.ClientID, p.ClientID)
	assert.Equal(t, []string{shoprig.Audience}, p.Audience)
	assert.NotEmpty(t, p.TokenID)
	assert.True(t, p.HasScope("payments:write"))
	assert.True(t, p.HasRole("customer"))
	assert.Equal(t, shoprig.Now.Add(tokens.DefaultTokenLifetime), p.Expiry)
	assert.Equal(t, authn.BoundToDPoPKey, p.Binding)
	assert.Equal(t, rig.Proofer.Thumbprint(), p.KeyThumbprint)
	assert.Equal(t, authn.UserKind, p.Kind)
	assert.Equal(t, authn.MethodDPoP, p.Methods)
	assert.True(t, p.Peer.IsZero())
	assert.True(t, p.Workload.IsZero())
}

// TestMiddlewareNonces: a server that requires nonces challenges a proof
// without one with use_dpop_nonce and its nonce (RFC 9449 §8); the client's
// dpop.Transport retries once with it and gets through. With WithNonces every
// response, accepted or refused, carries the current nonce.
func TestMiddlewareNonces(t *testing.T) {
	rig := shoprig.NewTokens(t)
	nonces := mwNonces(t)
	for _, tc := range []struct {
		name       string
		withNonces bool
	}{{"challenge only", false}, {"WithNonces", true}} {
		t.Run(tc.name, func(t *testing.T) {
			o := mwOptions{token: authn.DPoPBoundToken, vopts: []dpop.VerifierOption{dpop.WithNonces(nonces)}}
			if tc.withNonces {
				o.mwopts = []guard.Option{guard.WithNonces(nonces)}
			}
			s := mwStart(t, rig, o)
			client := &http.Client{Transport: rig.Transport(s.client.Transport, rig.Token(t, nil))}

			resp := s.do(t, client, mwPath, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "the transport retried with the nonce")
			assert.EqualValues(t, 2, s.requests.Load(), "one challenge, one retry")
			p := <-s.seen
			assert.Equal(t, shoprig.Subject, p.Subject)
			if tc.withNonces {
				assert.Equal(t, nonces.Current(), resp.Header.Get("DPoP-Nonce"), "an accepted response carries the nonce")
			} else {
				assert.Empty(t, resp.Header.Values("DPoP-Nonce"))
			}

			// The transport remembers the nonce: the next request needs no retry.
			resp = s.do(t, client, "/orders/456", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.EqualValues(t, 3, s.requests.Load())
			<-s.seen

			refused := s.do(t, nil, mwPath, nil)
			require.Equal(t, http.StatusUnauthorized, refused.StatusCode)
			if tc.withNonces {
				assert.Equal(t, nonces.Current(), refused.Header.Get("DPoP-Nonce"), "a refused response carries the nonce")
			} else {
				assert.Empty(t, refused.Header.Values("DPoP-Nonce"))
			}
		})
	}
}

// TestMiddlewarePeer: over real TLS that only requests a certificate, the
// middleware answers peer refusals with 403 and no challenge.
func TestMiddlewarePeer(t *testing.T) {
	rig := shoprig.NewTokens(t)
	iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
	require.NoError(t, iss.Register(shoprig.Payments))
	src := shoprig.NewX509Source(t, iss)
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, ClientAuth: tls.RequestClientCert, GetCertificate: tlsconfig.GetCertificate(src)}

	cases := []struct {
		name   string
		cert   *tls.Certificate
		status int
		reason guard.Reason
	}{
		{"checkout", shoprig.Certificate(shoprig.SVID(t, iss, shoprig.Checkout)), http.StatusOK, guard.ReasonNone},
		{"storefront", shoprig.Certificate(shoprig.SVID(t, iss, shoprig.Storefront)), http.StatusForbidden, guard.ReasonPeerForbidden},
		{"self-signed", shoprig.SelfSignedSVID(t, shoprig.Checkout), http.StatusForbidden, guard.ReasonPeerInvalid},
		{"no certificate", nil, http.StatusForbidden, guard.ReasonPeerMissing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mwStart(t, rig, mwOptions{peer: authn.MatchID(shoprig.Checkout), bundles: src, tls: cfg})
			client := shoprig.HTTPClient(t, shoprig.ClientTLS(tc.cert, iss.X509Bundle(), shoprig.Payments))
			h := http.Header{"Accept": {"application/problem+json"}}
			resp := s.do(t, client, mwPath, h)
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Empty(t, resp.Header.Values("WWW-Authenticate"))
			if tc.status == http.StatusOK {
				p := <-s.seen
				assert.Equal(t, shoprig.Checkout, p.Peer)
				assert.Equal(t, authn.MethodMTLS, p.Methods)
				return
			}
			var body map[string]any
			require.NoError(t, json.Unmarshal([]byte(resp.body), &body))
			assert.Equal(t, string(tc.reason), body["code"])
			assert.NotContains(t, resp.body, "spiffe://", "the body names no SPIFFE ID")
		})
	}
}

// TestMiddlewareChallengeOptions covers the options and routes that shape challenges.
func TestMiddlewareChallengeOptions(t *testing.T) {
	rig := shoprig.NewTokens(t)
	cases := []struct {
		name   string
		opts   mwOptions
		header http.Header
		status int
		wants  []string
	}{
		{
			name:   "no realm",
			opts:   mwOptions{token: authn.AccessToken, noRealm: true},
			status: http.StatusUnauthorized,
			wants:  []string{"DPoP " + mwAlgs, "Bearer"},
		},
		{
			name:   "realm with a quote is ignored",
			opts:   mwOptions{token: authn.DPoPBoundToken, noRealm: true, mwopts: []guard.Option{guard.WithRealm(`pay"ments`)}},
			status: http.StatusUnauthorized,
			wants:  []string{"DPoP " + mwAlgs},
		},
		{
			name:   "realm with a backslash is ignored",
			opts:   mwOptions{token: authn.DPoPBoundToken, noRealm: true, mwopts: []guard.Option{guard.WithRealm(`pay\ments`)}},
			status: http.StatusUnauthorized,
			wants:  []string{"DPoP " + mwAlgs},
		},
		{
			name:   "narrowed algorithms",
			opts:   mwOptions{token: authn.DPoPBoundToken, mwopts: []guard.Option{guard.WithDPoPAlgorithms("ES256", "EdDSA")}},
			status: http.StatusUnauthorized,
			wants:  []string{`DPoP realm="payments", algs="ES256 EdDSA"`},
		},
		{
			name:   "JWT-SVID route without a token",
			opts:   mwOptions{token: authn.JWTSVID},
			status: http.StatusUnauthorized,
			wants:  []string{`Bearer realm="payments"`},
		},
		{
			name:   "JWT-SVID route with an invalid JWT-SVID",
			opts:   mwOptions{token: authn.JWTSVID},
			header: mwHeader("Bearer", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"),
			status: http.StatusUnauthorized,
			wants:  []string{`Bearer realm="payments", error="invalid_token"`},
		},
		{
			name:   "peer-only route",
			opts:   mwOptions{peer: authn.MatchAny()},
			status: http.StatusForbidden,
			wants:  nil, // 403 carries no challenge
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mwStart(t, rig, tc.opts)
			resp := s.do(t, nil, mwPath, tc.header)
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, tc.wants, resp.Header.Values("WWW-Authenticate"))
		})
	}
}

func TestNewNilAuthenticator(t *testing.T) {
	mw, err := middleware.New(nil)
	assert.ErrorIs(t, err, authn.ErrInvalidConfig)
	assert.Nil(t, mw)
}

// mwCollect reads every metric the reader holds, by name.
func mwCollect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			assert.Equal(t, "github.com/ztkit/ztkit/middleware", sm.Scope.Name)
			out[m.Name] = m
		}
	}
	return out
}

// mwAttrs returns the attributes of a set as a map.
func mwAttrs(s attribute.Set) map[string]string {
	out := map[string]string{}
	for _, kv := range s.ToSlice() {
		out[string(kv.Key)] = kv.Value.Emit()
	}
	return out
}

// TestMiddlewareMetrics: decisions are counted with bounded attributes, by
// route pattern and never by path, subject or token, and timed.
func TestMiddlewareMetrics(t *testing.T) {
	rig := shoprig.NewTokens(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { assert.NoError(t, mp.Shutdown(context.Background())) })
	s := mwStart(t, rig, mwOptions{token: authn.DPoPBoundToken, mwopts: []guard.Option{guard.WithMeterProvider(mp)}})
	token := rig.Token(t, nil)
	client := &http.Client{Transport: rig.Transport(s.client.Transport, token)}

	for _, path := range []string{"/orders/123", "/orders/456"} {
		resp := s.do(t, client, path, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		<-s.seen
	}
	refused := s.do(t, nil, "/orders/789", nil)
	require.Equal(t, http.StatusUnauthorized, refused.StatusCode)

	ms := mwCollect(t, reader)
	decisions, ok := ms["ztkit.authn.decisions"].Data.(metricdata.Sum[int64])
	require.True(t, ok, "ztkit.authn.decisions is an int64 sum")
	assert.True(t, decisions.IsMonotonic)
	require.Len(t, decisions.DataPoints, 2, "one series for both accepted orders, one for the refusal")
	byOutcome := map[string]metricdata.DataPoint[int64]{}
	for _, dp := range decisions.DataPoints {
		byOutcome[mwAttrs(dp.Attributes)["ztkit.authn.outcome"]] = dp
	}
	allow, deny := byOutcome["allow"], byOutcome["deny"]
	assert.EqualValues(t, 2, allow.Value)
	assert.EqualValues(t, 1, deny.Value)

	allowAttrs, denyAttrs := mwAttrs(allow.Attributes), mwAttrs(deny.Attributes)
	assert.Equal(t, "GET", allowAttrs["http.request.method"])
	assert.Equal(t, "user", allowAttrs["ztkit.authn.principal_kind"])
	assert.Equal(t, "dpop", allowAttrs["ztkit.authn.methods"])
	assert.NotContains(t, allowAttrs, "ztkit.authn.reason")
	assert.Equal(t, "missing_token", denyAttrs["ztkit.authn.reason"])
	assert.Equal(t, "GET", denyAttrs["http.request.method"])
	for _, attrs := range []map[string]string{allowAttrs, denyAttrs} {
		// The route comes from the mux pattern, not the path.
		assert.Contains(t, attrs["http.route"], "/orders/{id}")
	}

	duration, ok := ms["ztkit.authn.duration"].Data.(metricdata.Histogram[float64])
	require.True(t, ok, "ztkit.authn.duration is a float64 histogram")
	assert.Equal(t, "s", ms["ztkit.authn.duration"].Unit)
	var count uint64
	for _, dp := range duration.DataPoints {
		count += dp.Count
		assert.GreaterOrEqual(t, dp.Sum, 0.0)
		assert.Equal(t, []float64{0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25}, dp.Bounds)
		assert.Equal(t, mwAttrs(dp.Attributes)["http.route"], allowAttrs["http.route"])
	}
	assert.EqualValues(t, 3, count)

	// No attribute value of any series holds the token, the subject or the path.
	forbidden := append(mwSecrets(mwHeader("DPoP", token)), shoprig.Subject, shoprig.ClientID, "/orders/123", "123", "456", "789")
	for name, m := range ms {
		var sets []attribute.Set
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range d.DataPoints {
				sets = append(sets, dp.Attributes)
			}
		case metricdata.Histogram[float64]:
			for _, dp := range d.DataPoints {
				sets = append(sets, dp.Attributes)
			}
		}
		for _, set := range sets {
			for k, v := range mwAttrs(set) {
				for _, f := range forbidden {
					assert.NotContains(t, v, f, "%s: attribute %s", name, k)
				}
			}
		}
	}

	t.Run("http.route is the path template", func(t *testing.T) {
		assert.Equal(t, "/orders/{id}", allowAttrs["http.route"])
		assert.Equal(t, "/orders/{id}", denyAttrs["http.route"])
	})
}

// TestMiddlewareSpan: the decision is added to the request's span as
// attributes; the middleware starts no span of its own.
func TestMiddlewareSpan(t *testing.T) {
	rig := shoprig.NewTokens(t)
	iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
	require.NoError(t, iss.Register(shoprig.Payments))
	src := shoprig.NewX509Source(t, iss)

	type spanCase struct {
		name   string
		opts   mwOptions
		client func(*testing.T, *mwShop) *http.Client
		status int
		attrs  map[string]string
	}
	token := rig.Token(t, nil)
	cases := []spanCase{
		{
			name: "accepted DPoP",
			opts: mwOptions{token: authn.DPoPBoundToken},
			client: func(_ *testing.T, s *mwShop) *http.Client {
				return &http.Client{Transport: rig.Transport(s.client.Transport, token)}
			},
			status: http.StatusOK,
			attrs: map[string]string{
				"ztkit.authn.outcome": "allow", "ztkit.authn.methods": "dpop", "ztkit.authn.binding": "dpop",
				"ztkit.authn.principal_kind": "user",
			},
		},
		{
			name: "accepted mTLS",
			opts: mwOptions{peer: authn.MatchID(shoprig.Checkout), bundles: src, tls: shoprig.ServerTLSConfig(t, src, src, authn.MatchID(shoprig.Checkout))},
			client: func(t *testing.T, _ *mwShop) *http.Client {
				return shoprig.HTTPClient(t, shoprig.ClientTLS(shoprig.Certificate(shoprig.SVID(t, iss, shoprig.Checkout)), iss.X509Bundle(), shoprig.Payments))
			},
			status: http.StatusOK,
			attrs: map[string]string{
				"ztkit.authn.outcome": "allow", "ztkit.authn.methods": "mtls", "ztkit.authn.binding": "none",
				"ztkit.authn.principal_kind": "workload", "ztkit.authn.peer_trust_domain": "shop.example",
			},
		},
		{
			name:   "refused",
			opts:   mwOptions{token: authn.DPoPBoundToken},
			client: func(_ *testing.T, s *mwShop) *http.Client { return s.client },
			status: http.StatusUnauthorized,
			attrs:  map[string]string{"ztkit.authn.outcome": "deny", "ztkit.authn.reason": "missing_token"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			t.Cleanup(func() { assert.NoError(t, tp.Shutdown(context.Background())) })
			ended := make(chan struct{}, 1)
			tc.opts.wrap = func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					ctx, span := tp.Tracer("payments").Start(r.Context(), "GET /orders/{id}")
					defer func() {
						span.End()
						ended <- struct{}{}
					}()
					next.ServeHTTP(w, r.WithContext(ctx))
				})
			}
			s := mwStart(t, rig, tc.opts)
			resp := s.do(t, tc.client(t, s), mwPath, nil)
			require.Equal(t, tc.status, resp.StatusCode)
			select {
			case <-ended:
			case <-shoprig.Context(t).Done():
				t.Fatal("the span did not end")
			}

			require.Len(t, rec.Started(), 1, "the middleware started no span")
			spans := rec.Ended()
			require.Len(t, spans, 1)
			assert.Equal(t, "GET /orders/{id}", spans[0].Name())
			got := map[string]string{}
			for _, kv := range spans[0].Attributes() {
				got[string(kv.Key)] = kv.Value.Emit()
			}
			assert.Equal(t, tc.attrs, got)
			for k, v := range got {
				for _, f := range append(mwSecrets(mwHeader("DPoP", token)), shoprig.Subject, "spiffe://", mwPath) {
					assert.NotContains(t, v, f, "span attribute %s", k)
				}
			}
		})
	}
}

// TestMiddlewareDefaultProviders: with no options the middleware records to
// the global providers, no-ops until an application installs its own.
func TestMiddlewareDefaultProviders(t *testing.T) {
	rig := shoprig.NewTokens(t)
	s := mwStart(t, rig, mwOptions{token: authn.DPoPBoundToken, noRealm: true})
	client := &http.Client{Transport: rig.Transport(s.client.Transport, rig.Token(t, nil))}
	resp := s.do(t, client, mwPath, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	<-s.seen
	refused := s.do(t, nil, mwPath, nil)
	assert.Equal(t, http.StatusUnauthorized, refused.StatusCode)
	assert.Equal(t, []string{"DPoP " + mwAlgs}, refused.Header.Values("WWW-Authenticate"))
}
