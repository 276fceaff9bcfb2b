package httpsig_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
)

func TestContext(t *testing.T) {
	t.Run("round trip", func(t *testing.T) {
		v := &httpsig.Verified{Label: "sig1", KeyID: "partner-2026", Algorithm: httpsig.AlgEd25519}
		got, ok := httpsig.FromContext(httpsig.NewContext(context.Background(), v))
		require.True(t, ok)
		assert.Same(t, v, got)
	})
	t.Run("none", func(t *testing.T) {
		got, ok := httpsig.FromContext(context.Background())
		assert.False(t, ok)
		assert.Nil(t, got)
	})
	t.Run("nil", func(t *testing.T) {
		got, ok := httpsig.FromContext(httpsig.NewContext(context.Background(), nil))
		assert.False(t, ok)
		assert.Nil(t, got)
	})
	t.Run("another package's key of the same shape", func(t *testing.T) {
		type verifiedKey struct{}
		ctx := context.WithValue(context.Background(), verifiedKey{}, &httpsig.Verified{Label: "forged"})
		_, ok := httpsig.FromContext(ctx)
		assert.False(t, ok)
	})
}
