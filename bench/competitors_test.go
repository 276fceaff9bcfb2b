package bench

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	gjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwa"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// tokenCheck verifies one access token. Each competitor is one; the test
// and the benchmark call the same value, so what is timed is what is tested.
type tokenCheck func(ctx context.Context, token string) error

type namedCheck struct {
	name  string
	check tokenCheck
	// checksType is whether the check refuses a typ other than at+jwt.
	// jwx's jwt.Parse has no option for it.
	checksType bool
}

// accessTokenChecks returns ztkit and its competitors, configured alike:
// signature by the issuer's key (only alg r.alg), iss, aud, exp required,
// nbf, iat not in the future, 30 s leeway, and typ at+jwt and kid where the
// library lets a user check them.
func accessTokenChecks(tb testing.TB, r *rig) []namedCheck {
	tb.Helper()
	return []namedCheck{
		{"ztkit-cold", ztkitTokenCheck(tb, r, 0), true},
		{"ztkit-cached", ztkitTokenCheck(tb, r, tokens.DefaultCacheSize), true},
		{"golang-jwt", golangJWTCheck(r), true},
		{"jwx", jwxCheck(tb, r), false},
		{"go-jose", goJoseCheck(r), true},
	}
}

func ztkitTokenVerifier(tb testing.TB, r *rig, cacheSize int) *tokens.Verifier {
	tb.Helper()
	v, err := tokens.NewVerifier(r.keys, issuerURL, []string{audience},
		tokens.WithAlgorithms(r.alg), tokens.WithLeeway(tokenLeeway), tokens.WithCacheSize(cacheSize))
	require.NoError(tb, err)
	return v
}

func ztkitTokenCheck(tb testing.TB, r *rig, cacheSize int) tokenCheck {
	v := ztkitTokenVerifier(tb, r, cacheSize)
	return func(ctx context.Context, token string) error {
		_, err := v.Verify(ctx, token)
		return err
	}
}

var (
	errType    = errors.New("bench: typ is not at+jwt")
	errKeyID   = errors.New("bench: unknown kid")
	errNoExp   = errors.New("bench: no exp")
	errBinding = errors.New("bench: cnf.jkt does not match the proof key")
	errRequest = errors.New("bench: malformed DPoP request")
)

// gjwtClaims is what a resource server reads from the token with golang-jwt.
type gjwtClaims struct {
	gjwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Cnf      struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
}

// golangJWTParser returns a parser and key func for r: the key func is where
// golang-jwt lets a user see the header, so typ and kid are checked there.
func golangJWTParser(r *rig) (*gjwt.Parser, gjwt.Keyfunc) {
	p := gjwt.NewParser(
		gjwt.WithValidMethods([]string{r.alg}),
		gjwt.WithIssuer(issuerURL),
		gjwt.WithAudience(audience),
		gjwt.WithExpirationRequired(),
		gjwt.WithIssuedAt(),
		gjwt.WithLeeway(tokenLeeway),
	)
	kid, pub := r.kid, r.pub
	keyFunc := func(t *gjwt.Token) (any, error) {
		if t.Header["typ"] != "at+jwt" {
			return nil, errType
		}
		if t.Header["kid"] != kid {
			return nil, errKeyID
		}
		return pub, nil
	}
	return p, keyFunc
}

func golangJWTCheck(r *rig) tokenCheck {
	p, keyFunc := golangJWTParser(r)
	return func(_ context.Context, token string) error {
		var c gjwtClaims
		_, err := p.ParseWithClaims(token, &c, keyFunc)
		return err
	}
}

// jwxCheck uses jwt.WithKey with one key, the fast path jwx documents for
// it. jwx checks exp, nbf and iat by default; exp is made required. jwt.Parse
// has no option to check typ, and with WithKey no kid is needed.
func jwxCheck(tb testing.TB, r *rig) tokenCheck {
	tb.Helper()
	var alg jwa.SignatureAlgorithm
	switch r.alg {
	case "ES256":
		alg = jwa.ES256()
	case "EdDSA":
		alg = jwa.EdDSA()
	default:
		tb.Fatalf("unknown alg %q", r.alg)
	}
	opts := []jwxjwt.ParseOption{
		jwxjwt.WithKey(alg, r.pub),
		jwxjwt.WithIssuer(issuerURL),
		jwxjwt.WithAudience(audience),
		jwxjwt.WithAcceptableSkew(tokenLeeway),
		jwxjwt.WithRequiredClaim("exp"),
	}
	return func(_ context.Context, token string) error {
		_, err := jwxjwt.ParseString(token, opts...)
		return err
	}
}

