package testenv

// The OpenBao variables below are set together by scripts/test once a real
// OpenBao server (Vault's API) answers on loopback with TLS.
const (
	// VaultAddrVar names the environment variable holding the test OpenBao's
	// address ("https://127.0.0.1:P").
	VaultAddrVar = "ZTKIT_TEST_VAULT_ADDR"
	// VaultTokenVar names the environment variable holding its root token.
	VaultTokenVar = "ZTKIT_TEST_VAULT_TOKEN"
	// VaultCACertVar names the environment variable holding the path of the
	// PEM CA certificate its TLS listener's certificate chains to.
	VaultCACertVar = "ZTKIT_TEST_VAULT_CACERT"
)
