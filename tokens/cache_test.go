package tokens_test

import (
	"context"
	"crypto/elliptic"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens"
)

// swappableSource is a KeySource with one kid whose *PublicKey the test
// replaces, or changes in place to prove what the verifier re-checks.
type swappableSource struct {
	mu  sync.Mutex
	key *tokens.PublicKey
}

func (s *swappableSource) VerificationKey(_ context.Context, kid string) (*tokens.PublicKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key == nil || s.key.KeyID != kid {
		return nil, tokens.ErrUnknownKey
	}
	return s.key, nil
}

func (s *swappableSource) set(k *tokens.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = k
}

// TestCacheSkipsSignatureCheck proves by behaviour that a repeated token is
// served from the cache: after the first Verify the key's material is swapped
// in place (same *PublicKey, which KeySources promise never to do), so only a
// verifier that skips the signature check still accepts the token.
func TestCacheSkipsSignatureCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cache   int
		wantErr error
	}{
		{name: "cache on", cache: 16, wantErr: nil},
		{name: "cache off", cache: 0, wantErr: tokens.ErrInvalidSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signer := newECKey(t, elliptic.P256())
			sk := newSigningKey(t, signer, "")
			pub := &tokens.PublicKey{KeyID: sk.KeyID(), Key: &signer.PublicKey, Algorithm: "ES256"}
			src := &swappableSource{key: pub}
			v := newVerifier(t, src, tokens.WithCacheSize(tc.cache), tokens.WithClock(fixedClock(testNow)))
			tok := issue(t, newIssuer(t, newKeySet(t, sk), tokens.WithClock(fixedClock(testNow))), basicRequest())

			_, err := v.Verify(context.Background(), tok)
			require.NoError(t, err)
			src.mu.Lock()
			pub.Key = &newECKey(t, elliptic.P256()).PublicKey
			src.mu.Unlock()
			c, err := v.Verify(context.Background(), tok)
			if tc.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, testSubject, c.Subject)
			} else {
				assert.ErrorIs(t, err, tc.wantErr)
				assert.Nil(t, c)
			}
		})
	}
}

func TestCachedTokenExpires(t *testing.T) {
	clock := newTestClock(testNow)
	f := newRotationFixture(t)
	v := newVerifier(t, f.ks, tokens.WithClock(clock.Now), tokens.WithLeeway(10*time.Second))
	tok := issue(t, newIssuer(t, f.ks, tokens.WithClock(fixedClock(testNow))), basicRequest()) // exp = testNow+5m

	_, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	clock.Advance(5*time.Minute + 10*time.Second - time.Nanosecond)
	_, err = v.Verify(context.Background(), tok)
	require.NoError(t, err, "inside the leeway")
	clock.Advance(time.Nanosecond)
	for range 2 {
		c, err := v.Verify(context.Background(), tok)
		assert.ErrorIs(t, err, tokens.ErrExpired)
		assert.Nil(t, c)
	}
}

func TestCachedTokenNotYetValidWhenClockGoesBack(t *testing.T) {
	clock := newTestClock(testNow)
	f := newRotationFixture(t)
	v := newVerifier(t, f.ks, tokens.WithClock(clock.Now))
	tok := issue(t, newIssuer(t, f.ks, tokens.WithClock(fixedClock(testNow))), basicRequest())
	_, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	clock.Advance(-time.Minute) // the verifier's clock is stepped back
	_, err = v.Verify(context.Background(), tok)
	assert.ErrorIs(t, err, tokens.ErrIssuedInFuture)
}

func TestCachedTokenOfRevokedKeyIsRefused(t *testing.T) {
	f := newRotationFixture(t)
	v := newVerifier(t, f.ks, tokens.WithClock(f.clock.Now)) // caching
	tok := issue(t, f.iss, basicRequest())

	_, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	require.NoError(t, f.ks.SetNext(f.b))
	require.NoError(t, f.ks.Rotate())
	_, err = v.Verify(context.Background(), tok)
	require.NoError(t, err, "a retired key still verifies")

	require.NoError(t, f.ks.Revoke(f.a.KeyID()))
	for range 2 {
		c, err := v.Verify(context.Background(), tok)
		assert.ErrorIs(t, err, tokens.ErrUnknownKey)
		assert.Nil(t, c)
	}
}

