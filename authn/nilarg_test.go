package authn_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/authn/spiffesource"
	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// TestNilArguments: misuse that compiles (a nil source, a source whose
// constructor failed, a nil authorizer, option or request) is refused with a
// typed error when it is made, never a panic at the first handshake or request.
func TestNilArguments(t *testing.T) {
	iss := shoprig.NewIssuer(t, shoprig.TrustDomain)
	svid := shoprig.SVID(t, iss, shoprig.Payments)
	bundle := iss.X509Bundle()
	var (
		nilSource  *workloadapi.X509Source // what a failed spiffesource.NewX509Source returns
		nilSVID    *x509svid.SVID
		nilBundle  *x509bundle.Bundle
		nilJWT     *jwtbundle.Bundle
		nilBundles *workloadapi.BundleSource
		nilCtx     context.Context // a nil context, the misuse under test
	)
	tlsCases := []struct {
		name    string
		svid    x509svid.Source
		bundles x509bundle.Source
		peers   authn.IDMatcher
	}{
		{"nil svid source", nil, bundle, authn.MatchAny()},
		{"nil bundle source", svid, nil, authn.MatchAny()},
		{"nil authorizer", svid, bundle, nil},
		{"nil *X509Source as svid source", nilSource, bundle, authn.MatchAny()},
		{"nil *X509Source as bundle source", svid, nilSource, authn.MatchAny()},
		{"nil *SVID", nilSVID, bundle, authn.MatchAny()},
		{"nil *Bundle", svid, nilBundle, authn.MatchAny()},
		{"nil *BundleSource", svid, nilBundles, authn.MatchAny()},
	}
	for _, tc := range tlsCases {
		t.Run("ServerTLSConfig/"+tc.name, func(t *testing.T) {
			var (
				cfg *tls.Config
				err error
			)
			require.NotPanics(t, func() { cfg, err = authn.ServerTLSConfig(tc.svid, tc.bundles, tc.peers) })
			assert.ErrorIs(t, err, authn.ErrInvalidConfig)
			assert.Nil(t, cfg)
		})
		t.Run("ClientTLSConfig/"+tc.name, func(t *testing.T) {
			var (
				cfg *tls.Config
				err error
			)
			require.NotPanics(t, func() { cfg, err = authn.ClientTLSConfig(tc.svid, tc.bundles, tc.peers) })
			assert.ErrorIs(t, err, authn.ErrInvalidConfig)
			assert.Nil(t, cfg)
		})
	}
	t.Run("ServerTLSConfig and ClientTLSConfig accept real sources", func(t *testing.T) {
		s, err := authn.ServerTLSConfig(svid, bundle, authn.MatchAny())
		require.NoError(t, err)
		assert.EqualValues(t, tls.VersionTLS13, s.MinVersion)
		assert.Equal(t, tls.RequireAnyClientCert, s.ClientAuth)
		c, err := authn.ClientTLSConfig(svid, bundle, authn.MatchAny())
		require.NoError(t, err)
		assert.EqualValues(t, tls.VersionTLS13, c.MinVersion)
		assert.NotNil(t, c.VerifyPeerCertificate)
	})

	newCases := []struct {
		name   string
		policy authn.Policy
		opts   []authn.Option
	}{
		{"nil option", authn.Policy{Token: authn.NoToken, Peer: authn.MatchAny()}, []authn.Option{nil}},
		{"nil X.509 bundles", authn.Policy{Peer: authn.MatchAny()}, []authn.Option{authn.WithX509Bundles(nil)}},
		{"nil *X509Source as X.509 bundles", authn.Policy{Peer: authn.MatchAny()}, []authn.Option{authn.WithX509Bundles(nilSource)}},
		{"nil access-token verifier", authn.Policy{Token: authn.AccessToken}, []authn.Option{authn.WithAccessTokens(nil)}},
		{"nil JWT bundles", authn.Policy{Token: authn.JWTSVID}, []authn.Option{authn.WithJWTSVIDs(nil, "spiffe://shop.example/payments")}},
		{"nil *jwtbundle.Bundle", authn.Policy{Token: authn.JWTSVID}, []authn.Option{authn.WithJWTSVIDs(nilJWT, "spiffe://shop.example/payments")}},
	}
	for _, tc := range newCases {
		t.Run("New/"+tc.name, func(t *testing.T) {
			var (
				a   *authn.Authenticator
				err error
			)
			require.NotPanics(t, func() { a, err = authn.New(tc.policy, tc.opts...) })
			assert.ErrorIs(t, err, authn.ErrInvalidConfig)
			assert.Nil(t, a)
		})
	}

	t.Run("Authenticate with a nil request or context", func(t *testing.T) {
		a, err := authn.New(authn.Policy{Peer: authn.MatchAny()}, authn.WithX509Bundles(bundle))
		require.NoError(t, err)
		r := httptest.NewRequest(http.MethodGet, "https://payments.shop.example/settle", nil)
		for name, call := range map[string]func() (*authn.Principal, error){
			"nil request": func() (*authn.Principal, error) { return a.Authenticate(context.Background(), nil) },
			"nil context": func() (*authn.Principal, error) { return a.Authenticate(nilCtx, r) },
		} {
			var (
				p   *authn.Principal
				err error
			)
			require.NotPanics(t, func() { p, err = call() }, name)
			assert.ErrorIs(t, err, dpop.ErrInvalidRequest, name)
			assert.Nil(t, p, name)
		}
		var nilAuth *authn.Authenticator
		require.NotPanics(t, func() { _, err = nilAuth.Authenticate(context.Background(), r) })
		assert.ErrorIs(t, err, authn.ErrInvalidConfig)
	})

	t.Run("nil Principal", func(t *testing.T) {
		var p *authn.Principal
		require.NotPanics(t, func() {
			assert.False(t, p.HasScope("orders:read"))
			assert.False(t, p.HasRole("admin"))
			assert.False(t, p.Has(authn.MethodMTLS))
			assert.Empty(t, p.LogValue().Group())
			slog.New(slog.DiscardHandler).Info("x", "principal", p)
		})
	})

	t.Run("spiffesource with a nil context", func(t *testing.T) {
		require.NotPanics(t, func() {
			s, err := spiffesource.NewX509Source(nilCtx, iss.Addr())
			assert.ErrorIs(t, err, authn.ErrInvalidConfig)
			assert.Nil(t, s)
			b, err := spiffesource.NewBundleSource(nilCtx, iss.Addr())
			assert.ErrorIs(t, err, authn.ErrInvalidConfig)
			assert.Nil(t, b)
		})
	})

	t.Run("spiffetest with nil arguments", func(t *testing.T) {
		require.NotPanics(t, func() {
			i, err := spiffetest.New(nilCtx, shoprig.TrustDomain)
			assert.ErrorIs(t, err, spiffetest.ErrInvalidConfig)
			assert.Nil(t, i)
			i, err = spiffetest.New(context.Background(), spiffeid.TrustDomain{}, nil, spiffetest.WithClock(nil),
				spiffetest.WithLogger(nil), spiffetest.WithAttestor(nil), spiffetest.WithFederatedBundle(nil))
			assert.ErrorIs(t, err, spiffetest.ErrInvalidConfig)
			assert.Nil(t, i)
			assert.ErrorIs(t, iss.SetFederatedBundle(nil), spiffetest.ErrInvalidConfig)
			_, err = iss.IssueX509SVID(shoprig.Payments, nil)
			assert.NoError(t, err)
		})
	})
}
