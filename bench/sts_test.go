package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authn/spiffetest"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/sts"
)

// The exchange benchmark times one RFC 8693 token exchange through
// tokens/sts: checkout, proving who it is with a JWT-SVID, exchanges a
// customer's access token (sent to it by the storefront) for one to call
// payments with. One exchange verifies two signatures (the subject token,
// issued by the token service's own key; the actor's JWT-SVID, by the SPIFFE
// trust domain's JWT authority) and makes one (the new token); with DPoP it
// verifies a third (the proof). The floor is exactly that cryptography over
// the same inputs.

// The token service of the exchange benchmark.
const (
	stsEndpoint = issuerURL + "/token"
	// stsAudience is the audience of actor JWT-SVIDs: the token service's own.
	stsAudience = "spiffe://shop.example/sts"
	paymentsAud = "https://payments.shop.example"
)

var checkoutID = spiffeid.RequireFromPath(shopTD, "/checkout")

// stsRig is a token service (sts.Server on the rig's issuer key) with
// checkout as an actor, the customer's subject token, and checkout's JWT-SVID
// for the token service.
type stsRig struct {
	r       *rig
	spiffe  *spiffetest.Issuer
	issuer  *tokens.Issuer
	subject string // the customer's token, aud checkout (audience)
	actor   string // checkout's JWT-SVID, aud stsAudience
	body    string // the exchange request's form
}

// newSTSRig returns the rig.
func newSTSRig(tb testing.TB) *stsRig {
	tb.Helper()
	s := &stsRig{r: newRig(tb, "ES256")}
	var err error
	s.spiffe, err = spiffetest.New(context.Background(), shopTD)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.spiffe.Close() })
	s.issuer, err = tokens.NewIssuer(issuerURL, s.r.keys, tokens.WithLifetime(tokenLifetime))
	require.NoError(tb, err)
	s.subject, err = s.issuer.Issue(context.Background(), tokens.TokenRequest{
		Subject: "customer-42", ClientID: "storefront", Audience: []string{audience},
		Scopes: []string{"checkout:write", "payments:write"}, ACR: "mfa", AMR: []string{"pwd", "otp"},
		MayAct: &tokens.Actor{Subject: checkoutID.String()},
	})
	require.NoError(tb, err)
	s.actor, err = s.spiffe.IssueJWTSVID(checkoutID, []string{stsAudience})
	require.NoError(tb, err)
	s.body = url.Values{
		"grant_type":         {sts.GrantTypeTokenExchange},
		"subject_token":      {s.subject},
		"subject_token_type": {sts.TokenTypeAccessToken},
		"actor_token":        {s.actor},
		"actor_token_type":   {sts.TokenTypeJWT},
		"audience":           {paymentsAud},
		"scope":              {"payments:write"},
	}.Encode()
	return s
}

// server returns the token endpoint; dpopOptional makes DPoP optional (the
// issued token is then a Bearer token). Subject tokens are verified without
// the verifier's cache, so every op checks the subject token's signature as
// a first exchange does.
func (s *stsRig) server(tb testing.TB, dpopOptional bool) *sts.Server {
	tb.Helper()
	v, err := tokens.NewVerifier(s.r.keys, issuerURL, []string{audience}, tokens.WithCacheSize(0))
	require.NoError(tb, err)
	store, err := dpop.NewMemoryReplayStore(dpop.WithMaxEntries(1 << 18))
	require.NoError(tb, err)
	opts := []sts.Option{
		sts.WithTokenExchange(v, sts.ActorPolicy{ID: checkoutID, Audiences: []string{paymentsAud}, Scopes: []string{"payments:write"}}),
		sts.WithJWTSVIDs(s.spiffe.JWTBundle(), stsAudience),
		// 2^18 proofs: nothing is evicted during a run.
		sts.WithReplayStore(store),
	}
	if dpopOptional {
		opts = append(opts, sts.WithDPoPOptional())
	}
	srv, err := sts.New(issuerURL, stsEndpoint, s.issuer, opts...)
	require.NoError(tb, err)
	return srv
}

