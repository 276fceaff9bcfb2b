package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestContext(t *testing.T) {
	t.Run("round trip", func(t *testing.T) {
		m := &Message{id: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", timestamp: time.Unix(1700000000, 0), scheme: SchemeStripeV1}
		got, ok := FromContext(NewContext(context.Background(), m))
		require.True(t, ok)
		assert.Same(t, m, got)
		assert.Equal(t, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", got.ID())
	})
	t.Run("none", func(t *testing.T) {
		got, ok := FromContext(context.Background())
		assert.False(t, ok)
		assert.Nil(t, got)
	})
	t.Run("nil", func(t *testing.T) {
		got, ok := FromContext(NewContext(context.Background(), nil))
		assert.False(t, ok)
		assert.Nil(t, got)
	})
	t.Run("another key of the same shape", func(t *testing.T) {
		type messageKey struct{}
		_, ok := FromContext(context.WithValue(context.Background(), messageKey{}, &Message{id: "forged"}))
		assert.False(t, ok)
	})
}
