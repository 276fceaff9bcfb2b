package grant

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ztkit/ztkit/internal/dpopnonce"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// RFC 8693 §3 token type identifiers and the grant types. Package
// tokens/sts, the server side, is where they are defined; grant keeps
// private copies so that a client does not compile the token service
// (go-spiffe bundles, OpenTelemetry metrics), and a test keeps them equal.
const (
	tokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	grantTypeExchange    = "urn:ietf:params:oauth:grant-type:token-exchange"
	grantTypeClientCreds = "client_credentials"
)

// endpoint sends token requests to one token endpoint as one client.
type endpoint struct {
	url             string // the token endpoint URL: request target, htu, default aud
	origin          string // scheme://host[:port], lower-cased by the nonce book
	clientID        string
	auth            ClientAuth
	hc              *http.Client
	proofer         *dpop.Proofer
	nonces          dpopnonce.Book
	now             func() time.Time
	defaultLifetime time.Duration
	// params are the request parameters every request carries besides
	// grant_type and client authentication (scope, audience, resource).
	params url.Values
	scopes []string
}

func newEndpoint(rawURL, clientID string, auth ClientAuth, c *config, exchange bool) (*endpoint, error) {
	u, err := url.Parse(rawURL)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("%w: the token endpoint is not an absolute URL without user info and fragment", ErrInvalidConfig)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !c.insecureHTTP {
			return nil, fmt.Errorf("%w: the token endpoint is not https (WithInsecureHTTP allows http for tests)", ErrInvalidConfig)
		}
	default:
		return nil, fmt.Errorf("%w: the token endpoint is not https", ErrInvalidConfig)
	}
	if auth == nil {
		return nil, fmt.Errorf("%w: no client authentication", ErrInvalidConfig)
	}
	if _, none := auth.(noClientAuth); clientID == "" && !(exchange && none) {
		return nil, fmt.Errorf("%w: no client ID (only an Exchanger with NoClientAuth may have none)", ErrInvalidConfig)
	}
	if err := auth.check(); err != nil {
		return nil, err
	}
	if c.defaultLifetime <= 0 {
		return nil, fmt.Errorf("%w: WithDefaultLifetime must be positive", ErrInvalidConfig)
	}
	params := url.Values{}
	if len(c.scopes) > 0 {
		s, err := tokens.FormatScope(c.scopes)
		if err != nil {
			return nil, fmt.Errorf("%w: WithScopes: %w", ErrInvalidConfig, err)
		}
		params.Set("scope", s)
	}
	for _, a := range c.audiences {
		if a == "" {
			return nil, fmt.Errorf("%w: WithAudience given an empty audience", ErrInvalidConfig)
		}
		params.Add("audience", a)
	}
	for _, r := range c.resources {
		ru, err := url.Parse(r)
		if err != nil || !ru.IsAbs() || ru.Fragment != "" {
			return nil, fmt.Errorf("%w: WithResource given %q, not an absolute URI without fragment (RFC 8707 §2)", ErrInvalidConfig, r)
		}
		params.Add("resource", r)
	}
	hc := http.DefaultClient
	if c.httpClient != nil {
		hc = c.httpClient
	}
	noRedirect := *hc
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &endpoint{
		url:             rawURL,
		origin:          u.Scheme + "://" + u.Host,
		clientID:        clientID,
		auth:            auth,
		hc:              &noRedirect,
		proofer:         c.proofer,
		now:             c.now,
		defaultLifetime: c.defaultLifetime,
		params:          params,
		scopes:          append([]string(nil), c.scopes...),
	}, nil
}

// request runs one grant: form holds grant_type and the grant's own
// parameters. It sends the proof and retries once on use_dpop_nonce.
func (e *endpoint) request(ctx context.Context, form url.Values, exchange bool) (*Token, error) {
	sent := ""
	if e.proofer != nil {
		sent = e.nonces.Get(e.origin)
	}
	for retried := false; ; retried = true {
		issued := e.now()
		status, header, body, err := e.send(ctx, form, sent, issued)
		if err != nil {
			return nil, err
		}
		fresh := ""
		if e.proofer != nil {
			fresh = e.nonces.Update(e.origin, sent, header.Get("DPoP-Nonce"))
		}
		if status == http.StatusOK {
			return e.token(header, body, issued, exchange)
		}
		rerr := parseErrorResponse(status, header.Get("Content-Type"), body)
		if status == http.StatusBadRequest && rerr.Code == "use_dpop_nonce" && fresh != "" && !retried {
			sent = fresh
			continue
		}
		return nil, rerr
	}
}

// send posts one token request with fresh client authentication and proof.
func (e *endpoint) send(ctx context.Context, grant url.Values, nonce string, now time.Time) (int, http.Header, []byte, error) {
	form := maps.Clone(e.params)
	maps.Copy(form, grant)
	ar := &authRequest{clientID: e.clientID, endpoint: e.url, form: form, header: http.Header{}, now: now}
	if err := e.auth.authenticate(ar); err != nil {
		return 0, nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	maps.Copy(req.Header, ar.header)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if e.proofer != nil {
		proof, err := e.proofer.Proof(dpop.ProofRequest{Method: http.MethodPost, URL: e.url, Nonce: nonce})
		if err != nil {
			return 0, nil, nil, fmt.Errorf("%w: making the DPoP proof: %w", ErrInvalidConfig, err)
		}
		req.Header.Set("DPoP", proof)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%w: reading the response: %w", ErrUnavailable, err)
	}
	if len(body) > maxResponse {
		if resp.StatusCode == http.StatusOK {
			return 0, nil, nil, fmt.Errorf("%w: response larger than %d bytes", ErrMalformedResponse, maxResponse)
		}
		body = nil
	}
	return resp.StatusCode, resp.Header, body, nil
}

// token turns a 200 response into a Token after the client's checks.
func (e *endpoint) token(header http.Header, body []byte, issued time.Time, exchange bool) (*Token, error) {
	if !isJSON(header.Get("Content-Type")) {
		return nil, fmt.Errorf("%w: Content-Type is not application/json", ErrMalformedResponse)
	}
	r, err := parseTokenResponse(bytes.TrimSpace(body))
	if err != nil {
		return nil, err
	}
	switch {
	case e.proofer != nil && r.tokenType != TokenTypeDPoP:
		return nil, fmt.Errorf("%w: a DPoP proof was sent and the server issued a token of type %q, not bound to the key (RFC 9449 §5)", ErrTokenType, printable(r.tokenType))
	case e.proofer == nil && r.tokenType != TokenTypeBearer:
		return nil, fmt.Errorf("%w: %q (only Bearer without WithDPoP)", ErrTokenType, printable(r.tokenType))
	}
	if exchange && r.issuedTokenType == "" {
		return nil, fmt.Errorf("%w: no issued_token_type (RFC 8693 §2.2.1)", ErrMalformedResponse)
	}
	t := &Token{AccessToken: r.accessToken, TokenType: r.tokenType, IssuedAt: issued, IssuedTokenType: r.issuedTokenType}
	if r.hasExpiresIn {
		t.Expiry = issued.Add(r.expiresIn)
	} else {
		t.Expiry = issued.Add(e.defaultLifetime)
	}
	if r.hasScope {
		t.Scopes = r.scope
	} else if len(e.scopes) > 0 {
		t.Scopes = append([]string(nil), e.scopes...)
	}
	return t, nil
}

// printable returns s when it is short visible ASCII, else a placeholder,
// for naming a server's value in an error.
func printable(s string) string {
	if len(s) > 64 || !validErrorText(s, false) {
		return "(unprintable)"
	}
	return s
}
