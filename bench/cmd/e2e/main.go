// Command e2e is the server of bench/e2e.sh: a small checkout API on loopback
// (POST /orders answers 201 with a small JSON body) over TLS 1.3, with or
// without ztkit's middleware in front of the handler, for wrk to load.
//
// Before it listens for load it mints, with ztkit's Issuer and Proofer, one
// DPoP-bound access token and -proofs fresh DPoP proofs for POST /orders,
// and writes them to <dir>/requests.txt (the token on the first line, one
// proof per line after it) for e2e.lua. No signing happens during the run.
// When it is ready it writes its address to <dir>/addr. On SIGINT or SIGTERM
// it prints how many requests it served and refused, and exits.
//
// Modes:
//
//	plain       the handler alone; the token and proof headers are sent but not read
//	ztkit-warm  middleware.New with Policy{Token: DPoPBoundToken}: the token's verification is cached (one token), the proof is verified per request
//	ztkit-cold  the same with the token cache off: token and proof verified per request
//
// wrk cannot present a client certificate, so the TLS is server-authenticated
// only (the server's X509-SVID comes from an in-process SPIFFE Workload API)
// and the policy has no Peer; BenchmarkMiddleware measures the peer check.
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffesource"
	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/middleware"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
)

const (
	issuerURL = "https://id.shop.example"
	audience  = "https://checkout.shop.example"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) (err error) {
	mode := flag.String("mode", "ztkit-warm", "plain, ztkit-warm or ztkit-cold")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	dir := flag.String("dir", ".", "directory for requests.txt and addr")
	n := flag.Int("proofs", 100_000, "DPoP proofs to mint")
	flag.Parse()

	// The server's identity, from the SPIFFE Workload API.
	td := spiffeid.RequireTrustDomainFromString("shop.example")
	iss, err := spiffetest.New(ctx, td)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, iss.Close()) }()
	if err := iss.Register(spiffeid.RequireFromPath(td, "/checkout")); err != nil {
		return err
	}
	svids, err := spiffesource.NewX509Source(ctx, iss.Addr())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, svids.Close()) }()
	tlsConfig := tlsconfig.TLSServerConfig(svids)
	tlsConfig.MinVersion = tls.VersionTLS13

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	origin := "https://" + ln.Addr().String()

	// The issuer's key, a client's DPoP key, a token bound to it.
	issuerKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	sk, err := tokens.NewSigningKey(issuerKey, "")
	if err != nil {
		return err
	}
	keys, err := tokens.NewKeySet(sk)
	if err != nil {
		return err
	}
	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	proofer, err := dpop.NewProofer(clientKey, "")
	if err != nil {
		return err
	}
	issuer, err := tokens.NewIssuer(issuerURL, keys, tokens.WithLifetime(30*time.Minute))
	if err != nil {
		return err
	}
	token, err := issuer.Issue(ctx, tokens.TokenRequest{
		Subject: "customer-42", ClientID: "storefront", Audience: []string{audience},
		Scopes: []string{"cart:read", "checkout:write"}, ACR: "urn:shop:acr:mfa", AMR: []string{"pwd", "otp"},
		AuthTime: time.Now().Add(-time.Minute), DPoPKeyThumbprint: proofer.Thumbprint(),
	})
	if err != nil {
		return err
	}

	var count counts
	var handler http.Handler
	switch *mode {
	case "plain":
		handler = orders(&count, false)
	case "ztkit-warm", "ztkit-cold":
		cacheSize := tokens.DefaultCacheSize
		if *mode == "ztkit-cold" {
			cacheSize = 0
		}
		auth, err := ztkit(keys, origin, cacheSize)
		if err != nil {
			return err
		}
		handler = auth(orders(&count, true))
	default:
		return fmt.Errorf("unknown mode %q", *mode)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /orders", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count.total.Add(1)
		handler.ServeHTTP(w, r)
	}))

	start := time.Now()
	if err := writeRequests(filepath.Join(*dir, "requests.txt"), proofer, token, origin+"/orders", *n); err != nil {
		return err
	}
	fmt.Printf("e2e: mode %s, %d proofs minted in %s\n", *mode, *n, time.Since(start).Round(time.Millisecond))

	srv := &http.Server{Handler: mux, TLSConfig: tlsConfig, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(tls.NewListener(ln, tlsConfig)) }()
	if err := os.WriteFile(filepath.Join(*dir, "addr"), []byte(ln.Addr().String()), 0o600); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	fmt.Printf("e2e: mode %s, %d requests, %d served by the handler, %d refused\n",
		*mode, count.total.Load(), count.allowed.Load(), count.total.Load()-count.allowed.Load())
	return err
}

// counts are the requests to POST /orders, and those that the handler served.
type counts struct{ total, allowed atomic.Int64 }

// orders is the checkout's handler. With ztkit it requires the caller in the
// context and scope checkout:write.
func orders(c *counts, withZtkit bool) http.Handler {
	body := []byte(`{"order":"ord_1001","status":"created"}` + "\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if withZtkit {
			p, ok := authn.PrincipalFromContext(r.Context())
			if !ok || !p.HasScope("checkout:write") {
				http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
				return
			}
		}
		c.allowed.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	})
}

// ztkit returns the middleware: a DPoP-bound token from issuerURL for
// audience, with a fresh proof per request checked against a replay store
// large enough that nothing is evicted during a run.
func ztkit(keys tokens.KeySource, origin string, cacheSize int) (func(http.Handler) http.Handler, error) {
	tv, err := tokens.NewVerifier(keys, issuerURL, []string{audience}, tokens.WithCacheSize(cacheSize))
	if err != nil {
		return nil, err
	}
	store, err := dpop.NewMemoryReplayStore(dpop.WithMaxEntries(1 << 21))
	if err != nil {
		return nil, err
	}
	pv, err := dpop.NewVerifier(dpop.WithReplayStore(store))
	if err != nil {
		return nil, err
	}
	rv, err := dpop.NewRequestVerifier(tv, pv, dpop.WithExternalURL(origin))
	if err != nil {
		return nil, err
	}
	a, err := authn.New(authn.Policy{Token: authn.DPoPBoundToken}, authn.WithAccessTokens(rv))
	if err != nil {
		return nil, err
	}
	return middleware.New(a)
}

// writeRequests writes the token and n proofs for POST htu bound to it, made
// on every CPU at once.
func writeRequests(path string, p *dpop.Proofer, token, htu string, n int) (err error) {
	proofs := make([]string, n)
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if proofs[i], errs[w] = p.Proof(dpop.ProofRequest{Method: http.MethodPost, URL: htu, AccessToken: token}); errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	bw := bufio.NewWriter(f)
	fmt.Fprintln(bw, token)
	for _, proof := range proofs {
		fmt.Fprintln(bw, proof)
	}
	return bw.Flush()
}
