package vault

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"

	"github.com/ztkit/ztkit/secrets"
)

// JWTLogin logs in to Vault's JWT auth method ("jwt") with a JWT-SVID of the
// workload. Make one with [JWT]. It is safe for concurrent use.
type JWTLogin struct {
	mount, role string
	svids       jwtsvid.Source
	params      jwtsvid.Params
}

// JWT returns the login to the JWT auth method mounted at mount ("jwt" when
// empty), as its role role, with a JWT-SVID for audience (and
// extraAudiences) fetched from svids for each login: a workloadapi.JWTSource
// in production. The JWT-SVID is sent to Vault only; it is never logged nor
// put in an error. A [Client] logs in again before its token's maximum TTL
// with a new JWT-SVID.
//
// Configure the auth method to verify JWT-SVIDs with the trust domain's JWT
// bundle: either its public keys as jwt_validation_pubkeys, in PEM (the
// JWT authorities of workloadapi.FetchJWTBundles, encoded as PKIX public
// keys; update them when SPIRE rotates its JWT signing key), or the keys
// SPIRE's OIDC Discovery Provider publishes, as oidc_discovery_url (with
// bound_issuer, the provider's issuer, which the SPIRE server's jwt_issuer
// must match) or as jwks_url (the provider's /keys). Then make a role of type
// jwt whose bound_audiences holds the audience, whose bound_subject is the
// workload's SPIFFE ID, and whose user_claim is "sub":
//
//	bao auth enable jwt
//	bao write auth/jwt/config jwt_validation_pubkeys=@jwt-bundle.pem
//	# or: bao write auth/jwt/config jwks_url=https://oidc.example.org/keys
//	bao write auth/jwt/role/payments \
//		role_type=jwt \
//		bound_audiences=vault \
//		bound_subject=spiffe://example.org/payments \
//		user_claim=sub \
//		token_policies=payments token_ttl=1h token_max_ttl=4h
//
// Pick an audience that names this Vault (its address, or "vault") and that
// no other service accepts, so that a JWT-SVID minted for Vault cannot be
// replayed elsewhere, nor one minted for another service here.
//
// JWT fails with a [*ConfigError] (matching [secrets.ErrInvalidConfig]) when
// role or audience is empty, when an extra audience is empty, or when svids is
// nil.
func JWT(mount, role string, svids jwtsvid.Source, audience string, extraAudiences ...string) (*JWTLogin, error) {
	if isNil(svids) {
		return nil, &ConfigError{Func: "JWT", Arg: "source", Reason: "is nil"}
	}
	if strings.TrimSpace(role) == "" {
		return nil, &ConfigError{Func: "JWT", Arg: "role", Reason: "is empty"}
	}
	if strings.TrimSpace(audience) == "" {
		return nil, &ConfigError{Func: "JWT", Arg: "audience", Reason: "is empty"}
	}
	if slices.ContainsFunc(extraAudiences, func(a string) bool { return strings.TrimSpace(a) == "" }) {
		return nil, &ConfigError{Func: "JWT", Arg: "extra audience", Reason: "is empty"}
	}
	return &JWTLogin{
		mount: mountOr(mount, "jwt"),
		role:  role,
		svids: svids,
		params: jwtsvid.Params{
			Audience:       audience,
			ExtraAudiences: slices.Clone(extraAudiences),
		},
	}, nil
}

// Login fetches a JWT-SVID for the login's audience and logs in with it. It
// implements api.AuthMethod.
//
// It fails with an error matching [secrets.ErrUnavailable] when the source
// gives no valid JWT-SVID (the Workload API is down). Vault's answers are
// returned as vault/api errors.
func (l *JWTLogin) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: vault: jwt login: nil client", secrets.ErrInvalidConfig)
	}
	svid, err := l.svids.FetchJWTSVID(ctx, l.params)
	if err != nil {
		// go-spiffe's errors describe the failure, never the token.
		return nil, fmt.Errorf("vault: jwt login: %w: no JWT-SVID: %v", secrets.ErrUnavailable, err)
	}
	if svid == nil {
		return nil, fmt.Errorf("vault: jwt login: %w: the source returned no JWT-SVID", secrets.ErrUnavailable)
	}
	if !svid.Expiry.IsZero() && !time.Now().Before(svid.Expiry) {
		return nil, fmt.Errorf("vault: jwt login: %w: the JWT-SVID of %s has expired", secrets.ErrUnavailable, svid.ID)
	}
	token := svid.Marshal()
	if token == "" {
		return nil, fmt.Errorf("vault: jwt login: %w: the JWT-SVID of %s has no token", secrets.ErrUnavailable, svid.ID)
	}
	return c.Logical().WriteWithContext(ctx, "auth/"+l.mount+"/login", map[string]any{
		"role": l.role,
		"jwt":  token,
	})
}
