// Package vault gets a service's credentials from HashiCorp Vault or OpenBao
// (through github.com/hashicorp/vault/api) as [secrets.Provider]s, logged in
// with the workload's own identity.
//
// A [Client] logs in once with a login method (an api.AuthMethod) and keeps
// its token fresh through a [secrets.Source]: renewed at about two thirds of
// its TTL, replaced by a fresh login before its maximum TTL, and at once when
// Vault refuses a token that had not expired (a 403 to a request, then to a
// lookup of the token itself: the token was revoked out of band). Vault
// revokes a dynamic credential with the token that issued it, so at each new
// login the Sources of the Client's lease providers issue new credentials
// under the new token.
//
// The login methods here use the workload's own SPIFFE identity, from the
// Workload API (go-spiffe's workloadapi sources): [Cert] presents its
// X.509-SVID to the TLS certificate auth method, on a fresh connection for
// each login, and the Client logs in again when the SVID rotates; [JWT] sends
// a JWT-SVID fetched for each login to the JWT auth method. [AppRole] is for
// services not yet on SPIFFE; any of vault/api's auth packages works too.
//
//	svids, err := workloadapi.NewX509Source(ctx)
//	login, err := vault.Cert("cert", "payments", svids)
//
// The providers a Client makes read with its token:
//
//	c, err := vault.New(ctx, cfg, login)
//	defer c.Close()
//
//	// A KV v2 secret, read again every refresh interval.
//	key, err := secrets.NewSource(ctx, "processor-key", c.KV("secret", "payments/processor"))
//
//	// A dynamic credential with a renewable lease.
//	db, err := secrets.NewSource(ctx, "payments-db", c.Lease("database/creds/payments", nil))
//
// A token issuer's signing key can live in Transit, so that its private
// key never enters the process: [Client.TransitSigner] is a crypto.Signer
// that tokens.NewSigningKey accepts, pinned to one version of the Transit
// key, and [Client.TransitKeys] keeps a tokens.KeySet in step with the key's
// versions, so that a Transit rotation becomes a KeySet rotation with
// overlap (published as the next key first, signing after the overlap, the
// old key verifying for the retention):
//
//	keys, err := c.TransitKeys(ctx, "transit", "token-signing")
//	go keys.Run(ctx)
//	issuer, err := tokens.NewIssuer("https://id.shop.example", keys.KeySet())
//
// Vault's answers map onto the errors of package secrets: a 4xx answer
// (permission denied, unknown lease or path, a refused login) matches
// [secrets.ErrRefused], and a Source issues a new credential instead of
// retrying; a network failure, 429 or 5xx (a sealed Vault answers 503)
// matches [secrets.ErrUnavailable], and a Source retries with backoff while
// it serves the credential it has. Error messages carry Vault's status and
// error text, never a token or a secret value.
package vault