// joseExtra are the claims go-jose's jwt.Claims does not model.
type joseExtra struct {
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Cnf      struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
}

// goJoseCheck is go-jose's jwt package as its docs show it: ParseSigned with
// an algorithm allow-list, Claims with the key, ValidateWithLeeway. Expected
// skips what it is not told, and exp is optional, so the check adds that.
func goJoseCheck(r *rig) tokenCheck {
	algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(r.alg)}
	expected := josejwt.Expected{Issuer: issuerURL, AnyAudience: josejwt.Audience{audience}}
	kid, pub := r.kid, r.pub
	return func(_ context.Context, token string) error {
		t, err := josejwt.ParseSigned(token, algs)
		if err != nil {
			return err
		}
		h := t.Headers[0]
		if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" {
			return errType
		}
		if h.KeyID != kid {
			return errKeyID
		}
		var c josejwt.Claims
		var extra joseExtra
		if err := t.Claims(pub, &c, &extra); err != nil {
			return err
		}
		if c.Expiry == nil {
			return errNoExp
		}
		return c.ValidateWithLeeway(expected, tokenLeeway)
	}
}

// proofReq is what a proof is checked against.
type proofReq struct {
	method, url string
	token       string // the access token: the proof's ath must be its hash
	jkt         string // when not "", the thumbprint the proof key must have
}

// proofCheck verifies one DPoP proof.
type proofCheck func(ctx context.Context, proof string, req *proofReq) error

func ztkitProofVerifier(tb testing.TB) *dpop.Verifier {
	tb.Helper()
	store, err := dpop.NewMemoryReplayStore(dpop.WithMaxEntries(1 << 18))
	require.NoError(tb, err)
	v, err := dpop.NewVerifier(dpop.WithReplayStore(store), dpop.WithAlgorithms("ES256"),
		dpop.WithMaxAge(proofMaxAge), dpop.WithLeeway(proofLeeway))
	require.NoError(tb, err)
	return v
}

func ztkitProofCheck(tb testing.TB) proofCheck {
	v := ztkitProofVerifier(tb)
	return func(ctx context.Context, proof string, req *proofReq) error {
		_, err := v.Verify(ctx, proof, dpop.Request{Method: req.method, URL: req.url, AccessToken: req.token, KeyThumbprint: req.jkt})
		return err
	}
}

// handProofChecker is the DPoP proof check (RFC 9449 §4.3) a user would write
// on go-jose: ParseSigned with an allow-list, the embedded jwk, Verify,
// json.Unmarshal, then typ, htm, htu, iat, ath, and a jti map against replay.
// The map is keyed by jti alone and never pruned; ztkit's store keys (jkt,
// jti) and is bounded.
type handProofChecker struct {
	mu   sync.Mutex
	seen map[string]int64 // jti → Unix expiry
}

func newHandProofChecker() *handProofChecker {
	return &handProofChecker{seen: make(map[string]int64, 1<<16)}
}

type handProofClaims struct {
	JTI string `json:"jti"`
	HTM string `json:"htm"`
	HTU string `json:"htu"`
	IAT int64  `json:"iat"`
	ATH string `json:"ath"`
}

var (
	errProof    = errors.New("bench: malformed DPoP proof")
	errProofKey = errors.New("bench: DPoP proof jwk missing or not a public key")
	errHTM      = errors.New("bench: DPoP proof htm mismatch")
	errHTU      = errors.New("bench: DPoP proof htu mismatch")
	errIAT      = errors.New("bench: DPoP proof iat outside the window")
	errATH      = errors.New("bench: DPoP proof ath mismatch")
	errReplayed = errors.New("bench: DPoP proof replayed")
	proofAlgs   = []jose.SignatureAlgorithm{jose.ES256}
)

