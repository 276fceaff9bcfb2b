package grant_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// peer is a minimal token endpoint written for these tests from RFC 6749
// §2.3.1, §4.4, §5.1-5.2, RFC 7523 §3, RFC 8693 §2 and RFC 9449 §5, §8: a
// test peer of the client, not a mock of any server. It authenticates the
// client by one method, verifies DPoP proofs with ztkit's own verifier
// (nonces included when required) and issues opaque tokens.
type peer struct {
	srv *httptest.Server
	url string // the token endpoint URL

	clientID string
	secret   string           // client_secret_basic, when set
	jwtKey   crypto.PublicKey // private_key_jwt, when set
	mtls     bool             // tls_client_auth: the client certificate must be present
	noAuth   bool             // "none": the actor token authenticates (RFC 8693)
	lifetime int              // expires_in; 0 omits it
	// issuedType overrides the token_type issued ("" issues DPoP for a
	// proof, Bearer otherwise).
	issuedType string
	nonces     *dpop.Nonces
	proofs     *dpop.Verifier
	// subjects maps acceptable subject tokens to the subject they name.
	subjects map[string]string

	requests atomic.Int64
	issued   atomic.Int64
	mu       sync.Mutex
	forms    []url.Values
	jtis     map[string]bool
	gate     chan struct{} // when set, each request waits for a value
}

func newPeer(tb testing.TB, tlsServer bool, setup func(*peer)) *peer {
	tb.Helper()
	pv, err := dpop.NewVerifier()
	require.NoError(tb, err)
	p := &peer{clientID: "checkout", lifetime: 300, proofs: pv, jtis: map[string]bool{}, subjects: map[string]string{}}
	if setup != nil {
		setup(p)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", p.token)
	if tlsServer {
		p.srv = httptest.NewUnstartedServer(mux)
		p.srv.StartTLS()
	} else {
		p.srv = httptest.NewServer(mux)
	}
	tb.Cleanup(p.srv.Close)
	p.url = p.srv.URL + "/token"
	return p
}

// requireNonces makes the peer require DPoP nonces (RFC 9449 §8).
func requireNonces(tb testing.TB) func(*peer) {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	n, err := dpop.NewNonces(secret)
	require.NoError(tb, err)
	pv, err := dpop.NewVerifier(dpop.WithNonces(n))
	require.NoError(tb, err)
	return func(p *peer) { p.nonces, p.proofs = n, pv }
}

func (p *peer) form(i int) url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.forms[i]
}

func (p *peer) fail(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
	}
	w.WriteHeader(status)
	m := map[string]string{"error": code}
	if desc != "" {
		m["error_description"] = desc
	}
	_ = json.NewEncoder(w).Encode(m)
}

func (p *peer) token(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	if p.gate != nil {
		<-p.gate
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		p.fail(w, http.StatusBadRequest, "invalid_request", "")
		return
	}
	if err := r.ParseForm(); err != nil || len(r.URL.Query()) != 0 {
		p.fail(w, http.StatusBadRequest, "invalid_request", "")
		return
	}
	p.mu.Lock()
	p.forms = append(p.forms, r.PostForm)
	p.mu.Unlock()
	if !p.authenticate(w, r) {
		return
	}
	// RFC 9449 §5: a proof, when sent, binds the token.
	jkt := ""
	if proofs := r.Header.Values("DPoP"); len(proofs) > 0 {
		if len(proofs) != 1 {
			p.fail(w, http.StatusBadRequest, "invalid_dpop_proof", "")
			return
		}
		proof, err := p.proofs.Verify(r.Context(), proofs[0], dpop.Request{Method: http.MethodPost, URL: p.url})
		var ne *dpop.NonceError
		switch {
		case errors.As(err, &ne):
			w.Header().Set("DPoP-Nonce", ne.Nonce)
			p.fail(w, http.StatusBadRequest, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof")
			return
		case err != nil:
			p.fail(w, http.StatusBadRequest, "invalid_dpop_proof", "")
			return
		}
		jkt = proof.KeyThumbprint
	}
	resp := map[string]any{}
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
	case "urn:ietf:params:oauth:grant-type:token-exchange":
		if _, ok := p.subjects[r.PostForm.Get("subject_token")]; !ok ||
			r.PostForm.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:access_token" {
			p.fail(w, http.StatusBadRequest, "invalid_grant", "")
			return
		}
		resp["issued_token_type"] = "urn:ietf:params:oauth:token-type:access_token"
	default:
		p.fail(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	n := p.issued.Add(1)
	typ := "Bearer"
	if jkt != "" {
		typ = "DPoP"
	}
	if p.issuedType != "" {
		typ = p.issuedType
	}
	resp["access_token"] = fmt.Sprintf("at-%d", n)
	resp["token_type"] = typ
	if p.lifetime > 0 {
		resp["expires_in"] = p.lifetime
	}
	if s := r.PostForm.Get("scope"); s != "" {
		resp["scope"] = s
	}
	if p.nonces != nil {
		w.Header().Set("DPoP-Nonce", p.nonces.Current())
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(resp)
}

// authenticate checks the client by the peer's one method (RFC 6749 §2.3).
func (p *peer) authenticate(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case p.secret != "":
		// RFC 6749 §2.3.1: both halves are form-urlencoded before base64.
		h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Basic ")
		raw, err := base64.StdEncoding.DecodeString(h)
		if !ok || err != nil {
			p.fail(w, http.StatusUnauthorized, "invalid_client", "")
			return false
		}
		encID, encSecret, _ := strings.Cut(string(raw), ":")
		id, err1 := url.QueryUnescape(encID)
		secret, err2 := url.QueryUnescape(encSecret)
		if err1 != nil || err2 != nil || id != p.clientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.secret)) != 1 {
			p.fail(w, http.StatusUnauthorized, "invalid_client", "")
			return false
		}
		return r.PostForm.Get("client_id") == "" || r.PostForm.Get("client_id") == p.clientID
	case p.jwtKey != nil:
		// RFC 7523 §3.
		if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			p.fail(w, http.StatusUnauthorized, "invalid_client", "")
			return false
		}
		tok, err := jwt.ParseSigned(r.PostForm.Get("client_assertion"), []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.PS256})
		var c jwt.Claims
		if err != nil || tok.Claims(p.jwtKey, &c) != nil ||
			c.Issuer != p.clientID || c.Subject != p.clientID || !c.Audience.Contains(p.url) ||
			c.ValidateWithLeeway(jwt.Expected{Time: time.Now()}, 5*time.Second) != nil || c.Expiry == nil || c.ID == "" {
			p.fail(w, http.StatusUnauthorized, "invalid_client", "")
			return false
		}
		p.mu.Lock()
		replayed := p.jtis[c.ID]
		p.jtis[c.ID] = true
		p.mu.Unlock()
		if replayed {
			p.fail(w, http.StatusUnauthorized, "invalid_client", "assertion replayed")
			return false
		}
		return true
	case p.noAuth:
		return r.PostForm.Get("actor_token") != "" && r.PostForm.Get("client_id") == ""
	case p.mtls:
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || r.PostForm.Get("client_id") != p.clientID {
			p.fail(w, http.StatusUnauthorized, "invalid_client", "")
			return false
		}
		return true
	}
	p.fail(w, http.StatusUnauthorized, "invalid_client", "")
	return false
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err)
	return k
}

func newProofer(tb testing.TB) *dpop.Proofer {
	tb.Helper()
	p, err := dpop.NewProofer(newKey(tb), "")
	require.NoError(tb, err)
	return p
}
