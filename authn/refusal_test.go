package authn_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/internal/test/shoprig"
	"github.com/ztkit/ztkit/tokens/dpop"
)

// TestRefusalError: a RefusalError reads as its cause and lets errors.Is and
// errors.As reach it; without a cause it still has a message.
func TestRefusalError(t *testing.T) {
	nonce := &dpop.NonceError{Nonce: "n-1"}
	cases := []struct {
		name string
		err  *authn.RefusalError
		is   error
		msg  string
	}{
		{"sentinel", &authn.RefusalError{Peer: shoprig.Checkout, Err: authn.ErrMissingToken}, authn.ErrMissingToken, authn.ErrMissingToken.Error()},
		{"wrapped", &authn.RefusalError{Peer: shoprig.Checkout, Err: fmt.Errorf("%w: expired", authn.ErrInvalidJWTSVID)}, authn.ErrInvalidJWTSVID, "authn: invalid JWT-SVID: expired"},
		{"no cause", &authn.RefusalError{ClientID: "storefront"}, nil, "authn: request refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.msg, tc.err.Error())
			if tc.is != nil {
				assert.ErrorIs(t, tc.err, tc.is)
			}
			assert.NotContains(t, tc.err.Error(), "spiffe://", "the message is the cause's, not the peer's")
		})
	}
	t.Run("errors.As reaches a typed cause", func(t *testing.T) {
		var got *dpop.NonceError
		assert.True(t, errors.As(&authn.RefusalError{Peer: shoprig.Checkout, Err: nonce}, &got))
		assert.Same(t, nonce, got)
	})
}
