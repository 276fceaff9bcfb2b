package grant_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens/grant"
)

// jwtWithExp returns an unsigned JWT-shaped token with exp; the peer
// accepts subject tokens by value, so no signature is needed.
func jwtWithExp(sub string, exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"ES256"}`)) + "." + enc([]byte(fmt.Sprintf(`{"sub":%q,"exp":%d}`, sub, exp.Unix()))) + ".c2ln"
}

func newExchanger(t *testing.T, p *peer, opts ...grant.Option) *grant.Exchanger {
	t.Helper()
	opts = append([]grant.Option{grant.WithInsecureHTTP(), grant.WithDPoP(newProofer(t)), grant.WithAudience("https://payments.shop.example"), grant.WithScopes("payments:charge")}, opts...)
	x, err := grant.NewExchanger(p.url, "checkout", basicAuth(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = x.Close() })
	return x
}

func TestExchange(t *testing.T) {
	p := newPeer(t, false, func(p *peer) { p.secret = secret; p.subjects["ada-token"] = "ada" })
	requireNonces(t)(p)
	var actorCalls int
	x := newExchanger(t, p, grant.WithActorToken(func(context.Context) (string, error) {
		actorCalls++
		return "checkout-jwt-svid", nil
	}, ""))
	tok, err := x.Exchange(context.Background(), "ada-token")
	require.NoError(t, err)
	assert.Equal(t, grant.TokenTypeDPoP, tok.TokenType)
	assert.Equal(t, "urn:ietf:params:oauth:token-type:access_token", tok.IssuedTokenType)
	assert.Equal(t, []string{"payments:charge"}, tok.Scopes)
	require.EqualValues(t, 2, p.requests.Load(), "the nonce retry")
	f := p.form(1)
	for k, v := range map[string]string{
		"grant_type":         "urn:ietf:params:oauth:grant-type:token-exchange",
		"subject_token":      "ada-token",
		"subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"actor_token":        "checkout-jwt-svid",
		"actor_token_type":   "urn:ietf:params:oauth:token-type:jwt",
		"audience":           "https://payments.shop.example",
		"scope":              "payments:charge",
	} {
		assert.Equal(t, v, f.Get(k), k)
	}
	assert.False(t, f.Has("requested_token_type"), "the server's default unless asked")
	assert.Equal(t, 1, actorCalls, "one actor token for the request and its retry")

	again, err := x.Exchange(context.Background(), "ada-token")
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken, again.AccessToken)
	assert.EqualValues(t, 2, p.requests.Load(), "cached")
}

func TestExchangeCachePerSubject(t *testing.T) {
	p := newPeer(t, false, func(p *peer) {
		p.secret = secret
		p.subjects["ada-token"], p.subjects["bob-token"] = "ada", "bob"
	})
	x := newExchanger(t, p)
	ctxAda := grant.ContextWithSubjectToken(context.Background(), "ada-token")
	ctxBob := grant.ContextWithSubjectToken(context.Background(), "bob-token")
	a1, err := x.AccessToken(ctxAda)
	require.NoError(t, err)
	b1, err := x.AccessToken(ctxBob)
	require.NoError(t, err)
	a2, err := x.AccessToken(ctxAda)
	require.NoError(t, err)
	assert.NotEqual(t, a1, b1)
	assert.Equal(t, a1, a2)
	assert.EqualValues(t, 2, p.requests.Load())
	assert.Equal(t, 2, x.Len())

	_, err = x.AccessToken(context.Background())
	assert.ErrorIs(t, err, grant.ErrNoSubjectToken)
	_, err = x.Exchange(context.Background(), "")
	assert.ErrorIs(t, err, grant.ErrNoSubjectToken)
}

func TestExchangeSingleFlight(t *testing.T) {
	p := newPeer(t, false, func(p *peer) { p.secret = secret; p.subjects["ada-token"] = "ada"; p.gate = make(chan struct{}) })
	x := newExchanger(t, p)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := x.Exchange(context.Background(), "ada-token")
			assert.NoError(t, err)
		}()
	}
	require.Eventually(t, func() bool { return p.requests.Load() == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(10 * time.Millisecond)
	close(p.gate)
	wg.Wait()
	assert.EqualValues(t, 1, p.requests.Load())
}

// An exchanged token is not used past its subject token's exp.
func TestExchangeSubjectExpiry(t *testing.T) {
	c := newClock()
	start := c.Now()
	subject := jwtWithExp("ada", start.Add(100*time.Second))
	p := newPeer(t, false, func(p *peer) { p.secret = secret; p.subjects[subject] = "ada"; p.lifetime = 3600 })
	x := newExchanger(t, p, grant.WithClock(c.Now))
	t1, err := x.Exchange(context.Background(), subject)
	require.NoError(t, err)
	c.Set(start, 99*time.Second)
	t2, err := x.Exchange(context.Background(), subject)
	require.NoError(t, err)
	assert.Equal(t, t1.AccessToken, t2.AccessToken)
	assert.EqualValues(t, 1, p.requests.Load(), "no refresh ahead past the subject's expiry")
	c.Set(start, 100*time.Second)
	t3, err := x.Exchange(context.Background(), subject)
	require.NoError(t, err, "the peer does not check exp; a real token service would refuse")
	assert.NotEqual(t, t1.AccessToken, t3.AccessToken)
	assert.EqualValues(t, 2, p.requests.Load())
}

func TestExchangeCacheBounded(t *testing.T) {
	p := newPeer(t, false, func(p *peer) {
		p.secret = secret
		for _, s := range []string{"a", "b", "c"} {
			p.subjects[s] = s
		}
	})
	x := newExchanger(t, p, grant.WithCacheSize(2))
	for _, s := range []string{"a", "b", "c"} {
		_, err := x.Exchange(context.Background(), s)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, x.Len())
	_, err := x.Exchange(context.Background(), "a")
	require.NoError(t, err)
	assert.EqualValues(t, 4, p.requests.Load(), "the oldest entry was dropped")
}

func TestExchangeRefusedNotCached(t *testing.T) {
	p := newPeer(t, false, func(p *peer) { p.secret = secret })
	x := newExchanger(t, p)
	for range 2 {
		_, err := x.Exchange(context.Background(), "stolen-token")
		var e *grant.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, "invalid_grant", e.Code)
		assert.NotContains(t, err.Error(), "stolen-token")
	}
	assert.EqualValues(t, 2, p.requests.Load())
}

func TestExchangeActorTokenFails(t *testing.T) {
	p := newPeer(t, false, func(p *peer) { p.secret = secret; p.subjects["ada-token"] = "ada" })
	errSVID := errors.New("no JWT-SVID")
	x := newExchanger(t, p, grant.WithActorToken(func(context.Context) (string, error) { return "", errSVID }, ""))
	_, err := x.Exchange(context.Background(), "ada-token")
	assert.ErrorIs(t, err, grant.ErrClientAuth)
	assert.ErrorIs(t, err, errSVID)
	assert.Zero(t, p.requests.Load())
}

func TestExchangeNeedsIssuedTokenType(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"a","token_type":"Bearer","expires_in":60}`))
	}))
	defer srv.Close()
	x, err := grant.NewExchanger(srv.URL, "c", grant.TLSClientAuth(), grant.WithInsecureHTTP())
	require.NoError(t, err)
	defer x.Close()
	_, err = x.Exchange(context.Background(), "s")
	assert.ErrorIs(t, err, grant.ErrMalformedResponse)
}

