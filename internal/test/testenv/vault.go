package testenv

// The Vault variables below are set together by scripts/test once a real OpenBao (Vault's
// API-compatible fork) answers on loopback and is configured: a dev-mode server with TLS,
// KV v2 at "secret/", the Transit engine at "transit/", the cert, JWT and AppRole auth
// methods at "auth/cert/", "auth/jwt/" and "auth/approle/", and the database engine at
// "database/", whose connection "redis" issues dynamic users of the Redis in
// [VaultRedisAddrVar] through the role "cache" (leases of 30 s, at most 2 min). Tests that
// configure anything mount their own paths (internal/test/baotest) so they stay independent.
const (
	// VaultAddrVar names the environment variable holding the address of the shared test
	// OpenBao server ("https://127.0.0.1:PORT"), as VAULT_ADDR would.
	VaultAddrVar = "ZTKIT_TEST_VAULT_ADDR"

	// VaultTokenVar names the environment variable holding the root token of the shared
	// test OpenBao server. It is a secret: never print it.
	VaultTokenVar = "ZTKIT_TEST_VAULT_TOKEN"

	// VaultCACertVar names the environment variable holding the path of the PEM file with
	// the CA certificate that signed the shared test OpenBao server's TLS certificate,
	// as VAULT_CACERT would.
	VaultCACertVar = "ZTKIT_TEST_VAULT_CACERT"

	// BaoServerVar names the environment variable holding the path of the OpenBao server
	// binary (bao), for tests that start, seal, stop and restart a private server of
	// their own.
	BaoServerVar = "ZTKIT_TEST_BAO_SERVER"

	// VaultRedisAddrVar names the environment variable holding the address (host:port) of
	// the Redis that the shared test OpenBao's database engine manages users in. It is not
	// the Redis of [RedisAddrVar]: its default user needs the password in
	// [VaultRedisPasswordVar].
	VaultRedisAddrVar = "ZTKIT_TEST_VAULT_REDIS_ADDR"

	// VaultRedisPasswordVar names the environment variable holding the password of the
	// default user of the Redis in [VaultRedisAddrVar]. It is a secret: never print it.
	VaultRedisPasswordVar = "ZTKIT_TEST_VAULT_REDIS_PASSWORD"
)
