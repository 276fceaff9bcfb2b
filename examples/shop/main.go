// Command shop is ztkit's demo shop: an identity service that issues
// DPoP-bound access tokens, a checkout API that verifies them, a storefront
// that calls checkout with them, and an attacker who tries to reuse what it
// can steal. Everything runs in one process on loopback with embedded
// defaults; no external server is needed.
//
//	go run ./examples/shop          # run the scenario, print each request and decision, exit 0
//	go run ./examples/shop -serve   # then keep the services running
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/ztkit/ztkit/internal/httphdr"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "shop:", err)
		os.Exit(1)
	}
}

// run plays the scenario and returns an error if any step's outcome is not
// the expected one.
func run(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	fs.SetOutput(out)
	serve := fs.Bool("serve", false, "keep the services running after the scenario")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p := &printer{w: out}

	// Identity service: signing keys, issuer, JWKS, token endpoint.
	idLn, idURL, err := listen()
	if err != nil {
		return err
	}
	signingKey, err := newSigningKey()
	if err != nil {
		return err
	}
	keys, err := tokens.NewKeySet(signingKey)
	if err != nil {
		return err
	}
	issuer, err := tokens.NewIssuer(idURL, keys)
	if err != nil {
		return err
	}
	tokenProofs, err := dpop.NewVerifier()
	if err != nil {
		return err
	}
	id := &identity{issuer: issuer, keys: keys, proofs: tokenProofs, url: idURL, clients: map[string]client{
		// Demo credentials. A real client authenticates with mTLS or private_key_jwt.
		"storefront": {secret: "demo-storefront-secret", scopes: []string{"cart:read", "checkout:write"}, subject: "customer-42", acr: "urn:shop:acr:mfa"},
	}}
	stopID := startServer(idLn, id.routes())
	defer stopID()

	// Checkout API: the issuer's keys from its JWKS, tokens and proofs, nonces.
	coLn, coURL, err := listen()
	if err != nil {
		return err
	}
	// Plain HTTP on loopback for the demo; in production the JWKS URL is https.
	remote, err := tokens.NewRemoteKeySet(ctx, idURL+"/.well-known/jwks.json", tokens.WithInsecureHTTP())
	if err != nil {
		return err
	}
	defer remote.Close()
	tv, err := tokens.NewVerifier(remote, idURL, []string{checkoutAudience})
	if err != nil {
		return err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	nonces, err := dpop.NewNonces(secret)
	if err != nil {
		return err
	}
	pv, err := dpop.NewVerifier(dpop.WithNonces(nonces))
	if err != nil {
		return err
	}
	rv, err := dpop.NewRequestVerifier(tv, pv, dpop.WithExternalURL(coURL))
	if err != nil {
		return err
	}
	co := &checkout{requests: rv, nonces: nonces, decide: p.line}
	stopCO := startServer(coLn, co.routes())
	defer stopCO()

	p.line("identity: %s (JWKS at /.well-known/jwks.json, DPoP token endpoint at /token)", idURL)
	p.line("checkout: %s (POST /orders needs a DPoP-bound token with scope checkout:write)", coURL)
	p.line("")

	if err := scenario(ctx, p, idURL, coURL); err != nil {
		return err
	}
	if !*serve {
		return nil
	}
	p.line("")
	p.line("serving; press Ctrl-C to stop")
	<-ctx.Done()
	return nil
}

// scenario plays the storefront's and the attacker's requests and checks each outcome.
func scenario(ctx context.Context, p *printer, idURL, coURL string) error {
	storefrontKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	proofer, err := dpop.NewProofer(storefrontKey, "")
	if err != nil {
		return err
	}
	rec := &recorder{base: http.DefaultTransport, p: p, who: "storefront"}

	p.line("1. The storefront gets a token bound to its DPoP key.")
	tok, err := getToken(ctx, proofer, rec, idURL, "cart:read checkout:write")
	if err != nil {
		return err
	}
	shop := &http.Client{Transport: &dpop.Transport{Base: rec, Proofer: proofer, Token: staticToken(tok)}}

	p.line("2. It places an order: checkout asks for a nonce, the transport retries with it.")
	if err := expect(http.StatusCreated)(post(ctx, shop, coURL+"/orders")); err != nil {
		return err
	}

	p.line("3. An attacker who captured that request replays it.")
	last := rec.lastRequest()
	attacker := &recorder{base: http.DefaultTransport, p: p, who: "attacker  "}
	replay, err := http.NewRequestWithContext(ctx, http.MethodPost, coURL+"/orders", nil)
	if err != nil {
		return err
	}
	replay.Header = last.Clone()
	if err := expect(http.StatusUnauthorized)(send(attacker, replay)); err != nil {
		return err
	}

	p.line("4. The attacker presents the stolen token as a plain Bearer token.")
	bearer, err := http.NewRequestWithContext(ctx, http.MethodPost, coURL+"/orders", nil)
	if err != nil {
		return err
	}
	bearer.Header.Set("Authorization", "Bearer "+tok)
	if err := expect(http.StatusUnauthorized)(send(attacker, bearer)); err != nil {
		return err
	}

	p.line("5. The attacker signs fresh proofs with its own key for the stolen token.")
	attackerKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	attackerProofer, err := dpop.NewProofer(attackerKey, "")
	if err != nil {
		return err
	}
	stolen := &http.Client{Transport: &dpop.Transport{Base: attacker, Proofer: attackerProofer, Token: staticToken(tok)}}
	if err := expect(http.StatusUnauthorized)(post(ctx, stolen, coURL+"/orders")); err != nil {
		return err
	}

	p.line("6. A token for browsing only (cart:read) cannot place an order.")
	readOnly, err := getToken(ctx, proofer, rec, idURL, "cart:read")
	if err != nil {
		return err
	}
	browse := &http.Client{Transport: &dpop.Transport{Base: rec, Proofer: proofer, Token: staticToken(readOnly)}}
	if err := expect(http.StatusForbidden)(post(ctx, browse, coURL+"/orders")); err != nil {
		return err
	}
	p.line("")
	p.line("every request was decided as expected; no token or proof was printed")
	return nil
}

// getToken runs the client_credentials grant with a DPoP proof.
func getToken(ctx context.Context, proofer *dpop.Proofer, base http.RoundTripper, idURL, scope string) (string, error) {
	c := &http.Client{Transport: &dpop.Transport{Base: base, Proofer: proofer}}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, idURL+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("storefront", "demo-storefront-secret")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tr tokenResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&tr); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK || tr.TokenType != "DPoP" || tr.AccessToken == "" {
		return "", fmt.Errorf("%w: status %d, error %q", errNoToken, resp.StatusCode, tr.Error)
	}
	return tr.AccessToken, nil
}

