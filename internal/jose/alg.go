// Package jose is ztkit's verification fast path for JWS compact tokens: strict
// parsing, the algorithm rules, signature verification and public JWKs with their
// RFC 7638 thumbprints.
//
// It is deliberately small. Signing and serialization use go-jose; this package
// exists because go-jose's parse path costs more than the signature it checks
// (JSON via reflection, big integers per key). Everything here is fuzzed and
// checked against RFC test vectors and against go-jose itself.
package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"io"
	"sync"
)

// Alg is a JWS algorithm that ztkit verifies. The zero value is no algorithm.
type Alg uint8

// The algorithms ztkit knows. None, HMAC and anything else are not representable.
const (
	AlgNone Alg = iota // not an algorithm: the zero value
	ES256
	ES384
	EdDSA   // RFC 8037, Ed25519 keys only
	Ed25519 // the fully-specified name for EdDSA with Ed25519 (RFC 9864)
	PS256
	RS256
)

var algNames = [...]string{
	AlgNone: "", ES256: "ES256", ES384: "ES384", EdDSA: "EdDSA", Ed25519: "Ed25519", PS256: "PS256", RS256: "RS256",
}

// String returns the algorithm's JOSE name.
func (a Alg) String() string {
	if int(a) < len(algNames) {
		return algNames[a]
	}
	return ""
}

// AlgFromName returns the algorithm named name (case-sensitive, RFC 7515 §4.1.1),
// or AlgNone.
func AlgFromName(name string) Alg {
	for i, n := range algNames {
		if i != 0 && n == name {
			return Alg(i)
		}
	}
	return AlgNone
}

// AlgSet is a set of algorithms, for allow-lists.
type AlgSet uint16

// Has reports whether a is in the set.
func (s AlgSet) Has(a Alg) bool { return a != AlgNone && s&(1<<a) != 0 }

// With returns the set with a added.
func (s AlgSet) With(a Alg) AlgSet {
	if a == AlgNone {
		return s
	}
	return s | 1<<a
}

// Names lists the set's algorithm names in a stable order.
func (s AlgSet) Names() []string {
	var out []string
	for a := ES256; a <= RS256; a++ {
		if s.Has(a) {
			out = append(out, a.String())
		}
	}
	return out
}

// VerifyAlgs is every algorithm ztkit verifies: the default allow-list.
const VerifyAlgs = AlgSet(1<<ES256 | 1<<ES384 | 1<<EdDSA | 1<<Ed25519 | 1<<PS256 | 1<<RS256)

// ParseAlgSet returns the set of the named algorithms. When a name is not one
// ztkit verifies ("none", "HS256", …), it returns that name as bad.
func ParseAlgSet(names []string) (set AlgSet, bad string) {
	for _, n := range names {
		a := AlgFromName(n)
		if a == AlgNone {
			return 0, n
		}
		set = set.With(a)
	}
	return set, ""
}

// MinRSABits is the smallest RSA modulus ztkit signs or verifies with.
const MinRSABits = 2048

// Errors of key and algorithm checks.
var (
	ErrAlgKeyMismatch = errors.New("jose: algorithm does not match key")
	ErrWeakKey        = errors.New("jose: key too weak")
	ErrUnsupportedKey = errors.New("jose: unsupported key type")
)

// CheckKey reports whether key can be used with alg: the right type and curve,
// and RSA keys of at least [MinRSABits].
func CheckKey(alg Alg, key crypto.PublicKey) error {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if (alg == ES256 && k.Curve == elliptic.P256()) || (alg == ES384 && k.Curve == elliptic.P384()) {
			return nil
		}
		return ErrAlgKeyMismatch
	case ed25519.PublicKey:
		if (alg == EdDSA || alg == Ed25519) && len(k) == ed25519.PublicKeySize {
			return nil
		}
		return ErrAlgKeyMismatch
	case *rsa.PublicKey:
		if alg != PS256 && alg != RS256 {
			return ErrAlgKeyMismatch
		}
		if k.N == nil || k.N.BitLen() < MinRSABits {
			return ErrWeakKey
		}
		return nil
	}
	return ErrUnsupportedKey
}

// DefaultAlg is the algorithm ztkit signs with for key, or AlgNone.
func DefaultAlg(key crypto.PublicKey) Alg {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ES256
		case elliptic.P384():
			return ES384
		}
	case ed25519.PublicKey:
		return EdDSA
	case *rsa.PublicKey:
		return PS256
	}
	return AlgNone
}

