package redact_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

func TestAdversarialOutputBounded(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	for name, in := range adversarial() {
		out := r.Redact(nil, in)
		require.LessOrEqual(t, len(out), 24*len(in), name)
		require.False(t, bytes.Equal(out, nil) && len(in) > 0, name)
	}
}
