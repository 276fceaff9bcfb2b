package dpop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/ztkit/ztkit/internal/dpopnonce"
)

// TokenSource supplies the access token a [Transport] presents. It is called
// for every request and should return a cached token until it nears expiry.
type TokenSource interface {
	// AccessToken returns the current access token, DPoP-bound to the
	// Transport's proofer key.
	AccessToken(ctx context.Context) (string, error)
}

// Transport is an http.RoundTripper that adds a fresh DPoP proof to every
// request and, when Token is set, the access token as `Authorization: DPoP`
// (RFC 9449 §7.1) with the proof's ath. When a server answers with a
// use_dpop_nonce challenge (§8, §9) it retries the request once with the
// server's nonce, and it remembers each origin's latest DPoP-Nonce for the
// requests that follow; a challenge is one when [AdviseHTTP] says
// [ActionRetryWithNonce]. The retry resends the body through the request's
// GetBody; when a challenged request has a body and no GetBody, RoundTrip
// returns an error matching [ErrNonceRetryImpossible] rather than the
// challenge's 401 or 400, so the caller always learns why.
//
// A Transport is safe for concurrent use. It must not be copied after first use.
type Transport struct {
	// Base is the transport that sends requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Proofer makes the proofs. Required.
	Proofer *Proofer
	// Token, when set, supplies the access token for each request.
	Token TokenSource

	nonces dpopnonce.Book
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req == nil || req.URL == nil {
		if req != nil {
			closeBody(req)
		}
		return nil, errors.New("dpop: Transport given a request without a URL")
	}
	if t == nil || t.Proofer == nil {
		closeBody(req)
		return nil, errors.New("dpop: Transport has no Proofer")
	}
	var token string
	if t.Token != nil {
		var err error
		if token, err = t.Token.AccessToken(req.Context()); err != nil {
			closeBody(req)
			return nil, err
		}
	}
	origin := req.URL.Scheme + "://" + req.URL.Host
	nonce := t.nonces.Get(origin)
	resp, err := t.send(req, req.Body, token, nonce)
	if err != nil {
		return nil, err
	}
	fresh := t.nonces.Update(origin, nonce, resp.Header.Get("DPoP-Nonce"))
	if fresh == "" {
		return resp, nil
	}
	if adv, err := AdviseHTTP(resp); err != nil || adv.Action != ActionRetryWithNonce {
		return resp, nil
	}
	var body io.ReadCloser = http.NoBody
	var bodyErr error
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			bodyErr = ErrNonceRetryImpossible
		} else if b, err := req.GetBody(); err != nil {
			bodyErr = fmt.Errorf("%w: GetBody: %w", ErrNonceRetryImpossible, err)
		} else {
			body = b
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxNonceBody))
	resp.Body.Close()
	if bodyErr != nil {
		return nil, bodyErr
	}
	return t.send(req, body, token, fresh)
}

// send sends a clone of req with body and a fresh proof.
func (t *Transport) send(req *http.Request, body io.ReadCloser, token, nonce string) (*http.Response, error) {
	u := *req.URL
	u.RawQuery, u.Fragment, u.RawFragment, u.User = "", "", "", nil
	proof, err := t.Proofer.Proof(ProofRequest{Method: req.Method, URL: u.String(), AccessToken: token, Nonce: nonce})
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Body = body
	r.Header.Set("DPoP", proof)
	if token != "" {
		r.Header.Set("Authorization", "DPoP "+token)
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
