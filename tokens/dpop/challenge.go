package dpop

import (
	"fmt"

	"github.com/ztkit/ztkit/internal/httphdr"
)

// Challenge is one challenge of a WWW-Authenticate field value (RFC 9110
// §11.6.1), as a resource server sends it with a refusal: the scheme
// ("DPoP" or "Bearer") and its parameters, such as error ("invalid_token",
// "use_dpop_nonce", "insufficient_scope"), scope and algs (RFC 6750 §3,
// RFC 9449 §7.1). ztkit's HTTP middleware sends challenges in the
// WWW-Authenticate header and its gRPC interceptors in the www-authenticate
// trailer, so one parser serves a client of either.
type Challenge struct {
	// Scheme is the auth-scheme as written; compare it case-insensitively.
	Scheme string
	// Token68 is the challenge's token68, when it has one instead of parameters.
	Token68 string
	// Params are the auth-params: names lower-cased, quoted strings unquoted.
	Params map[string]string
}

// ParseChallenges parses one WWW-Authenticate field value into its
// challenges. A value that is not a list of challenges (RFC 9110 §11.6.1)
// fails with an error matching [ErrMalformedChallenge] and no challenges.
// The result is the caller's own.
func ParseChallenges(v string) ([]Challenge, error) {
	cs, err := httphdr.ParseChallenges(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedChallenge, err)
	}
	out := make([]Challenge, len(cs))
	for i, c := range cs {
		out[i] = Challenge{Scheme: c.Scheme, Token68: c.Token68, Params: c.Params}
	}
	return out, nil
}
