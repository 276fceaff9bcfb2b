package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"

	"github.com/ztkit/ztkit/internal/jsonscan"
)

// Errors of JWK parsing.
var (
	ErrInvalidJWK = errors.New("jose: invalid JWK")
	ErrPrivateJWK = errors.New("jose: JWK holds private key material")
)

// JWK is a parsed public JSON Web Key (RFC 7517) with its RFC 7638 thumbprint.
type JWK struct {
	// Key is *ecdsa.PublicKey (P-256, P-384), ed25519.PublicKey or *rsa.PublicKey.
	Key crypto.PublicKey
	// Thumbprint is the base64url SHA-256 thumbprint (RFC 7638).
	Thumbprint string
	// Kid, Use and Alg are the optional members of the same names ("" when absent).
	Kid, Use, Alg string
}

// jwkFields gathers the members of a JWK as raw strings.
type jwkFields struct {
	kty, crv, x, y, n, e jsonscan.Value
	kid, use, alg        jsonscan.Value
	private              bool
}

// ParseJWK parses a public JWK. Private members (d, p, q, dp, dq, qi, oth, k)
// are refused with [ErrPrivateJWK]; symmetric keys, unknown curves, points off
// the curve, RSA keys under [MinRSABits] and non-canonical encodings with
// [ErrInvalidJWK] (or [ErrWeakKey]).
func ParseJWK(data []byte) (*JWK, error) {
	return parseJWK(jsonscan.NewObject(data), true)
}

// ParseJWKValue is [ParseJWK] for a JWK nested in a larger JSON document.
// withMeta false skips kid, use and alg.
func ParseJWKValue(v jsonscan.Value, withMeta bool) (*JWK, error) {
	if v.Kind != jsonscan.ObjectKind {
		return nil, ErrInvalidJWK
	}
	return parseJWK(v.Object(), withMeta)
}

func parseJWK(o jsonscan.Object, withMeta bool) (*JWK, error) {
	var f jwkFields
	for o.Next() {
		v := o.Value()
		switch string(o.Key()) {
		case "kty":
			f.kty = v
		case "crv":
			f.crv = v
		case "x":
			f.x = v
		case "y":
			f.y = v
		case "n":
			f.n = v
		case "e":
			f.e = v
		case "kid":
			f.kid = v
		case "use":
			f.use = v
		case "alg":
			f.alg = v
		case "d", "p", "q", "dp", "dq", "qi", "oth", "k":
			f.private = true
		}
	}
	if o.Err() != nil {
		return nil, ErrInvalidJWK
	}
	if f.private {
		return nil, ErrPrivateJWK
	}
	var (
		key crypto.PublicKey
		err error
	)
	switch {
	case f.kty.Equal("EC"):
		key, err = parseECJWK(&f)
	case f.kty.Equal("OKP"):
		key, err = parseOKPJWK(&f)
	case f.kty.Equal("RSA"):
		key, err = parseRSAJWK(&f)
	default:
		return nil, ErrInvalidJWK
	}
	if err != nil {
		return nil, err
	}
	tp, err := Thumbprint(key)
	if err != nil {
		return nil, err
	}
	k := &JWK{Key: key, Thumbprint: tp}
	if withMeta {
		for _, m := range []struct {
			v   jsonscan.Value
			dst *string
		}{{f.kid, &k.Kid}, {f.use, &k.Use}, {f.alg, &k.Alg}} {
			if m.v.Kind == jsonscan.Invalid {
				continue
			}
			s, err := m.v.Str()
			if err != nil {
				return nil, ErrInvalidJWK
			}
			*m.dst = s
		}
	}
	return k, nil
}

// decodeFixed decodes a base64url member that must decode to exactly size bytes
// (size < 0: any non-empty length) into dst.
func decodeMember(dst []byte, v jsonscan.Value) ([]byte, error) {
	if v.Kind != jsonscan.String {
		return nil, ErrInvalidJWK
	}
	raw := v.Raw[1 : len(v.Raw)-1]
	if len(raw) == 0 {
		return nil, ErrInvalidJWK
	}
	for _, c := range raw {
		if !isB64URL(c) { // also refuses escapes, which base64url never needs
			return nil, ErrInvalidJWK
		}
	}
	need := b64.DecodedLen(len(raw))
	if cap(dst) < need {
		dst = make([]byte, need)
	}
	n, err := b64.Decode(dst[:need], raw)
	if err != nil {
		return nil, ErrInvalidJWK
	}
	return dst[:n], nil
}

