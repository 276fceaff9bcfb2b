package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// checkoutAudience is the checkout API's identifier in tokens' aud.
const checkoutAudience = "https://checkout.shop.example"

// checkout is the checkout API: every request must carry a DPoP-bound access
// token for this audience and a fresh proof with the server's nonce.
type checkout struct {
	requests *dpop.RequestVerifier
	nonces   *dpop.Nonces
	decide   func(format string, args ...any)
}

func (c *checkout) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", c.createOrder)
	return mux
}

func (c *checkout) createOrder(w http.ResponseWriter, r *http.Request) {
	res, err := c.requests.Verify(r.Context(), r)
	if err != nil {
		status, challenge := refusal(err)
		w.Header().Set("WWW-Authenticate", challenge)
		w.Header().Set("DPoP-Nonce", c.nonces.Current())
		w.Header().Set("Cache-Control", "no-store")
		c.decide("checkout: %d deny   %s", status, err)
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.Header().Set("DPoP-Nonce", c.nonces.Current())
	if !res.Claims.HasScope("checkout:write") {
		// RFC 6750 §3.1: the token is fine, it just does not allow this.
		w.Header().Set("WWW-Authenticate", `DPoP error="insufficient_scope", scope="checkout:write"`)
		c.decide("checkout: 403 deny   %s lacks scope checkout:write", res.Claims.ClientID)
		http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
		return
	}
	c.decide("checkout: 201 allow  order for %s via %s (acr %s, proof key %s…)",
		res.Claims.Subject, res.Claims.ClientID, res.Claims.ACR, res.Proof.KeyThumbprint[:8])
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"order": "ord_1001", "status": "created"})
}

// refusal maps a refusal to its status and WWW-Authenticate challenge (RFC 6750
// §3, RFC 9449 §7.1 and §9). The challenge carries an error code, never the
// reason's internals.
func refusal(err error) (int, string) {
	const algs = `algs="ES256 ES384 EdDSA Ed25519 PS256 RS256"`
	switch {
	case errors.Is(err, dpop.ErrUseDPoPNonce):
		return http.StatusUnauthorized, `DPoP error="use_dpop_nonce", ` + algs
	case errors.Is(err, dpop.ErrMissingAccessToken):
		return http.StatusUnauthorized, "DPoP " + algs
	case errors.Is(err, dpop.ErrInvalidRequest):
		return http.StatusBadRequest, `DPoP error="invalid_request", ` + algs
	case isProofError(err):
		return http.StatusUnauthorized, `DPoP error="invalid_dpop_proof", ` + algs
	default:
		return http.StatusUnauthorized, `DPoP error="invalid_token", ` + algs
	}
}

func isProofError(err error) bool {
	for _, e := range []error{
		dpop.ErrMissingProof, dpop.ErrMultipleProofs, dpop.ErrMalformedProof, dpop.ErrInvalidProofType,
		dpop.ErrUnsupportedAlgorithm, dpop.ErrInvalidProofKey, dpop.ErrInvalidProofSignature, dpop.ErrMethodMismatch,
		dpop.ErrURIMismatch, dpop.ErrProofExpired, dpop.ErrProofFromFuture, dpop.ErrReplayed,
		dpop.ErrReplayCheckUnavailable, dpop.ErrAccessTokenHashMismatch,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// claimsSummary describes a token for the demo's output without the token.
func claimsSummary(c *tokens.Claims) string {
	return fmt.Sprintf("sub=%s client=%s scope=%q bound=%v", c.Subject, c.ClientID, strings.Join(c.Scopes, " "), c.Confirmation.JKT != "")
}
