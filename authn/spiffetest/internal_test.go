package spiffetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/peer"
)

func TestByUIDMatchesCallerCredentials(t *testing.T) {
	id := spiffeid.RequireFromString("spiffe://shop.test/checkout")
	attest := ByUID(map[uint32]spiffeid.ID{7: id})
	withUID := func(uid uint32, known bool) context.Context {
		return peer.NewContext(context.Background(), &peer.Peer{
			AuthInfo: callerAuthInfo{caller: Caller{PID: 1, UID: uid, GID: 1}, known: known},
		})
	}
	tests := []struct {
		name    string
		ctx     context.Context
		want    spiffeid.ID
		wantErr error
	}{
		{"mapped uid", withUID(7, true), id, nil},
		{"unmapped uid", withUID(8, true), spiffeid.ID{}, ErrNoIdentity},
		{"credentials unknown", withUID(7, false), spiffeid.ID{}, ErrNoCallerCredentials},
		{"not a Workload API call", context.Background(), spiffeid.ID{}, ErrNoCallerCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := attest(tt.ctx)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// FuzzValidateJWTSVID: ValidateJWTSVID parses untrusted tokens. It must never
// panic, and whatever it accepts must be a token the authority signed for the
// audience.
func FuzzValidateJWTSVID(f *testing.F) {
	td := spiffeid.RequireTrustDomainFromString("shop.test")
	id := spiffeid.RequireFromPath(td, "/checkout")
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ca, err := newAuthority(td, now)
	require.NoError(f, err)
	token, err := ca.signJWT(id, []string{"aud"}, now, now.Add(time.Minute))
	require.NoError(f, err)
	bundles := jwtbundle.NewSet(ca.bundle().JWTBundle())

	f.Add(token, "aud")
	f.Add(token, "other")
	f.Add(strings.Replace(token, ".", "..", 1), "aud")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJzcGlmZmU6Ly9zaG9wLnRlc3QveCJ9.", "aud")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, tok, aud string) {
		got, claims, err := validateJWTSVID(tok, aud, bundles, now)
		if err != nil {
			return
		}
		assert.Equal(t, id, got)
		assert.Equal(t, "aud", aud)
		assert.Equal(t, id.String(), claims["sub"])
	})
}
