package vault_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/internal/test/baotest"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/vault"
)

const vaultAudience = "spiffe://shop.test/vault"

func TestJWTLogin(t *testing.T) {
	a := baotest.Admin(t)
	iss := newIssuer(t)
	secretPath, policy := kvSecret(t, a)
	mount := jwtRole(t, a, iss.JWTBundle().JWTAuthorities(), payments, vaultAudience, policy)
	src := &recordingJWT{src: jwtSource(t, iss)}

	login, err := vault.JWT(mount, "payments", src, vaultAudience)
	require.NoError(t, err)
	var logs logBuffer
	c, err := vault.New(t.Context(), baoConfig(t), login, fastBackoff, logs.logger())
	require.NoError(t, err)
	defer c.Close()
	path, meta := tokenMeta(t, c.API())
	assert.Equal(t, "auth/"+mount+"/login", path)
	assert.Equal(t, "payments", meta["role"])
	readKV(t, c, secretPath)
	require.Len(t, src.tokens(), 1)

	// Each login fetches a JWT-SVID of its own.
	first, err := c.Token().Current()
	require.NoError(t, err)
	require.NoError(t, c.Token().Rotate(t.Context()))
	now, err := c.Token().Current()
	require.NoError(t, err)
	assert.NotEqual(t, first.Lease().ID, now.Lease().ID)
	assert.Len(t, src.tokens(), 2)
	readKV(t, c, secretPath)

	// The logins were logged; no JWT-SVID was.
	require.NoError(t, c.Close())
	assert.Contains(t, logs.String(), "credential rotated")
	for _, tok := range src.tokens() {
		assert.False(t, strings.Contains(logs.String(), tok), "a JWT-SVID is in the logs")
	}
}

func TestJWTLoginRefused(t *testing.T) {
	a := baotest.Admin(t)
	iss := newIssuer(t)
	_, policy := kvSecret(t, a)
	mount := jwtRole(t, a, iss.JWTBundle().JWTAuthorities(), payments, vaultAudience, policy)

	// A JWT-SVID of another workload, for the right audience.
	tok, err := iss.IssueJWTSVID(intruder, []string{vaultAudience})
	require.NoError(t, err)
	other, err := jwtsvid.ParseInsecure(tok, []string{vaultAudience})
	require.NoError(t, err)
	// A JWT-SVID of payments signed by another trust domain's key.
	tok, err = newIssuer(t).IssueJWTSVID(payments, []string{vaultAudience})
	require.NoError(t, err)
	forged, err := jwtsvid.ParseInsecure(tok, []string{vaultAudience})
	require.NoError(t, err)

	tests := []struct {
		name     string
		src      jwtsvid.Source
		audience string
	}{
		{"wrong audience", &recordingJWT{src: jwtSource(t, iss)}, "spiffe://shop.test/orders"},
		{"another SPIFFE ID", &recordingJWT{src: tokenJWT{other}}, vaultAudience},
		{"another signer", &recordingJWT{src: tokenJWT{forged}}, vaultAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			login, err := vault.JWT(mount, "payments", tt.src, tt.audience)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			var logs logBuffer
			_, err = vault.New(ctx, baoConfig(t), login, fastBackoff, logs.logger())
			require.ErrorIs(t, err, secrets.ErrRefused)
			sent := tt.src.(*recordingJWT).tokens()
			require.NotEmpty(t, sent)
			for _, tok := range sent {
				assert.False(t, strings.Contains(err.Error(), tok), "the JWT-SVID is in the error")
				assert.False(t, strings.Contains(logs.String(), tok), "the JWT-SVID is in the logs")
			}
		})
	}
}

func TestJWTLoginWithoutSVID(t *testing.T) {
	iss := newIssuer(t)
	src := jwtSource(t, iss)
	require.NoError(t, iss.Close())
	login, err := vault.JWT("", "payments", src, vaultAudience)
	require.NoError(t, err)
	c, err := api.NewClient(&api.Config{Address: "https://127.0.0.1:1"})
	require.NoError(t, err)
	_, err = login.Login(t.Context(), c)
	assert.ErrorIs(t, err, secrets.ErrUnavailable)
}