type staticToken string

func (t staticToken) AccessToken(context.Context) (string, error) { return string(t), nil }

func post(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(`{"cart":"cart_7","payment":"pm_card_visa"}`))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.Do(req)
}

func send(rt http.RoundTripper, req *http.Request) (*http.Response, error) { return rt.RoundTrip(req) }

// expect returns a check that a response has status want.
func expect(want int) func(*http.Response, error) error {
	return func(resp *http.Response, err error) error {
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != want {
			return fmt.Errorf("expected status %d, got %d", want, resp.StatusCode)
		}
		return nil
	}
}

// recorder prints each request and its response, and remembers the headers
// of the last request so the attacker can replay it. It never prints a token
// or a proof.
type recorder struct {
	base http.RoundTripper
	p    *printer
	who  string

	mu   sync.Mutex
	last http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.last = req.Header.Clone()
	r.mu.Unlock()
	what := describe(req.Header)
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	outcome := resp.Status
	if code := challengeError(resp.Header); code != "" {
		outcome += " " + code
	}
	r.p.line("%s: %s %s%s → %s", r.who, req.Method, req.URL.Path, what, outcome)
	return resp, nil
}

func (r *recorder) lastRequest() http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// describe says which credentials a request carries, without their values.
func describe(h http.Header) string {
	var parts []string
	if a := h.Get("Authorization"); a != "" {
		scheme, _, _ := strings.Cut(a, " ")
		if strings.EqualFold(scheme, "Basic") {
			parts = append(parts, "client secret")
		} else {
			parts = append(parts, scheme+" token")
		}
	}
	if len(h["Dpop"]) > 0 {
		parts = append(parts, "DPoP proof")
	}
	if len(parts) == 0 {
		return ""
	}
	return " [" + strings.Join(parts, ", ") + "]"
}

// challengeError returns the error code of a DPoP or Bearer challenge.
func challengeError(h http.Header) string {
	for _, v := range h.Values("WWW-Authenticate") {
		cs, err := httphdr.ParseChallenges(v)
		if err != nil {
			continue
		}
		for _, c := range cs {
			if e := c.Params["error"]; e != "" {
				return e
			}
		}
	}
	return ""
}

// printer serialises output lines.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

func newSigningKey() (*tokens.SigningKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return tokens.NewSigningKey(k, "")
}

func listen() (net.Listener, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	return ln, "http://" + ln.Addr().String(), nil
}

// startServer serves h on ln and returns a function that shuts it down.
func startServer(ln net.Listener, h http.Handler) func() {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "shop: server:", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
}
