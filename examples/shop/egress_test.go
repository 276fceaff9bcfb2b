package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/authz/egress"
)

// TestStorefrontEgress: the storefront's allow-list names checkout over
// https, under checkout's SPIFFE ID, and the identity service over http, and
// nothing next to them: not the other scheme, not another port.
func TestStorefrontEgress(t *testing.T) {
	w, err := newWorkloads(context.Background(), "")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, w.Close()) })
	tr, err := storefrontEgress(w, "http://127.0.0.1:8080", "https://127.0.0.1:8443", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	list := tr.Dialer().List()

	dests := list.Destinations()
	require.Len(t, dests, 2)
	assert.Equal(t, "https://127.0.0.1:8443", dests[0].String())
	assert.NotNil(t, dests[0].Server, "checkout is an internal destination: its SPIFFE ID is checked")
	assert.Equal(t, "http://127.0.0.1:8080", dests[1].String())
	assert.Nil(t, dests[1].Server)

	for _, tc := range []struct {
		name, scheme, hostport string
		allowed                bool
	}{
		{"checkout", "https", "127.0.0.1:8443", true},
		{"identity", "http", "127.0.0.1:8080", true},
		{"checkout in plaintext", "http", "127.0.0.1:8443", false},
		{"identity over https", "https", "127.0.0.1:8080", false},
		{"another loopback port", "https", "127.0.0.1:9443", false},
		{"localhost by name", "https", "localhost:8443", false},
		{"metadata service", "http", "169.254.169.254:80", false},
		{"payment provider", "https", "api.stripe.com:443", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := list.Match(tc.scheme, tc.hostport)
			if tc.allowed {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, egress.ErrDestinationNotAllowed)
			var refused *egress.DestinationError
			require.ErrorAs(t, err, &refused)
			assert.Equal(t, egress.ReasonNotListed, refused.Reason)
		})
	}
}
