package dpop_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens/dpop"
)

func TestParseChallenges(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []dpop.Challenge
	}{
		{
			// Verbatim from RFC 9449 §7.1, the example of a 401 to a request
			// without a token.
			name: "RFC 9449 §7.1",
			in:   `DPoP algs="ES256 PS256"`,
			want: []dpop.Challenge{{Scheme: "DPoP", Params: map[string]string{"algs": "ES256 PS256"}}},
		},
		{
			// Verbatim from RFC 9449 §9 (the '\' line wrapping of RFC 8792
			// undone), the use_dpop_nonce challenge of a resource server.
			name: "RFC 9449 §9 nonce",
			in:   `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`,
			want: []dpop.Challenge{{Scheme: "DPoP", Params: map[string]string{
				"error": "use_dpop_nonce", "error_description": "Resource server requires nonce in DPoP proof",
			}}},
		},
		{
			// Two schemes in one value (not an RFC example; RFC 9449 §7.2
			// shows Bearer and DPoP together); parameter names are
			// case-insensitive.
			name: "two challenges",
			in:   `Bearer realm="example", Error="insufficient_scope", scope="checkout:write", DPoP algs="ES256"`,
			want: []dpop.Challenge{
				{Scheme: "Bearer", Params: map[string]string{"realm": "example", "error": "insufficient_scope", "scope": "checkout:write"}},
				{Scheme: "DPoP", Params: map[string]string{"algs": "ES256"}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dpop.ParseChallenges(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseChallengesRefuses(t *testing.T) {
	for _, in := range []string{`DPoP error="unterminated`, `="x"`, `DPoP a=b=c`} {
		t.Run(in, func(t *testing.T) {
			got, err := dpop.ParseChallenges(in)
			require.ErrorIs(t, err, dpop.ErrMalformedChallenge)
			assert.Nil(t, got)
		})
	}
}
