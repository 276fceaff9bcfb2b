package httpsig

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/dunglas/httpsfv"
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
func parseSigParams(p *httpsfv.Params) (sigParams, error) {
	var sp sigParams
	if p == nil {
		return sp, nil
	}
	for _, name := range p.Names() {
		v, _ := p.Get(name)
		switch name {
		case "created", "expires":
			n, ok := v.(int64)
			if !ok || n < 0 {
				return sp, fmt.Errorf("%w: %s must be a non-negative integer", ErrMalformed, name)
			}
			if name == "created" {
				sp.created, sp.hasCreated = n, true
			} else {
				sp.expires, sp.hasExpires = n, true
			}
		case "nonce", "keyid", "alg", "tag":
			s, ok := v.(string)
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
// comps with the parameters p, in their order. It reports false, having
// appended something unusable, for a parameter type it does not write
// (decimals, dates, display strings): the caller then uses httpsfv.
func appendInnerList(dst []byte, comps []Component, p *httpsfv.Params) ([]byte, bool) {
	dst = append(dst, '(')
	for i := range comps {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, comps[i].id...)
	}
	dst = append(dst, ')')
	if p == nil {
		return dst, true
	}
	for _, name := range p.Names() {
		v, _ := p.Get(name)
		dst = append(dst, ';')
		dst = append(dst, name...)
		switch x := v.(type) {
		case bool:
			if !x {
				dst = append(dst, "=?0"...)
			}
		case int64:
			dst = append(dst, '=')
			dst = strconv.AppendInt(dst, x, 10)
		case string:
			dst = append(dst, '=', '"')
			for i := 0; i < len(x); i++ {
				if x[i] == '"' || x[i] == '\\' {
					dst = append(dst, '\\')
				}
				dst = append(dst, x[i])
			}
			dst = append(dst, '"')
		case httpsfv.Token:
			dst = append(dst, '=')
			dst = append(dst, x...)
		case []byte:
			dst = append(dst, '=', ':')
			dst = base64.StdEncoding.AppendEncode(dst, x)
			dst = append(dst, ':')
		default:
			return dst, false
		}
	}
	return dst, true
}
