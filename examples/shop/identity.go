package main

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// identity is the shop's authorization server: it publishes its keys as a JWK
// Set and issues DPoP-bound access tokens to registered clients
// (client_credentials, RFC 6749 §4.4, with a DPoP proof per RFC 9449 §5).
type identity struct {
	issuer  *tokens.Issuer
	keys    *tokens.KeySet
	proofs  *dpop.Verifier
	url     string // external URL of this server, for the proofs' htu
	clients map[string]client
}

type client struct {
	secret string
	scopes []string
	// subject is who the storefront acts for in this demo: a signed-in customer.
	subject string
	acr     string
	// audience is the one resource server its tokens are for.
	audience string
}

func (id *identity) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/jwks.json", id.keys.JWKSHandler(tokens.WithMaxAge(time.Minute)))
	mux.HandleFunc("POST /token", id.token)
	return mux
}

// token implements the token endpoint: client authentication with
// client_secret_basic, then a DPoP proof whose key the token is bound to.
func (id *identity) token(w http.ResponseWriter, r *http.Request) {
	clientID, secret, ok := r.BasicAuth()
	c, known := id.clients[clientID]
	if !ok || !known || subtle.ConstantTimeCompare([]byte(secret), []byte(c.secret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	proofs := r.Header["Dpop"]
	if len(proofs) != 1 {
		oauthError(w, http.StatusBadRequest, "invalid_dpop_proof")
		return
	}
	proof, err := id.proofs.Verify(r.Context(), proofs[0], dpop.Request{Method: r.Method, URL: id.url + "/token"})
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_dpop_proof")
		return
	}
	scopes := c.scopes
	if s := r.PostForm.Get("scope"); s != "" {
		requested, err := tokens.ParseScope(s)
		if err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_scope") // RFC 6749 §5.2
			return
		}
		scopes = narrow(c.scopes, requested)
	}
	tok, err := id.issuer.Issue(r.Context(), tokens.TokenRequest{
		Subject: c.subject, ClientID: clientID, Audience: []string{c.audience},
		Scopes: scopes, ACR: c.acr, AMR: []string{"pwd", "otp"}, AuthTime: time.Now().Add(-2 * time.Minute),
		DPoPKeyThumbprint: proof.KeyThumbprint,
	})
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "token_type": "DPoP", "expires_in": int(tokens.DefaultTokenLifetime / time.Second),
		"scope": strings.Join(scopes, " "),
	})
}

// narrow keeps the requested scopes the client may have.
func narrow(allowed, requested []string) []string {
	var out []string
	for _, s := range requested {
		for _, a := range allowed {
			if s == a {
				out = append(out, s)
			}
		}
	}
	return out
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}
