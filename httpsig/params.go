package httpsig

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// sigParams are the signature parameters of one signature (RFC 9421 §2.3).
type sigParams struct {
	created, expires       int64
	hasCreated, hasExpires bool
	nonce, keyID, alg, tag string
	hasNonce, hasKeyID     bool
	hasAlg, hasTag         bool
}

// parseSigParams reads the parameters of a Signature-Input inner list. An
// unknown parameter is kept in the signature base (it is part of the
// serialization) and otherwise ignored (RFC 9421 §2.3); a known one of the
// wrong type, or a value out of bounds, is malformed.
func parseSigParams(ps []sfParam) (sigParams, error) {
	var sp sigParams
	for i := range ps {
		name, v := ps[i].key, ps[i].v
		switch name {
		case "created", "expires":
			n, ok := v.i, v.kind == sfInt
			if !ok || n < 0 {
				return sp, fmt.Errorf("%w: %s must be a non-negative integer", ErrMalformed, name)
			}
			if name == "created" {
				sp.created, sp.hasCreated = n, true
			} else {
				sp.expires, sp.hasExpires = n, true
			}
		case "nonce", "keyid", "alg", "tag":
			s, ok := v.s, v.kind == sfString
			if !ok || len(s) > maxParamLen {
				return sp, fmt.Errorf("%w: %s must be a string", ErrMalformed, name)
			}
			switch name {
			case "nonce":
				sp.nonce, sp.hasNonce = s, true
			case "keyid":
				sp.keyID, sp.hasKeyID = s, true
			case "alg":
				sp.alg, sp.hasAlg = s, true
			default:
				sp.tag, sp.hasTag = s, true
			}
		}
	}
	return sp, nil
}

// has reports whether the parameter name is present.
func (sp *sigParams) has(name string) bool {
	switch name {
	case "created":
		return sp.hasCreated
	case "expires":
		return sp.hasExpires
	case "nonce":
		return sp.hasNonce
	case "keyid":
		return sp.hasKeyID
	case "alg":
		return sp.hasAlg
	case "tag":
		return sp.hasTag
	}
	return false
}

// appendSignatureParams appends the serialized inner list of components with
// the parameters in sp, in the order created, expires, keyid, alg, nonce,
// tag (the order of RFC 9421 Appendix B's examples).
func appendSignatureParams(dst []byte, components []Component, sp *sigParams) []byte {
	dst = append(dst, '(')
	for i := range components {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, components[i].id...)
	}
	dst = append(dst, ')')
	if sp.hasCreated {
		dst = append(dst, ";created="...)
		dst = strconv.AppendInt(dst, sp.created, 10)
	}
	if sp.hasExpires {
		dst = append(dst, ";expires="...)
		dst = strconv.AppendInt(dst, sp.expires, 10)
	}
	if sp.hasKeyID {
		dst = appendStringParam(dst, "keyid", sp.keyID)
	}
	if sp.hasAlg {
		dst = appendStringParam(dst, "alg", sp.alg)
	}
	if sp.hasNonce {
		dst = appendStringParam(dst, "nonce", sp.nonce)
	}
	if sp.hasTag {
		dst = appendStringParam(dst, "tag", sp.tag)
	}
	return dst
}

func appendStringParam(dst []byte, name, v string) []byte {
	var b strings.Builder
	writeSFString(&b, v)
	dst = append(dst, ';')
	dst = append(dst, name...)
	dst = append(dst, '=')
	return append(dst, b.String()...)
}

// validLabel reports whether s is an RFC 8941 dictionary key.
func validLabel(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	if c := s[0]; !(c >= 'a' && c <= 'z' || c == '*') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*') {
			return false
		}
	}
	return true
}

// randomNonce returns 128 random bits, base64url without padding.
func randomNonce() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// appendInnerList appends the RFC 8941 serialization of the inner list of
// comps with the parameters ps, in their order. It reports false, having
// appended something unusable, for a parameter value that cannot be
// serialized.
func appendInnerList(dst []byte, comps []Component, ps []sfParam) ([]byte, bool) {
	dst = append(dst, '(')
	for i := range comps {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, comps[i].id...)
	}
	dst = append(dst, ')')
	for i := range ps {
		dst = append(dst, ';')
		dst = append(dst, ps[i].key...)
		if v := ps[i].v; v.kind != sfBool || !v.b {
			var ok bool
			dst = append(dst, '=')
			if dst, ok = appendSFBare(dst, v); !ok {
				return dst, false
			}
		}
	}
	return dst, true
}