func (h *handProofChecker) check(_ context.Context, proof string, req *proofReq) error {
	jti, exp, err := handVerifyProof(proof, req)
	if err != nil {
		return err
	}
	now := time.Now().Unix()
	h.mu.Lock()
	defer h.mu.Unlock()
	if e, ok := h.seen[jti]; ok && e > now {
		return errReplayed
	}
	h.seen[jti] = exp.Unix()
	return nil
}

// handVerifyProof is the hand-written proof check without its replay check:
// it returns the proof's jti and until when it must be remembered.
func handVerifyProof(proof string, req *proofReq) (jti string, exp time.Time, err error) {
	jws, err := jose.ParseSigned(proof, proofAlgs)
	if err != nil {
		return "", time.Time{}, err
	}
	if len(jws.Signatures) != 1 {
		return "", time.Time{}, errProof
	}
	hdr := jws.Signatures[0].Protected
	if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return "", time.Time{}, errProof
	}
	key := hdr.JSONWebKey
	if key == nil || !key.IsPublic() || !key.Valid() {
		return "", time.Time{}, errProofKey
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return "", time.Time{}, err
	}
	var c handProofClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", time.Time{}, err
	}
	switch {
	case c.HTM != req.method:
		return "", time.Time{}, errHTM
	case c.HTU != req.url:
		return "", time.Time{}, errHTU
	case c.JTI == "":
		return "", time.Time{}, errProof
	}
	now := time.Now()
	iat := time.Unix(c.IAT, 0)
	if iat.After(now.Add(proofLeeway)) || now.Sub(iat) > proofMaxAge {
		return "", time.Time{}, errIAT
	}
	sum := sha256.Sum256([]byte(req.token))
	if c.ATH != b64.EncodeToString(sum[:]) {
		return "", time.Time{}, errATH
	}
	if req.jkt != "" {
		tp, err := key.Thumbprint(crypto.SHA256)
		if err != nil || b64.EncodeToString(tp) != req.jkt {
			return "", time.Time{}, errBinding
		}
	}
	return c.JTI, iat.Add(proofMaxAge + proofLeeway), nil
}

// requestCheck verifies a whole DPoP-bound request.
type requestCheck func(ctx context.Context, r *http.Request) error

func ztkitRequestCheck(tb testing.TB, r *rig, cacheSize int) requestCheck {
	tb.Helper()
	rv, err := dpop.NewRequestVerifier(ztkitTokenVerifier(tb, r, cacheSize), ztkitProofVerifier(tb), dpop.WithExternalURL(origin))
	require.NoError(tb, err)
	return func(ctx context.Context, req *http.Request) error {
		_, err := rv.Verify(ctx, req)
		return err
	}
}

// peerRequestCheck is the stack a user would assemble without ztkit:
// golang-jwt for the token, the hand-written go-jose proof check, and cnf.jkt
// compared with the proof key's RFC 7638 thumbprint (go-jose Thumbprint).
func peerRequestCheck(r *rig) requestCheck {
	p, keyFunc := golangJWTParser(r)
	proofs := newHandProofChecker()
	return func(ctx context.Context, req *http.Request) error {
		token, proof, jkt, err := handVerifyToken(p, keyFunc, req)
		if err != nil {
			return err
		}
		return proofs.check(ctx, proof, &proofReq{method: req.Method, url: origin + req.URL.EscapedPath(), token: token, jkt: jkt})
	}
}

// handVerifyToken is the token half of peerRequestCheck: it verifies the
// DPoP-bound token of req with golang-jwt and returns it, the request's
// proof (not verified yet) and the token's cnf.jkt.
func handVerifyToken(p *gjwt.Parser, keyFunc gjwt.Keyfunc, req *http.Request) (token, proof, jkt string, err error) {
	authz := req.Header["Authorization"]
	dp := req.Header["Dpop"]
	if len(authz) != 1 || len(dp) != 1 {
		return "", "", "", errRequest
	}
	token, ok := strings.CutPrefix(authz[0], "DPoP ")
	if !ok {
		return "", "", "", errRequest
	}
	var c gjwtClaims
	if _, err := p.ParseWithClaims(token, &c, keyFunc); err != nil {
		return "", "", "", err
	}
	if c.Cnf.JKT == "" {
		return "", "", "", errBinding
	}
	return token, dp[0], c.Cnf.JKT, nil
}
