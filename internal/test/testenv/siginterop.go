package testenv

// SigInteropURLVar names the environment variable holding the base URL
// ("http://127.0.0.1:PORT") of the test signature server that scripts/test starts:
// internal/test/siginterop/server.mjs, RFC 9421 HTTP Message Signatures and Standard
// Webhooks implementations that are not ztkit (the npm packages http-message-signatures
// and standardwebhooks). It holds no key: each call carries the keys of its test.
// Package internal/test/siginterop talks to it.
const SigInteropURLVar = "ZTKIT_TEST_SIGINTEROP_URL"