// exchange sends one token request with proof (none when "") and returns
// the response.
func (s *stsRig) exchange(srv *sts.Server, proof string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, stsEndpoint, strings.NewReader(s.body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	return w
}

// BenchmarkExchange is one token exchange through sts.Server.ServeHTTP
// (form, subject token, actor JWT-SVID, policy, may_act, issue, JSON
// response) beside its floor, with and without DPoP.
func BenchmarkExchange(b *testing.B) {
	s := newSTSRig(b)
	b.Run("floor", func(b *testing.B) { benchExchangeFloor(b, s, false) })
	b.Run("ztkit", func(b *testing.B) { benchExchange(b, s, false) })
	b.Run("floor-dpop", func(b *testing.B) { benchExchangeFloor(b, s, true) })
	b.Run("ztkit-dpop", func(b *testing.B) { benchExchange(b, s, true) })
}

func benchExchange(b *testing.B, s *stsRig, withDPoP bool) {
	srv := s.server(b, !withDPoP)
	var proofs *proofBatch
	if withDPoP {
		// Proofs of the rig's DPoP client for the token endpoint (no ath:
		// a token request carries no access token).
		proofs = newProofBatchFor(b, s.r, "", stsEndpoint)
	}
	b.ReportAllocs()
	cpu := startCPU()
	if proofs != nil {
		proofs.cpu = cpu
	}
	for b.Loop() {
		proof := ""
		if proofs != nil {
			proof = proofs.take(b)
		}
		if w := s.exchange(srv, proof); w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
	cpu.report(b)
}

// benchExchangeFloor is the cryptography of one exchange over the same
// inputs: SHA-256 and ecdsa.VerifyASN1 of the subject token (issuer key) and
// of the actor JWT-SVID (the trust domain's JWT authority), SHA-256 and
// ecdsa.SignASN1 of a signing input of the issued token's size; withDPoP adds
// the proof's SHA-256 and verify. Signatures are converted to DER once.
func benchExchangeFloor(b *testing.B, s *stsRig, withDPoP bool) {
	subjectInput, subjectSig := splitJWS(b, s.subject)
	subjectDER := rsToDER(b, subjectSig)
	issuerPub := s.r.pub.(*ecdsa.PublicKey)
	actorInput, actorSig := splitJWS(b, s.actor)
	actorDER := rsToDER(b, actorSig)
	actorPub := jwtAuthority(b, s)
	// The issued token's signing input is about as long as the subject
	// token's (the same claims plus act, cnf): sign the subject's.
	signer := s.r.priv.(*ecdsa.PrivateKey)
	proofInput, proofSig := splitJWS(b, s.r.proofFor(b, "", stsEndpoint))
	proofDER := rsToDER(b, proofSig)
	clientPub := &s.r.client.PublicKey
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		h := sha256.Sum256(subjectInput)
		if !ecdsa.VerifyASN1(issuerPub, h[:], subjectDER) {
			b.Fatal("floor: bad subject token signature")
		}
		h = sha256.Sum256(actorInput)
		if !ecdsa.VerifyASN1(actorPub, h[:], actorDER) {
			b.Fatal("floor: bad actor token signature")
		}
		if withDPoP {
			h = sha256.Sum256(proofInput)
			if !ecdsa.VerifyASN1(clientPub, h[:], proofDER) {
				b.Fatal("floor: bad proof signature")
			}
		}
		h = sha256.Sum256(subjectInput)
		if _, err := ecdsa.SignASN1(rand.Reader, signer, h[:]); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// jwtAuthority returns the public key that signed the actor JWT-SVID, found
// by its kid in the trust domain's JWT bundle.
func jwtAuthority(tb testing.TB, s *stsRig) *ecdsa.PublicKey {
	tb.Helper()
	header, err := b64.DecodeString(strings.Split(s.actor, ".")[0])
	require.NoError(tb, err)
	var h struct {
		Kid string `json:"kid"`
	}
	require.NoError(tb, json.Unmarshal(header, &h))
	key, ok := s.spiffe.JWTBundle().FindJWTAuthority(h.Kid)
	require.True(tb, ok)
	pub, ok := key.(*ecdsa.PublicKey)
	require.True(tb, ok)
	return pub
}

// TestExchangeEquivalence checks that the exchange the benchmark times does
// the work its floor stands for: the issued token is signed by the issuer,
// names the customer, has checkout as its actor and (with DPoP) is bound to
// the proof's key; and the endpoint refuses an actor token by another key,
// another actor, and a subject token by another key.
func TestExchangeEquivalence(t *testing.T) {
	ctx := context.Background()
	s := newSTSRig(t)
	payments, err := tokens.NewVerifier(s.r.keys, issuerURL, []string{paymentsAud})
	require.NoError(t, err)

	for _, withDPoP := range []bool{false, true} {
		srv := s.server(t, !withDPoP)
		proof := ""
		if withDPoP {
			proof = s.r.proofFor(t, "", stsEndpoint)
		}
		w := s.exchange(srv, proof)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		var resp struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
		c, err := payments.Verify(ctx, resp.AccessToken)
		require.NoError(t, err)
		assert.Equal(t, "customer-42", c.Subject)
		require.NotNil(t, c.Actor)
		assert.Equal(t, checkoutID.String(), c.Actor.Subject)
		assert.Equal(t, []string{"payments:write"}, c.Scopes)
		if withDPoP {
			assert.Equal(t, "DPoP", resp.TokenType)
			assert.Equal(t, s.r.proofs.Thumbprint(), c.Confirmation.JKT)
		} else {
			assert.Equal(t, "Bearer", resp.TokenType)
		}
	}

	srv := s.server(t, true)
	refused := func(name string, mutate func(r *stsRig)) {
		t.Helper()
		c := *s
		mutate(&c)
		c.body = strings.NewReplacer(url.QueryEscape(s.subject), url.QueryEscape(c.subject), url.QueryEscape(s.actor), url.QueryEscape(c.actor)).Replace(s.body)
		w := c.exchange(srv, "")
		assert.Equal(t, http.StatusBadRequest, w.Code, name)
		t.Logf("%s: %s", name, w.Body.String())
	}
	refused("actor token signed by another key", func(r *stsRig) { r.actor = resign(t, s.actor, newKey(t, "ES256")) })
	refused("subject token signed by another key", func(r *stsRig) { r.subject = resign(t, s.subject, newKey(t, "ES256")) })
	refused("an actor with no policy (the storefront)", func(r *stsRig) {
		var err error
		r.actor, err = s.spiffe.IssueJWTSVID(storefrontID, []string{stsAudience})
		require.NoError(t, err)
	})
}
