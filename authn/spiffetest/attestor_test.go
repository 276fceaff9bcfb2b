package spiffetest_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/authn/spiffetest"
)

func requireLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("caller credentials (SO_PEERCRED) are read on Linux only")
	}
}

func TestByUID(t *testing.T) {
	requireLinux(t)
	uid := uint32(os.Getuid())
	tests := []struct {
		name   string
		ids    map[uint32]spiffeid.ID
		wantID spiffeid.ID
		code   codes.Code
	}{
		{"caller's uid is mapped", map[uint32]spiffeid.ID{uid: storefront, uid + 1: checkout}, storefront, codes.OK},
		{"caller's uid is not mapped", map[uint32]spiffeid.ID{uid + 1: checkout}, spiffeid.ID{}, codes.PermissionDenied},
		{"empty map", nil, spiffeid.ID{}, codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := newIssuer(t, td, spiffetest.WithAttestor(spiffetest.ByUID(tt.ids)))
			// Register is ignored when an attestor decides.
			require.NoError(t, iss.Register(checkout))
			ctx := testContext(t)

			svid, err := workloadapi.FetchX509SVID(ctx, workloadapi.WithAddr(iss.Addr()))
			require.Equal(t, tt.code, status.Code(err), "%v", err)
			jwt, jerr := workloadapi.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "a"}, workloadapi.WithAddr(iss.Addr()))
			require.Equal(t, tt.code, status.Code(jerr), "%v", jerr)
			if tt.code != codes.OK {
				assert.Contains(t, status.Convert(err).Message(), spiffetest.ErrNoIdentity.Error())
				return
			}
			assert.Equal(t, tt.wantID, svid.ID)
			assert.Equal(t, tt.wantID, jwt.ID)
		})
	}
}

func TestByUIDCopiesTheMap(t *testing.T) {
	requireLinux(t)
	ids := map[uint32]spiffeid.ID{uint32(os.Getuid()): storefront}
	iss := newIssuer(t, td, spiffetest.WithAttestor(spiffetest.ByUID(ids)))
	delete(ids, uint32(os.Getuid()))

	svid, err := workloadapi.FetchX509SVID(testContext(t), workloadapi.WithAddr(iss.Addr()))
	require.NoError(t, err)
	assert.Equal(t, storefront, svid.ID)
}

func TestByUIDWithoutCallerCredentials(t *testing.T) {
	_, err := spiffetest.ByUID(map[uint32]spiffeid.ID{0: checkout})(context.Background())
	require.ErrorIs(t, err, spiffetest.ErrNoCallerCredentials)
}

func TestCallerFromContext(t *testing.T) {
	requireLinux(t)
	callers := make(chan spiffetest.Caller, 1)
	attestor := func(ctx context.Context) (spiffeid.ID, error) {
		c, ok := spiffetest.CallerFromContext(ctx)
		if !ok {
			return spiffeid.ID{}, spiffetest.ErrNoCallerCredentials
		}
		callers <- c
		return checkout, nil
	}
	iss := newIssuer(t, td, spiffetest.WithAttestor(attestor))
	_, err := workloadapi.FetchX509SVID(testContext(t), workloadapi.WithAddr(iss.Addr()))
	require.NoError(t, err)

	c := <-callers
	assert.Equal(t, int32(os.Getpid()), c.PID, "the client runs in this test process")
	assert.Equal(t, uint32(os.Getuid()), c.UID)
	assert.Equal(t, uint32(os.Getgid()), c.GID)

	_, ok := spiffetest.CallerFromContext(context.Background())
	assert.False(t, ok)
}

func TestAttestorFailures(t *testing.T) {
	tests := []struct {
		name     string
		attestor spiffetest.Attestor
		code     codes.Code
	}{
		{"refuses the caller", func(context.Context) (spiffeid.ID, error) {
			return spiffeid.ID{}, errors.New("not today")
		}, codes.PermissionDenied},
		{"returns an ID outside the trust domain", func(context.Context) (spiffeid.ID, error) {
			return spiffeid.RequireFromString("spiffe://partner.test/x"), nil
		}, codes.Internal},
		{"returns the trust domain ID", func(context.Context) (spiffeid.ID, error) {
			return td.ID(), nil
		}, codes.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := newIssuer(t, td, spiffetest.WithAttestor(tt.attestor))
			_, err := workloadapi.FetchX509SVID(testContext(t), workloadapi.WithAddr(iss.Addr()))
			assert.Equal(t, tt.code, status.Code(err), "%v", err)
		})
	}
}
