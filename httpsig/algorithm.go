package httpsig

// Algorithm is an RFC 9421 §6.2.2 HTTP Signature Algorithm name, the value of
// the alg signature parameter.
type Algorithm string

// The algorithms this package signs and verifies with (RFC 9421 §3.3).
const (
	// AlgRSAPSSSHA512 is RSASSA-PSS with SHA-512 and a 64-byte salt (§3.3.1).
	AlgRSAPSSSHA512 Algorithm = "rsa-pss-sha512"
	// AlgRSAV15SHA256 is RSASSA-PKCS1-v1_5 with SHA-256 (§3.3.2).
	AlgRSAV15SHA256 Algorithm = "rsa-v1_5-sha256"
	// AlgHMACSHA256 is HMAC with SHA-256 (§3.3.3).
	AlgHMACSHA256 Algorithm = "hmac-sha256"
	// AlgECDSAP256SHA256 is ECDSA on P-256 with SHA-256, the signature being
	// r||s, 64 bytes (§3.3.4).
	AlgECDSAP256SHA256 Algorithm = "ecdsa-p256-sha256"
	// AlgEd25519 is EdDSA on edwards25519 (§3.3.6).
	AlgEd25519 Algorithm = "ed25519"
)

// String returns the algorithm's RFC 9421 name.
func (a Algorithm) String() string { return string(a) }

// Known reports whether a is one of the algorithms this package implements.
func (a Algorithm) Known() bool {
	switch a {
	case AlgRSAPSSSHA512, AlgRSAV15SHA256, AlgHMACSHA256, AlgECDSAP256SHA256, AlgEd25519:
		return true
	}
	return false
}
