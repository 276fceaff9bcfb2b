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
		return k.signer.Reveal().Sign(rand.Reader, base, crypto.Hash(0))
	case AlgECDSAP256SHA256:
		h := sha256.Sum256(base)
		der, err := k.signer.Reveal().Sign(rand.Reader, h[:], crypto.SHA256)
		if err != nil {
			return nil, err
		}
		return ecdsaRawSignature(der)
	case AlgRSAPSSSHA512:
		h := sha512.Sum512(base)
		return k.signer.Reveal().Sign(rand.Reader, h[:], pssOptions)
	case AlgRSAV15SHA256:
		h := sha256.Sum256(base)
		return k.signer.Reveal().Sign(rand.Reader, h[:], crypto.SHA256)
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

// ecdsaDER appends to dst the ASN.1 DER ECDSA-Sig-Value of the raw r||s
// signature sig (two 32-byte big-endian integers), as ecdsa.Verify encodes
// its r and s before it calls ecdsa.VerifyASN1, without going through
// big.Int. It reports false when r or s is zero, which ecdsa.Verify refuses.
func ecdsaDER(dst, sig []byte) ([]byte, bool) {
	r, s := trimZeros(sig[:32]), trimZeros(sig[32:])
	if len(r) == 0 || len(s) == 0 {
		return nil, false
	}
	n := 4 + len(r) + len(s) + int(r[0]>>7) + int(s[0]>>7) // < 128: short lengths
	dst = append(dst, 0x30, byte(n))
	for _, x := range [2][]byte{r, s} {
		dst = append(dst, 0x02, byte(len(x)+int(x[0]>>7)))
		if x[0]&0x80 != 0 {
			dst = append(dst, 0)
		}
		dst = append(dst, x...)
	}
	return dst, true
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// verify reports whether sig is k's signature of base (RFC 9421 §3.3). It
// never says why not.
func (k *VerifyingKey) verify(base, sig []byte) bool {
	switch k.alg {
	case AlgHMACSHA256:
		m := hmac.New(sha256.New, k.secret.Reveal())
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
		var der [72]byte
		d, ok := ecdsaDER(der[:0], sig)
		return ok && ecdsa.VerifyASN1(pub, h[:], d)
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
