package guard

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/tokens"
)

// TestRefusalLevel: every reason is logged at the level its cause calls for
// (see WithLogger). A new Reason must be added here, deliberately.
func TestRefusalLevel(t *testing.T) {
	cases := []struct {
		reason Reason
		status int
		level  slog.Level
	}{
		{ReasonNonceRequired, 401, slog.LevelDebug},
		{ReasonMissingToken, 401, slog.LevelInfo},
		{ReasonInvalidRequest, 400, slog.LevelInfo},
		{ReasonTokenExpired, 401, slog.LevelInfo},
		{ReasonTokenInvalid, 401, slog.LevelInfo},
		{ReasonTokenAudience, 401, slog.LevelInfo},
		{ReasonTokenIssuer, 401, slog.LevelInfo},
		{ReasonUnknownKey, 401, slog.LevelInfo},
		{ReasonProofMissing, 401, slog.LevelInfo},
		{ReasonProofInvalid, 401, slog.LevelInfo},
		{ReasonDPoPRequired, 401, slog.LevelInfo},
		{ReasonPeerMissing, 403, slog.LevelInfo},
		{ReasonPeerForbidden, 403, slog.LevelInfo},
		{ReasonJWTSVIDInvalid, 401, slog.LevelInfo},
		{ReasonTokenSignature, 401, slog.LevelWarn},
		{ReasonProofReplayed, 401, slog.LevelWarn},
		{ReasonBindingMismatch, 401, slog.LevelWarn},
		{ReasonBoundTokenAsBearer, 401, slog.LevelWarn},
		{ReasonPeerInvalid, 403, slog.LevelWarn},
		{ReasonKeysUnavailable, 503, slog.LevelError},
		{ReasonReplayUnavailable, 503, slog.LevelError},
		{ReasonInternal, 500, slog.LevelError},
		{Reason(authz.ReasonForbidden), 403, slog.LevelInfo},
		{Reason(authz.ReasonNoRule), 403, slog.LevelInfo},
		{Reason(authz.ReasonInsufficientScope), 403, slog.LevelInfo},
		{Reason(authz.ReasonBadRequest), 400, slog.LevelInfo},
		{Reason(authz.ReasonInsufficientACR), 401, slog.LevelInfo},
		{Reason(authz.ReasonAuthTooOld), 401, slog.LevelInfo},
		{Reason(authz.ReasonInsufficientACR), 403, slog.LevelInfo}, // a caller without an access token
		{Reason(authz.ReasonInsufficientAMR), 403, slog.LevelInfo},
		{ReasonSignatureMissing, 401, slog.LevelInfo},
		{ReasonSignatureMalformed, 400, slog.LevelInfo},
		{ReasonSignatureExpired, 401, slog.LevelInfo},
		{ReasonSignatureUnknownKey, 401, slog.LevelInfo},
		{ReasonSignatureInsufficient, 401, slog.LevelInfo},
		{ReasonSignatureInvalid, 401, slog.LevelWarn},
		{ReasonSignatureReplayed, 401, slog.LevelWarn},
		{ReasonDigestMismatch, 401, slog.LevelWarn},
		{ReasonSignatureUnavailable, 503, slog.LevelError},
	}
	for _, tc := range cases {
		t.Run(string(tc.reason), func(t *testing.T) {
			assert.Equal(t, tc.level, refusalLevel(&Refusal{Class: classOfStatus[tc.status], Reason: tc.reason}))
		})
	}
}

// classOfStatus is the Class of each HTTP status of a refusal.
var classOfStatus = map[int]Class{
	400: ClassBadRequest, 401: ClassUnauthenticated, 403: ClassPermissionDenied, 500: ClassInternal, 503: ClassUnavailable,
}

// TestRefusalLogRedacts: values that are not fixed codes (client IDs, SPIFFE
// IDs, rule IDs, patterns, scopes) go through the redactor; a JWT-SVID's
// workload is logged.
func TestRefusalLogRedacts(t *testing.T) {
	var buf bytes.Buffer
	l, err := newRefusalLog(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})))
	require.NoError(t, err)
	require.NotNil(t, l)
	p := &authn.Principal{
		Peer:     spiffeid.RequireFromString("spiffe://shop.example/checkout"),
		Workload: spiffeid.RequireFromString("spiffe://shop.example/ns/prod/sa/checkout"),
		ClientID: "alice@example.com",
		Subject:  "customer-4711",
		Actor:    &tokens.Actor{Subject: "spiffe://shop.example/gateway", Actor: &tokens.Actor{Subject: "admin@example.com"}},
	}
	req := inbound.FromHTTP(httptest.NewRequest(http.MethodDelete, "/orders/4111111111111111", nil))
	d := authz.Decision{Reason: authz.ReasonInsufficientScope, RuleID: "refunds", Pattern: "DELETE /orders/{id}", MissingScopes: []string{"orders:write", "password=hunter2"}}
	l.authz(context.Background(), &req, p, d, &Refusal{Class: ClassPermissionDenied, Reason: Reason(d.Reason)})
	assert.Equal(t, `{"level":"INFO","msg":"request refused","reason":"insufficient_scope","status":403,"stage":"authz","method":"DELETE","route":"DELETE /orders/{id}","rule_id":"refunds",`+
		`"peer":"spiffe://shop.example/checkout","workload":"spiffe://shop.example/ns/prod/sa/checkout","actor":"spiffe://shop.example/gateway","client_id":"[REDACTED:email]","missing_scope":"orders:write password=[REDACTED:secret]"}`+"\n", buf.String())
	assert.NotContains(t, buf.String(), "customer-4711")
	assert.NotContains(t, buf.String(), "4111111111111111")
	assert.NotContains(t, buf.String(), "hunter2")
	assert.NotContains(t, buf.String(), "admin@example.com")

	// An actor that is not a SPIFFE ID is not logged.
	buf.Reset()
	p.Actor = &tokens.Actor{Subject: "admin@example.com"}
	l.authz(context.Background(), &req, p, d, &Refusal{Class: ClassPermissionDenied, Reason: Reason(d.Reason)})
	assert.NotContains(t, buf.String(), `"actor"`)
	assert.NotContains(t, buf.String(), "admin@example.com")
}

// TestRefusalLogOff: a discarding logger, the default, turns the log off.
func TestRefusalLogOff(t *testing.T) {
	for _, l := range []*slog.Logger{nil, slog.New(slog.DiscardHandler)} {
		rl, err := newRefusalLog(l)
		require.NoError(t, err)
		assert.Nil(t, rl)
		// A nil log is safe to call.
		req := inbound.FromHTTP(httptest.NewRequest(http.MethodGet, "/", nil))
		rl.authn(context.Background(), &req, &Refusal{Class: ClassUnauthenticated, Reason: ReasonMissingToken}, authn.ErrMissingToken)
		rl.authz(context.Background(), &req, nil, authz.Decision{Reason: authz.ReasonNoRule}, &Refusal{Class: ClassPermissionDenied, Reason: Reason(authz.ReasonNoRule)})
	}
}