func parseECJWK(f *jwkFields) (crypto.PublicKey, error) {
	var (
		curve elliptic.Curve
		size  int
	)
	switch {
	case f.crv.Equal("P-256"):
		curve, size = elliptic.P256(), 32
	case f.crv.Equal("P-384"):
		curve, size = elliptic.P384(), 48
	default:
		return nil, ErrInvalidJWK
	}
	var buf [1 + 2*48]byte
	buf[0] = 4
	x, err := decodeMember(buf[1:1:1+48], f.x)
	if err != nil || len(x) != size {
		return nil, ErrInvalidJWK
	}
	y, err := decodeMember(buf[1+size:1+size:1+2*48], f.y)
	if err != nil || len(y) != size {
		return nil, ErrInvalidJWK
	}
	// ParseUncompressedPublicKey refuses points that are not on the curve.
	k, err := ecdsa.ParseUncompressedPublicKey(curve, buf[:1+2*size])
	if err != nil {
		return nil, ErrInvalidJWK
	}
	return k, nil
}

func parseOKPJWK(f *jwkFields) (crypto.PublicKey, error) {
	if !f.crv.Equal("Ed25519") {
		return nil, ErrInvalidJWK
	}
	x, err := decodeMember(make([]byte, 0, ed25519.PublicKeySize+2), f.x)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return nil, ErrInvalidJWK
	}
	return ed25519.PublicKey(x), nil
}

func parseRSAJWK(f *jwkFields) (crypto.PublicKey, error) {
	n, err := decodeMember(nil, f.n)
	if err != nil || n[0] == 0 { // RFC 7518 §6.3.1.1: minimal octets
		return nil, ErrInvalidJWK
	}
	e, err := decodeMember(nil, f.e)
	if err != nil || e[0] == 0 || len(e) > 4 {
		return nil, ErrInvalidJWK
	}
	var exp int
	for _, b := range e {
		exp = exp<<8 | int(b)
	}
	if exp < 3 || exp&1 == 0 || exp > 1<<31-1 {
		return nil, ErrInvalidJWK
	}
	k := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
	if k.N.BitLen() < MinRSABits {
		return nil, ErrWeakKey
	}
	if k.N.BitLen() > 8192 {
		return nil, ErrInvalidJWK
	}
	return k, nil
}

// Thumbprint returns the RFC 7638 JWK SHA-256 thumbprint of key, base64url encoded.
func Thumbprint(key crypto.PublicKey) (string, error) {
	var sum [sha256.Size]byte
	if err := ThumbprintSum(key, &sum); err != nil {
		return "", err
	}
	return Encode(sum[:]), nil
}

// ThumbprintSum writes the raw RFC 7638 SHA-256 thumbprint of key to sum.
func ThumbprintSum(key crypto.PublicKey, sum *[sha256.Size]byte) error {
	var buf [1200]byte
	b := buf[:0]
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		var crv string
		var size int
		switch k.Curve {
		case elliptic.P256():
			crv, size = "P-256", 32
		case elliptic.P384():
			crv, size = "P-384", 48
		default:
			return ErrUnsupportedKey
		}
		pt, err := k.Bytes()
		if err != nil || len(pt) != 1+2*size {
			return ErrUnsupportedKey
		}
		b = append(b, `{"crv":"`...)
		b = append(b, crv...)
		b = append(b, `","kty":"EC","x":"`...)
		b = AppendEncode(b, pt[1:1+size])
		b = append(b, `","y":"`...)
		b = AppendEncode(b, pt[1+size:])
		b = append(b, `"}`...)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return ErrUnsupportedKey
		}
		b = append(b, `{"crv":"Ed25519","kty":"OKP","x":"`...)
		b = AppendEncode(b, k)
		b = append(b, `"}`...)
	case *rsa.PublicKey:
		if k.N == nil || k.E < 1 {
			return ErrUnsupportedKey
		}
		e := big.NewInt(int64(k.E)).Bytes()
		b = append(b, `{"e":"`...)
		b = AppendEncode(b, e)
		b = append(b, `","kty":"RSA","n":"`...)
		b = AppendEncode(b, k.N.Bytes())
		b = append(b, `"}`...)
	default:
		return ErrUnsupportedKey
	}
	*sum = sha256.Sum256(b)
	return nil
}
