package httpsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"fmt"
	"math/big"
)

// pssOptions are the RSASSA-PSS parameters of rsa-pss-sha512: SHA-512, MGF1
// with SHA-512, a 64-byte salt (RFC 9421 §3.3.1).
var pssOptions = &rsa.PSSOptions{SaltLength: 64, Hash: crypto.SHA512}

// sign signs base with k (RFC 9421 §3.3).
func (k *SigningKey) sign(base []byte) ([]byte, error) {
	switch k.alg {
	case AlgHMACSHA256:
		secret, err := k.hmacSecret()
		if err != nil {
			return nil, err
		}
		m := hmac.New(sha256.New, secret)
		m.Write(base)
		return m.Sum(nil), nil
	case AlgEd25519:
		return k.signer.Sign(rand.Reader, base, crypto.Hash(0))
	case AlgECDSAP256SHA256:
		h := sha256.Sum256(base)
		der, err := k.signer.Sign(rand.Reader, h[:], crypto.SHA256)
		if err != nil {
			return nil, err
		}
		return ecdsaRawSignature(der)
	case AlgRSAPSSSHA512:
		h := sha512.Sum512(base)
		return k.signer.Sign(rand.Reader, h[:], pssOptions)
	case AlgRSAV15SHA256:
		h := sha256.Sum256(base)
		return k.signer.Sign(rand.Reader, h[:], crypto.SHA256)
	}
	return nil, fmt.Errorf("httpsig: unsupported algorithm")
}

// ecdsaRawSignature turns an ASN.1 ECDSA signature into r||s, each 32 bytes
// (RFC 9421 §3.3.4).
func ecdsaRawSignature(der []byte) ([]byte, error) {
	var v struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil || len(rest) != 0 || v.R.Sign() <= 0 || v.S.Sign() <= 0 ||
		v.R.BitLen() > 256 || v.S.BitLen() > 256 {
		return nil, fmt.Errorf("httpsig: signer returned a malformed ECDSA signature")
	}
	out := make([]byte, 64)
	v.R.FillBytes(out[:32])
	v.S.FillBytes(out[32:])
	return out, nil
}

// verify reports whether sig is k's signature of base (RFC 9421 §3.3). It
// never says why not.
func (k *VerifyingKey) verify(base, sig []byte) bool {
	switch k.alg {
	case AlgHMACSHA256:
		m := hmac.New(sha256.New, k.secret)
		m.Write(base)
		var sum [sha256.Size]byte
		return hmac.Equal(m.Sum(sum[:0]), sig)
	case AlgEd25519:
		pub, _ := k.pub.(ed25519.PublicKey)
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, base, sig)
	case AlgECDSAP256SHA256:
		pub, _ := k.pub.(*ecdsa.PublicKey)
		if pub == nil || len(sig) != 64 {
			return false
		}
		h := sha256.Sum256(base)
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pub, h[:], r, s)
	case AlgRSAPSSSHA512:
		pub, _ := k.pub.(*rsa.PublicKey)
		if pub == nil || len(sig) != pub.Size() {
			return false
		}
		h := sha512.Sum512(base)
		return rsa.VerifyPSS(pub, crypto.SHA512, h[:], sig, pssOptions) == nil
	case AlgRSAV15SHA256:
		pub, _ := k.pub.(*rsa.PublicKey)
		if pub == nil || len(sig) != pub.Size() {
			return false
		}
		h := sha256.Sum256(base)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
	}
	return false
}