func TestCachedTokenOfReplacedKeyIsReverified(t *testing.T) {
	signer := newECKey(t, elliptic.P256())
	sk := newSigningKey(t, signer, "")
	src := &swappableSource{key: sk.Public()}
	v := newVerifier(t, src, tokens.WithClock(fixedClock(testNow)))
	tok := issue(t, newIssuer(t, newKeySet(t, sk), tokens.WithClock(fixedClock(testNow))), basicRequest())
	_, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)

	// Same kid, another key (as after a remote JWKS refresh): the cache entry dies.
	src.set(&tokens.PublicKey{KeyID: sk.KeyID(), Key: &newECKey(t, elliptic.P256()).PublicKey})
	_, err = v.Verify(context.Background(), tok)
	assert.ErrorIs(t, err, tokens.ErrInvalidSignature)

	// Key source unavailable: no answer from the cache either.
	v2 := newVerifier(t, src, tokens.WithClock(fixedClock(testNow)))
	src.set(sk.Public())
	_, err = v2.Verify(context.Background(), tok)
	require.NoError(t, err)
	src.set(nil)
	_, err = v2.Verify(context.Background(), tok)
	assert.ErrorIs(t, err, tokens.ErrUnknownKey)
}

func TestReturnedClaimsAreCopies(t *testing.T) {
	f := newVerifierFixture(t)
	iss := newIssuer(t, f.ks, tokens.WithClock(fixedClock(testNow)))
	r := basicRequest()
	r.Scopes = []string{"read", "write"}
	r.Audience = []string{testAudience, "https://other.example"}
	r.Roles = []string{"viewer"}
	r.DPoPKeyThumbprint = thumbprintOf("k")
	tok := issue(t, iss, r)

	first, err := f.v.Verify(context.Background(), tok)
	require.NoError(t, err)
	want := *first
	want.Scopes = append([]string(nil), first.Scopes...)
	want.Audience = append([]string(nil), first.Audience...)
	want.Roles = append([]string(nil), first.Roles...)

	first.Subject = "admin"
	first.Issuer = "https://evil.example"
	first.Scopes = append(first.Scopes, "admin")
	first.Audience = append(first.Audience, "https://evil.example")
	first.Roles = nil
	first.Expiry = first.Expiry.Add(24 * time.Hour)
	first.Confirmation.JKT = ""
	first.KeyID = "other"

	second, err := f.v.Verify(context.Background(), tok)
	require.NoError(t, err)
	assert.NotSame(t, first, second)
	assert.Equal(t, want.Subject, second.Subject)
	assert.Equal(t, want.Issuer, second.Issuer)
	assert.Equal(t, want.Scopes, second.Scopes)
	assert.Equal(t, want.Audience, second.Audience)
	assert.Equal(t, want.Roles, second.Roles)
	assert.Equal(t, want.Expiry, second.Expiry)
	assert.Equal(t, want.Confirmation, second.Confirmation)
	assert.Equal(t, want.KeyID, second.KeyID)
	assert.False(t, second.HasScope("admin"))
}

// TestConcurrentVerify runs under -race: 32 goroutines verify a handful of
// tokens through a cache too small for them, so entries are added, evicted and
// read at once, while the key set rotates.
func TestConcurrentVerify(t *testing.T) {
	f := newRotationFixture(t)
	v := newVerifier(t, f.ks, tokens.WithClock(f.clock.Now), tokens.WithCacheSize(3))
	var toks []string
	for i := range 6 {
		r := basicRequest()
		r.Subject = fmt.Sprintf("user-%d", i)
		toks = append(toks, issue(t, f.iss, r))
	}
	bad := toks[0][:len(toks[0])-4] + "AAAA"

	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 32)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range 200 {
				n := (g + i) % len(toks)
				c, err := v.Verify(context.Background(), toks[n])
				if err != nil || c.Subject != fmt.Sprintf("user-%d", n) {
					errs <- fmt.Errorf("token %d: %v", n, err)
					return
				}
				if i%50 == 0 {
					if _, err := v.Verify(context.Background(), bad); err == nil {
						errs <- fmt.Errorf("tampered token accepted")
						return
					}
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		_ = f.ks.SetNext(f.b)
		_ = f.ks.Rotate() // a retires but keeps verifying
	}()
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
