package httpsig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestECDSADER: the DER the verifier builds from r||s is what encoding/asn1
// makes of the two integers (the encoding ecdsa.Verify hands VerifyASN1),
// zero is refused, and signatures whose r or s has leading zero bytes or
// its high bit set verify.
func TestECDSADER(t *testing.T) {
	raw := func(r, s *big.Int) []byte {
		b := make([]byte, 64)
		r.FillBytes(b[:32])
		s.FillBytes(b[32:])
		return b
	}
	one, top := big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), 255)
	small := new(big.Int).SetBytes([]byte{0x80, 1})
	for _, rs := range [][2]*big.Int{{one, one}, {top, one}, {one, top}, {top, top}, {small, one}, {new(big.Int).Sub(top, one), small}} {
		want, err := asn1.Marshal(struct{ R, S *big.Int }{rs[0], rs[1]})
		require.NoError(t, err)
		got, ok := ecdsaDER(nil, raw(rs[0], rs[1]))
		require.True(t, ok)
		assert.Equal(t, want, got)
	}
	for _, rs := range [][2]*big.Int{{new(big.Int), one}, {one, new(big.Int)}} {
		_, ok := ecdsaDER(nil, raw(rs[0], rs[1]))
		assert.False(t, ok)
	}

	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	vk, err := NewVerifyingKey("k", AlgECDSAP256SHA256, &priv.PublicKey)
	require.NoError(t, err)
	var lead, high bool
	for i := 0; i < 3000 && !(lead && high); i++ {
		msg := []byte{byte(i), byte(i >> 8)}
		h := sha256.Sum256(msg)
		r, s, err := ecdsa.Sign(rand.Reader, priv, h[:])
		require.NoError(t, err)
		sig := raw(r, s)
		if sig[0] == 0 || sig[32] == 0 {
			lead = true
		} else if sig[0]&0x80 != 0 && sig[32]&0x80 != 0 {
			high = true
		} else {
			continue
		}
		require.True(t, vk.verify(msg, sig), "signature %d", i)
		sig[63] ^= 1
		require.False(t, vk.verify(msg, sig), "signature %d changed", i)
	}
	assert.True(t, lead && high)
}
