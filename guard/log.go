package guard

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authz"
	"github.com/ztkit/ztkit/inbound"
	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/risk"
)

// RefusalMessage is the message of the log record of a refused request; see
// [WithLogger].
const RefusalMessage = "request refused"

// Keys of the attributes of a refusal's log record; see [WithLogger].
const (
	LogKeyReason       = "reason"
	LogKeyStatus       = "status"
	LogKeyStage        = "stage"
	LogKeyMethod       = "method"
	LogKeyRoute        = "route"
	LogKeyRuleID       = "rule_id"
	LogKeyPeer         = "peer"
	LogKeyWorkload     = "workload"
	LogKeyActor        = "actor"
	LogKeyClientID     = "client_id"
	LogKeyMissingScope = "missing_scope"
	LogKeyError        = "error"
	LogKeyAction       = "action"
	LogKeyRiskReasons  = "risk_reasons"
	LogKeyLimit        = "limit"
)

// WithLogger logs each refused request once, at a level that says what kind
// of refusal it is, with message [RefusalMessage] ("request refused") and
// these attributes, each present only when known:
//
//   - reason: the [Reason] code, also in the metrics, the span and the
//     problem body;
//   - status: the HTTP status of the refusal ([Refusal.HTTPStatus]: 400,
//     401, 403, 500 or 503), whatever transport answered it;
//   - stage: "authn" when authentication refused the request, "authz" when
//     the authorizer of [WithAuthorizer] denied it, "limit" for a rate
//     limit ([WithRateLimits]), "risk" for a risk decision ([WithRisk]),
//     "signature" for a refusal of an HTTP message or webhook signature
//     recorded with [Guard.Refuse], "transport" for any other refusal
//     recorded with it;
//   - method: the HTTP method, or "_OTHER" for a method outside RFC 9110's
//     (a client picks it);
//   - route: the route pattern: the authz rule's pattern that matched, or the
//     route the request was routed by (inbound.Request.Route: for net/http,
//     the ServeMux pattern, Request.Pattern); never the request's path or query;
//   - rule_id: the authz rule that denied, or came closest to allowing;
//   - peer: the SPIFFE ID of the mTLS client certificate, when it verified
//     against the trust bundles (also when the route's peer policy then
//     refused it, reason peer_forbidden);
//   - workload: the SPIFFE ID of a verified JWT-SVID (also when the route's
//     Workload matcher then refused it, reason peer_forbidden);
//   - actor: for an authz denial, the current actor of the access token
//     (the outermost act claim, RFC 8693 §4.1) when it is a SPIFFE ID: the
//     workload the token was issued to act for its subject;
//   - client_id: the client_id of an access token that verified;
//   - missing_scope: the scopes the token lacks, space-separated, for
//     reason insufficient_scope;
//   - action: for a refusal by the rate-limit or risk step, the scope or
//     action the service named the request ([WithRateLimits], [WithRisk]);
//   - risk_reasons: for a risk refusal, the risk decision's reasons,
//     space-separated (bounded codes of the risk policy);
//   - limit: for a rate-limit refusal, the name of the limit;
//   - error: for a refusal logged at Error only (an outage or a fault on the
//     server's side), the cause's message.
//
// Nothing else is logged: never a token, a proof, a key, the subject, the
// request's path, query, headers or address. Every value that is not a fixed
// code goes through a [redact.Redactor] first.
//
// Levels follow the cause, so that an alert on Error fires on outages and
// not on clients that send bad credentials:
//
//   - Debug: dpop_nonce, the server asking for a fresh proof with its nonce,
//     a normal step of RFC 9449 §8 that the client retries.
//   - Info: missing or invalid credentials and policy denials: every 400,
//     401 and 403 not listed under Warn.
//   - Warn: refusals that suggest an attack rather than a misconfigured
//     client: dpop_replayed (a proof used twice, RFC 9449 §11.1),
//     token_signature (a token under a known key that does not verify),
//     token_binding (a DPoP-bound token with another key's proof),
//     bound_token_as_bearer (a bound token without its proof, RFC 9449 §7.2),
//     peer_invalid (a client certificate that does not chain to a trusted
//     bundle), signature_invalid (a message or webhook signature that does
//     not verify), signature_replayed (a signature nonce or webhook id seen
//     before) and digest_mismatch (a signed message whose body was changed).
//   - Error: keys_unavailable, dpop_replay_unavailable,
//     rate_limit_unavailable, signature_unavailable and internal, and every
//     other 503 or 500: the service cannot authenticate or meter anyone.
//
// Each record is logged with the request's context, so a handler can add
// its trace ID. A service that also gives the authorizer a logger
// ([authz.WithLogger]) gets the authz decision logged there as well, under
// its own message. nil keeps the default, which discards.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// refusalLog logs refusals. A nil *refusalLog logs nothing.
type refusalLog struct {
	l   *slog.Logger
	red *redact.Redactor
}

// newRefusalLog returns the refusal log of l, or nil when l discards.
func newRefusalLog(l *slog.Logger) (*refusalLog, error) {
	if l == nil || l.Handler() == slog.DiscardHandler {
		return nil, nil
	}
	red, err := redact.New()
	if err != nil {
		return nil, err
	}
	return &refusalLog{l: l, red: red}, nil
}

