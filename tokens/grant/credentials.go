package grant

import (
	"context"
	"fmt"
	"net/url"
)

// ClientCredentials runs the client credentials grant (RFC 6749 §4.4) at
// one token endpoint, for any authorization server of RFC 6749 and, with
// [WithDPoP], RFC 9449. Each [ClientCredentials.Fetch] sends one request
// (two with a DPoP nonce retry); wrap it in [NewSource] to cache tokens:
//
//	cc, err := grant.NewClientCredentials("https://id.shop.example/token", "checkout",
//		grant.TLSClientAuth(), grant.WithHTTPClient(mtlsClient), grant.WithDPoP(proofer),
//		grant.WithScopes("payments:charge"), grant.WithResource("https://payments.shop.example"))
//	src, err := grant.NewSource(cc)
//	client := &http.Client{Transport: &dpop.Transport{Proofer: proofer, Token: src}}
//
// A ClientCredentials is safe for concurrent use.
type ClientCredentials struct {
	e *endpoint
}

// NewClientCredentials returns a client of the token endpoint at tokenURL
// (https, unless [WithInsecureHTTP]) for clientID, authenticated by auth.
// It returns an error matching [ErrInvalidConfig] when an argument or option
// is unusable or an option is for [NewExchanger] only.
func NewClientCredentials(tokenURL, clientID string, auth ClientAuth, opts ...Option) (*ClientCredentials, error) {
	cfg, bad := newConfig(forRequest, opts)
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w: options %v do not apply to NewClientCredentials", ErrInvalidConfig, bad)
	}
	e, err := newEndpoint(tokenURL, clientID, auth, cfg, false)
	if err != nil {
		return nil, err
	}
	return &ClientCredentials{e: e}, nil
}

// Fetch requests a new token. Errors match [ErrRefused] (an [*Error] with
// the server's code), [ErrUnavailable], [ErrMalformedResponse],
// [ErrTokenType] or [ErrClientAuth].
func (c *ClientCredentials) Fetch(ctx context.Context) (*Token, error) {
	if c == nil || c.e == nil {
		return nil, fmt.Errorf("%w: ClientCredentials not created by NewClientCredentials", ErrInvalidConfig)
	}
	return c.e.request(ctx, url.Values{"grant_type": {grantTypeClientCreds}}, false)
}