func TestExchangerClose(t *testing.T) {
	p := newPeer(t, false, func(p *peer) { p.secret = secret; p.subjects["s"] = "s" })
	x := newExchanger(t, p)
	require.NoError(t, x.Close())
	require.NoError(t, x.Close())
	_, err := x.Exchange(context.Background(), "s")
	assert.ErrorIs(t, err, grant.ErrClosed)

	_, err = grant.NewExchanger(p.url, "c", basicAuth(), grant.WithInsecureHTTP(), grant.WithCacheSize(0))
	assert.ErrorIs(t, err, grant.ErrInvalidConfig)
	var zero *grant.Exchanger
	_, err = zero.Exchange(context.Background(), "s")
	assert.ErrorIs(t, err, grant.ErrInvalidConfig)
}

func TestExchangeNoClientAuth(t *testing.T) {
	p := newPeer(t, false, func(p *peer) { p.noAuth = true; p.subjects["ada-token"] = "ada" })
	x, err := grant.NewExchanger(p.url, "", grant.NoClientAuth(), grant.WithInsecureHTTP(), grant.WithDPoP(newProofer(t)),
		grant.WithActorToken(func(context.Context) (string, error) { return "checkout-jwt-svid", nil }, ""))
	require.NoError(t, err)
	defer x.Close()
	_, err = x.Exchange(context.Background(), "ada-token")
	require.NoError(t, err)
	f := p.form(0)
	assert.False(t, f.Has("client_id"))

	_, err = grant.NewClientCredentials(p.url, "", grant.NoClientAuth(), grant.WithInsecureHTTP())
	assert.ErrorIs(t, err, grant.ErrInvalidConfig, "client credentials need a client ID")
	_, err = grant.NewExchanger(p.url, "", grant.TLSClientAuth(), grant.WithInsecureHTTP())
	assert.ErrorIs(t, err, grant.ErrInvalidConfig)
}
