package authz

import (
	"encoding/json"
	"net/http"

	"github.com/ztkit/ztkit/authn"
)

// ExplainHandler returns the handler of a debug endpoint that explains how
// e decides a request for the caller: GET ?method=POST&path=/orders/7 (or
// ?grpc_method=/shop.Payments/Charge) answers with the [Trace] as JSON,
// for the [authn.Principal] that authentication middleware put in the
// request's context (none: an unauthenticated caller). It answers "why was
// I refused?" for the principal actually calling, with no way to claim
// another identity.
//
// It is off by default: nothing serves it unless a service mounts it. Mount
// it only where operators reach it (an admin listener, behind the
// authentication middleware, with a policy rule for its own route), since
// it reveals rule IDs and route patterns. It never shows the principal's
// subject or a token, and it neither logs nor counts what it explains.
// Given a nil Engine it answers 503 to every request.
func ExplainHandler(e *Engine) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if e == nil {
			http.Error(w, "no policy engine", http.StatusServiceUnavailable)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		q := r.URL.Query()
		req := Request{Method: q.Get("method"), Path: q.Get("path"), GRPCMethod: q.Get("grpc_method")}
		if req.GRPCMethod == "" && (req.Method == "" || req.Path == "") {
			http.Error(w, "want ?method=…&path=… or ?grpc_method=…", http.StatusBadRequest)
			return
		}
		p, _ := authn.PrincipalFromContext(r.Context())
		t := e.Explain(r.Context(), p, req)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(traceJSON(t))
	})
}

// stepJSON and decisionJSON are Step and Decision with JSON names, field
// for field, so that each converts from its type.
type stepJSON struct {
	RuleID  string `json:"rule_id"`
	Effect  Effect `json:"effect"`
	Shadow  bool   `json:"shadow,omitempty"`
	Pattern string `json:"pattern"`
	Matched bool   `json:"matched"`
	Reason  Reason `json:"reason,omitempty"`
}

type decisionJSON struct {
	Allow         bool     `json:"allow"`
	Reason        Reason   `json:"reason"`
	RuleID        string   `json:"rule_id,omitempty"`
	Pattern       string   `json:"pattern,omitempty"`
	MissingScopes []string `json:"missing_scopes,omitempty"`
	ACRValues     []string `json:"acr_values,omitempty"`
	MaxAuthAge    Duration `json:"max_auth_age,omitempty"`
	ShadowDeny    bool     `json:"shadow_deny,omitempty"`
	ShadowAllow   bool     `json:"shadow_allow,omitempty"`
	ShadowRuleID  string   `json:"shadow_rule_id,omitempty"`
	ShadowReason  Reason   `json:"shadow_reason,omitempty"`
}

type traceBody struct {
	Method   string       `json:"method"`
	Path     string       `json:"path"`
	Patterns []string     `json:"patterns"`
	Steps    []stepJSON   `json:"steps"`
	Decision decisionJSON `json:"decision"`
}

func traceJSON(t Trace) traceBody {
	b := traceBody{Method: t.Method, Path: t.Path, Patterns: t.Patterns, Steps: make([]stepJSON, len(t.Steps))}
	if b.Patterns == nil {
		b.Patterns = []string{}
	}
	for i, s := range t.Steps {
		b.Steps[i] = stepJSON(s)
	}
	b.Decision = decisionJSON(t.Decision)
	return b
}
