package dpop_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// TestMisuseDoesNotPanic: every exported entry point given a nil or
// hand-built value that compiles returns an error instead of panicking.
func TestMisuseDoesNotPanic(t *testing.T) {
	r := dtNewRig(t)
	rv := r.verifier(t, nil, nil)
	tok := r.token(t, nil)
	proof := dtProof(t, r.proofer, "GET", dtURL, tok, "")

	requests := []struct {
		name string
		req  *http.Request
		want error
	}{
		{"nil request", nil, dpop.ErrInvalidRequest},
		{"zero request", &http.Request{}, dpop.ErrInvalidRequest},
		{"credentials but no URL", &http.Request{Method: "GET", Header: http.Header{"Authorization": {"DPoP " + tok}, "Dpop": {proof}}}, dpop.ErrInvalidRequest},
		{"URL but no Header", dtRequestNoHeader(t), dpop.ErrMissingAccessToken},
	}
	for _, tc := range requests {
		t.Run("RequestVerifier.Verify "+tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { _, err = rv.Verify(t.Context(), tc.req) })
			assert.ErrorIs(t, err, tc.want)
		})
	}
	for name, v := range map[string]*dpop.RequestVerifier{"nil": nil, "zero": {}} {
		t.Run("RequestVerifier.Verify on a "+name+" verifier", func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { _, err = v.Verify(t.Context(), dtRequest("GET", dtURL, tok, proof)) })
			assert.ErrorIs(t, err, dpop.ErrInvalidConfig)
		})
	}
	for name, v := range map[string]*dpop.Verifier{"nil": nil, "zero": {}} {
		t.Run("Verifier.Verify on a "+name+" verifier", func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { _, err = v.Verify(t.Context(), proof, dpop.Request{Method: "GET", URL: dtURL}) })
			assert.ErrorIs(t, err, dpop.ErrInvalidConfig)
		})
	}
	for name, p := range map[string]*dpop.Proofer{"nil": nil, "zero": {}} {
		t.Run("Proofer on a "+name+" proofer", func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { _, err = p.Proof(dpop.ProofRequest{Method: "GET", URL: dtURL}) })
			assert.ErrorIs(t, err, dpop.ErrInvalidConfig)
			assert.NotPanics(t, func() { _ = p.Thumbprint() })
		})
	}
	for name, n := range map[string]*dpop.Nonces{"nil": nil, "zero": {}} {
		t.Run("Nonces "+name, func(t *testing.T) {
			require.NotPanics(t, func() { assert.Empty(t, n.Current()) })
			var err error
			require.NotPanics(t, func() { err = n.Check("x") })
			assert.ErrorIs(t, err, dpop.ErrInvalidConfig)
		})
	}
	t.Run("constructors with nil arguments", func(t *testing.T) {
		require.NotPanics(t, func() {
			p, err := dpop.NewProofer(nil, "")
			assert.Error(t, err)
			assert.Nil(t, p)
			n, err := dpop.NewNonces(nil)
			assert.Error(t, err)
			assert.Nil(t, n)
			rv, err := dpop.NewRequestVerifier(nil, nil)
			assert.ErrorIs(t, err, dpop.ErrInvalidConfig)
			assert.Nil(t, rv)
		})
	})
	for name, s := range map[string]*dpop.MemoryReplayStore{"nil": nil, "zero": {}} {
		t.Run("MemoryReplayStore "+name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = s.CheckAndStore(t.Context(), "k", "j", time.Now().Add(time.Minute)) })
			assert.ErrorIs(t, err, dpop.ErrReplayCheckUnavailable)
			assert.NotPanics(t, func() { _, _ = s.Len(), s.Evictions() })
		})
	}
}

func dtRequestNoHeader(tb testing.TB) *http.Request {
	tb.Helper()
	r := dtRequest("GET", dtURL, "", "")
	r.Header = nil
	return r
}