// Verify checks sig, a JWS signature (RFC 7518 §3), over signingInput with key.
// The caller has checked the pair with [CheckKey]; Verify re-checks and returns
// false on any mismatch.
func Verify(alg Alg, key crypto.PublicKey, signingInput, sig []byte) bool {
	if CheckKey(alg, key) != nil {
		return false
	}
	switch alg {
	case ES256, ES384:
		return verifyECDSA(alg, key.(*ecdsa.PublicKey), signingInput, sig)
	case EdDSA, Ed25519:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(key.(ed25519.PublicKey), signingInput, sig)
	case RS256:
		k := key.(*rsa.PublicKey)
		h := sha256.Sum256(signingInput)
		return len(sig) == k.Size() && rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig) == nil
	case PS256:
		k := key.(*rsa.PublicKey)
		h := sha256.Sum256(signingInput)
		return len(sig) == k.Size() &&
			rsa.VerifyPSS(k, crypto.SHA256, h[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	}
	return false
}

// ecdsaScratch holds a digest and a DER signature. crypto/ecdsa keeps neither,
// but the compiler cannot prove it, so without a pool each would be a heap
// allocation per verification.
type ecdsaScratch struct {
	hash [sha512.Size384]byte
	der  [2 + 2*(2+49)]byte
}

var ecdsaScratchPool = sync.Pool{New: func() any { return new(ecdsaScratch) }}

// verifyECDSA checks a JWS ECDSA signature, R||S with each half exactly the
// curve's size (RFC 7518 §3.4), by re-encoding it as ASN.1 DER for the
// standard library.
func verifyECDSA(alg Alg, k *ecdsa.PublicKey, signingInput, sig []byte) bool {
	size := 32
	if alg == ES384 {
		size = 48
	}
	if len(sig) != 2*size {
		return false
	}
	s := ecdsaScratchPool.Get().(*ecdsaScratch)
	defer ecdsaScratchPool.Put(s)
	var hash []byte
	if alg == ES384 {
		h := sha512.New384()
		h.Write(signingInput)
		hash = h.Sum(s.hash[:0])
	} else {
		sum := sha256.Sum256(signingInput)
		hash = append(s.hash[:0], sum[:]...)
	}
	der := appendDERSignature(s.der[:0], sig[:size], sig[size:])
	return ecdsa.VerifyASN1(k, hash, der)
}

// appendDERSignature appends SEQUENCE { INTEGER r, INTEGER s } with minimal
// integer encodings. r and s are at most 48 bytes, so short-form lengths suffice.
func appendDERSignature(dst, r, s []byte) []byte {
	r, s = trimZeros(r), trimZeros(s)
	rl, sl := intLen(r), intLen(s)
	dst = append(dst, 0x30, byte(2+rl+2+sl))
	dst = appendDERInt(dst, r, rl)
	return appendDERInt(dst, s, sl)
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

func intLen(b []byte) int {
	if len(b) == 0 || b[0]&0x80 != 0 {
		return len(b) + 1
	}
	return len(b)
}

func appendDERInt(dst, b []byte, n int) []byte {
	dst = append(dst, 0x02, byte(n))
	if n > len(b) {
		dst = append(dst, 0)
	}
	return append(dst, b...)
}

// ECDSAToJWS converts an ASN.1 DER ECDSA signature, as crypto.Signer returns it,
// into the fixed-size R||S form of RFC 7518 §3.4.
func ECDSAToJWS(der []byte, size int) ([]byte, error) {
	r, s, ok := parseDERSignature(der)
	if !ok || len(r) > size || len(s) > size {
		return nil, errors.New("jose: malformed ECDSA signature from signer")
	}
	out := make([]byte, 2*size)
	copy(out[size-len(r):size], r)
	copy(out[2*size-len(s):], s)
	return out, nil
}

func parseDERSignature(der []byte) (r, s []byte, ok bool) {
	if len(der) < 8 || der[0] != 0x30 || int(der[1]) != len(der)-2 || der[1] >= 0x80 {
		return nil, nil, false
	}
	rest := der[2:]
	if r, rest, ok = parseDERInt(rest); !ok {
		return nil, nil, false
	}
	if s, rest, ok = parseDERInt(rest); !ok || len(rest) != 0 {
		return nil, nil, false
	}
	return r, s, true
}

func parseDERInt(b []byte) (v, rest []byte, ok bool) {
	if len(b) < 3 || b[0] != 0x02 || b[1] >= 0x80 || int(b[1]) > len(b)-2 || b[1] == 0 {
		return nil, nil, false
	}
	n := int(b[1])
	return trimZeros(b[2 : 2+n]), b[2+n:], true
}

// RFC7518Signer wraps a crypto.Signer so that RSASSA-PSS signatures use a salt
// as long as the hash, as RFC 7518 §3.5 requires. go-jose's cryptosigner asks
// for rsa.PSSSaltLengthAuto, which signs with the longest salt that fits and
// which strict verifiers (ztkit's among them) refuse.
func RFC7518Signer(s crypto.Signer) crypto.Signer { return pssSigner{s} }

type pssSigner struct{ crypto.Signer }

func (p pssSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if pss, ok := opts.(*rsa.PSSOptions); ok {
		o := *pss
		o.SaltLength = rsa.PSSSaltLengthEqualsHash
		opts = &o
	}
	return p.Signer.Sign(rand, digest, opts)
}
