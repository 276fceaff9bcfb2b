package middleware_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/internal/test/refusaltest"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/middleware"
	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// mwLog is a log buffer that the server's goroutines write to while the
// test reads it.
type mwLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *mwLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// lines returns the records logged so far, one JSON object a line.
func (l *mwLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimSuffix(l.buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// mwLogger returns a JSON logger at level, without timestamps, writing to a new mwLog.
func mwLogger(level slog.Level) (*slog.Logger, *mwLog) {
	l := &mwLog{}
	h := slog.NewJSONHandler(l, &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	return slog.New(h), l
}

// mwTokenInError is a token verifier that fails with an error quoting the
// token, as a careless custom verifier might.
type mwTokenInError struct{}

func (mwTokenInError) Verify(_ context.Context, token string) (*tokens.Claims, error) {
	return nil, errors.New("introspection failed for token " + token)
}

// TestMiddlewareLogsRefusals: each refused request is logged exactly once,
// at the level of its cause, with the documented message and keys, and
// with no token, proof, path, query or subject; accepted requests are not
// logged.
func TestMiddlewareLogsRefusals(t *testing.T) {
	rig := shoprig.NewTokens(t)
	iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
	require.NoError(t, iss.Register(shoprig.Payments))
	src := shoprig.NewX509Source(t, iss)
	serverTLS := &tls.Config{MinVersion: tls.VersionTLS13, ClientAuth: tls.RequestClientCert, GetCertificate: tlsconfig.GetCertificate(src)}
	mtls := func(cert *tls.Certificate) func(*testing.T, *mwShop) *http.Client {
		return func(t *testing.T, _ *mwShop) *http.Client {
			return shoprig.HTTPClient(t, shoprig.ClientTLS(cert, iss.X509Bundle(), shoprig.Payments))
		}
	}
	checkout := shoprig.Certificate(shoprig.SVID(t, iss, shoprig.Checkout))
	storefront := shoprig.Certificate(shoprig.SVID(t, iss, shoprig.Storefront))
	bound := func(t *testing.T, s *mwShop) http.Header {
		tok := rig.Token(t, nil)
		return mwHeader("DPoP", tok, rig.Proof(t, http.MethodGet, s.url+mwPath, tok, ""))
	}
	allowOrders := func(scope string) guard.Option {
		az, err := authz.AuthorizePolicy(authz.Policy{Rules: []authz.Rule{{
			ID: "orders-read", Effect: authz.Allow, Routes: []string{"GET /orders/{id}"}, Match: authz.Match{AllScopes: []string{scope}},
		}}})
		require.NoError(t, err)
		return guard.WithAuthorizer(az)
	}
	red, err := redact.New()
	require.NoError(t, err)
	peerPolicy := mwOptions{peer: authn.MatchID(shoprig.Checkout), bundles: src, tls: serverTLS}
	peerAndToken := mwOptions{peer: authn.MatchID(shoprig.Checkout), token: authn.DPoPBoundToken, bundles: src, tls: serverTLS}
	// JWT-SVIDs of the shop and of a federated partner verify; the route
	// allows the shop's workloads only (the default).
	partner := shoprig.NewIssuer(t, shoprig.PartnerTrustDomain)
	jwtSVIDs := mwOptions{token: authn.JWTSVID, jwtBundles: jwtbundle.NewSet(iss.JWTBundle(), partner.JWTBundle())}

	cases := []struct {
		name   string
		opts   mwOptions
		client func(*testing.T, *mwShop) *http.Client
		header func(*testing.T, *mwShop) http.Header
		status int
		// want is the one line logged, or "" for none. %ERR% in it stands
		// for the JSON string of cause, redacted.
		want  string
		cause string
	}{
		{
			name: "accepted", opts: mwOptions{token: authn.DPoPBoundToken}, header: bound,
			status: http.StatusOK,
		},
		{
			name: "no token", opts: mwOptions{token: authn.DPoPBoundToken},
			status: http.StatusUnauthorized,
			want:   `{"level":"INFO","msg":"request refused","reason":"missing_token","status":401,"stage":"authn","method":"GET","route":"GET /orders/{id}"}`,
		},
		{
			name: "expired token", opts: mwOptions{token: authn.DPoPBoundToken},
			header: func(t *testing.T, s *mwShop) http.Header {
				tok := rig.TokenFrom(t, shoprig.Issuer, shoprig.Now.Add(-2*tokens.DefaultTokenLifetime), nil)
				return mwHeader("DPoP", tok, rig.Proof(t, http.MethodGet, s.url+mwPath, tok, ""))
			},
			status: http.StatusUnauthorized,
			want:   `{"level":"INFO","msg":"request refused","reason":"token_expired","status":401,"stage":"authn","method":"GET","route":"GET /orders/{id}"}`,
		},
		{
			name: "bound token as Bearer", opts: mwOptions{token: authn.AccessToken, ropts: []dpop.RequestOption{dpop.WithBearer()}},
			header: func(t *testing.T, _ *mwShop) http.Header { return mwHeader("Bearer", rig.Token(t, nil)) },
			status: http.StatusUnauthorized,
			want:   `{"level":"WARN","msg":"request refused","reason":"bound_token_as_bearer","status":401,"stage":"authn","method":"GET","route":"GET /orders/{id}"}`,
		},
		{
			name: "unbound token on a DPoP-only route names the verified client", opts: mwOptions{token: authn.DPoPBoundToken, ropts: []dpop.RequestOption{dpop.WithBearer()}},
			header: func(t *testing.T, _ *mwShop) http.Header {
				return mwHeader("Bearer", rig.Token(t, func(tr *tokens.TokenRequest) { tr.DPoPKeyThumbprint = "" }))
			},
			status: http.StatusUnauthorized,
			want:   `{"level":"INFO","msg":"request refused","reason":"dpop_required","status":401,"stage":"authn","method":"GET","route":"GET /orders/{id}","client_id":"storefront"}`,
		},
		{
			name: "nonce required", opts: mwOptions{token: authn.DPoPBoundToken, vopts: []dpop.VerifierOption{dpop.WithNonces(mwNonces(t))}},
			header: bound,
			status: http.StatusUnauthorized,
			want:   `{"level":"DEBUG","msg":"request refused","reason":"dpop_nonce","status":401,"stage":"authn","method":"GET","route":"GET /orders/{id}"}`,
		},
		{
			name: "replay store unavailable", opts: mwOptions{token: authn.DPoPBoundToken, vopts: []dpop.VerifierOption{dpop.WithReplayStore(refusaltest.FailingStore{})}},
			header: bound,
			status: http.StatusServiceUnavailable,
			want:   `{"level":"ERROR","msg":"request refused","reason":"dpop_replay_unavailable","status":503,"stage":"authn","method":"GET","route":"GET /orders/{id}","error":%ERR%}`,
			cause:  dpop.ErrReplayCheckUnavailable.Error(),
		},
		{
			name: "key set unavailable", opts: mwOptions{token: authn.DPoPBoundToken, tv: refusaltest.StaleKeys(t, rig)},
			header: bound,
			status: http.StatusServiceUnavailable,
			want:   `{"level":"ERROR","msg":"request refused","reason":"keys_unavailable","status":503,"stage":"authn","method":"GET","route":"GET /orders/{id}","error":%ERR%}`,
			cause:  "tokens: key set unavailable: JWK Set not refreshed for longer than 1h0m0s",
		},
		{
			name: "internal error quoting the token", opts: mwOptions{token: authn.DPoPBoundToken, tv: mwTokenInError{}},
			header: bound,
			status: http.StatusInternalServerError,
			want:   `{"level":"ERROR","msg":"request refused","reason":"internal","status":500,"stage":"authn","method":"GET","route":"GET /orders/{id}","error":"introspection failed for token [REDACTED:jwt]"}`,
		},
		{
			name: "no client certificate", opts: peerPolicy, client: mtls(nil),
			status: http.StatusForbidden,
			want:   `{"level":"INFO","msg":"request refused","reason":"peer_missing","status":403,"stage":"authn","method":"GET","route":"GET /orders/{id}"}`,
		},
		{
			name: "untrusted client certificate", opts: peerPolicy, client: mtls(shoprig.SelfSignedSVID(t, shoprig.Checkout)),
			status: http.StatusForbidden,
			want:   `{"level":"WARN","msg":"request refused","reason":"peer_invalid","status":403,"stage":"authn","method":"GET","route":"GET /orders/{id}"}`,
		},
		{
			name: "peer not allowed", opts: peerPolicy, client: mtls(storefront),
			status: http.StatusForbidden,
			want:   `{"level":"INFO","msg":"request refused","reason":"peer_forbidden","status":403,"stage":"authn","method":"GET","route":"GET /orders/{id}","peer":"spiffe://shop.example/storefront"}`,
		},
		{
			name: "verified JWT-SVID of a workload the route does not allow", opts: jwtSVIDs,
			header: func(t *testing.T, _ *mwShop) http.Header {
				tok, err := partner.IssueJWTSVID(shoprig.Bank, []string{"spiffe://shop.example/payments"})
				require.NoError(t, err)
				return mwHeader("Bearer", tok)
			},
			status: http.StatusForbidden,
			want:   `{"level":"INFO","msg":"request refused","reason":"peer_forbidden","status":403,"stage":"authn","method":"GET","route":"GET /orders/{id}","workload":"spiffe://partner.example/bank"}`,
		},
		{
			name: "verified peer without a token", opts: peerAndToken, client: mtls(checkout),
			status: http.StatusUnauthorized,
			want:   `{"level":"INFO","msg":"request refused","reason":"missing_token","status":401,"stage":"authn","method":"GET","route":"GET /orders/{id}","peer":"spiffe://shop.example/checkout"}`,
		},
		{
			name: "authz: missing scope", opts: mwOptions{token: authn.DPoPBoundToken, mwopts: []guard.Option{allowOrders("orders:admin")}},
			header: bound,
			status: http.StatusForbidden,
			want:   `{"level":"INFO","msg":"request refused","reason":"insufficient_scope","status":403,"stage":"authz","method":"GET","route":"GET /orders/{id}","rule_id":"orders-read","client_id":"storefront","missing_scope":"orders:admin"}`,
		},
		{
			name: "authz: step-up, logged as every authz denial, with its 401", opts: mwOptions{token: authn.DPoPBoundToken, mwopts: []guard.Option{
				guard.WithAuthorizer(refusaltest.Authorizer(t, []string{"pwd", "mfa"}, authz.Match{MinACR: "mfa"}))}},
			header: bound,
			status: http.StatusUnauthorized,
			want:   `{"level":"INFO","msg":"request refused","reason":"insufficient_acr","status":401,"stage":"authz","method":"GET","route":"/{path...}","rule_id":"strong-user","client_id":"storefront"}`,
		},
		{
			name: "authz: allowed", opts: mwOptions{token: authn.DPoPBoundToken, mwopts: []guard.Option{allowOrders("orders:read")}},
			header: bound,
			status: http.StatusOK,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logger, out := mwLogger(slog.LevelDebug)
			tc.opts.mwopts = append(tc.opts.mwopts, guard.WithLogger(logger))
			s := mwStart(t, rig, tc.opts)
			var client *http.Client
			if tc.client != nil {
				client = tc.client(t, s)
			}
			h := http.Header{}
			if tc.header != nil {
				h = tc.header(t, s)
			}
			resp := s.do(t, client, mwPath+"?card=4111111111111111", h)
			require.Equal(t, tc.status, resp.StatusCode)
			if tc.status == http.StatusOK {
				<-s.seen
			}

			lines := out.lines()
			if tc.want == "" {
				assert.Empty(t, lines, "an accepted request is not logged")
				return
			}
			require.Len(t, lines, 1, "a refusal is logged once")
			want := tc.want
			if tc.cause != "" {
				cause, err := json.Marshal(red.RedactString(tc.cause))
				require.NoError(t, err)
				want = strings.Replace(want, "%ERR%", string(cause), 1)
			}
			assert.Equal(t, want, lines[0])
			for _, f := range append(mwSecrets(h), mwPath, "123", "4111", shoprig.Subject, "127.0.0.1") {
				assert.NotContains(t, lines[0], f, "the log line leaks a credential, the path, the query, the subject or the address")
			}
		})
	}
}

// TestMiddlewareLogLevel: refusals below the logger's level are not logged,
// and those at or above it are.
func TestMiddlewareLogLevel(t *testing.T) {
	rig := shoprig.NewTokens(t)
	logger, out := mwLogger(slog.LevelWarn)
	s := mwStart(t, rig, mwOptions{token: authn.AccessToken, ropts: []dpop.RequestOption{dpop.WithBearer()}, mwopts: []guard.Option{guard.WithLogger(logger)}})

	resp := s.do(t, nil, mwPath, nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Empty(t, out.lines(), "missing_token is Info, below Warn")

	resp = s.do(t, nil, mwPath, mwHeader("Bearer", rig.Token(t, nil)))
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	lines := out.lines()
	require.Len(t, lines, 1)
	assert.Contains(t, lines[0], `"level":"WARN"`)
	assert.Contains(t, lines[0], `"reason":"bound_token_as_bearer"`)
}

// TestMiddlewareLogWithoutPattern: a middleware in front of a whole mux has
// no route pattern to log, and logs no path instead; a method outside RFC
// 9110's is logged as _OTHER, since the client picks it.
func TestMiddlewareLogWithoutPattern(t *testing.T) {
	rig := shoprig.NewTokens(t)
	a, err := authn.New(authn.Policy{Token: authn.DPoPBoundToken},
		authn.WithAccessTokens(rig.RequestVerifier(t, "https://payments.shop.example", nil, nil)))
	require.NoError(t, err)
	logger, out := mwLogger(slog.LevelDebug)
	auth, err := middleware.New(a, guard.WithLogger(logger))
	require.NoError(t, err)
	h := auth(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("a refused request reached the handler") }))

	r := httptest.NewRequest("BREW", "https://payments.shop.example/orders/123?email=alice%40example.com", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, []string{`{"level":"INFO","msg":"request refused","reason":"missing_token","status":401,"stage":"authn","method":"_OTHER"}`}, out.lines())
}

// TestWithLoggerNil: WithLogger(nil) keeps the default, which discards, and
// the middleware still refuses.
func TestWithLoggerNil(t *testing.T) {
	rig := shoprig.NewTokens(t)
	s := mwStart(t, rig, mwOptions{token: authn.DPoPBoundToken, mwopts: []guard.Option{guard.WithLogger(nil)}})
	resp := s.do(t, nil, mwPath, nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}