// refusalLevel is the level a refusal is logged at; see [WithLogger].
func refusalLevel(ref *Refusal) slog.Level {
	if ref.Class == ClassUnavailable || ref.Class == ClassInternal {
		return slog.LevelError
	}
	switch ref.Reason {
	case ReasonNonceRequired:
		return slog.LevelDebug
	case ReasonProofReplayed, ReasonTokenSignature, ReasonBindingMismatch, ReasonBoundTokenAsBearer, ReasonPeerInvalid,
		ReasonSignatureInvalid, ReasonSignatureReplayed, ReasonDigestMismatch:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// authn logs a refusal of authentication with cause err.
func (l *refusalLog) authn(ctx context.Context, req *inbound.Request, ref *Refusal, err error) {
	if l == nil {
		return
	}
	level := refusalLevel(ref)
	if !l.l.Enabled(ctx, level) {
		return
	}
	attrs := l.common(make([]slog.Attr, 0, 8), req, ref, "authn", "")
	var re *authn.RefusalError
	if errors.As(err, &re) {
		attrs = l.id(attrs, LogKeyPeer, re.Peer)
		attrs = l.id(attrs, LogKeyWorkload, re.Workload)
		attrs = l.str(attrs, LogKeyClientID, re.ClientID)
	}
	if level >= slog.LevelError {
		attrs = l.str(attrs, LogKeyError, err.Error())
	}
	l.l.LogAttrs(ctx, level, RefusalMessage, attrs...)
}

// authz logs a denial d of principal p, answered with ref.
func (l *refusalLog) authz(ctx context.Context, req *inbound.Request, p *authn.Principal, d authz.Decision, ref *Refusal) {
	if l == nil {
		return
	}
	level := refusalLevel(ref)
	if !l.l.Enabled(ctx, level) {
		return
	}
	attrs := l.common(make([]slog.Attr, 0, 11), req, ref, "authz", d.Pattern)
	attrs = l.str(attrs, LogKeyRuleID, d.RuleID)
	if p != nil {
		attrs = l.id(attrs, LogKeyPeer, p.Peer)
		attrs = l.id(attrs, LogKeyWorkload, p.Workload)
		attrs = l.id(attrs, LogKeyActor, p.ActorID())
		attrs = l.str(attrs, LogKeyClientID, p.ClientID)
	}
	if d.Reason == authz.ReasonInsufficientScope {
		attrs = l.str(attrs, LogKeyMissingScope, strings.Join(d.MissingScopes, " "))
	}
	l.l.LogAttrs(ctx, level, RefusalMessage, attrs...)
}

// common appends the attributes of every refusal. route is the authz
// pattern, or "" for the request's route.
func (l *refusalLog) common(attrs []slog.Attr, req *inbound.Request, ref *Refusal, stage, route string) []slog.Attr {
	attrs = append(attrs,
		slog.String(LogKeyReason, string(ref.Reason)),
		slog.Int(LogKeyStatus, ref.HTTPStatus()),
		slog.String(LogKeyStage, stage),
		slog.String(LogKeyMethod, normalizeMethod(req.Method)),
	)
	if route == "" {
		route = req.Route
	}
	return l.str(attrs, LogKeyRoute, route)
}

// str appends key=v, redacted, unless v is empty.
func (l *refusalLog) str(attrs []slog.Attr, key, v string) []slog.Attr {
	if v == "" {
		return attrs
	}
	return append(attrs, slog.String(key, l.red.RedactString(v)))
}

// id appends key=id, redacted, unless id is zero.
func (l *refusalLog) id(attrs []slog.Attr, key string, id spiffeid.ID) []slog.Attr {
	if id.IsZero() {
		return attrs
	}
	return l.str(attrs, key, id.String())
}

// step logs a refusal ref of principal p by the rate-limit or risk step
// (stage) for the request's action or scope, with the risk reasons or the
// limit's name, and err the cause of an outage.
func (l *refusalLog) step(ctx context.Context, req *inbound.Request, p *authn.Principal, ref *Refusal, stage, action string, reasons []risk.Reason, limit string, err error) {
	if l == nil {
		return
	}
	level := refusalLevel(ref)
	if !l.l.Enabled(ctx, level) {
		return
	}
	attrs := l.common(make([]slog.Attr, 0, 12), req, ref, stage, "")
	attrs = l.str(attrs, LogKeyAction, action)
	if len(reasons) > 0 {
		var b strings.Builder
		for i, r := range reasons {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(string(r))
		}
		attrs = l.str(attrs, LogKeyRiskReasons, b.String())
	}
	attrs = l.str(attrs, LogKeyLimit, limit)
	if p != nil {
		attrs = l.id(attrs, LogKeyPeer, p.Peer)
		attrs = l.id(attrs, LogKeyWorkload, p.Workload)
		attrs = l.str(attrs, LogKeyClientID, p.ClientID)
	}
	if err != nil && level >= slog.LevelError {
		attrs = l.str(attrs, LogKeyError, err.Error())
	}
	l.l.LogAttrs(ctx, level, RefusalMessage, attrs...)
}

// outside logs a refusal ref recorded with [Guard.Refuse], with err the
// cause, logged only at Error.
func (l *refusalLog) outside(ctx context.Context, req *inbound.Request, ref *Refusal, err error) {
	if l == nil {
		return
	}
	level := refusalLevel(ref)
	if !l.l.Enabled(ctx, level) {
		return
	}
	stage := stageTransport
	if ref.Reason.signature() {
		stage = stageSignature
	}
	attrs := l.common(make([]slog.Attr, 0, 6), req, ref, stage, "")
	if err != nil && level >= slog.LevelError {
		attrs = l.str(attrs, LogKeyError, err.Error())
	}
	l.l.LogAttrs(ctx, level, RefusalMessage, attrs...)
}
